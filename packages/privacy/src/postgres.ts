/**
 * The key store and the destruction log in PostgreSQL (distributed mode), in a schema of their own
 * (default `civic_privacy`) that the first service to start creates. Like the SQLite adapter: one
 * transaction per destruction, tombstones for destroyed keys, rotation all or nothing.
 *
 * PostgreSQL keeps an overwritten row's old version until VACUUM reclaims it, so each destruction
 * is followed by a VACUUM of the keys' table; what a page or a backup may still hold is a key
 * wrapped under the master key, useless without it, and useless for good once the master key is
 * rotated (`pnpm privacy:rotate-master-key`) and the old one discarded.
 */
import pg from 'pg'
import { inTransaction } from '@civic-desk/event-store'
import { newKey, unwrapKey, wrapKey } from './cipher.ts'
import { DestructionLogError, destructionEntryOf, type DestructionLog, type DestructionRow } from './destruction-log.ts'
import { DataKeyDestroyedError, KeyStoreError, SUBJECT_KEY_PURPOSE, dataKeyPurpose, hashSubject, openMeta, type DataKeyLookup, type KeyStore, type SubjectIdentifier } from './key-store.ts'
import type { MasterKey } from './master-key.ts'

export interface PostgresPrivacyOptions {
  /** e.g. postgres://civic@db.internal:5432/civic */
  readonly connectionString: string
  /** Schema of the tables; default `civic_privacy`. Letters, digits and _ only. */
  readonly schema?: string
  readonly maxConnections?: number
}

function schemaOf(options: PostgresPrivacyOptions): string {
  const schema = options.schema ?? 'civic_privacy'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`schema must be lower-case letters, digits and _ (at most 63), got ${JSON.stringify(schema)}`)
  return schema
}

const DDL = (s: string): string => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.key_store_meta (name text PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.data_keys (
  case_id text PRIMARY KEY,
  wrapped bytea,
  created_at timestamptz NOT NULL,
  destroyed_at timestamptz,
  destruction_id text,
  CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS ${s}.subjects (subject text NOT NULL, case_id text NOT NULL, PRIMARY KEY (subject, case_id));
CREATE INDEX IF NOT EXISTS subjects_by_case ON ${s}.subjects (case_id);
CREATE TABLE IF NOT EXISTS ${s}.destructions (
  id text PRIMARY KEY,
  reason text NOT NULL,
  legal_basis text NOT NULL,
  request_reference text,
  actor_id text NOT NULL,
  actor_role text NOT NULL,
  case_ids jsonb NOT NULL,
  fields jsonb NOT NULL,
  method text NOT NULL,
  started_at timestamptz NOT NULL,
  completed_at timestamptz
);
CREATE INDEX IF NOT EXISTS destructions_by_start ON ${s}.destructions (started_at);
`


/** Creates the schema and tables once, whichever service starts first (an advisory lock serialises them). */
async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`civic-desk privacy schema ${schema}`])
    await client.query(DDL(schema))
  })
}

/** Creates the privacy schema and its tables (as the first service to start would) in `schema`. */
export async function ensurePrivacySchema(connectionString: string, schema: string): Promise<void> {
  const s = schemaOf({ connectionString, schema })
  const pool = new pg.Pool({ connectionString, max: 1 })
  try {
    await ensureSchema(pool, s)
  } finally {
    await pool.end().catch(() => undefined)
  }
}

/** `work` in one transaction on the server (a copy: all or nothing). */
export async function inPrivacyTransaction<T>(connectionString: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString, max: 1 })
  try {
    return await inTransaction(pool, work)
  } finally {
    await pool.end().catch(() => undefined)
  }
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString())

/** Opens the key store in PostgreSQL; throws `KeyStoreError` for a wrong master key or an unreachable server. */
export async function openPostgresKeyStore(options: PostgresPrivacyOptions & { readonly masterKey: MasterKey }): Promise<KeyStore> {
  const s = schemaOf(options)
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 4 })
  let master = options.masterKey
  let subjectKey: Buffer
  try {
    await ensureSchema(pool, s)
    subjectKey = await inTransaction(pool, async (client) => {
      await client.query(`LOCK TABLE ${s}.key_store_meta IN EXCLUSIVE MODE`)
      const { rows } = await client.query<{ name: string; value: Buffer }>(`SELECT name, value FROM ${s}.key_store_meta`)
      const meta = new Map(rows.map((r) => [r.name, r.value]))
      const writes: Array<[string, Buffer]> = []
      const key = openMeta(
        (name) => meta.get(name),
        (name, value) => void writes.push([name, value]),
        master,
        `${s} (PostgreSQL)`,
      )
      for (const [name, value] of writes) await client.query(`INSERT INTO ${s}.key_store_meta (name, value) VALUES ($1, $2)`, [name, value])
      return key
    })
  } catch (error) {
    await pool.end().catch(() => undefined)
    if (error instanceof KeyStoreError) throw error
    throw new KeyStoreError(`cannot open the key store in PostgreSQL (${s}): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }

  let closed = false
  const run = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    if (closed) throw new KeyStoreError(`the key store is closed: cannot ${operation}`)
    try {
      return await work()
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
  const lookup = async (caseId: string, db: pg.Pool | pg.PoolClient = pool): Promise<DataKeyLookup> => {
    const { rows } = await db.query<{ wrapped: Buffer | null; destroyed_at: Date | null; destruction_id: string | null }>(
      `SELECT wrapped, destroyed_at, destruction_id FROM ${s}.data_keys WHERE case_id = $1`,
      [caseId],
    )
    const row = rows[0]
    if (row === undefined) return { state: 'none' }
    if (row.wrapped === null) return { state: 'destroyed', destroyedAt: iso(row.destroyed_at) ?? '', destructionId: row.destruction_id ?? '' }
    return { state: 'active', key: unwrapRow(caseId, row.wrapped) }
  }

  const hashesOf = (subjects: readonly SubjectIdentifier[]): string[] => subjects.map((subject) => hashSubject(subjectKey, subject))
  const insertSubjects = async (caseId: string, subjects: readonly SubjectIdentifier[]): Promise<void> => {
    await pool.query(`INSERT INTO ${s}.subjects (subject, case_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING`, [hashesOf(subjects), caseId])
  }

  return {
    get masterFingerprint() {
      return master.fingerprint
    },
    keyFor: (caseId, subjects = []) =>
      run('keyFor', async () => {
        // A new case (its CaseSubmitted names its subjects): the key is made and the subjects filed
        // in one statement, one round trip instead of four. A case that has a key already (a
        // repeated submission) makes nothing there and goes the way below.
        if (subjects.length > 0) {
          const key = newKey()
          const { rows } = await pool.query<{ made: boolean }>(
            `WITH made AS (
               INSERT INTO ${s}.data_keys (case_id, wrapped, created_at) VALUES ($1, $2, now()) ON CONFLICT (case_id) DO NOTHING RETURNING 1),
             filed AS (
               INSERT INTO ${s}.subjects (subject, case_id) SELECT unnest($3::text[]), $1 WHERE EXISTS (SELECT 1 FROM made) ON CONFLICT DO NOTHING)
             SELECT EXISTS (SELECT 1 FROM made) AS made`,
            [caseId, wrapKey(master.key, dataKeyPurpose(caseId), key), hashesOf(subjects)],
          )
          if (rows[0]?.made === true) return key
        }
        const found = await lookup(caseId)
        if (found.state === 'destroyed') throw new DataKeyDestroyedError(caseId, found.destroyedAt)
        if (found.state === 'active') {
          if (subjects.length > 0) await insertSubjects(caseId, subjects)
          return found.key
        }
        // Two services asking at once: one insert wins and both read the winner's key.
        await pool.query(`INSERT INTO ${s}.data_keys (case_id, wrapped, created_at) VALUES ($1, $2, now()) ON CONFLICT (case_id) DO NOTHING`, [
          caseId,
          wrapKey(master.key, dataKeyPurpose(caseId), newKey()),
        ])
        const made = await lookup(caseId)
        if (made.state === 'active') {
          if (subjects.length > 0) await insertSubjects(caseId, subjects)
          return made.key
        }
        if (made.state === 'destroyed') throw new DataKeyDestroyedError(caseId, made.destroyedAt)
        throw new KeyStoreError(`the data key of case ${caseId} vanished right after it was made`)
      }),
    lookup: (caseId) => run('lookup', () => lookup(caseId)),
    destroy: (caseIds, destructionId, at) =>
      run('destroy', async () => {
        const outcome = await inTransaction(pool, async (client) => {
          const destroyed: string[] = []
          const alreadyDestroyed: string[] = []
          const withoutKey: string[] = []
          for (const caseId of new Set(caseIds)) {
            const updated = await client.query(
              `UPDATE ${s}.data_keys SET wrapped = NULL, destroyed_at = $1, destruction_id = $2 WHERE case_id = $3 AND wrapped IS NOT NULL`,
              [at, destructionId, caseId],
            )
            if (updated.rowCount === 1) destroyed.push(caseId)
            else {
              const inserted = await client.query(
                `INSERT INTO ${s}.data_keys (case_id, wrapped, created_at, destroyed_at, destruction_id) VALUES ($1, NULL, $2, $2, $3) ON CONFLICT (case_id) DO NOTHING`,
                [caseId, at, destructionId],
              )
              if (inserted.rowCount === 1) withoutKey.push(caseId)
              else alreadyDestroyed.push(caseId)
            }
            await client.query(`DELETE FROM ${s}.subjects WHERE case_id = $1`, [caseId])
          }
          return { destroyed, alreadyDestroyed, withoutKey }
        })
        // Reclaims the old row versions that still held the wrapped keys (outside the transaction, as VACUUM must be).
        if (outcome.destroyed.length > 0) await pool.query(`VACUUM ${s}.data_keys`)
        return outcome
      }),
    subjectHash: (subject) => hashSubject(subjectKey, subject),
    addSubjects: (caseId, subjects) =>
      run('addSubjects', async () => {
        const found = await lookup(caseId)
        if (found.state === 'destroyed') throw new DataKeyDestroyedError(caseId, found.destroyedAt)
        await insertSubjects(caseId, subjects)
      }),
    casesOf: (subject) =>
      run('casesOf', async () => {
        const { rows } = await pool.query<{ case_id: string }>(`SELECT case_id FROM ${s}.subjects WHERE subject = $1`, [hashSubject(subjectKey, subject)])
        return rows.map((r) => r.case_id)
      }),
    rotateMasterKey: (next, onProgress) =>
      run('rotateMasterKey', async () => {
        const rewrapped = await inTransaction(pool, async (client) => {
          await client.query(`LOCK TABLE ${s}.data_keys, ${s}.key_store_meta IN EXCLUSIVE MODE`)
          const { rows } = await client.query<{ case_id: string; wrapped: Buffer }>(`SELECT case_id, wrapped FROM ${s}.data_keys WHERE wrapped IS NOT NULL ORDER BY case_id`)
          for (let i = 0; i < rows.length; i += 1000) {
            const chunk = rows.slice(i, i + 1000)
            await client.query(`UPDATE ${s}.data_keys AS d SET wrapped = v.wrapped FROM unnest($1::text[], $2::bytea[]) AS v(case_id, wrapped) WHERE d.case_id = v.case_id`, [
              chunk.map((r) => r.case_id),
              chunk.map((r) => wrapKey(next.key, dataKeyPurpose(r.case_id), unwrapRow(r.case_id, r.wrapped))),
            ])
            onProgress?.(Math.min(i + 1000, rows.length), rows.length)
          }
          await client.query(`UPDATE ${s}.key_store_meta SET value = $1 WHERE name = 'subject_key'`, [wrapKey(next.key, SUBJECT_KEY_PURPOSE, subjectKey)])
          await client.query(`UPDATE ${s}.key_store_meta SET value = $1 WHERE name = 'master_fingerprint'`, [Buffer.from(next.fingerprint, 'utf8')])
          return rows.length
        })
        if (rewrapped === 0) onProgress?.(0, 0)
        master = next
        return { rewrapped }
      }),
    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}

/** The destruction log in PostgreSQL, in the same schema as the key store. */
export async function openPostgresDestructionLog(options: PostgresPrivacyOptions): Promise<DestructionLog> {
  const s = schemaOf(options)
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 2 })
  try {
    await ensureSchema(pool, s)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw new DestructionLogError(`cannot open the destruction log in PostgreSQL (${s}): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  let closed = false
  const run = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    if (closed) throw new DestructionLogError(`the destruction log is closed: cannot ${operation}`)
    try {
      return await work()
    } catch (error) {
      if (error instanceof DestructionLogError) throw error
      throw new DestructionLogError(`destruction log ${operation} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  const select = `SELECT id, reason, legal_basis, request_reference, actor_id, actor_role, case_ids, fields, method, started_at, completed_at FROM ${s}.destructions`
  return {
    begin: (e) =>
      run('begin', async () => {
        await pool.query(
          `INSERT INTO ${s}.destructions (id, reason, legal_basis, request_reference, actor_id, actor_role, case_ids, fields, method, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [e.id, e.reason, e.legalBasis, e.requestReference, e.actor.id, e.actor.role, JSON.stringify(e.caseIds), JSON.stringify(e.fields), e.method, e.startedAt],
        )
      }),
    complete: (id, at) =>
      run('complete', async () => {
        const { rowCount } = await pool.query(`UPDATE ${s}.destructions SET completed_at = coalesce(completed_at, $1) WHERE id = $2`, [at, id])
        if (rowCount !== 1) throw new DestructionLogError(`no destruction ${id} to complete`)
      }),
    get: (id) =>
      run('get', async () => {
        const { rows } = await pool.query<DestructionRow>(`${select} WHERE id = $1`, [id])
        return rows[0] === undefined ? undefined : destructionEntryOf(rows[0])
      }),
    pending: () => run('pending', async () => (await pool.query<DestructionRow>(`${select} WHERE completed_at IS NULL ORDER BY started_at, id`)).rows.map(destructionEntryOf)),
    list: (range = {}) =>
      run('list', async () => {
        const { rows } = await pool.query<DestructionRow>(`${select} WHERE ($1::timestamptz IS NULL OR started_at >= $1) AND ($2::timestamptz IS NULL OR started_at < $2) ORDER BY started_at, id`, [
          range.from ?? null,
          range.to ?? null,
        ])
        return rows.map(destructionEntryOf)
      }),
    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}
