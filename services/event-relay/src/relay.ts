/**
 * The event relay: tails the event store's global log from a durable checkpoint and publishes
 * every case event to `civic.case-events.v1`. The store is the outbox: the checkpoint only
 * advances after the bus accepted a batch, so a crash in between re-publishes that batch on the
 * next start (at-least-once; consumers de-duplicate by eventId) but never skips an event.
 */
import { CASE_EVENT_HEADERS, CaseEventMessage } from '@civic-desk/contracts'
import { caseEventMessage, createLogTail, retrying, type CheckpointStore, type LogTail, type TailItem, type TailMembership } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { TOPICS, type Bus, type OutgoingMessage } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { parentFrom, runInTrace } from '@civic-desk/tracing'

/** Default of `RelayOptions.batchSize`. */
export const DEFAULT_BATCH_SIZE = 100
/** Default of `RelayOptions.flushIntervalMs`. */
export const DEFAULT_FLUSH_INTERVAL_MS = 5
/** Default of `RelayOptions.checkpointIntervalMs`. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 100
/** Default of `RelayOptions.retryBackoffMs`. */
export const DEFAULT_RELAY_RETRY_BACKOFF_MS = 100
/**
 * Upper bound of one retry wait. Short, because the relay is what every consumer waits for after a
 * broker outage: with a 30 s bound it could sleep on half a minute after the broker was back. A
 * publish to a broker that is away takes seconds to fail by itself, so 5 s between them asks
 * little of anyone.
 */
export const MAX_RELAY_RETRY_BACKOFF_MS = 5_000

export interface RelayOptions {
  readonly store: EventStore
  /** The process's log tail; without one the relay follows the store through a tail of its own. */
  readonly tail?: LogTail
  readonly bus: Bus
  readonly checkpoints: CheckpointStore
  readonly logger: Logger
  /** Most events per `publish` call (and per checkpoint save). Default 100. */
  readonly batchSize?: number
  /** Longest an event waits for its batch to fill before it is published anyway. Default 5 ms. */
  readonly flushIntervalMs?: number
  /**
   * While events keep coming, the checkpoint is saved at most this often (it is always saved when
   * the relay has caught up, and on stop). Default 100 ms. A lagging checkpoint only re-publishes
   * a little more after a crash; saving after every batch costs an fsync each.
   */
  readonly checkpointIntervalMs?: number
  /** Wait before the 2nd attempt of a failed publish or save; doubles per attempt, capped at 5 s. Default 100 ms. */
  readonly retryBackoffMs?: number
}

/** A running relay. */
export interface Relay {
  /** Global position of the last event published and checkpointed. */
  readonly position: number
  /** Messages this relay instance has published (re-publications after a restart included). */
  readonly published: number
  /** Failed publishes, checkpoint saves or store reads since the last success; 0 when healthy. */
  readonly consecutiveFailures: number
  /** Events collected but not yet published; never more than `batchSize` (backpressure). */
  readonly buffered: number
  /** False once `stop` was called. */
  readonly running: boolean
  /**
   * Stops reading, publishes what was collected (one attempt; a pending retry back-off is cut
   * short), saves the checkpoint and closes the subscription. Whatever could not be published
   * stays after the checkpoint for the next start. Idempotent.
   */
  stop(): Promise<void>
}

interface Pending {
  readonly position: number
  readonly message: OutgoingMessage
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`startRelay: ${name} must be an integer >= ${min}, got ${value}`)
  return value
}

/**
 * Loads the checkpoint and starts relaying every case event stored after it. Rejects when the
 * checkpoint cannot be loaded (e.g. `CheckpointCorruptError`): starting from a guess could skip events.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { store, bus, checkpoints } = options
  const batchSize = positiveInteger('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, 1)
  const flushIntervalMs = positiveInteger('flushIntervalMs', options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS, 0)
  const retryBackoffMs = positiveInteger('retryBackoffMs', options.retryBackoffMs ?? DEFAULT_RELAY_RETRY_BACKOFF_MS, 1)
  const checkpointIntervalMs = positiveInteger('checkpointIntervalMs', options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, 0)
  const log = options.logger.child({ component: 'event-relay' })

  let position = await checkpoints.load()
  /** Position of the last event the bus accepted (the checkpoint may lag behind it). */
  let publishedUpTo = position
  let lastSaveAt = 0
  let published = 0
  let consecutiveFailures = 0
  let stopping = false
  let stopped: Promise<void> | undefined
  // Cuts retry back-offs short on stop.
  const abort = new AbortController()
  // Never longer than batchSize: a full batch refuses further events until it went out (backpressure).
  const pending: Pending[] = []
  let paused = false
  let flushTimer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  const ownTail = options.tail === undefined ? createLogTail({ store, logger: options.logger }) : undefined
  const tail = options.tail ?? ownTail!

  /** Runs `operation` until it succeeds; false when it failed while stopping (the caller gives up). */
  const retried = async (what: string, fields: Record<string, unknown>, operation: () => Promise<void>): Promise<boolean> => {
    try {
      await retrying(operation, {
        // While stopping: one attempt, no wait.
        ...(stopping ? {} : { signal: abort.signal }),
        minTimeoutMs: retryBackoffMs,
        maxTimeoutMs: MAX_RELAY_RETRY_BACKOFF_MS,
        shouldRetry: () => !stopping,
        onFailedAttempt: (error, attempt, retryInMs) => {
          consecutiveFailures++
          if (!stopping) log.warn({ ...fields, attempt, retryInMs, err: error }, `${what} failed; will retry`)
        },
      })
      consecutiveFailures = 0
      return true
    } catch (error) {
      log.error({ ...fields, err: error }, `${what} failed while stopping; giving up, these events stay after the checkpoint and are published again on the next start`)
      return false
    }
  }

  const saveCheckpoint = async (): Promise<boolean> => {
    const target = publishedUpTo
    if (target <= position) return true
    const saved = await retried('checkpoint save', { toPosition: target }, () => checkpoints.save(target))
    if (!saved) return false
    lastSaveAt = Date.now()
    position = Math.max(position, target)
    return true
  }

  const drain = async (): Promise<void> => {
    if (flushTimer !== undefined) clearTimeout(flushTimer)
    flushTimer = undefined
    while (pending.length > 0) {
      const batch = pending.slice(0, batchSize)
      const first = batch[0]
      const last = batch[batch.length - 1]
      if (first === undefined || last === undefined) return
      const fields = { events: batch.length, fromPosition: first.position, toPosition: last.position }
      const sent = await retried('publish', fields, () => bus.publish(TOPICS.caseEvents, batch.map((p) => p.message)))
      if (!sent) return
      pending.splice(0, batch.length)
      published += batch.length
      publishedUpTo = last.position
      log.debug(fields, 'batch published')
      // One line per event, in the event's trace: following one request through the logs finds the relay too.
      for (const p of batch) {
        const trace = parentFrom(p.message.headers?.[CASE_EVENT_HEADERS.traceparent])
        if (trace !== null) runInTrace(trace, () => log.info({ position: p.position, caseId: p.message.key, eventId: p.message.headers?.[CASE_EVENT_HEADERS.eventId], type: p.message.headers?.[CASE_EVENT_HEADERS.eventType] }, 'event relayed'))
      }
      // Only after the bus accepted the batch: a checkpoint ahead of the bus would skip events.
      // Saved at most every checkpointIntervalMs while events keep coming (each save is an fsync);
      // a checkpoint that lags only means publishing a few more events again after a crash.
      if (pending.length === 0 || Date.now() - lastSaveAt >= checkpointIntervalMs) {
        if (!(await saveCheckpoint())) return
      }
      // Room again: take events from where the relay stopped taking them.
      if (paused && pending.length < batchSize && !stopping) {
        paused = false
        membership.resume()
      }
    }
  }

  /** Publishes everything collected; concurrent callers share the one drain in progress. */
  const flush = (): Promise<void> => {
    flushing ??= drain()
      .catch((error: unknown) => log.error({ err: error }, 'relay flush failed unexpectedly'))
      .finally(() => {
        flushing = undefined
        // An event that arrived after the drain's last look must not wait for the next one.
        if (pending.length > 0 && !stopping) flushTimer ??= setTimeout(() => void flush(), flushIntervalMs)
      })
    return flushing
  }

  const receive = (item: TailItem): boolean => {
    if (stopping) return false
    // Only case streams are relayed; the others just pass.
    if (item.caseId === null) return true
    // Backpressure: a full batch takes no more until it went out.
    if (pending.length >= batchSize) {
      paused = true
      void flush()
      return false
    }
    const message = caseEventMessage(item.recorded)
    const checked = CaseEventMessage.safeParse(message.value)
    if (!checked.success) {
      // Relayed anyway: the store is the truth, and each consumer dead-letters it visibly with full context.
      log.warn({ position: item.position, streamId: item.recorded.streamId, eventId: item.recorded.id, type: item.recorded.type, issues: checked.error.issues.length }, 'stored case event does not match CaseEventMessage; relayed as is')
    }
    pending.push({ position: item.position, message })
    if (flushing !== undefined) return true // the drain in progress picks it up
    if (pending.length >= batchSize) void flush()
    else flushTimer ??= setTimeout(() => void flush(), flushIntervalMs)
    return true
  }

  const membership: TailMembership = tail.follow(
    {
      name: 'event-relay',
      receive,
      onStoreError: () => {
        consecutiveFailures++
      },
    },
    position,
  )
  log.info({ after: position, batchSize, flushIntervalMs, topic: TOPICS.caseEvents }, 'event relay started')

  return {
    get position() {
      return position
    },
    get published() {
      return published
    },
    get consecutiveFailures() {
      return consecutiveFailures
    },
    get buffered() {
      return pending.length
    },
    get running() {
      return !stopping
    },
    stop() {
      stopped ??= (async () => {
        stopping = true
        abort.abort()
        await membership.close()
        while (flushing !== undefined) await flushing
        await flush()
        await saveCheckpoint()
        await ownTail?.close()
        log.info({ position, published, unpublished: pending.length }, 'event relay stopped')
      })()
      return stopped
    },
  }
}
