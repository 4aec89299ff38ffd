// Composition root of the intake service as its own process (distributed stack). The only module
// that reads process.env. Takes requests over HTTP (POST /v1/requests) and from channel adapters
// on civic.intake.v1, and stores each as a new case in the shared event store.
import { join, resolve } from 'node:path'
import { caseIdOfStream, createLogTail, startProjection } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { openConfiguredPrivacy, privacySettingsOf, sealingEventStore } from '@civic-desk/privacy'
import { openServiceBus } from '@civic-desk/messaging'
import { accessConfigOrDev, configureMetrics, countingAppends, createAccessControl, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, loadCatalogue, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { buildIntakeApp } from './app.ts'
import { intakeConfig } from './config.ts'
import { startIntakeConsumer } from './intake-consumer.ts'
import { startOpen311Index } from './open311/request-index.ts'
import { decodeTrackingKey, loadOrCreateTrackingKey } from './tracking-key.ts'

const SERVICE = 'intake'
const config = parseConfigOrExit(intakeConfig, process.env, SERVICE)
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)
const logger = createLogger({ level: config.logLevel, name: SERVICE })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, SERVICE, logger)
const dataDir = resolve(config.dataDir)
const now = (): Date => new Date()
const catalogue = loadCatalogue(config.catalogueFile)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)
const trackingKey = config.trackingKey !== undefined ? decodeTrackingKey(config.trackingKey) : loadOrCreateTrackingKey(join(dataDir, 'tracking.key')).key

// Personal data (KVKK), opened first so that a wrong master key stops the start before any other
// file is touched: the case keys and the destruction log (PostgreSQL with the log on a server, else
// the data folder). The service reads and writes the log through the sealing store.
const privacy = await openConfiguredPrivacy(privacySettingsOf(config), { dataDir, logger: logger.child({ component: 'privacy' }) }).catch((error: unknown) =>
  exitAtStart('intake', 'cannot open the personal data key store', error),
)
// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store: storeAsOpened, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('intake', 'cannot open the event store', error),
)
// Every event this process appends is counted by type (civic_events_appended_total).
const log = countingAppends(storeAsOpened)
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: SERVICE,
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
const consumer = await startIntakeConsumer({ bus, store, catalogue, now, trackingKey, logger })
// Open311's request index follows the log as stored: it needs no personal data, so nothing is opened for it.
const tail = createLogTail({ store: log, logger })
const open311Index = startOpen311Index((options) => startProjection({ ...options, tail, logger }))
const app = await buildIntakeApp({
  eventStore: { kind: storeKind, target: storeTarget, head: () => log.headPosition() },
  store,
  catalogue,
  access,
  logger,
  trackingKey,
  now,
  lookupsPerMinute: config.lookupsPerMinute,
  bodyLimit: config.bodyLimit,
  timeouts: httpTimeouts(config),
  open311: { index: open311Index, jurisdiction: config.open311Jurisdiction },
})

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    // Before the bus and the store: the message in hand is stored and committed, or left for redelivery.
    { name: 'intake consumer', close: () => consumer.stop() },
    { name: 'open311 index', close: () => open311Index.close() },
    { name: 'log tail', close: () => tail.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'event store', close: () => store.close() },
    { name: 'key store and destruction log', close: () => privacy.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, head: await store.headPosition() }, 'intake is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-channel for POST /v1/requests). Set CIVIC_ACCESS_FILE before going live.')
