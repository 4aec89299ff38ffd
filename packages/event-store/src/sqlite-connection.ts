/**
 * What both sides of the sqlite adapter share: opening a connection, the schema, and the batch
 * append that runs inside one IMMEDIATE transaction (on the main thread, or in the writer worker).
 * Internal to the package; better-sqlite3 types never leave it except through sqlite.ts.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ConcurrencyError, type AppendResult, type ExpectedRevision } from './port.ts'
import { NO_STREAM, assertExpectedRevision, newEventsOnly, type SerializedEvent } from './shared.ts'

export interface ConnectionOptions {
  readonly file: string
  readonly busyTimeoutMs?: number
  readonly logger?: { warn(obj: object, msg: string): void } | undefined
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

/** Turns a better-sqlite3 failure into a plain Error so the vendor type stays in this adapter. */
export function toStoreError(error: unknown, operation: string): Error {
  if (error instanceof ConcurrencyError) return error
  if (error instanceof Database.SqliteError) return new Error(`Event store (sqlite) ${operation} failed: ${error.code}: ${error.message}`)
  if (error instanceof Error) return error
  return new Error(`Event store (sqlite) ${operation} failed: ${String(error)}`)
}

export function openDatabase(options: ConnectionOptions): Database.Database {
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

/** One append of a group-commit batch, as queued (and, in worker mode, as posted to the writer). */
export interface BatchAppend {
  readonly streamId: string
  readonly events: readonly SerializedEvent[]
  readonly expectedRevision: ExpectedRevision
}

/**
 * Outcome of one append of a batch: its result, or the stream's actual revision when the expected
 * revision did not hold (a plain object, so it crosses a worker boundary unchanged).
 */
export type BatchOutcome = AppendResult | { readonly conflict: number }

/**
 * Prepares the write statements on `db` and returns the batch append: all appends, in order, in
 * one IMMEDIATE transaction. A refused append (wrong revision) writes nothing and leaves the
 * others to commit; later appends see the effect of earlier ones as if they ran one after the
 * other. An unexpected SQLite error throws and nothing of the batch is stored.
 */
export function createBatchAppender(db: Database.Database): (batch: readonly BatchAppend[], recordedAt: string) => BatchOutcome[] {
  // One index, (stream_id, revision), serves every per-stream question: the stream's revision is its
  // last entry, and an event id is looked for among the stream's own (few) events. Each extra
  // index would be one more random B-tree write in the append hot path.
  const selectStreamRevision = db.prepare<[string], number | null>('SELECT max(revision) FROM events WHERE stream_id = ?').pluck()
  const selectEventExists = db.prepare<[string, string], number>('SELECT 1 FROM events WHERE stream_id = ? AND event_id = ?').pluck()
  const selectPositionOf = db.prepare<[string, number], number>('SELECT position FROM events WHERE stream_id = ? AND revision = ?').pluck()
  const insertEvent = db.prepare<[string, number, string, string, string, string, string]>(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )

  /** Every check happens before the first write, so a refused append needs no savepoint of its own. */
  const appendOne = (pending: BatchAppend, recordedAt: string): BatchOutcome => {
    const { streamId, expectedRevision } = pending
    const actual = selectStreamRevision.get(streamId) ?? NO_STREAM
    const fresh = newEventsOnly(pending.events, (id) => actual !== NO_STREAM && selectEventExists.get(streamId, id) !== undefined)
    if (fresh.length === 0) {
      return { nextRevision: actual, position: selectPositionOf.get(streamId, actual) ?? 0 }
    }
    try {
      assertExpectedRevision(streamId, expectedRevision, actual)
    } catch (error) {
      if (error instanceof ConcurrencyError) return { conflict: actual }
      throw error
    }
    let revision = actual
    let position = 0
    for (const event of fresh) {
      revision += 1
      position = Number(insertEvent.run(streamId, revision, event.id, event.type, event.data, event.metadata, recordedAt).lastInsertRowid)
    }
    return { nextRevision: revision, position }
  }

  const appendBatch = db.transaction((batch: readonly BatchAppend[], recordedAt: string): BatchOutcome[] => batch.map((pending) => appendOne(pending, recordedAt)))
  return (batch, recordedAt) => appendBatch.immediate(batch, recordedAt)
}
