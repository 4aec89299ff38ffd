import { z } from 'zod'
import { defaultHolidayFile } from '@civic-desk/calendar'
import { defaultCatalogueFile, defineConfig, logLevelSchema, distributedConfigEntries, httpConfigEntries } from '@civic-desk/service-kit'
import { DEFAULT_CASE_LIMITS } from '@civic-desk/case-domain'
import { DEFAULT_MAX_REOPENINGS } from './app.ts'
import { DEFAULT_SLA_TICK_MS } from './sla-scheduler.ts'
import { defaultWorkflowFile } from './workflows.ts'

/** How big a case may grow through staff's text; shared with standalone mode's configuration. */
export const caseLimitConfigEntries = {
  maxNotesPerCase: {
    env: 'CIVIC_MAX_NOTES_PER_CASE',
    schema: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_CASE_LIMITS.maxNotes),
    doc: 'Most internal notes one case may hold (409 beyond)',
  },
  maxCaseBytes: {
    env: 'CIVIC_MAX_CASE_BYTES',
    schema: z.coerce.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(DEFAULT_CASE_LIMITS.maxCaseBytes),
    doc: 'Most bytes a case may take; a note, question or reply that would take it past this answers 413',
  },
} as const

/** The periodic destruction of personal data whose retention ran out (KVKK); shared with standalone mode's configuration. */
export const privacyConfigEntries = {
  destructionPeriodDays: {
    env: 'CIVIC_DESTRUCTION_PERIOD_DAYS',
    // The Regulation on Erasure, Destruction or Anonymisation (art. 11): at most every six months.
    schema: z.coerce.number().positive().max(183, 'must be at most 183 days: the regulation asks for periodic destruction at least every six months').default(30),
    doc: 'Days between two periodic destructions of personal data whose retention period ran out (at most 183: six months); the first runs a minute after start',
  },
} as const

/** The audit log's settings (signed checkpoints over the event log), shared with standalone. */
export const auditConfigEntries = {
  auditSigningKey: {
    env: 'CIVIC_AUDIT_SIGNING_KEY',
    schema: z.string().min(1).optional(),
    doc: 'Ed25519 private key (PKCS#8 PEM text, or the path of its file) that signs audit checkpoints; unset = a key made in the data folder (audit-signing.key), with a warning',
    secret: true,
  },
  auditCheckpointIntervalMs: {
    env: 'CIVIC_AUDIT_CHECKPOINT_INTERVAL_MS',
    schema: z.coerce.number().int().min(100).max(60_000).default(60_000),
    doc: 'How often a signed checkpoint is written while events arrive (ms, at most 60000)',
  },
} as const

/** Everything the department-workflow service can be told, each with its environment variable and default. */
export const workflowConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3003), doc: 'HTTP port of the staff API' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the embedded event store (events.sqlite)' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorates, categories, SLAs); see infra/catalogue/README.md' },
  holidayFile: { env: 'CIVIC_HOLIDAY_FILE', schema: z.string().min(1).default(defaultHolidayFile), doc: 'Turkish public holidays for working-day deadlines; see infra/calendar/README.md' },
  workflowFile: { env: 'CIVIC_WORKFLOWS_FILE', schema: z.string().min(1).default(defaultWorkflowFile), doc: 'Workflow definitions of the directorates (e.g. social services home visits)' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-staff-<department>, dev-supervisor, …)' },
  slaTickMs: {
    env: 'CIVIC_SLA_TICK_MS',
    schema: z.coerce.number().int().min(50).max(60_000).default(DEFAULT_SLA_TICK_MS),
    doc: 'How often the SLA scheduler looks for reached warning/breach thresholds (ms)',
  },
  maxReopenings: {
    env: 'CIVIC_MAX_REOPENINGS',
    schema: z.coerce.number().int().min(0).max(100).default(DEFAULT_MAX_REOPENINGS),
    doc: 'How often a case may be reopened; beyond it only a supervisor can reopen it, with a reason (overrideReason)',
  },
  ...caseLimitConfigEntries,
  ...privacyConfigEntries,
  ...auditConfigEntries,
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
/** The parsed configuration. */
export type WorkflowConfig = ReturnType<typeof workflowConfig.parse>
