/**
 * The department queues: an in-memory projection of every case stream, rebuilt from position 0
 * of the store's global log at each start. Nothing is persisted, so there is no checkpoint to
 * lose or to keep consistent with the data. The price is a replay of the log at every start and
 * every case in memory: fine for a district municipality; a metropolis wants a stored read model.
 */
import { decodeCaseEvent, evolve, initialState, type CaseState, type OpenCase } from '@civic-desk/case-domain'
import type { CaseStatus, Channel, RequestKind } from '@civic-desk/contracts'
import type { EventStore, RecordedEvent, Subscription } from '@civic-desk/event-store'
import type { Logger } from '@civic-desk/service-kit'
import { slaPositionAt } from './sla-view.ts'

/** Streams of cases; everything else in the log is skipped. */
export const CASE_STREAM_PREFIX = 'case-'

/** Statuses in which a case sits in its directorate's queue. */
export const QUEUE_STATUSES: readonly CaseStatus[] = ['routed', 'in_progress', 'waiting_for_citizen']

/** A case as the projection holds it: its folded state and the revision of its last event. */
export interface ProjectedCase {
  readonly state: OpenCase
  readonly revision: number
}

/** One line of a department queue. */
export interface QueueEntry {
  readonly caseId: string
  readonly trackingCode: string
  readonly status: CaseStatus
  readonly category: string | null
  readonly kind: RequestKind
  readonly channel: Channel
  readonly submittedAt: string
  /** Effective due instant (pauses included; for a paused clock: now + time left). Null without a clock. */
  readonly dueAt: string | null
  /** Active time left in ms; negative when overdue; null without a clock. */
  readonly msLeft: number | null
  readonly paused: boolean
  readonly slaLevel: 'on-track' | 'warning' | 'breached' | null
  readonly escalated: boolean
  readonly assignee: string | null
  readonly duplicateOf: { readonly caseId: string; readonly trackingCode: string } | null
  readonly revision: number
}

/** The queue line of a case at `now` (pure). */
export function toQueueEntry(c: ProjectedCase, now: Date): QueueEntry {
  const { state } = c
  const sla = state.sla === null ? null : slaPositionAt(state.sla, now)
  return {
    caseId: state.caseId,
    trackingCode: state.trackingCode,
    status: state.status,
    category: state.category,
    kind: state.submission.kind,
    channel: state.submission.channel,
    submittedAt: state.submittedAt,
    dueAt: sla === null ? null : sla.dueAt.toISOString(),
    msLeft: sla === null ? null : sla.msLeft,
    paused: sla?.paused ?? false,
    slaLevel: sla?.level ?? null,
    escalated: state.sla?.escalated ?? false,
    assignee: state.assignee,
    duplicateOf: state.duplicateOf,
    revision: c.revision,
  }
}

/**
 * Most urgent first: by time left (equivalently by effective due instant; a paused clock counts
 * by the time it has left), cases without a clock last, then oldest submission, then id so the
 * order is total and stable.
 */
export function compareQueueEntries(a: QueueEntry, b: QueueEntry): number {
  const left = (e: QueueEntry) => e.msLeft ?? Number.POSITIVE_INFINITY
  return left(a) - left(b) || a.submittedAt.localeCompare(b.submittedAt) || a.caseId.localeCompare(b.caseId)
}

/** Options of `createOpenCases`. */
export interface OpenCasesOptions {
  readonly store: EventStore
  readonly logger: Logger
}

/** The running projection. */
export interface OpenCases {
  /** Global position of the last case event applied (0 before any). */
  readonly position: number
  /** False once the subscription has stopped (closed, or the store failed). */
  readonly running: boolean
  /** The projected case, or undefined when no event of it was seen (yet). */
  get(caseId: string): ProjectedCase | undefined
  /** Every projected case, in no particular order. */
  all(): IterableIterator<ProjectedCase>
  /** The open cases (routed, in progress, waiting for the citizen) of a department, most urgent first. */
  queue(department: string, now: Date): QueueEntry[]
  /**
   * Resolves once every case event at or before `position` has been applied (at once when it
   * already has). Rejects after `timeoutMs` (default 5 s) or when the projection stops first.
   */
  waitUntil(position: number, options?: { readonly timeoutMs?: number }): Promise<void>
  /** Calls `listener` after each applied event with the case it changed; returns an unsubscribe function. */
  onChange(listener: (caseId: string) => void): () => void
  /** Stops the subscription; resolves once no event is being applied. */
  close(): Promise<void>
}

/** Starts the projection: subscribes to every case stream from the start of the log. */
export function createOpenCases(options: OpenCasesOptions): OpenCases {
  const { store } = options
  const log = options.logger.child({ component: 'open-cases' })
  const cases = new Map<string, ProjectedCase>()
  /** department → ids of its cases in a queue status. */
  const byDepartment = new Map<string, Set<string>>()
  const listeners = new Set<(caseId: string) => void>()
  const waiters = new Set<() => void>()
  let position = 0
  /** Events applied so far; lets `waitUntil` notice one applied while it was asking the store. */
  let applied = 0
  let running = true

  const index = (caseId: string, before: CaseState | undefined, after: CaseState): void => {
    const queued = (s: CaseState | undefined): string | null =>
      s !== undefined && s.status !== 'none' && s.department !== null && QUEUE_STATUSES.includes(s.status) ? s.department : null
    const from = queued(before)
    const to = queued(after)
    if (from === to) return
    if (from !== null) byDepartment.get(from)?.delete(caseId)
    if (to !== null) {
      let set = byDepartment.get(to)
      if (set === undefined) byDepartment.set(to, (set = new Set()))
      set.add(caseId)
    }
  }

  const apply = (recorded: RecordedEvent): void => {
    const caseId = recorded.streamId.slice(CASE_STREAM_PREFIX.length)
    const previous = cases.get(caseId)
    let next: CaseState = previous?.state ?? initialState()
    // A record that does not decode, or a fold that throws, is a bug or a foreign writer: a
    // projection must not stop over a recorded fact, so it is logged loudly and skipped.
    try {
      next = evolve(next, decodeCaseEvent(recorded))
    } catch (error) {
      log.error({ err: error, caseId, eventId: recorded.id, type: recorded.type, position: recorded.position }, 'case event skipped: cannot be applied')
    }
    if (next.status !== 'none') {
      // The queue shows the case's ETag: records of citizen messages do not change it (see changeRevisionOf).
      const bookkeeping = recorded.type === 'CitizenNotified' || recorded.type === 'NotificationFailed'
      cases.set(caseId, { state: next, revision: bookkeeping && previous !== undefined ? previous.revision : recorded.revision })
      index(caseId, previous?.state, next)
    }
  }

  const subscription: Subscription = store.subscribeToAll(
    {
      streamPrefix: CASE_STREAM_PREFIX,
      onError: (error) => {
        running = false
        log.error({ err: error, position }, 'case projection stopped: the event store failed')
        for (const wake of waiters) wake()
      },
    },
    (recorded) => {
      apply(recorded)
      position = recorded.position
      applied++
      const caseId = recorded.streamId.slice(CASE_STREAM_PREFIX.length)
      for (const listener of listeners) {
        try {
          listener(caseId)
        } catch (error) {
          log.error({ err: error, caseId }, 'open-cases listener failed')
        }
      }
      for (const wake of waiters) wake()
    },
  )

  /** True when no case event with a position ≤ target remains to be applied. */
  const caughtUp = async (target: number): Promise<boolean> => {
    if (position >= target) return true
    if ((await store.headPosition()) < target) return false
    // The subscription only reports case events, so the head of the log may be an event of
    // another stream that it will never hand over: ask the store whether a case event is due.
    const [pending] = await store.readAll({ after: position, streamPrefix: CASE_STREAM_PREFIX, maxCount: 1 })
    return pending === undefined || pending.position > target
  }

  return {
    get position() {
      return position
    },
    get running() {
      return running
    },
    get: (caseId) => cases.get(caseId),
    all: () => cases.values(),
    queue(department, now) {
      const ids = byDepartment.get(department) ?? new Set<string>()
      const entries: QueueEntry[] = []
      for (const id of ids) {
        const c = cases.get(id)
        if (c !== undefined) entries.push(toQueueEntry(c, now))
      }
      return entries.sort(compareQueueEntries)
    },
    async waitUntil(target, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5000
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const seen = applied
        if (await caughtUp(target)) return
        if (applied !== seen) continue
        if (!running) throw new Error(`case projection stopped at position ${position} before reaching ${target}`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`case projection did not reach position ${target} within ${timeoutMs} ms (at ${position})`)
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer)
            waiters.delete(done)
            resolve()
          }
          // Woken by each applied event; the short poll covers appends to other streams, which
          // the filtered subscription never reports.
          const timer = setTimeout(done, Math.min(left, 50))
          waiters.add(done)
        })
      }
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    async close() {
      await subscription.close()
      running = false
      for (const wake of waiters) wake()
    },
  }
}
