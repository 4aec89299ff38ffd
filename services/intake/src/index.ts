/** @civic-desk/intake — accepts citizen requests from every channel and stores them as new cases. */
export { buildIntakeApp, registerIntakeRoutes } from './app.ts'
export type { IntakeDeps } from './app.ts'
export { submitRequest } from './submit.ts'
export type { SubmitDeps, SubmitOutcome } from './submit.ts'
export { decodeTrackingKey, loadOrCreateTrackingKey } from './tracking-key.ts'
/** The checks both intake paths share (schema, catalogue, clock), and the conflict error and actor they record. */
export { CLOCK_SKEW_MS, channelActor, submissionConflict, validateSubmission, type SubmissionRules } from './validation.ts'
/** Intake from `civic.intake.v1`: message and rejection schemas, headers, and the consumer. */
export {
  DEFAULT_MAX_VALUE_BYTES,
  INTAKE_HEADERS,
  IntakeMessageBody,
  IntakeRejection,
  IntakeRejectionCode,
  REJECTION_CODE_HEADER,
  startIntakeConsumer,
  type IntakeConsumer,
  type IntakeConsumerOptions,
  type IntakeConsumerStatus,
} from './intake-consumer.ts'
export { intakeConfig, type IntakeConfig } from './config.ts'
/** Open311 GeoReport v2: the request index its reads come from (the routes come with `registerIntakeRoutes`). */
export { OPEN311_INDEX_NAME, startOpen311Index, type Open311Index } from './open311/request-index.ts'
