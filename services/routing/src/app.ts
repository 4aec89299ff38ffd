import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
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

/** `RoutingStatus` as the API describes it. */
const RoutingStatusSchema = z.object({
  running: z.boolean().describe('False once the consumer was stopped'),
  routed: z.number().int().min(0).describe('CaseRouted decisions appended since start'),
  duplicates: z.number().int().min(0).describe('CaseMarkedDuplicate decisions appended since start'),
  skipped: z.number().int().min(0).describe('Submissions that needed nothing (already routed)'),
  indexPosition: z.number().int().min(0).describe('Global position the duplicate index has applied'),
  lastError: z.string().optional().describe('The last failure or degraded decision, if any'),
})

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
  const schema = { tags: ['routing'], summary: "Routing's counters since start and its duplicate index position", response: { 200: RoutingStatusSchema } }
  app.get('/v1/routing/status', { onRequest: deps.access.requireRole('operator'), schema }, async (): Promise<RoutingStatus> => deps.routing.status())
}
