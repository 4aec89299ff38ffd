import Database from 'better-sqlite3'
import { metadataTextSql } from './integrity.ts'

/**
 * One stored event as text, the way a bulk reader (a read-model rebuild) wants it. `streamKey` is
 * the stream id after the reader's `streamPrefix` (`case-42` read with prefix `case-` gives `42`).
 */
export type RawLogRow = readonly [position: number, streamKey: string, eventId: string, type: string, data: string | null, metadata: string]

export interface SqliteLogReader {
  /**
   * Events with a position in (after, until], in order, at most `maxCount`, only of streams whose
   * id starts with `streamPrefix`; `data` is null for the types in `omitDataOf` (so a reader that
   * ignores their data never copies or parses it).
   */
  read(options: { readonly after: number; readonly until: number; readonly maxCount: number }): RawLogRow[]
  close(): void
}

/**
 * A read-only connection of its own to a SQLite event store file, for reading the global log in
 * bulk: rows as arrays of the stored JSON text, no per-row objects, no parsing. The schema stays
 * this package's business; callers get positions, stream ids, types and the JSON text.
 */
export function openSqliteLogReader(options: { readonly file: string; readonly streamPrefix: string; readonly omitDataOf?: Iterable<string> }): SqliteLogReader {
  const db = new Database(options.file, { readonly: true, fileMustExist: true })
  try {
    const omitted = [...(options.omitDataOf ?? [])]
    const dataColumn = omitted.length === 0 ? 'data' : `CASE WHEN type IN (${omitted.map(() => '?').join(', ')}) THEN NULL ELSE data END`
    const select = db
      .prepare(
        `SELECT position, substr(stream_id, length(?) + 1), event_id, type, ${dataColumn}, ${metadataTextSql('metadata', 'length')} FROM events WHERE position > ? AND position <= ? AND substr(stream_id, 1, length(?)) = ? ORDER BY position LIMIT ?`,
      )
      .raw()
    return {
      read: ({ after, until, maxCount }) => select.all(options.streamPrefix, ...omitted, after, until, options.streamPrefix, options.streamPrefix, maxCount) as RawLogRow[],
      close: () => db.close(),
    }
  } catch (error) {
    db.close()
    throw error
  }
}
