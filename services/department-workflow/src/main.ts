// Composition root of the department-workflow service as its own process. The only module that
// reads process.env. It works on the event store shared in CIVIC_DATA_DIR (with intake and routing),
// and publishes every assignment and transfer to civic.assignments.v1 for external department
// systems (Kafka with KAFKA_BROKERS, else the bus file on this host).
import { join, resolve } from 'node:path'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { configuredSigningKey, openAuditLog } from '@civic-desk/audit'
import { caseIdOfStream, createCaseFeed } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { caseEventOpener, completePendingErasures, openConfiguredPrivacy, privacySettingsOf, sealingEventStore, startPeriodicDestruction } from '@civic-desk/privacy'
import { openServiceBus } from '@civic-desk/messaging'
import { accessConfigOrDev, configureMetrics, countingAppends, createAccessControl, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { buildWorkflowApp } from './app.ts'
import { registerAuditRoutes } from './audit-routes.ts'
import { registerPrivacyRoutes } from './privacy-routes.ts'
import { startAssignmentPublisher } from './assignments.ts'
import { workflowConfig } from './config.ts'
import { createOpenCases } from './open-cases.ts'
import { startSlaScheduler } from './sla-scheduler.ts'
import { loadWorkflows } from './workflows.ts'

const SERVICE = 'department-workflow'
const config = parseConfigOrExit(workflowConfig, process.env, SERVICE)
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)
const logger = createLogger({ level: config.logLevel, name: SERVICE })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, SERVICE, logger)

/** Data files are checked before anything opens: a mistake stops the start with every problem listed. */
function loadOrExit<T>(what: string, load: () => T): T {
  try {
    return load()
  } catch (error) {
    process.stderr.write(`${SERVICE} cannot start: ${what}: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
}

const catalogue = loadOrExit('catalogue', () => loadCatalogue(config.catalogueFile))
const calendar = loadOrExit('holiday calendar', () => createBusinessCalendar(loadHolidayData(config.holidayFile)))
const workflows = loadOrExit('workflows', () => loadWorkflows(config.workflowFile, catalogue))
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)

const dataDir = resolve(config.dataDir)
// Personal data (KVKK), opened first so that a wrong master key stops the start before any other
// file is touched: the case keys and the destruction log (PostgreSQL with the log on a server, else
// the data folder). The service reads and writes the log through the sealing store.
const privacy = await openConfiguredPrivacy(privacySettingsOf(config), { dataDir, logger: logger.child({ component: 'privacy' }) }).catch((error: unknown) =>
  exitAtStart('department-workflow', 'cannot open the personal data key store', error),
)
// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store: storeAsOpened, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('department-workflow', 'cannot open the event store', error),
)
// Every event this process appends is counted by type (civic_events_appended_total).
const log = countingAppends(storeAsOpened)
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
// The audit log: a Merkle tree over the whole log, signed checkpoints at least every minute.
const signingKey = (() => {
  try {
    return configuredSigningKey(config.auditSigningKey, dataDir, logger.child({ component: 'audit' }))
  } catch (error) {
    return exitAtStart(SERVICE, 'cannot load the audit signing key', error)
  }
})()
const audit = await openAuditLog({ store: log, key: signingKey, checkpointIntervalMs: config.auditCheckpointIntervalMs, logger: logger.child({ component: 'audit' }) })
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: SERVICE,
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
// Assignments from civic.case-events.v1 (the relay fills it); the queues from the store.
const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' }, openEvent: caseEventOpener(privacy.keys) })
const openCases = createOpenCases({ feed })
const now = (): Date => new Date()

// The queues are rebuilt from the whole log; serve and schedule only once that is done, so the
// first SLA tick sees every case whose threshold passed while the service was down.
const head = await store.headPosition()
const started = performance.now()
await openCases.waitUntil(head, { timeoutMs: 30 * 60_000 })
logger.info({ head, ms: Math.round(performance.now() - started) }, 'case projection rebuilt')

const assignments = await startAssignmentPublisher({ feed, bus, store, catalogue, logger })
const scheduler = startSlaScheduler({ store, openCases, now, intervalMs: config.slaTickMs, logger })
const caseLimits = { maxNotes: config.maxNotesPerCase, maxCaseBytes: config.maxCaseBytes }
{
  // A crash in the middle of an erasure is finished now; a key store restored from an older backup
  // loses again every key the destruction log names.
  const recovered = await completePendingErasures({ keys: privacy.keys, log: privacy.log, store })
  if (recovered.completed > 0 || recovered.keysDestroyedAgain > 0) logger.warn(recovered, 'destruction log reconciled: erasures completed or keys destroyed again')
}
const app = buildWorkflowApp({ eventStore: { kind: storeKind, target: storeTarget, head: () => log.headPosition() }, store, openCases, catalogue, calendar, workflows, access, logger, now, maxReopenings: config.maxReopenings, timeouts: httpTimeouts(config), caseLimits })
// The privacy officer's API (KVKK erasure, data-subject access, destruction log).
registerPrivacyRoutes(app, { keys: privacy.keys, log: privacy.log, store, access, logger, now })
// Auditors: signed checkpoints, inclusion and consistency proofs, case bundles (over the log as stored).
registerAuditRoutes(app, { audit, store: log, access, logger })
// Personal data whose retention period ran out goes at every period (KVKK; at most six months).
const destruction = startPeriodicDestruction({ keys: privacy.keys, log: privacy.log, store, scanStore: log, catalogue, periodDays: config.destructionPeriodDays, logger: logger.child({ component: 'periodic-destruction' }), now })

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    { name: 'periodic destruction', close: () => destruction.stop() },
    // Before the store: lets a tick in flight finish its append.
    { name: 'sla scheduler', close: () => scheduler.stop() },
    { name: 'assignment publisher', close: () => assignments.stop() },
    { name: 'case projection', close: () => openCases.close() },
    { name: 'case feed', close: () => feed.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'audit log', close: () => audit.close() },
    { name: 'event store', close: () => store.close() },
    { name: 'key store and destruction log', close: () => privacy.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, workflows: workflows.workflows.map((w) => w.code) }, 'department-workflow is up')
if (devTokens) {
  logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-staff-<department>, dev-supervisor, dev-auditor). Set CIVIC_ACCESS_FILE before going live.')
}
