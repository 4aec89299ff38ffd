/** @civic-desk/routing — sends each new case to the responsible directorate, with its SLA clock and duplicate link. */
export { createClassifier } from './classify.ts'
export type { CategoryMatch, Classifier } from './classify.ts'
export {
  DEFAULT_ROUTING_OPTIONS,
  comparableText,
  computeDeadlines,
  duplicateScopes,
  findDuplicate,
  haversineMeters,
  planRouting,
  resolveRoute,
  resolveRoutingOptions,
  submittedAtOf,
  textSimilarity,
} from './plan.ts'
export type { Deadlines, DuplicateCandidate, DuplicateMatch, PlanInput, Route, RoutingOptions, RoutingOptionsInput, RoutingPlan } from './plan.ts'
export { DEFAULT_INDEX_WAIT_TIMEOUT_MS, DUPLICATE_INDEX_NAME, IndexNotReadyError, startDuplicateIndex } from './duplicate-index.ts'
export type { DuplicateIndex, DuplicateIndexOptions } from './duplicate-index.ts'
export { ROUTING_ACTOR, startRouting } from './routing.ts'
export type { RoutingService, RoutingStatus, StartRoutingOptions } from './routing.ts'
export { buildRoutingApp, registerRoutingRoutes, type RoutingAppDeps } from './app.ts'
export { duplicateGroupsEntry, routingConfig, type RoutingConfig } from './config.ts'
