// Composition root of standalone mode: the whole system in one process on embedded defaults —
// intake, routing, department workflow with its SLA scheduler, notification and the dashboards —
// every consumer reading case events straight from the store through a case feed, with a durable
// checkpoint per group, so a restart loses no step. Two threads: this one serves HTTP and keeps
// the projections its routes read (the directorates' queues, the dashboards); routing and
// notification run in the consumer thread (consumer-thread.worker.ts), which reads the same
// environment and files.
// With consumer-thread.worker.ts, the only modules that read process.env.
import { join, resolve } from 'node:path'
import { configuredSigningKey, openAuditLog } from '@civic-desk/audit'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdOfStream, createCaseFeed, groupCheckpointDir } from '@civic-desk/case-feed'
import { openSqliteOutbox } from '@civic-desk/notification'
import { createOpenCases, loadWorkflows, startSlaScheduler } from '@civic-desk/department-workflow'
import { headRate, loadOrCreateStoreIdentity, openReadModels, startDashboardProjector } from '@civic-desk/dashboard'
import { HASH_CHAIN_ENABLED, openSqliteEventStore } from '@civic-desk/event-store'
import { decodeTrackingKey, loadOrCreateTrackingKey, startOpen311Index } from '@civic-desk/intake'
import { openSqliteBus } from '@civic-desk/messaging'
import { completePendingErasures, openConfiguredPrivacy, sealingEventStore, startPeriodicDestruction } from '@civic-desk/privacy'
import { ACCESS_RULES, accessConfigOrDev, configureMetrics, countingAppends, createAccessControl, createHttpApp, createLogger, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, processMetrics, startServiceTracing } from '@civic-desk/service-kit'
import { standaloneConfig } from './config.ts'
import { eventStoreWakeChannel, startConsumerThread } from './consumer-thread.ts'
import { registerStandaloneRoutes } from './routes.ts'

const config = parseConfigOrExit(standaloneConfig, process.env, 'civic-desk')
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)

const logger = createLogger({ level: config.logLevel, name: 'civic-desk' })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, 'civic-desk', logger)
const dataDir = resolve(config.dataDir)
const now = (): Date => new Date()
// Every file is read and checked before anything starts: a mistake stops the start with its reasons.
const catalogue = loadCatalogue(config.catalogueFile)
const calendar = createBusinessCalendar(loadHolidayData(config.holidayFile))
const workflows = loadWorkflows(config.workflowFile, catalogue)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)
const trackingKey = config.trackingKey !== undefined ? decodeTrackingKey(config.trackingKey) : loadOrCreateTrackingKey(join(dataDir, 'tracking.key')).key

// Personal data (KVKK): the case keys in keys.sqlite, the destruction log in destructions.sqlite; a
// wrong master key stops the start here, before any other file of the data folder is opened
// (opening the event store would already create its -wal and -shm files).
const privacy = await openConfiguredPrivacy({ masterKey: config.masterKey }, { dataDir, logger: logger.child({ component: 'privacy' }) }).catch((error: unknown) => {
  logger.fatal({ err: error }, 'the personal data key store cannot be opened; nothing was changed')
  process.exit(1)
})
const eventsFile = join(dataDir, 'events.sqlite')
// The log as stored: personal fields sealed. The dashboards read it as it is (they need none).
// Every event this thread appends is counted by type (the consumer thread counts its own).
const log = countingAppends(openSqliteEventStore({ file: eventsFile, wakeChannel: eventStoreWakeChannel(eventsFile), logger: logger.child({ component: 'event-store' }) }))
// What the services read and write: personal fields sealed on append, opened on read.
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
// The audit log: a Merkle tree over the log as stored, signed checkpoints at least every minute
// (the key from CIVIC_AUDIT_SIGNING_KEY, else made in the data folder with a warning).
const audit = HASH_CHAIN_ENABLED
  ? await openAuditLog({
      store: log,
      key: (() => {
        try {
          return configuredSigningKey(config.auditSigningKey, dataDir, logger.child({ component: 'audit' }))
        } catch (error) {
          logger.fatal({ err: error }, 'the audit signing key cannot be loaded')
          return process.exit(1)
        }
      })(),
      checkpointIntervalMs: config.auditCheckpointIntervalMs,
      logger: logger.child({ component: 'audit' }),
    })
  : undefined
if (audit === undefined) logger.warn('CIVIC_EVENT_HASHING=off: events are stored without their hash chain and no checkpoint is signed (for measuring only; audit:verify fails on such a store)')
{
  // A crash in the middle of an erasure is finished now; a key store restored from an older backup
  // loses again every key the destruction log names.
  const recovered = await completePendingErasures({ keys: privacy.keys, log: privacy.log, store })
  if (recovered.completed > 0 || recovered.keysDestroyedAgain > 0) logger.warn(recovered, 'destruction log reconciled: erasures completed or keys destroyed again')
}
// The sqlite bus file carries the topics other than the case events (dead letters, assignments).
const bus = openSqliteBus({ file: join(dataDir, 'bus.sqlite'), logger: logger.child({ component: 'bus' }) })
// Case events are read straight from the store by each consumer group (own checkpoint in
// data/consumers/), through one log tail for every reader of this process. Distributed mode reads
// them from Kafka instead; the consumers cannot tell.
// This thread's readers of the log (the directorates' queues, the dashboards) need no personal
// data: they follow the log as stored, so nothing is opened for them (routing and notification, in
// the consumer thread, read it opened).
const feed = createCaseFeed({ store: log, bus, logger, groups: { kind: 'store', checkpointDir: groupCheckpointDir(dataDir) } })
// This thread only reads the outbox (the operators' page); the consumer thread records in it.
const outbox = openSqliteOutbox(join(dataDir, 'outbox.sqlite'))
// Routing and notification, in their own thread. Should it die, the whole process shuts down so
// that a supervisor restarts it; every consumer resumes from its checkpoint.
let shutdown: { fail(error: Error): void } | undefined
const consumers = await startConsumerThread({ logger, onDeath: (error) => (shutdown === undefined ? process.exit(1) : shutdown.fail(error)) })
// /metrics shows both threads' figures: the consumer thread's are asked for at every scrape and summed in.
processMetrics()?.addThread(() => consumers.metrics())
const routing = { status: async () => (await consumers.snapshot()).routing }
const notifier = { status: async () => (await consumers.snapshot()).notifier }
// Every reader of the log in this process, in both threads.
const readers = async () => [...feed.readers(), ...(await consumers.snapshot()).readers]
const openCases = createOpenCases({ feed })
// The scheduler's first tick must see every case, including deadlines that passed while we were down.
await openCases.waitUntil(await store.headPosition(), { timeoutMs: 120_000 })
const scheduler = startSlaScheduler({ store, openCases, now, intervalMs: config.slaTickMs, logger })
// Dashboards: the read models (Redis with REDIS_URL, else memory) fed by their own consumer group.
const { readModels, target: readModelTarget } = await openReadModels(config, { connectionName: 'civic-standalone' })
const dashboard = await startDashboardProjector({ feed, store: log, bus, readModels, storeIdentity: loadOrCreateStoreIdentity(dataDir), logger })
const rate = headRate(store)

const app = createHttpApp({
  serviceName: 'civic-desk',
  logger,
  access,
  bodyLimit: config.bodyLimit,
  ...httpTimeouts(config),
  accessRules: ACCESS_RULES,
  eventStore: { kind: 'sqlite', target: eventsFile, head: () => log.headPosition() },
  readiness: async () => {
    const head = await store.headPosition()
    const routingStatus = await routing.status()
    return {
      ready: routingStatus.running && openCases.running,
      details: {
        eventStoreHead: head,
        readers: Object.fromEntries((await readers()).map((r) => [r.name, r.position])),
        readModels: { target: readModelTarget, version: dashboard.version, position: dashboard.position },
      },
    }
  },
})
// Open311's request index: a projection of this thread's feed (the log as stored, no personal data).
const open311Index = startOpen311Index((options) => feed.project(options))
// Personal data whose retention period ran out goes at every period (KVKK; at most six months).
const destruction = startPeriodicDestruction({ keys: privacy.keys, log: privacy.log, store, scanStore: log, catalogue, periodDays: config.destructionPeriodDays, logger: logger.child({ component: 'periodic-destruction' }), now })
await registerStandaloneRoutes(app, {
  intake: { store, catalogue, access, logger, trackingKey, now, lookupsPerMinute: config.lookupsPerMinute, open311: { index: open311Index, jurisdiction: config.open311Jurisdiction } },
  workflow: { store, openCases, catalogue, calendar, workflows, access, logger, now, maxReopenings: config.maxReopenings, caseLimits: { maxNotes: config.maxNotesPerCase, maxCaseBytes: config.maxCaseBytes } },
  privacy: { keys: privacy.keys, log: privacy.log, store, access, logger, now },
  audit: audit === undefined ? undefined : { audit, store: log, access, logger },
  routing: { routing, access, logger },
  consumers: { readers, store, access },
  notification: { outbox, notifier, access, logger },
  dashboard: {
    eventStore: { kind: 'sqlite', target: eventsFile },
    readModels,
    projector: dashboard,
    store,
    catalogue,
    access,
    logger,
    now,
    eventsPerSecond: rate.perSecond,
    // Every reader of the log in this process: the consumer groups, and the projections that follow
    // the store directly (the directorates' queues and SLA timers, routing's duplicate index).
    consumers: async () => {
      const head = await store.headPosition()
      return (await readers()).map((r) => ({ name: r.name, kind: 'store' as const, ...(r.topic === undefined ? {} : { topic: r.topic }), position: r.position ?? 0, lag: Math.max(0, head - (r.position ?? 0)) }))
    },
  },
})

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    // The consumers finish or leave unfinished the message in hand and save their checkpoints,
    // all before the bus and the store close.
    { name: 'sla scheduler', close: () => scheduler.stop() },
    { name: 'periodic destruction', close: () => destruction.stop() },
    { name: 'consumer thread (routing, notification)', close: () => consumers.stop() },
    { name: 'workflow projection', close: () => openCases.close() },
    { name: 'dashboard projector', close: () => dashboard.stop() },
    { name: 'open311 index', close: () => open311Index.close() },
    { name: 'case feed', close: () => feed.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'read models', close: () => readModels.close() },
    { name: 'head rate', close: async () => rate.stop() },
    { name: 'outbox', close: async () => outbox.close() },
    { name: 'audit log', close: async () => audit?.close() },
    { name: 'event store', close: () => store.close() },
    { name: 'key store and destruction log', close: () => privacy.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
const address = app.server.address()
const port = typeof address === 'object' && address !== null ? address.port : config.port
const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`

logger.info(
  {
    url,
    dataDir,
    readModels: readModelTarget,
    head: await store.headPosition(),
    departments: catalogue.departments.length,
    categories: catalogue.categories.length,
    workflows: workflows.workflows.length,
    notifications: consumers.providers,
  },
  'civic-desk standalone is up',
)
if (devTokens) {
  logger.warn({ tokens: accessConfig.tokens.length }, 'DEVELOPMENT TOKENS ARE ACTIVE: anyone who knows them can use the API. Set CIVIC_ACCESS_FILE before going live.')
}
const lines = [
  '',
  `  civic-desk (standalone) → ${url}`,
  `  data: ${dataDir}   citizen messages: ${Object.entries(consumers.providers).map(([channel, provider]) => `${channel}→${provider}`).join(', ')}`,
  ...(devTokens
    ? [
        '',
        '  !! Development tokens (no CIVIC_ACCESS_FILE given) — never use these in production:',
        '     channel adapters:  Bearer dev-channel',
        '     supervisor:        Bearer dev-supervisor',
        '     auditor:           Bearer dev-auditor',
        '     operator:          Bearer dev-operator',
        `     staff:             Bearer dev-staff-<department>  (${catalogue.departments.map((d) => d.code).join(', ')})`,
      ]
    : []),
  '',
  `  try: curl -s -X POST ${url}/v1/requests -H 'authorization: Bearer dev-channel' -H 'content-type: application/json' \\`,
  `         -d '{"channel":"web","kind":"complaint","description":"Sokağımızda büyük bir ÇUKUR var","citizen":{"phone":"+90 532 000 00 00"}}'`,
  `       curl -s ${url}/v1/requests/<trackingCode>`,
  `       curl -s ${url}/v1/departments/fen-isleri/queue -H 'authorization: Bearer dev-staff-fen-isleri'`,
  `       curl -s ${url}/v1/dashboards/overview -H 'authorization: Bearer dev-operator'`,
  `       curl -s ${url}/open311/v2/services.xml   (Open311 GeoReport v2: docs/open311.md)`,
  '',
  `  operator console: ${url}/  (log in with an operator or supervisor token${devTokens ? ', e.g. dev-operator' : ''}); demo traffic: pnpm simulate`,
  '',
]
process.stderr.write(`${lines.join('\n')}\n`)
