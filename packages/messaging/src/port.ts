/**
 * The message bus port: what every service may assume about the bus, whichever adapter
 * (in-memory for standalone mode and tests, Kafka for the distributed stack) sits behind it.
 * The shape follows Kafka's so a kafkajs adapter can implement it without changing callers;
 * vendor types never cross this line.
 *
 * Semantics every adapter keeps (checked by `busContract`):
 * - **At-least-once delivery.** A message is handed to a group's handler until the handler
 *   succeeds or the message is dead-lettered; after a crash, a close during a failure or a
 *   rebalance it may be handed out again, so handlers must be idempotent.
 * - **Per-key order.** Messages with the same key go to the same partition; within a
 *   consumer group a partition's messages are handled one at a time, in offset order.
 * - **Commit after success.** A group's committed offset for a partition advances past a
 *   message only once its handler resolved (or the message was dead-lettered).
 * - **Groups.** Every consumer group gets every message; within one group the subscribers
 *   share the partitions (each partition is served by one subscriber at a time).
 * - **Dead letters.** A message whose value is not JSON or fails the subscriber's `schema`
 *   never reaches the handler; a handler that keeps throwing is retried with back-off up to
 *   `maxAttempts`, or not at all when it throws `NonRetriableError`. Either way a
 *   `DeadLetterRecord` is published to `TOPICS.deadLetter` (same key, same headers), the
 *   offset is committed and the consumer moves on: one bad message never blocks a partition.
 */
import { z } from 'zod'

/** Topic names of the event flow; the version suffix changes only with an incompatible value schema. */
export const TOPICS = {
  /** Case requests from channel adapters, before validation. */
  intake: 'civic.intake.v1',
  /** Intake messages that failed validation, with the reason. */
  intakeRejected: 'civic.intake.rejected.v1',
  /** Every case event, relayed from the event store; key = caseId. */
  caseEvents: 'civic.case-events.v1',
  /** Assignments for external department systems; key = department code. */
  assignments: 'civic.assignments.v1',
  /** `DeadLetterRecord`s of messages a consumer could not handle. */
  deadLetter: 'civic.dead-letter.v1',
} as const

/** One of the known topic names. */
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS]

/** A message as handed to `publish`. */
export interface OutgoingMessage {
  /** Partitioning key: messages with the same key keep their order (e.g. a caseId). */
  readonly key: string
  /** Any JSON-serialisable value; it travels as JSON text, so only what JSON keeps arrives. */
  readonly value: unknown
  readonly headers?: Readonly<Record<string, string>>
}

/** A message as delivered to a handler; `V` is the schema's output, `unknown` without a schema. */
export interface BusMessage<V = unknown> {
  readonly topic: string
  /** 0-based partition the key hashed to. */
  readonly partition: number
  /** Position in the partition, as a decimal string like Kafka's (offsets can exceed 2^53). */
  readonly offset: string
  readonly key: string
  /** The parsed JSON value, after the subscriber's schema when one was given. */
  readonly value: V
  /** Always an object; empty when the producer sent none. */
  readonly headers: Readonly<Record<string, string>>
  /** ISO-8601 UTC time the bus accepted the message. */
  readonly timestamp: string
}

/** Default of `SubscribeOptions.maxAttempts`. */
export const DEFAULT_MAX_ATTEMPTS = 5
/** Default of `SubscribeOptions.retryBackoffMs`. */
export const DEFAULT_RETRY_BACKOFF_MS = 100
/** Upper bound of one back-off wait, whatever the attempt number. */
export const MAX_RETRY_BACKOFF_MS = 30_000

export interface SubscribeOptions<V = unknown> {
  readonly topic: string
  /** Consumer group: offsets are committed per group; subscribers of one group share partitions. */
  readonly groupId: string
  /**
   * Where a group with no committed offset starts: `true` = the oldest retained message,
   * `false` (default) = only messages published after `subscribe` resolved. Ignored once
   * the group has committed offsets: it then always continues after them.
   *
   * `'always'`: from the oldest retained message at every subscribe that finds the group without
   * members, whatever it committed before. For a consumer that keeps what it reads in memory only
   * and must read it all again after a restart, under one stable group id (a new group per start
   * would leave one more group behind on the broker each time). A group with members is joined
   * where it stands.
   */
  readonly fromBeginning?: boolean | 'always'
  /** Validates (and may transform) each value; a failing value is dead-lettered as `invalid`. */
  readonly schema?: z.ZodType<V>
  /**
   * Handles one message; resolve = done (the offset is committed), throw = retry with
   * back-off, throw `NonRetriableError` = dead-letter at once.
   */
  readonly handler: (message: BusMessage<NoInfer<V>>) => Promise<void>
  /**
   * Messages this returns true for (by their headers alone) are passed over: committed without
   * being decoded, checked or handed to the handler. For a group that wants a few kinds of
   * message of a busy topic (the case events carry their type in a header). A hint: an adapter
   * may also hand such a message to the handler, which must then pass it over itself (the
   * Kafka adapter skips them; the in-process adapters deliver everything).
   */
  readonly skip?: (headers: Readonly<Record<string, string>>) => boolean
  /** Handler calls per message before it is dead-lettered as `failed`. Default 5, at least 1. */
  readonly maxAttempts?: number
  /** Wait before the 2nd attempt; doubles per attempt, capped at 30 s. Default 100 ms. */
  readonly retryBackoffMs?: number
}

/** A running subscription (one member of a consumer group). */
export interface BusSubscription {
  readonly topic: string
  readonly groupId: string
  /**
   * Leaves the group: no new message is handed to this handler, a pending retry back-off is
   * cut short (that message stays uncommitted, so the group gets it again), the handler call
   * in flight is awaited and, if it succeeded, committed. Resolves then. Idempotent.
   */
  close(): Promise<void>
}

export interface Bus {
  /**
   * Publishes messages to a topic. Resolves once the adapter accepted all of them durably
   * (memory: queued; Kafka: acknowledged by the brokers); delivery happens later, never
   * inside this call. Rejects with a `TypeError`, publishing nothing, when a value is not
   * JSON-serialisable or a header value is not a string. The batch is not atomic across
   * partitions: after any other rejection some messages may be published (retry is safe,
   * consumers are idempotent).
   */
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>
  /**
   * Joins `groupId` on `topic` and starts handing messages to `handler`. Resolves once the
   * subscriber is part of its group and positioned, so any message published after that is
   * delivered to the group.
   */
  subscribe<V = unknown>(options: SubscribeOptions<V>): Promise<BusSubscription>
  /** Closes every subscription (as `BusSubscription.close`), then the bus. Idempotent. */
  close(): Promise<void>
}

/**
 * Thrown by a handler to say "retrying cannot help" (e.g. the message refers to a case that
 * cannot exist): the message is dead-lettered at once as `failed`.
 */
export class NonRetriableError extends Error {
  override readonly name = 'NonRetriableError'
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options)
  }
}

const DeadLetterBase = z.strictObject({
  error: z.strictObject({
    /** `invalid`: not JSON or failed the schema (never handed to the handler); `failed`: the handler gave up. */
    kind: z.enum(['invalid', 'failed']),
    message: z.string(),
  }),
  /** Coordinates of the original message, to find or replay it. */
  source: z.strictObject({
    topic: z.string(),
    partition: z.number().int().nonnegative(),
    offset: z.string().regex(/^\d+$/),
    key: z.string(),
    groupId: z.string(),
  }),
  /** Handler calls made; 0 when the message was invalid. */
  attempts: z.number().int().nonnegative(),
  failedAt: z.iso.datetime(),
})

/**
 * What the bus publishes to `TOPICS.deadLetter`: `rawValue` (the text as received) when the
 * value was not JSON, otherwise the parsed `value`.
 */
export const DeadLetterRecord = z.union([DeadLetterBase.extend({ rawValue: z.string() }), DeadLetterBase.extend({ value: z.json() })])
export type DeadLetterRecord = z.infer<typeof DeadLetterRecord>
