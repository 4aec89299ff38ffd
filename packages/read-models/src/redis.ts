// Read models in Redis (ioredis). Every key lives under `<prefix>rm:v<N>:` so a rebuild fills
// version N+1 while N answers; `<prefix>rm:active` names the active version and moves in one SET.
// A batch's change and its checkpoint go in one MULTI/EXEC (pipelined: one round trip), so a
// crash leaves either both or neither. ioredis types and errors stay inside this file.
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { z } from 'zod'
import type { ChangeSet } from './batch.ts'
import { CaseDoc } from './case-document.ts'
import { parseInstant } from './instants.ts'
import {
  MAX_DEAD_LETTERS,
  MAX_SAMPLES_PER_KEY,
  MINUTE_RETENTION_MS,
  ReadModelStoreError,
  SAMPLE_RETENTION_MS,
  sampleKey,
  sampleKeysOf,
  type ReadModelStore,
  type VersionInfo,
  type VersionReader,
  type VersionWriter,
} from './store.ts'

export interface RedisReadModelStoreOptions {
  /** redis://host:port[/db] */
  readonly url: string
  /** Key prefix, e.g. `civic:`; every key of the read models starts with `<prefix>rm:`. */
  readonly prefix: string
  /** Case documents a writer keeps in process memory (a rebuild reads its own writes from here). Default 0 = always read from Redis. */
  readonly cacheCases?: number
  /** Connection name shown by CLIENT LIST. */
  readonly connectionName?: string
}

const Active = z.strictObject({ version: z.number().int().positive() })
const Meta = z.object({ storeIdentity: z.string().min(1), position: z.coerce.number().int().nonnegative() })
const Count = z.coerce.number().int()
const DeadLetter = z.strictObject({ at: z.string(), topic: z.string(), groupId: z.string(), kind: z.string(), message: z.string(), id: z.string() })

function fail(what: string, error: unknown): ReadModelStoreError {
  return new ReadModelStoreError(`redis read models: ${what} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
}

/** Runs a Redis call, turning a vendor error into a ReadModelStoreError. */
async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof ReadModelStoreError || error instanceof z.ZodError) throw error
    throw fail(what, error)
  }
}

/** HINCRBY of every field/delta pair in ARGV on KEYS[1]. */
const HINCRBY_MANY = "for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end return 0"

const score = (n: number): string => (n === Number.POSITIVE_INFINITY ? '+inf' : n === Number.NEGATIVE_INFINITY ? '-inf' : String(n))

/** Opens the Redis store; rejects with ReadModelStoreError when Redis does not answer. */
export async function openRedisReadModelStore(options: RedisReadModelStoreOptions): Promise<ReadModelStore> {
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectionName: options.connectionName ?? 'civic-read-models',
    // Fail calls fast while disconnected instead of queueing them forever; the projector retries.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  })
  // Without a listener ioredis prints every connection error; the calls report them instead.
  redis.on('error', () => undefined)
  try {
    await guarded('connect', () => redis.connect())
  } catch (error) {
    // Else ioredis keeps reconnecting in the background and holds the process open.
    redis.disconnect()
    throw error
  }
  const root = `${options.prefix}rm:`
  const activeKey = `${root}active`
  const nextKey = `${root}next-version`
  const dlKey = `${root}dead-letters`
  const dlCountKey = `${root}dead-letters:count`
  const vkey = (version: number): string => `${root}v${version}:`
  const cacheLimit = options.cacheCases ?? 0

  async function metaOf(version: number): Promise<VersionInfo | null> {
    const raw = await guarded('read version meta', () => redis.hgetall(`${vkey(version)}meta`))
    if (Object.keys(raw).length === 0) return null
    const meta = Meta.parse(raw)
    return { version, storeIdentity: meta.storeIdentity, position: meta.position }
  }

  async function activeVersion(): Promise<number | null> {
    const raw = await guarded('read active version', () => redis.get(activeKey))
    return raw === null ? null : Active.parse(JSON.parse(raw)).version
  }

  function parseDoc(raw: string): CaseDoc {
    return CaseDoc.parse(JSON.parse(raw))
  }

  function writerOf(version: number): VersionWriter {
    const k = vkey(version)
    const cache = cacheLimit > 0 ? new LRUCache<string, CaseDoc>({ max: cacheLimit }) : null
    let knownPosition: number | undefined
    return {
      version,
      async load(caseIds) {
        const found = new Map<string, CaseDoc>()
        const missing: string[] = []
        for (const id of caseIds) {
          const hit = cache?.get(id)
          if (hit !== undefined) found.set(id, hit)
          else missing.push(id)
        }
        if (missing.length > 0) {
          const raws = await guarded('load cases', () => redis.mget(missing.map((id) => `${k}case:${id}`)))
          raws.forEach((raw, i) => {
            if (raw !== null) found.set(missing[i]!, parseDoc(raw))
          })
        }
        return found
      },
      async commit(change: ChangeSet) {
        // Before the first await: the next batch, projected while this one is in flight, must see these documents.
        if (cache !== null) for (const doc of change.cases) cache.set(doc.caseId, doc)
        knownPosition ??= (await metaOf(version))?.position ?? 0
        const position = Math.max(knownPosition, change.position)
        // Few, wide commands: one MSET for the documents, one ZADD/ZREM/HSET per key with every
        // member of the batch. Per-item commands made command building the rebuild's bottleneck.
        const m = redis.multi()
        const grouped = <V>(entries: Iterable<readonly [string, V]>): Map<string, V[]> => {
          const out = new Map<string, V[]>()
          for (const [key, value] of entries) {
            const list = out.get(key)
            if (list === undefined) out.set(key, [value])
            else list.push(value)
          }
          return out
        }
        if (change.cases.length > 0) m.mset(change.cases.flatMap((doc) => [`${k}case:${doc.caseId}`, JSON.stringify(doc)]))
        const created = change.cases.filter((doc) => change.created.has(doc.caseId))
        if (created.length > 0) {
          m.hset(`${k}tc`, Object.fromEntries(created.map((doc) => [doc.trackingCode, doc.caseId])))
          m.zadd(`${k}received`, ...created.flatMap((doc) => [parseInstant(doc.receivedAt), doc.caseId]))
        }
        // One script call per scope instead of one HINCRBY per field (a rebuild batch moves ~1,000
        // counters); scripts run atomically inside the MULTI like any command.
        for (const [scope, deltas] of change.counters) {
          if (deltas.size === 0) continue
          m.eval(HINCRBY_MANY, 1, `${k}cnt:${scope}`, ...[...deltas].flat())
        }
        for (const [department, caseIds] of grouped(change.queueRemove.map((q) => [q.department, q.caseId] as const))) m.zrem(`${k}q:${department}`, ...caseIds)
        for (const [department, members] of grouped(change.queueAdd.map((q) => [q.department, [score(q.score), q.caseId]] as const))) m.zadd(`${k}q:${department}`, ...members.flat())
        const samples = grouped(change.samples.flatMap((s) => sampleKeysOf(s).map((key) => [key, [s.atMs, `${s.caseId}:${s.durationMs}`]] as const)))
        for (const [key, members] of samples) {
          m.zadd(`${k}rt:${key}`, ...members.flat())
          m.zremrangebyscore(`${k}rt:${key}`, '-inf', `(${change.latestEventMs - SAMPLE_RETENTION_MS}`)
          m.zremrangebyrank(`${k}rt:${key}`, 0, -(MAX_SAMPLES_PER_KEY + 1))
        }
        for (const [minute, delta] of change.minutes) {
          m.incrby(`${k}min:${minute}`, delta)
          // Only the last hour is shown: the count goes away on its own two hours after its minute.
          m.pexpireat(`${k}min:${minute}`, minute + MINUTE_RETENTION_MS)
        }
        m.hset(`${k}meta`, 'position', position)
        const results = await guarded('commit', () => m.exec())
        const failed = results?.find(([error]) => error !== null)
        if (results === null || failed !== undefined) throw fail('commit', failed?.[0] ?? new Error('transaction aborted'))
        knownPosition = Math.max(knownPosition, position)
      },
      async position() {
        return (await metaOf(version))?.position ?? 0
      },
    }
  }

  function readerOf(version: number, position: number): VersionReader {
    const k = vkey(version)
    return {
      version,
      position,
      async getCase(caseId) {
        const raw = await guarded('read case', () => redis.get(`${k}case:${caseId}`))
        return raw === null ? null : parseDoc(raw)
      },
      async getCases(caseIds) {
        if (caseIds.length === 0) return []
        const docs: CaseDoc[] = []
        for (let i = 0; i < caseIds.length; i += 1000) {
          const raws = await guarded('read cases', () => redis.mget(caseIds.slice(i, i + 1000).map((id) => `${k}case:${id}`)))
          for (const raw of raws) if (raw !== null) docs.push(parseDoc(raw))
        }
        return docs
      },
      async caseIdForTrackingCode(code) {
        return guarded('read tracking code', () => redis.hget(`${k}tc`, code))
      },
      async counters(scope) {
        const raw = await guarded('read counters', () => redis.hgetall(`${k}cnt:${scope}`))
        const out: Record<string, number> = {}
        for (const [field, value] of Object.entries(raw)) {
          const n = Count.parse(value)
          if (n !== 0) out[field] = n
        }
        return out
      },
      async queue(department, limit) {
        const flat = await guarded('read queue', () => redis.zrange(`${k}q:${department}`, 0, limit - 1, 'WITHSCORES'))
        const out: Array<{ caseId: string; dueMs: number }> = []
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const s = flat[i + 1]!
          out.push({ caseId: flat[i]!, dueMs: s === 'inf' || s === '+inf' ? Number.POSITIVE_INFINITY : z.coerce.number().parse(s) })
        }
        return out
      },
      async queueCount(department, fromMs, toMs) {
        return guarded('count queue', () => redis.zcount(`${k}q:${department}`, score(fromMs), `(${score(toMs)}`))
      },
      async samples(metric, department, category, sinceMs) {
        const members = await guarded('read samples', () => redis.zrangebyscore(`${k}rt:${sampleKey(metric, department, category)}`, sinceMs, '+inf'))
        return members.map((m) => z.coerce.number().int().nonnegative().parse(m.slice(m.lastIndexOf(':') + 1)))
      },
      async minutes(fromMinuteMs, count) {
        const raws = await guarded('read minutes', () => redis.mget(Array.from({ length: count }, (_, i) => `${k}min:${fromMinuteMs + i * 60_000}`)))
        return raws.map((raw) => (raw === null ? 0 : Count.parse(raw)))
      },
      async receivedBetween(fromMs, toMs) {
        return guarded('read received', () => redis.zrangebyscore(`${k}received`, fromMs, `(${toMs}`))
      },
    }
  }

  async function deleteVersion(version: number): Promise<void> {
    // SCAN + UNLINK in chunks: no KEYS, no FLUSHDB — other prefixes on the same Redis are untouched.
    let cursor = '0'
    do {
      const [nextCursor, keys] = await guarded('scan version', () => redis.scan(cursor, 'MATCH', `${vkey(version)}*`, 'COUNT', 1000))
      cursor = nextCursor
      if (keys.length > 0) await guarded('delete version', () => redis.unlink(...keys))
    } while (cursor !== '0')
  }

  async function versionsPresent(): Promise<number[]> {
    const found = new Set<number>()
    let cursor = '0'
    do {
      const [nextCursor, keys] = await guarded('scan versions', () => redis.scan(cursor, 'MATCH', `${root}v*:meta`, 'COUNT', 1000))
      cursor = nextCursor
      for (const key of keys) {
        const m = /rm:v(\d+):meta$/.exec(key)
        if (m !== null) found.add(Number(m[1]))
      }
    } while (cursor !== '0')
    return [...found]
  }

  return {
    kind: 'redis',
    async active() {
      const version = await activeVersion()
      return version === null ? null : metaOf(version)
    },
    async createVersion(storeIdentity) {
      const version = await guarded('allocate version', () => redis.incr(nextKey))
      await guarded('create version', () => redis.hset(`${vkey(version)}meta`, { storeIdentity, position: 0, createdAt: new Date().toISOString() }))
      return writerOf(version)
    },
    writer: (version) => writerOf(version),
    async activate(version) {
      if ((await metaOf(version)) === null) throw new ReadModelStoreError(`read-model version ${version} does not exist`)
      await guarded('activate', () => redis.set(activeKey, JSON.stringify({ version })))
      // Readers that opened the old version a moment ago finish on it; new ones see the new one.
      for (const other of await versionsPresent()) if (other !== version) await deleteVersion(other)
    },
    async dropVersion(version) {
      if ((await activeVersion()) !== version) await deleteVersion(version)
    },
    async reader() {
      const version = await activeVersion()
      if (version === null) return null
      const meta = await metaOf(version)
      return meta === null ? null : readerOf(version, meta.position)
    },
    async recordDeadLetter(entry) {
      const added = await guarded('record dead letter', () => redis.zadd(dlKey, 'NX', Date.parse(entry.at), JSON.stringify(entry)))
      if (added === 0) return
      const m = redis.multi().incr(dlCountKey).zremrangebyrank(dlKey, 0, -(MAX_DEAD_LETTERS + 1))
      await guarded('record dead letter', () => m.exec())
    },
    async deadLetters(latest) {
      const [count, members] = await Promise.all([guarded('read dead letters', () => redis.get(dlCountKey)), guarded('read dead letters', () => redis.zrevrange(dlKey, 0, latest - 1))])
      return { count: count === null ? 0 : Count.parse(count), latest: members.map((m) => DeadLetter.parse(JSON.parse(m))) }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

/** Deletes every key under `<prefix>` (tests' teardown; never FLUSHDB). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on('error', () => undefined)
  let deleted = 0
  try {
    await guarded('connect', () => redis.connect())
    let cursor = '0'
    do {
      const [nextCursor, keys] = await guarded('scan', () => redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000))
      cursor = nextCursor
      if (keys.length > 0) deleted += await guarded('delete', () => redis.unlink(...keys))
    } while (cursor !== '0')
    return deleted
  } finally {
    redis.disconnect()
  }
}

/** Answers whether Redis at `url` answers PING within ~2 s (test gates). */
export async function redisAnswers(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    await redis.ping()
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    redis.disconnect()
  }
}
