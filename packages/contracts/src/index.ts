/**
 * @civic-desk/contracts — the shapes that cross a boundary: case events (versioned), HTTP bodies
 * and views, the service catalogue. Types are inferred from the zod schemas.
 */
export { Actor, EventMeta, eventSchema } from './envelope.ts'
export { Channel, Citizen, ExternalId, Location, PreferredContact, RequestKind, SubmissionBody, SubmissionReceipt } from './request.ts'
export { CaseStatus, OPEN_STATUSES, PublicCaseView, PublicTimelineEntry, QUEUE_STATUSES, isOpenStatus, isQueueStatus } from './status.ts'
export * from './events.ts'
export { SUBMITTED_LIFECYCLE, lifecycleAfter, type CaseLifecycle } from './lifecycle.ts'
export * from './workflow.ts'
export * from './catalogue.ts'
export * from './messages.ts'
