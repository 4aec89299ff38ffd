import { isDeepStrictEqual } from 'node:util'
import { slaClockFromDue } from '@civic-desk/calendar'
import type {
  Actor,
  CaseEvent,
  CaseEventOf,
  CaseMarkedDuplicateV1,
  CaseRoutedV1,
  CaseStatus,
  CaseSubmittedV1,
  Channel,
  CitizenNotifiedV1,
  NotificationFailedV1,
  RejectionReason,
  SlaTerms,
  Workflow,
} from '@civic-desk/contracts'
import { ERASED_PERSONAL_TEXT, SUBMITTED_LIFECYCLE, isOpenStatus, lifecycleAfter } from '@civic-desk/contracts'
import { deriveEventId } from './ids.ts'
import { canTransition } from './status-machine.ts'
import { CaseRuleViolation } from './violation.ts'
import { checkStep, type RecordedStep } from './workflow.ts'

// Still part of this module's surface; they live apart so that workflow.ts needs nothing from here.
export { CaseRuleViolation, type CaseRuleCode } from './violation.ts'
export type { RecordedStep } from './workflow.ts'

/** Time, ids and who is acting come from outside: the decider has no clock and no randomness. */
export interface CommandMeta {
  /** Id of the first event; further events of the same decision get ids derived from it. */
  readonly eventId: string
  readonly occurredAt: string
  readonly actor: Actor
  readonly correlationId: string
  /** The caller's own request id (untrusted), recorded apart from `correlationId`. */
  readonly clientRequestId?: string
  readonly causationId: string | null
}

/** A new SLA clock as computed by the caller on the business calendar; the decider numbers it. */
export type NewSla = Omit<SlaTerms, 'clock'>

type Command<T extends string, D> = { readonly type: T; readonly meta: CommandMeta; readonly data: D }

export type SubmitCase = Command<'SubmitCase', CaseSubmittedV1['data']>
export type RouteCase = Command<'RouteCase', CaseRoutedV1['data']>
export type MarkDuplicate = Command<'MarkDuplicate', CaseMarkedDuplicateV1['data']>
export type AcceptCase = Command<'AcceptCase', { readonly assignee: string }>
export type StartWork = Command<'StartWork', { readonly note: string | null }>
export type AddNote = Command<'AddNote', { readonly text: string }>
export type RequestInfo = Command<'RequestInfo', { readonly question: string }>
export type RecordCitizenReply = Command<'RecordCitizenReply', { readonly text: string; readonly channel: Channel | null }>
export type TransferCase = Command<
  'TransferCase',
  { readonly toDepartment: string; readonly category: string | null; readonly reason: string; readonly sla: NewSla }
>
export type ResolveCase = Command<'ResolveCase', { readonly resolution: string }>
export type RejectCase = Command<'RejectCase', { readonly reasonCode: RejectionReason; readonly reason: string }>
export type CloseCase = Command<'CloseCase', { readonly reason: string | null }>
/**
 * `limit`: how many reopenings the case may have had before this one (the configured cap; absent:
 * no cap). `override`: a supervisor's reason to reopen beyond the limit; the caller passes it only
 * for supervisors.
 */
export type ReopenCase = Command<
  'ReopenCase',
  { readonly reason: string; readonly sla: NewSla; readonly limit?: number; readonly override?: { readonly reason: string } }
>
/** Undo routing's duplicate link: the case gets its own SLA clock (`sla`, starting now) in its directorate's queue. */
export type UnlinkDuplicate = Command<'UnlinkDuplicate', { readonly reason: string; readonly sla: NewSla }>
/** Raise whatever SLA thresholds were reached by `now` and not yet recorded (also after downtime). */
export type CheckSla = Command<'CheckSla', { readonly now: string }>
export type RecordStep = Command<
  'RecordStep',
  { readonly workflow: Workflow; readonly step: string; readonly fields: Readonly<Record<string, unknown>> }
>
export type RecordNotification = Command<'RecordNotification', CitizenNotifiedV1['data']>
export type RecordNotificationFailure = Command<'RecordNotificationFailure', NotificationFailedV1['data']>

/** Every command a case accepts. */
export type CaseCommand =
  | SubmitCase
  | RouteCase
  | MarkDuplicate
  | AcceptCase
  | StartWork
  | AddNote
  | RequestInfo
  | RecordCitizenReply
  | TransferCase
  | ResolveCase
  | RejectCase
  | CloseCase
  | ReopenCase
  | UnlinkDuplicate
  | CheckSla
  | RecordStep
  | RecordNotification
  | RecordNotificationFailure

export type CaseCommandType = CaseCommand['type']

export type Submission = CaseSubmittedV1['data']

/** A pause of the SLA clock (waiting on the citizen); `resumedAt` null while it lasts. */
export interface PauseRecord {
  readonly pausedAt: string
  readonly resumedAt: string | null
}

/** The running SLA clock of a case and which of its thresholds were recorded. */
export interface SlaState {
  readonly terms: SlaTerms
  readonly pauses: readonly PauseRecord[]
  readonly warned: boolean
  readonly breached: boolean
  readonly escalated: boolean
}

/** One step of the case's history as the citizen may see it; rendered to text by `toPublicView`. */
export interface TimelineRecord {
  readonly at: string
  readonly step: PublicStep
  readonly department?: string
  /** Free text shown to the citizen (resolution, rejection reason, workflow step name…). */
  readonly detailTr?: string
  readonly detailEn?: string
}

export type PublicStep =
  | 'submitted'
  | 'routed'
  | 'duplicate-linked'
  | 'accepted'
  | 'work-started'
  | 'info-requested'
  | 'citizen-replied'
  | 'transferred'
  | 'workflow-step'
  | 'resolved'
  | 'rejected'
  | 'closed'
  | 'reopened'
  | 'duplicate-unlinked'
  | 'escalated'

export interface NoteRecord {
  readonly at: string
  readonly by: string
  readonly text: string
}

export type OpenCase = {
  readonly status: CaseStatus
  readonly caseId: string
  readonly trackingCode: string
  readonly submission: Submission
  readonly department: string | null
  /** The category routing settled on (may differ from the citizen's when reclassified on transfer). */
  readonly category: string | null
  /** When the citizen applied: the channel's time if it gave one, else when we received it. */
  readonly submittedAt: string
  readonly updatedAt: string
  /** Effective due instant of the running clock (pauses included); null before routing and while it is held by a pause. */
  readonly expectedBy: string | null
  readonly legalDueAt: string | null
  readonly duplicateOf: { readonly caseId: string; readonly trackingCode: string } | null
  readonly assignee: string | null
  readonly firstResponseAt: string | null
  readonly workStartedAt: string | null
  readonly openQuestion: string | null
  /** The status to return to when the citizen replies. */
  readonly statusBeforeWait: CaseStatus | null
  readonly sla: SlaState | null
  readonly steps: readonly RecordedStep[]
  readonly notes: readonly NoteRecord[]
  readonly resolution: string | null
  readonly rejection: { readonly reasonCode: RejectionReason; readonly reason: string } | null
  readonly resolvedAt: string | null
  readonly closedAt: string | null
  /** How often the case was reopened (what the reopening limit counts). */
  readonly reopenings: number
  /** Ids of notifications already sent or given up on: never send one twice. */
  readonly notifications: ReadonlySet<string>
  readonly timeline: readonly TimelineRecord[]
  /** When the case's personal data was erased (KVKK); null while it is held. */
  readonly personalDataErasedAt: string | null
}

export type CaseState = { readonly status: 'none' } | OpenCase

export function initialState(): CaseState {
  return { status: 'none' }
}

/** The parts of a submission that identify what the citizen asked, i.e. everything but our own bookkeeping. */
function requestPart(s: Submission): unknown {
  const { caseId: _caseId, trackingCode: _code, receivedAt: _receivedAt, ...rest } = s
  // Through JSON so that an absent key and a key holding undefined compare equal.
  return JSON.parse(JSON.stringify(rest))
}

const STATUS_WORDS: Record<CaseStatus, string> = {
  submitted: 'submitted (not routed yet)',
  routed: 'routed (waiting to be accepted)',
  in_progress: 'in progress',
  waiting_for_citizen: 'waiting for the citizen',
  resolved: 'resolved',
  rejected: 'rejected',
  closed: 'closed',
}

function illegal(state: OpenCase, action: string, hint?: string): CaseRuleViolation {
  return new CaseRuleViolation('illegal_step', `cannot ${action}: the case is ${STATUS_WORDS[state.status]}${hint === undefined ? '' : `; ${hint}`}`)
}

function requireCase(state: CaseState): OpenCase {
  if (state.status === 'none') throw new CaseRuleViolation('case_not_found', 'no such case')
  return state
}

/** Builds the events of one decision; the n-th event gets an id derived from the command's. */
function emit(meta: CommandMeta, ...events: { type: CaseEvent['type']; data: unknown }[]): CaseEvent[] {
  return events.map(
    (e, i) =>
      ({
        eventId: i === 0 ? meta.eventId : deriveEventId(meta.eventId, `#${i}`),
        occurredAt: meta.occurredAt,
        actor: meta.actor,
        correlationId: meta.correlationId,
        ...(meta.clientRequestId === undefined ? {} : { clientRequestId: meta.clientRequestId }),
        causationId: meta.causationId,
        schemaVersion: 1,
        type: e.type,
        data: e.data,
      }) as CaseEvent,
  )
}

/** The SLA clock of the case as instants, or null when it has none. */
export function clockOf(sla: SlaState) {
  return slaClockFromDue({
    start: new Date(sla.terms.startedAt),
    nominalDue: new Date(sla.terms.dueAt),
    pauses: sla.pauses.map((p) => ({ pausedAt: new Date(p.pausedAt), resumedAt: p.resumedAt === null ? undefined : new Date(p.resumedAt) })),
  })
}

/** The thresholds of the running clock still to be recorded, with their instants. */
interface PendingSla {
  readonly clock: number
  readonly department: string
  readonly warningAt: Date | null
  readonly dueAt: Date
  readonly warn: boolean
  readonly breach: boolean
  readonly escalate: boolean
}

/**
 * What `CheckSla` may still record for the case, or null when nothing can fire: no clock, an
 * answered case, or a pause holding the clock before its effective due instant is known.
 */
function pendingSla(state: CaseState): PendingSla | null {
  if (state.status === 'none' || state.sla === null || state.department === null || !isOpenStatus(state.status)) return null
  const { sla } = state
  const clock = clockOf(sla)
  // A warning reports the effective due instant, so nothing fires while a pause hides it.
  if (clock.dueAt === null) return null
  return {
    clock: sla.terms.clock,
    department: state.department,
    warningAt: clock.warningAt,
    dueAt: clock.dueAt,
    warn: !sla.warned && clock.warningAt !== null,
    breach: !sla.breached,
    escalate: !sla.escalated,
  }
}

/** The next SLA threshold of a case that is still to be recorded. */
export interface PendingThreshold {
  readonly clock: number
  readonly threshold: 'warning' | 'breach'
  readonly at: Date
}

/**
 * The first threshold of the case's running clock that `CheckSla` has not recorded yet, or null:
 * what a scheduler sets its timer for, from the same rule the decider applies.
 */
export function nextSlaThreshold(state: CaseState): PendingThreshold | null {
  const p = pendingSla(state)
  if (p === null) return null
  if (p.warn && p.warningAt !== null) return { clock: p.clock, threshold: 'warning', at: p.warningAt }
  if (p.breach || p.escalate) return { clock: p.clock, threshold: 'breach', at: p.dueAt }
  return null
}

export function decide(command: CaseCommand, state: CaseState): CaseEvent[] {
  const { meta } = command
  switch (command.type) {
    case 'SubmitCase': {
      if (state.status !== 'none') {
        const before = state.submission
        const now = command.data
        const sameKey = before.externalId !== undefined && before.channel === now.channel && before.externalId === now.externalId
        if (!sameKey) {
          throw new CaseRuleViolation('tracking_code_taken', `tracking code ${state.trackingCode} already belongs to another case`)
        }
        if (isDeepStrictEqual(requestPart(before), requestPart(now))) return [] // a retry: already done
        throw new CaseRuleViolation('already_submitted', `a different request was already submitted as ${now.channel}/${now.externalId}`)
      }
      return emit(meta, { type: 'CaseSubmitted', data: command.data })
    }
    case 'RouteCase':
    case 'MarkDuplicate': {
      const c = requireCase(state)
      // Routed once only: a redelivered CaseSubmitted finds the case already past this point.
      if (c.status !== 'submitted' || c.sla !== null) return []
      return emit(meta, { type: command.type === 'RouteCase' ? 'CaseRouted' : 'CaseMarkedDuplicate', data: command.data })
    }
    case 'AcceptCase': {
      const c = requireCase(state)
      if (c.status !== 'routed') {
        throw illegal(c, 'accept', c.status === 'in_progress' ? `it was already accepted by ${c.assignee ?? 'someone'}` : undefined)
      }
      // A case reopened after it was refused at the desk is back in no directorate's queue.
      if (c.department === null) throw illegal(c, 'accept', 'it was never routed to a directorate')
      return emit(meta, { type: 'CaseAccepted', data: { department: c.department, assignee: command.data.assignee } })
    }
    case 'StartWork': {
      const c = requireCase(state)
      if (c.status !== 'in_progress') throw illegal(c, 'start work', c.status === 'routed' ? 'accept it first' : undefined)
      if (c.workStartedAt !== null) throw illegal(c, 'start work', `work started at ${c.workStartedAt}`)
      return emit(meta, { type: 'CaseWorkStarted', data: { note: command.data.note } })
    }
    case 'AddNote': {
      requireCase(state)
      return emit(meta, { type: 'CaseNoteAdded', data: { text: command.data.text } })
    }
    case 'RequestInfo': {
      const c = requireCase(state)
      if (!canTransition(c.status, 'waiting_for_citizen')) throw illegal(c, 'ask the citizen for information')
      return emit(meta, { type: 'CitizenInfoRequested', data: { question: command.data.question } })
    }
    case 'RecordCitizenReply': {
      const c = requireCase(state)
      if (c.status !== 'waiting_for_citizen') throw illegal(c, "record the citizen's reply", 'no question is open')
      return emit(meta, { type: 'CitizenReplied', data: { text: command.data.text, channel: command.data.channel } })
    }
    case 'TransferCase': {
      const c = requireCase(state)
      if (c.status !== 'routed' && c.status !== 'in_progress') throw illegal(c, 'transfer', c.status === 'waiting_for_citizen' ? 'record the reply first' : undefined)
      if (c.department === null) throw illegal(c, 'transfer', 'it was never routed to a directorate')
      if (c.department === command.data.toDepartment) throw new CaseRuleViolation('same_department', `the case is already with ${c.department}`)
      return emit(meta, {
        type: 'CaseTransferred',
        data: {
          fromDepartment: c.department,
          toDepartment: command.data.toDepartment,
          category: command.data.category,
          reason: command.data.reason,
          sla: { clock: (c.sla?.terms.clock ?? 0) + 1, ...command.data.sla },
        },
      })
    }
    case 'ResolveCase': {
      const c = requireCase(state)
      if (c.status === 'submitted' || !canTransition(c.status, 'resolved')) throw illegal(c, 'resolve')
      return emit(meta, { type: 'CaseResolved', data: { resolution: command.data.resolution } })
    }
    case 'RejectCase': {
      const c = requireCase(state)
      if (!canTransition(c.status, 'rejected')) throw illegal(c, 'reject')
      return emit(meta, { type: 'CaseRejected', data: { reasonCode: command.data.reasonCode, reason: command.data.reason } })
    }
    case 'CloseCase': {
      const c = requireCase(state)
      if (!canTransition(c.status, 'closed')) {
        throw illegal(c, 'close', isOpenStatus(c.status) ? 'resolve or reject it first' : undefined)
      }
      return emit(meta, { type: 'CaseClosed', data: { reason: command.data.reason } })
    }
    case 'ReopenCase': {
      const c = requireCase(state)
      if (isOpenStatus(c.status) || !canTransition(c.status, 'routed')) throw illegal(c, 'reopen', 'only answered cases can be reopened')
      const { limit, override } = command.data
      const beyond = limit !== undefined && c.reopenings >= limit
      if (beyond && override === undefined) {
        throw new CaseRuleViolation(
          'reopen_limit_reached',
          `cannot reopen: the case was already reopened ${c.reopenings} times and the limit is ${limit}; only a supervisor can reopen it again, with a reason`,
        )
      }
      return emit(meta, {
        type: 'CaseReopened',
        data: {
          reason: command.data.reason,
          sla: { clock: (c.sla?.terms.clock ?? 0) + 1, ...command.data.sla },
          // Recorded only when it was needed: an override below the limit is no override.
          ...(beyond && override !== undefined ? { beyondLimit: { limit, reason: override.reason } } : {}),
        },
      })
    }
    case 'UnlinkDuplicate': {
      const c = requireCase(state)
      if (c.duplicateOf === null) throw new CaseRuleViolation('not_a_duplicate', 'cannot unlink: the case is not linked to another case as a duplicate')
      // An answered case goes back to work by reopening; while the citizen is asked, the clock is
      // held, and a new one must not start running under the pause.
      if ((c.status !== 'routed' && c.status !== 'in_progress') || c.department === null) {
        throw illegal(c, 'unlink the duplicate', c.status === 'waiting_for_citizen' ? 'record the reply first' : 'reopen it first')
      }
      return emit(meta, {
        type: 'CaseDuplicateUnlinked',
        data: {
          duplicateOf: c.duplicateOf.caseId,
          duplicateOfTrackingCode: c.duplicateOf.trackingCode,
          department: c.department,
          reason: command.data.reason,
          sla: { clock: (c.sla?.terms.clock ?? 0) + 1, ...command.data.sla },
        },
      })
    }
    case 'CheckSla': {
      const p = pendingSla(state)
      if (p === null) return []
      const now = new Date(command.data.now).getTime()
      const { clock: n, department } = p
      const dueAt = p.dueAt.toISOString()
      const overdue = p.dueAt.getTime() <= now
      const events: { type: CaseEvent['type']; data: unknown }[] = []
      if (p.warn && p.warningAt !== null && p.warningAt.getTime() <= now) {
        events.push({ type: 'SlaWarningRaised', data: { clock: n, department, at: p.warningAt.toISOString(), dueAt } })
      }
      if (p.breach && overdue) events.push({ type: 'SlaBreached', data: { clock: n, department, dueAt } })
      if (p.escalate && overdue) {
        events.push({ type: 'CaseEscalated', data: { clock: n, department, to: 'supervisors', reason: `deadline ${dueAt} passed without an answer` } })
      }
      return emit(meta, ...events)
    }
    case 'RecordStep': {
      const c = requireCase(state)
      if (c.status !== 'in_progress') throw illegal(c, 'record a workflow step', c.status === 'routed' ? 'accept it first' : undefined)
      const { workflow, step, fields } = command.data
      const checked = checkStep(workflow, step, fields, c.steps.filter((s) => s.workflow === workflow.code))
      const recorded = {
        type: 'WorkflowStepRecorded' as const,
        data: { workflow: workflow.code, step: checked.step.code, stepNameTr: checked.step.nameTr, stepNameEn: checked.step.nameEn, fields: checked.fields },
      }
      if (checked.resolution === null) return emit(meta, recorded)
      return emit(meta, recorded, { type: 'CaseResolved', data: { resolution: checked.resolution.tr } })
    }
    case 'RecordNotification':
    case 'RecordNotificationFailure': {
      const c = requireCase(state)
      if (c.notifications.has(command.data.notificationId)) return []
      return emit(meta, { type: command.type === 'RecordNotification' ? 'CitizenNotified' : 'NotificationFailed', data: command.data })
    }
    default: {
      const unknownCommand: never = command
      throw new Error(`unknown command ${String((unknownCommand as { type: string }).type)}`)
    }
  }
}

function withEffectiveDue(c: OpenCase, sla: SlaState | null): Pick<OpenCase, 'sla' | 'expectedBy'> {
  if (sla === null) return { sla, expectedBy: c.expectedBy }
  const due = clockOf(sla).dueAt
  return { sla, expectedBy: due === null ? c.expectedBy : due.toISOString() }
}

/** Ends an open pause: an answer or closure while waiting on the citizen stops waiting too. */
function endPause(sla: SlaState | null, at: string): SlaState | null {
  if (sla === null || !sla.pauses.some((p) => p.resumedAt === null)) return sla
  return { ...sla, pauses: sla.pauses.map((p) => (p.resumedAt === null ? { ...p, resumedAt: at } : p)) }
}

function newClock(terms: SlaTerms): SlaState {
  return { terms, pauses: [], warned: false, breached: false, escalated: false }
}

function at(c: OpenCase, e: CaseEvent, entry: Omit<TimelineRecord, 'at'>): readonly TimelineRecord[] {
  return [...c.timeline, { at: e.occurredAt, ...entry }]
}

function evolveOpen(c: OpenCase, e: Exclude<CaseEvent, CaseEventOf<'CaseSubmitted'>>): OpenCase {
  // The status comes from the one rule the read models use too; the cases below keep the rest.
  const { status, statusBeforeWait } = lifecycleAfter(c, e.type)
  const base = { ...c, updatedAt: e.occurredAt, status, statusBeforeWait }
  switch (e.type) {
    case 'CaseRouted':
    case 'CaseMarkedDuplicate': {
      const d = e.data
      const duplicate = e.type === 'CaseMarkedDuplicate' ? { caseId: e.data.duplicateOf, trackingCode: e.data.duplicateOfTrackingCode } : null
      return {
        ...base,
        department: d.department,
        category: d.category,
        legalDueAt: d.legalDueAt,
        duplicateOf: duplicate,
        ...withEffectiveDue(c, newClock(d.sla)),
        timeline: at(c, e, {
          step: duplicate === null ? 'routed' : 'duplicate-linked',
          department: d.department,
          ...(duplicate === null ? {} : { detailTr: duplicate.trackingCode, detailEn: duplicate.trackingCode }),
        }),
      }
    }
    case 'CaseAccepted':
      return {
        ...base,
        assignee: e.data.assignee,
        firstResponseAt: c.firstResponseAt ?? e.occurredAt,
        timeline: at(c, e, { step: 'accepted', department: e.data.department }),
      }
    case 'CaseWorkStarted':
      return { ...base, workStartedAt: e.occurredAt, timeline: at(c, e, { step: 'work-started' }) }
    case 'CaseNoteAdded':
      return { ...base, notes: [...c.notes, { at: e.occurredAt, by: e.actor.id, text: e.data.text }] }
    case 'CitizenInfoRequested': {
      const sla = c.sla === null ? null : { ...c.sla, pauses: [...c.sla.pauses, { pausedAt: e.occurredAt, resumedAt: null }] }
      return {
        ...base,
        openQuestion: e.data.question,
        firstResponseAt: c.firstResponseAt ?? e.occurredAt,
        ...withEffectiveDue(c, sla),
        timeline: at(c, e, { step: 'info-requested' }),
      }
    }
    case 'CitizenReplied': {
      const sla = endPause(c.sla, e.occurredAt)
      return {
        ...base,
        openQuestion: null,
        ...withEffectiveDue(c, sla),
        timeline: at(c, e, { step: 'citizen-replied' }),
      }
    }
    case 'CaseTransferred':
      return {
        ...base,
        department: e.data.toDepartment,
        category: e.data.category,
        // The link was made inside the first directorate; another one compares nothing with it.
        duplicateOf: null,
        assignee: null,
        workStartedAt: null,
        ...withEffectiveDue(c, newClock(e.data.sla)),
        timeline: at(c, e, { step: 'transferred', department: e.data.toDepartment }),
      }
    case 'CaseResolved':
      return {
        ...base,
        sla: endPause(c.sla, e.occurredAt),
        resolution: e.data.resolution,
        resolvedAt: e.occurredAt,
        openQuestion: null,
        timeline: at(c, e, { step: 'resolved', detailTr: e.data.resolution, detailEn: e.data.resolution }),
      }
    case 'CaseRejected':
      return {
        ...base,
        sla: endPause(c.sla, e.occurredAt),
        rejection: { reasonCode: e.data.reasonCode, reason: e.data.reason },
        resolvedAt: e.occurredAt,
        openQuestion: null,
        timeline: at(c, e, { step: 'rejected', detailTr: e.data.reason, detailEn: e.data.reason }),
      }
    case 'CaseClosed':
      return { ...base, closedAt: e.occurredAt, openQuestion: null, sla: endPause(c.sla, e.occurredAt), timeline: at(c, e, { step: 'closed' }) }
    case 'CaseReopened':
      return {
        ...base,
        assignee: null,
        workStartedAt: null,
        resolution: null,
        rejection: null,
        resolvedAt: null,
        closedAt: null,
        reopenings: c.reopenings + 1,
        ...withEffectiveDue(c, newClock(e.data.sla)),
        timeline: at(c, e, { step: 'reopened', ...(c.department === null ? {} : { department: c.department }) }),
      }
    case 'CaseDuplicateUnlinked':
      // It stays where it is in its directorate (whoever took it on keeps it), now on its own clock.
      return {
        ...base,
        duplicateOf: null,
        ...withEffectiveDue(c, newClock(e.data.sla)),
        timeline: at(c, e, { step: 'duplicate-unlinked', department: e.data.department }),
      }
    case 'SlaWarningRaised':
      return c.sla === null || c.sla.terms.clock !== e.data.clock ? base : { ...base, sla: { ...c.sla, warned: true } }
    case 'SlaBreached':
      return c.sla === null || c.sla.terms.clock !== e.data.clock ? base : { ...base, sla: { ...c.sla, breached: true } }
    case 'CaseEscalated':
      return c.sla === null || c.sla.terms.clock !== e.data.clock
        ? base
        : { ...base, sla: { ...c.sla, escalated: true }, timeline: at(c, e, { step: 'escalated', department: e.data.department }) }
    case 'CitizenNotified':
    case 'NotificationFailed': {
      const notifications = new Set(c.notifications)
      notifications.add(e.data.notificationId)
      // A message to the citizen is not a step of their case: updatedAt stays.
      return { ...c, notifications }
    }
    case 'WorkflowStepRecorded':
      return {
        ...base,
        steps: [...c.steps, { workflow: e.data.workflow, step: e.data.step, fields: e.data.fields, at: e.occurredAt }],
        timeline: at(c, e, { step: 'workflow-step', detailTr: e.data.stepNameTr, detailEn: e.data.stepNameEn }),
      }
    case 'PersonalDataErased':
      // Not a step of the case: its status, clocks and updatedAt stay; what was personal reads as erased.
      return erasePersonalData(c, e.occurredAt)
    default: {
      const unknownEvent: never = e
      return unknownEvent
    }
  }
}

const ERASED = ERASED_PERSONAL_TEXT

/**
 * The case with every piece of personal data it holds replaced by "kişisel veri silindi": the
 * applicant's contact (phone and e-mail go, so nothing is sent to them any more), the description,
 * the street address and coordinates, notes, the open question, the answer, the reasons and the
 * text fields of workflow steps. Everything a statistic reads stays.
 */
function erasePersonalData(c: OpenCase, at: string): OpenCase {
  const s = c.submission
  const { lat: _lat, lon: _lon, address, ...place } = s.location ?? {}
  const { phone: _phone, email: _email, name: _name, ...contact } = s.citizen ?? {}
  const { externalId: _externalId, ...submission } = s
  const eraseText = (text: string): string => (text === '' ? text : ERASED)
  return {
    ...c,
    personalDataErasedAt: c.personalDataErasedAt ?? at,
    submission: {
      ...submission,
      description: ERASED,
      ...(s.location === undefined ? {} : { location: { ...place, ...(address === undefined && _lat === undefined ? {} : { address: ERASED }) } }),
      ...(s.citizen === undefined ? {} : { citizen: { ...contact, name: ERASED } }),
    },
    openQuestion: c.openQuestion === null ? null : ERASED,
    notes: c.notes.map((n) => ({ ...n, text: ERASED })),
    resolution: c.resolution === null ? null : ERASED,
    rejection: c.rejection === null ? null : { ...c.rejection, reason: ERASED },
    steps: c.steps.map((step) => ({
      ...step,
      fields: Object.fromEntries(Object.entries(step.fields).map(([k, v]) => [k, typeof v === 'string' ? eraseText(v) : v])),
    })),
    timeline: c.timeline.map((t) =>
      t.step === 'resolved' || t.step === 'rejected' ? { ...t, ...(t.detailTr === undefined ? {} : { detailTr: ERASED }), ...(t.detailEn === undefined ? {} : { detailEn: 'personal data erased' }) } : t,
    ),
  }
}

export function evolve(state: CaseState, event: CaseEvent): CaseState {
  if (event.type === 'CaseSubmitted') {
    if (state.status !== 'none') return state
    const d = event.data
    return {
      ...SUBMITTED_LIFECYCLE,
      caseId: d.caseId,
      trackingCode: d.trackingCode,
      submission: d,
      department: null,
      category: d.category ?? null,
      submittedAt: d.submittedAt ?? d.receivedAt,
      updatedAt: event.occurredAt,
      expectedBy: null,
      legalDueAt: null,
      duplicateOf: null,
      assignee: null,
      firstResponseAt: null,
      workStartedAt: null,
      openQuestion: null,
      sla: null,
      steps: [],
      notes: [],
      resolution: null,
      rejection: null,
      resolvedAt: null,
      closedAt: null,
      reopenings: 0,
      notifications: new Set(),
      timeline: [{ at: event.occurredAt, step: 'submitted' }],
      personalDataErasedAt: null,
    }
  }
  if (state.status === 'none') return state // a stream must start with CaseSubmitted; anything else is ignored
  return evolveOpen(state, event)
}

/** Folds a stream's events into the case state. */
export function replay(events: readonly CaseEvent[]): CaseState {
  return events.reduce(evolve, initialState())
}
