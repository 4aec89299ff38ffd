/**
 * What staff, supervisors and auditors read about a case: pure functions from the folded state
 * (or the stored events) and an instant to JSON-ready views.
 *
 * Personal data and auditors: an auditor checks how a case was handled (who did what, when,
 * against which deadline), not who applied or where they live. So for a caller who is only an
 * auditor the applicant's `citizen` block (name, phone, e-mail) and the exact place (street
 * address, coordinates: often the applicant's home) are left out of the case view and out of the
 * `CaseSubmitted` event in the history, and `personalDataRedacted` / `redacted` say so; the
 * neighbourhood stays, as in every statistic. Staff of the case's directorate and supervisors see
 * it all: they have to answer the citizen and go there. Free text (description, notes, replies) is
 * shown as written; it cannot be redacted mechanically.
 */
import { STATUS_TEXT, timelineEntry, type CatalogueNames, type NamedCode, type OpenCase, type PublicStep, type RecordedStep, type Submission } from '@civic-desk/case-domain'
import { type CaseRecord } from '@civic-desk/case-feed'
import {
  categoryByCode,
  departmentByCode,
  workflowForCategory,
  type Catalogue,
  type CaseEvent,
  type CaseEventOf,
  type CaseEventType,
  type DeadlineBasis,
  type DeadlineTerms,
  type PublicTimelineEntry,
  type Workflow,
  type WorkflowFile,
  type WorkflowStep,
} from '@civic-desk/contracts'
import { PERSONAL_FIELDS, erasedEventData, hasPersonalFields } from '@civic-desk/privacy'
import { slaPositionAt } from './sla-view.ts'

/** Whether the caller may see the applicant's personal data. */
export type Visibility = 'full' | 'without-personal-data'

type Place = NonNullable<Submission['location']>

/** A submission without its personal data (the applicant, the exact place), and the paths left out. */
function withoutPersonalData<S extends { readonly citizen?: unknown; readonly location?: Place | undefined }>(
  data: S,
): { data: Omit<S, 'citizen' | 'location'> & { location?: Pick<Place, 'neighbourhood'> }; removed: string[] } {
  const { citizen, location, ...rest } = data
  const removed: string[] = citizen === undefined ? [] : ['citizen']
  if (location === undefined) return { data: rest, removed }
  const { address, lat, lon: _lon, ...kept } = location
  if (address !== undefined) removed.push('location.address')
  if (lat !== undefined) removed.push('location.lat', 'location.lon')
  return { data: { ...rest, location: kept }, removed }
}

/** Catalogue look-ups for names in views. */
export function catalogueNames(catalogue: Catalogue): CatalogueNames {
  return {
    category: (code) => categoryByCode(catalogue, code),
    department: (code) => departmentByCode(catalogue, code),
  }
}

const named = (code: string, found: NamedCode | undefined): NamedCode =>
  found === undefined ? { code, nameTr: code, nameEn: code } : { code: found.code, nameTr: found.nameTr, nameEn: found.nameEn }

/** The SLA clock as the case view shows it. */
export interface SlaView {
  readonly clock: number
  readonly basis: DeadlineBasis
  readonly deadline: DeadlineTerms
  readonly startedAt: string
  /** Due instant as computed when the clock started, before any pause. */
  readonly nominalDueAt: string
  /** Effective due instant: later by the time spent waiting on the citizen (see `SlaPosition.dueAt` while paused). */
  readonly dueAt: string
  readonly msLeft: number
  readonly level: 'on-track' | 'warning' | 'breached'
  readonly paused: boolean
  readonly pausedMs: number
  readonly warningAt: string | null
  readonly warned: boolean
  readonly breached: boolean
  readonly escalated: boolean
  readonly pauses: readonly { readonly pausedAt: string; readonly resumedAt: string | null }[]
}

/** A workflow that applies to the case, with the steps that may be recorded now. */
export interface WorkflowView {
  readonly definition: Workflow
  /** Empty unless the case is in progress (the decider records steps only then). */
  readonly nextSteps: readonly WorkflowStep[]
}

/** `GET /v1/cases/:caseId` and every command's answer; described for the API by `CaseViewSchema` (api-schemas.ts). */
export interface CaseView {
  readonly caseId: string
  readonly trackingCode: string
  readonly revision: number
  readonly status: OpenCase['status']
  readonly statusTextTr: string
  readonly statusTextEn: string
  readonly kind: Submission['kind']
  readonly channel: Submission['channel']
  readonly department: NamedCode | null
  readonly category: NamedCode | null
  readonly submittedAt: string
  readonly updatedAt: string
  /** What was handed in; without `citizen` for anonymous requests, and for auditors also without the street address and coordinates. */
  readonly submission: Omit<Submission, 'citizen'> & { readonly citizen?: Submission['citizen'] }
  readonly personalDataRedacted: boolean
  /** When the case's personal data was erased (KVKK): every personal field reads "kişisel veri silindi". Null while held. */
  readonly personalDataErasedAt: string | null
  readonly legalDueAt: string | null
  readonly sla: SlaView | null
  readonly duplicateOf: OpenCase['duplicateOf']
  readonly assignee: string | null
  readonly firstResponseAt: string | null
  readonly workStartedAt: string | null
  readonly openQuestion: string | null
  /** One page of the internal notes, oldest first: by default the newest `DEFAULT_NOTES_PAGE`. */
  readonly notes: OpenCase['notes']
  readonly notesPage: NotesPage
  readonly steps: readonly RecordedStep[]
  readonly resolution: string | null
  readonly rejection: OpenCase['rejection']
  readonly resolvedAt: string | null
  readonly closedAt: string | null
  readonly workflow: WorkflowView | null
  /** The public timeline, with its steps as the closed set they are. */
  readonly timeline: readonly (PublicTimelineEntry & { readonly step: PublicStep })[]
}

/** Notes shown per page of the case view unless the caller asks for another page size. */
export const DEFAULT_NOTES_PAGE = 50
/** Most notes one page may hold. */
export const MAX_NOTES_PAGE = 200

/** Which notes a case view shows: the `limit` notes before note number `before` (0-based, oldest first). */
export interface NotesWindow {
  readonly limit: number
  /** Default: after the newest note (the newest page). */
  readonly before?: number
}

/** Where the page of notes in a case view sits among all of them. */
export interface NotesPage {
  /** Notes the case holds. */
  readonly total: number
  /** Numbers (0-based, oldest first) of the first note shown and one past the last. */
  readonly from: number
  readonly to: number
  readonly limit: number
  /** `notesBefore` of the next older page, or null when this page starts with the first note. */
  readonly olderBefore: number | null
}

/** The page of `notes` a window selects. */
export function notesPage(notes: OpenCase['notes'], window: NotesWindow): { readonly notes: OpenCase['notes']; readonly page: NotesPage } {
  const total = notes.length
  const to = Math.min(total, window.before ?? total)
  const from = Math.max(0, to - window.limit)
  return { notes: notes.slice(from, to), page: { total, from, to, limit: window.limit, olderBefore: from > 0 ? from : null } }
}

/** Steps of `workflow` that may follow what the case recorded (the decider's own order rules). */
export function nextWorkflowSteps(workflow: Workflow, recorded: readonly RecordedStep[]): WorkflowStep[] {
  const mine = recorded.filter((r) => r.workflow === workflow.code)
  const done = new Set(mine.map((r) => r.step))
  const last = mine.at(-1)?.step ?? null
  return workflow.steps.filter((s) => {
    if (s.after !== last || done.has(s.code)) return false
    const when = s.when
    return when === undefined || mine.findLast((r) => r.step === when.step)?.fields[when.field] === when.equals
  })
}

/** The workflow that applies to the case's category, if any. */
export function workflowOfCase(state: OpenCase, workflows: WorkflowFile, catalogue: Catalogue): Workflow | undefined {
  return workflowForCategory(workflows, catalogue, state.category)
}

function slaView(state: OpenCase, now: Date): SlaView | null {
  const sla = state.sla
  if (sla === null) return null
  const at = slaPositionAt(sla, now)
  return {
    clock: sla.terms.clock,
    basis: sla.terms.basis,
    deadline: sla.terms.deadline,
    startedAt: sla.terms.startedAt,
    nominalDueAt: at.nominalDueAt.toISOString(),
    dueAt: at.dueAt.toISOString(),
    msLeft: at.msLeft,
    level: at.level,
    paused: at.paused,
    pausedMs: at.pausedMs,
    warningAt: at.warningAt === null ? null : at.warningAt.toISOString(),
    warned: sla.warned,
    breached: sla.breached,
    escalated: sla.escalated,
    pauses: sla.pauses,
  }
}

/** Everything staff need to work the case, at `now`. */
export function caseView(
  state: OpenCase,
  revision: number,
  now: Date,
  context: { readonly catalogue: Catalogue; readonly workflows: WorkflowFile; readonly visibility: Visibility; readonly notes?: NotesWindow },
): CaseView {
  const names = catalogueNames(context.catalogue)
  const notes = notesPage(state.notes, context.notes ?? { limit: DEFAULT_NOTES_PAGE })
  const { citizen, ...withoutCitizen } = state.submission
  const limited = context.visibility === 'without-personal-data' ? withoutPersonalData(state.submission) : null
  const redacted = limited !== null && limited.removed.length > 0
  const workflow = workflowOfCase(state, context.workflows, context.catalogue)
  return {
    caseId: state.caseId,
    trackingCode: state.trackingCode,
    revision,
    status: state.status,
    statusTextTr: STATUS_TEXT[state.status].tr,
    statusTextEn: STATUS_TEXT[state.status].en,
    kind: state.submission.kind,
    channel: state.submission.channel,
    department: state.department === null ? null : named(state.department, names.department(state.department)),
    category: state.category === null ? null : named(state.category, names.category(state.category)),
    submittedAt: state.submittedAt,
    updatedAt: state.updatedAt,
    submission: limited !== null ? limited.data : citizen === undefined ? withoutCitizen : { ...withoutCitizen, citizen },
    personalDataRedacted: redacted,
    personalDataErasedAt: state.personalDataErasedAt,
    legalDueAt: state.legalDueAt,
    sla: slaView(state, now),
    duplicateOf: state.duplicateOf,
    assignee: state.assignee,
    firstResponseAt: state.firstResponseAt,
    workStartedAt: state.workStartedAt,
    openQuestion: state.openQuestion,
    notes: notes.notes,
    notesPage: notes.page,
    steps: state.steps,
    resolution: state.resolution,
    rejection: state.rejection,
    resolvedAt: state.resolvedAt,
    closedAt: state.closedAt,
    workflow:
      workflow === undefined
        ? null
        : { definition: workflow, nextSteps: state.status === 'in_progress' ? nextWorkflowSteps(workflow, state.steps) : [] },
    timeline: state.timeline.map((r) => ({ ...timelineEntry(r, names), step: r.step })),
  }
}

/** What every event of `GET /v1/cases/:caseId/history` holds beside its type and data. */
interface HistoryMeta {
  readonly revision: number
  readonly position: number
  readonly recordedAt: string
  readonly eventId: string
  readonly occurredAt: string
  readonly actor: CaseEvent['actor']
  readonly correlationId: string
  /** The caller's own request id, as it sent it: untrusted. */
  readonly clientRequestId?: string
  readonly causationId: string | null
  /** Set when personal data was left out of `data`. */
  readonly redacted?: readonly string[]
  /** The personal fields of this event that were erased (KVKK): they read "kişisel veri silindi" or are gone. */
  readonly erased?: readonly string[]
}

/** One event of `GET /v1/cases/:caseId/history`: its type and the data of that type (`HistoryEntrySchema` in api-schemas.ts). */
export type HistoryEntry = { readonly [T in CaseEventType]: HistoryMeta & { readonly type: T; readonly schemaVersion: CaseEventOf<T>['schemaVersion']; readonly data: CaseEventOf<T>['data'] } }[CaseEventType]

/** The stored events of a case in order, for auditors and supervisors. */
export function historyEntries(records: readonly CaseRecord[], visibility: Visibility, options: { readonly erased?: boolean } = {}): HistoryEntry[] {
  // `erased`: the case was erased after the last of `records` (a history up to an earlier instant).
  const erasedCase = options.erased === true || records.some((r) => r.event.type === 'PersonalDataErased')
  return records.map(({ event, revision, position, recordedAt }) => {
    const erased = erasedCase && hasPersonalFields(event.type) ? { erased: PERSONAL_FIELDS[event.type] ?? [] } : {}
    // Erased: whatever form the fields were in (an event written before sealing holds them in clear).
    const eventData = erasedCase ? (erasedEventData(event.type, event.data) as typeof event.data) : event.data
    const base = {
      revision,
      position,
      recordedAt,
      eventId: event.eventId,
      type: event.type,
      schemaVersion: event.schemaVersion,
      occurredAt: event.occurredAt,
      actor: event.actor,
      correlationId: event.correlationId,
      ...(event.clientRequestId === undefined ? {} : { clientRequestId: event.clientRequestId }),
      causationId: event.causationId,
    }
    if (visibility === 'without-personal-data' && event.type === 'CaseSubmitted') {
      const { data, removed } = withoutPersonalData(eventData as typeof event.data)
      // A submission's data without the applicant and with the neighbourhood only is still one.
      if (removed.length > 0) return { ...base, data, redacted: removed.map((path) => `data.${path}`), ...erased } as HistoryEntry
    }
    // `type` and `data` come from the same event; spread apart, TypeScript no longer pairs them.
    return { ...base, data: eventData, ...erased } as HistoryEntry
  })
}
