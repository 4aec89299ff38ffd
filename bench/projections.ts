// pnpm bench:projections — how fast the read models rebuild: 1,000,000 realistic stored case
// events (bench/workload.ts bodies in real case-event sequences: submitted, routed, accepted,
// waiting for the citizen, resolved, closed, notified, breached and escalated), replayed from a
// SQLite store into the memory store and into Redis; prints events/s of each.
//
// The generated store is cached in .bench/ under a version string (delete it or change
// BENCH_EVENTS to regenerate). Options (env): BENCH_EVENTS (1000000), BENCH_SEED (153),
// REDIS_URL (redis://127.0.0.1:6379; "off" skips Redis), BENCH_BATCH (events per read/commit; default as
// `pnpm rebuild-read-models`: 5,000 into memory, 20,000 into Redis),
// BENCH_ONLY (memory | redis: run one target only, e.g. to profile it; generate: only make the store
// and print its path, for bench:audit).
// Targets on the 2-core reference machine: ≥ 200,000 ev/s memory, ≥ 50,000 ev/s Redis.
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CaseEvent } from '@civic-desk/contracts'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { caseIdForTrackingCode, trackingCodeFromBytes } from '../packages/case-domain/src/index.ts'
import { encodeCaseEvent } from '../packages/case-feed/src/index.ts'
import { loadCatalogue, defaultCatalogueFile, createLogger } from '../packages/service-kit/src/index.ts'
import { createMemoryReadModelStore, deleteRedisPrefix, openRedisReadModelStore, rebuildVersion, type ReadModelStore } from '../packages/read-models/src/index.ts'
import { REBUILD_BATCH_SIZE, sqliteStoreBatches } from '../services/dashboard/src/source.ts'
import { createWorkload, seededRandom } from './workload.ts'

// v3: events carry the hash chain in their metadata (integrity.ts); bench:audit verifies this store.
const VERSION = 'projections-v3'
const total = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const seed = Number(process.env.BENCH_SEED ?? 153)
const batchSize = (kind: 'memory' | 'redis'): number => (process.env.BENCH_BATCH === undefined ? REBUILD_BATCH_SIZE[kind] : Number(process.env.BENCH_BATCH))
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const only = process.env.BENCH_ONLY
const root = fileURLToPath(new URL('..', import.meta.url))
const cacheDir = join(root, '.bench')
const cacheFile = join(cacheDir, `${VERSION}-${total}-${seed}.sqlite`)
const logger = createLogger({ level: 'warn', name: 'bench-projections' })
const say = (line: string): void => void process.stderr.write(`${line}\n`)
const fmt = (n: number): string => Math.round(n).toLocaleString('en')

function progress(label: string, done: number, of: number, startedMs: number): void {
  const seconds = (Date.now() - startedMs) / 1000
  const rate = done / Math.max(0.001, seconds)
  const line = `${label} ${((done / of) * 100).toFixed(1).padStart(5)}%  ${fmt(done)}/${fmt(of)}  ${fmt(rate)} ev/s  ETA ${((of - done) / Math.max(1, rate)).toFixed(0)} s`
  process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`)
}

/** One case's events, built as the services would record them (ids, actors, times). */
function caseEvents(body: ReturnType<ReturnType<typeof createWorkload>['next']>, atMs: number, random: () => number, departmentOf: (category: string | undefined) => { department: string; category: string | null }): CaseEvent[] {
  const trackingCode = trackingCodeFromBytes(Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256))))
  const caseId = caseIdForTrackingCode(trackingCode)
  const events: CaseEvent[] = []
  let t = atMs
  const at = (): string => new Date(t).toISOString()
  const meta = (actor: CaseEvent['actor']) => ({ eventId: randomUUID(), schemaVersion: 1 as const, occurredAt: at(), actor, correlationId: caseId, causationId: null })
  const service = { kind: 'service' as const, id: 'routing' }
  const staff = { kind: 'staff' as const, id: `staff-${Math.floor(random() * 40)}` }
  const { citizen: _citizen, externalId: _externalId, ...rest } = body
  events.push({ ...meta({ kind: 'channel', id: `${body.channel}-adapter` }), type: 'CaseSubmitted', data: { ...rest, caseId, trackingCode, receivedAt: at() } })
  t += 200 + random() * 2000
  const { department, category } = departmentOf(body.category)
  const hours = 24 + Math.floor(random() * 4) * 24
  const sla = { clock: 1, startedAt: at(), deadline: { hours }, basis: 'category' as const, dueAt: new Date(t + hours * 3600_000).toISOString() }
  events.push({ ...meta(service), type: 'CaseRouted', data: { department, category, routedBy: 'category', matchedKeywords: [], sla, legalDueAt: null } })
  const notify = (template: 'acknowledgement' | 'resolved') =>
    events.push({
      ...meta({ kind: 'service', id: 'notification' }),
      type: 'CitizenNotified',
      data: { notificationId: randomUUID(), sourceEventId: events.at(-1)!.eventId, template, channel: 'sms', provider: 'outbox', to: '+90 5** *** ** 67', providerMessageId: randomUUID(), attempts: 1 },
    })
  if (random() < 0.7) notify('acknowledgement')
  const r = random()
  if (r < 0.8) {
    t += random() * 8 * 3600_000
    events.push({ ...meta(staff), type: 'CaseAccepted', data: { department, assignee: staff.id } })
    if (random() < 0.1) {
      t += random() * 3600_000
      events.push({ ...meta(staff), type: 'CitizenInfoRequested', data: { question: 'Adresin tarifini verebilir misiniz?' } })
      t += random() * 24 * 3600_000
      events.push({ ...meta(staff), type: 'CitizenReplied', data: { text: 'Caminin karşısı', channel: 'call-center' } })
    }
    if (random() < 0.85) {
      t += random() * 48 * 3600_000
      events.push({ ...meta(staff), type: 'CaseResolved', data: { resolution: 'Ekiplerimiz sorunu giderdi.' } })
      notify('resolved')
      if (random() < 0.3) {
        t += random() * 72 * 3600_000
        events.push({ ...meta(staff), type: 'CaseClosed', data: { reason: null } })
      }
    }
  } else if (r < 0.88) {
    t = Date.parse(sla.dueAt)
    events.push({ ...meta(service), type: 'SlaBreached', data: { clock: 1, department, dueAt: sla.dueAt } })
    events.push({ ...meta(service), type: 'CaseEscalated', data: { clock: 1, department, to: 'supervisors', reason: 'Süre aşıldı' } })
  }
  return events
}

async function generate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-bench-projections-'))
  const file = join(dir, 'events.sqlite')
  const store = openSqliteEventStore({ file, logger })
  const catalogue = loadCatalogue(defaultCatalogueFile)
  const byCategory = new Map(catalogue.categories.map((c) => [c.code, c.department]))
  const departmentOf = (category: string | undefined) => {
    const department = category === undefined ? undefined : byCategory.get(category)
    return department === undefined ? { department: 'halkla-iliskiler', category: null } : { department, category: category! }
  }
  const workload = createWorkload({ runId: `projections-${seed}`, seed })
  const random = seededRandom(seed + 1)
  const started = Date.now()
  // Submissions spread over the last 60 days, in order; each chunk of cases is appended phase by
  // phase (all first events, then all second events…) so cases interleave in the global log.
  const spanMs = 60 * 24 * 3600_000
  const perCase = 4.6
  const expectedCases = Math.ceil(total / perCase)
  let written = 0
  let n = 0
  while (written < total) {
    const chunk: CaseEvent[][] = []
    for (let i = 0; i < 1000 && written + chunk.reduce((s, c) => s + c.length, 0) < total; i++) {
      chunk.push(caseEvents(workload.next(), Date.now() - spanMs + (n++ / expectedCases) * spanMs, random, departmentOf))
    }
    const budget = total - written
    let inChunk = 0
    for (const c of chunk) {
      if (inChunk + c.length > budget) c.length = Math.max(0, budget - inChunk)
      inChunk += c.length
    }
    const longest = Math.max(...chunk.map((c) => c.length))
    for (let k = 0; k < longest; k++) {
      await Promise.all(
        chunk.flatMap((c) => {
          const e = c[k]
          if (e === undefined) return []
          return [store.append(`case-${(c[0] as Extract<CaseEvent, { type: 'CaseSubmitted' }>).data.caseId}`, [encodeCaseEvent(e)], { expectedRevision: k === 0 ? 'no_stream' : k - 1 })]
        }),
      )
    }
    written += inChunk
    progress('generating', written, total, started)
  }
  process.stderr.write('\n')
  await store.close()
  mkdirSync(cacheDir, { recursive: true })
  renameSync(file, cacheFile)
  rmSync(dir, { recursive: true, force: true })
  say(`generated ${fmt(total)} events in ${((Date.now() - started) / 1000).toFixed(1)} s → ${cacheFile}`)
}

async function rebuildInto(label: string, readModels: ReadModelStore): Promise<{ events: number; seconds: number; perSecond: number; cpuSeconds: number }> {
  const store = openSqliteEventStore({ file: cacheFile, logger })
  const head = await store.headPosition()
  const started = Date.now()
  // CPU time of this process too: the wall-clock rate moves with whatever else runs on the machine.
  const cpuBefore = process.cpuUsage()
  let last = 0
  const result = await rebuildVersion({
    store: readModels,
    storeIdentity: 'bench',
    // One thread: reading in a worker thread was measured slower (structured clone of every batch;
    // again in 2026-11 with the batch as one JSON text: more CPU in all, no faster on 2 cores).
    batches: sqliteStoreBatches(cacheFile, 0, head, batchSize(readModels.kind)),
    onProgress: (p) => {
      if (Date.now() - last > 500) {
        last = Date.now()
        progress(label, p.position, head, started)
      }
    },
  })
  const seconds = (Date.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuSeconds = Number(((cpu.user + cpu.system) / 1e6).toFixed(2))
  progress(label, result.position, head, started)
  process.stderr.write('\n')
  await store.close()
  return { events: result.events, seconds, perSecond: result.events / seconds, cpuSeconds }
}

if (!existsSync(cacheFile)) await generate()
else say(`using the cached store ${cacheFile} (delete it to regenerate)`)
// bench:audit asks only for the store.
if (only === 'generate') {
  process.stdout.write(`${cacheFile}\n`)
  process.exit(0)
}

const results: Record<string, unknown> = {}
if (only !== 'redis') {
  const memory = await rebuildInto('memory', createMemoryReadModelStore())
  say(`memory: ${fmt(memory.events)} events in ${memory.seconds.toFixed(2)} s = ${fmt(memory.perSecond)} ev/s (target ≥ 200,000), ${memory.cpuSeconds} s CPU`)
  results.memory = { ...memory, perSecond: Math.round(memory.perSecond) }
}

if (redisUrl !== 'off' && only !== 'memory') {
  const prefix = `civic-bench:${randomUUID()}:`
  const readModels = await openRedisReadModelStore({ url: redisUrl, prefix, cacheCases: 300_000, connectionName: 'civic-bench' })
  try {
    const redis = await rebuildInto('redis', readModels)
    say(`redis: ${fmt(redis.events)} events in ${redis.seconds.toFixed(2)} s = ${fmt(redis.perSecond)} ev/s (target ≥ 50,000), ${redis.cpuSeconds} s CPU in this process`)
    results.redis = { ...redis, perSecond: Math.round(redis.perSecond) }
  } finally {
    await readModels.close()
    await deleteRedisPrefix(redisUrl, prefix)
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`)
