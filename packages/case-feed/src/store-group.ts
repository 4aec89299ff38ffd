/**
 * A consumer group of case events that reads straight from the event store (one process:
 * standalone mode) instead of from `civic.case-events.v1`: the same at-least-once contract as the
 * topic, one hop and one copy less.
 *
 * - every case event after the group's checkpoint is handed to the handler; the checkpoint (a
 *   global position in a file of its own) passes an event only once its handler succeeded or it
 *   was dead-lettered, so a crash hands out again, never skips, what was in flight;
 * - order per case: one case's events go to one lane and are handled one at a time; lanes run side
 *   by side, so one slow case does not hold up the others;
 * - an event that does not decode, or whose handler gives up, is dead-lettered on the bus's
 *   `civic.dead-letter.v1` with the store position as the offset, and the group moves on.
 */
import { existsSync } from 'node:fs'
import type { EventStore } from '@civic-desk/event-store'
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BACKOFF_MS, NonRetriableError, TOPICS, deadLetterRecord, errorMessage, partitionFor, type Bus } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { inSpan, parentFrom } from '@civic-desk/tracing'
import { createFileCheckpointStore, groupCheckpointFile } from './checkpoint.ts'
import { caseEventMessage, type CaseFeedEvent } from './codec.ts'
import { ConsumerCore, type Consumer, type Outcome } from './consumer.ts'
import { retrying } from './retry.ts'
import type { LogTail, TailItem, TailMembership } from './tail.ts'

/** Settings of the groups that read from the store. */
export interface StoreGroupSettings {
  /** Folder of the groups' checkpoint files. */
  readonly checkpointDir: string
  /** Cases handled side by side per group. Default 32. */
  readonly lanes?: number
  /** Events read ahead per group; beyond it the group stops taking events until it has worked some off. Default 2000. */
  readonly maxBuffered?: number
  /** While events keep coming, a group's checkpoint is saved at most this often. Default 100 ms. */
  readonly checkpointIntervalMs?: number
}

export interface StoreGroupOptions {
  readonly store: EventStore
  readonly tail: LogTail
  /** Where dead letters go. */
  readonly bus: Bus
  readonly logger: Logger
  readonly settings: StoreGroupSettings
  readonly groupId: string
  readonly types: ReadonlySet<string> | undefined
  readonly handle: (event: CaseFeedEvent) => Promise<Outcome>
  readonly fromBeginning: boolean
  readonly maxAttempts: number | undefined
  readonly retryBackoffMs: number | undefined
}

interface Entry {
  readonly item: TailItem
  done: boolean
}

function checkedInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`)
  return value
}

/** Loads (or, for a new group, fixes and saves) the group's checkpoint, then follows the tail from it. */
export async function startStoreGroup(options: StoreGroupOptions): Promise<Consumer> {
  const { store, bus, groupId, types, settings } = options
  const lanes = checkedInteger('lanes', settings.lanes ?? 32)
  const maxBuffered = checkedInteger('maxBuffered', settings.maxBuffered ?? 2000)
  const checkpointIntervalMs = settings.checkpointIntervalMs ?? 100
  const maxAttempts = checkedInteger('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)
  const retryBackoffMs = options.retryBackoffMs ?? DEFAULT_RETRY_BACKOFF_MS
  const log = options.logger.child({ component: 'consumer', groupId, source: 'event store' })
  const core = new ConsumerCore(groupId, log)

  const file = groupCheckpointFile(settings.checkpointDir, groupId)
  const checkpoints = createFileCheckpointStore({ file })
  let position: number
  if (existsSync(file)) position = await checkpoints.load()
  else {
    // A new group: the beginning, or what is stored now; saved at once so a restart keeps it.
    position = options.fromBeginning ? 0 : await store.headPosition()
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
  let paused = false
  const queues: Entry[][] = Array.from({ length: lanes }, () => [])
  const busy: boolean[] = Array.from({ length: lanes }, () => false)
  const inFlight = new Set<Promise<void>>()

  const save = async (): Promise<void> => {
    saveTimer = undefined
    const target = position
    if (target <= saved) return
    try {
      await checkpoints.save(target)
      saved = Math.max(saved, target)
    } catch (error) {
      // The next save carries it; until then a restart hands out a little more again.
      log.error({ position: target, err: error }, 'checkpoint save failed; will retry')
      if (!stopping) saveTimer ??= setTimeout(() => void (saving = save()), checkpointIntervalMs)
    }
  }

  let membership: TailMembership | undefined

  const advance = (): void => {
    while (head < window.length && window[head]!.done) {
      position = window[head]!.item.position
      head++
    }
    if (head > 1024 && head * 2 > window.length) {
      window.splice(0, head)
      head = 0
    }
    if (position > saved && saveTimer === undefined && !stopping) saveTimer = setTimeout(() => void (saving = save()), checkpointIntervalMs)
    // Worked off half of the buffer: take events again (read by ourselves from where we stopped).
    if (paused && window.length - head <= maxBuffered / 2 && !stopping) {
      paused = false
      membership?.resume()
    }
  }

  const deadLetter = async (entry: Entry, kind: 'invalid' | 'failed', text: string, attempts: number): Promise<void> => {
    const outgoing = caseEventMessage(entry.item.recorded)
    const key = outgoing.key
    const source = { topic: TOPICS.caseEvents, partition: partitionFor(key, lanes), offset: String(entry.item.position), key, groupId }
    // Through JSON: the record carries exactly what a Kafka consumer would have received.
    const record = deadLetterRecord({ kind, message: text, source, attempts, failedAt: new Date(), payload: { value: JSON.parse(JSON.stringify(outgoing.value)) as unknown } })
    await retrying(() => bus.publish(TOPICS.deadLetter, [{ key, value: record, headers: outgoing.headers ?? {} }]), {
      signal: abort.signal,
      onFailedAttempt: (error, attempt) => log.error({ position: entry.item.position, attempt, err: error }, 'dead letter could not be published; retrying'),
    })
    log.error({ position: entry.item.position, kind, message: text, attempts }, 'case event dead-lettered')
  }

  /** Handles one entry to the end: true when done (handled or dead-lettered), false when left for the next start (stopping). */
  const handleEntry = async (entry: Entry): Promise<boolean> => {
    const { item } = entry
    let event: CaseFeedEvent
    try {
      event = item.decode()
    } catch (error) {
      core.failure(error, `position ${item.position}`, { position: item.position })
      await deadLetter(entry, 'invalid', errorMessage(error), 0)
      return true
    }
    const fields = { position: item.position, caseId: event.caseId, eventId: event.event.eventId, type: event.event.type }
    let attempts = 0
    const attempt = async (): Promise<Outcome> => {
      attempts++
      const startedAt = performance.now()
      try {
        // In the event's trace: what the handler appends, publishes and logs continues it.
        return await inSpan(`process ${options.groupId}`, { kind: 'consumer', parent: parentFrom(event.event.traceparent), attributes: { 'civic.consumer.group': options.groupId, 'civic.event.type': event.event.type } }, () => options.handle(event))
      } catch (error) {
        throw core.failure(error, `position ${item.position}`, fields)
      } finally {
        core.handled(startedAt)
      }
    }
    try {
      const outcome = await retrying(attempt, {
        signal: abort.signal,
        attempts: maxAttempts,
        minTimeoutMs: retryBackoffMs,
        maxTimeoutMs: 30_000,
        shouldRetry: (failure) => !(failure instanceof NonRetriableError),
      })
      core.count(outcome)
      return true
    } catch (error) {
      if (stopping || abort.signal.aborted) return false
      await deadLetter(entry, 'failed', errorMessage(error), attempts)
      return true
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
          let finished: boolean
          try {
            finished = await handleEntry(entry)
          } catch (error) {
            // Only a stop ends the retries of a dead letter: leave the entry for the next start.
            if (!stopping) log.error({ position: entry.item.position, err: error }, 'case event left unfinished')
            return
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

  const receive = (item: TailItem): boolean => {
    if (stopping) return false
    if (window.length - head >= maxBuffered) {
      paused = true
      return false
    }
    const entry: Entry = { item, done: false }
    window.push(entry)
    if (item.caseId === null || (types !== undefined && !types.has(item.recorded.type))) {
      // Nothing for this group: passes at once, without being decoded.
      entry.done = true
      advance()
      return true
    }
    const lane = partitionFor(item.caseId, lanes)
    queues[lane]!.push(entry)
    runLane(lane)
    return true
  }

  membership = options.tail.follow(
    {
      name: groupId,
      receive,
      onStoreError: (error) => {
        core.lastError = `event store: ${error.message}`
      },
    },
    position,
  )
  log.info({ after: position, lanes }, 'consumer reading case events from the event store')

  let stopped: Promise<void> | undefined
  return {
    groupId,
    status: () => core.status({ kind: 'store', topic: TOPICS.caseEvents, position, buffered: window.length - head }),
    stop() {
      stopped ??= (async () => {
        stopping = true
        core.running = false
        abort.abort()
        await membership?.close()
        while (inFlight.size > 0) await Promise.allSettled([...inFlight])
        if (saveTimer !== undefined) clearTimeout(saveTimer)
        await saving
        await save()
        log.info({ position, outcomes: core.outcomes() }, 'consumer stopped')
      })()
      return stopped
    },
  }
}
