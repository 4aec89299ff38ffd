/**
 * Catch-up subscription loop shared by the adapters: page through the global log after a
 * cursor, hand each event to the handler one at a time, then sleep until woken (an append
 * through the same store instance) or until the poll interval passes (appends from elsewhere).
 * Internal to the package.
 */
import type { RecordedEvent, SubscribeToAllOptions, Subscription } from './port.ts'
import { CATCH_UP_BATCH_SIZE } from './shared.ts'

export interface CatchUpOptions {
  /** Deliver events with a position strictly greater than this. */
  readonly after: number
  readonly streamPrefix: string | undefined
  readonly batchSize: number
  /** Re-read when idle this often; undefined = only when woken (the store sees every append). */
  readonly pollIntervalMs: number | undefined
  /** Unfiltered page of the global log, in order, positions strictly greater than `after`. */
  readonly readBatch: (after: number, limit: number) => Promise<readonly RecordedEvent[]>
  /** Receives the handler's or the store's error; called at most once. */
  readonly onFailure: (error: unknown) => void
  /** Called once when the loop has stopped, whatever the reason. */
  readonly onEnd: () => void
}

export interface CatchUpSubscription {
  readonly subscription: Subscription
  /** Tells the loop new events may be there. Cheap; safe to call at any time. */
  readonly wake: () => void
}

export function startCatchUpSubscription(
  options: CatchUpOptions,
  handler: (event: RecordedEvent) => Promise<void> | void,
): CatchUpSubscription {
  const { streamPrefix, batchSize, pollIntervalMs, readBatch } = options
  let closed = false
  // `scanned` also moves past events the prefix filters out, so they are not read again;
  // `position` only moves once the handler completed.
  let scanned = options.after
  let position = options.after
  // Set by wake(); lets the loop notice an append that happened while it was not idle.
  let dirty = false
  let stopIdling: (() => void) | undefined

  const idle = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        stopIdling = undefined
        resolve()
      }
      stopIdling = done
      if (pollIntervalMs !== undefined) timer = setTimeout(done, pollIntervalMs)
    })

  const run = async (): Promise<void> => {
    // Never call the handler synchronously from subscribeToAll.
    await Promise.resolve()
    try {
      while (!closed) {
        dirty = false
        const batch = await readBatch(scanned, batchSize)
        for (const event of batch) {
          if (closed) return
          if (streamPrefix === undefined || event.streamId.startsWith(streamPrefix)) {
            await handler(event)
            position = event.position
          }
          scanned = event.position
        }
        if (closed) return
        // A full page means more is probably stored; `dirty` means an append happened meanwhile.
        if (batch.length === batchSize || dirty) continue
        await idle()
      }
    } catch (error) {
      // Reported even when close() was already called: an in-flight handler still failed.
      closed = true
      options.onFailure(error)
    } finally {
      closed = true
      options.onEnd()
    }
  }

  const running = run()

  const subscription: Subscription = {
    close: async () => {
      closed = true
      stopIdling?.()
      await running
    },
    get position() {
      return position
    },
  }

  return {
    subscription,
    wake: () => {
      dirty = true
      stopIdling?.()
    },
  }
}

/**
 * What both adapters do in `subscribeToAll`: start the loop over the adapter's own page reader,
 * keep it in the adapter's set (so appends can wake it and close() can stop it), and send a
 * failure to `onError`, or to the logger when the caller gave none.
 */
export function subscribeInto(
  registry: Set<CatchUpSubscription>,
  options: SubscribeToAllOptions,
  source: {
    readonly pollIntervalMs: number | undefined
    readonly readBatch: CatchUpOptions['readBatch']
    readonly logger: { warn(obj: object, msg: string): void } | undefined
  },
  handler: (event: RecordedEvent) => Promise<void> | void,
): Subscription {
  const { onError } = options
  const entry: CatchUpSubscription = startCatchUpSubscription(
    {
      after: options.after ?? 0,
      streamPrefix: options.streamPrefix,
      batchSize: CATCH_UP_BATCH_SIZE,
      pollIntervalMs: source.pollIntervalMs,
      readBatch: source.readBatch,
      onFailure: (error) => {
        if (onError !== undefined) onError(error)
        else source.logger?.warn({ err: error }, 'event store subscription stopped: handler or store failed')
      },
      onEnd: () => registry.delete(entry),
    },
    handler,
  )
  registry.add(entry)
  return entry.subscription
}
