// The event store as the read models' source: case events in global order, in batches.
import { CASE_STREAM_PREFIX, caseEventShapeDecoder, caseIdOfStream } from '@civic-desk/case-feed'
import { openSqliteLogReader, type EventStore, type RawLogRow, type RecordedEvent } from '@civic-desk/event-store'
import { DATA_FREE_EVENT_TYPES, PROJECTION_READS_DATA_OF, type PositionedEvent } from '@civic-desk/read-models'

/**
 * A stored event as the projection reads it: the contract's shape checked (every stored event
 * passed the full contract on its way in, so formats are not checked again), the data of the
 * types the projection reads only. Null for an unknown type or a record that does not fit.
 */
const projectedEventFromStore = caseEventShapeDecoder(PROJECTION_READS_DATA_OF)

/**
 * A stored case event as the projection takes it, or null for a record that is not a known case
 * event (a newer event type, a foreign writer): skipped, never a failure of the whole rebuild.
 */
export function positionedFromStore(recorded: RecordedEvent): PositionedEvent | null {
  // The shape only: the full schema would cost the rebuild most of its time.
  const event = projectedEventFromStore(recorded.id, recorded.type, recorded.data, recorded.metadata)
  const caseId = caseIdOfStream(recorded.streamId)
  return event === null || caseId === null ? null : { caseId, position: recorded.position, event }
}

/** Case events with a position in (after, until], `batchSize` at a time. */
export async function* storeBatches(store: EventStore, after: number, until: number, batchSize = 2000): AsyncGenerator<PositionedEvent[]> {
  let cursor = after
  while (cursor < until) {
    const records = await store.readAll({ after: cursor, maxCount: batchSize, streamPrefix: CASE_STREAM_PREFIX })
    if (records.length === 0) return
    const batch: PositionedEvent[] = []
    for (const r of records) {
      if (r.position > until) break
      const p = positionedFromStore(r)
      if (p !== null) batch.push(p)
    }
    cursor = records[records.length - 1]!.position
    if (batch.length > 0) yield batch
  }
}

/**
 * Events per read and commit of a rebuild from the log (a SQLite file or PostgreSQL), by target store. Into memory, smaller
 * batches let most of each batch's garbage die young (5,000: about 60 % less GC time than 20,000).
 * Into Redis, larger ones mean a case seldom spans two batches, so its document is written about
 * once (20,000: about 20 % less CPU than 5,000).
 */
export const REBUILD_BATCH_SIZE: Readonly<Record<'memory' | 'redis', number>> = { memory: 5_000, redis: 20_000 }

/** A bulk reader of the log's case streams (`openSqliteLogReader`, `openPostgresLogReader`). */
export interface RawLogReader {
  read(options: { readonly after: number; readonly until: number; readonly maxCount: number }): RawLogRow[] | Promise<RawLogRow[]>
}

/**
 * Case events with a position in (after, until] from a bulk reader of the log, for a rebuild: the
 * same batches as `storeBatches` over that store, read as arrays without the columns the
 * projection never reads, and without parsing the data of the event types whose data it ignores
 * (most of them: notifications, notes…). The reader must have been opened with the case stream
 * prefix and `DATA_FREE_EVENT_TYPES` (see `sqliteStoreBatches`); the caller closes it.
 */
export async function* rawLogBatches(reader: RawLogReader, after: number, until: number, batchSize = 5000): AsyncGenerator<PositionedEvent[]> {
  let cursor = after
  while (cursor < until) {
    const rows = await reader.read({ after: cursor, until, maxCount: batchSize })
    if (rows.length === 0) return
    const batch: PositionedEvent[] = []
    for (const [position, caseId, id, type, data, metadata] of rows) {
      const event = projectedEventFromStore(id, type, data === null ? undefined : (JSON.parse(data) as unknown), JSON.parse(metadata) as unknown)
      if (event !== null) batch.push({ caseId, position, event })
    }
    cursor = rows[rows.length - 1]![0]
    if (batch.length > 0) yield batch
  }
}

/** What a bulk reader of the rebuild is opened with: the case streams, without the data the projection ignores. */
export const REBUILD_READER_OPTIONS = { streamPrefix: CASE_STREAM_PREFIX, omitDataOf: DATA_FREE_EVENT_TYPES } as const

/**
 * Case events with a position in (after, until] straight from a SQLite event store file, for a
 * rebuild (`rawLogBatches` over a read-only connection of its own).
 */
export async function* sqliteStoreBatches(file: string, after: number, until: number, batchSize = 5000): AsyncGenerator<PositionedEvent[]> {
  const reader = openSqliteLogReader({ file, ...REBUILD_READER_OPTIONS })
  try {
    yield* rawLogBatches(reader, after, until, batchSize)
  } finally {
    reader.close()
  }
}
