/**
 * Moving an installation's personal-data keys with its log: the SQLite key store and destruction
 * log of a standalone data folder (`keys.sqlite`, `destructions.sqlite`) into PostgreSQL (schema
 * `<CIVIC_PG_SCHEMA>_privacy`), byte for byte. The data keys stay wrapped under the same master key
 * (the stack must then be given that master key, e.g. the data folder's `master.key`), the subject
 * index keeps its keyed hashes (its key travels with them), tombstones stay tombstones and every
 * destruction-log entry comes along, so nobody erased comes back and every sealed event copied by
 * `pnpm store:copy` still opens.
 *
 * Refuses a target that holds other keys (a different master key or subject index key, or a data key
 * or entry that differs); a target that already holds exactly these rows (a copy run again after an
 * interrupt) is completed, not refused. One transaction: all or nothing.
 */
import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import { DestructionLogError, destructionEntryOf, type DestructionRow } from './destruction-log.ts'
import { KeyStoreError } from './key-store.ts'
import { ensurePrivacySchema, inPrivacyTransaction } from './postgres.ts'

export interface KeyCopyResult {
  readonly dataKeys: number
  readonly destroyedKeys: number
  readonly subjects: number
  readonly destructions: number
}

interface KeyRowRaw {
  readonly case_id: string
  readonly wrapped: Buffer | null
  readonly created_at: string
  readonly destroyed_at: string | null
  readonly destruction_id: string | null
}

const CHUNK = 1000

/** Copies the key store (and the destruction log, when its file exists) into PostgreSQL. */
export async function copyKeysToPostgres(
  options: { readonly keysFile: string; readonly destructionsFile?: string; readonly connectionString: string; readonly schema: string },
  onProgress?: (done: number, total: number) => void,
): Promise<KeyCopyResult> {
  if (!existsSync(options.keysFile)) throw new KeyStoreError(`there is no key store at ${options.keysFile}`)
  const keysDb = new Database(options.keysFile, { readonly: true, fileMustExist: true })
  const destructionsDb = options.destructionsFile !== undefined && existsSync(options.destructionsFile) ? new Database(options.destructionsFile, { readonly: true, fileMustExist: true }) : undefined
  try {
    const meta = keysDb.prepare('SELECT name, value FROM key_store_meta ORDER BY name').all() as Array<{ name: string; value: Buffer }>
    const keys = keysDb.prepare('SELECT case_id, wrapped, created_at, destroyed_at, destruction_id FROM data_keys ORDER BY case_id').all() as KeyRowRaw[]
    const subjects = keysDb.prepare('SELECT subject, case_id FROM subjects ORDER BY subject, case_id').all() as Array<{ subject: string; case_id: string }>
    const destructions = (destructionsDb?.prepare('SELECT * FROM destructions ORDER BY started_at, id').all() ?? []) as DestructionRow[]
    const total = keys.length + subjects.length + destructions.length
    const s = options.schema
    await ensurePrivacySchema(options.connectionString, s)
    await inPrivacyTransaction(options.connectionString, async (client) => {
      await client.query(`LOCK TABLE ${s}.key_store_meta, ${s}.data_keys, ${s}.subjects, ${s}.destructions IN EXCLUSIVE MODE`)
      // The same master key and subject index key, or an empty target.
      const existing = new Map((await client.query<{ name: string; value: Buffer }>(`SELECT name, value FROM ${s}.key_store_meta`)).rows.map((r) => [r.name, r.value]))
      for (const { name, value } of meta) {
        const there = existing.get(name)
        if (there !== undefined && !there.equals(value)) {
          throw new KeyStoreError(
            `the PostgreSQL key store ${s} belongs to another installation (its ${name} differs): copy into an empty schema (another CIVIC_PG_SCHEMA), nothing was changed`,
          )
        }
        if (there === undefined) await client.query(`INSERT INTO ${s}.key_store_meta (name, value) VALUES ($1, $2)`, [name, value])
      }
      let done = 0
      for (let i = 0; i < keys.length; i += CHUNK) {
        const chunk = keys.slice(i, i + CHUNK)
        await client.query(
          `INSERT INTO ${s}.data_keys (case_id, wrapped, created_at, destroyed_at, destruction_id)
           SELECT * FROM unnest($1::text[], $2::bytea[], $3::timestamptz[], $4::timestamptz[], $5::text[]) ON CONFLICT (case_id) DO NOTHING`,
          [chunk.map((k) => k.case_id), chunk.map((k) => k.wrapped), chunk.map((k) => k.created_at), chunk.map((k) => k.destroyed_at), chunk.map((k) => k.destruction_id)],
        )
        // A row that was there already must be this very key (a resumed copy), or the target is another installation's.
        const { rows } = await client.query<{ case_id: string; wrapped: Buffer | null }>(`SELECT case_id, wrapped FROM ${s}.data_keys WHERE case_id = ANY($1::text[])`, [chunk.map((k) => k.case_id)])
        const there = new Map(rows.map((r) => [r.case_id, r.wrapped]))
        for (const k of chunk) {
          const w = there.get(k.case_id) ?? null
          if ((w === null) !== (k.wrapped === null) || (w !== null && k.wrapped !== null && !w.equals(k.wrapped))) {
            throw new KeyStoreError(`the PostgreSQL key store ${s} holds another key for case ${k.case_id}: copy into an empty schema, nothing was changed`)
          }
        }
        done += chunk.length
        onProgress?.(done, total)
      }
      for (let i = 0; i < subjects.length; i += CHUNK) {
        const chunk = subjects.slice(i, i + CHUNK)
        await client.query(`INSERT INTO ${s}.subjects (subject, case_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [chunk.map((r) => r.subject), chunk.map((r) => r.case_id)])
        done += chunk.length
        onProgress?.(done, total)
      }
      for (const d of destructions) {
        const inserted = await client.query(
          `INSERT INTO ${s}.destructions (id, reason, legal_basis, request_reference, actor_id, actor_role, case_ids, fields, method, started_at, completed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
          [d.id, d.reason, d.legal_basis, d.request_reference, d.actor_id, d.actor_role, d.case_ids, d.fields, d.method, d.started_at, d.completed_at],
        )
        if (inserted.rowCount === 0) {
          const { rows } = await client.query<{ case_ids: string[] }>(`SELECT case_ids FROM ${s}.destructions WHERE id = $1`, [d.id])
          if (JSON.stringify(rows[0]?.case_ids) !== JSON.stringify(destructionEntryOf(d).caseIds)) {
            throw new DestructionLogError(`the PostgreSQL destruction log ${s} holds another entry ${d.id}: copy into an empty schema, nothing was changed`)
          }
        }
        done += 1
        onProgress?.(done, total)
      }
    })
    onProgress?.(total, total)
    return { dataKeys: keys.filter((k) => k.wrapped !== null).length, destroyedKeys: keys.filter((k) => k.wrapped === null).length, subjects: subjects.length, destructions: destructions.length }
  } finally {
    keysDb.close()
    destructionsDb?.close()
  }
}
