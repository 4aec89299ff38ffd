import { z } from 'zod'
import { defineConfig, defaultCatalogueFile, distributedConfigEntries, httpConfigEntries, logLevelSchema } from '@civic-desk/service-kit'

/** Where the read models live: REDIS_URL, else process memory (rebuilt at every start). */
export const readModelConfigEntries = {
  redisUrl: {
    env: 'REDIS_URL',
    schema: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379')
      .optional(),
    doc: 'Redis for the dashboard read models (redis://host:port[/db]); unset = in process memory, rebuilt from the event store at start',
    secret: true,
  },
  redisPrefix: {
    env: 'CIVIC_REDIS_PREFIX',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9:._-]{1,100}$/, 'letters, digits and : . _ - only, e.g. "civic:" or "bornova:"')
      .default('civic:'),
    doc: 'Prefix of every Redis key of the read models (`<prefix>rm:v<N>:…`); several installations can share one Redis with different prefixes',
  },
} as const

/** Everything the dashboard service can be told, each with its environment variable and default. */
export const dashboardConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3005), doc: 'HTTP port of the dashboard service' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the embedded event store (events.sqlite) and its identity (store-identity)' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorates and their names); see infra/catalogue/README.md' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-operator, …)' },
  relayUrl: {
    env: 'CIVIC_RELAY_URL',
    schema: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://relay.internal:3006' }).default('http://127.0.0.1:3006'),
    doc: 'Distributed mode: address of the event relay, whose position and lag /v1/ops/streams shows (asked over HTTP at GET /v1/relay/status; unreachable = shown as unknown)',
  },
  relayToken: {
    env: 'CIVIC_RELAY_TOKEN',
    schema: z.string().min(1).optional(),
    doc: "Distributed mode: bearer token with the operator role on the relay, for its status; unset = dev-operator while the dashboard itself runs with development tokens",
    secret: true,
  },
  ...readModelConfigEntries,
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
export type DashboardConfig = ReturnType<typeof dashboardConfig.parse>
