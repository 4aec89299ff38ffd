/**
 * The retry policy of the log's readers, on p-retry (the one back-off library of the project):
 * infrastructure failures (the store, the bus) are retried with a doubling wait until they heal
 * or the caller stops.
 */
import pRetry, { AbortError } from 'p-retry'

export { AbortError }

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

/** Runs `operation` until it succeeds, waiting 100 ms, 200 ms, … at most 5 s between attempts (by default). */
export function retrying<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const shouldRetry = options.shouldRetry
  const minTimeout = options.minTimeoutMs ?? DEFAULT_RETRY_MIN_MS
  const maxTimeout = options.maxTimeoutMs ?? DEFAULT_RETRY_MAX_MS
  const run = pRetry(
    async (attempt) => {
      try {
        return await operation(attempt)
      } catch (error) {
        const failure = retriable(error)
        if (shouldRetry !== undefined && !shouldRetry(original(failure))) throw new AbortError(original(failure))
        throw failure
      }
    },
    {
      retries: options.attempts === undefined ? Number.POSITIVE_INFINITY : Math.max(0, options.attempts - 1),
      minTimeout,
      maxTimeout,
      factor: 2,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      // p-retry's own wait for this attempt (factor 2, no randomisation), for the log.
      onFailedAttempt: ({ error, attemptNumber }) => options.onFailedAttempt?.(original(error), attemptNumber, retryDelayMs(attemptNumber, { minMs: minTimeout, maxMs: maxTimeout })),
    },
  )
  return run.catch((error: unknown) => {
    throw error instanceof Error ? original(error) : error
  })
}
