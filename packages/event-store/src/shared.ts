/** Rules every adapter applies the same way. Internal to the package. */
import { ConcurrencyError, type EventToAppend, type ExpectedRevision } from './port.ts'

/** An event ready for storage: data and metadata already JSON text. */
export interface SerializedEvent {
  readonly id: string
  readonly type: string
  readonly data: string
  readonly metadata: string
}

/** Revision of a stream that does not exist, as carried by ConcurrencyError.actual. */
export const NO_STREAM = -1

/** Subscription page size. */
export const CATCH_UP_BATCH_SIZE = 500

/**
 * Validates an append and serializes its events. Serializing up front makes every adapter
 * store exactly what JSON can carry (the memory store behaves like the durable ones) and lets
 * a bad event fail only its own append.
 */
export function prepareAppend(
  streamId: string,
  events: readonly EventToAppend[],
  expectedRevision: ExpectedRevision,
): SerializedEvent[] {
  if (typeof streamId !== 'string' || streamId.length === 0) throw new Error('append: streamId must be a non-empty string')
  if (events.length === 0) throw new Error(`append to ${streamId}: at least one event is required`)
  if (typeof expectedRevision === 'number' && (!Number.isSafeInteger(expectedRevision) || expectedRevision < 0)) {
    throw new Error(`append to ${streamId}: expectedRevision must be 'no_stream', 'any', 'stream_exists' or an integer >= 0, got ${expectedRevision}`)
  }
  return events.map((event) => {
    if (typeof event.id !== 'string' || event.id.length === 0) throw new Error(`append to ${streamId}: every event needs a non-empty id`)
    if (typeof event.type !== 'string' || event.type.length === 0) throw new Error(`append to ${streamId}: event ${event.id} needs a non-empty type`)
    return { id: event.id, type: event.type, data: toJson(event.data, streamId, event.id), metadata: toJson(event.metadata, streamId, event.id) }
  })
}

function toJson(value: unknown, streamId: string, eventId: string): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    throw new Error(`append to ${streamId}: event ${eventId} is not JSON-serializable (${error instanceof Error ? error.message : String(error)})`)
  }
  // JSON.stringify(undefined) is undefined: absent data or metadata is stored as null.
  return text ?? 'null'
}

/** Throws ConcurrencyError unless `expected` holds for a stream whose last revision is `actual`. */
export function assertExpectedRevision(streamId: string, expected: ExpectedRevision, actual: number): void {
  const holds =
    expected === 'any' ||
    (expected === 'no_stream' && actual === NO_STREAM) ||
    (expected === 'stream_exists' && actual !== NO_STREAM) ||
    expected === actual
  if (!holds) throw new ConcurrencyError(streamId, expected, actual)
}

/** Drops events whose id is already in the stream or earlier in the same batch. */
export function newEventsOnly(events: readonly SerializedEvent[], existsInStream: (eventId: string) => boolean): SerializedEvent[] {
  const seen = new Set<string>()
  return events.filter((event) => {
    if (seen.has(event.id) || existsInStream(event.id)) return false
    seen.add(event.id)
    return true
  })
}

/** Validates a count-like read option; undefined means no limit. */
export function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new Error(`${name} must be an integer >= 0, got ${value}`)
}
