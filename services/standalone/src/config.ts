import { z } from 'zod'
import { defaultHolidayFile } from '@civic-desk/calendar'
import { DEFAULT_MAX_REOPENINGS, auditConfigEntries, caseLimitConfigEntries, defaultWorkflowFile, privacyConfigEntries } from '@civic-desk/department-workflow'
import { readModelConfigEntries } from '@civic-desk/dashboard'
import { providerConfigEntries } from '@civic-desk/notification'
import { duplicateGroupsEntry } from '@civic-desk/routing'
import { defineConfig, defaultCatalogueFile, httpConfigEntries } from '@civic-desk/service-kit'

/** Everything standalone mode can be told, each with its environment variable and default. */
export const standaloneConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3000), doc: 'HTTP port of the whole system' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: {
    env: 'CIVIC_DATA_DIR',
    schema: z.string().min(1).default('./data'),
    doc: 'Folder of everything standalone keeps: events.sqlite (the event store), consumers/ (each consumer group\'s checkpoint), bus.sqlite (dead letters and other topics), outbox.sqlite (citizen messages), supervisors.sqlite (messages to directorates’ supervisors) and the tracking key',
  },
  logLevel: { env: 'LOG_LEVEL', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'), doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorates, categories, SLAs); see infra/catalogue/README.md' },
  holidayFile: { env: 'CIVIC_HOLIDAY_FILE', schema: z.string().min(1).default(defaultHolidayFile), doc: 'Public holidays of the business calendar; see infra/calendar/README.md' },
  workflowFile: { env: 'CIVIC_WORKFLOWS_FILE', schema: z.string().min(1).default(defaultWorkflowFile), doc: 'Directorates’ own workflow steps (e.g. social services); see infra/workflows/README.md' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-channel, dev-staff-<department>, …)' },
  masterKey: {
    env: 'CIVIC_MASTER_KEY',
    schema: z.string().min(1).optional(),
    doc: 'Master key of the personal data (64 hex digits or base64 of 32 bytes: openssl rand -hex 32); unset = created in CIVIC_DATA_DIR/master.key, for development only',
    secret: true,
  },
  trackingKey: { env: 'CIVIC_TRACKING_KEY', schema: z.string().min(1).optional(), doc: 'Secret (hex, ≥ 32 bytes) for tracking codes of requests with an externalId; unset = created in CIVIC_DATA_DIR/tracking.key', secret: true },
  lookupsPerMinute: { env: 'CIVIC_LOOKUPS_PER_MINUTE', schema: z.coerce.number().int().min(1).default(120), doc: 'Public status look-ups allowed per client address and minute (429 beyond)' },
  open311Jurisdiction: { env: 'CIVIC_OPEN311_JURISDICTION', schema: z.string().trim().min(1).max(200).optional(), doc: 'Open311 jurisdiction_id this endpoint answers for (another one gets 404); unset = jurisdiction_id is ignored' },
  bodyLimit: { env: 'CIVIC_BODY_LIMIT_BYTES', schema: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024), doc: 'Largest accepted request body' },
  slaTickMs: { env: 'CIVIC_SLA_TICK_MS', schema: z.coerce.number().int().min(50).max(600_000).default(1000), doc: 'How often the SLA scheduler looks for warnings and breaches' },
  duplicateWindowHours: { env: 'CIVIC_DUPLICATE_WINDOW_HOURS', schema: z.coerce.number().positive().default(72), doc: 'Two reports of one category this many hours apart can be duplicates' },
  duplicateRadiusMeters: { env: 'CIVIC_DUPLICATE_RADIUS_METERS', schema: z.coerce.number().min(0).default(150), doc: 'Located reports of one category this close are duplicates' },
  duplicateTextSimilarity: {
    env: 'CIVIC_DUPLICATE_TEXT_SIMILARITY',
    schema: z.coerce.number().gt(0).max(1).default(0.45),
    doc: 'Least text similarity (0–1) for two reports from one neighbourhood to be duplicates',
  },
  duplicateGroups: duplicateGroupsEntry,
  maxReopenings: {
    env: 'CIVIC_MAX_REOPENINGS',
    schema: z.coerce.number().int().min(0).max(100).default(DEFAULT_MAX_REOPENINGS),
    doc: 'How often a case may be reopened; beyond it only a supervisor can reopen it, with a reason (overrideReason)',
  },
  ...httpConfigEntries,
  ...caseLimitConfigEntries,
  ...privacyConfigEntries,
  ...auditConfigEntries,
  ...providerConfigEntries,
  ...readModelConfigEntries,
})
export type StandaloneConfig = ReturnType<typeof standaloneConfig.parse>
