// Composition root of the dashboard service as its own process. The only module that reads
// process.env. It projects civic.case-events.v1 (group `dashboard`; Kafka with KAFKA_BROKERS, else
// the bus file the relay publishes to) into the read models (Redis with REDIS_URL, else memory) and
// serves the dashboards and the operators' stream view.
import { join, resolve } from 'node:path'
import { registerConsole } from '@civic-desk/console'
import { TOPICS, createKafkaLagReader, openServiceBus } from '@civic-desk/messaging'
import { createCaseFeed } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { ACCESS_RULES, accessConfigOrDev, configureMetrics, createAccessControl, createHttpApp, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { dashboardConfig } from './config.ts'
import { loadOrCreateStoreIdentity } from './identity.ts'
import { openReadModels } from './open.ts'
import { startDashboardProjector } from './projector.ts'
import { createRelayStatusClient } from './relay-status.ts'
import { headRate, registerDashboardRoutes, type ConsumerStatus } from './routes.ts'

const config = parseConfigOrExit(dashboardConfig, process.env, 'dashboard')
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)

const logger = createLogger({ level: config.logLevel, name: 'dashboard' })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, 'dashboard', logger)
const dataDir = resolve(config.dataDir)
const catalogue = loadCatalogue(config.catalogueFile)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)
const storeIdentity = loadOrCreateStoreIdentity(dataDir)

// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('dashboard', 'cannot open the event store', error),
)
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: 'dashboard',
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
const { readModels, target: readModelTarget } = await openReadModels(config, { connectionName: 'civic-dashboard' })
// Case events from civic.case-events.v1, which the relay fills.
const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' } })
// Dead letters in group `dashboard-dead-letters`, read again from the start with memory read models (see the projector).
const projector = await startDashboardProjector({ feed, store, bus, readModels, storeIdentity, logger })
const rate = headRate(store)
const lagReader = config.kafkaBrokers.length > 0 ? createKafkaLagReader({ brokers: config.kafkaBrokers, clientId: 'dashboard-lag', logger: logger.child({ component: 'kafka-lag' }) }) : null
/** The topics of the operators' stream view: the case events and the flows in and out of them. */
const STREAM_VIEW_TOPICS: ReadonlySet<string> = new Set([TOPICS.caseEvents, TOPICS.intake, TOPICS.assignments])
// The relay's position over HTTP (it may run on another host): no file of the relay is read here.
const relayStatus = createRelayStatusClient({ url: config.relayUrl, token: config.relayToken ?? (devTokens ? 'dev-operator' : undefined), logger: logger.child({ component: 'relay-status' }) })

const consumers = async (): Promise<ConsumerStatus[]> => {
  const [head, relay] = await Promise.all([store.headPosition(), relayStatus()])
  const list: ConsumerStatus[] = [relay]
  if (lagReader !== null) {
    // Each group on the topics it has committed offsets for. Not `read({ topics })`: that lists
    // every group on every topic named, and a topic a group never reads would show as its lag
    // from the earliest message on (routing "behind" on civic.intake.v1, forever).
    for (const g of await lagReader.read()) if (STREAM_VIEW_TOPICS.has(g.topic)) list.push({ name: g.groupId, kind: 'kafka', topic: g.topic, lag: g.lag })
  }
  list.push({ name: `${projector.groupId} (read models v${projector.version})`, kind: busKind === 'kafka' ? 'kafka' : 'store', topic: TOPICS.caseEvents, position: projector.position, lag: Math.max(0, head - projector.position) })
  return list
}

const app = createHttpApp({
  serviceName: 'dashboard',
  logger,
  access,
  ...httpTimeouts(config),
  accessRules: ACCESS_RULES,
  eventStore: { kind: storeKind, target: storeTarget, head: () => store.headPosition() },
  readiness: async () => {
    const head = await store.headPosition()
    return { ready: (await readModels.active()) !== null, details: { eventStoreHead: head, readModels: readModelTarget, version: projector.version, position: projector.position } }
  },
})
registerDashboardRoutes(app, { readModels, projector, store, catalogue, access, logger, now: () => new Date(), consumers, eventsPerSecond: rate.perSecond, eventStore: { kind: storeKind, target: storeTarget } })
// The operator console (static pages over the API above) at /.
await registerConsole(app)

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    { name: 'projector', close: () => projector.stop() },
    { name: 'case feed', close: () => feed.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'kafka lag reader', close: async () => lagReader?.close() },
    { name: 'head rate', close: async () => rate.stop() },
    { name: 'read models', close: () => readModels.close() },
    { name: 'event store', close: () => store.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, readModels: readModelTarget, version: projector.version, head: await store.headPosition() }, 'dashboard is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-operator, dev-supervisor, dev-staff-<department>). Set CIVIC_ACCESS_FILE before going live.')
