import { z } from 'zod'
import { RequestKind } from './request.ts'

/**
 * The statuses a citizen can see. `none` is the state of a case that does not exist yet and never
 * appears in a view.
 */
export const CaseStatus = z.enum(['submitted', 'routed', 'in_progress', 'waiting_for_citizen', 'resolved', 'rejected', 'closed'])
export type CaseStatus = z.infer<typeof CaseStatus>

/** Statuses in which the municipality still owes the citizen an answer. */
export const OPEN_STATUSES: readonly CaseStatus[] = ['submitted', 'routed', 'in_progress', 'waiting_for_citizen']

/** Statuses in which a case sits in its directorate's queue: routed and not yet answered. */
export const QUEUE_STATUSES: readonly CaseStatus[] = ['routed', 'in_progress', 'waiting_for_citizen']

const open: ReadonlySet<string> = new Set(OPEN_STATUSES)
const queued: ReadonlySet<string> = new Set(QUEUE_STATUSES)

/** Whether the municipality still owes an answer in this status (see OPEN_STATUSES). */
export function isOpenStatus(status: CaseStatus): boolean {
  return open.has(status)
}

/** Whether a case in this status sits in its directorate's queue (see QUEUE_STATUSES). */
export function isQueueStatus(status: CaseStatus): boolean {
  return queued.has(status)
}

/** One public step of a case, as a citizen may see it (no names, no internal notes). */
export const PublicTimelineEntry = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  step: z.string(),
  /** Turkish text for the citizen. */
  textTr: z.string(),
  textEn: z.string(),
})
export type PublicTimelineEntry = z.infer<typeof PublicTimelineEntry>

/** `GET /v1/requests/:trackingCode`: what anyone holding the tracking code may see. Never personal data. */
export const PublicCaseView = z.strictObject({
  trackingCode: z.string(),
  status: CaseStatus,
  statusTextTr: z.string(),
  kind: RequestKind,
  category: z.strictObject({ code: z.string(), nameTr: z.string(), nameEn: z.string() }).nullable(),
  department: z.strictObject({ code: z.string(), nameTr: z.string(), nameEn: z.string() }).nullable(),
  submittedAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  expectedBy: z.iso.datetime({ offset: true }).nullable(),
  timeline: z.array(PublicTimelineEntry),
})
export type PublicCaseView = z.infer<typeof PublicCaseView>

/**
 * Answer to an accepted submission (201 when new, 200 when the same externalId was seen before).
 * `status` is the case's status now: `submitted` for a new case, whatever it has become for a retry.
 */
export const SubmissionReceipt = z
  .strictObject({
    caseId: z.uuid(),
    trackingCode: z.string(),
    status: CaseStatus,
  })
  .meta({ examples: [{ caseId: 'a7241b0f-3203-55ad-9684-a4f1ee5f2512', trackingCode: 'K7MA-4PXR-9TK', status: 'submitted' }] })
export type SubmissionReceipt = z.infer<typeof SubmissionReceipt>
