/**
 * @civic-desk/department-workflow — the directorates' staff API (queues, case file, history,
 * commands, workflow steps), the in-memory case projection behind the queues, the SLA
 * scheduler that records warnings, breaches and escalations, and the assignment publisher that
 * tells the directorates' own systems about cases entering their queues.
 */
export { CommandBodies, DEFAULT_MAX_REOPENINGS, buildWorkflowApp, registerWorkflowRoutes, parseIfMatch, type IfMatch, type WorkflowAppDeps } from './app.ts'
export {
  CASE_PROJECTION_NAME,
  compareQueueEntries,
  createOpenCases,
  toQueueEntry,
  type OpenCases,
  type OpenCasesOptions,
  type ProjectedCase,
  type QueueEntry,
} from './open-cases.ts'
export {
  DEFAULT_SLA_TICK_MS,
  SLA_SCHEDULER_ACTOR,
  nextSlaThreshold,
  startSlaScheduler,
  type PendingThreshold,
  type SlaScheduler,
  type SlaSchedulerOptions,
} from './sla-scheduler.ts'
export { slaPositionAt, type SlaPosition } from './sla-view.ts'
export { DEFAULT_NOTES_PAGE, MAX_NOTES_PAGE, caseView, historyEntries, nextWorkflowSteps, notesPage, type NotesPage, type NotesWindow, type CaseView, type HistoryEntry, type SlaView, type Visibility, type WorkflowView } from './views.ts'
export { defaultWorkflowFile, loadWorkflows } from './workflows.ts'
export { auditConfigEntries, caseLimitConfigEntries, privacyConfigEntries, workflowConfig, type WorkflowConfig } from './config.ts'
/** Assignments on `civic.assignments.v1` for the directorates' own systems: schema, headers, publisher. */
export {
  ASSIGNMENT_FORMAT_VERSION,
  ASSIGNMENT_HEADERS,
  AssignmentMessage,
  CaseAssignedMessage,
  CaseReopenedMessage,
  CaseUpdateMessage,
  CASE_UPDATE_TYPES,
  CaseTransferredMessage,
  assignmentFor,
  caseDetailsPath,
  assignmentMessage,
  startAssignmentPublisher,
  type AssignmentPublisher,
  type AssignmentPublisherOptions,
  type AssignmentPublisherStatus,
  type AssignmentSource,
  type AssignmentType,
} from './assignments.ts'
export { ERASED_FIELDS_TR, PROCESSING_PURPOSES_TR, registerPrivacyRoutes, type PrivacyRouteDeps } from './privacy-routes.ts'
export { registerAuditRoutes, type AuditRouteDeps } from './audit-routes.ts'
