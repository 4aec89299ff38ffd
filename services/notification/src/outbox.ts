/**
 * The outbox: every rendered notification the outbox provider "sends", kept so staff can see what a
 * citizen would have received (and a later relay could deliver it). Recording is idempotent by
 * notification id, so a handler that re-processes an event after a crash does not duplicate it.
 * Entries hold personal data (phone numbers, e-mail addresses, message text): the file belongs
 * with the other personal-data stores, not in logs.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { ERASED_PERSONAL_TEXT } from '@civic-desk/contracts'
import type { OutgoingNotification } from './notification.ts'
import { LANGUAGES, NOTIFICATION_CHANNELS, TEMPLATE_NAMES, type Language, type NotificationChannel, type TemplateName } from './templates.ts'

/** What the outbox is given: the notification plus who recorded it and when. */
export type OutboxRecord = OutgoingNotification & { readonly provider: string; readonly recordedAt: string }

/** A recorded notification with its place in the outbox (1, 2, 3, … in recording order, never reused). */
export type OutboxEntry = OutboxRecord & { readonly sequence: number }

/** Which entries `list` returns: all filters combine; results are in sequence order. */
export interface OutboxFilter {
  readonly caseId?: string
  readonly trackingCode?: string
  /** Maximum number of entries, 1 … `MAX_OUTBOX_PAGE`; default `DEFAULT_OUTBOX_PAGE`. */
  readonly limit?: number
  /** Only entries with a sequence above this one (paging). */
  readonly after?: number
}

/** What `count` can narrow by: the same case and tracking-code filters as `list`, without paging. */
export type OutboxCountFilter = Pick<OutboxFilter, 'caseId' | 'trackingCode'>

/** Whether an entry matches the case and tracking-code filters. */
function matches(entry: OutboxEntry, filter: OutboxCountFilter): boolean {
  return (filter.caseId === undefined || entry.caseId === filter.caseId) && (filter.trackingCode === undefined || entry.trackingCode === filter.trackingCode)
}

/** The outbox store. */
export interface Outbox {
  /**
   * Stores the notification unless one with the same id is already there; `inserted` says which.
   * Resolves once the entry is durable (the SQLite outbox commits the records that arrive together
   * in one transaction and one fsync).
   */
  record(entry: OutboxRecord): Promise<{ inserted: boolean }>
  /** Entries matching the filter, oldest first. */
  list(filter?: OutboxFilter): OutboxEntry[]
  /** How many entries the outbox holds, or how many match the filter's case and tracking code (paging ignored). */
  count(filter?: OutboxCountFilter): number
  /**
   * Forgets the personal data of a case's messages (KVKK erasure): the address, subject and text
   * of each become "kişisel veri silindi", overwritten in the file; the rows stay, so the counts
   * do. Returns how many messages it changed (0 when done before).
   */
  forgetCase(caseId: string): number
  /** Releases the store; later calls throw `OutboxClosedError`. Closing twice is harmless. */
  close(): void
}

/** Page size of `list` when no limit is given. */
export const DEFAULT_OUTBOX_PAGE = 100

/** Largest page `list` returns. */
export const MAX_OUTBOX_PAGE = 1000

/** The outbox was used after `close()`. */
export class OutboxClosedError extends Error {
  override readonly name = 'OutboxClosedError'
  constructor() {
    super('The notification outbox is closed')
  }
}

/** The outbox file cannot be opened or holds data this code does not understand. */
export class OutboxStoreError extends Error {
  override readonly name = 'OutboxStoreError'
}

function pageOf(filter: OutboxFilter): { limit: number; after: number } {
  const limit = filter.limit ?? DEFAULT_OUTBOX_PAGE
  const after = filter.after ?? 0
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_OUTBOX_PAGE) throw new RangeError(`outbox limit must be an integer from 1 to ${MAX_OUTBOX_PAGE}, got ${limit}`)
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`outbox "after" must be an integer >= 0, got ${after}`)
  return { limit, after }
}

function entryOf(record: OutboxRecord, sequence: number): OutboxEntry {
  // Copies only the known fields, so a caller's extra properties never end up in the outbox.
  return {
    sequence,
    id: record.id,
    channel: record.channel,
    to: record.to,
    subject: record.subject,
    text: record.text,
    caseId: record.caseId,
    trackingCode: record.trackingCode,
    template: record.template,
    language: record.language,
    provider: record.provider,
    recordedAt: record.recordedAt,
  }
}

/** An outbox in memory: for tests and for development without a data folder. */
export function createMemoryOutbox(): Outbox {
  const byId = new Map<string, OutboxEntry>()
  const entries: OutboxEntry[] = []
  let closed = false
  const open = (): void => {
    if (closed) throw new OutboxClosedError()
  }
  return {
    async record(record) {
      open()
      if (byId.has(record.id)) return { inserted: false }
      const entry = entryOf(record, entries.length + 1)
      byId.set(entry.id, entry)
      entries.push(entry)
      return { inserted: true }
    },
    list(filter = {}) {
      open()
      const { limit, after } = pageOf(filter)
      const result: OutboxEntry[] = []
      for (const entry of entries) {
        if (result.length >= limit) break
        if (entry.sequence <= after) continue
        if (matches(entry, filter)) result.push(entry)
      }
      return result
    },
    count(filter = {}) {
      open()
      return filter.caseId === undefined && filter.trackingCode === undefined ? entries.length : entries.filter((e) => matches(e, filter)).length
    },
    forgetCase(caseId) {
      open()
      let changed = 0
      entries.forEach((entry, i) => {
        if (entry.caseId !== caseId || entry.to === ERASED_PERSONAL_TEXT) return
        const forgotten = { ...entry, to: ERASED_PERSONAL_TEXT, subject: ERASED_PERSONAL_TEXT, text: ERASED_PERSONAL_TEXT }
        entries[i] = forgotten
        byId.set(entry.id, forgotten)
        changed += 1
      })
      return changed
    },
    close() {
      closed = true
    },
  }
}

const SCHEMA_VERSION = 1

// AUTOINCREMENT so a sequence number is never handed out twice, even after the newest row is gone.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  sequence      INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,
  channel       TEXT NOT NULL,
  recipient     TEXT NOT NULL,
  subject       TEXT NOT NULL,
  body          TEXT NOT NULL,
  case_id       TEXT NOT NULL,
  tracking_code TEXT NOT NULL,
  template      TEXT NOT NULL,
  language      TEXT NOT NULL,
  provider      TEXT NOT NULL,
  recorded_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_case_id ON outbox (case_id, sequence);
CREATE INDEX IF NOT EXISTS outbox_tracking_code ON outbox (tracking_code, sequence);
`

interface OutboxRow {
  readonly sequence: number
  readonly id: string
  readonly channel: string
  readonly recipient: string
  readonly subject: string
  readonly body: string
  readonly case_id: string
  readonly tracking_code: string
  readonly template: string
  readonly language: string
  readonly provider: string
  readonly recorded_at: string
}

const COLUMNS = 'sequence, id, channel, recipient, subject, body, case_id, tracking_code, template, language, provider, recorded_at'

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string): value is T =>
    (values as readonly string[]).includes(value)
const isChannel = oneOf<NotificationChannel>(NOTIFICATION_CHANNELS)
const isTemplate = oneOf<TemplateName>(TEMPLATE_NAMES)
const isLanguage = oneOf<Language>(LANGUAGES)

function fromRow(row: OutboxRow, file: string): OutboxEntry {
  const { channel, template, language } = row
  if (!isChannel(channel) || !isTemplate(template) || !isLanguage(language)) {
    throw new OutboxStoreError(`Outbox ${file}: entry ${row.sequence} has channel/template/language ${channel}/${template}/${language}, which this code does not know`)
  }
  return {
    sequence: row.sequence,
    id: row.id,
    channel,
    to: row.recipient,
    subject: row.subject,
    text: row.body,
    caseId: row.case_id,
    trackingCode: row.tracking_code,
    template,
    language,
    provider: row.provider,
    recordedAt: row.recorded_at,
  }
}

/** Options of `openSqliteOutbox` beyond the file. */
export interface SqliteOutboxOptions {
  /** How long a write waits for another process holding the file's write lock. Default 5000. */
  readonly busyTimeoutMs?: number
}

/**
 * Opens (creating when needed, folder included) an outbox in a SQLite file. Every record is
 * committed with an fsync (WAL, synchronous=FULL) before `record` resolves, so a notification
 * reported as recorded survives a crash or a power cut. Records that arrive in the same tick of the
 * event loop share one transaction and one fsync (a group commit): at a few thousand messages a
 * second, one fsync each would take most of a thread.
 */
export function openSqliteOutbox(file: string, options: SqliteOutboxOptions = {}): Outbox {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new RangeError(`openSqliteOutbox: busyTimeoutMs must be an integer >= 0, got ${busyTimeoutMs}`)
  let db: Database.Database | undefined
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file)
    // Before anything that takes a lock, so a second process opening the file waits instead of failing.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    db.pragma('journal_mode = WAL')
    // FULL: the WAL is fsynced at every commit, so "recorded" means on disk.
    db.pragma('synchronous = FULL')
    // A forgotten message's bytes are overwritten in the file, not only unlinked (KVKK erasure).
    db.pragma('secure_delete = ON')
    const database = db
    database
      .transaction(() => {
        const version: unknown = database.pragma('user_version', { simple: true })
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new OutboxStoreError(`Outbox file ${file} has schema version ${version}; this code knows up to ${SCHEMA_VERSION}. Upgrade the service.`)
        }
        database.exec(SCHEMA)
        database.pragma(`user_version = ${SCHEMA_VERSION}`)
      })
      .immediate()
  } catch (error) {
    db?.close()
    if (error instanceof OutboxStoreError) throw error
    throw new OutboxStoreError(`Cannot open the outbox ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const database = db

  const insert = database.prepare<[string, string, string, string, string, string, string, string, string, string, string]>(
    `INSERT INTO outbox (id, channel, recipient, subject, body, case_id, tracking_code, template, language, provider, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  )
  // NULL filters match everything, so one statement serves every combination of filters.
  const select = database.prepare<{ after: number; caseId: string | null; trackingCode: string | null; limit: number }, OutboxRow>(
    `SELECT ${COLUMNS} FROM outbox
     WHERE sequence > @after
       AND (@caseId IS NULL OR case_id = @caseId)
       AND (@trackingCode IS NULL OR tracking_code = @trackingCode)
     ORDER BY sequence LIMIT @limit`,
  )
  const selectCount = database
    .prepare<{ caseId: string | null; trackingCode: string | null }, number>(
      'SELECT count(*) FROM outbox WHERE (@caseId IS NULL OR case_id = @caseId) AND (@trackingCode IS NULL OR tracking_code = @trackingCode)',
    )
    .pluck()
  const selectKnown = database.prepare<[string], number>('SELECT 1 FROM outbox WHERE id = ?').pluck()
  const forget = database.prepare<{ caseId: string; erased: string }>(
    'UPDATE outbox SET recipient = :erased, subject = :erased, body = :erased WHERE case_id = :caseId AND recipient <> :erased',
  )
  // Looking first keeps the sequence free of gaps: an insert that hits the UNIQUE id would still
  // use up an AUTOINCREMENT number. IMMEDIATE takes the write lock before the look, so another
  // process cannot slip the same id in between.
  const recordOnce = (r: OutboxRecord): boolean => {
    if (selectKnown.get(r.id) !== undefined) return false
    return insert.run(r.id, r.channel, r.to, r.subject, r.text, r.caseId, r.trackingCode, r.template, r.language, r.provider, r.recordedAt).changes === 1
  }
  const recordBatch = database.transaction((batch: readonly PendingRecord[]): boolean[] => batch.map((p) => recordOnce(p.record))).immediate

  let queue: PendingRecord[] = []
  let flushScheduled: NodeJS.Immediate | undefined
  // One transaction for everything queued; a failed commit fails every record of it (none is stored).
  const flush = (): void => {
    flushScheduled = undefined
    const batch = queue
    queue = []
    if (batch.length === 0) return
    let inserted: boolean[]
    try {
      inserted = recordBatch(batch)
    } catch (error) {
      const failure = new OutboxStoreError(`Cannot record in the outbox ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
      for (const p of batch) p.reject(failure)
      return
    }
    batch.forEach((p, i) => p.resolve({ inserted: inserted[i] === true }))
  }

  let closed = false
  const open = (): void => {
    if (closed) throw new OutboxClosedError()
  }

  return {
    record(r) {
      return new Promise((resolve, reject) => {
        open()
        // A copy of the known fields now, so a caller changing its object later changes nothing.
        const { sequence: _sequence, ...record } = entryOf(r, 0)
        queue.push({ record, resolve, reject })
        flushScheduled ??= setImmediate(flush)
      })
    },
    list(filter = {}) {
      open()
      const { limit, after } = pageOf(filter)
      return select.all({ after, limit, caseId: filter.caseId ?? null, trackingCode: filter.trackingCode ?? null }).map((row) => fromRow(row, file))
    },
    count(filter = {}) {
      open()
      return selectCount.get({ caseId: filter.caseId ?? null, trackingCode: filter.trackingCode ?? null }) ?? 0
    },
    forgetCase(caseId) {
      open()
      // Records still queued for this case are written first, so none escapes the forgetting.
      flush()
      const changed = forget.run({ caseId, erased: ERASED_PERSONAL_TEXT }).changes
      // The write-ahead log still holds the old pages: checkpoint it into the file and empty it.
      if (changed > 0) database.pragma('wal_checkpoint(TRUNCATE)')
      return changed
    },
    close() {
      if (closed) return
      closed = true
      // Records accepted before close are committed (or fail) before the file closes.
      if (flushScheduled !== undefined) clearImmediate(flushScheduled)
      flush()
      database.close()
    },
  }
}

interface PendingRecord {
  readonly record: OutboxRecord
  readonly resolve: (outcome: { inserted: boolean }) => void
  readonly reject: (error: Error) => void
}
