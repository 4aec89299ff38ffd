/**
 * @civic-desk/dashboard — the projector (case events → read models in Redis or memory), the
 * dashboards' and operators' HTTP routes, and what standalone mode needs to host both.
 */
export { dashboardConfig, readModelConfigEntries, type DashboardConfig } from './config.ts'
export { STORE_IDENTITY_FILE, loadOrCreateStoreIdentity } from './identity.ts'
export { openReadModels, type ReadModelSettings } from './open.ts'
export { DASHBOARD_DEAD_LETTER_GROUP, DASHBOARD_GROUP, startDashboardProjector, type DashboardProjector, type DashboardProjectorDeps, type RebuildStatus } from './projector.ts'
export { headRate, registerDashboardRoutes, type ConsumerStatus, type DashboardRouteDeps } from './routes.ts'
export { positionedFromStore, storeBatches } from './source.ts'
