/**
 * Assignments for the directorates' own systems (a public-works field app, the parks
 * department's work-order tool …): every time a case lands in a directorate's queue, one
 * `AssignmentMessage` goes to `civic.assignments.v1`, keyed by the department code.
 *
 * A case lands in a queue when it is routed (`CaseRouted`, or `CaseMarkedDuplicate`: queued
 * like a routed case, linked to the earlier one) → `CaseAssigned`; when it is transferred →
 * `CaseTransferred` to the new directorate (with `fromDepartment`, so the old one can drop it);
 * when an answered case is reopened → `CaseReopened` (same directorate, fresh SLA clock).
 *
 * A directorate also learns when a case in its queue comes to an end: `CaseResolved`,
 * `CaseRejected`, `CaseClosed`, so its own system can close the work order instead of keeping it
 * open for ever; and when a case it got as a likely duplicate turns out to stand on its own
 * (`CaseDuplicateUnlinked`, with its own deadline). These are the case updates, listed once in
 * `CASE_UPDATES`.
 *
 * Format version 2 carries no personal data at all (KVKK): no name, phone or e-mail, and — unlike
 * version 1 — no description, street address, coordinates, nor any staff free text (transfer,
 * reopening, resolution, rejection, closing or unlinking reasons). A topic cannot forget: Kafka keeps
 * a message as long as its retention says, and an erasure (crypto-shredding of the case's data key,
 * docs/privacy.md) cannot reach a value copied out in clear. So a message says which case, which
 * directorate, what kind of request in which neighbourhood (clear, as in the event log) and by when,
 * and `details` is the staff API path of the case (`/v1/cases/<caseId>`): the directorate's system
 * reads the description, address, coordinates and texts there with its directorate token while the
 * municipality holds them, and reads "kişisel veri silindi" after an erasure. Directorates reach the
 * citizen through civic-desk (`CitizenInfoRequested`).
 *
 * Delivery is at-least-once: a redelivered case event publishes the same assignment again, with
 * the same `assignmentId` (derived from the source event id) and the same content, because the
 * case is folded only up to the source event. Consumers de-duplicate on `assignmentId`.
 *
 * Failures: a case event that is invalid, or that our store cannot hold, is dead-lettered at once;
 * a store or bus failure is retried with back-off until it heals (by default without limit, so an
 * outage delays assignments instead of dropping them).
 */
import { deriveEventId, replay, type OpenCase } from '@civic-desk/case-domain'
import { decodeCaseEvent, type CaseFeed, type CaseFeedEvent, type Consumer } from '@civic-desk/case-feed'
import {
  CaseStatus,
  CatalogueCodeSchema,
  Channel,
  RejectionReason,
  RequestKind,
  categoryByCode,
  departmentByCode,
  type CaseEvent,
  type CaseEventOf,
  type CaseEventType,
  type Catalogue,
} from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { NonRetriableError, TOPICS, type Bus, type OutgoingMessage } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { z } from 'zod'

/** Name the publisher uses when deriving assignment ids; changing it would give every assignment a new id. */
const HANDLER = 'assignments'

/** Header names of every message on `civic.assignments.v1`. */
export const ASSIGNMENT_HEADERS = {
  /** The source event's correlation id (the one intake recorded for the request). */
  correlationId: 'correlation-id',
  caseId: 'case-id',
  /** The message's `type`: `CaseAssigned`, `CaseTransferred`, `CaseReopened` or one of the case updates (`CASE_UPDATES`). */
  eventType: 'event-type',
  /** The message's `assignmentId`, to de-duplicate without parsing the value. */
  assignmentId: 'assignment-id',
  /** W3C `traceparent` of the publish: the trace of the request whose event led to the message (added by the bus). */
  traceparent: 'traceparent',
} as const

const Instant = z.iso.datetime({ offset: true })

/** Format version of every message on the topic (1: description, address, coordinates and reasons in clear; no longer published). */
export const ASSIGNMENT_FORMAT_VERSION = 2

/** The staff API path where a directorate's system reads the case's personal details (`details`). */
export const caseDetailsPath = (caseId: string): string => `/v1/cases/${caseId}`

const Details = z.string().regex(/^\/v1\/cases\/[0-9a-fA-F-]{36}$/)

const AssignmentBase = z.strictObject({
  /** Format version of the value: 2 (see `ASSIGNMENT_FORMAT_VERSION`); skip a `v` you do not know. */
  v: z.literal(ASSIGNMENT_FORMAT_VERSION),
  /** Stable id of this assignment: the same for every redelivery; de-duplicate on it. */
  assignmentId: z.uuid(),
  caseId: z.uuid(),
  /**
   * The staff API path of the case (`/v1/cases/<caseId>`), where the directorate's system reads the
   * description, address, coordinates and texts with its directorate token (they read "kişisel veri
   * silindi" once the case's personal data was erased).
   */
  details: Details,
  /** The code the citizen knows the case by (e.g. `K7MA-4PXR-9TK`). */
  trackingCode: z.string().min(1),
  /** The directorate whose queue the case is in now; also the message key. */
  department: CatalogueCodeSchema,
  /** The directorate's Turkish name; present when the publisher has the catalogue. */
  departmentNameTr: z.string().min(1).optional(),
  /** The category the case is handled under, or null when routing found none. */
  category: CatalogueCodeSchema.nullable(),
  /** The category's Turkish name; present when the publisher has the catalogue and the category. */
  categoryNameTr: z.string().min(1).optional(),
  kind: RequestKind,
  channel: Channel,
  /** When the citizen applied (the channel's time, else when intake received it). */
  submittedAt: Instant,
  /**
   * Nominal deadline of the SLA clock this assignment started. Time spent waiting for the
   * citizen moves it later inside civic-desk; that is not repeated here.
   */
  dueAt: Instant,
  /** The statutory limit (CİMER, information requests), else null. */
  legalDueAt: Instant.nullable(),
  /** The request's neighbourhood (clear in the event log too), or null when it gave none; address and coordinates are behind `details`. */
  neighbourhood: z.string().nullable(),
  /** `occurredAt` of the source event: when the case entered this queue. */
  occurredAt: Instant,
  /** Id of the case event that caused this message. */
  sourceEventId: z.uuid(),
  /** Global position of the source event in the event store: increases with every event. */
  position: z.number().int().positive(),
})

/** The case entered a directorate's queue from routing. */
export const CaseAssignedMessage = AssignmentBase.extend({
  type: z.literal('CaseAssigned'),
  /** Set when routing found a likely duplicate: the earlier open case it belongs with. */
  duplicateOf: z.strictObject({ caseId: z.uuid(), trackingCode: z.string().min(1) }).optional(),
})

/** Another directorate handed the case over; `fromDepartment`'s system should drop it. */
export const CaseTransferredMessage = AssignmentBase.extend({
  type: z.literal('CaseTransferred'),
  fromDepartment: CatalogueCodeSchema,
})

/** An answered (resolved, rejected or closed) case came back into the same directorate's queue. */
export const CaseReopenedMessage = AssignmentBase.extend({
  type: z.literal('CaseReopened'),
})

/** What a case update says beyond its type: codes and clocks only, never staff's words (they are behind `details`). */
interface UpdateDetail {
  /** The rejection's reason code (`RejectionReason`); null for the other updates. */
  readonly reasonCode: RejectionReason | null
  /** Nominal deadline of the SLA clock the update started (an unlinked duplicate runs on its own clock); else null. */
  readonly dueAt: string | null
}

/**
 * Case events that tell a directorate about a case already in its queue, each published as a
 * message of the same `type`: the one list of them. A new kind is one line here (its event type
 * and what its `reasonCode` and `dueAt` are; no free text: the message must stay free of personal
 * data); the schema, the publisher's subscription and the builder follow from it.
 */
const CASE_UPDATES = {
  CaseResolved: (): UpdateDetail => ({ reasonCode: null, dueAt: null }),
  CaseRejected: (e: CaseEventOf<'CaseRejected'>): UpdateDetail => ({ reasonCode: e.data.reasonCode, dueAt: null }),
  CaseClosed: (): UpdateDetail => ({ reasonCode: null, dueAt: null }),
  CaseDuplicateUnlinked: (e: CaseEventOf<'CaseDuplicateUnlinked'>): UpdateDetail => ({ reasonCode: null, dueAt: e.data.sla.dueAt }),
} satisfies { readonly [T in CaseEventType]?: (event: CaseEventOf<T>) => UpdateDetail }

type UpdateType = keyof typeof CASE_UPDATES
/** The `type`s of the case-update messages, in `CASE_UPDATES` order. */
export const CASE_UPDATE_TYPES = Object.keys(CASE_UPDATES) as [UpdateType, ...UpdateType[]]

/**
 * A case in the directorate's queue was answered, refused or filed away (the work order can be
 * closed), or is no longer a likely duplicate (see `CASE_UPDATES`). Carries what identifies the case and
 * codes, neither the request again nor staff's words (the resolution and reasons are behind `details`).
 */
export const CaseUpdateMessage = z.strictObject({
  v: AssignmentBase.shape.v,
  type: z.enum(CASE_UPDATE_TYPES),
  assignmentId: AssignmentBase.shape.assignmentId,
  caseId: AssignmentBase.shape.caseId,
  details: AssignmentBase.shape.details,
  trackingCode: AssignmentBase.shape.trackingCode,
  /** The directorate whose queue the case was in; also the message key. */
  department: AssignmentBase.shape.department,
  departmentNameTr: AssignmentBase.shape.departmentNameTr,
  category: AssignmentBase.shape.category,
  categoryNameTr: AssignmentBase.shape.categoryNameTr,
  /** The case's status after the event (`resolved`, `rejected`, `closed`; an unlinked case stays `routed` or `in_progress`). */
  status: CaseStatus,
  /** `CaseRejected`: the rejection's reason code; null for the others. */
  reasonCode: RejectionReason.nullable(),
  /** The new clock's nominal deadline for an update that starts one (`CaseDuplicateUnlinked`), else null. */
  dueAt: Instant.nullable(),
  occurredAt: AssignmentBase.shape.occurredAt,
  sourceEventId: AssignmentBase.shape.sourceEventId,
  position: AssignmentBase.shape.position,
})

/** The value of every message on `civic.assignments.v1`, discriminated by `type`. */
export const AssignmentMessage = z.discriminatedUnion('type', [CaseAssignedMessage, CaseTransferredMessage, CaseReopenedMessage, CaseUpdateMessage])
export type AssignmentMessage = z.infer<typeof AssignmentMessage>
export type AssignmentType = AssignmentMessage['type']

type AssigningEvent = CaseEventOf<'CaseRouted' | 'CaseMarkedDuplicate' | 'CaseTransferred' | 'CaseReopened'>
type UpdateEvent = CaseEventOf<UpdateType>
/** Every case event that publishes a message. */
type PublishingEvent = AssigningEvent | UpdateEvent

const PUBLISHING: ReadonlySet<CaseEventType> = new Set<PublishingEvent['type']>(['CaseRouted', 'CaseMarkedDuplicate', 'CaseTransferred', 'CaseReopened', ...CASE_UPDATE_TYPES])

const isPublishing = (event: CaseEvent): event is PublishingEvent => PUBLISHING.has(event.type)
const isUpdate = (event: PublishingEvent): event is UpdateEvent => Object.hasOwn(CASE_UPDATES, event.type)

/** The detail of a case update, through its entry in `CASE_UPDATES`. */
function updateDetail(event: UpdateEvent): UpdateDetail {
  // The table pairs each type with its own event's reader; TypeScript cannot follow that pairing.
  return (CASE_UPDATES[event.type] as (e: UpdateEvent) => UpdateDetail)(event)
}

/** What the source event and the case as of that event say. */
export interface AssignmentSource {
  readonly event: PublishingEvent
  /** The case folded up to and including `event`. */
  readonly state: OpenCase
  readonly position: number
}

/**
 * The message a case event means, or null when it means none (a case that was never routed has
 * no directorate to tell). Pure: the same source always gives the same message.
 */
export function assignmentFor(source: AssignmentSource, catalogue?: Catalogue): AssignmentMessage | null {
  const { event, state } = source
  const department = state.department
  if (department === null) return null
  const submission = state.submission
  const departmentNameTr = catalogue === undefined ? undefined : departmentByCode(catalogue, department)?.nameTr
  const categoryNameTr = catalogue === undefined || state.category === null ? undefined : categoryByCode(catalogue, state.category)?.nameTr
  // What every message says of the case and its queue, update or assignment.
  const identity = {
    assignmentId: deriveEventId(event.eventId, HANDLER),
    caseId: state.caseId,
    details: caseDetailsPath(state.caseId),
    trackingCode: state.trackingCode,
    department,
    ...(departmentNameTr === undefined ? {} : { departmentNameTr }),
    category: state.category,
    ...(categoryNameTr === undefined ? {} : { categoryNameTr }),
  }
  if (isUpdate(event)) {
    return {
      v: ASSIGNMENT_FORMAT_VERSION,
      type: event.type,
      ...identity,
      status: state.status,
      ...updateDetail(event),
      occurredAt: event.occurredAt,
      sourceEventId: event.eventId,
      position: source.position,
    }
  }
  const common = {
    ...identity,
    kind: submission.kind,
    channel: submission.channel,
    submittedAt: state.submittedAt,
    // Every assigning event starts a new SLA clock.
    dueAt: event.data.sla.dueAt,
    legalDueAt: state.legalDueAt,
    // Only the clear neighbourhood: the description, address and coordinates are personal data.
    neighbourhood: submission.location?.neighbourhood ?? null,
    occurredAt: event.occurredAt,
    sourceEventId: event.eventId,
    position: source.position,
  }
  switch (event.type) {
    case 'CaseRouted':
      return { v: ASSIGNMENT_FORMAT_VERSION, type: 'CaseAssigned', ...common }
    case 'CaseMarkedDuplicate':
      return { v: ASSIGNMENT_FORMAT_VERSION, type: 'CaseAssigned', ...common, duplicateOf: { caseId: event.data.duplicateOf, trackingCode: event.data.duplicateOfTrackingCode } }
    case 'CaseTransferred':
      // The transfer's reason is staff free text: behind `details`.
      return { v: ASSIGNMENT_FORMAT_VERSION, type: 'CaseTransferred', ...common, fromDepartment: event.data.fromDepartment }
    case 'CaseReopened':
      return { v: ASSIGNMENT_FORMAT_VERSION, type: 'CaseReopened', ...common }
    default: {
      const unknownEvent: never = event
      return unknownEvent
    }
  }
}

export interface AssignmentPublisherOptions {
  /** Where the case events come from. */
  readonly feed: CaseFeed
  /** Where the assignments go. */
  readonly bus: Bus
  /** Where the case's submission (what, where) is read from when a case event arrives. */
  readonly store: EventStore
  readonly logger: Logger
  /** Consumer group on `civic.case-events.v1`. Default `department-workflow-assignments`. */
  readonly groupId?: string
  /** When given, messages carry the directorate's and category's Turkish names. */
  readonly catalogue?: Catalogue
  /**
   * Handler attempts per message before the bus dead-letters it. Only the store and the bus fail
   * this way, and an outage should delay assignments, not drop them: default unlimited (back-off
   * capped at 30 s). Messages retrying cannot mend are dead-lettered at once whatever this says.
   */
  readonly maxAttempts?: number
  /** Bus back-off before the 2nd attempt, doubling. Default: the bus's (100 ms). */
  readonly retryBackoffMs?: number
}

/** What the publisher did since it started. */
export interface AssignmentPublisherStatus {
  /** False once `stop` was called. */
  readonly running: boolean
  /** Assignments published (a redelivered case event publishes its assignment again and counts again). */
  readonly published: number
  /** Assigning events that meant no assignment (a reopened case without a directorate). */
  readonly skipped: number
  /** The last failure (retried or dead-lettered message), if any. */
  readonly lastError?: string
}

/** A running assignment publisher. */
export interface AssignmentPublisher {
  /** Leaves the consumer group (the message in flight finishes or stays uncommitted). Idempotent. */
  stop(): Promise<void>
  status(): AssignmentPublisherStatus
}


/** The message to publish for an assignment. */
export function assignmentMessage(assignment: AssignmentMessage, correlationId: string): OutgoingMessage {
  return {
    key: assignment.department,
    value: assignment,
    headers: {
      [ASSIGNMENT_HEADERS.correlationId]: correlationId,
      [ASSIGNMENT_HEADERS.caseId]: assignment.caseId,
      [ASSIGNMENT_HEADERS.eventType]: assignment.type,
      [ASSIGNMENT_HEADERS.assignmentId]: assignment.assignmentId,
    },
  }
}

/**
 * Joins `groupId` on `civic.case-events.v1` (from the oldest retained event, so no assignment is
 * missed on the first start) and publishes an assignment for every case event that puts a case
 * in a directorate's queue. Resolves once subscribed.
 */
export async function startAssignmentPublisher(options: AssignmentPublisherOptions): Promise<AssignmentPublisher> {
  const { feed, bus, store, catalogue } = options
  const groupId = options.groupId ?? 'department-workflow-assignments'
  const log = options.logger.child({ component: 'assignments' })

  const handle = async ({ streamId, revision, position, event }: CaseFeedEvent): Promise<'published' | 'skipped'> => {
    if (!isPublishing(event)) return 'skipped'
    // Folded only up to the source event, so a redelivery rebuilds the same assignment even after
    // the case has moved on (transferred, closed …).
    const records = await store.readStream(streamId, { maxCount: revision + 1 })
    const last = records.at(-1)
    if (records.length <= revision) {
      // Positions are global: a store already past this one should hold the event.
      const head = await store.headPosition()
      if (head >= position) throw new NonRetriableError(`${streamId} revision ${revision} (position ${position}) is not in the store, which is at position ${head}: the message comes from another store`)
      // A store replica behind the one the relay reads: wait for it.
      throw new Error(`${streamId} revision ${revision} (position ${position}) is not in the store yet (head ${head})`)
    }
    if (last?.id !== event.eventId) throw new NonRetriableError(`${streamId} revision ${revision} is event ${last?.id ?? '(none)'} in the store, not ${event.eventId}`)
    // A stored event that is no known case event throws CaseEventDecodeError: dead-lettered by the skeleton.
    const state = replay(records.map(decodeCaseEvent))
    if (state.status === 'none') throw new NonRetriableError(`${streamId}: no CaseSubmitted before ${event.type} ${event.eventId}`)

    const assignment = assignmentFor({ event, state, position }, catalogue)
    const caseLog = log.child({ caseId: state.caseId, sourceEventId: event.eventId, correlationId: event.correlationId })
    if (assignment === null) {
      caseLog.warn({ type: event.type }, 'case is in no directorate; no assignment published')
      return 'skipped'
    }
    await bus.publish(TOPICS.assignments, [assignmentMessage(assignment, event.correlationId)])
    caseLog.info({ type: assignment.type, department: assignment.department, assignmentId: assignment.assignmentId, dueAt: assignment.dueAt }, 'assignment published')
    return 'published'
  }

  const consumer: Consumer = await feed.consume({
    groupId,
    types: PUBLISHING,
    handle,
    maxAttempts: options.maxAttempts ?? Number.MAX_SAFE_INTEGER,
    ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
  })
  log.info({ groupId, source: feed.source, to: TOPICS.assignments }, 'assignment publisher started')

  return {
    stop: () => consumer.stop(),
    status() {
      const { running, outcomes, lastError } = consumer.status()
      return { running, published: outcomes['published'] ?? 0, skipped: outcomes['skipped'] ?? 0, ...(lastError === undefined ? {} : { lastError }) }
    },
  }
}
