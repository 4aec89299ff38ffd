// Composition root of the notification service as its own process. The only module that reads
// process.env. It consumes civic.case-events.v1 (Kafka with KAFKA_BROKERS, else the bus file on this
// host), reads and records on the event store shared in CIVIC_DATA_DIR, and keeps its outbox there.
import { join, resolve } from 'node:path'
import { caseIdOfStream, createCaseFeed } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { caseEventOpener, openConfiguredPrivacy, privacySettingsOf, sealingEventStore } from '@civic-desk/privacy'
import { openServiceBus } from '@civic-desk/messaging'
import { accessConfigOrDev, configureMetrics, countingAppends, createAccessControl, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { buildNotificationApp } from './app.ts'
import { buildProviderRouter, notificationConfig, notifierSettings } from './config.ts'
import { startNotifier } from './notifier.ts'
import { openSqliteOutbox } from './outbox.ts'
import { startSupervisorService } from './supervisor-service.ts'

const config = parseConfigOrExit(notificationConfig, process.env, 'notification')
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)
const logger = createLogger({ level: config.logLevel, name: 'notification' })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, 'notification', logger)
const dataDir = resolve(config.dataDir)
const catalogue = loadCatalogue(config.catalogueFile)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)

// Personal data (KVKK), opened first so that a wrong master key stops the start before any other
// file is touched: the case keys and the destruction log (PostgreSQL with the log on a server, else
// the data folder). The service reads and writes the log through the sealing store.
const privacy = await openConfiguredPrivacy(privacySettingsOf(config), { dataDir, logger: logger.child({ component: 'privacy' }) }).catch((error: unknown) =>
  exitAtStart('notification', 'cannot open the personal data key store', error),
)
// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store: storeAsOpened, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('notification', 'cannot open the event store', error),
)
// Every event this process appends is counted by type (civic_events_appended_total).
const log = countingAppends(storeAsOpened)
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: 'notification',
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
const outbox = openSqliteOutbox(join(dataDir, 'outbox.sqlite'))
const router = buildProviderRouter(config, outbox)
// Case events from civic.case-events.v1, which the relay fills.
const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' }, openEvent: caseEventOpener(privacy.keys) })
const notifier = await startNotifier({
  feed,
  store,
  catalogue,
  router,
  outbox,
  logger,
  ...notifierSettings(config),
})
// Escalations and the daily digest of overdue cases to the directorates' supervisors (catalogue contacts).
const supervisors = await startSupervisorService({ feed, store, catalogue, config, dataDir, logger })
const app = buildNotificationApp({ eventStore: { kind: storeKind, target: storeTarget, head: () => log.headPosition() }, outbox, notifier, access, logger, timeouts: httpTimeouts(config) })

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    { name: 'notifier', close: () => notifier.stop() },
    { name: 'supervisor notices', close: () => supervisors.stop() },
    { name: 'case feed', close: () => feed.close() },
    { name: 'providers', close: () => router.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'outbox', close: async () => outbox.close() },
    { name: 'event store', close: () => store.close() },
    { name: 'key store and destruction log', close: () => privacy.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, providers: [...router.channels].map((c) => `${c}→${router.providerFor(c)?.name ?? 'none'}`) }, 'notification is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE. Set CIVIC_ACCESS_FILE before going live.')
