import { z } from 'zod'
import { defaultHolidayFile } from '@civic-desk/calendar'
import { defineConfig, defaultCatalogueFile, logLevelSchema, distributedConfigEntries, httpConfigEntries } from '@civic-desk/service-kit'
import { DEFAULT_ROUTING_OPTIONS } from './plan.ts'

const catalogueCode = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be a department code of the catalogue (kebab-case, e.g. "halkla-iliskiler")')

const categoryCode = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be category codes of the catalogue (kebab-case, e.g. "cop-toplama")')

/**
 * `CIVIC_DUPLICATE_GROUPS`: groups of related categories compared with each other for duplicates,
 * groups separated by `;`, codes by `,` (e.g. `cop-toplama,konteyner;yol-cukur,asfalt`). Shared
 * with standalone mode. Whether the codes are in the catalogue is checked when routing starts.
 */
export const duplicateGroupsEntry = {
  env: 'CIVIC_DUPLICATE_GROUPS',
  schema: z
    .string()
    .optional()
    .transform((raw) =>
      (raw ?? '')
        .split(';')
        .map((group) => group.split(',').map((code) => code.trim()).filter((code) => code !== ''))
        .filter((group) => group.length > 0),
    )
    .pipe(z.array(z.array(categoryCode).min(2, 'a group needs at least two categories'))),
  doc: 'Groups of related categories compared with each other for duplicates, e.g. "cop-toplama,konteyner;yol-cukur,asfalt"; a category in no group is compared within its directorate',
} as const

/** Everything the routing service can be told, each with its environment variable and default. */
export const routingConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3002), doc: 'HTTP port of the routing service (health, readiness, status)' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the embedded event store (events.sqlite)' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorates, categories, SLAs, legal deadlines); see infra/catalogue/README.md' },
  holidayFile: { env: 'CIVIC_HOLIDAY_FILE', schema: z.string().min(1).default(defaultHolidayFile), doc: 'Public-holiday data for working-day deadlines; see infra/calendar/README.md' },
  duplicateWindowHours: {
    env: 'CIVIC_DUPLICATE_WINDOW_HOURS',
    schema: z.coerce.number().positive().max(24 * 365).default(DEFAULT_ROUTING_OPTIONS.duplicateWindowHours),
    doc: 'Reports of one category submitted this many hours apart or less may be duplicates',
  },
  duplicateRadiusMeters: {
    env: 'CIVIC_DUPLICATE_RADIUS_METERS',
    schema: z.coerce.number().min(0).max(100_000).default(DEFAULT_ROUTING_OPTIONS.duplicateRadiusMeters),
    doc: 'Located reports of one category this close (metres) are duplicates',
  },
  duplicateTextSimilarity: {
    env: 'CIVIC_DUPLICATE_TEXT_SIMILARITY',
    schema: z.coerce.number().gt(0).max(1).default(DEFAULT_ROUTING_OPTIONS.textSimilarity),
    doc: 'Least description similarity (0–1, trigram Dice) for reports of one neighbourhood to be duplicates',
  },
  duplicateGroups: duplicateGroupsEntry,
  fallbackDepartment: {
    env: 'CIVIC_FALLBACK_DEPARTMENT',
    schema: catalogueCode.default(DEFAULT_ROUTING_OPTIONS.fallbackDepartment),
    doc: 'Directorate of requests no category or keyword places (the Beyaz Masa)',
  },
  informationDepartment: {
    env: 'CIVIC_INFORMATION_DEPARTMENT',
    schema: catalogueCode.default(DEFAULT_ROUTING_OPTIONS.informationDepartment),
    doc: 'Directorate of information requests (Law 4982) that name no category',
  },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens (dev-operator, …)' },
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
export type RoutingConfig = ReturnType<typeof routingConfig.parse>
