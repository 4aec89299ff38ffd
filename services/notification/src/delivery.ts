/**
 * Sending with retries: transient provider failures (a gateway's 503, an SMTP 421, a timeout)
 * are retried with exponential back-off; permanent ones (a 550 mailbox, a 400 bad number) end the
 * attempt at once. Providers receive the notification id as an idempotency key, so a retry after
 * an ambiguous failure does not reach the citizen twice.
 */
import { retryDelayMs, retrying } from '@civic-desk/case-feed'
import { ProviderError, isAborted, type NotificationProvider, type OutgoingNotification } from './providers.ts'

/** Attempts per notification when none are configured. */
export const DEFAULT_MAX_ATTEMPTS = 5

/** Wait before the first retry; it doubles for each further one. */
export const DEFAULT_BACKOFF_MS = 500

/** Longest wait between two attempts. */
export const MAX_BACKOFF_MS = 30_000

/** The logging `sendWithRetry` needs (a service-kit `Logger` fits). */
export interface DeliveryLogger {
  warn(obj: object, msg: string): void
}

/** Options of `sendWithRetry`. */
export interface SendWithRetryOptions {
  /** Attempts in total, at least 1. Default `DEFAULT_MAX_ATTEMPTS`. */
  readonly maxAttempts?: number
  /** Wait before the first retry, doubled for each further one, capped at `MAX_BACKOFF_MS`. Default `DEFAULT_BACKOFF_MS`. */
  readonly backoffMs?: number
  /** Shutdown: stops the current attempt and the wait, and `sendWithRetry` rejects with `AbortError`. */
  readonly signal?: AbortSignal
  readonly logger?: DeliveryLogger
}

/** Why delivery failed, in a form fit for a log line or a failure event. */
export interface DeliveryFailure {
  readonly code: string
  readonly message: string
  readonly retriable: boolean
}

/** Outcome of `sendWithRetry`. */
export type DeliveryResult =
  | { readonly ok: true; readonly providerMessageId: string; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly error: DeliveryFailure }

/**
 * Delivery was stopped by the caller's signal (shutdown). Not a delivery failure: the caller should
 * not record one, and the notification goes out when the work is picked up again.
 */
export class AbortError extends Error {
  override readonly name = 'AbortError'
  constructor(cause: unknown) {
    super('Notification delivery was aborted', { cause })
  }
}

/** The error of one attempt, reduced to what the retry decision and the caller need. */
function failureOf(error: unknown): DeliveryFailure {
  if (error instanceof ProviderError) return { code: error.code, message: error.message, retriable: error.retriable }
  // An error that is not a ProviderError is a bug or an unforeseen failure: retry it, the
  // provider's idempotency keeps that safe.
  return { code: 'unexpected-error', message: error instanceof Error ? error.message : String(error), retriable: true }
}

/** The back-off before attempt `attempt + 1`: base, 2·base, 4·base, … capped (the project's retry policy, as `sendWithRetry` waits). */
export function backoffDelay(attempt: number, baseMs: number): number {
  return retryDelayMs(attempt, { minMs: baseMs, maxMs: MAX_BACKOFF_MS })
}


/**
 * Sends a notification through `provider`, retrying retriable failures (and unknown errors) up to
 * `maxAttempts` with doubling back-off. Resolves `{ ok: false }` on a non-retriable failure or when
 * the attempts run out; rejects only with `AbortError` when `signal` aborts. Each failed attempt is
 * logged at warn with the notification id (never the recipient or the text: personal data).
 */
export async function sendWithRetry(provider: NotificationProvider, notification: OutgoingNotification, options: SendWithRetryOptions = {}): Promise<DeliveryResult> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  const backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`)
  if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new RangeError(`backoffMs must be a number >= 0, got ${backoffMs}`)
  const { signal, logger } = options
  const aborted = (): boolean => signal !== undefined && isAborted(signal)
  let attempts = 0
  try {
    // The project's retry policy (p-retry through the case feed): retriable failures and unknown
    // errors again after backoffMs, doubling up to MAX_BACKOFF_MS; a permanent one ends at once.
    const { providerMessageId } = await retrying(
      async () => {
        if (aborted()) throw new AbortError(signal?.reason)
        attempts++
        try {
          return await provider.send(notification, signal)
        } catch (error) {
          // A failure caused by the shutdown is not the provider's: no log line, no failure result.
          if (aborted()) throw new AbortError(signal?.reason)
          throw error
        }
      },
      {
        attempts: maxAttempts,
        minTimeoutMs: backoffMs,
        maxTimeoutMs: MAX_BACKOFF_MS,
        signal,
        shouldRetry: (error) => !(error instanceof AbortError) && failureOf(error).retriable,
        onFailedAttempt: (error, attempt, retryInMs) => {
          if (error instanceof AbortError) return
          const failure = failureOf(error)
          const willRetry = failure.retriable && attempt < maxAttempts
          logger?.warn(
            {
              notificationId: notification.id,
              caseId: notification.caseId,
              channel: notification.channel,
              provider: provider.name,
              attempt,
              maxAttempts,
              code: failure.code,
              retriable: failure.retriable,
              ...(willRetry ? { retryInMs } : {}),
              error: failure.message,
            },
            willRetry ? 'notification delivery failed; will retry' : 'notification delivery failed; giving up',
          )
        },
      },
    )
    return { ok: true, providerMessageId, attempts }
  } catch (error) {
    if (error instanceof AbortError) throw error
    if (aborted()) throw new AbortError(signal?.reason)
    return { ok: false, attempts, error: failureOf(error) }
  }
}
