import type { FastifyInstance } from 'fastify'
import { ACCESS_RULES, createHttpApp, type AccessControl, type EventStoreDescription, type HttpTimeouts, type Logger } from '@civic-desk/service-kit'
import type { RoutingStatus } from './routing.ts'

export interface RoutingAppDeps {
  /** The routing service, or anything that can tell its status (standalone asks the thread it runs in). */
  readonly routing: { status(): RoutingStatus | Promise<RoutingStatus> }
  readonly access: AccessControl
  readonly logger: Logger
  /** How long a client may take to send a request (createHttpApp's defaults when omitted). */
  readonly timeouts?: HttpTimeouts
  /** The event store in use, named with its head by `/readyz` (operators). */
  readonly eventStore?: EventStoreDescription
}

/** The routing service's HTTP surface: health, readiness and an operator status page. Never listens by itself. */
export function buildRoutingApp(deps: RoutingAppDeps): FastifyInstance {
  const { routing } = deps
  const app = createHttpApp({
    serviceName: 'routing',
    logger: deps.logger,
    access: deps.access,
    ...deps.timeouts,
    ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }),
    accessRules: ACCESS_RULES,
    readiness: async () => {
      const s = await routing.status()
      return { ready: s.running, details: { indexPosition: s.indexPosition, routed: s.routed, duplicates: s.duplicates } }
    },
  })
  registerRoutingRoutes(app, deps)
  return app
}

/** Adds `GET /v1/routing/status` (operators) to an app made by `createHttpApp`. */
export function registerRoutingRoutes(app: FastifyInstance, deps: RoutingAppDeps): void {
  app.get('/v1/routing/status', { onRequest: deps.access.requireRole('operator') }, async (): Promise<RoutingStatus> => deps.routing.status())
}
