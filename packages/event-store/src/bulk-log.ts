/**
 * The global log of a SQLite or PostgreSQL event store as stored rows, for copying a store into
 * another (`pnpm store:copy`). The port's `append` numbers events and stamps their recorded time
 * itself; a copy must keep both, so it writes rows below the port, with each adapter's own schema
 * code (`openDatabase` of sqlite.ts, `migrate` of postgres.ts) and, in PostgreSQL, under the same
 * advisory lock and NOTIFY as appends. For tools that must see the bytes as stored (store:copy,
 * audit:verify); services use the port.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { appendLockKey, checkSchemaName, inTransaction, migrate, notifyChannel, POSTGRES_SCHEMA_VERSION, redact } from './postgres.ts'
import type { StoredEventText } from './integrity.ts'
import { openDatabase } from './sqlite.ts'

/** One event exactly as stored: data and metadata as their JSON text (what its hash covers), its place and time. */
export interface StoredRow extends StoredEventText {
  readonly position: number
  /** ISO-8601 UTC; PostgreSQL's keeps its microseconds. */
  readonly recordedAt: string
}

/** A stored row as an array, in StoredRow's order. */
export type StoredRowArray = readonly [position: number, streamId: string, revision: number, eventId: string, type: string, data: string, metadata: string, recordedAt: string]

export interface BulkLog {
  /** Where it is, for messages (a URL without its password). */
  readonly description: string
  /** How it was opened, so that another thread can open the same log (audit:verify's readers). */
  readonly opened: { readonly location: string; readonly defaultSchema: string | undefined }
  /** Position of the newest event, 0 when empty. */
  head(): Promise<number>
  /** Events with a position in (after, until], in order, at most maxCount. */
  read(after: number, until: number, maxCount: number): Promise<StoredRow[]>
  /** The same rows as arrays, as the driver hands them (no object per row: audit:verify's hot path). */
  readRows(after: number, until: number, maxCount: number): Promise<StoredRowArray[]>
  /** Number of events with a position ≤ until. */
  count(until: number): Promise<number>
  /** Events per stream among positions ≤ until. */
  streamCounts(until: number): Promise<Map<string, number>>
  /**
   * Writes rows that follow the head, keeping their positions and recorded times, in one
   * transaction; fails (writing nothing) when the head is no longer `expectedHead`.
   */
  importRows(rows: readonly StoredRow[], expectedHead: number): Promise<void>
  /** Deletes every event (a forced copy into a store holding other data). */
  clear(): Promise<void>
  close(): Promise<void>
}

/** The location does not name a usable event store; the message says what to do. */
export class BulkLogLocationError extends Error {
  override readonly name = 'BulkLogLocationError'
}

const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location)

/**
 * Opens `location`: a `postgres://` URL (schema from its `schema` parameter, else
 * `defaultSchema`) or a SQLite file. A source must exist and is only read; a target is created
 * (file, schema, tables) when missing.
 */
export async function openBulkLog(location: string, options: { readonly role: 'source' | 'target'; readonly defaultSchema?: string }): Promise<BulkLog> {
  const opened = { location, defaultSchema: options.defaultSchema }
  if (isPostgresUrl(location)) return { ...(await openPostgresBulkLog(location, options.role, options.defaultSchema ?? 'civic')), opened }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new BulkLogLocationError(`${redact(location)} is neither a postgres:// URL nor a file path: give a SQLite event store file or postgres://user@host:5432/database[?schema=name]`)
  }
  return { ...openSqliteBulkLog(location, options.role), opened }
}

// ---- SQLite -------------------------------------------------------------------------------------

type SqliteRow = [position: number, streamId: string, revision: number, eventId: string, type: string, data: string, metadata: string, recordedAt: string]

function openSqliteBulkLog(file: string, role: 'source' | 'target'): Omit<BulkLog, 'opened'> {
  let db: Database.Database
  if (role === 'source') {
    if (!existsSync(file)) throw new BulkLogLocationError(`no SQLite event store at ${file} (no such file): give the store's file (e.g. data/events.sqlite) or a postgres:// URL`)
    db = new Database(file, { readonly: true, fileMustExist: true })
    const hasEvents = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").pluck().get() !== undefined
    if (!hasEvents) {
      db.close()
      throw new BulkLogLocationError(`${file} is not a civic-desk event store (it has no events table)`)
    }
  } else {
    try {
      db = openDatabase({ file })
    } catch (error) {
      throw new BulkLogLocationError(`cannot open ${file} as a SQLite event store: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const selectHead = db.prepare<[], number>('SELECT coalesce(max(position), 0) FROM events').pluck()
  const selectRows = db
    .prepare<[number, number, number], SqliteRow>(
      'SELECT position, stream_id, revision, event_id, type, data, metadata, recorded_at FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?',
    )
    .raw()
  const selectCount = db.prepare<[number], number>('SELECT count(*) FROM events WHERE position <= ?').pluck()
  const selectStreamCounts = db.prepare<[number], [string, number]>('SELECT stream_id, count(*) FROM events WHERE position <= ? GROUP BY stream_id').raw()
  const insert =
    role === 'target'
      ? db.prepare<[number, string, number, string, string, string, string, string]>(
          'INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
      : undefined
  const importRows = db.transaction((rows: readonly StoredRow[], expectedHead: number) => {
    const head = selectHead.get() ?? 0
    if (head !== expectedHead) throw new Error(`${file}: its head moved to ${head} (expected ${expectedHead}); is something else writing to it?`)
    for (const r of rows) {
      // The text the SQLite adapter writes itself (milliseconds), whatever the source kept.
      insert!.run(r.position, r.streamId, r.revision, r.eventId, r.type, r.data, r.metadata, new Date(r.recordedAt).toISOString())
    }
  })
  return {
    // The full path: the CLI compares descriptions to refuse copying a store into itself.
    description: `SQLite file ${resolve(file)}`,
    head: async () => selectHead.get() ?? 0,
    readRows: async (after, until, maxCount) => selectRows.all(after, until, maxCount),
    read: async (after, until, maxCount) =>
      selectRows.all(after, until, maxCount).map(([position, streamId, revision, eventId, type, data, metadata, recordedAt]) => ({
        position,
        streamId,
        revision,
        eventId,
        type,
        data,
        metadata,
        recordedAt,
      })),
    count: async (until) => selectCount.get(until) ?? 0,
    streamCounts: async (until) => new Map(selectStreamCounts.all(until)),
    importRows: async (rows, expectedHead) => {
      if (insert === undefined) throw new Error(`${file} was opened as the source: not writable`)
      importRows.immediate(rows, expectedHead)
    },
    clear: async () => {
      // The positions start again from 1, as in a new file.
      db.exec("DELETE FROM events; DELETE FROM sqlite_sequence WHERE name = 'events'")
    },
    close: async () => {
      db.close()
    },
  }
}

// ---- PostgreSQL ---------------------------------------------------------------------------------

async function openPostgresBulkLog(location: string, role: 'source' | 'target', defaultSchema: string): Promise<Omit<BulkLog, 'opened'>> {
  let url: URL
  try {
    url = new URL(location)
  } catch {
    throw new BulkLogLocationError(`cannot parse the PostgreSQL URL ${redact(location)}: write it as postgres://user[:password]@host:5432/database[?schema=name]`)
  }
  // `schema` is ours, not the driver's: taken out before the URL reaches it.
  const schemaParam = url.searchParams.get('schema')
  url.searchParams.delete('schema')
  let s: string
  try {
    s = checkSchemaName(schemaParam ?? defaultSchema)
  } catch (error) {
    throw new BulkLogLocationError(error instanceof Error ? error.message : String(error))
  }
  const connectionString = url.toString()
  const description = `PostgreSQL ${redact(connectionString)} schema ${s}`
  const pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 10_000 })
  pool.on('error', () => undefined)
  try {
    if (role === 'target') {
      await migrate(pool, s)
    } else {
      const { rows } = await pool.query<{ events: string | null; migrations: string | null }>(`SELECT to_regclass($1) AS events, to_regclass($2) AS migrations`, [`${s}.events`, `${s}.schema_migrations`])
      if (rows[0]?.events === null || rows[0]?.migrations === null) throw new BulkLogLocationError(`${description} holds no civic-desk event store (no ${s}.events table): check the URL and its ?schema=`)
      const version = (await pool.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.schema_migrations`)).rows[0]?.version ?? 0
      if (version > POSTGRES_SCHEMA_VERSION) throw new BulkLogLocationError(`${description} is at schema version ${version}; this code knows up to ${POSTGRES_SCHEMA_VERSION}. Upgrade civic-desk.`)
    }
  } catch (error) {
    await pool.end().catch(() => undefined)
    if (error instanceof BulkLogLocationError) throw error
    throw new BulkLogLocationError(`cannot open the event store at ${description}: ${error instanceof Error ? error.message : String(error)}. Check the URL and that the server is up.`, { cause: error })
  }
  const headOf = async (client: pg.Pool | pg.PoolClient): Promise<number> => Number((await client.query<{ head: string | null }>(`SELECT max(position) AS head FROM ${s}.events`)).rows[0]?.head ?? 0)
  const readRows = async (after: number, until: number, maxCount: number): Promise<StoredRowArray[]> => {
    // float8 arrives as a number, bigint as text (renamed so ORDER BY sorts by the indexed column,
    // see postgres.ts). The recorded time as text keeps its microseconds.
    const { rows } = await pool.query({
      text: `SELECT position::float8 AS pos, stream_id, revision, event_id, type, data, metadata, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        FROM ${s}.events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3`,
      values: [after, until, maxCount],
      rowMode: 'array',
    })
    return rows as unknown as StoredRowArray[]
  }

  return {
    description,
    head: () => headOf(pool),
    readRows,
    read: async (after, until, maxCount) =>
      (await readRows(after, until, maxCount)).map(([position, streamId, revision, eventId, type, data, metadata, recordedAt]) => ({ position, streamId, revision, eventId, type, data, metadata, recordedAt })),
    async count(until) {
      return Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}.events WHERE position <= $1`, [until])).rows[0]?.n ?? 0)
    },
    async streamCounts(until) {
      const { rows } = await pool.query<{ stream_id: string; n: number }>(`SELECT stream_id, count(*)::integer AS n FROM ${s}.events WHERE position <= $1 GROUP BY stream_id`, [until])
      return new Map(rows.map((r) => [r.stream_id, r.n]))
    },
    async importRows(rows, expectedHead) {
      if (role !== 'target') throw new Error(`${description} was opened as the source: not writable`)
      await inTransaction(pool, async (client) => {
        // The appends' lock: no append of a running service interleaves with the copy.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [appendLockKey(s)])
        const head = await headOf(client)
        if (head !== expectedHead) throw new Error(`${description}: its head moved to ${head} (expected ${expectedHead}); is something else writing to it?`)
        await client.query(
          `INSERT INTO ${s}.events (position, stream_id, revision, event_id, type, data, metadata, recorded_at)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
          [
            rows.map((r) => r.position),
            rows.map((r) => r.streamId),
            rows.map((r) => r.revision),
            rows.map((r) => r.eventId),
            rows.map((r) => r.type),
            rows.map((r) => r.data),
            rows.map((r) => r.metadata),
            rows.map((r) => r.recordedAt),
          ],
        )
        const last = rows.at(-1)
        if (last !== undefined) await client.query('SELECT pg_notify($1, $2)', [notifyChannel(s), String(last.position)])
      })
    },
    async clear() {
      await inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [appendLockKey(s)])
        await client.query(`DELETE FROM ${s}.events`)
      })
    },
    close: () => pool.end(),
  }
}
