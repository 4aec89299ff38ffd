import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { EventStore } from '@civic-desk/event-store'
import { ACCESS_RULES, createHttpApp, type AccessControl, type EventStoreDescription, type HttpTimeouts, type Logger } from '@civic-desk/service-kit'
import type { ConsumerStatus, ReaderStatus } from '@civic-desk/case-feed'
import type { Relay } from './relay.ts'

export interface RelayAppDeps {
  readonly relay: Relay
  readonly store: EventStore
  readonly access: AccessControl
  readonly logger: Logger
  /** How long a client may take to send a request (createHttpApp's defaults when omitted). */
  readonly timeouts?: HttpTimeouts
  /** The event store in use, named with its head by `/readyz` (operators). */
  readonly eventStore?: EventStoreDescription
}

/** What `GET /v1/relay/status` answers. */
export interface RelayStatus {
  readonly running: boolean
  /** Global position of the last event published and checkpointed. */
  readonly position: number
  /** Global position of the newest stored event (of any stream). */
  readonly head: number
  /** head - position: an upper bound of the events still to publish (non-case events count too). */
  readonly lag: number
  /** Events collected and waiting for their batch to go out. */
  readonly buffered: number
  /** Messages published since this process started. */
  readonly published: number
  /** Failed publishes, saves or store reads since the last success; > 0 means the relay is retrying. */
  readonly consecutiveFailures: number
}

const RelayStatusSchema = z.object({
  running: z.boolean(),
  position: z.number().int().min(0).describe('Global position of the last event published and checkpointed'),
  head: z.number().int().min(0).describe('Global position of the newest stored event'),
  lag: z.number().int().min(0).describe('head - position: an upper bound of the events still to publish'),
  buffered: z.number().int().min(0).describe('Events collected and waiting for their batch'),
  published: z.number().int().min(0).describe('Messages published since this process started'),
  consecutiveFailures: z.number().int().min(0).describe('Failures since the last success; > 0 means the relay is retrying'),
})

const ConsumersStatusSchema = z.object({
  head: z.number().int().min(0).describe("Global position of the store's newest event"),
  groups: z.array(
    z.object({
      groupId: z.string(),
      position: z.number().int().min(0).describe('Global position the group has checkpointed'),
      buffered: z.number().int().min(0),
      lag: z.number().int().min(0).describe('head - position'),
    }),
  ),
})

/** The relay's HTTP surface: health, readiness and an operator status page. Never listens by itself. */
export function buildRelayApp(deps: RelayAppDeps): FastifyInstance {
  const status = relayStatus(deps)
  const app = createHttpApp({
    serviceName: 'event-relay',
    logger: deps.logger,
    access: deps.access,
    ...deps.timeouts,
    ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }),
    accessRules: ACCESS_RULES,
    readiness: async () => {
      const s = await status()
      return { ready: s.running, details: { position: s.position, head: s.head, lag: s.lag, consecutiveFailures: s.consecutiveFailures } }
    },
  })
  registerRelayRoutes(app, deps)
  return app
}

/** The status of a running relay, as the status route answers it. */
export function relayStatus(deps: Pick<RelayAppDeps, 'relay' | 'store'>): () => Promise<RelayStatus> {
  const { relay, store } = deps
  return async () => {
    const head = await store.headPosition()
    const position = relay.position
    return { running: relay.running, position, head, lag: Math.max(0, head - position), buffered: relay.buffered, published: relay.published, consecutiveFailures: relay.consecutiveFailures }
  }
}

/** Adds `GET /v1/relay/status` (operators) to an app made by `createHttpApp`. */
export function registerRelayRoutes(app: FastifyInstance, deps: RelayAppDeps): void {
  const schema = { tags: ['relay'], summary: "The relay's position, lag and failures (distributed mode)", response: { 200: RelayStatusSchema } }
  app.get('/v1/relay/status', { onRequest: deps.access.requireRole('operator'), schema }, relayStatus(deps))
}

/**
 * Adds `GET /v1/consumers/status` (operators) for standalone mode, where consumer groups read case
 * events straight from the store: each group's position and how far behind the store's head it is.
 */
export function registerConsumerRoutes(
  app: FastifyInstance,
  deps: {
    /** Every reader of the log (`feed.readers()`, plus those of other threads). */
    readonly readers: () => readonly ReaderStatus[] | Promise<readonly ReaderStatus[]>
    readonly store: EventStore
    readonly access: AccessControl
  },
): void {
  const schema = { tags: ['relay'], summary: "Each consumer group's position and lag behind the store (standalone mode)", response: { 200: ConsumersStatusSchema } }
  app.get('/v1/consumers/status', { onRequest: deps.access.requireRole('operator'), schema }, async () => {
    const head = await deps.store.headPosition()
    const groups = (await deps.readers())
      .filter((r): r is ConsumerStatus => r.kind === 'store' && 'groupId' in r)
      .map((g) => ({ groupId: g.groupId, position: g.position ?? 0, buffered: g.buffered ?? 0, lag: Math.max(0, head - (g.position ?? 0)) }))
    return { head, groups }
  })
}
