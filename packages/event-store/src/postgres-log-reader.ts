import { metadataTextSql } from './integrity.ts'
import pg from 'pg'
import { checkSchemaName, redact } from './postgres.ts'
import type { RawLogRow } from './sqlite-log-reader.ts'

export interface PostgresLogReader {
  /**
   * Events with a position in (after, until], in order, at most `maxCount`, only of streams whose
   * id starts with `streamPrefix`; `data` is null for the types in `omitDataOf`. The same rows as
   * `SqliteLogReader.read` gives for the same log, asynchronously.
   */
  read(options: { readonly after: number; readonly until: number; readonly maxCount: number }): Promise<RawLogRow[]>
  close(): Promise<void>
}

/**
 * A connection of its own to a PostgreSQL event store, for reading the global log in bulk (a
 * read-model rebuild): rows as arrays of the stored JSON text, no per-row objects, no parsing, like
 * `openSqliteLogReader`. One connection, not a pool: a bulk reader reads one page at a time.
 */
export async function openPostgresLogReader(options: {
  readonly connectionString: string
  /** Schema of the installation's tables; default `civic`. */
  readonly schema?: string
  readonly streamPrefix: string
  readonly omitDataOf?: Iterable<string>
}): Promise<PostgresLogReader> {
  const s = checkSchemaName(options.schema ?? 'civic')
  const omitted = [...(options.omitDataOf ?? [])]
  const client = new pg.Client({ connectionString: options.connectionString })
  // A lost connection fails the next read; it must not crash the process meanwhile.
  client.on('error', () => undefined)
  try {
    await client.connect()
    // Missing table: the same "not an event store" failure as the SQLite reader's missing file.
    await client.query(`SELECT 1 FROM ${s}.events LIMIT 0`)
  } catch (error) {
    await client.end().catch(() => undefined)
    throw new Error(
      `cannot read the event store log in PostgreSQL (${redact(options.connectionString)}, schema ${s}): ${error instanceof Error ? error.message : String(error)}. Check CIVIC_PG_URL and CIVIC_PG_SCHEMA.`,
      { cause: error },
    )
  }
  // float8 arrives as a JS number (bigint would arrive as text); positions stay far below 2^53.
  // Renamed so ORDER BY sorts by the indexed column, not by the expression.
  // starts_with and substr count characters, as the SQLite reader's substr/length do.
  const text = `SELECT position::float8 AS pos, substr(stream_id, char_length($1) + 1), event_id, type, CASE WHEN type = ANY($2::text[]) THEN NULL ELSE data END, ${metadataTextSql('metadata', 'char_length')}
    FROM ${s}.events WHERE position > $3 AND position <= $4 AND starts_with(stream_id, $1) ORDER BY position LIMIT $5`
  return {
    async read({ after, until, maxCount }) {
      const result = await client.query({
        text,
        values: [options.streamPrefix, omitted, after, until, maxCount],
        rowMode: 'array',
      })
      return result.rows as unknown as RawLogRow[]
    },
    async close() {
      await client.end()
    },
  }
}
