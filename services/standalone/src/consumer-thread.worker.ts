// Entry of standalone's consumer thread (started by consumer-thread.ts): routing — with its
// duplicate index — and notification, each a consumer group reading case events straight from the
// store with its own checkpoint, exactly as they ran on the HTTP thread before. The thread opens
// its own connections to the event store, the bus and the outbox; the HTTP thread asks it for its
// status and tells it to stop.
import { join, resolve } from 'node:path'
import { parentPort } from 'node:worker_threads'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdOfStream, createCaseFeed, groupCheckpointDir } from '@civic-desk/case-feed'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { openSqliteBus } from '@civic-desk/messaging'
import { openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { buildProviderRouter, notifierSettings, openSqliteOutbox, startNotifier, startSupervisorService } from '@civic-desk/notification'
import { startRouting } from '@civic-desk/routing'
import { configureMetrics, countingAppends, createLogger, loadCatalogue, parseConfigOrExit, processMetrics, startServiceTracing } from '@civic-desk/service-kit'
import { standaloneConfig } from './config.ts'
import { eventStoreWakeChannel, type FromConsumerThread, type ToConsumerThread } from './consumer-thread.ts'

if (parentPort === null) throw new Error('consumer-thread.worker.ts is the entry of a worker thread; start it through startConsumerThread')
const port = parentPort
const send = (message: FromConsumerThread): void => port.postMessage(message)

// The same environment and files as the HTTP thread, which has checked them already.
const config = parseConfigOrExit(standaloneConfig, process.env, 'civic-desk')
// This thread's own registry; the HTTP thread merges it into /metrics. The Node process figures are the HTTP thread's.
configureMetrics(config, { processDefaults: false })
const logger = createLogger({ level: config.logLevel, name: 'civic-desk' }).child({ thread: 'consumers' })
// Tracing is per thread (its current span lives in this thread's async context); this thread exports its own spans.
const tracing = await startServiceTracing(config, process.env, 'civic-desk', logger)
const dataDir = resolve(config.dataDir)
const now = (): Date => new Date()
const catalogue = loadCatalogue(config.catalogueFile)
const calendar = createBusinessCalendar(loadHolidayData(config.holidayFile))

const eventsFile = join(dataDir, 'events.sqlite')
const log = countingAppends(openSqliteEventStore({ file: eventsFile, wakeChannel: eventStoreWakeChannel(eventsFile), logger: logger.child({ component: 'event-store' }) }))
// The key store the HTTP thread opened first (and checked against the master key).
const privacy = await openConfiguredPrivacy({ masterKey: config.masterKey }, { dataDir })
// Routing reads the description, notification the citizen's address: opened here, sealed in the log.
const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream, logger: logger.child({ component: 'privacy' }) })
const bus = openSqliteBus({ file: join(dataDir, 'bus.sqlite'), logger: logger.child({ component: 'bus' }) })
const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: groupCheckpointDir(dataDir) } })
const outbox = openSqliteOutbox(join(dataDir, 'outbox.sqlite'))
const router = buildProviderRouter(config, outbox)

const routing = await startRouting({
  feed,
  store,
  catalogue,
  calendar,
  logger,
  now,
  options: { duplicateWindowHours: config.duplicateWindowHours, duplicateRadiusMeters: config.duplicateRadiusMeters, textSimilarity: config.duplicateTextSimilarity, duplicateGroups: config.duplicateGroups },
})
const notifier = await startNotifier({ feed, store, catalogue, router, outbox, logger, now, ...notifierSettings(config) })
const supervisors = await startSupervisorService({ feed, store, catalogue, config, dataDir, logger, now })

/** Closes in the order the one-thread system did: consumers first (checkpoints saved), files last. */
async function stop(): Promise<void> {
  const steps: [string, () => Promise<void> | void][] = [
    ['routing', () => routing.stop()],
    ['notification', () => notifier.stop()],
    ['supervisor notices', () => supervisors.stop()],
    ['case feed', () => feed.close()],
    ['bus', () => bus.close()],
    ['notification providers', () => router.close()],
    ['outbox', () => outbox.close()],
    ['event store', () => store.close()],
    ['key store', () => privacy.close()],
    ['tracing', () => tracing.shutdown()],
  ]
  let failed = false
  for (const [name, close] of steps) {
    try {
      await close()
    } catch (error) {
      failed = true
      logger.error({ task: name, err: error }, 'close failed')
    }
  }
  send({ kind: 'stopped' })
  // Ends this thread only; the HTTP thread waits for it.
  process.exit(failed ? 1 : 0)
}

port.on('message', (message: ToConsumerThread) => {
  if (message.kind === 'snapshot') {
    send({ kind: 'snapshot', id: message.id, snapshot: { routing: routing.status(), notifier: notifier.status(), readers: feed.readers() } })
  } else if (message.kind === 'metrics') {
    const metrics = processMetrics()
    if (metrics === undefined) send({ kind: 'metrics', id: message.id, metrics: [] })
    else
      void metrics.registry.getMetricsAsJSON().then(
        (snapshot) => send({ kind: 'metrics', id: message.id, metrics: snapshot }),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics could not be collected')
          send({ kind: 'metrics', id: message.id, metrics: [] })
        },
      )
  } else {
    void stop()
  }
})
send({ kind: 'started', providers: Object.fromEntries([...router.channels].map((c) => [c, router.providerFor(c)?.name ?? 'none'])) })
