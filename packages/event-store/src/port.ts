/**
 * The event store port: what every service may assume about the store, whichever adapter
 * (memory, sqlite, EventStoreDB) sits behind it. Vendor types never cross this line.
 */
import type { EventIntegrity } from './integrity.ts'

/** An event as handed to `append`. `id` is a UUID chosen by the caller (idempotency key). */
export interface EventToAppend {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata?: unknown
}

/** An event as read back from the store. */
export interface RecordedEvent {
  readonly streamId: string
  /** 0-based position of the event inside its stream. */
  readonly revision: number
  /** 1-based position in the store's global log; strictly increasing, never reused. */
  readonly position: number
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
  /** ISO-8601 UTC time the store recorded the event. */
  readonly recordedAt: string
  /**
   * The event's link in its stream's hash chain, as stored in its metadata (see integrity.ts);
   * undefined for an event stored before the chain existed. `metadata` is the caller's own.
   */
  readonly integrity?: EventIntegrity | undefined
}

/** An event's place in the global log and its link hash, as `readLinks` hands it out. */
export interface EventLink {
  readonly position: number
  readonly streamId: string
  readonly revision: number
  readonly type: string
  /** The event's hash (stored, or computed for an event from before the chain). */
  readonly hash: string
  /** The event's data, for the events of the stream asked for; undefined otherwise. */
  readonly data: unknown
}

/**
 * What the caller believes about the stream before appending:
 * - `'no_stream'`: the stream must not exist yet (creation; uniqueness constraints);
 * - `'any'`: no check;
 * - `'stream_exists'`: the stream must exist;
 * - a number: the revision of the stream's last event must be exactly this.
 */
export type ExpectedRevision = 'no_stream' | 'any' | 'stream_exists' | number

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  readonly nextRevision: number
  /** Global position of the stream's last written event (the last event of this batch). */
  readonly position: number
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive). Default 0. */
  readonly fromRevision?: number
  /** Most events to return (after `excludeTypes` left some out). */
  readonly maxCount?: number
  /**
   * Leave out events of these types; the store does not even read their data. For readers that
   * need none of a stream's bulky events (a public view without the internal notes), so that their
   * cost does not grow with them.
   */
  readonly excludeTypes?: readonly string[]
}

export interface ReadAllOptions {
  /** Return events with a global position strictly greater than this. Default 0 (from the start). */
  readonly after?: number
  readonly maxCount?: number
  /** Only streams whose id starts with this prefix (e.g. `case-`). */
  readonly streamPrefix?: string
}

export interface SubscribeToAllOptions {
  /** Deliver events with a global position strictly greater than this (a checkpoint). Default 0. */
  readonly after?: number
  readonly streamPrefix?: string
  /** Called once if the handler throws or the store fails; the subscription is then closed. */
  readonly onError?: (error: unknown) => void
}

export interface Subscription {
  /** Stops delivery; resolves once no handler call is running. */
  close(): Promise<void>
  /** Position of the last event handed to the handler and completed. */
  readonly position: number
}

export interface EventStore {
  /**
   * Appends events to one stream atomically. Resolves only once the events are durable.
   * Events whose id already exists in the stream are skipped (idempotent retry); if every
   * event of the batch already exists the call is a no-op and the expected revision is not checked.
   * @throws ConcurrencyError when the expected revision does not hold.
   */
  append(streamId: string, events: readonly EventToAppend[], options: { readonly expectedRevision: ExpectedRevision }): Promise<AppendResult>
  /** Events of one stream in order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>
  /** Events of the global log in global order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>
  /**
   * Catch-up subscription to the global log: delivers every stored event after `after`, then
   * live ones, in global order, each exactly once per subscription, awaiting the handler.
   */
  subscribeToAll(options: SubscribeToAllOptions, handler: (event: RecordedEvent) => Promise<void> | void): Subscription
  /** Global position of the newest event, 0 when the store is empty. */
  headPosition(): Promise<number>
  /**
   * Optional, for building the audit tree at start without reading every event's data: each event's
   * link hash (integrity.ts) after `after`, in global order, at most `maxCount`; `data` only for the
   * events of `dataOfStream`.
   */
  readLinks?(after: number, maxCount: number, options: { readonly dataOfStream: string }): Promise<EventLink[]>
  close(): Promise<void>
}

/** The expected revision did not hold: someone else appended first. Retry after re-reading. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError'
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** Revision of the stream's last event, or -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`Stream ${streamId}: expected revision ${String(expected)}, actual ${actual === -1 ? 'no stream' : actual}`)
  }
}

/**
 * A store wrapper that rewrites what it reads (the privacy package's, which opens sealed personal
 * fields) hands out new records that keep the record as stored under `STORED_FORM`, and name what
 * they hold under `RECORD_VARIANT`. Whatever leaves the process (a relayed message, a dead letter)
 * takes the stored form; a reader that caches decoded events by id caches each variant apart.
 */
export const STORED_FORM: unique symbol = Symbol('civic-desk stored form')
export const RECORD_VARIANT: unique symbol = Symbol('civic-desk record variant')

/** A record as a wrapper handed it out: the stored one it came from, and what it holds now. */
export type RewrittenRecord = RecordedEvent & { readonly [STORED_FORM]: RecordedEvent; readonly [RECORD_VARIANT]: string }

/** The record as the store holds it (itself when no wrapper rewrote it). */
export function storedFormOf(record: RecordedEvent): RecordedEvent {
  return (record as Partial<RewrittenRecord>)[STORED_FORM] ?? record
}

/** What a wrapper made of the record (e.g. `open`, `erased`), or undefined for a record as stored. */
export function recordVariantOf(record: RecordedEvent): string | undefined {
  return (record as Partial<RewrittenRecord>)[RECORD_VARIANT]
}
