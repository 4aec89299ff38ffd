// Composition root of the routing service as its own process. The only module that reads process.env.
// It consumes civic.case-events.v1 (Kafka with KAFKA_BROKERS, else the bus file bus.sqlite that the
// relay publishes to on this host) and appends to the event store shared in CIVIC_DATA_DIR.
import { join, resolve } from 'node:path'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdOfStream, createCaseFeed } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { caseEventOpener, openConfiguredPrivacy, privacySettingsOf, sealingEventStore } from '@civic-desk/privacy'
import { openServiceBus } from '@civic-desk/messaging'
import { accessConfigOrDev, configureMetrics, countingAppends, createAccessControl, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { buildRoutingApp } from './app.ts'
import { routingConfig } from './config.ts'
import { startRouting } from './routing.ts'

const config = parseConfigOrExit(routingConfig, process.env, 'routing')
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)

const logger = createLogger({ level: config.logLevel, name: 'routing' })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, 'routing', logger)
const dataDir = resolve(config.dataDir)
const catalogue = loadCatalogue(config.catalogueFile)
const calendar = createBusinessCalendar(loadHolidayData(config.holidayFile))
// Routing only serves operators; no department tokens needed.
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, [])
const access = createAccessControl(accessConfig)

// Personal data (KVKK), opened first so that a wrong master key stops the start before any other
// file is touched: the case keys and the destruction log (PostgreSQL with the log on a server, else
// the data folder). The service reads and writes the log through the sealing store.
const privacy = await openConfiguredPrivacy(privacySettingsOf(config), { dataDir, logger: logger.child({ component: 'privacy' }) }).catch((error: unknown) =>
  exitAtStart('routing', 'cannot open the personal data key store', error),
)
// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store: storeAsOpened, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('routing', 'cannot open the event store', error),
)
// Every event this process appends is counted by type (civic_events_appended_total).
const log = countingAppends(storeAsOpened)
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: 'routing',
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
// Case events from civic.case-events.v1 (the relay fills it); the duplicate index from the store.
const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' }, openEvent: caseEventOpener(privacy.keys) })
const routing = await startRouting({
  feed,
  store,
  catalogue,
  calendar,
  logger,
  options: {
    duplicateWindowHours: config.duplicateWindowHours,
    duplicateRadiusMeters: config.duplicateRadiusMeters,
    textSimilarity: config.duplicateTextSimilarity,
    duplicateGroups: config.duplicateGroups,
    fallbackDepartment: config.fallbackDepartment,
    informationDepartment: config.informationDepartment,
  },
})
const app = buildRoutingApp({ eventStore: { kind: storeKind, target: storeTarget, head: () => log.headPosition() }, routing, access, logger, timeouts: httpTimeouts(config) })

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    // Before the bus and the store: the message in flight finishes (or stays uncommitted).
    { name: 'routing', close: () => routing.stop() },
    { name: 'case feed', close: () => feed.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'event store', close: () => store.close() },
    { name: 'key store and destruction log', close: () => privacy.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, holidayYears: `${calendar.data.firstYear}–${calendar.data.lastYear}`, head: await store.headPosition() }, 'routing is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-operator for /v1/routing/status). Set CIVIC_ACCESS_FILE before going live.')
