/**
 * The pure half of the EventStoreDB adapter (eventstoredb.ts): how the port's revisions, positions,
 * events and errors translate to and from `@eventstore/db-client`, how an append is planned so
 * that the port's idempotency rules hold exactly, and how `$all` is paged through. No I/O here (the
 * scans are handed their page reader), so all of it is unit-tested without a server
 * (eventstoredb-mapping.unit.test.ts). Internal to the package.
 *
 * **Positions.** EventStoreDB places every event at a (commit, prepare) pair of byte offsets in its
 * transaction log. An event appended over gRPC is written in an implicit transaction, and for those
 * the two offsets are equal (they differ only for the explicit transactions of the old TCP API,
 * which the gRPC client cannot create). The port's position is that offset as a JavaScript number:
 * unique, strictly increasing in `$all` order, never reused (scavenging drops records but never
 * moves the ones it keeps), with gaps — the port asks for strictly increasing, not dense. And a
 * position converts back to the exact EventStoreDB position to resume from, which a lossy
 * numbering could not do. The limits, checked on every event mapped:
 * - the offset must fit a double exactly, i.e. at most 2^53 − 1 bytes (8 PiB) of transaction log;
 *   beyond that mapping fails with a clear error instead of rounding two events onto one number;
 * - commit must equal prepare: an event of an explicit transaction fails the mapping (its commit
 *   position is shared by the whole transaction, so it has no number of its own in this scheme);
 * - `after` values handed back to the store must be 0 or positions the store returned: EventStoreDB
 *   can only start a read at a record boundary.
 *
 * **Idempotency.** The port skips events whose id is already in the stream and makes an append of
 * known ids only a no-op that checks no revision. EventStoreDB's own idempotency is narrower: it
 * recognises a retried batch only when the whole batch sits right after the expected revision
 * (and, with `any`, only while the ids are in its cache), and it writes known ids again when the
 * expected revision matches. So the adapter does not rely on it: it reads the stream's ids, drops
 * the known ones, checks the caller's expected revision itself, and writes the rest with the
 * revision it observed as the expected revision (`planAppend`). The server then rejects the write
 * if anything reached the stream since the read, and the adapter reads again and replans
 * (`afterWrongExpectedVersion`). Even for `'any'`, the write is pinned to the observed revision,
 * because a concurrent retry of the same ids must not be written twice.
 */
import {
  BACKWARDS,
  END,
  FORWARDS,
  NO_STREAM as CLIENT_NO_STREAM,
  START,
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Direction,
  type CurrentRevision,
  type EventData,
  type Filter,
  type JSONType,
  type Position,
  type ReadPosition,
  type RecordedEvent as ClientRecordedEvent,
} from '@eventstore/db-client'
import { ConcurrencyError, type AppendResult, type ExpectedRevision, type RecordedEvent } from './port.ts'
import { NO_STREAM, assertExpectedRevision, newEventsOnly, type SerializedEvent } from './shared.ts'
import { GENESIS_HASH, chainEvents, linkHashOf, type EventIntegrity } from './integrity.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * EventStoreDB event ids are UUIDs and come back in lower case: ids are checked and lower-cased on
 * the way in, so an id reads back as it was sent and the idempotency check compares like with like.
 */
export function normalizeEventId(streamId: string, id: string): string {
  if (!UUID.test(id)) throw new Error(`append to ${streamId}: event id ${JSON.stringify(id)} is not a UUID; EventStoreDB event ids must be UUIDs (crypto.randomUUID())`)
  return id.toLowerCase()
}

/** Streams whose id starts with `$` belong to the server (statistics, projections, metadata). */
export function isSystemStream(streamId: string): boolean {
  return streamId.startsWith('$')
}

/** The port's view of `$all`: the server's own streams are never returned; then the prefix, if any. */
export function includeStream(streamId: string, streamPrefix: string | undefined): boolean {
  return !isSystemStream(streamId) && (streamPrefix === undefined || streamId.startsWith(streamPrefix))
}

export function checkStreamIdForAppend(streamId: string): void {
  if (isSystemStream(streamId)) throw new Error(`append to ${streamId}: stream ids starting with $ are EventStoreDB's system streams; choose another name`)
}

/** The server-side filter of a subscription: the prefix, or every stream but the system ones. */
export function subscriptionFilter(streamPrefix: string | undefined): Filter {
  return streamPrefix === undefined || streamPrefix === '' ? streamNameFilter({ regex: '^[^$]' }) : streamNameFilter({ prefixes: [streamPrefix] })
}

/** A serialized event as the client sends it: JSON content type, metadata as its JSON bytes. */
export function toEventData(event: SerializedEvent): EventData {
  // The client sends metadata only when it is truthy and JSON-encodes it itself, so metadata of
  // 0, false or '' would be lost: it gets the JSON text as bytes instead (absent metadata = none,
  // which reads back as null). Data goes through the client's JSON.stringify; parsing the text
  // prepareAppend produced hands it exactly the JSON value the other adapters store.
  const metadata = event.metadata === 'null' ? undefined : new TextEncoder().encode(event.metadata)
  // The client's type admits objects, arrays and strings only; numbers, booleans and null go
  // through its JSON.stringify just as well.
  const data = JSON.parse(event.data) as JSONType
  return { id: event.id, contentType: 'application/json', type: event.type, data, metadata }
}

/** A bigint from the server as a safe JS number, or a clear error. */
export function toSafeNumber(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`EventStoreDB ${what} ${value} does not fit the port's numbers (0 .. 2^53 - 1)`)
  return Number(value)
}

/** The port's position of an event at this EventStoreDB position (see the module comment). */
export function toPortPosition(position: Position | undefined, where: string): number {
  if (position === undefined) {
    throw new Error(`EventStoreDB returned ${where} without its $all position; stream reads carry it from server version 22.6 on: upgrade EventStoreDB`)
  }
  if (position.commit !== position.prepare) {
    throw new Error(
      `EventStoreDB event ${where} has commit position ${position.commit} but prepare position ${position.prepare}: it was written in an explicit transaction (TCP API), which this adapter cannot number`,
    )
  }
  const value = toSafeNumber(position.commit, `log position of ${where}`)
  // The log starts with the server's own records, so no event sits at 0: a 0 here is the protobuf
  // default of a position the server did not send, which is what servers before 22.6 do on
  // stream reads (the client cannot tell the difference).
  if (value === 0) throw new Error(`EventStoreDB returned ${where} without its $all position (log position 0); stream reads carry it from server version 22.6 on: upgrade EventStoreDB`)
  return value
}

/** Where a read or subscription must start to see every event after the port position `after`. */
export function fromPortPosition(after: number): ReadPosition {
  if (after === 0) return START
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`a position must be an integer >= 0, got ${after}`)
  const offset = BigInt(after)
  return { commit: offset, prepare: offset }
}

/** `$all` order of two EventStoreDB positions: commit first, then prepare. */
export function isAfter(position: Position | undefined, than: Position): boolean {
  if (position === undefined) return false
  return position.commit > than.commit || (position.commit === than.commit && position.prepare > than.prepare)
}

/** A client event as the port's RecordedEvent. */
export function toRecordedEvent(event: ClientRecordedEvent): RecordedEvent {
  const where = `${event.streamId}@${event.revision}`
  return {
    streamId: event.streamId,
    revision: toSafeNumber(event.revision, `revision of ${where}`),
    position: toPortPosition(event.position, where),
    id: event.id,
    type: event.type,
    // JSON events come back parsed; events written by other tools as binary stay bytes.
    data: event.data as unknown,
    ...unwrapStoredMetadata(event.metadata === undefined ? null : (event.metadata as unknown)),
    recordedAt: event.created.toISOString(),
  }
}

/**
 * The client hands metadata back parsed, so the chain's header (integrity.ts) is taken apart here
 * as an object: `{ integrity: { prev, hash }, meta }`, exactly those keys, is a chained event's.
 */
export function unwrapStoredMetadata(stored: unknown): { readonly metadata: unknown; readonly integrity: EventIntegrity | undefined } {
  if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) {
    const keys = Object.keys(stored)
    const { integrity, meta } = stored as { integrity?: { prev?: unknown; hash?: unknown }; meta?: unknown }
    if (keys.length === 2 && keys[0] === 'integrity' && keys[1] === 'meta' && typeof integrity?.prev === 'string' && typeof integrity.hash === 'string') {
      return { metadata: meta, integrity: { prev: integrity.prev, hash: integrity.hash } }
    }
  }
  return { metadata: stored, integrity: undefined }
}

/**
 * The hash an event appended after `event` links to. The client parsed what it read; JSON.parse
 * then JSON.stringify gives back the very text that JSON.stringify wrote, so an event from before
 * the chain hashes as it was stored.
 */
export function linkOfRecorded(event: RecordedEvent): string {
  if (event.integrity !== undefined) return event.integrity.hash
  return linkHashOf({ streamId: event.streamId, revision: event.revision, eventId: event.id, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) })
}

/** What an append needs to know about its stream: every event id, and the last event. */
export interface StreamState {
  /** Revision of the last event, NO_STREAM (-1) when the stream does not exist. */
  readonly lastRevision: number
  /** Port position of the last event, 0 when the stream does not exist. */
  readonly lastPosition: number
  readonly eventIds: ReadonlySet<string>
  /** The hash the next event of the stream links to (the genesis hash for a missing stream). */
  readonly lastLink: string
}

export function streamStateOf(events: readonly RecordedEvent[]): StreamState {
  const last = events.at(-1)
  return {
    lastRevision: last?.revision ?? NO_STREAM,
    lastPosition: last?.position ?? 0,
    eventIds: new Set(events.map((event) => event.id)),
    lastLink: last === undefined ? GENESIS_HASH : linkOfRecorded(last),
  }
}

export type AppendPlan =
  | { readonly kind: 'noop'; readonly result: AppendResult }
  | { readonly kind: 'write'; readonly events: readonly SerializedEvent[]; readonly expectedRevision: AppendExpectedRevision }

/**
 * The port's append rules against the stream as read: known ids are dropped; if none is left the
 * append is a no-op returning the stream's last revision and position (no revision check);
 * otherwise the caller's expected revision must hold (ConcurrencyError) and the write is pinned to
 * the observed revision.
 */
export function planAppend(streamId: string, events: readonly SerializedEvent[], expected: ExpectedRevision, state: StreamState): AppendPlan {
  const fresh = newEventsOnly(events, (id) => state.eventIds.has(id))
  if (fresh.length === 0 && state.lastRevision !== NO_STREAM) {
    return { kind: 'noop', result: { nextRevision: state.lastRevision, position: state.lastPosition } }
  }
  assertExpectedRevision(streamId, expected, state.lastRevision)
  // Chained against the stream as read; the write is pinned to that revision, so the link holds.
  return { kind: 'write', events: chainEvents(streamId, state.lastRevision + 1, state.lastLink, fresh), expectedRevision: observedRevision(state.lastRevision) }
}

/** The client's expected revision meaning "exactly the state that was read". */
export function observedRevision(lastRevision: number): AppendExpectedRevision {
  return lastRevision === NO_STREAM ? CLIENT_NO_STREAM : BigInt(lastRevision)
}

/**
 * The client's CurrentRevision as the port's ConcurrencyError.actual (-1 = no stream). The client
 * says "no stream" as `'no_stream'`, but when it builds the error from the gRPC status metadata it
 * copies the server's number, which for a missing stream is -1.
 */
export function toActualRevision(current: CurrentRevision): number {
  return current === CLIENT_NO_STREAM || current < 0n ? NO_STREAM : toSafeNumber(current, 'current revision')
}

export function toConcurrencyError(streamId: string, expected: ExpectedRevision, error: WrongExpectedVersionError): ConcurrencyError {
  return new ConcurrencyError(streamId, expected, toActualRevision(error.actualVersion))
}

/**
 * What to do after the server rejected a planned write (the stream moved since it was read),
 * given the stream as read again:
 * - every id of the batch is there now (a racing retry wrote them): the no-op result;
 * - the caller expected an exact state (`no_stream` or a revision): the server's verdict stands,
 *   ConcurrencyError with the revision it reported;
 * - `'any'` / `'stream_exists'`: plan again against the new state.
 */
export function afterWrongExpectedVersion(
  streamId: string,
  events: readonly SerializedEvent[],
  expected: ExpectedRevision,
  error: WrongExpectedVersionError,
  state: StreamState,
): AppendPlan {
  if (state.lastRevision !== NO_STREAM && events.every((event) => state.eventIds.has(event.id))) {
    return { kind: 'noop', result: { nextRevision: state.lastRevision, position: state.lastPosition } }
  }
  if (expected === 'no_stream' || typeof expected === 'number') throw toConcurrencyError(streamId, expected, error)
  return planAppend(streamId, events, expected, state)
}

export function isWrongExpectedVersion(error: unknown): error is WrongExpectedVersionError {
  return error instanceof WrongExpectedVersionError
}

/**
 * Failures worth another attempt once the client has reconnected: the server is unreachable or
 * restarting, the node is no longer the leader (the client reconnects to the new one), the call
 * ran out of time, or the server cancelled a long call. A retried append is safe — the retry reads
 * the stream and skips the ids the first attempt may have written.
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof NotLeaderError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof CancelledError
  )
}

/** Delay before reconnect attempt `attempt` (1-based): 100 ms doubling, at most 5 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, attempt - 1))
}

/** A client failure as a plain Error naming the operation (vendor types stay in the adapter). */
export function toStoreError(error: unknown, operation: string): Error {
  if (error instanceof ConcurrencyError) return error
  const message = error instanceof Error ? error.message : String(error)
  const type = typeof error === 'object' && error !== null && 'type' in error ? ` ${String((error as { type: unknown }).type)}:` : ''
  return new Error(`Event store (EventStoreDB) ${operation} failed:${type} ${message}`, { cause: error })
}

/** The connection string for messages and logs: a password in it (esdb://user:pass@…) is masked. */
export function redactConnectionString(connectionString: string): string {
  return connectionString.replace(/^([a-z+]+:\/\/[^:@/]+):[^@/]*@/i, '$1:***@')
}

/**
 * One page of `$all` as the client reads it: at most `limit` records from `from` in `direction`,
 * the server's own events included. Whether the record at `from` itself comes back is left open:
 * the scans below work either way.
 */
export type ReadAllPage = (from: ReadPosition, direction: Direction, limit: number) => AsyncIterable<AllStreamResolvedEvent>

export function checkPageSize(pageSize: number): void {
  // A page must be able to hold its start record and one more, or an inclusive read never moves.
  if (!Number.isSafeInteger(pageSize) || pageSize < 2) throw new RangeError(`the $all page size must be an integer >= 2, got ${pageSize}`)
}

/**
 * Events of user streams (and of `streamPrefix`, if given) after the port position `after`, in
 * `$all` order, at most `maxCount`. The cursor between pages is the exact EventStoreDB position of
 * the last record read, whichever stream it belongs to, so a page of nothing but server events
 * still moves it on.
 */
export async function scanAllForward(readPage: ReadAllPage, pageSize: number, after: number, maxCount: number, streamPrefix: string | undefined): Promise<RecordedEvent[]> {
  checkPageSize(pageSize)
  const result: RecordedEvent[] = []
  if (maxCount <= 0) return result
  let cursor: Position | undefined
  for (;;) {
    let count = 0
    let last: Position | undefined
    for await (const resolved of readPage(cursor ?? fromPortPosition(after), FORWARDS, pageSize)) {
      count++
      const event = resolved.event
      if (event === undefined) continue
      if (cursor !== undefined && !isAfter(event.position, cursor)) continue
      last = event.position
      // Server events are skipped before mapping: their positions are the server's business.
      if (!includeStream(event.streamId, undefined)) continue
      const recorded = toRecordedEvent(event)
      if (recorded.position <= after || !includeStream(recorded.streamId, streamPrefix)) continue
      result.push(recorded)
      if (result.length >= maxCount) return result
    }
    if (count < pageSize || last === undefined) return result
    cursor = last
  }
}

/** Port position of the newest event of a user stream, 0 when there is none. */
export async function newestUserPosition(readPage: ReadAllPage, pageSize: number): Promise<number> {
  checkPageSize(pageSize)
  let cursor: Position | undefined
  for (;;) {
    let count = 0
    let oldest: Position | undefined
    for await (const resolved of readPage(cursor ?? END, BACKWARDS, pageSize)) {
      count++
      const event = resolved.event
      if (event === undefined) continue
      if (cursor !== undefined && !isAfter(cursor, event.position)) continue
      if (includeStream(event.streamId, undefined)) return toPortPosition(event.position, `${event.streamId}@${event.revision}`)
      oldest = event.position
    }
    if (count < pageSize || oldest === undefined) return 0
    cursor = oldest
  }
}
