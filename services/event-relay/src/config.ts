import { z } from 'zod'
import { defineConfig, logLevelSchema, distributedConfigEntries, httpConfigEntries } from '@civic-desk/service-kit'

/** Everything the relay can be told, each with its environment variable and default. */
export const relayConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3006), doc: 'HTTP port of the relay (health, readiness, status)' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the embedded event store (events.sqlite) and the relay checkpoint (event-relay.checkpoint.json)' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  batchSize: { env: 'CIVIC_RELAY_BATCH_SIZE', schema: z.coerce.number().int().min(1).max(10_000).default(100), doc: 'Most events per publish call and checkpoint save' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-operator, …)' },
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
export type RelayConfig = ReturnType<typeof relayConfig.parse>
