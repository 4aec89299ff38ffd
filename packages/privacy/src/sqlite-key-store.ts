/**
 * The key store in a SQLite file (standalone: `keys.sqlite` in the data folder, never inside the
 * event log's file, so a copy of the log carries no key). Every write is committed with an fsync
 * before it resolves; `secure_delete` overwrites a destroyed key's bytes in the file, and the
 * write-ahead log is truncated after a destruction, so no old page keeps a copy.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { newKey, unwrapKey, wrapKey } from './cipher.ts'
import {
  DataKeyDestroyedError,
  KeyStoreError,
  SUBJECT_KEY_PURPOSE,
  dataKeyPurpose,
  hashSubject,
  openMeta,
  type DataKeyLookup,
  type DestroyOutcome,
  type KeyStore,
} from './key-store.ts'
import type { MasterKey } from './master-key.ts'

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS key_store_meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS data_keys (
  case_id        TEXT PRIMARY KEY,
  wrapped        BLOB,
  created_at     TEXT NOT NULL,
  destroyed_at   TEXT,
  destruction_id TEXT,
  CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS subjects (
  subject TEXT NOT NULL,
  case_id TEXT NOT NULL,
  PRIMARY KEY (subject, case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS subjects_by_case ON subjects (case_id);
`

interface KeyRow {
  readonly wrapped: Buffer | null
  readonly destroyed_at: string | null
  readonly destruction_id: string | null
}

/** Opens (creating when needed) the key store in `file`; throws `KeyStoreError` for a wrong master key. */
export function openSqliteKeyStore(options: { readonly file: string; readonly masterKey: MasterKey; readonly busyTimeoutMs?: number }): KeyStore {
  const { file } = options
  let master = options.masterKey
  let db: Database.Database | undefined
  let subjectKey: Buffer
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    db = new Database(file)
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    // A deleted or overwritten key must not linger in a free page of the file.
    db.pragma('secure_delete = ON')
    const database = db
    subjectKey = database
      .transaction((): Buffer => {
        const version: unknown = database.pragma('user_version', { simple: true })
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new KeyStoreError(`the key store ${file} has schema version ${version}; this code knows up to ${SCHEMA_VERSION}. Upgrade civic-desk.`)
        }
        database.exec(SCHEMA)
        database.pragma(`user_version = ${SCHEMA_VERSION}`)
        return openMeta(
          (name) => (database.prepare('SELECT value FROM key_store_meta WHERE name = ?').pluck().get(name) as Buffer | undefined) ?? undefined,
          (name, value) => void database.prepare('INSERT INTO key_store_meta (name, value) VALUES (?, ?)').run(name, value),
          master,
          file,
        )
      })
      .immediate()
  } catch (error) {
    db?.close()
    if (error instanceof KeyStoreError) throw error
    throw new KeyStoreError(`cannot open the key store ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const database = db

  const selectKey = database.prepare<[string], KeyRow>('SELECT wrapped, destroyed_at, destruction_id FROM data_keys WHERE case_id = ?')
  const insertKey = database.prepare<[string, Buffer, string]>('INSERT INTO data_keys (case_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (case_id) DO NOTHING')
  const destroyKey = database.prepare<[string, string, string]>(
    'UPDATE data_keys SET wrapped = NULL, destroyed_at = ?, destruction_id = ? WHERE case_id = ? AND wrapped IS NOT NULL',
  )
  const insertTombstone = database.prepare<[string, string, string, string]>(
    'INSERT INTO data_keys (case_id, wrapped, created_at, destroyed_at, destruction_id) VALUES (?, NULL, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING',
  )
  const deleteSubjectsOf = database.prepare<[string]>('DELETE FROM subjects WHERE case_id = ?')
  const insertSubject = database.prepare<[string, string]>('INSERT INTO subjects (subject, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING')
  const selectCasesOf = database.prepare<[string], string>('SELECT case_id FROM subjects WHERE subject = ?').pluck()
  const selectActive = database.prepare<[], { case_id: string; wrapped: Buffer }>('SELECT case_id, wrapped FROM data_keys WHERE wrapped IS NOT NULL')
  const updateWrapped = database.prepare<[Buffer, string]>('UPDATE data_keys SET wrapped = ? WHERE case_id = ?')
  const updateMeta = database.prepare<[Buffer, string]>('UPDATE key_store_meta SET value = ? WHERE name = ?')

  let closed = false
  const run = <T>(operation: string, work: () => T): T => {
    if (closed) throw new KeyStoreError(`the key store is closed: cannot ${operation}`)
    try {
      return work()
    } catch (error) {
      if (error instanceof DataKeyDestroyedError || error instanceof KeyStoreError) throw error
      throw new KeyStoreError(`key store ${operation} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  const unwrapRow = (caseId: string, wrapped: Buffer): Buffer => {
    const key = unwrapKey(master.key, dataKeyPurpose(caseId), wrapped)
    if (key === undefined) throw new KeyStoreError(`the data key of case ${caseId} does not unwrap with master key ${master.fingerprint}: the key store is damaged`)
    return key
  }
  const lookupSync = (caseId: string): DataKeyLookup => {
    const row = selectKey.get(caseId)
    if (row === undefined) return { state: 'none' }
    if (row.wrapped === null) return { state: 'destroyed', destroyedAt: row.destroyed_at ?? '', destructionId: row.destruction_id ?? '' }
    return { state: 'active', key: unwrapRow(caseId, row.wrapped) }
  }
  /** One ask of `keyFor`, waiting for the next commit. */
  interface KeyAsk {
    readonly caseId: string
    readonly hashes: readonly string[]
    readonly resolve: (key: Buffer) => void
    readonly reject: (error: unknown) => void
  }
  // Group commit: every key asked for while a commit is pending is made in that one transaction,
  // with one fsync, instead of one fsync per case (at hundreds of submissions a second, one fsync
  // each on the thread that serves HTTP is what the submissions would wait for).
  const keyForBatchTx = database.transaction((asks: readonly KeyAsk[]): Array<Buffer | DataKeyDestroyedError> =>
    asks.map(({ caseId, hashes }) => {
      const found = lookupSync(caseId)
      if (found.state === 'destroyed') return new DataKeyDestroyedError(caseId, found.destroyedAt)
      let key: Buffer
      if (found.state === 'active') key = found.key
      else {
        key = newKey()
        insertKey.run(caseId, wrapKey(master.key, dataKeyPurpose(caseId), key), new Date().toISOString())
      }
      for (const hash of hashes) insertSubject.run(hash, caseId)
      return key
    }),
  )
  let asks: KeyAsk[] = []
  let flushScheduled: NodeJS.Immediate | undefined
  const flushAsks = (): void => {
    flushScheduled = undefined
    const batch = asks
    asks = []
    if (batch.length === 0) return
    let results: Array<Buffer | DataKeyDestroyedError>
    try {
      results = run('keyFor', () => keyForBatchTx.immediate(batch))
    } catch (error) {
      for (const ask of batch) ask.reject(error)
      return
    }
    batch.forEach((ask, i) => {
      const result = results[i] as Buffer | DataKeyDestroyedError
      if (result instanceof DataKeyDestroyedError) ask.reject(result)
      else ask.resolve(result)
    })
  }
  const destroyTx = database.transaction((caseIds: readonly string[], destructionId: string, at: string): DestroyOutcome => {
    const destroyed: string[] = []
    const alreadyDestroyed: string[] = []
    const withoutKey: string[] = []
    for (const caseId of new Set(caseIds)) {
      if (destroyKey.run(at, destructionId, caseId).changes === 1) destroyed.push(caseId)
      else if (insertTombstone.run(caseId, at, at, destructionId).changes === 1) withoutKey.push(caseId)
      else alreadyDestroyed.push(caseId)
      deleteSubjectsOf.run(caseId)
    }
    return { destroyed, alreadyDestroyed, withoutKey }
  })
  const addSubjectsTx = database.transaction((caseId: string, hashes: readonly string[]) => {
    for (const hash of hashes) insertSubject.run(hash, caseId)
  })

  return {
    get masterFingerprint() {
      return master.fingerprint
    },
    keyFor(caseId, subjects = []) {
      return run('keyFor', () => {
        // A case that has its key already and brings no new subject needs no write.
        if (subjects.length === 0) {
          const found = lookupSync(caseId)
          if (found.state === 'active') return Promise.resolve(found.key)
          if (found.state === 'destroyed') return Promise.reject(new DataKeyDestroyedError(caseId, found.destroyedAt))
        }
        const hashes = subjects.map((s) => hashSubject(subjectKey, s))
        return new Promise<Buffer>((resolve, reject) => {
          asks.push({ caseId, hashes, resolve, reject })
          flushScheduled ??= setImmediate(flushAsks)
        })
      })
    },
    async lookup(caseId) {
      return run('lookup', () => lookupSync(caseId))
    },
    async destroy(caseIds, destructionId, at) {
      return run('destroy', () => {
        const outcome = destroyTx.immediate(caseIds, destructionId, at.toISOString())
        // The old pages of the write-ahead log still hold the wrapped keys: fold them into the
        // (securely overwritten) file and cut the log to nothing.
        if (outcome.destroyed.length > 0) database.pragma('wal_checkpoint(TRUNCATE)')
        return outcome
      })
    },
    subjectHash(subject) {
      return hashSubject(subjectKey, subject)
    },
    async addSubjects(caseId, subjects) {
      run('addSubjects', () => {
        const found = lookupSync(caseId)
        // An erased case takes no new subjects: the person asked to be forgotten.
        if (found.state === 'destroyed') throw new DataKeyDestroyedError(caseId, found.destroyedAt)
        addSubjectsTx.immediate(
          caseId,
          subjects.map((s) => hashSubject(subjectKey, s)),
        )
      })
    },
    async casesOf(subject) {
      return run('casesOf', () => selectCasesOf.all(hashSubject(subjectKey, subject)))
    },
    async rotateMasterKey(next, onProgress) {
      return run('rotateMasterKey', () => {
        const rows = selectActive.all()
        const rotate = database.transaction(() => {
          rows.forEach(({ case_id: caseId, wrapped }, i) => {
            updateWrapped.run(wrapKey(next.key, dataKeyPurpose(caseId), unwrapRow(caseId, wrapped)), caseId)
            if ((i + 1) % 1000 === 0) onProgress?.(i + 1, rows.length)
          })
          updateMeta.run(wrapKey(next.key, SUBJECT_KEY_PURPOSE, subjectKey), 'subject_key')
          updateMeta.run(Buffer.from(next.fingerprint, 'utf8'), 'master_fingerprint')
        })
        rotate.immediate()
        database.pragma('wal_checkpoint(TRUNCATE)')
        onProgress?.(rows.length, rows.length)
        master = next
        return { rewrapped: rows.length }
      })
    },
    async close() {
      if (closed) return
      // Keys asked for before close are made (or fail) before the file closes.
      if (flushScheduled !== undefined) clearImmediate(flushScheduled)
      flushAsks()
      closed = true
      database.close()
    },
  }
}
