/**
 * The catch-up projection kernel: a fold over the case events of the log kept in memory, from a
 * start position (the beginning, by default) to the live end, with its position, a way to wait
 * until it has seen a given event, and its status. Services bring only the fold.
 *
 * Nothing is persisted: a projection rebuilt from the log at every start can never be stale. A
 * fold never stops over a recorded fact: a record that does not decode, or a fold that throws, is
 * logged loudly and skipped.
 */
import type { Logger } from '@civic-desk/service-kit'
import type { CaseFeedEvent } from './codec.ts'
import type { LogTail, TailItem, TailMembership } from './tail.ts'

/** Default of `ProjectionOptions.waitTimeoutMs`. */
export const DEFAULT_PROJECTION_WAIT_MS = 5_000

export interface ProjectionOptions {
  /** Name in logs and in the operators' stream view, e.g. `routing-duplicate-index`. */
  readonly name: string
  readonly tail: LogTail
  readonly logger: Logger
  /** The event types the fold looks at; the others only move the position on and are never decoded. Default: every type. */
  readonly types?: ReadonlySet<string>
  /** Folds one case event, in global order. */
  readonly apply: (event: CaseFeedEvent) => void
  /** Called after a record of a folded type could not be decoded (it is skipped and logged). */
  readonly onSkipped?: (item: TailItem, error: unknown) => void
  /** Starts after this global position. Default 0: the whole log. */
  readonly after?: number
  /** How long `waitUntil` waits unless told otherwise. Default 5 s. */
  readonly waitTimeoutMs?: number
}

/** What the operators' stream view shows of a reader of the log. */
export interface ReaderStatus {
  readonly name: string
  /** `projection`: an in-memory fold; `store`: a consumer group reading from the store; `bus`: a consumer group on a topic. */
  readonly kind: 'projection' | 'store' | 'bus'
  readonly topic?: string
  /** Global position handled (store readers); absent for bus groups, whose lag the broker knows. */
  readonly position?: number
  readonly running: boolean
  /** The last failure (a skipped event, a store outage, a retried or dead-lettered message), if any. */
  readonly lastError?: string
}

/** `waitUntil` gave up: the projection did not get there in time, or was closed. */
export class ProjectionNotReadyError extends Error {
  override readonly name = 'ProjectionNotReadyError'
  constructor(
    readonly target: number,
    readonly position: number,
    message: string,
  ) {
    super(message)
  }
}

export interface CatchUpProjection {
  readonly name: string
  /** Global position of the last event of the log it has seen (0 before any). */
  readonly position: number
  /** False once closed. */
  readonly running: boolean
  /** Case events folded since start. */
  readonly applied: number
  /**
   * Resolves once every event up to `position` has been folded (at once when it already has).
   * Rejects with `ProjectionNotReadyError` after the timeout, or when the projection is closed first.
   */
  waitUntil(position: number, options?: { readonly timeoutMs?: number }): Promise<void>
  status(): ReaderStatus
  /** Stops following the log; pending waits reject. Idempotent. */
  close(): Promise<void>
}

interface Waiter {
  readonly position: number
  readonly resolve: () => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Starts a projection: from `after` (0) to the end of the log, then live. `onClosed` runs once it is closed. */
export function startProjection(options: ProjectionOptions, onClosed?: () => void): CatchUpProjection {
  const { name, types, apply } = options
  const log = options.logger.child({ component: 'projection', projection: name })
  const waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_PROJECTION_WAIT_MS
  let position = options.after ?? 0
  let applied = 0
  let closed = false
  let lastError: string | undefined
  let waiters: Waiter[] = []

  const release = (): void => {
    const still: Waiter[] = []
    for (const w of waiters) {
      if (w.position <= position) {
        clearTimeout(w.timer)
        w.resolve()
      } else still.push(w)
    }
    waiters = still
  }

  const fold = (item: TailItem): void => {
    if (item.caseId === null || (types !== undefined && !types.has(item.recorded.type))) return
    let event: CaseFeedEvent
    try {
      event = item.decode()
    } catch (error) {
      lastError = `position ${item.position}: ${message(error)}`
      log.warn({ err: error, position: item.position, streamId: item.recorded.streamId, eventId: item.recorded.id, type: item.recorded.type }, 'case event does not decode; skipped')
      options.onSkipped?.(item, error)
      return
    }
    try {
      apply(event)
      applied++
    } catch (error) {
      // A bug or a foreign writer: the projection must not stop over a recorded fact.
      lastError = `position ${item.position}: ${message(error)}`
      log.error({ err: error, position: item.position, caseId: event.caseId, eventId: event.event.eventId, type: event.event.type }, 'case event skipped: the fold failed')
    }
  }

  const membership: TailMembership = options.tail.follow(
    {
      name,
      receive: (item) => {
        fold(item)
        position = item.position
        if (waiters.length > 0) release()
        return true
      },
      onStoreError: (error) => {
        lastError = `event store: ${error.message}`
      },
    },
    position,
  )
  log.debug({ after: position }, 'projection started')

  let closing: Promise<void> | undefined
  return {
    name,
    get position() {
      return position
    },
    get running() {
      return !closed
    },
    get applied() {
      return applied
    },
    waitUntil(target, waitOptions = {}) {
      if (target <= position) return Promise.resolve()
      if (closed) return Promise.reject(new ProjectionNotReadyError(target, position, `${name} is closed (at position ${position}, asked for ${target})`))
      const timeoutMs = waitOptions.timeoutMs ?? waitTimeoutMs
      return new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          position: target,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters = waiters.filter((w) => w !== waiter)
            reject(new ProjectionNotReadyError(target, position, `${name} did not reach position ${target} within ${timeoutMs} ms (at ${position})`))
          }, timeoutMs),
        }
        waiters.push(waiter)
      })
    },
    status() {
      return { name, kind: 'projection', position, running: !closed, ...(lastError === undefined ? {} : { lastError }) }
    },
    close() {
      closing ??= (async () => {
        closed = true
        for (const w of waiters) {
          clearTimeout(w.timer)
          w.reject(new ProjectionNotReadyError(w.position, position, `${name} is closed (at position ${position}, asked for ${w.position})`))
        }
        waiters = []
        await membership.close()
        onClosed?.()
      })()
      return closing
    },
  }
}
