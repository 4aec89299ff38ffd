/**
 * The relay's in-process variant for standalone mode: a Bus whose `civic.case-events.v1` topic is
 * read straight from the event store, each consumer group keeping its own durable checkpoint (a
 * global position), instead of the relay copying every event into a second log that the groups
 * then read back. One hop and one copy less; the same at-least-once contract for the handlers:
 *
 * - every case event after the group's checkpoint is handed to the group's handler; the
 *   checkpoint only passes an event once its handler succeeded or it was dead-lettered, so a
 *   crash re-delivers (never skips) what was in flight;
 * - order per key (caseId): events of one case go to one lane and are handled one at a time;
 *   lanes run side by side, so one slow case does not hold up the others;
 * - invalid values (schema) and handlers that keep failing are dead-lettered on the underlying
 *   bus's `civic.dead-letter.v1` with the store position as the offset, and the group moves on.
 *
 * Every other topic (dead letters, assignments, intake) goes to the underlying bus unchanged.
 * Distributed mode keeps the relay and Kafka: nothing in a consumer knows which one it has.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { EventStore, RecordedEvent, Subscription } from '@civic-desk/event-store'
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BACKOFF_MS,
  NonRetriableError,
  TOPICS,
  abortableDelay,
  backoffMs,
  deadLetterRecord,
  errorMessage,
  partitionFor,
  type Bus,
  type BusMessage,
  type BusSubscription,
  type OutgoingMessage,
  type SubscribeOptions,
} from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { createFileCheckpointStore, type CheckpointStore } from './checkpoint.ts'
import { CASE_STREAM_PREFIX, caseEventMessage } from './relay.ts'

export interface StoreFedBusOptions {
  readonly store: EventStore
  /** Carries every topic but the case events (and their dead letters). Closed with this bus. */
  readonly bus: Bus
  /** Folder of the groups' checkpoint files (`<group>.case-events.checkpoint.json`). */
  readonly checkpointDir: string
  readonly logger: Logger
  /** Cases handled side by side per group. Default 32. */
  readonly lanes?: number
  /** Events read ahead per group before the store subscription waits. Default 2000. */
  readonly maxBuffered?: number
  /** While events keep coming, a group's checkpoint is saved at most this often. Default 100 ms. */
  readonly checkpointIntervalMs?: number
}

/** Where one consumer group stands. */
export interface StoreFedGroupStatus {
  readonly groupId: string
  /** Every case event up to this global position is handled (or dead-lettered). */
  readonly position: number
  /** Events read from the store and not yet handled. */
  readonly buffered: number
}

export interface StoreFedBus extends Bus {
  /** The case-event consumer groups of this process and their positions. */
  groups(): StoreFedGroupStatus[]
}

interface Entry {
  readonly event: RecordedEvent
  done: boolean
}

/** Wraps `bus` so that `civic.case-events.v1` is served from `store`. */
export function createStoreFedBus(options: StoreFedBusOptions): StoreFedBus {
  const { store, bus, checkpointDir } = options
  const lanes = options.lanes ?? 32
  const maxBuffered = options.maxBuffered ?? 2000
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 100
  if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`lanes must be a whole number ≥ 1, got ${lanes}`)
  if (!Number.isInteger(maxBuffered) || maxBuffered < 1) throw new RangeError(`maxBuffered must be a whole number ≥ 1, got ${maxBuffered}`)
  const log = options.logger.child({ component: 'store-fed-bus' })
  const running = new Map<string, { status: () => StoreFedGroupStatus; close: () => Promise<void> }>()
  let closed = false

  async function subscribeToCaseEvents<V>(opts: SubscribeOptions<V>): Promise<BusSubscription> {
    const { groupId } = opts
    if (running.has(groupId)) throw new Error(`consumer group ${groupId} already reads ${TOPICS.caseEvents} in this process`)
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    const retryBackoffMs = opts.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS
    const file = join(checkpointDir, `${groupId.replace(/[^a-zA-Z0-9._-]/g, '_')}.case-events.checkpoint.json`)
    const checkpoints: CheckpointStore = createFileCheckpointStore({ file })
    let position: number
    if (existsSync(file)) position = await checkpoints.load()
    else {
      // A new group: the beginning, or what is stored now; saved at once so a restart keeps it.
      position = opts.fromBeginning === true ? 0 : await store.headPosition()
      await checkpoints.save(position)
    }
    let saved = position
    let saveTimer: NodeJS.Timeout | undefined
    let saving: Promise<void> | undefined
    const abort = new AbortController()
    let stopping = false

    // Events in arrival (= position) order; `position` advances over the done prefix.
    const window: Entry[] = []
    let head = 0
    const queues: Entry[][] = Array.from({ length: lanes }, () => [])
    const busy: boolean[] = Array.from({ length: lanes }, () => false)
    const inFlight = new Set<Promise<void>>()
    let capacityWaiter: (() => void) | undefined

    const save = async (): Promise<void> => {
      saveTimer = undefined
      const target = position
      if (target <= saved) return
      try {
        await checkpoints.save(target)
        saved = Math.max(saved, target)
      } catch (error) {
        // The next save carries it; until then a restart re-delivers a little more.
        log.error({ groupId, position: target, err: error }, 'checkpoint save failed; will retry')
        if (!stopping) saveTimer ??= setTimeout(() => void (saving = save()), checkpointIntervalMs)
      }
    }

    const advance = (): void => {
      while (head < window.length && window[head]!.done) {
        position = window[head]!.event.position
        head++
      }
      if (head > 1024 && head * 2 > window.length) {
        window.splice(0, head)
        head = 0
      }
      if (position > saved && saveTimer === undefined && !stopping) saveTimer = setTimeout(() => void (saving = save()), checkpointIntervalMs)
      if (window.length - head < maxBuffered && capacityWaiter !== undefined) {
        const wake = capacityWaiter
        capacityWaiter = undefined
        wake()
      }
    }

    const deadLetter = async (entry: Entry, kind: 'invalid' | 'failed', message: string, attempts: number, value: unknown): Promise<void> => {
      const key = entry.event.streamId.slice(CASE_STREAM_PREFIX.length)
      const source = { topic: TOPICS.caseEvents, partition: partitionFor(key, lanes), offset: String(entry.event.position), key, groupId }
      // Through JSON: the record carries exactly what a Kafka consumer would have received.
      const record = deadLetterRecord({ kind, message, source, attempts, failedAt: new Date(), payload: { value: JSON.parse(JSON.stringify(value ?? null)) as unknown } })
      await bus.publish(TOPICS.deadLetter, [{ key, value: record }])
      log.error({ groupId, position: entry.event.position, kind, message, attempts }, 'case event dead-lettered')
    }

    /** Handles one entry to the end: success, dead letter, or (on stop) left unfinished for the next start. */
    const handleEntry = async (entry: Entry): Promise<boolean> => {
      const outgoing: OutgoingMessage = caseEventMessage(entry.event)
      const key = outgoing.key
      let value: V
      if (opts.schema !== undefined) {
        const checked = await opts.schema.safeParseAsync(outgoing.value)
        if (!checked.success) {
          const issues = checked.error.issues.map((i) => `${i.path.length === 0 ? '(root)' : i.path.join('.')}: ${i.message}`).join('; ')
          await deadLetter(entry, 'invalid', `value failed the schema: ${issues}`, 0, outgoing.value)
          return true
        }
        value = checked.data
      } else value = outgoing.value as V
      const message: BusMessage<V> = {
        topic: TOPICS.caseEvents,
        partition: partitionFor(key, lanes),
        offset: String(entry.event.position),
        key,
        value,
        headers: { ...(outgoing.headers ?? {}) },
        timestamp: entry.event.recordedAt,
      }
      for (let attempt = 1; ; attempt++) {
        if (stopping) return false
        try {
          await opts.handler(message)
          return true
        } catch (error) {
          if (error instanceof NonRetriableError || attempt >= maxAttempts) {
            await deadLetter(entry, 'failed', errorMessage(error), attempt, outgoing.value)
            return true
          }
          log.warn({ groupId, position: entry.event.position, attempt, err: error }, 'handler failed; will retry')
          await abortableDelay(backoffMs(attempt, retryBackoffMs), abort.signal)
        }
      }
    }

    const runLane = (lane: number): void => {
      if (busy[lane] || stopping) return
      busy[lane] = true
      const work = (async () => {
        const queue = queues[lane]!
        try {
          while (queue.length > 0 && !stopping) {
            const entry = queue[0]!
            let finished = false
            try {
              finished = await handleEntry(entry)
            } catch (error) {
              // Publishing the dead letter failed (the underlying bus is down): try again shortly.
              log.error({ groupId, position: entry.event.position, err: error }, 'dead letter could not be published; retrying')
              await new Promise((resolve) => setTimeout(resolve, retryBackoffMs))
              continue
            }
            if (!finished) return
            queue.shift()
            entry.done = true
            advance()
          }
        } finally {
          busy[lane] = false
        }
      })()
      inFlight.add(work)
      void work.finally(() => {
        inFlight.delete(work)
        if (queues[lane]!.length > 0 && !stopping) runLane(lane)
      })
    }

    const subscription: Subscription = store.subscribeToAll(
      {
        after: position,
        streamPrefix: CASE_STREAM_PREFIX,
        onError: (error) => log.error({ groupId, err: error }, 'event store subscription failed; the group stops until restarted'),
      },
      async (event) => {
        while (window.length - head >= maxBuffered && !stopping) await new Promise<void>((resolve) => (capacityWaiter = resolve))
        if (stopping) return
        const entry: Entry = { event, done: false }
        window.push(entry)
        const lane = partitionFor(event.streamId.slice(CASE_STREAM_PREFIX.length), lanes)
        queues[lane]!.push(entry)
        runLane(lane)
      },
    )

    let closing: Promise<void> | undefined
    const close = (): Promise<void> => {
      closing ??= (async () => {
        stopping = true
        abort.abort()
        capacityWaiter?.()
        await subscription.close()
        while (inFlight.size > 0) await Promise.allSettled([...inFlight])
        if (saveTimer !== undefined) clearTimeout(saveTimer)
        await saving
        await save()
        running.delete(groupId)
        log.info({ groupId, position }, 'case-event consumer stopped')
      })()
      return closing
    }
    running.set(groupId, { status: () => ({ groupId, position, buffered: window.length - head }), close })
    log.info({ groupId, after: position, lanes }, 'case-event consumer reading from the event store')
    return { topic: TOPICS.caseEvents, groupId, close }
  }

  return {
    async publish(topic, messages) {
      if (topic === TOPICS.caseEvents) {
        throw new Error(`${TOPICS.caseEvents} is read from the event store in this mode; append to a case stream instead of publishing`)
      }
      return bus.publish(topic, messages)
    },
    async subscribe<V>(opts: SubscribeOptions<V>): Promise<BusSubscription> {
      if (closed) throw new Error('bus is closed')
      return opts.topic === TOPICS.caseEvents ? subscribeToCaseEvents(opts) : bus.subscribe(opts)
    },
    groups: () => [...running.values()].map((g) => g.status()),
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...running.values()].map((g) => g.close()))
      await bus.close()
    },
  }
}
