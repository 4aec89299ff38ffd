/**
 * The department queues: an in-memory projection of every case stream (a catch-up projection of
 * the case feed), rebuilt from position 0 of the log at each start. Nothing is persisted, so there
 * is no checkpoint to lose or to keep consistent with the data. The price is a replay of the log
 * at every start and every case in memory: fine for a district municipality; a metropolis wants a
 * stored read model.
 */
import { evolve, initialState, type CaseState, type OpenCase } from '@civic-desk/case-domain'
import type { CaseFeed, CaseFeedEvent, CatchUpProjection } from '@civic-desk/case-feed'
import { isQueueStatus, type CaseStatus, type Channel, type RequestKind } from '@civic-desk/contracts'
import { slaPositionAt } from './sla-view.ts'

/** Name of the projection among the readers of the log (operators' stream view). */
export const CASE_PROJECTION_NAME = 'department-workflow-projection'


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
  /** How many open cases are linked to this one as its duplicates (drops when one is unlinked, answered or transferred). */
  readonly linkedCount: number
  readonly revision: number
}

/** The queue line of a case at `now` (pure). */
export function toQueueEntry(c: ProjectedCase, now: Date, linkedCount = 0): QueueEntry {
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
    linkedCount,
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
  readonly feed: CaseFeed
}

/** The running projection. */
export interface OpenCases {
  /** The catch-up projection that keeps it (status for the operators' stream view). */
  readonly projection: CatchUpProjection
  /** Global position of the last event of the log seen (0 before any). */
  readonly position: number
  /** False once closed. */
  readonly running: boolean
  /** The projected case, or undefined when no event of it was seen (yet). */
  get(caseId: string): ProjectedCase | undefined
  /** Every projected case, in no particular order. */
  all(): IterableIterator<ProjectedCase>
  /** How many open cases are linked to `caseId` as its duplicates. */
  linkedCount(caseId: string): number
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

/** Starts the projection: every case stream from the start of the log, then live. */
export function createOpenCases(options: OpenCasesOptions): OpenCases {
  const cases = new Map<string, ProjectedCase>()
  /** department → ids of its cases in a queue status. */
  const byDepartment = new Map<string, Set<string>>()
  const listeners = new Set<(caseId: string) => void>()
  /** earlier case → ids of the open cases linked to it as duplicates. */
  const linked = new Map<string, Set<string>>()

  // A duplicate counts while it is open and linked: an unlink, a transfer (which drops the link)
  // or an answer takes it off the earlier case's count, a reopening of a still linked case puts it back.
  const relink = (caseId: string, before: CaseState | undefined, after: CaseState): void => {
    const link = (s: CaseState | undefined): string | null =>
      s !== undefined && s.status !== 'none' && s.duplicateOf !== null && isQueueStatus(s.status) ? s.duplicateOf.caseId : null
    const from = link(before)
    const to = link(after)
    if (from === to) return
    if (from !== null) {
      const set = linked.get(from)
      set?.delete(caseId)
      if (set?.size === 0) linked.delete(from)
    }
    if (to !== null) {
      let set = linked.get(to)
      if (set === undefined) linked.set(to, (set = new Set()))
      set.add(caseId)
    }
  }

  const index = (caseId: string, before: CaseState | undefined, after: CaseState): void => {
    const queued = (s: CaseState | undefined): string | null =>
      s !== undefined && s.status !== 'none' && s.department !== null && isQueueStatus(s.status) ? s.department : null
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

  // A listener that throws is logged by the kernel like a failed fold; the case is already applied.
  const changed = (caseId: string): void => {
    for (const listener of listeners) listener(caseId)
  }

  // A record that does not decode, or a fold that throws, is logged and skipped by the kernel: a
  // projection must not stop over a recorded fact.
  const projection = options.feed.project({
    name: CASE_PROJECTION_NAME,
    apply: ({ caseId, revision, event }: CaseFeedEvent) => {
      const previous = cases.get(caseId)
      const next = evolve(previous?.state ?? initialState(), event)
      if (next.status !== 'none') {
        // The queue shows the case's ETag: records of citizen messages do not change it (see changeRevisionOf).
        const bookkeeping = event.type === 'CitizenNotified' || event.type === 'NotificationFailed'
        cases.set(caseId, { state: next, revision: bookkeeping && previous !== undefined ? previous.revision : revision })
        index(caseId, previous?.state, next)
        relink(caseId, previous?.state, next)
      }
      changed(caseId)
    },
  })

  return {
    projection,
    get position() {
      return projection.position
    },
    get running() {
      return projection.running
    },
    get: (caseId) => cases.get(caseId),
    all: () => cases.values(),
    linkedCount: (caseId) => linked.get(caseId)?.size ?? 0,
    queue(department, now) {
      const ids = byDepartment.get(department) ?? new Set<string>()
      const entries: QueueEntry[] = []
      for (const id of ids) {
        const c = cases.get(id)
        if (c !== undefined) entries.push(toQueueEntry(c, now, linked.get(id)?.size ?? 0))
      }
      return entries.sort(compareQueueEntries)
    },
    waitUntil: (target, waitOptions = {}) => projection.waitUntil(target, waitOptions),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => projection.close(),
  }
}
