/**
 * The supervisors' ledger: every message sent (or kept, when no SMTP server is configured) to a
 * directorate's supervisors, under a deterministic id, and the dates whose daily digest is done.
 * It is what makes those messages go out once: a notice id derived from the escalation event, a
 * digest id from (directorate, date, target), and the ledger consulted before each send, so a
 * redelivered event or a restart finds the message already there.
 *
 * Kept apart from the citizens' outbox, whose rows are shaped by the citizen channels and one
 * case each; a digest spans many cases and a webhook is no citizen channel. Entries hold no
 * citizen data (see supervisor-templates.ts), only staff addresses and case references.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { SUPERVISOR_NOTICE_KINDS, type SupervisorNoticeKind } from './supervisor-templates.ts'

/** How a supervisors' message went out. */
export const SUPERVISOR_TARGETS = ['email', 'webhook'] as const
export type SupervisorTarget = (typeof SUPERVISOR_TARGETS)[number]

/** `sent`: a server took it; `kept`: no SMTP server configured, the ledger is its only copy; `failed`: the last try failed. */
export const SUPERVISOR_OUTCOMES = ['sent', 'kept', 'failed'] as const
export type SupervisorOutcome = (typeof SUPERVISOR_OUTCOMES)[number]

/** One message to a directorate's supervisors. */
export interface SupervisorLedgerEntry {
  /** Deterministic id (a UUID), also the e-mail's Message-ID and the webhook's Idempotency-Key. */
  readonly id: string
  readonly kind: SupervisorNoticeKind
  readonly department: string
  readonly target: SupervisorTarget
  /** E-mail address, or the webhook's host (never its full URL, which may hold a key). */
  readonly recipient: string
  readonly subject: string
  readonly text: string
  /** The case, for an escalation or breach notice. */
  readonly caseId: string | null
  /** The Istanbul date, for a digest. */
  readonly digestDate: string | null
  readonly outcome: SupervisorOutcome
  readonly attempts: number
  readonly providerMessageId: string | null
  readonly error: string | null
  readonly recordedAt: string
}

/** The ledger store. */
export interface SupervisorLedger {
  /** Whether a message with this id was sent, kept or given up on. */
  has(id: string): boolean
  /** Stores the entry unless its id is there; durable once it returns. `inserted` says which. */
  record(entry: SupervisorLedgerEntry): { inserted: boolean }
  /** Entries, oldest first, optionally of one directorate. */
  list(filter?: { readonly department?: string }): SupervisorLedgerEntry[]
  /** Whether the daily digest of this Istanbul date (`YYYY-MM-DD`) has been drawn up. */
  digestDone(localDate: string): boolean
  markDigestDone(localDate: string, at: string): void
  close(): void
}

/** The ledger file holds rows this code cannot read, or cannot be opened. */
export class SupervisorLedgerError extends Error {
  override readonly name = 'SupervisorLedgerError'
}

/** A ledger in memory, for tests. */
export function createMemoryLedger(): SupervisorLedger {
  const entries = new Map<string, SupervisorLedgerEntry>()
  const digests = new Set<string>()
  return {
    has: (id) => entries.has(id),
    record(entry) {
      if (entries.has(entry.id)) return { inserted: false }
      entries.set(entry.id, { ...entry })
      return { inserted: true }
    },
    list: (filter = {}) => [...entries.values()].filter((e) => filter.department === undefined || e.department === filter.department),
    digestDone: (date) => digests.has(date),
    markDigestDone: (date) => void digests.add(date),
    close() {},
  }
}

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS supervisor_messages (
  sequence            INTEGER PRIMARY KEY AUTOINCREMENT,
  id                  TEXT NOT NULL UNIQUE,
  kind                TEXT NOT NULL,
  department          TEXT NOT NULL,
  target              TEXT NOT NULL,
  recipient           TEXT NOT NULL,
  subject             TEXT NOT NULL,
  body                TEXT NOT NULL,
  case_id             TEXT,
  digest_date         TEXT,
  outcome             TEXT NOT NULL,
  attempts            INTEGER NOT NULL,
  provider_message_id TEXT,
  error               TEXT,
  recorded_at         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS supervisor_messages_department ON supervisor_messages (department, sequence);
CREATE TABLE IF NOT EXISTS supervisor_digests (
  local_date TEXT PRIMARY KEY,
  done_at    TEXT NOT NULL
);
`

interface Row {
  readonly id: string
  readonly kind: string
  readonly department: string
  readonly target: string
  readonly recipient: string
  readonly subject: string
  readonly body: string
  readonly case_id: string | null
  readonly digest_date: string | null
  readonly outcome: string
  readonly attempts: number
  readonly provider_message_id: string | null
  readonly error: string | null
  readonly recorded_at: string
}

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (value: string): value is T =>
    (values as readonly string[]).includes(value)
const isKind = oneOf<SupervisorNoticeKind>(SUPERVISOR_NOTICE_KINDS)
const isTarget = oneOf<SupervisorTarget>(SUPERVISOR_TARGETS)
const isOutcome = oneOf<SupervisorOutcome>(SUPERVISOR_OUTCOMES)

function fromRow(row: Row, file: string): SupervisorLedgerEntry {
  const { kind, target, outcome } = row
  if (!isKind(kind) || !isTarget(target) || !isOutcome(outcome)) {
    throw new SupervisorLedgerError(`Supervisor ledger ${file}: message ${row.id} has kind/target/outcome ${kind}/${target}/${outcome}, which this code does not know`)
  }
  return {
    id: row.id,
    kind,
    department: row.department,
    target,
    recipient: row.recipient,
    subject: row.subject,
    text: row.body,
    caseId: row.case_id,
    digestDate: row.digest_date,
    outcome,
    attempts: row.attempts,
    providerMessageId: row.provider_message_id,
    error: row.error,
    recordedAt: row.recorded_at,
  }
}

/**
 * Opens (creating when needed) the ledger in a SQLite file. Each record is committed with an fsync
 * (WAL, synchronous=FULL) before `record` returns: a message reported as sent is never sent again
 * after a crash. The volume is a few messages per escalation and per directorate a day, so there is
 * no batching.
 */
export function openSqliteLedger(file: string): SupervisorLedger {
  let db: Database.Database | undefined
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file)
    db.pragma('busy_timeout = 5000')
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    const database = db
    database
      .transaction(() => {
        const version: unknown = database.pragma('user_version', { simple: true })
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new SupervisorLedgerError(`Supervisor ledger ${file} has schema version ${version}; this code knows up to ${SCHEMA_VERSION}. Upgrade the service.`)
        }
        database.exec(SCHEMA)
        database.pragma(`user_version = ${SCHEMA_VERSION}`)
      })
      .immediate()
  } catch (error) {
    db?.close()
    if (error instanceof SupervisorLedgerError) throw error
    throw new SupervisorLedgerError(`Cannot open the supervisor ledger ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const database = db
  const insert = database.prepare(
    `INSERT INTO supervisor_messages (id, kind, department, target, recipient, subject, body, case_id, digest_date, outcome, attempts, provider_message_id, error, recorded_at)
     VALUES (@id, @kind, @department, @target, @recipient, @subject, @body, @caseId, @digestDate, @outcome, @attempts, @providerMessageId, @error, @recordedAt)
     ON CONFLICT (id) DO NOTHING`,
  )
  const known = database.prepare<[string], number>('SELECT 1 FROM supervisor_messages WHERE id = ?').pluck()
  const select = database.prepare<{ department: string | null }, Row>(
    'SELECT * FROM supervisor_messages WHERE (@department IS NULL OR department = @department) ORDER BY sequence',
  )
  const digestKnown = database.prepare<[string], number>('SELECT 1 FROM supervisor_digests WHERE local_date = ?').pluck()
  const digestInsert = database.prepare<[string, string]>('INSERT INTO supervisor_digests (local_date, done_at) VALUES (?, ?) ON CONFLICT (local_date) DO NOTHING')
  return {
    has: (id) => known.get(id) !== undefined,
    record(e) {
      const { text, ...rest } = e
      return { inserted: insert.run({ ...rest, body: text }).changes === 1 }
    },
    list: (filter = {}) => select.all({ department: filter.department ?? null }).map((row) => fromRow(row, file)),
    digestDone: (date) => digestKnown.get(date) !== undefined,
    markDigestDone(date, at) {
      digestInsert.run(date, at)
    },
    close() {
      if (database.open) database.close()
    },
  }
}
