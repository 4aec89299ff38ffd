/**
 * The answers of the staff, privacy and audit APIs as zod schemas: what the OpenAPI document says
 * each route sends. They describe, they do not serialize (see the route convention), so each one
 * must name every key its route sends: `api-schemas.int.test.ts` parses real answers with them and
 * fails on anything left out. The views they describe are built in views.ts, sla-view.ts,
 * open-cases.ts, as-of.ts, privacy-routes.ts and audit-routes.ts; the type checks at the end of
 * this file keep the keys of those types and of these schemas the same.
 */
import { z } from 'zod'
import { AuditBundle, Checkpoint } from '@civic-desk/audit'
import type { PublicStep } from '@civic-desk/case-domain'
import {
  CASE_EVENT_TYPES,
  CaseEvent,
  CaseStatus,
  CaseSubmittedV1,
  Channel,
  DeadlineBasis,
  DeadlineTerms,
  EventMeta,
  PublicTimelineEntry,
  RejectionReason,
  RequestKind,
  StepFieldValue,
  WorkflowFileSchema,
  WorkflowSchema,
  WorkflowStepSchema,
  type CaseEventType,
} from '@civic-desk/contracts'
import type { DestructionEntry } from '@civic-desk/privacy'
import type { RecordedChange } from './as-of.ts'
import type { QueueEntry } from './open-cases.ts'
import type { CaseView, HistoryEntry, NotesPage, SlaView } from './views.ts'

const Instant = z.iso.datetime({ offset: true })
const Revision = z.number().int().min(0)
/** The views hand out readonly arrays; the schemas say so (which also lets the routes' return types be checked against them). */
const list = <T extends z.ZodType>(item: T) => z.array(item).readonly()

/** Every case event type, as a closed set. */
export const CaseEventTypeSchema = z.enum([...CASE_EVENT_TYPES] as [CaseEventType, ...CaseEventType[]])

/** The public steps of a case's timeline (case-domain's `PublicStep`, checked at the end of the file). */
export const PublicStepSchema = z.enum([
  'submitted',
  'routed',
  'duplicate-linked',
  'accepted',
  'work-started',
  'info-requested',
  'citizen-replied',
  'transferred',
  'workflow-step',
  'resolved',
  'rejected',
  'closed',
  'reopened',
  'duplicate-unlinked',
  'escalated',
])

export const SlaLevelSchema = z.enum(['on-track', 'warning', 'breached'])

/** A catalogue code with its names. */
export const NamedCodeSchema = z.object({ code: z.string(), nameTr: z.string(), nameEn: z.string() })

const CaseLink = z.object({ caseId: z.uuid(), trackingCode: z.string() }).describe('The earlier case this one was linked to as a duplicate')

/** `SlaView` of views.ts. */
export const SlaViewSchema = z.object({
  clock: z.number().int().positive().describe('1 from routing; each transfer or reopening starts the next'),
  basis: DeadlineBasis,
  deadline: DeadlineTerms,
  startedAt: Instant,
  nominalDueAt: Instant.describe('Due instant as computed when the clock started, before any pause'),
  dueAt: Instant.describe('Effective due instant, later by the time spent waiting on the citizen'),
  msLeft: z.number().int().describe('Active time left; negative once overdue'),
  level: SlaLevelSchema,
  paused: z.boolean(),
  pausedMs: z.number().int().min(0),
  warningAt: Instant.nullable().describe('When 75 % is (or was) reached; null while a pause holds the clock before it'),
  warned: z.boolean(),
  breached: z.boolean(),
  escalated: z.boolean(),
  pauses: list(z.object({ pausedAt: Instant, resumedAt: Instant.nullable() })),
})

/** `NotesPage` of views.ts. */
export const NotesPageSchema = z.object({
  total: z.number().int().min(0),
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  limit: z.number().int().min(1),
  olderBefore: z.number().int().min(0).nullable().describe('`notesBefore` of the next older page; null on the first page'),
})

const SubmissionData = CaseSubmittedV1.shape.data

/** `GET /v1/cases/:caseId` and every command's answer (`CaseView` of views.ts). */
export const CaseViewSchema = z.object({
  caseId: z.uuid(),
  trackingCode: z.string(),
  revision: Revision.describe('Also the ETag: send it back in If-Match'),
  status: CaseStatus,
  statusTextTr: z.string(),
  statusTextEn: z.string(),
  kind: RequestKind,
  channel: Channel,
  department: NamedCodeSchema.nullable(),
  category: NamedCodeSchema.nullable(),
  submittedAt: Instant,
  updatedAt: Instant,
  submission: SubmissionData.describe(
    'What was handed in. No `citizen` for anonymous requests; for auditors also no `citizen`, and `location` holds only the neighbourhood (see `personalDataRedacted`). After a KVKK erasure personal fields read "kişisel veri silindi".',
  ),
  personalDataRedacted: z.boolean().describe('True when personal data was left out for the caller (auditors)'),
  personalDataErasedAt: Instant.nullable(),
  legalDueAt: Instant.nullable(),
  sla: SlaViewSchema.nullable(),
  duplicateOf: CaseLink.nullable(),
  assignee: z.string().nullable(),
  firstResponseAt: Instant.nullable(),
  workStartedAt: Instant.nullable(),
  openQuestion: z.string().nullable(),
  notes: list(z.object({ at: Instant, by: z.string(), text: z.string() })).describe('One page of the internal notes, oldest first'),
  notesPage: NotesPageSchema,
  steps: list(z.object({ workflow: z.string(), step: z.string(), fields: z.record(z.string(), StepFieldValue), at: Instant })),
  resolution: z.string().nullable(),
  rejection: z.object({ reasonCode: RejectionReason, reason: z.string() }).nullable(),
  resolvedAt: Instant.nullable(),
  closedAt: Instant.nullable(),
  workflow: z
    .object({
      definition: WorkflowSchema,
      nextSteps: list(WorkflowStepSchema).describe('Empty unless the case is in progress'),
    })
    .nullable(),
  timeline: list(PublicTimelineEntry.extend({ step: PublicStepSchema })),
})

/** One recorded change of a case (`RecordedChange` of as-of.ts). */
export const RecordedChangeSchema = z.object({ revision: Revision, recordedAt: Instant, occurredAt: Instant, type: CaseEventTypeSchema })

/** `GET /v1/cases/:caseId?asOf=`: the case view as it stood then (`CaseAsOfView` of app.ts). */
export const CaseAsOfViewSchema = CaseViewSchema.extend({
  asOf: Instant.describe('The instant asked for, as UTC'),
  streamRevision: Revision.describe('Revision of the last event recorded by then'),
  changes: list(RecordedChangeSchema).describe('The instants at which the case changed, up to asOf'),
})

/** The answer of `GET /v1/cases/:caseId`: the case now, or with `asOf` as it stood then. */
export const CaseReadSchema = z.union([CaseAsOfViewSchema, CaseViewSchema])

const historyMeta = {
  revision: Revision,
  position: z.number().int().min(0).describe('Global position in the event log'),
  recordedAt: Instant,
  eventId: EventMeta.shape.eventId,
  occurredAt: EventMeta.shape.occurredAt,
  actor: EventMeta.shape.actor,
  correlationId: EventMeta.shape.correlationId,
  clientRequestId: EventMeta.shape.clientRequestId,
  causationId: EventMeta.shape.causationId,
  redacted: list(z.string()).optional().describe('Paths left out of `data` because the caller may not see personal data'),
  erased: list(z.string()).optional().describe('Personal fields of this event erased under KVKK'),
}

const historyEntries = CaseEvent.options.map((event) =>
  z.object({ ...historyMeta, type: event.shape.type, schemaVersion: event.shape.schemaVersion, data: event.shape.data }),
)

/** One event of `GET /v1/cases/:caseId/history` (`HistoryEntry` of views.ts), by type. */
export const HistoryEntrySchema = z.discriminatedUnion('type', historyEntries as [(typeof historyEntries)[number], ...typeof historyEntries])

/** `GET /v1/cases/:caseId/history`: with `until`, only the events recorded by then. */
export const CaseHistorySchema = z.object({
  caseId: z.uuid(),
  until: Instant.optional().describe('The instant asked for, as UTC (only with `until`)'),
  revision: Revision,
  events: list(HistoryEntrySchema),
})

/** One line of a department queue (`QueueEntry` of open-cases.ts). */
export const QueueEntrySchema = z.object({
  caseId: z.uuid(),
  trackingCode: z.string(),
  status: CaseStatus,
  category: z.string().nullable(),
  kind: RequestKind,
  channel: Channel,
  submittedAt: Instant,
  dueAt: Instant.nullable(),
  msLeft: z.number().int().nullable(),
  paused: z.boolean(),
  slaLevel: SlaLevelSchema.nullable(),
  escalated: z.boolean(),
  assignee: z.string().nullable(),
  duplicateOf: CaseLink.nullable(),
  linkedCount: z.number().int().min(0),
  revision: Revision,
})

/** `GET /v1/departments/:code/queue`. */
export const DepartmentQueueSchema = z.object({
  department: NamedCodeSchema,
  now: Instant,
  position: z.number().int().describe('Position of the event log the queue reflects'),
  cases: list(QueueEntrySchema).describe('Most urgent first'),
})

/** `GET /v1/workflows`: the directorates' workflow definitions as configured. */
export const WorkflowsSchema = WorkflowFileSchema

// ---- privacy (KVKK) ---------------------------------------------------------------------------

/** An entry of the destruction log (`DestructionEntry` of @civic-desk/privacy). */
export const DestructionEntrySchema = z.object({
  id: z.uuid(),
  reason: z.enum(['erasure-request', 'retention-expired']),
  legalBasis: z.string(),
  requestReference: z.string().nullable(),
  actor: z.object({ id: z.string(), role: z.string() }),
  caseIds: list(z.string()),
  fields: list(z.string()),
  method: z.string(),
  startedAt: Instant,
  completedAt: Instant.nullable(),
})

/** `POST /v1/privacy/erasures`, 201: the erasure done now. */
export const ErasureDoneSchema = z.object({
  status: z.literal('erased'),
  detail: z.string(),
  destruction: DestructionEntrySchema,
  cases: list(z.uuid()).describe('The cases whose personal data was erased'),
  alreadyErased: list(z.uuid()),
  keptApplication: z.uuid().nullable().describe('The KVKK application itself, kept as evidence'),
})

/** `POST /v1/privacy/erasures`, 200: every case found was erased before. */
export const ErasureAlreadyDoneSchema = z.object({
  status: z.literal('already-erased'),
  detail: z.string(),
  cases: list(z.object({ caseId: z.uuid(), erasedAt: Instant.nullable(), destructionId: z.uuid().nullable() })),
})

/** `GET /v1/privacy/subjects`: everything held about a person (KVKK Art. 11). */
export const DataSubjectAnswerSchema = z.object({
  subject: z.object({ kind: z.enum(['phone', 'email']) }),
  answeredAt: Instant,
  controller: z.string(),
  purposes: list(z.string()),
  recipients: list(z.string()),
  cases: list(
    z.object({
      caseId: z.uuid(),
      trackingCode: z.string(),
      status: CaseStatus,
      open: z.boolean(),
      category: z.string().nullable(),
      department: z.string().nullable(),
      submittedAt: Instant,
      personalData: list(
        z.object({
          eventType: CaseEventTypeSchema,
          occurredAt: Instant,
          field: z.string().describe('e.g. `citizen.phone`, `description`, `location.point`'),
          value: z.union([z.string(), z.object({ lat: z.number(), lon: z.number() })]),
        }),
      ),
    }),
  ),
})

/** `GET /v1/privacy/destructions` (JSON; `format=csv` answers the same entries as `text/csv`). */
export const DestructionLogSchema = z.object({ entries: list(DestructionEntrySchema) })

// ---- audit ------------------------------------------------------------------------------------

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/)

/** `GET /v1/audit/public-key`. */
export const AuditPublicKeySchema = z.object({
  algorithm: z.literal('Ed25519'),
  keyId: z.string(),
  logId: z.string().nullable().describe('Null while the log is empty'),
  publicKey: z.string().describe('PEM (SPKI)'),
})

/** `GET /v1/audit/checkpoints`, newest first. */
export const AuditCheckpointsSchema = z.object({
  logId: z.string().nullable(),
  keyId: z.string(),
  treeSize: z.number().int().min(0),
  count: z.number().int().min(0).describe('Checkpoints signed so far (the list holds at most `limit`)'),
  checkpoints: list(Checkpoint.extend({ stream: z.object({ revision: Revision, position: z.number().int() }) })),
})

/** `POST /v1/audit/checkpoints/verify`: the checkpoint is this log's and the log extends it. */
export const CheckpointVerificationSchema = z.object({
  valid: z.literal(true),
  detail: z.string(),
  checkpoint: Checkpoint,
  latest: Checkpoint.optional().describe('The newest checkpoint, when it covers the one sent'),
  consistencyProof: list(Hex64).optional().describe('RFC 9162 proof from the checkpoint sent to `latest`'),
})

/** `GET /v1/audit/proofs/inclusion`. */
export const InclusionProofSchema = z.object({
  position: z.number().int().positive(),
  leafIndex: z.number().int().min(0),
  treeSize: z.number().int().positive(),
  eventHash: Hex64,
  leafHash: Hex64,
  proof: list(Hex64),
  checkpoint: Checkpoint,
})

/** `GET /v1/audit/proofs/consistency`. */
export const ConsistencyProofSchema = z.object({
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  fromRoot: Hex64,
  toRoot: Hex64,
  proof: list(Hex64),
  fromCheckpoint: Checkpoint.nullable(),
  toCheckpoint: Checkpoint.nullable(),
})

/** `GET /v1/cases/:caseId/audit-bundle`: the case's self-contained, verifiable file. */
export const AuditBundleSchema = AuditBundle

// ---- the schemas keep the keys of the view types ---------------------------------------------

type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : never
const sameKeys = <A, B>(check: SameKeys<A, B>): SameKeys<A, B> => check
sameKeys<CaseView, z.infer<typeof CaseViewSchema>>(true)
sameKeys<SlaView, z.infer<typeof SlaViewSchema>>(true)
sameKeys<NotesPage, z.infer<typeof NotesPageSchema>>(true)
sameKeys<HistoryEntry, z.infer<typeof HistoryEntrySchema>>(true)
sameKeys<RecordedChange, z.infer<typeof RecordedChangeSchema>>(true)
sameKeys<QueueEntry, z.infer<typeof QueueEntrySchema>>(true)
sameKeys<DestructionEntry, z.infer<typeof DestructionEntrySchema>>(true)
sameKeys<Record<PublicStep, true>, Record<z.infer<typeof PublicStepSchema>, true>>(true)
