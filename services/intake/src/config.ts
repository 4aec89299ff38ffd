import { z } from 'zod'
import { defaultCatalogueFile, defineConfig, distributedConfigEntries, httpConfigEntries, logLevelSchema } from '@civic-desk/service-kit'

/** Everything the intake service can be told, each with its environment variable and default. */
export const intakeConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3001), doc: 'HTTP port of the intake service (POST /v1/requests, the public status look-up, health)' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the event store (events.sqlite) and the tracking key' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorates, categories); see infra/catalogue/README.md' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-channel, …)' },
  trackingKey: { env: 'CIVIC_TRACKING_KEY', schema: z.string().min(1).optional(), doc: 'Secret (hex, ≥ 32 bytes) for tracking codes of requests with an externalId; unset = created in CIVIC_DATA_DIR/tracking.key', secret: true },
  lookupsPerMinute: { env: 'CIVIC_LOOKUPS_PER_MINUTE', schema: z.coerce.number().int().min(1).default(120), doc: 'Public status look-ups allowed per client address and minute (429 beyond)' },
  open311Jurisdiction: { env: 'CIVIC_OPEN311_JURISDICTION', schema: z.string().trim().min(1).max(200).optional(), doc: 'Open311 jurisdiction_id this endpoint answers for (another one gets 404); unset = jurisdiction_id is ignored' },
  bodyLimit: { env: 'CIVIC_BODY_LIMIT_BYTES', schema: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024), doc: 'Largest accepted request body' },
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
export type IntakeConfig = ReturnType<typeof intakeConfig.parse>
