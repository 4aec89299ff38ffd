// Composition root of the event relay as its own process. The only module that reads process.env.
// It tails the event store in CIVIC_DATA_DIR and publishes every case event to civic.case-events.v1:
// on Kafka with KAFKA_BROKERS, else on the bus file beside the store (bus.sqlite) on this host.
import { join, resolve } from 'node:path'
import { createFileCheckpointStore, relayCheckpointFile } from '@civic-desk/case-feed'
import { openConfiguredEventStore } from '@civic-desk/event-store'
import { openServiceBus } from '@civic-desk/messaging'
import { accessConfigOrDev, configureMetrics, createAccessControl, createLogger, exitAtStart, httpTimeouts, installShutdown, listenForMetrics, parseConfigOrExit, startServiceTracing } from '@civic-desk/service-kit'
import { buildRelayApp } from './app.ts'
import { relayConfig } from './config.ts'
import { startRelay } from './relay.ts'

const config = parseConfigOrExit(relayConfig, process.env, 'event-relay')
// Before anything records: CIVIC_METRICS=off leaves every figure unrecorded.
configureMetrics(config)

const logger = createLogger({ level: config.logLevel, name: 'event-relay' })
// Trace ids in logs, events and messages; spans exported only with OTEL_EXPORTER_OTLP_ENDPOINT.
const tracing = await startServiceTracing(config, process.env, 'event-relay', logger)
const dataDir = resolve(config.dataDir)
// The relay only serves operators; no department tokens needed.
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, [])
const access = createAccessControl(accessConfig)

// The log: SQLite in the data folder (one host), or a PostgreSQL server (CIVIC_EVENT_STORE=postgres).
const { store, kind: storeKind, target: storeTarget } = await openConfiguredEventStore(config, { dataDir, logger: logger.child({ component: 'event-store' }) }).catch((error: unknown) =>
  exitAtStart('event-relay', 'cannot open the event store', error),
)
const { bus, kind: busKind, target: busTarget } = openServiceBus({
  kafkaBrokers: config.kafkaBrokers,
  clientId: 'event-relay',
  dataDir,
  logger: logger.child({ component: 'bus' }),
  onFatalError: (error) => shutdown.fail(error),
})
const checkpoints = createFileCheckpointStore({ file: relayCheckpointFile(dataDir) })
const relay = await startRelay({ store, bus, checkpoints, logger, batchSize: config.batchSize })
const app = buildRelayApp({ eventStore: { kind: storeKind, target: storeTarget, head: () => store.headPosition() }, relay, store, access, logger, timeouts: httpTimeouts(config) })

// CIVIC_METRICS_LISTEN: GET /metrics without a token on a private address.
const metricsListener = await listenForMetrics(config, logger)
const shutdown = installShutdown({
  logger,
  tasks: [
    { name: 'metrics listener', close: async () => metricsListener?.close() },
    { name: 'http', close: () => app.close() },
    // Before the bus and the store: it publishes what it collected and saves the checkpoint.
    { name: 'relay', close: () => relay.stop() },
    { name: 'bus', close: () => bus.close() },
    { name: 'event store', close: () => store.close() },
    // Last: what the other tasks' spans recorded leaves (bounded wait).
    { name: 'tracing', close: () => tracing.shutdown() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, eventStore: { kind: storeKind, target: storeTarget }, bus: busKind, busTarget, position: relay.position, head: await store.headPosition() }, 'event-relay is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-operator for /v1/relay/status). Set CIVIC_ACCESS_FILE before going live.')
