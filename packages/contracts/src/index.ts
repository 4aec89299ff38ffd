/**
 * @civic-desk/contracts — the shapes that cross a boundary: case events (versioned), HTTP bodies
 * and views, the service catalogue. Types are inferred from the zod schemas.
 */
export { Actor, EventMeta, eventSchema } from './envelope.ts'
export { Channel, Citizen, ExternalId, Location, PreferredContact, RecordedCitizen, RecordedLocation, RequestKind, SubmissionBody } from './request.ts'
export { CaseStatus, OPEN_STATUSES, PublicCaseView, PublicTimelineEntry, QUEUE_STATUSES, SubmissionReceipt, isOpenStatus, isQueueStatus } from './status.ts'
export {
  DEFAULT_PHONE_COUNTRY,
  EmailAddress,
  PhoneNumber,
  VisibleText,
  caseIdParam,
  hasVisibleCharacter,
  isCalendarDate,
  isEmailAddress,
  isInstantWithOffset,
  normalizePhone,
  textProblem,
} from './fields.ts'
export * from './events.ts'
export { SUBMITTED_LIFECYCLE, lifecycleAfter, type CaseLifecycle } from './lifecycle.ts'
export * from './workflow.ts'
export * from './catalogue.ts'
export { AnswerValue, Answers, MAX_STRING_ANSWER, MAX_TEXT_ANSWER, checkAnswers, type AnswerProblem } from './questions.ts'
export * from './messages.ts'
