/** @civic-desk/intake — accepts citizen requests from every channel and stores them as new cases. */
export { buildIntakeApp, registerIntakeRoutes } from './app.ts'
export type { IntakeDeps } from './app.ts'
export { submitRequest } from './submit.ts'
export type { SubmitDeps, SubmitOutcome } from './submit.ts'
export { decodeTrackingKey, loadOrCreateTrackingKey } from './tracking-key.ts'
