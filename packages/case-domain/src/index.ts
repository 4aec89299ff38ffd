/**
 * @civic-desk/case-domain — the case as pure functions: decide(command, state) → events,
 * evolve(state, event) → state, plus tracking codes and the status machine. No I/O, no clock.
 */
export { CaseRuleViolation, decide, evolve, initialState, replay, toPublicView } from './case.ts'
export type { CaseCommand, CaseState, CatalogueNames, CommandMeta, NamedCode, OpenCase, SubmitCase, Submission } from './case.ts'
export { OPEN_STATUSES, STATUS_TEXT, STATUS_TRANSITIONS, canTransition } from './status-machine.ts'
export {
  TRACKING_ALPHABET,
  TRACKING_DATA_LENGTH,
  caseIdForTrackingCode,
  caseStreamId,
  parseTrackingCode,
  trackingCodeFromBytes,
} from './tracking-code.ts'
export type { ParsedTrackingCode } from './tracking-code.ts'
export { decodeCaseEvent, encodeCaseEvent } from './codec.ts'
export type { StoredEventInput, StoredEventOutput } from './codec.ts'
