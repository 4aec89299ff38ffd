/**
 * What every service process of the distributed stack is told the same way: which Kafka brokers
 * carry the topics, and how often it looks for events other processes appended to the shared
 * event store. Spread into a service's `defineConfig` entries.
 */
import { z } from 'zod'
import { envList } from './config.ts'

const brokerAddress = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9092')

export const distributedConfigEntries = {
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    schema: envList(brokerAddress).default([]),
    doc: 'Kafka bootstrap brokers (host:port, comma-separated); unset = the single-host bus file bus.sqlite in CIVIC_DATA_DIR',
  },
  storePollMs: {
    env: 'CIVIC_STORE_POLL_MS',
    schema: z.coerce.number().int().min(5).max(60_000).default(25),
    doc: 'How often (ms) a service looks for events that other processes appended to the shared event store',
  },
} as const
