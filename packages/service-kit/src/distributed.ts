/**
 * What every service process of the distributed stack is told the same way: which Kafka brokers
 * carry the topics, which event store holds the log, and how often it looks for events other
 * processes appended. Spread into a service's `defineConfig` entries.
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
  eventStore: {
    env: 'CIVIC_EVENT_STORE',
    schema: z.enum(['sqlite', 'postgres', 'eventstoredb']).default('sqlite'),
    doc: 'Where the event log lives: sqlite (events.sqlite in CIVIC_DATA_DIR, one host only), postgres (CIVIC_PG_URL) or eventstoredb (EVENTSTORE_URL)',
  },
  pgUrl: {
    env: 'CIVIC_PG_URL',
    schema: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL, e.g. postgres://civic@db.internal:5432/civic' }).optional(),
    doc: 'PostgreSQL server of the event log when CIVIC_EVENT_STORE=postgres',
    secret: true,
  },
  pgSchema: {
    env: 'CIVIC_PG_SCHEMA',
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and _').default('civic'),
    doc: 'PostgreSQL schema of this installation\'s tables (two installations can share a database)',
  },
  eventStoreDbUrl: {
    env: 'EVENTSTORE_URL',
    schema: z.string().regex(/^(esdb|esdb\+discover|kurrentdb):\/\//, 'must be an esdb:// connection string, e.g. esdb://127.0.0.1:2113?tls=false').optional(),
    doc: 'EventStoreDB connection string when CIVIC_EVENT_STORE=eventstoredb',
    secret: true,
  },
  masterKey: {
    env: 'CIVIC_MASTER_KEY',
    schema: z.string().min(1).optional(),
    doc: 'Master key of the personal data, the same on every host (64 hex digits or base64 of 32 bytes: openssl rand -hex 32); unset = created in CIVIC_DATA_DIR/master.key, for one host in development only',
    secret: true,
  },
  storePollMs: {
    env: 'CIVIC_STORE_POLL_MS',
    schema: z.coerce.number().int().min(5).max(60_000).default(25),
    doc: 'How often (ms) a service looks for events that other processes appended to the shared event store',
  },
} as const
