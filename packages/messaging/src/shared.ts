/**
 * Pieces every Bus adapter needs the same way: serialising outgoing messages, decoding and
 * validating delivered values, handler retries with back-off and dead-letter records. Internal
 * to the package, so the memory, sqlite and Kafka adapters cannot drift apart on these rules.
 */
import { processMetrics } from '@civic-desk/service-kit'
import pRetry from 'p-retry'
import type { z } from 'zod'
import { TRACE_HEADERS, currentTrace, headersOf, inSpan, parentFrom } from '@civic-desk/tracing'
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BACKOFF_MS,
  MAX_RETRY_BACKOFF_MS,
  NonRetriableError,
  type DeadLetterRecord,
  type OutgoingMessage,
  type SubscribeOptions,
} from './port.ts'

/** An outgoing message with its value already JSON text. */
export interface SerializedMessage {
  readonly key: string
  readonly value: string
  readonly headers: Readonly<Record<string, string>>
}

/** Minimal structured logger the adapters write to (a pino logger fits). */
export interface BusLogger {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Serialises a whole batch first, so a bad message rejects the batch before anything is written. */
export function serializeBatch(topic: string, messages: readonly OutgoingMessage[]): SerializedMessage[] {
  if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('publish: topic must be a non-empty string')
  return messages.map((message, index) => {
    const where = `publish to ${topic}, message ${index}`
    if (typeof message.key !== 'string') throw new TypeError(`${where}: key must be a string`)
    let value: string | undefined
    try {
      value = JSON.stringify(message.value) as string | undefined
    } catch (error) {
      throw new TypeError(`${where}: value is not JSON-serialisable (${error instanceof Error ? error.message : String(error)})`)
    }
    // JSON.stringify returns undefined for undefined, functions and symbols.
    if (value === undefined) throw new TypeError(`${where}: value is not JSON-serialisable (${typeof message.value})`)
    const headers: Record<string, string> = {}
    for (const [name, headerValue] of Object.entries(message.headers ?? {})) {
      if (typeof headerValue !== 'string') throw new TypeError(`${where}: header ${name} must be a string`)
      headers[name] = headerValue
    }
    // A message published while handling something continues its trace (unless it names its own).
    if (headers[TRACE_HEADERS.traceparent] === undefined) Object.assign(headers, headersOf(currentTrace()))
    return { key: message.key, value, headers }
  })
}

/** Subscribe options with defaults applied and checked. */
export interface ConsumerSettings {
  readonly maxAttempts: number
  readonly retryBackoffMs: number
}

export function consumerSettings(options: SubscribeOptions<unknown>): ConsumerSettings {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS
  if (typeof options.topic !== 'string' || options.topic.length === 0) throw new TypeError('subscribe: topic must be a non-empty string')
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) throw new TypeError('subscribe: groupId must be a non-empty string')
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`subscribe: maxAttempts must be an integer >= 1, got ${maxAttempts}`)
  if (!Number.isFinite(retryBackoffMs) || retryBackoffMs < 0) throw new RangeError(`subscribe: retryBackoffMs must be >= 0, got ${retryBackoffMs}`)
  return { maxAttempts, retryBackoffMs }
}

/** Result of decoding a delivered value: either what the handler gets, or why it never will. */
export type Decoded<V> =
  | { readonly ok: true; readonly value: V }
  | { readonly ok: false; readonly message: string; readonly rawValue: string }
  | { readonly ok: false; readonly message: string; readonly value: unknown }

/** Parses the JSON text, then runs the schema (which may transform) when there is one. */
export async function decodeValue<V>(raw: string, schema: z.ZodType<V> | undefined): Promise<Decoded<V>> {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (error) {
    return { ok: false, message: `value is not JSON: ${error instanceof Error ? error.message : String(error)}`, rawValue: raw }
  }
  if (schema === undefined) return { ok: true, value: parsed as V }
  const result = await schema.safeParseAsync(parsed)
  if (result.success) return { ok: true, value: result.data }
  const issues = result.error.issues.map((issue) => `${issue.path.length === 0 ? '(root)' : issue.path.join('.')}: ${issue.message}`)
  return { ok: false, message: `value failed the schema: ${issues.join('; ')}`, value: parsed }
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

/** Builds the record published to the dead-letter topic. */
export function deadLetterRecord(input: {
  readonly kind: 'invalid' | 'failed'
  readonly message: string
  readonly source: DeadLetterRecord['source']
  readonly attempts: number
  readonly failedAt: Date
  readonly payload: { readonly rawValue: string } | { readonly value: unknown }
}): DeadLetterRecord {
  // Every reader that gives up on a message builds its record here: the one place to count them.
  processMetrics()?.deadLetters.inc({ topic: input.source.topic, kind: input.kind })
  const base = {
    error: { kind: input.kind, message: input.message },
    source: input.source,
    attempts: input.attempts,
    failedAt: input.failedAt.toISOString(),
  }
  return 'rawValue' in input.payload
    ? { ...base, rawValue: input.payload.rawValue }
    : // The value came out of JSON.parse, so it is JSON.
      ({ ...base, value: input.payload.value } as DeadLetterRecord)
}

/** Wait after failed attempt `attempt` (1-based): base, 2×base, 4×base … capped. `retryRun` waits the same (through p-retry). */
export const backoffMs = (attempt: number, base: number): number => Math.min(base * 2 ** (attempt - 1), MAX_RETRY_BACKOFF_MS)

/**
 * A failed attempt for `retryRun` to retry. p-retry, which paces the retries, gives up at once on
 * a TypeError and turns a thrown non-Error into one; the bus retries whatever a handler throws, so
 * an attempt hands its failure over wrapped in this (see `failsAsAttempt`).
 */
export class AttemptFailure extends Error {
  override readonly name = 'AttemptFailure'
  constructor(readonly thrown: unknown) {
    super(errorMessage(thrown))
  }
}

/** Runs `work`; whatever it throws comes out as an `AttemptFailure`. */
export async function failsAsAttempt<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw new AttemptFailure(error)
  }
}

/** How a `retryRun` ended. `failures` counts the failed attempts, those of earlier runs included. */
export type RetryRunOutcome<T> =
  | { readonly kind: 'settled'; readonly value: T; readonly failures: number }
  /** The last failure was not retriable, or it was attempt `maxAttempts`. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly failures: number }
  /** `signal` aborted: a wait was cut short, or the next attempt was not started. */
  | { readonly kind: 'interrupted'; readonly failures: number }

export interface RetryRunOptions<T> {
  /** One attempt, numbered from 1 across runs. An `AttemptFailure` may be retried; any other rejection ends the run and is rethrown. */
  readonly attempt: (attempt: number) => Promise<T>
  /** Failed attempts of earlier runs of the same work: numbering and `maxAttempts` go on from there. */
  readonly failuresBefore: number
  /** Attempts in all, earlier runs included; `Infinity` = until settled or interrupted. */
  readonly maxAttempts: number
  /** Wait after the first failure; doubles per failure, capped at MAX_RETRY_BACKOFF_MS. */
  readonly backoffMs: number
  /** `continue`: the waits go on growing from `failuresBefore`; `restart`: this run's first wait is `backoffMs` again. */
  readonly backoff: 'continue' | 'restart'
  /** Ends the run: cuts a wait short, or stops before the next attempt. */
  readonly signal: AbortSignal
  /** Whether what an attempt threw may be retried (not asked after the last attempt). */
  readonly retriable: (error: unknown) => boolean
  /** A failure that will be retried after `retryInMs`, unless `signal` aborts first. */
  readonly onRetry: (error: unknown, attempt: number, retryInMs: number) => void
}

/**
 * Runs `attempt` until it resolves, with exponential back-off between failures (p-retry). A run
 * ends early when `signal` aborts; callers that want to go on start another run with the
 * `failures` so far, which keeps the count of attempts (e.g. after another member took the
 * partition over, or a broker answers again after an outage).
 */
export async function retryRun<T>(options: RetryRunOptions<T>): Promise<RetryRunOutcome<T>> {
  const { failuresBefore, signal } = options
  // p-retry waits minTimeout × 2^(retries so far), capped: with minTimeout = backoffMs(steps + 1)
  // that is backoffMs(steps + retries so far + 1), the waits of a run that had `steps` before it.
  const stepsBefore = options.backoff === 'continue' ? failuresBefore : 0
  const retriable = (error: unknown): error is AttemptFailure => error instanceof AttemptFailure && options.retriable(error.thrown)
  let failures = failuresBefore
  // p-retry rejects with the abort reason after an attempt that resolved while `signal` aborted; it settled all the same.
  const result: { settled?: { readonly value: T } } = {}
  try {
    await pRetry(
      async (attemptInRun) => {
        const value = await options.attempt(failuresBefore + attemptInRun)
        result.settled = { value }
      },
      {
        retries: Math.max(0, options.maxAttempts - failuresBefore - 1),
        factor: 2,
        minTimeout: backoffMs(stepsBefore + 1, options.backoffMs),
        maxTimeout: MAX_RETRY_BACKOFF_MS,
        signal,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft, retriesConsumed }) => {
          failures = failuresBefore + attemptNumber
          if (retriesLeft > 0 && retriable(error)) options.onRetry(error.thrown, failures, backoffMs(stepsBefore + retriesConsumed + 1, options.backoffMs))
        },
        shouldRetry: ({ error }) => retriable(error),
      },
    )
  } catch (error) {
    if (result.settled === undefined) {
      if (error instanceof AttemptFailure) return { kind: 'failed', error: error.thrown, failures }
      if (signal.aborted && error === signal.reason) return { kind: 'interrupted', failures }
      throw error
    }
  }
  if (result.settled === undefined) throw new Error('retryRun: p-retry resolved without a settled attempt')
  return { kind: 'settled', value: result.settled.value, failures }
}

/** `retryRun` options of a subscriber's handler: its maxAttempts and back-off; a NonRetriableError is not retried. */
export const handlerRetries = (settings: ConsumerSettings): Pick<RetryRunOptions<unknown>, 'maxAttempts' | 'backoffMs' | 'retriable'> => ({
  maxAttempts: settings.maxAttempts,
  backoffMs: settings.retryBackoffMs,
  retriable: (error) => !(error instanceof NonRetriableError),
})

/** A member of a memory or sqlite bus consumer group. */
export interface LocalMember {
  readonly options: SubscribeOptions<unknown>
  readonly settings: ConsumerSettings
  /** Aborted on close: cuts retry back-offs short. */
  readonly abort: AbortController
  /** Messages this member is settling (handler attempts, their commits and back-offs); close awaits them. */
  readonly inFlight: Set<Promise<unknown>>
}

/** The member that serves `partition`: members share a group's partitions round-robin, in join order. */
export const servingMember = <M>(members: readonly M[], partition: number): M | undefined => (members.length === 0 ? undefined : members[partition % members.length])

/**
 * Settles one stored message in a group whose members come and go (memory and sqlite buses): the
 * value is decoded and handed to the handler of the member serving the partition, with the
 * back-off between attempts; when that member leaves, or another one takes the partition over,
 * the next one goes on with the count of attempts and the back-off where they were. An invalid
 * value, or a handler that fails for good, is dead-lettered; either way the offset is committed.
 * Resolves true once the message is settled, false when no member serves the partition.
 */
export async function settleInGroup<M extends LocalMember>(message: {
  /** The member serving the partition now. */
  readonly servedBy: () => M | undefined
  readonly source: DeadLetterRecord['source']
  /** The value as stored: JSON text (unless a raw publish wrote something else). */
  readonly value: string
  /** A fresh copy of the headers, for each use. */
  readonly headers: () => Record<string, string>
  readonly timestamp: string
  /** Stores a dead letter; before `commit`, so both are written together. */
  readonly deadLetter: (record: DeadLetterRecord) => void
  readonly commit: () => void
  readonly logger: BusLogger | undefined
}): Promise<boolean> {
  const { source } = message
  let failures = 0
  for (;;) {
    const member = message.servedBy()
    if (member === undefined) return false
    const settling = (async (): Promise<boolean> => {
      const run = await retryRun({
        ...handlerRetries(member.settings),
        attempt: async (attempt) => {
          // Another member took the partition over during the back-off: it makes the next attempt.
          if (message.servedBy() !== member) return false
          // Decoded per attempt, so a handler that mutated the value gets a fresh one on retry.
          const decoded = await decodeValue(message.value, member.options.schema)
          if (decoded.ok) {
            const value = decoded.value
            const headers = message.headers()
            await failsAsAttempt(() => consumeInSpan(source.topic, source.groupId, headers, () => member.options.handler({ ...source, value, headers, timestamp: message.timestamp })))
          } else {
            const payload = 'rawValue' in decoded ? { rawValue: decoded.rawValue } : { value: decoded.value }
            message.deadLetter(deadLetterRecord({ kind: 'invalid', message: decoded.message, source, attempts: attempt - 1, failedAt: new Date(), payload }))
          }
          message.commit()
          return true
        },
        failuresBefore: failures,
        backoff: 'continue',
        // Leaving the group: the message stays uncommitted and goes to whoever serves the partition next.
        signal: member.abort.signal,
        onRetry: (error, attempt) => message.logger?.warn({ ...source, offset: Number(source.offset), attempt, err: error }, 'handler failed; will retry'),
      })
      failures = run.failures
      if (run.kind === 'failed') {
        message.deadLetter(deadLetterRecord({ kind: 'failed', message: errorMessage(run.error), source, attempts: run.failures, failedAt: new Date(), payload: { value: JSON.parse(message.value) as unknown } }))
        message.commit()
      }
      return run.kind === 'failed' || (run.kind === 'settled' && run.value)
    })()
    member.inFlight.add(settling)
    try {
      if (await settling) return true
    } finally {
      member.inFlight.delete(settling)
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** FNV-1a over the key's UTF-8 bytes: stable across processes and runs. */
export function partitionFor(key: string, partitions: number): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash % partitions
}

/**
 * Runs a handler in a consumer span: a child of the message's `traceparent`, else (a producer
 * that sends none, such as a channel adapter on the intake topic) the first span of a new trace.
 */
export function consumeInSpan<T>(topic: string, groupId: string, headers: Readonly<Record<string, string>>, handle: () => Promise<T>): Promise<T> {
  return inSpan(`process ${topic}`, {
    kind: 'consumer',
    parent: parentFrom(headers[TRACE_HEADERS.traceparent], headers[TRACE_HEADERS.tracestate]),
    attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.consumer.group.name': groupId, 'messaging.operation.type': 'process' },
  }, handle)
}
