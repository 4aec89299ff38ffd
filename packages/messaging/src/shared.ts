/**
 * Pieces every Bus adapter needs the same way: serialising outgoing messages, decoding and
 * validating delivered values, retry back-off and dead-letter records. Internal to the
 * package, so the memory and Kafka adapters cannot drift apart on these rules.
 */
import type { z } from 'zod'
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BACKOFF_MS,
  MAX_RETRY_BACKOFF_MS,
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

/** Wait after failed attempt `attempt` (1-based): base, 2×base, 4×base … capped. */
export const backoffMs = (attempt: number, base: number): number => Math.min(base * 2 ** (attempt - 1), MAX_RETRY_BACKOFF_MS)

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
