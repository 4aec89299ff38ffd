import { z } from 'zod'
import { CatalogueCodeSchema, SlaSchema } from './catalogue.ts'
import { eventSchema } from './envelope.ts'
import { Answers } from './questions.ts'
import { Channel, RecordedCitizen, RecordedLocation, RequestKind } from './request.ts'

const Instant = z.iso.datetime({ offset: true })
const Text = (max: number) => z.string().trim().min(1).max(max)
const DepartmentCode = CatalogueCodeSchema
const CategoryCode = CatalogueCodeSchema

/**
 * v1 of the first event of every case stream. `citizen` holds the applicant's personal data and is
 * absent for anonymous requests.
 */
export const CaseSubmittedV1 = eventSchema(
  'CaseSubmitted',
  1,
  z.strictObject({
    caseId: z.uuid(),
    trackingCode: z.string(),
    channel: Channel,
    externalId: z.string().optional(),
    kind: RequestKind,
    category: z.string().optional(),
    description: z.string(),
    location: RecordedLocation.optional(),
    citizen: RecordedCitizen.optional(),
    /** When the citizen applied, as the channel reported it; absent when the channel did not say. */
    submittedAt: z.iso.datetime({ offset: true }).optional(),
    /** When intake accepted the request. */
    receivedAt: z.iso.datetime({ offset: true }),
    /** Answers to the category's questions; absent when none were asked or given (and in events before questions existed). */
    answers: Answers.optional(),
  }),
)
export type CaseSubmittedV1 = z.infer<typeof CaseSubmittedV1>

/** A deadline as the catalogue states it: hours, working days, or calendar days (CİMER, KVKK). */
export const DeadlineTerms = z.union([SlaSchema, z.strictObject({ calendarDays: z.number().int().positive() }).readonly()])
export type DeadlineTerms = z.infer<typeof DeadlineTerms>

/** Which rule fixed a clock's deadline. */
export const DeadlineBasis = z.enum(['category', 'municipal-promise', 'information-law', 'cimer'])
export type DeadlineBasis = z.infer<typeof DeadlineBasis>

/**
 * One SLA clock of a case. Routing starts clock 1; a transfer or a reopening starts the next one.
 * `dueAt` is the nominal due instant computed on the business calendar when the clock started;
 * time spent waiting on the citizen moves the effective due instant later (see the calendar
 * package's SLA clock), which is derived from the events, never stored.
 */
export const SlaTerms = z.strictObject({
  clock: z.number().int().positive(),
  startedAt: Instant,
  deadline: DeadlineTerms,
  basis: DeadlineBasis,
  dueAt: Instant,
})
export type SlaTerms = z.infer<typeof SlaTerms>

/** How routing chose the directorate. */
export const RoutedBy = z.enum(['category', 'keywords', 'fallback'])
export type RoutedBy = z.infer<typeof RoutedBy>

const routingData = {
  department: DepartmentCode,
  /** The category routing settled on: the citizen's, the keyword match, or none. */
  category: CategoryCode.nullable(),
  routedBy: RoutedBy,
  /** Keywords that matched the description when routedBy is `keywords`. */
  matchedKeywords: z.array(z.string()).max(50),
  sla: SlaTerms,
  /** The statutory limit when a law applies (CİMER, information requests), else null. */
  legalDueAt: Instant.nullable(),
}

/** The case reached its directorate's queue, with its first SLA clock. */
export const CaseRoutedV1 = eventSchema('CaseRouted', 1, z.strictObject(routingData))
export type CaseRoutedV1 = z.infer<typeof CaseRoutedV1>

/**
 * Routing found a likely duplicate: the case is queued like a routed one, linked to the earlier
 * open case so staff can merge or close it; nothing is dropped silently.
 */
export const CaseMarkedDuplicateV1 = eventSchema(
  'CaseMarkedDuplicate',
  1,
  z.strictObject({
    ...routingData,
    duplicateOf: z.uuid(),
    duplicateOfTrackingCode: z.string(),
    /** `location`: within the radius; `neighbourhood-text`: same neighbourhood and similar text. */
    match: z.enum(['location', 'neighbourhood-text']),
    distanceMeters: z.number().nonnegative().nullable(),
    similarity: z.number().min(0).max(1).nullable(),
  }),
)
export type CaseMarkedDuplicateV1 = z.infer<typeof CaseMarkedDuplicateV1>

/**
 * Staff found routing's duplicate link wrong: the case stands on its own from now on, with its own
 * SLA clock started at the unlinking, in the queue of the directorate that holds it. `duplicateOf`
 * names the case it had been linked to, so the earlier case's count of linked reports can drop.
 */
export const CaseDuplicateUnlinkedV1 = eventSchema(
  'CaseDuplicateUnlinked',
  1,
  z.strictObject({
    duplicateOf: z.uuid(),
    duplicateOfTrackingCode: z.string(),
    department: DepartmentCode,
    reason: Text(2000),
    sla: SlaTerms,
  }),
)
export type CaseDuplicateUnlinkedV1 = z.infer<typeof CaseDuplicateUnlinkedV1>

/** A member of the directorate took the case on: the first response. */
export const CaseAcceptedV1 = eventSchema('CaseAccepted', 1, z.strictObject({ department: DepartmentCode, assignee: Text(200) }))
export type CaseAcceptedV1 = z.infer<typeof CaseAcceptedV1>

/** Work in the field or at the desk began. */
export const CaseWorkStartedV1 = eventSchema('CaseWorkStarted', 1, z.strictObject({ note: Text(4000).nullable() }))
export type CaseWorkStartedV1 = z.infer<typeof CaseWorkStartedV1>

/** An internal note; never shown to the citizen. */
export const CaseNoteAddedV1 = eventSchema('CaseNoteAdded', 1, z.strictObject({ text: Text(4000) }))
export type CaseNoteAddedV1 = z.infer<typeof CaseNoteAddedV1>

/** The directorate asked the citizen for information; the SLA clock stops until the reply. */
export const CitizenInfoRequestedV1 = eventSchema('CitizenInfoRequested', 1, z.strictObject({ question: Text(2000) }))
export type CitizenInfoRequestedV1 = z.infer<typeof CitizenInfoRequestedV1>

/** The citizen's answer, as recorded by staff or a channel; the SLA clock runs again. */
export const CitizenRepliedV1 = eventSchema('CitizenReplied', 1, z.strictObject({ text: Text(4000), channel: Channel.nullable() }))
export type CitizenRepliedV1 = z.infer<typeof CitizenRepliedV1>

/** Handed to another directorate, which gets its own SLA clock. */
export const CaseTransferredV1 = eventSchema(
  'CaseTransferred',
  1,
  z.strictObject({
    fromDepartment: DepartmentCode,
    toDepartment: DepartmentCode,
    category: CategoryCode.nullable(),
    reason: Text(2000),
    sla: SlaTerms,
  }),
)
export type CaseTransferredV1 = z.infer<typeof CaseTransferredV1>

/** The answer to the citizen; `resolution` is shown to them. */
export const CaseResolvedV1 = eventSchema('CaseResolved', 1, z.strictObject({ resolution: Text(4000) }))
export type CaseResolvedV1 = z.infer<typeof CaseResolvedV1>

/** Why a case can be refused. */
export const RejectionReason = z.enum(['out-of-jurisdiction', 'not-municipal', 'insufficient-information', 'duplicate', 'other'])
export type RejectionReason = z.infer<typeof RejectionReason>

/** Refused, with the reason shown to the citizen. */
export const CaseRejectedV1 = eventSchema('CaseRejected', 1, z.strictObject({ reasonCode: RejectionReason, reason: Text(2000) }))
export type CaseRejectedV1 = z.infer<typeof CaseRejectedV1>

/** Filed away after an answer (or after the citizen never replied). */
export const CaseClosedV1 = eventSchema('CaseClosed', 1, z.strictObject({ reason: Text(2000).nullable() }))
export type CaseClosedV1 = z.infer<typeof CaseClosedV1>

/**
 * Back into the directorate's queue with a fresh SLA clock. `beyondLimit` is present only when a
 * supervisor reopened a case that had already been reopened as often as the configured limit
 * allows (optional, so events stored before the limit existed still decode).
 */
export const CaseReopenedV1 = eventSchema(
  'CaseReopened',
  1,
  z.strictObject({
    reason: Text(2000),
    sla: SlaTerms,
    beyondLimit: z.strictObject({ limit: z.number().int().nonnegative(), reason: Text(2000) }).optional(),
  }),
)
export type CaseReopenedV1 = z.infer<typeof CaseReopenedV1>

/** 75 % of the clock's allowed time has passed. `at` is when it was reached, which may be before the event was recorded. */
export const SlaWarningRaisedV1 = eventSchema(
  'SlaWarningRaised',
  1,
  z.strictObject({ clock: z.number().int().positive(), department: DepartmentCode, at: Instant, dueAt: Instant }),
)
export type SlaWarningRaisedV1 = z.infer<typeof SlaWarningRaisedV1>

/** The clock ran out. `dueAt` is the effective due instant (pauses included). */
export const SlaBreachedV1 = eventSchema('SlaBreached', 1, z.strictObject({ clock: z.number().int().positive(), department: DepartmentCode, dueAt: Instant }))
export type SlaBreachedV1 = z.infer<typeof SlaBreachedV1>

/** Handed up to the directorate's supervisors after a breach. */
export const CaseEscalatedV1 = eventSchema(
  'CaseEscalated',
  1,
  z.strictObject({ clock: z.number().int().positive(), department: DepartmentCode, to: z.literal('supervisors'), reason: Text(500) }),
)
export type CaseEscalatedV1 = z.infer<typeof CaseEscalatedV1>

/** The templates the citizen can be sent. */
export const NotificationTemplate = z.enum(['acknowledgement', 'duplicate-linked', 'info-requested', 'resolved', 'rejected', 'escalated'])
export type NotificationTemplate = z.infer<typeof NotificationTemplate>

const notificationData = {
  /** Stable id of the message: derived from the source event and channel, the providers' idempotency key. */
  notificationId: z.uuid(),
  sourceEventId: z.uuid(),
  template: NotificationTemplate,
  channel: z.enum(['sms', 'email', 'whatsapp']),
  provider: z.string().min(1).max(100),
  /** The address, masked (e.g. `+90 5** *** ** 67`): the full one is in the submission. */
  to: z.string().max(300),
  /**
   * SHA-256 (hex) of the rendered subject and text: what the quiet period compares, so the same
   * message is not sent again while a different one goes out. Absent on events recorded before it.
   */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
}

/** A message went out to the citizen. */
export const CitizenNotifiedV1 = eventSchema(
  'CitizenNotified',
  1,
  z.strictObject({ ...notificationData, providerMessageId: z.string().max(500), attempts: z.number().int().positive() }),
)
export type CitizenNotifiedV1 = z.infer<typeof CitizenNotifiedV1>

/** Every attempt to send failed; staff must reach the citizen another way. */
export const NotificationFailedV1 = eventSchema(
  'NotificationFailed',
  1,
  z.strictObject({ ...notificationData, attempts: z.number().int().nonnegative(), error: z.strictObject({ code: z.string(), message: z.string().max(2000) }) }),
)
export type NotificationFailedV1 = z.infer<typeof NotificationFailedV1>

/** A field value of a workflow step. */
export const StepFieldValue = z.union([z.string().max(4000), z.number(), z.boolean()])
export type StepFieldValue = z.infer<typeof StepFieldValue>

/** A configured step of a directorate's own workflow (e.g. social services' home visit). */
export const WorkflowStepRecordedV1 = eventSchema(
  'WorkflowStepRecorded',
  1,
  z.strictObject({
    workflow: CatalogueCodeSchema,
    step: CatalogueCodeSchema,
    /** Turkish name of the step at the time, for the timeline. */
    stepNameTr: z.string().min(1),
    stepNameEn: z.string().min(1),
    fields: z.record(z.string(), StepFieldValue),
  }),
)
export type WorkflowStepRecordedV1 = z.infer<typeof WorkflowStepRecordedV1>

/** What a personal field reads as once its case's data key is destroyed (KVKK erasure or retention). */
export const ERASED_PERSONAL_TEXT = 'kişisel veri silindi'
/** What a personal field reads as when its data key cannot be read now (damaged key store, wrong key). */
export const UNAVAILABLE_PERSONAL_TEXT = 'kişisel veri şu an okunamıyor'

/**
 * The personal data of the case was destroyed (crypto-shredding: its data key is gone), on a data
 * subject's request or because its retention period ran out. Holds no personal data itself: which
 * kinds of data went, the destruction-log entry, the legal basis and the request; the actor is the
 * privacy officer or the periodic destruction job. Every sealed field of the case's earlier events
 * reads as erased from now on; the case's status, clocks and every count stay as they were.
 */
export const PersonalDataErasedV1 = eventSchema(
  'PersonalDataErased',
  1,
  z.strictObject({
    /** The destruction-log entry (its id). */
    destructionId: z.uuid(),
    reason: z.enum(['erasure-request', 'retention-expired']),
    legalBasis: Text(500),
    /** The data subject's application (its tracking code or case id); null for periodic destruction. */
    requestReference: z.string().min(1).max(200).nullable(),
    /** The kinds of personal data destroyed, in Turkish as the destruction log states them. */
    fields: z.array(z.string().min(1).max(200)).max(50),
  }),
)
export type PersonalDataErasedV1 = z.infer<typeof PersonalDataErasedV1>

/** Every case event the system knows, discriminated by `type`. Grows one schema per event type/version. */
export const CaseEvent = z.discriminatedUnion('type', [
  CaseSubmittedV1,
  CaseRoutedV1,
  CaseMarkedDuplicateV1,
  CaseAcceptedV1,
  CaseWorkStartedV1,
  CaseNoteAddedV1,
  CitizenInfoRequestedV1,
  CitizenRepliedV1,
  CaseTransferredV1,
  CaseResolvedV1,
  CaseRejectedV1,
  CaseClosedV1,
  CaseReopenedV1,
  SlaWarningRaisedV1,
  SlaBreachedV1,
  CaseEscalatedV1,
  CitizenNotifiedV1,
  NotificationFailedV1,
  WorkflowStepRecordedV1,
  // Appended, not inserted: CASE_EVENT_TYPES keeps the order of the types that came before.
  CaseDuplicateUnlinkedV1,
  PersonalDataErasedV1,
])
export type CaseEvent = z.infer<typeof CaseEvent>
export type CaseEventType = CaseEvent['type']
/** The event of one type. */
export type CaseEventOf<T extends CaseEventType> = Extract<CaseEvent, { type: T }>

/** Every case event type, in the order of `CaseEvent`. */
export const CASE_EVENT_TYPES: ReadonlySet<CaseEventType> = new Set(CaseEvent.options.map((option) => option.shape.type.value))

/** A case event without its data: how a reader that never looks at the data of a type may hold it. */
export type CaseEventWithoutData<T extends CaseEventType> = T extends CaseEventType ? Omit<CaseEventOf<T>, 'data'> : never

/**
 * A case event as a reader that reads the data of the types `R` only sees it: those events whole,
 * every other type without its data. Every `CaseEvent` is one.
 */
export type CaseEventReading<R extends CaseEventType> = CaseEventOf<R> | CaseEventWithoutData<Exclude<CaseEventType, R>>
