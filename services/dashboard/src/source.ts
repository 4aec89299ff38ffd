// The event store as the read models' source: case events in global order, in batches.
import type { EventStore, RecordedEvent } from '@civic-desk/event-store'
import { projectedEventFromStore, type PositionedEvent } from '@civic-desk/read-models'

export const CASE_STREAM_PREFIX = 'case-'

/**
 * A stored case event as the projection takes it, or null for a record that is not a known case
 * event (a newer event type, a foreign writer): skipped, never a failure of the whole rebuild.
 */
export function positionedFromStore(recorded: RecordedEvent): PositionedEvent | null {
  // Only the fields the projection reads are checked (every stored event passed the full contract
  // on its way in): the full schema would cost the rebuild most of its time.
  const event = projectedEventFromStore(recorded.type, recorded.data, recorded.metadata)
  return event === null ? null : { caseId: recorded.streamId.slice(CASE_STREAM_PREFIX.length), position: recorded.position, event }
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

