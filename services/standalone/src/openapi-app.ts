// Standalone's app as `main.ts` builds it — same app options, same routes (routes.ts) — over an
// empty temporary data folder and the development tokens, never listening: what the API
// description is generated from (`pnpm openapi`) and what the route-walk test walks. Nothing runs
// in it but what registering the routes needs; the consumer thread (routing, notification) is not
// started, so their status routes are registered with statuses nobody asks for here.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { configuredSigningKey, openAuditLog } from '@civic-desk/audit'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdOfStream, createCaseFeed, groupCheckpointDir } from '@civic-desk/case-feed'
import { loadOrCreateStoreIdentity, openReadModels, startDashboardProjector } from '@civic-desk/dashboard'
import { createOpenCases, defaultWorkflowFile, loadWorkflows } from '@civic-desk/department-workflow'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { startOpen311Index } from '@civic-desk/intake'
import { createMemoryBus } from '@civic-desk/messaging'
import { openSqliteOutbox } from '@civic-desk/notification'
import { openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { ACCESS_RULES, createAccessControl, createHttpApp, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue, registeredRoutes, type RegisteredRoute } from '@civic-desk/service-kit'
import { registerStandaloneRoutes } from './routes.ts'

/** The app, every route registered on it (as its onRoute hook saw them), and how to close it all. */
export interface DescribedApp {
  readonly app: FastifyInstance
  readonly routes: readonly RegisteredRoute[]
  close(): Promise<void>
}

/** Builds standalone's app (ready, not listening) in a temporary data folder that `close` removes. */
export async function buildStandaloneDescribedApp(): Promise<DescribedApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-openapi-'))
  const logger = createLogger({ level: 'silent', name: 'civic-desk' })
  const now = (): Date => new Date()
  const catalogue = loadCatalogue(defaultCatalogueFile)
  const calendar = createBusinessCalendar(loadHolidayData())
  const workflows = loadWorkflows(defaultWorkflowFile, catalogue)
  const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
  const privacy = await openConfiguredPrivacy({ masterKey: undefined }, { dataDir, logger })
  const log = openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger })
  const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger })
  const audit = await openAuditLog({ store: log, key: configuredSigningKey(undefined, dataDir, logger), checkpointIntervalMs: 60_000, logger })
  const bus = createMemoryBus()
  const feed = createCaseFeed({ store: log, bus, logger, groups: { kind: 'store', checkpointDir: groupCheckpointDir(dataDir) } })
  const outbox = openSqliteOutbox(join(dataDir, 'outbox.sqlite'))
  const openCases = createOpenCases({ feed })
  const { readModels } = await openReadModels({ redisUrl: undefined, redisPrefix: 'civic-openapi' })
  const dashboard = await startDashboardProjector({ feed, store: log, bus, readModels, storeIdentity: loadOrCreateStoreIdentity(dataDir), logger })
  const open311Index = startOpen311Index((options) => feed.project(options))

  const app = createHttpApp({ serviceName: 'civic-desk', logger, access, accessRules: ACCESS_RULES, eventStore: { kind: 'sqlite', target: 'events.sqlite', head: () => log.headPosition() } })
  await registerStandaloneRoutes(app, {
    intake: { store, catalogue, access, logger, trackingKey: Buffer.alloc(32, 1), now, open311: { index: open311Index } },
    workflow: { store, openCases, catalogue, calendar, workflows, access, logger, now },
    privacy: { keys: privacy.keys, log: privacy.log, store, access, logger, now },
    audit: { audit, store: log, access, logger },
    routing: { routing: { status: () => ({ running: false, routed: 0, duplicates: 0, skipped: 0, indexPosition: 0 }) }, access, logger },
    consumers: { readers: () => feed.readers(), store, access },
    notification: { outbox, notifier: { status: () => ({ sent: 0, failed: 0, skipped: 0, lastError: null }) }, access, logger },
    dashboard: { readModels, projector: dashboard, store, catalogue, access, logger, now, eventsPerSecond: () => 0, consumers: async () => [] },
  })
  await app.ready()
  return {
    app,
    routes: registeredRoutes(app),
    async close() {
      await app.close()
      await dashboard.stop()
      await open311Index.close()
      await openCases.close()
      await feed.close()
      await readModels.close()
      outbox.close()
      await audit.close()
      await store.close()
      await privacy.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Where the committed description lives (`pnpm openapi` writes it). */
export const DOCUMENT_FILE = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url))

/** JSON with every object's keys sorted and a final newline: the same document gives the same bytes. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort)
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
    return v
  }
  return `${JSON.stringify(sort(value), null, 2)}\n`
}

/** Standalone's API description, as `docs/openapi.json` holds it. */
export async function standaloneDocument(): Promise<string> {
  const described = await buildStandaloneDescribedApp()
  try {
    return stableJson(described.app.swagger())
  } finally {
    await described.close()
  }
}
