/**
 * The event relay: tails the event store's global log from a durable checkpoint and publishes
 * every case event to `civic.case-events.v1`. The store is the outbox: the checkpoint only
 * advances after the bus accepted a batch, so a crash in between re-publishes that batch on the
 * next start (at-least-once; consumers de-duplicate by eventId) but never skips an event.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CASE_EVENT_HEADERS, CaseEventMessage } from '@civic-desk/contracts'
import type { EventStore, RecordedEvent, Subscription } from '@civic-desk/event-store'
import { TOPICS, type Bus, type OutgoingMessage } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import type { CheckpointStore } from './checkpoint.ts'

/** Prefix of case streams (`case-<caseId>`); only these are relayed. */
export const CASE_STREAM_PREFIX = 'case-'

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
  /** Wait before the 2nd attempt of a failed publish, save or subscription; doubles per attempt, capped at 5 s. Default 100 ms. */
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The message for one stored case event (see `CaseEventMessage` for the format): the event is
 * rebuilt from the store's data and metadata exactly as `decodeCaseEvent` does, but not checked
 * against the known event types, so the relay passes on types it does not know yet.
 */
export function caseEventMessage(recorded: RecordedEvent): OutgoingMessage {
  const metadata = isRecord(recorded.metadata) ? recorded.metadata : {}
  const correlationId = metadata['correlationId']
  const value = {
    streamId: recorded.streamId,
    revision: recorded.revision,
    position: recorded.position,
    recordedAt: recorded.recordedAt,
    event: { ...metadata, eventId: recorded.id, type: recorded.type, data: recorded.data },
  }
  return {
    key: recorded.streamId.slice(CASE_STREAM_PREFIX.length),
    value,
    headers: {
      [CASE_EVENT_HEADERS.eventType]: recorded.type,
      [CASE_EVENT_HEADERS.eventId]: recorded.id,
      ...(typeof correlationId === 'string' ? { [CASE_EVENT_HEADERS.correlationId]: correlationId } : {}),
    },
  }
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
  const log = options.logger.child({ component: 'event-relay' })

  const checkpointIntervalMs = positiveInteger('checkpointIntervalMs', options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS, 0)
  let position = await checkpoints.load()
  /** Position of the last event the bus accepted (the checkpoint may lag behind it). */
  let publishedUpTo = position
  let lastSaveAt = 0
  /** Position of the last event handed to us by the subscription; where a new subscription resumes. */
  let received = position
  let published = 0
  let consecutiveFailures = 0
  let stopping = false
  let stopped: Promise<void> | undefined
  // Cuts retry back-offs short on stop.
  const abort = new AbortController()
  // Never longer than batchSize: the handler waits while a batch is out (backpressure).
  const pending: Pending[] = []
  let flushTimer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let subscription: Subscription | undefined
  let resubscribing: Promise<void> | undefined

  const backoff = (attempt: number): number => Math.min(retryBackoffMs * 2 ** (attempt - 1), MAX_RELAY_RETRY_BACKOFF_MS)

  /** Runs `operation` until it succeeds; false when it failed while stopping (the caller gives up). */
  const retrying = async (what: string, fields: Record<string, unknown>, operation: () => Promise<void>): Promise<boolean> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await operation()
        consecutiveFailures = 0
        return true
      } catch (error) {
        consecutiveFailures++
        if (stopping) {
          log.error({ ...fields, attempt, err: error }, `${what} failed while stopping; giving up, these events stay after the checkpoint and are published again on the next start`)
          return false
        }
        const retryInMs = backoff(attempt)
        log.warn({ ...fields, attempt, retryInMs, err: error }, `${what} failed; will retry`)
        await sleep(retryInMs, undefined, { signal: abort.signal }).catch(() => undefined)
      }
    }
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
      const sent = await retrying('publish', fields, () => bus.publish(TOPICS.caseEvents, batch.map((p) => p.message)))
      if (!sent) return
      pending.splice(0, batch.length)
      published += batch.length
      publishedUpTo = last.position
      log.debug(fields, 'batch published')
      // Only after the bus accepted the batch: a checkpoint ahead of the bus would skip events.
      // Saved at most every checkpointIntervalMs while events keep coming (each save is an fsync);
      // a checkpoint that lags only means publishing a few more events again after a crash.
      if (pending.length === 0 || Date.now() - lastSaveAt >= checkpointIntervalMs) {
        if (!(await saveCheckpoint())) return
      }
    }
  }

  const saveCheckpoint = async (): Promise<boolean> => {
    const target = publishedUpTo
    if (target <= position) return true
    const saved = await retrying('checkpoint save', { toPosition: target }, () => checkpoints.save(target))
    if (!saved) return false
    lastSaveAt = Date.now()
    position = Math.max(position, target)
    return true
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

  const handle = async (event: RecordedEvent): Promise<void> => {
    // Backpressure: events gather while a batch is out (the next batch takes them all), and the
    // subscription waits here only when a full batch is already waiting.
    while (flushing !== undefined && pending.length >= batchSize) await flushing
    const message = caseEventMessage(event)
    const checked = CaseEventMessage.safeParse(message.value)
    if (!checked.success) {
      // Relayed anyway: the store is the truth, and each consumer dead-letters it visibly with full context.
      log.warn({ position: event.position, streamId: event.streamId, eventId: event.id, type: event.type, issues: checked.error.issues.length }, 'stored case event does not match CaseEventMessage; relayed as is')
    }
    received = event.position
    pending.push({ position: event.position, message })
    if (flushing !== undefined) return // the drain in progress picks it up
    if (pending.length >= batchSize) await flush()
    else flushTimer ??= setTimeout(() => void flush(), flushIntervalMs)
  }

  const subscribe = (): void => {
    subscription = store.subscribeToAll(
      {
        after: received,
        streamPrefix: CASE_STREAM_PREFIX,
        onError: (error) => {
          if (stopping) return
          consecutiveFailures++
          const retryInMs = backoff(Math.min(consecutiveFailures, 20))
          log.error({ err: error, after: received, retryInMs }, 'event store subscription failed; resubscribing from the last received event')
          resubscribing = sleep(retryInMs, undefined, { signal: abort.signal })
            .catch(() => undefined)
            .then(() => {
              resubscribing = undefined
              if (!stopping) subscribe()
            })
        },
      },
      handle,
    )
  }

  subscribe()
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
        await resubscribing
        // Waits for the handler in flight, which may itself be waiting for a batch to go out.
        await subscription?.close()
        while (flushing !== undefined) await flushing
        await flush()
        await saveCheckpoint()
        log.info({ position, published, unpublished: pending.length }, 'event relay stopped')
      })()
      return stopped
    },
  }
}
