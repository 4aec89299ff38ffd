// Composition root of the notification service as its own process. The only module that reads
// process.env. Like the other single-service entry points it uses the sqlite store in
// CIVIC_DATA_DIR and, until the Kafka adapter lands, the sqlite bus file shared on this host.
import { join, resolve } from 'node:path'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { openSqliteBus } from '@civic-desk/messaging'
import { accessConfigOrDev, createAccessControl, createLogger, installShutdown, loadCatalogue, parseConfigOrExit } from '@civic-desk/service-kit'
import { buildNotificationApp } from './app.ts'
import { buildProviderRouter, notificationConfig, notifierSettings } from './config.ts'
import { startNotifier } from './notifier.ts'
import { openSqliteOutbox } from './outbox.ts'

const config = parseConfigOrExit(notificationConfig, process.env, 'notification')
const logger = createLogger({ level: config.logLevel, name: 'notification' })
const dataDir = resolve(config.dataDir)
const catalogue = loadCatalogue(config.catalogueFile)
const { config: accessConfig, devTokens } = accessConfigOrDev(config.accessFile, catalogue.departments.map((d) => d.code))
const access = createAccessControl(accessConfig)

const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite'), logger: logger.child({ component: 'event-store' }) })
const bus = openSqliteBus({ file: join(dataDir, 'bus.sqlite'), logger: logger.child({ component: 'bus' }) })
const outbox = openSqliteOutbox(join(dataDir, 'outbox.sqlite'))
const router = buildProviderRouter(config, outbox)
const notifier = await startNotifier({
  store,
  bus,
  catalogue,
  router,
  logger,
  ...notifierSettings(config),
})
const app = buildNotificationApp({ outbox, notifier, access, logger })

installShutdown({
  logger,
  tasks: [
    { name: 'http', close: () => app.close() },
    { name: 'notifier', close: () => notifier.stop() },
    { name: 'providers', close: () => router.close() },
    { name: 'bus', close: () => bus.close() },
    { name: 'outbox', close: async () => outbox.close() },
    { name: 'event store', close: () => store.close() },
  ],
})

await app.listen({ port: config.port, host: config.host })
logger.info({ port: config.port, dataDir, providers: [...router.channels].map((c) => `${c}→${router.providerFor(c)?.name ?? 'none'}`) }, 'notification is up')
if (devTokens) logger.warn('DEVELOPMENT TOKENS ARE ACTIVE. Set CIVIC_ACCESS_FILE before going live.')
