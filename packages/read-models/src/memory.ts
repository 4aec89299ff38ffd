// In-memory read-model store: standalone without REDIS_URL, tests, and the memory benchmark.
// Same versions and semantics as the Redis store; gone with the process (rebuilt at start).
import { LRUCache } from 'lru-cache'
import { MAX_DEAD_LETTERS, MAX_SAMPLES_PER_KEY, MINUTE_RETENTION_MS, SAMPLE_RETENTION_MS, sampleKey, sampleKeysOf, type DeadLetterEntry, type ReadModelStore, type VersionInfo, type VersionReader, type VersionWriter } from './store.ts'
import type { ChangeSet } from './batch.ts'
import type { CaseDoc } from './case-document.ts'
import { parseInstant } from './instants.ts'

interface Version {
  readonly version: number
  readonly storeIdentity: string
  position: number
  readonly cases: Map<string, CaseDoc>
  readonly tracking: Map<string, string>
  readonly counters: Map<string, Map<string, number>>
  /** department → caseId → due ms */
  readonly queues: Map<string, Map<string, number>>
  /** series → samples (atMs ascending; trimmed by age and count) */
  readonly samples: Map<string, SampleSeries>
  readonly minutes: Map<number, number>
  /** caseIds in receipt order with their receipt time. */
  readonly received: Array<{ atMs: number; caseId: string }>
  receivedSorted: boolean
}

interface SampleEntry {
  readonly atMs: number
  readonly durationMs: number
}

/** A sample series: `items` from `start` on, by time (ties in arrival order); before `start`, trimmed ones not yet compacted. */
interface SampleSeries {
  items: SampleEntry[]
  start: number
}

/** The series keys of a sample by its own series key (one array per series, not one per sample and commit). */
const sampleKeyCache = new LRUCache<string, string[]>({ max: 10_000 })

function cachedSampleKeys(s: { readonly metric: 'first' | 'resolution'; readonly department: string; readonly category: string | null }): string[] {
  const key = sampleKey(s.metric, s.department, s.category)
  let keys = sampleKeyCache.get(key)
  if (keys === undefined) sampleKeyCache.set(key, (keys = sampleKeysOf(s)))
  return keys
}

/**
 * Adds a batch's samples of one series: sorted among themselves (stable), then merged into the
 * series' tail — what inserting each after every older-or-equal one would give, without moving
 * the series once per late sample.
 */
function mergeSamples(series: SampleSeries, added: SampleEntry[]): void {
  added.sort((a, b) => a.atMs - b.atMs)
  const items = series.items
  let p = items.length
  const first = added[0]!.atMs
  while (p > series.start && items[p - 1]!.atMs > first) p--
  if (p === items.length) {
    for (const e of added) items.push(e)
    return
  }
  const tail = items.slice(p)
  items.length = p
  let i = 0
  let j = 0
  while (i < tail.length && j < added.length) items.push(tail[i]!.atMs <= added[j]!.atMs ? tail[i++]! : added[j++]!)
  while (i < tail.length) items.push(tail[i++]!)
  while (j < added.length) items.push(added[j++]!)
}

function newVersion(version: number, storeIdentity: string): Version {
  return { version, storeIdentity, position: 0, cases: new Map(), tracking: new Map(), counters: new Map(), queues: new Map(), samples: new Map(), minutes: new Map(), received: [], receivedSorted: true }
}

function commitTo(v: Version, change: ChangeSet): void {
  for (const doc of change.cases) {
    if (!v.cases.has(doc.caseId)) {
      v.tracking.set(doc.trackingCode, doc.caseId)
      const atMs = parseInstant(doc.receivedAt)
      const last = v.received[v.received.length - 1]
      if (last !== undefined && last.atMs > atMs) v.receivedSorted = false
      v.received.push({ atMs, caseId: doc.caseId })
    }
    v.cases.set(doc.caseId, doc)
  }
  for (const [scope, deltas] of change.counters) {
    let fields = v.counters.get(scope)
    if (fields === undefined) v.counters.set(scope, (fields = new Map()))
    for (const [field, delta] of deltas) {
      const next = (fields.get(field) ?? 0) + delta
      if (next === 0) fields.delete(field)
      else fields.set(field, next)
    }
  }
  for (const { department, caseId } of change.queueRemove) v.queues.get(department)?.delete(caseId)
  for (const { department, caseId, score } of change.queueAdd) {
    let q = v.queues.get(department)
    if (q === undefined) v.queues.set(department, (q = new Map()))
    q.set(caseId, score)
  }
  const added = new Map<string, SampleEntry[]>()
  for (const s of change.samples) {
    const entry = { atMs: s.atMs, durationMs: s.durationMs }
    for (const key of cachedSampleKeys(s)) {
      const list = added.get(key)
      if (list === undefined) added.set(key, [entry])
      else list.push(entry)
    }
  }
  const oldest = change.latestEventMs - SAMPLE_RETENTION_MS
  for (const [key, entries] of added) {
    let series = v.samples.get(key)
    if (series === undefined) v.samples.set(key, (series = { items: [], start: 0 }))
    mergeSamples(series, entries)
    const items = series.items
    let start = series.start
    while (start < items.length && items[start]!.atMs < oldest) start++
    series.start = Math.max(start, items.length - MAX_SAMPLES_PER_KEY)
    if (series.start > MAX_SAMPLES_PER_KEY) {
      series.items = items.slice(series.start)
      series.start = 0
    }
  }
  for (const [minute, delta] of change.minutes) v.minutes.set(minute, (v.minutes.get(minute) ?? 0) + delta)
  if (change.minutes.size > 0) for (const minute of v.minutes.keys()) if (minute < change.latestEventMs - MINUTE_RETENTION_MS) v.minutes.delete(minute)
  v.position = Math.max(v.position, change.position)
}

function readerOf(v: Version): VersionReader {
  const received = (): Version['received'] => {
    if (!v.receivedSorted) {
      v.received.sort((a, b) => a.atMs - b.atMs)
      v.receivedSorted = true
    }
    return v.received
  }
  const sortedQueue = (department: string): Array<{ caseId: string; dueMs: number }> =>
    [...(v.queues.get(department) ?? new Map<string, number>())].map(([caseId, dueMs]) => ({ caseId, dueMs })).sort((a, b) => a.dueMs - b.dueMs || (a.caseId < b.caseId ? -1 : 1))
  return {
    version: v.version,
    position: v.position,
    getCase: async (caseId) => v.cases.get(caseId) ?? null,
    getCases: async (caseIds) => caseIds.flatMap((id) => v.cases.get(id) ?? []),
    caseIdForTrackingCode: async (code) => v.tracking.get(code) ?? null,
    counters: async (scope) => Object.fromEntries(v.counters.get(scope) ?? []),
    queue: async (department, limit) => sortedQueue(department).slice(0, limit),
    queueCount: async (department, fromMs, toMs) => {
      let n = 0
      for (const due of (v.queues.get(department) ?? new Map<string, number>()).values()) if (due >= fromMs && due < toMs) n++
      return n
    },
    samples: async (metric, department, category, sinceMs) => {
      const series = v.samples.get(sampleKey(metric, department, category))
      const out: number[] = []
      if (series !== undefined) for (let i = series.start; i < series.items.length; i++) if (series.items[i]!.atMs >= sinceMs) out.push(series.items[i]!.durationMs)
      return out
    },
    minutes: async (fromMinuteMs, count) => Array.from({ length: count }, (_, i) => v.minutes.get(fromMinuteMs + i * 60_000) ?? 0),
    receivedBetween: async (fromMs, toMs) => received().filter((r) => r.atMs >= fromMs && r.atMs < toMs).map((r) => r.caseId),
  }
}

/** A read-model store in this process's memory. */
export function createMemoryReadModelStore(): ReadModelStore {
  const versions = new Map<number, Version>()
  let active: number | null = null
  let next = 1
  const deadLetters = new Map<string, DeadLetterEntry>()
  let deadLetterCount = 0

  const writerOf = (v: Version): VersionWriter => ({
    version: v.version,
    load: async (caseIds) => {
      const found = new Map<string, CaseDoc>()
      for (const id of caseIds) {
        const doc = v.cases.get(id)
        if (doc !== undefined) found.set(id, doc)
      }
      return found
    },
    commit: async (change) => commitTo(v, change),
    position: async () => v.position,
  })
  const get = (version: number): Version => {
    const v = versions.get(version)
    if (v === undefined) throw new Error(`read-model version ${version} does not exist`)
    return v
  }

  return {
    kind: 'memory',
    active: async (): Promise<VersionInfo | null> => {
      if (active === null) return null
      const v = get(active)
      return { version: v.version, storeIdentity: v.storeIdentity, position: v.position }
    },
    createVersion: async (storeIdentity) => {
      const v = newVersion(next++, storeIdentity)
      versions.set(v.version, v)
      return writerOf(v)
    },
    writer: (version) => writerOf(get(version)),
    activate: async (version) => {
      get(version)
      active = version
      for (const other of [...versions.keys()]) if (other !== version) versions.delete(other)
    },
    dropVersion: async (version) => {
      if (version !== active) versions.delete(version)
    },
    reader: async () => (active === null ? null : readerOf(get(active))),
    recordDeadLetter: async (entry) => {
      if (deadLetters.has(entry.id)) return
      deadLetterCount++
      deadLetters.set(entry.id, entry)
      if (deadLetters.size > MAX_DEAD_LETTERS) deadLetters.delete(deadLetters.keys().next().value!)
    },
    deadLetters: async (latest) => ({ count: deadLetterCount, latest: [...deadLetters.values()].sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, latest) }),
    close: async () => undefined,
  }
}
