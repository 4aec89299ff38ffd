// Rebuild CLI (`pnpm rebuild-read-models`): replays the event log the services are configured with
// (CIVIC_EVENT_STORE: events.sqlite in CIVIC_DATA_DIR, or PostgreSQL at CIVIC_PG_URL /
// CIVIC_PG_SCHEMA, or EventStoreDB) into a new read-model version in Redis (REDIS_URL,
// CIVIC_REDIS_PREFIX), shows progress on stderr, then switches the active version and deletes the
// old one. A running dashboard answers from the old version until the switch, then follows the
// pointer (and replays whatever it committed to the old version meanwhile). The only module of
// this command that reads process.env.
import { resolve } from 'node:path'
import { z } from 'zod'
import { EventStoreChoiceError } from '@civic-desk/event-store'
import { rebuildVersion } from '@civic-desk/read-models'
import { createLogger, defineConfig, distributedConfigEntries, logLevelSchema, parseConfigOrExit } from '@civic-desk/service-kit'
import { readModelConfigEntries } from './config.ts'
import { loadOrCreateStoreIdentity } from './identity.ts'
import { openReadModels } from './open.ts'
import { RebuildSourceError, openRebuildSource } from './rebuild-source.ts'
import { REBUILD_BATCH_SIZE } from './source.ts'

const { eventStore, pgUrl, pgSchema, eventStoreDbUrl, storePollMs } = distributedConfigEntries
const rebuildConfig = defineConfig({
  dataDir: {
    env: 'CIVIC_DATA_DIR',
    schema: z.string().min(1).default('./data'),
    doc: "The dashboard's data folder: its store-identity, and the event store (events.sqlite) when CIVIC_EVENT_STORE=sqlite",
  },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  eventStore,
  pgUrl,
  pgSchema,
  eventStoreDbUrl,
  storePollMs,
  ...readModelConfigEntries,
})
const config = parseConfigOrExit(rebuildConfig, process.env, 'rebuild-read-models')
const logger = createLogger({ level: config.logLevel, name: 'rebuild-read-models' })

if (config.redisUrl === undefined) {
  process.stderr.write('REDIS_URL is not set: the in-memory read models are rebuilt by every start; set REDIS_URL=redis://host:6379 to rebuild those in Redis.\n')
  process.exit(2)
}
const dataDir = resolve(config.dataDir)

let source: Awaited<ReturnType<typeof openRebuildSource>>
try {
  source = await openRebuildSource(config, { dataDir, logger: logger.child({ component: 'event-store' }) })
} catch (error) {
  const known = error instanceof RebuildSourceError || error instanceof EventStoreChoiceError
  process.stderr.write(`${known ? '' : 'cannot open the event store: '}${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(2)
}
// The rebuild reads its own writes from memory: every case it touched stays cached for the next batches.
const { readModels, target } = await openReadModels(config, { cacheCases: 200_000, connectionName: 'civic-rebuild' })
const storeIdentity = loadOrCreateStoreIdentity(dataDir)
const head = source.head
const before = await readModels.active()
const started = Date.now()
const tty = process.stderr.isTTY === true
let lastDraw = 0

function bar(position: number, events: number, version: number, final = false): void {
  const now = Date.now()
  if (!final && now - lastDraw < (tty ? 100 : 2000)) return
  lastDraw = now
  const seconds = Math.max(0.001, (now - started) / 1000)
  const rate = events / seconds
  const fraction = head === 0 ? 1 : Math.min(1, position / head)
  const eta = rate > 0 && fraction < 1 ? ((head - position) * (events / Math.max(1, position))) / rate : 0
  const width = 30
  const filled = Math.round(fraction * width)
  const line = `v${version} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}%  ${events.toLocaleString('en')} events  ${Math.round(rate).toLocaleString('en')} ev/s  ETA ${eta.toFixed(0)} s`
  process.stderr.write(tty ? `\r${line}` : `${line}\n`)
}

let exitCode = 0
try {
  const result = await rebuildVersion({
    store: readModels,
    storeIdentity,
    batches: source.batches(0, head, REBUILD_BATCH_SIZE[readModels.kind]),
    onStart: (version) => process.stderr.write(`rebuilding read models into version ${version} (${target}) from ${source.description}, head ${head}\n`),
    onProgress: (p) => bar(p.position, p.events, p.version),
  })
  bar(result.position, result.events, result.version, true)
  const seconds = (Date.now() - started) / 1000
  process.stderr.write(tty ? '\n' : '')
  const summary = {
    version: result.version,
    previousVersion: before?.version ?? null,
    events: result.events,
    position: result.position,
    head,
    seconds: Number(seconds.toFixed(2)),
    eventsPerSecond: Math.round(result.events / Math.max(0.001, seconds)),
    storeIdentity,
    eventStore: source.description,
    readModels: target,
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
} catch (error) {
  exitCode = 1
  logger.error({ err: error }, 'rebuild failed; the previous version stays active')
} finally {
  await readModels.close()
  await source.close()
}
process.exit(exitCode)
