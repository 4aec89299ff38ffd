// Every route standalone mode serves, in one place: `main.ts` adds them to its app, and the API
// description (`pnpm openapi`, openapi-app.ts) is generated from an app built the same way.
import type { FastifyInstance } from 'fastify'
import { registerConsole } from '@civic-desk/console'
import { registerDashboardRoutes, type DashboardRouteDeps } from '@civic-desk/dashboard'
import { registerAuditRoutes, registerPrivacyRoutes, registerWorkflowRoutes, type AuditRouteDeps, type PrivacyRouteDeps, type WorkflowAppDeps } from '@civic-desk/department-workflow'
import { registerConsumerRoutes } from '@civic-desk/event-relay'
import { registerIntakeRoutes, type IntakeDeps } from '@civic-desk/intake'
import { registerNotificationRoutes, type NotificationAppDeps } from '@civic-desk/notification'
import { registerRoutingRoutes, type RoutingAppDeps } from '@civic-desk/routing'

/** What each service's routes need, as standalone mode wires them. */
export interface StandaloneRouteDeps {
  readonly intake: IntakeDeps
  readonly workflow: WorkflowAppDeps
  readonly privacy: PrivacyRouteDeps
  /** Absent when the hash chain is off (`CIVIC_EVENT_HASHING=off`): no audit routes then. */
  readonly audit: AuditRouteDeps | undefined
  readonly routing: RoutingAppDeps
  readonly consumers: Parameters<typeof registerConsumerRoutes>[1]
  readonly notification: NotificationAppDeps
  readonly dashboard: DashboardRouteDeps
}

/** Adds the union of the services' routes and the operator console to an app made by `createHttpApp`. */
export async function registerStandaloneRoutes(app: FastifyInstance, deps: StandaloneRouteDeps): Promise<void> {
  await registerIntakeRoutes(app, deps.intake)
  registerWorkflowRoutes(app, deps.workflow)
  registerPrivacyRoutes(app, deps.privacy)
  if (deps.audit !== undefined) registerAuditRoutes(app, deps.audit)
  registerRoutingRoutes(app, deps.routing)
  registerConsumerRoutes(app, deps.consumers)
  registerNotificationRoutes(app, deps.notification)
  registerDashboardRoutes(app, deps.dashboard)
  // The operator console (static pages over the dashboard API of the same origin) at /.
  await registerConsole(app)
}
