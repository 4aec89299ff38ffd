/**
 * @civic-desk/case-domain — the case as pure functions: decide(command, state) → events,
 * evolve(state, event) → state, plus tracking codes, derived ids, workflow steps, the status
 * machine and the public view. No I/O, no clock.
 */
export { CaseRuleViolation, clockOf, decide, evolve, initialState, nextSlaThreshold, replay } from './case.ts'
export type {
  AcceptCase,
  AddNote,
  CaseCommand,
  CaseCommandType,
  CaseRuleCode,
  CaseState,
  CheckSla,
  CloseCase,
  CommandMeta,
  MarkDuplicate,
  NewSla,
  NoteRecord,
  OpenCase,
  PendingThreshold,
  PauseRecord,
  PublicStep,
  RecordCitizenReply,
  RecordNotification,
  RecordNotificationFailure,
  RecordStep,
  RecordedStep,
  RejectCase,
  ReopenCase,
  RequestInfo,
  ResolveCase,
  RouteCase,
  SlaState,
  StartWork,
  SubmitCase,
  Submission,
  TimelineRecord,
  TransferCase,
  UnlinkDuplicate,
} from './case.ts'
export { NOT_IN_PUBLIC_VIEW, toPublicView, timelineEntry } from './view.ts'
export type { CatalogueNames, NamedCode } from './view.ts'
export { checkStep } from './workflow.ts'
export type { CheckedStep } from './workflow.ts'
export { deriveEventId } from './ids.ts'
export { DEFAULT_CASE_LIMITS, caseSizeOf, checkCaseLimits, eventBytes, type CaseLimits, type CaseSize } from './limits.ts'
export { STATUS_TEXT, STATUS_TRANSITIONS, canTransition } from './status-machine.ts'
export {
  TRACKING_ALPHABET,
  TRACKING_DATA_LENGTH,
  caseIdForTrackingCode,
  parseTrackingCode,
  trackingCodeFromBytes,
  uuidV5,
} from './tracking-code.ts'
export type { ParsedTrackingCode } from './tracking-code.ts'
export { foldTurkish, normalizeNeighbourhood, words } from './text.ts'
