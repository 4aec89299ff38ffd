/**
 * The destruction log (KVKK, Regulation on the Erasure, Destruction or Anonymisation of Personal
 * Data): one entry per destruction — what, when, how, by whom, on what legal basis, for which
 * request — kept for at least three years and exportable for the data inventory. It lives apart
 * from the key store, and an entry is written before the keys it names are destroyed: a crash in
 * between leaves a pending entry that the next start completes, never a key destroyed without its
 * entry; and a key store restored from an older backup has its keys destroyed again at start
 * (`completePendingErasures` in erasure.ts, which also writes the erasure events).
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { stringify } from 'csv-stringify/sync'

/** Why personal data was destroyed. */
export type DestructionReason = 'erasure-request' | 'retention-expired'

/** How civic-desk destroys personal data: the data keys go, the ciphertext everywhere stays unreadable. */
export const DESTRUCTION_METHOD = 'kripto-imha: vakanın veri anahtarı yok edildi (AES-256-GCM şifreli alanlar okunamaz hale geldi)'

export interface DestructionEntry {
  /** A UUID; also the `destructionId` of the keys' tombstones. */
  readonly id: string
  readonly reason: DestructionReason
  /** The legal basis as the officer or the retention rule states it (e.g. "KVKK m.7, m.11/1-e"). */
  readonly legalBasis: string
  /** The data subject's application (its case id or tracking code); null for periodic destruction. */
  readonly requestReference: string | null
  /** Who ordered it: a member of staff (token id and role) or the periodic job. */
  readonly actor: { readonly id: string; readonly role: string }
  /** The cases whose personal data is destroyed. */
  readonly caseIds: readonly string[]
  /** The kinds of personal data destroyed (e.g. "başvuru sahibinin iletişim bilgileri", "açıklama"). */
  readonly fields: readonly string[]
  readonly method: string
  /** When the entry was written (before any key went). */
  readonly startedAt: string
  /** When every key named was destroyed; null while pending. */
  readonly completedAt: string | null
}

export interface DestructionLog {
  /** Writes the entry, durably, before any key is destroyed. */
  begin(entry: Omit<DestructionEntry, 'completedAt'>): Promise<void>
  complete(id: string, at: Date): Promise<void>
  get(id: string): Promise<DestructionEntry | undefined>
  /** Entries begun and not completed (a crash in the middle of a destruction). */
  pending(): Promise<DestructionEntry[]>
  /** Entries started in [from, to), oldest first. */
  list(range?: { readonly from?: Date; readonly to?: Date }): Promise<DestructionEntry[]>
  close(): Promise<void>
}

/** The destruction log cannot be opened or written. */
export class DestructionLogError extends Error {
  override readonly name = 'DestructionLogError'
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS destructions (
  id                TEXT PRIMARY KEY,
  reason            TEXT NOT NULL,
  legal_basis       TEXT NOT NULL,
  request_reference TEXT,
  actor_id          TEXT NOT NULL,
  actor_role        TEXT NOT NULL,
  case_ids          TEXT NOT NULL,
  fields            TEXT NOT NULL,
  method            TEXT NOT NULL,
  started_at        TEXT NOT NULL,
  completed_at      TEXT
);
CREATE INDEX IF NOT EXISTS destructions_by_start ON destructions (started_at);
`

/** A stored destruction as either adapter reads it: SQLite keeps lists as JSON text and times as text, PostgreSQL as jsonb and timestamptz. */
export interface DestructionRow {
  readonly id: string
  readonly reason: string
  readonly legal_basis: string
  readonly request_reference: string | null
  readonly actor_id: string
  readonly actor_role: string
  readonly case_ids: string | string[]
  readonly fields: string | string[]
  readonly method: string
  readonly started_at: string | Date
  readonly completed_at: string | Date | null
}

const REASONS: readonly DestructionReason[] = ['erasure-request', 'retention-expired']

const listOf = (value: string | string[]): string[] => (typeof value === 'string' ? (JSON.parse(value) as string[]) : value)
const isoOf = (value: string | Date): string => (typeof value === 'string' ? value : value.toISOString())

/** A stored row as an entry, whichever adapter read it; a reason this code does not know is an error. */
export function destructionEntryOf(row: DestructionRow): DestructionEntry {
  const reason = REASONS.find((r) => r === row.reason)
  if (reason === undefined) throw new DestructionLogError(`destruction ${row.id} has reason ${row.reason}, which this code does not know`)
  return {
    id: row.id,
    reason,
    legalBasis: row.legal_basis,
    requestReference: row.request_reference,
    actor: { id: row.actor_id, role: row.actor_role },
    caseIds: listOf(row.case_ids),
    fields: listOf(row.fields),
    method: row.method,
    startedAt: isoOf(row.started_at),
    completedAt: row.completed_at === null ? null : isoOf(row.completed_at),
  }
}

/** The destruction log in its own SQLite file (standalone: `destruction-log.sqlite`). */
export function openSqliteDestructionLog(file: string): DestructionLog {
  let db: Database.Database
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file)
    db.pragma('busy_timeout = 5000')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.exec(SCHEMA)
  } catch (error) {
    throw new DestructionLogError(`cannot open the destruction log ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const database = db
  const insert = database.prepare(
    `INSERT INTO destructions (id, reason, legal_basis, request_reference, actor_id, actor_role, case_ids, fields, method, started_at)
     VALUES (@id, @reason, @legalBasis, @requestReference, @actorId, @actorRole, @caseIds, @fields, @method, @startedAt)`,
  )
  const markComplete = database.prepare<[string, string]>('UPDATE destructions SET completed_at = coalesce(completed_at, ?) WHERE id = ?')
  const selectOne = database.prepare<[string], DestructionRow>('SELECT * FROM destructions WHERE id = ?')
  const selectPending = database.prepare<[], DestructionRow>('SELECT * FROM destructions WHERE completed_at IS NULL ORDER BY started_at, id')
  const selectRange = database.prepare<[string, string], DestructionRow>('SELECT * FROM destructions WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id')
  let closed = false
  const run = <T>(operation: string, work: () => T): T => {
    if (closed) throw new DestructionLogError(`the destruction log is closed: cannot ${operation}`)
    try {
      return work()
    } catch (error) {
      if (error instanceof DestructionLogError) throw error
      throw new DestructionLogError(`destruction log ${operation} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  return {
    async begin(entry) {
      run('begin', () =>
        insert.run({
          id: entry.id,
          reason: entry.reason,
          legalBasis: entry.legalBasis,
          requestReference: entry.requestReference,
          actorId: entry.actor.id,
          actorRole: entry.actor.role,
          caseIds: JSON.stringify(entry.caseIds),
          fields: JSON.stringify(entry.fields),
          method: entry.method,
          startedAt: entry.startedAt,
        }),
      )
    },
    async complete(id, at) {
      run('complete', () => {
        if (markComplete.run(at.toISOString(), id).changes !== 1) throw new DestructionLogError(`no destruction ${id} to complete`)
      })
    },
    async get(id) {
      return run('get', () => {
        const row = selectOne.get(id)
        return row === undefined ? undefined : destructionEntryOf(row)
      })
    },
    async pending() {
      return run('pending', () => selectPending.all().map(destructionEntryOf))
    },
    async list(range = {}) {
      return run('list', () => selectRange.all(range.from?.toISOString() ?? '', range.to?.toISOString() ?? '9999').map(destructionEntryOf))
    },
    async close() {
      if (closed) return
      closed = true
      database.close()
    },
  }
}

/** What a destruction needs from its caller; the id, method and times are filled in. */
export type DestructionRequest = Pick<DestructionEntry, 'reason' | 'legalBasis' | 'requestReference' | 'actor' | 'caseIds' | 'fields'>

/** The entries as CSV for the KVKK inventory (one row per entry; cells that start a formula are escaped). */
export function destructionLogCsv(entries: readonly DestructionEntry[]): string {
  return stringify(
    entries.map((e) => [e.id, e.startedAt, e.completedAt ?? '', e.reason, e.legalBasis, e.requestReference ?? '', e.actor.id, e.actor.role, e.caseIds.length, e.caseIds.join(' '), e.fields.join('; '), e.method]),
    {
      header: true,
      columns: ['kayit_no', 'baslangic', 'tamamlanma', 'neden', 'hukuki_dayanak', 'basvuru_referansi', 'islemi_yapan', 'rol', 'vaka_sayisi', 'vakalar', 'veri_kategorileri', 'yontem'],
      escape_formulas: true,
    },
  )
}
