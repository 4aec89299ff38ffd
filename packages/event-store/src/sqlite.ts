import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { BroadcastChannel } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { ConcurrencyError, type AppendResult, type EventStore, type ExpectedRevision, type RecordedEvent, type Subscription } from './port.ts'
import { NO_STREAM, assertExpectedRevision, checkCount, newEventsOnly, prepareAppend, type SerializedEvent } from './shared.ts'
import { GENESIS_HASH, HASH_CHAIN_ENABLED, INTEGRITY_HEADER_LENGTH, chainEvents, eventLinkOfRow, linkColumnsSql, type LinkRow, hashInHeader, linkHashOf, readStoredMetadata } from './integrity.ts'
import { subscribeInto, type CatchUpSubscription } from './subscription.ts'

export interface SqliteEventStoreOptions {
  /** Path of the database file; its folder is created when missing. */
  readonly file: string
  /** How often idle subscriptions look for events appended by other processes. Default 200. */
  readonly pollIntervalMs?: number
  /** How long a write waits for another process holding the file's write lock. Default 5000. */
  readonly busyTimeoutMs?: number
  readonly logger?: { warn(obj: object, msg: string): void }
  /**
   * Name of a `BroadcastChannel` that instances on the same file in other threads of this process
   * also name: each commit tells the others, whose subscriptions then read at once instead of at
   * the next poll. Processes still find each other's appends by polling.
   */
  readonly wakeChannel?: string
  /** Metrics hook, called after each group commit with how much it carried. */
  readonly onBatchCommitted?: (batch: { readonly appends: number; readonly events: number; readonly durationMs: number }) => void
}

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  stream_id   TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  event_id    TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  recorded_at TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
);
`

interface EventRow {
  readonly position: number
  readonly stream_id: string
  readonly revision: number
  readonly event_id: string
  readonly type: string
  readonly data: string
  readonly metadata: string
  readonly recorded_at: string
}

const EVENT_COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, recorded_at'

interface PendingAppend {
  readonly streamId: string
  readonly events: readonly SerializedEvent[]
  readonly expectedRevision: ExpectedRevision
  readonly resolve: (result: AppendResult) => void
  readonly reject: (error: Error) => void
}

/** Turns a better-sqlite3 failure into a plain Error so the vendor type stays in this file. */
function toStoreError(error: unknown, operation: string): Error {
  if (error instanceof ConcurrencyError) return error
  if (error instanceof Database.SqliteError) return new Error(`Event store (sqlite) ${operation} failed: ${error.code}: ${error.message}`)
  if (error instanceof Error) return error
  return new Error(`Event store (sqlite) ${operation} failed: ${String(error)}`)
}

function toRecorded(row: EventRow): RecordedEvent {
  const { metadata, integrity } = readStoredMetadata(row.metadata)
  return {
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    id: row.event_id,
    type: row.type,
    data: JSON.parse(row.data) as unknown,
    metadata,
    recordedAt: row.recorded_at,
    integrity,
  }
}

/** The frozen metadata and chain link of a stored metadata text. */
function frozenMetadata(stored: string): Pick<RecordedEvent, 'metadata' | 'integrity'> {
  const { metadata, integrity } = readStoredMetadata(stored)
  return { metadata: deepFreeze(metadata), integrity: integrity === undefined ? undefined : Object.freeze(integrity) }
}

/** Freezes a parsed JSON value all the way down: tail events are shared by every subscriber. */
function deepFreeze(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** Events of the global log kept in memory after this instance appended them (see `Tail`). */
const TAIL_LIMIT = 8192

/**
 * The latest events this instance appended, in memory, as one gap-free run of positions, so a
 * subscription that follows the head reads them from here instead of the file: each event is
 * parsed once for all subscribers rather than once per subscriber. When another process appended
 * in between (a gap), the run restarts; reads outside it go to the file as before.
 */
class Tail {
  private events: RecordedEvent[] = []
  private start = 0

  add(recorded: readonly RecordedEvent[]): void {
    for (const event of recorded) {
      const last = this.events.at(-1)
      if (last !== undefined && event.position !== last.position + 1) {
        this.events = []
        this.start = 0
      }
      this.events.push(event)
    }
    const live = this.events.length - this.start
    if (live > TAIL_LIMIT) this.start = this.events.length - TAIL_LIMIT
    // Compact now and then rather than shifting on every append.
    if (this.start > TAIL_LIMIT) {
      this.events = this.events.slice(this.start)
      this.start = 0
    }
  }

  /** Up to `limit` events after `after`, or undefined when the run does not hold the next one. */
  after(after: number, limit: number): RecordedEvent[] | undefined {
    const first = this.events[this.start]
    const last = this.events.at(-1)
    if (first === undefined || last === undefined || after < first.position - 1 || after >= last.position) return undefined
    const from = this.start + (after - first.position + 1)
    return this.events.slice(from, limit < 0 ? undefined : from + limit)
  }
}

/** Opens the file and creates or checks its schema; also the bulk copy's (bulk-log.ts). */
export function openDatabase(options: SqliteEventStoreOptions): Database.Database {
  const { file } = options
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new Error(`openSqliteEventStore: busyTimeoutMs must be an integer >= 0, got ${busyTimeoutMs}`)
  if (file !== ':memory:') {
    try {
      mkdirSync(dirname(file), { recursive: true })
    } catch (error) {
      throw new Error(`Event store: cannot create the folder of ${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  let db: Database.Database | undefined
  try {
    db = new Database(file)
    // Set before anything that takes a lock, so a second process opening the file waits instead of failing.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    const journalMode: unknown = db.pragma('journal_mode = WAL', { simple: true })
    if (journalMode !== 'wal' && file !== ':memory:') {
      options.logger?.warn({ file, journalMode }, 'event store: sqlite refused WAL mode; concurrent readers will block writers')
    }
    // FULL: the WAL is fsynced at every commit, so a resolved append survives a power cut.
    db.pragma('synchronous = FULL')
    // 64 MiB page cache: the index pages that appends touch stay in memory.
    db.pragma('cache_size = -65536')
    const database = db
    database
      .transaction(() => {
        const version = database.pragma('user_version', { simple: true })
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new Error(`Event store file ${file} has schema version ${version}; this code knows up to ${SCHEMA_VERSION}. Upgrade the service.`)
        }
        database.exec(SCHEMA)
        database.pragma(`user_version = ${SCHEMA_VERSION}`)
      })
      .immediate()
    return database
  } catch (error) {
    db?.close()
    throw toStoreError(error, `open ${file}`)
  }
}

/**
 * Opens (creating when needed) a durable event store in one SQLite file; several processes may
 * share the file. Concurrent appends are group-committed: one transaction and one fsync per tick.
 */
export function openSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  const pollIntervalMs = options.pollIntervalMs ?? 200
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs <= 0) throw new Error(`openSqliteEventStore: pollIntervalMs must be an integer > 0, got ${pollIntervalMs}`)
  const { logger, onBatchCommitted } = options
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const db = openDatabase(options)

  // One index, (stream_id, revision), serves every per-stream question: the stream's revision is its
  // last entry, and an event id is looked for among the stream's own (few) events. Each extra
  // index would be one more random B-tree write in the append hot path.
  // The last event of the stream: its revision and the head of its metadata, where its hash is.
  const selectStreamLast = db
    .prepare<[string], [revision: number, head: string]>(`SELECT revision, substr(metadata, 1, ${INTEGRITY_HEADER_LENGTH}) FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1`)
    .raw()
  const selectLegacyEvent = db.prepare<[string, number], Pick<EventRow, 'event_id' | 'type' | 'data' | 'metadata'>>(
    'SELECT event_id, type, data, metadata FROM events WHERE stream_id = ? AND revision = ?',
  )
  const selectEventExists = db.prepare<[string, string], number>('SELECT 1 FROM events WHERE stream_id = ? AND event_id = ?').pluck()
  const selectPositionOf = db.prepare<[string, number], number>('SELECT position FROM events WHERE stream_id = ? AND revision = ?').pluck()
  const insertEvent = db.prepare<[string, number, string, string, string, string, string]>(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  // LIMIT -1 means no limit in SQLite.
  const selectStream = db.prepare<[string, number, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?`,
  )
  // The type is read from the row before its data: a left-out event's data is never loaded.
  const selectStreamExcluding = db.prepare<[string, number, string, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? AND type NOT IN (SELECT value FROM json_each(?)) ORDER BY revision LIMIT ?`,
  )
  const selectAll = db.prepare<[number, number], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
  // substr/length count characters on both sides, so the prefix test is exact for any text.
  const selectAllWithPrefix = db.prepare<{ after: number; prefix: string; limit: number }, EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE position > @after AND substr(stream_id, 1, length(@prefix)) = @prefix ORDER BY position LIMIT @limit`,
  )
  const selectHead = db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck()
  const selectLinks = db
    .prepare<[string, number, number], LinkRow>(
      `SELECT position, stream_id, revision, type, CASE WHEN stream_id = ? THEN data END, ${linkColumnsSql()} FROM events WHERE position > ? ORDER BY position LIMIT ?`,
    )
    .raw()

  /**
   * One append inside the batch transaction. Every check happens before the first write, so a
   * refused append has written nothing and needs no savepoint of its own.
   */
  const appendOne = (pending: PendingAppend, recordedAt: string, inserted: RecordedEvent[]): AppendResult => {
    const { streamId, expectedRevision } = pending
    const last = selectStreamLast.get(streamId)
    const actual = last?.[0] ?? NO_STREAM
    const fresh = newEventsOnly(pending.events, (id) => actual !== NO_STREAM && selectEventExists.get(streamId, id) !== undefined)
    if (fresh.length === 0) {
      return { nextRevision: actual, position: selectPositionOf.get(streamId, actual) ?? 0 }
    }
    assertExpectedRevision(streamId, expectedRevision, actual)
    let revision = actual
    let position = 0
    for (const event of chainEvents(streamId, actual + 1, last === undefined || !HASH_CHAIN_ENABLED ? GENESIS_HASH : (hashInHeader(last[1]) ?? legacyLink(streamId, actual)), fresh)) {
      revision += 1
      position = Number(insertEvent.run(streamId, revision, event.id, event.type, event.data, event.metadata, recordedAt).lastInsertRowid)
      inserted.push(
        Object.freeze({
          streamId,
          revision,
          position,
          id: event.id,
          type: event.type,
          data: deepFreeze(JSON.parse(event.data)),
          ...frozenMetadata(event.metadata),
          recordedAt,
        }),
      )
    }
    return { nextRevision: revision, position }
  }

  /** The link hash of an event stored before the chain existed. */
  const legacyLink = (streamId: string, revision: number): string => {
    const row = selectLegacyEvent.get(streamId, revision)
    if (row === undefined) throw new Error(`Event store (sqlite): event ${revision} of ${streamId} vanished during an append`)
    return linkHashOf({ streamId, revision, eventId: row.event_id, type: row.type, data: row.data, metadata: row.metadata })
  }

  /**
   * All queued appends, in queue order, in one IMMEDIATE transaction. A refused append (wrong
   * revision) writes nothing and leaves the others to commit; later appends see the effect of
   * earlier ones as if they ran one after the other. An unexpected SQLite error aborts the batch.
   */
  const appendBatch = db.transaction((batch: readonly PendingAppend[], recordedAt: string, inserted: RecordedEvent[]): (AppendResult | Error)[] =>
    batch.map((pending) => {
      try {
        return appendOne(pending, recordedAt, inserted)
      } catch (error) {
        if (error instanceof ConcurrencyError) return error
        throw error
      }
    }),
  )
  const tail = new Tail()

  let queue: PendingAppend[] = []
  let flushScheduled: NodeJS.Immediate | undefined
  const subscriptions = new Set<CatchUpSubscription>()
  let closed = false
  let closing: Promise<void> | undefined
  const wakeAll = (): void => {
    for (const { wake } of subscriptions) wake()
  }
  // A channel object never receives its own messages, so a commit wakes the other threads only.
  const threads = options.wakeChannel === undefined ? undefined : new BroadcastChannel(options.wakeChannel)
  if (threads !== undefined) {
    threads.onmessage = wakeAll
    // Listening must not keep the thread alive by itself.
    threads.unref()
  }

  // When another process holds the file's write lock. SQLite's own busy handler would sleep inside
  // the synchronous call — 1, 2, 5, 10, 15, 20, 25… ms, blocking this process's event loop and
  // sleeping on long after the lock was released. Instead the batch asks for the lock without
  // waiting and, when refused, is tried again 1 ms later from the event loop, meanwhile taking in
  // the appends that arrive (a bigger group commit). After busyTimeoutMs of refusals, it fails as before.
  let lockRetry: NodeJS.Timeout | undefined
  let lockWaitSince: number | undefined
  const isBusy = (error: unknown): boolean => error instanceof Database.SqliteError && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_BUSY_SNAPSHOT')

  const flush = (): void => {
    flushScheduled = undefined
    lockRetry = undefined
    const batch = queue
    queue = []
    if (batch.length === 0) return
    let outcomes: (AppendResult | Error)[]
    const started = performance.now()
    const inserted: RecordedEvent[] = []
    // While closing, the last batch waits for the lock the blocking way (busy_timeout).
    const waitInLoop = !closed && busyTimeoutMs > 0
    try {
      if (waitInLoop) db.pragma('busy_timeout = 0')
      try {
        outcomes = appendBatch.immediate(batch, new Date().toISOString(), inserted)
      } finally {
        if (waitInLoop) db.pragma(`busy_timeout = ${busyTimeoutMs}`)
      }
      tail.add(inserted)
      lockWaitSince = undefined
    } catch (error) {
      // The transaction did not commit: nothing of the batch is stored.
      if (waitInLoop && isBusy(error)) {
        const now = performance.now()
        lockWaitSince ??= now
        if (now - lockWaitSince < busyTimeoutMs) {
          queue = batch.concat(queue)
          lockRetry = setTimeout(flush, 1)
          return
        }
      }
      lockWaitSince = undefined
      const failure = toStoreError(error, 'append')
      for (const pending of batch) pending.reject(failure)
      return
    }
    let wrote = false
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]
      if (outcome === undefined) pending.reject(new Error('Event store (sqlite) append: internal error, no outcome'))
      else if (outcome instanceof Error) pending.reject(outcome)
      else {
        wrote = true
        pending.resolve(outcome)
      }
    })
    if (wrote) {
      wakeAll()
      threads?.postMessage(null)
    }
    onBatchCommitted?.({ appends: batch.length, events: batch.reduce((sum, pending) => sum + pending.events.length, 0), durationMs: performance.now() - started })
  }

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Event store is closed: cannot ${operation}`)
  }

  const readAllRows = (after: number, limit: number, streamPrefix: string | undefined): EventRow[] => {
    try {
      return streamPrefix === undefined ? selectAll.all(after, limit) : selectAllWithPrefix.all({ after, prefix: streamPrefix, limit })
    } catch (error) {
      throw toStoreError(error, 'readAll')
    }
  }

  return {
    append(streamId, events, { expectedRevision }) {
      return new Promise<AppendResult>((resolve, reject) => {
        assertOpen('append')
        const serialized = prepareAppend(streamId, events, expectedRevision)
        queue.push({ streamId, events: serialized, expectedRevision, resolve, reject })
        if (lockRetry === undefined) flushScheduled ??= setImmediate(flush)
      })
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen('readStream')
      checkCount('readStream maxCount', readOptions.maxCount)
      checkCount('readStream fromRevision', readOptions.fromRevision)
      try {
        const from = readOptions.fromRevision ?? 0
        const limit = readOptions.maxCount ?? -1
        const excluded = readOptions.excludeTypes ?? []
        const rows = excluded.length === 0 ? selectStream.all(streamId, from, limit) : selectStreamExcluding.all(streamId, from, JSON.stringify(excluded), limit)
        return rows.map(toRecorded)
      } catch (error) {
        throw toStoreError(error, `readStream ${streamId}`)
      }
    },

    async readAll(readOptions = {}) {
      assertOpen('readAll')
      checkCount('readAll maxCount', readOptions.maxCount)
      checkCount('readAll after', readOptions.after)
      return readAllRows(readOptions.after ?? 0, readOptions.maxCount ?? -1, readOptions.streamPrefix).map(toRecorded)
    },

    subscribeToAll(subscribeOptions, handler): Subscription {
      assertOpen('subscribeToAll')
      checkCount('subscribeToAll after', subscribeOptions.after)
      return subscribeInto(
        subscriptions,
        subscribeOptions,
        {
          // Appends through this instance wake the loop at once; polling catches other processes.
          pollIntervalMs,
          // Unfiltered pages, filtered in the loop: events of other streams are read once, not on every poll.
          // No gaps: SQLite has one writer at a time and positions are taken inside the write
          // transaction, so commits land in position order and a reader always sees a prefix of the log.
          // Following the head: from the tail of this instance's own appends when it holds them.
          readBatch: async (after, limit) => tail.after(after, limit) ?? readAllRows(after, limit, undefined).map(toRecorded),
          logger,
        },
        handler,
      )
    },

    async readLinks(after, maxCount, { dataOfStream }) {
      assertOpen('readLinks')
      try {
        return selectLinks.all(dataOfStream, after, maxCount).map(eventLinkOfRow)
      } catch (error) {
        throw toStoreError(error, 'readLinks')
      }
    },

    async headPosition() {
      assertOpen('headPosition')
      try {
        return selectHead.get() ?? 0
      } catch (error) {
        throw toStoreError(error, 'headPosition')
      }
    },

    close() {
      if (closing === undefined) {
        closed = true
        // Appends accepted before close still get committed (or rejected) before the file closes.
        if (flushScheduled !== undefined) clearImmediate(flushScheduled)
        if (lockRetry !== undefined) clearTimeout(lockRetry)
        flush()
        threads?.close()
        closing = Promise.all([...subscriptions].map(({ subscription }) => subscription.close())).then(() => {
          db.close()
        })
      }
      return closing
    },
  }
}
