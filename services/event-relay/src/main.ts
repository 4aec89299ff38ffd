// Composition root of the event relay as its own process. The only module that reads process.env.
// For now it reads the sqlite store in CIVIC_DATA_DIR and publishes to the sqlite bus file beside
// it (bus.sqlite), which the other services' processes on this host read; Kafka comes later.
import { join, resolve } from 'node:path'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { openSqliteBus } from '@civic-desk/messaging'
import { accessConfigOrDev, createAccessControl, createLogger, installShutdown, parseConfigOrExit } from '@civic-desk/service-kit'
import { buildRelayApp } from './app.ts'
import { createFileCheckpointStore } from './checkpoint.ts'
import { relayConfig } from './config.ts'
import { startRelay } from './relay.ts'

const config = parseConfigOrExit(relayConfig, process.env, 'event-relay')

const logger = createLogger({ level: config.logLevel, name: 'event-relay' })
const dataDir = resolve(config.dataDir)
// The relay only serves operators; no department tokens needed.
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, [])
const access = createAccessControl(accessConfig)

const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger: logger.child({ component: 'event-store' }) })
const bus = openSqliteBus({ file: join(dataDir, 'bus.sqlite'), logger: logger.child({ component: 'bus' }) })
const checkpoints = createFileCheckpointStore({ file: join(dataDir, 'event-relay.checkpoint.json') })
const relay = await startRelay({ store, bus, checkpoints, logger, batchSize: config.batchSize })
const app = buildRelayApp({ relay, store, access, logger })

installShutdown({
  logger,
  tasks: [
    { name: 'http', close: () => app.close() },
    // Before the bus and the store: it publishes what it collected and saves the checkpoint.
    { name: 'relay', close: () => relay.stop() },
    { name: 'bus', close: () => bus.close() },
    { name: 'event store', close: () => store.close() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, host: config.host, dataDir, position: relay.position, head: await store.headPosition() }, 'event-relay is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE (Bearer dev-operator for /v1/relay/status). Set CIVIC_ACCESS_FILE before going live.')
