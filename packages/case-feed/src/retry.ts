/**
 * The retry policy of the log's readers, on p-retry (the one back-off library of the project):
 * infrastructure failures (the store, the bus) are retried with a doubling wait until they heal
 * or the caller stops.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import pRetry, { AbortError } from 'p-retry'


/** First wait after a failure, doubling per failure in a row. */
export const DEFAULT_RETRY_MIN_MS = 100
/** Longest wait between two attempts: every reader waits for the log after an outage, so not long. */
export const DEFAULT_RETRY_MAX_MS = 5_000

export interface RetryOptions {
  /** Stops retrying: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined
  /** Called after each failed attempt with the error, the attempt number (1-based) and the wait before the next one. */
  readonly onFailedAttempt?: (error: Error, attempt: number, retryInMs: number) => void
  /** Attempts in all; default unlimited. */
  readonly attempts?: number
  readonly minTimeoutMs?: number
  readonly maxTimeoutMs?: number
  /** Return false to give up at once (the error is thrown). Default: retry everything. */
  readonly shouldRetry?: (error: Error) => boolean
}

/**
 * An error p-retry retries like any other: it would give up at once on a plain TypeError (a bug,
 * it assumes) and it refuses non-Error throws; our operations' failures are all worth another try
 * unless the caller says otherwise.
 */
function retriable(error: unknown): Error {
  if (error instanceof Error && !(error instanceof TypeError)) return error
  const wrapper = new Error(error instanceof Error ? error.message : String(error), { cause: error })
  wrapped.add(wrapper)
  return wrapper
}

/** Errors made by `retriable`: the caller's callbacks see the original. */
const wrapped = new WeakSet<Error>()
const original = (error: Error): Error => (wrapped.has(error) && error.cause instanceof Error ? error.cause : error)

/**
 * The wait after failed attempt `attempt` (1-based) as `retrying` takes it: `minMs`, doubling,
 * capped at `maxMs`. For code that cannot wait in a loop, such as a scheduler that files a failed
 * job again in its agenda, so its back-off is the same as everyone else's.
 */
export function retryDelayMs(attempt: number, options: { readonly minMs?: number; readonly maxMs?: number } = {}): number {
  const minMs = options.minMs ?? DEFAULT_RETRY_MIN_MS
  const maxMs = options.maxMs ?? DEFAULT_RETRY_MAX_MS
  return Math.min(minMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 40), maxMs)
}

/**
 * Runs `operation` until it succeeds, waiting 100 ms, 200 ms, … at most 5 s between attempts (by
 * default). Almost every call succeeds at once, so the first attempt runs as a plain call; p-retry
 * paces the attempts after a failure. `onFailedAttempt` hears of every failed attempt, the last
 * and a refused one included.
 */
export async function retrying<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, shouldRetry, onFailedAttempt } = options
  const minMs = options.minTimeoutMs ?? DEFAULT_RETRY_MIN_MS
  const maxMs = options.maxTimeoutMs ?? DEFAULT_RETRY_MAX_MS
  const attempts = options.attempts ?? Number.POSITIVE_INFINITY
  /** Reports a failed attempt; true when another one may follow. */
  const failed = (error: unknown, attempt: number): boolean => {
    const failure = error instanceof Error ? error : new Error(String(error))
    onFailedAttempt?.(failure, attempt, retryDelayMs(attempt, { minMs, maxMs }))
    return attempt < attempts && (shouldRetry === undefined || shouldRetry(failure))
  }

  signal?.throwIfAborted()
  try {
    return await operation(1)
  } catch (error) {
    if (!failed(error, 1)) throw error
  }
  await sleep(retryDelayMs(1, { minMs, maxMs }), undefined, signal === undefined ? {} : { signal }).catch(() => {
    throw signal?.reason
  })
  const run = pRetry(
    async (attemptInRun) => {
      const attempt = attemptInRun + 1
      try {
        return await operation(attempt)
      } catch (error) {
        if (!failed(error, attempt)) throw new AbortError(error instanceof Error ? error : new Error(String(error)))
        throw retriable(error)
      }
    },
    {
      // The waits go on from the second: 2 × min, 4 × min, … (p-retry doubles minTimeout per retry).
      retries: Number.isFinite(attempts) ? Math.max(0, attempts - 2) : Number.POSITIVE_INFINITY,
      minTimeout: Math.min(minMs * 2, maxMs),
      maxTimeout: maxMs,
      factor: 2,
      ...(signal === undefined ? {} : { signal }),
    },
  )
  return run.catch((error: unknown) => {
    throw error instanceof Error ? original(error) : error
  })
}
