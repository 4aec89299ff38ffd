/**
 * The Open311 request index: what `GET requests`, `GET requests/{id}` and the updates feed read,
 * as an in-memory catch-up projection of the case events (the department queues' pattern: rebuilt
 * from the log at every start, nothing persisted, so it cannot go stale or disagree with its
 * checkpoint). Requests are kept sorted by requested time, overall and per service, so a 90-day
 * window of one service is two binary searches and a walk, however large the store.
 *
 * It holds only what the public endpoints may show — codes, statuses, instants, the neighbourhood
 * and the public steps — and reads the log as stored: the personal fields (description, address,
 * coordinates, staff texts) stay sealed and are never in it.
 */
import type { PublicStep } from '@civic-desk/case-domain'
import type { CaseFeedEvent, CatchUpProjection, ProjectionOptions } from '@civic-desk/case-feed'
import { CASE_EVENT_TYPES, SUBMITTED_LIFECYCLE, lifecycleAfter, type CaseEvent, type CaseEventType, type CaseStatus, type RejectionReason, type RequestKind } from '@civic-desk/contracts'

/** A public step of a request (the citizen's timeline, without any staff text). */
export interface RequestStep {
  readonly atMs: number
  readonly step: Step
  /** The directorate the step names (routed, transferred, …). */
  readonly department?: string
  /** Clear text the step carries: a workflow step's Turkish name, a rejection's reason code. */
  readonly detail?: string
  /** The status after the step. */
  readonly status: CaseStatus
}

/** The steps are the public timeline's (case-domain). */
export type Step = PublicStep

/** One request as the index holds it. Mutated only by the fold. */
export interface IndexedRequest {
  readonly caseId: string
  readonly trackingCode: string
  /** What the citizen did: a tip (ihbar) is never listed publicly, to protect the informant. */
  readonly kind: RequestKind
  category: string | null
  department: string | null
  status: CaseStatus
  statusBeforeWait: CaseStatus | null
  /** When the citizen applied (the channel's time, else receipt): Open311 `requested_datetime`. */
  readonly requestedMs: number
  /** The last step of the case itself (not notes, not messages to the citizen), as the public look-up's `updatedAt`. */
  updatedMs: number
  neighbourhood: string | null
  nominalDueMs: number | null
  clockStartMs: number | null
  pauseShiftMs: number
  pausedAtMs: number | null
  readonly steps: RequestStep[]
  /** Arrival order, to order requests of the same instant. */
  readonly seq: number
  /** Bumped by every change: what a rendering of the request may be cached under. */
  version: number
}

/** A status change or other public step, for the updates feed. */
export interface RequestUpdate {
  readonly request: IndexedRequest
  /** Index of the step in the request's steps: `update_id` is `<tracking code>.<index>`. */
  readonly index: number
  readonly step: RequestStep
}

/** Due instant of the running clock, pauses included; null when none runs (not routed, paused, answered). */
export function expectedMs(r: IndexedRequest): number | null {
  if (r.nominalDueMs === null || r.pausedAtMs !== null) return null
  if (r.status !== 'routed' && r.status !== 'in_progress') return null
  return r.nominalDueMs + r.pauseShiftMs
}

export interface RequestQuery {
  readonly fromMs: number
  readonly toMs: number
  readonly serviceCodes?: readonly string[]
  readonly statuses?: ReadonlySet<CaseStatus>
  /** Which requests may be listed at all (see `listable` in routes). */
  readonly listable?: (r: IndexedRequest) => boolean
  /** Requests to skip (newest first) and to return. */
  readonly offset: number
  readonly limit: number
}

export interface Open311Index {
  readonly projection: CatchUpProjection
  readonly size: number
  byTrackingCode(code: string): IndexedRequest | undefined
  /** Requests requested in [fromMs, toMs], newest first, filtered, one page. */
  query(q: RequestQuery): IndexedRequest[]
  /** Public steps after the submission that happened in [fromMs, toMs], oldest first, at most `limit` (of listable requests). */
  updates(fromMs: number, toMs: number, limit: number, listable?: (r: IndexedRequest) => boolean): RequestUpdate[]
  waitUntil(position: number, options?: { readonly timeoutMs?: number }): Promise<void>
  close(): Promise<void>
}

/** Name of the projection among the readers of the log (operators' stream view). */
export const OPEN311_INDEX_NAME = 'intake-open311-index'

// Neither steps of the case nor statuses: the index never decodes them.
const IGNORED: ReadonlySet<CaseEventType> = new Set(['CaseNoteAdded', 'CitizenNotified', 'NotificationFailed', 'PersonalDataErased'])
const FOLDED: ReadonlySet<string> = new Set([...CASE_EVENT_TYPES].filter((t) => !IGNORED.has(t)))

const before = (a: { readonly requestedMs: number; readonly seq: number }, b: { readonly requestedMs: number; readonly seq: number }): boolean =>
  a.requestedMs < b.requestedMs || (a.requestedMs === b.requestedMs && a.seq < b.seq)

/** First index whose request is not before `r` (binary search). */
function lowerBound(list: readonly IndexedRequest[], r: { readonly requestedMs: number; readonly seq: number }): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(list[mid]!, r)) lo = mid + 1
    else hi = mid
  }
  return lo
}

function insertSorted(list: IndexedRequest[], r: IndexedRequest): void {
  // Nearly always at the end: requests arrive in the order they were made.
  const last = list[list.length - 1]
  if (last === undefined || before(last, r)) list.push(r)
  else list.splice(lowerBound(list, r), 0, r)
}

function removeSorted(list: IndexedRequest[], r: IndexedRequest): void {
  const i = lowerBound(list, r)
  if (list[i] === r) list.splice(i, 1)
}

const ms = (iso: string): number => Date.parse(iso)

/** The public step an event records (as the citizen's timeline has it), or null for events that are no step. */
function stepOf(event: Exclude<CaseEvent, { type: 'CaseSubmitted' }>): Omit<RequestStep, 'atMs' | 'status'> | null {
  switch (event.type) {
    case 'CaseRouted':
      return { step: 'routed', department: event.data.department }
    case 'CaseMarkedDuplicate':
      return { step: 'duplicate-linked', department: event.data.department }
    case 'CaseAccepted':
      return { step: 'accepted', department: event.data.department }
    case 'CaseWorkStarted':
      return { step: 'work-started' }
    case 'CitizenInfoRequested':
      return { step: 'info-requested' }
    case 'CitizenReplied':
      return { step: 'citizen-replied' }
    case 'CaseTransferred':
      return { step: 'transferred', department: event.data.toDepartment }
    case 'WorkflowStepRecorded':
      return { step: 'workflow-step', detail: event.data.stepNameTr }
    case 'CaseResolved':
      return { step: 'resolved' }
    case 'CaseRejected':
      return { step: 'rejected', detail: event.data.reasonCode satisfies RejectionReason }
    case 'CaseClosed':
      return { step: 'closed' }
    case 'CaseReopened':
      return { step: 'reopened' }
    case 'CaseDuplicateUnlinked':
      return { step: 'duplicate-unlinked', department: event.data.department }
    case 'CaseEscalated':
      return { step: 'escalated', department: event.data.department }
    case 'SlaWarningRaised':
    case 'SlaBreached':
    case 'CaseNoteAdded':
    case 'CitizenNotified':
    case 'NotificationFailed':
    case 'PersonalDataErased':
      return null
    default: {
      const unknownEvent: never = event
      return unknownEvent
    }
  }
}

/** The in-memory state and its fold, apart from the log it follows (the projection feeds `apply`). */
export function createRequestTable() {
  const byCase = new Map<string, IndexedRequest>()
  const byCode = new Map<string, IndexedRequest>()
  const all: IndexedRequest[] = []
  const byService = new Map<string, IndexedRequest[]>()
  const updates: RequestUpdate[] = []
  let seq = 0

  const serviceList = (code: string): IndexedRequest[] => {
    let list = byService.get(code)
    if (list === undefined) byService.set(code, (list = []))
    return list
  }
  const setCategory = (r: IndexedRequest, category: string | null | undefined): void => {
    if (category == null || category === r.category) return
    r.version++
    if (r.category !== null) removeSorted(serviceList(r.category), r)
    r.category = category
    insertSorted(serviceList(category), r)
  }
  const startClock = (r: IndexedRequest, sla: { readonly startedAt: string; readonly dueAt: string }): void => {
    r.nominalDueMs = ms(sla.dueAt)
    r.clockStartMs = ms(sla.startedAt)
    r.pauseShiftMs = 0
    r.pausedAtMs = null
  }

  function apply(fed: Pick<CaseFeedEvent, 'caseId' | 'event'>): void {
    const event = fed.event
    if (event.type === 'CaseSubmitted') {
      if (byCase.has(fed.caseId)) return
      const d = event.data
      const atMs = ms(event.occurredAt)
      const r: IndexedRequest = {
        caseId: d.caseId,
        trackingCode: d.trackingCode,
        kind: d.kind,
        category: null,
        department: null,
        ...SUBMITTED_LIFECYCLE,
        requestedMs: ms(d.submittedAt ?? d.receivedAt),
        updatedMs: atMs,
        neighbourhood: d.location?.neighbourhood?.trim() || null,
        nominalDueMs: null,
        clockStartMs: null,
        pauseShiftMs: 0,
        pausedAtMs: null,
        steps: [{ atMs, step: 'submitted', status: 'submitted' }],
        seq: seq++,
        version: 0,
      }
      byCase.set(r.caseId, r)
      byCode.set(r.trackingCode, r)
      insertSorted(all, r)
      setCategory(r, d.category)
      return
    }
    const r = byCase.get(fed.caseId)
    if (r === undefined || IGNORED.has(event.type)) return
    const atMs = ms(event.occurredAt)
    r.version++
    const lifecycle = lifecycleAfter(r, event.type)
    r.status = lifecycle.status
    r.statusBeforeWait = lifecycle.statusBeforeWait
    r.updatedMs = atMs
    switch (event.type) {
      case 'CaseRouted':
      case 'CaseMarkedDuplicate':
        r.department = event.data.department
        setCategory(r, event.data.category)
        startClock(r, event.data.sla)
        break
      case 'CaseTransferred':
        r.department = event.data.toDepartment
        setCategory(r, event.data.category)
        startClock(r, event.data.sla)
        break
      case 'CaseReopened':
      case 'CaseDuplicateUnlinked':
        startClock(r, event.data.sla)
        break
      case 'CitizenInfoRequested':
        r.pausedAtMs ??= atMs
        break
      case 'CitizenReplied':
        if (r.pausedAtMs !== null) {
          r.pauseShiftMs += Math.max(0, atMs - Math.max(r.pausedAtMs, r.clockStartMs ?? r.pausedAtMs))
          r.pausedAtMs = null
        }
        break
      case 'CaseResolved':
      case 'CaseRejected':
      case 'CaseClosed':
        r.pausedAtMs = null
        break
      default:
        break
    }
    const step = stepOf(event)
    if (step === null) return
    const recorded: RequestStep = { atMs, ...step, status: r.status }
    r.steps.push(recorded)
    const update: RequestUpdate = { request: r, index: r.steps.length - 1, step: recorded }
    const last = updates[updates.length - 1]
    if (last === undefined || last.step.atMs <= atMs) updates.push(update)
    else updates.splice(firstUpdateAtOrAfter(updates, atMs + 1), 0, update)
  }

  function query(q: RequestQuery): IndexedRequest[] {
    const codes = q.serviceCodes
    const list = codes !== undefined && codes.length === 1 ? (byService.get(codes[0]!) ?? []) : all
    const only = codes !== undefined && codes.length > 1 ? new Set(codes) : null
    const start = lowerBound(list, { requestedMs: q.fromMs, seq: -1 })
    const end = lowerBound(list, { requestedMs: q.toMs + 1, seq: -1 })
    const page: IndexedRequest[] = []
    let skip = q.offset
    for (let i = end - 1; i >= start && page.length < q.limit; i--) {
      const r = list[i]!
      if (only !== null && (r.category === null || !only.has(r.category))) continue
      if (q.statuses !== undefined && !q.statuses.has(r.status)) continue
      if (q.listable !== undefined && !q.listable(r)) continue
      if (skip > 0) {
        skip--
        continue
      }
      page.push(r)
    }
    return page
  }

  function updatesBetween(fromMs: number, toMs: number, limit: number, listable?: (r: IndexedRequest) => boolean): RequestUpdate[] {
    const out: RequestUpdate[] = []
    for (let i = firstUpdateAtOrAfter(updates, fromMs); i < updates.length && out.length < limit; i++) {
      const u = updates[i]!
      if (u.step.atMs > toMs) break
      if (listable !== undefined && !listable(u.request)) continue
      out.push(u)
    }
    return out
  }

  return {
    apply,
    query,
    updates: updatesBetween,
    byTrackingCode: (code: string) => byCode.get(code),
    get size() {
      return byCase.size
    },
  }
}

function firstUpdateAtOrAfter(list: readonly RequestUpdate[], atMs: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (list[mid]!.step.atMs < atMs) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Starts the index: `project` is the process's way to follow the log (a case feed's `project`, or
 * `startProjection` over a log tail in the intake process).
 */
export function startOpen311Index(project: (options: Pick<ProjectionOptions, 'name' | 'types' | 'apply'>) => CatchUpProjection): Open311Index {
  const table = createRequestTable()
  const projection = project({ name: OPEN311_INDEX_NAME, types: FOLDED, apply: (event) => table.apply(event) })
  return {
    projection,
    get size() {
      return table.size
    },
    byTrackingCode: table.byTrackingCode,
    query: table.query,
    updates: table.updates,
    waitUntil: (position, options) => projection.waitUntil(position, options),
    close: () => projection.close(),
  }
}
