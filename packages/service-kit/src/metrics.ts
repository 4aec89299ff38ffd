/**
 * Prometheus metrics (prom-client): one registry per process (per thread in standalone's consumer
 * thread, whose figures the HTTP thread merges), the figures every service records, the HTTP
 * instrumentation and the `GET /metrics` route that `createHttpApp` adds.
 *
 * How figures get in: code where something happens calls `processMetrics()?.<figure>.inc(...)`;
 * with `CIVIC_METRICS=off` that is `undefined` and optional chaining skips the call and its
 * arguments, so "off" costs one property read. Gauges that describe a state (open cases, consumer
 * lag, whether Redis answers) are computed when Prometheus scrapes, from sources the services add
 * with `addScrapeSource`.
 *
 * Labels hold bounded values only: route patterns (never the raw URL), channels, directorates,
 * event types, problem codes, consumer groups, topics. Never a case id, a tracking code or a path.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import { z } from 'zod'
import type { AccessControl } from './auth.ts'
import { ForbiddenError, UnauthorizedError } from './errors.ts'
import type { Logger } from './logging.ts'
import { problemResponses } from './problem.ts'

/** What `metrics.getMetricsAsJSON()` gives: the form in which threads hand each other their figures. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[]

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

/** Config entries of every process with an HTTP API (spread into `httpConfigEntries`). */
export const metricsConfigEntries = {
  metrics: {
    env: 'CIVIC_METRICS',
    schema: z.enum(['on', 'off']).default('on'),
    doc: 'Prometheus metrics at GET /metrics: `on`, or `off` (no instrumentation at all; /metrics answers 404)',
  },
  metricsToken: {
    env: 'CIVIC_METRICS_TOKEN',
    schema: z.string().min(16, { error: 'use at least 16 characters (e.g. openssl rand -hex 24)' }).optional(),
    doc: 'A bearer token that may read GET /metrics only (for Prometheus); operator tokens may read it too',
    secret: true,
  },
  metricsListen: {
    env: 'CIVIC_METRICS_LISTEN',
    schema: z
      .string()
      .regex(HOST_PORT, { error: 'host:port, e.g. 10.0.0.5:9464 or 127.0.0.1:9464' })
      .refine((v) => Number(HOST_PORT.exec(v)?.[1]) <= 65535, { error: 'the port must be ≤ 65535' })
      .optional(),
    doc: 'host:port of a second listener that serves GET /metrics without any token (bind it to a private network only)',
  },
} as const

/** Histogram buckets (seconds) for HTTP requests: intake answers in about a millisecond, reads in a few. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
/** Consumer handlers: a store read, a decision and an append; a notification's provider call is slower. */
const HANDLER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Submission to routing: milliseconds in standalone, up to seconds over Kafka, far more in an outage. */
const FLOW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

/** A source of a gauge computed at scrape time: label sets with their values. */
export type ScrapeSource<L extends string> = () => Promise<Iterable<readonly [Partial<Record<L, string>>, number]>> | Iterable<readonly [Partial<Record<L, string>>, number]>

type Sources<L extends string> = Set<ScrapeSource<L>>

/**
 * A gauge whose values come from its sources at every scrape. Two sources naming the same label set
 * (two apps in one test process) add up; a source that fails is left out of that scrape.
 */
function scrapedGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], sources: Sources<L>, combine: 'sum' | 'min' = 'sum'): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset()
      const results = await Promise.allSettled([...sources].map(async (source) => source()))
      if (combine === 'min') {
        // An `up` gauge (no labels) is down when any of its sources is, or fails to say.
        const values = results.flatMap((r) => (r.status === 'fulfilled' ? [...r.value].map(([, v]) => v) : [0]))
        if (values.length > 0) this.set(Math.min(...values))
        return
      }
      for (const result of results) {
        if (result.status !== 'fulfilled') continue
        for (const [labels, value] of result.value) this.inc(labels, value)
      }
    },
  })
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined
  return () => (made ??= { value: make() }).value
}

/** The figures of one process. */
export class CivicMetrics {
  readonly registry = new Registry()
  private readonly sources = {
    consumerLag: new Set() as Sources<'group' | 'kind' | 'topic'>,
    openCases: new Set() as Sources<'directorate' | 'sla_level'>,
    redisUp: new Set() as Sources<never>,
    eventStoreUp: new Set() as Sources<never>,
  }

  readonly httpRequests = new Counter({
    name: 'civic_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  })
  readonly httpDuration = new Histogram({
    name: 'civic_http_request_duration_seconds',
    help: 'Time from the request to the end of its answer, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  })
  readonly submissionsAccepted = new Counter({
    name: 'civic_submissions_accepted_total',
    help: 'Citizen requests accepted (stored, or found again for a repeated submission), by channel and way in (http, open311, kafka)',
    labelNames: ['channel', 'via'] as const,
    registers: [this.registry],
  })
  readonly submissionsRefused = new Counter({
    name: 'civic_submissions_refused_total',
    help: 'Citizen requests refused, by channel (`unknown` when unreadable), way in and reason (the problem code)',
    labelNames: ['channel', 'via', 'reason'] as const,
    registers: [this.registry],
  })
  readonly eventsAppended = new Counter({
    name: 'civic_events_appended_total',
    help: 'Events appended to the event store by this process, by event type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  })
  readonly handlerDuration = new Histogram({
    name: 'civic_consumer_handler_duration_seconds',
    help: 'Time a consumer group’s handler took per message (every attempt), by group',
    labelNames: ['group'] as const,
    buckets: HANDLER_BUCKETS,
    registers: [this.registry],
  })
  readonly consumerLag = scrapedGauge(this.registry, 'civic_consumer_lag_events', 'Events (or messages) a reader of the log is behind the head, as GET /v1/ops/streams shows it, by group (or projection), kind (`store`, `kafka`) and topic', ['group', 'kind', 'topic'], this.sources.consumerLag)
  readonly deadLetters = new Counter({
    name: 'civic_dead_letters_total',
    help: 'Messages dead-lettered, by the topic they came from and why (`invalid`: does not decode; `failed`: the handler gave up)',
    labelNames: ['topic', 'kind'] as const,
    registers: [this.registry],
  })
  readonly slaWarnings = new Counter({
    name: 'civic_sla_warnings_total',
    help: 'SLA warnings (75 % of the time used) recorded by the SLA scheduler, by directorate',
    labelNames: ['directorate'] as const,
    registers: [this.registry],
  })
  readonly slaBreaches = new Counter({
    name: 'civic_sla_breaches_total',
    help: 'SLA breaches recorded by the SLA scheduler, by directorate',
    labelNames: ['directorate'] as const,
    registers: [this.registry],
  })
  readonly slaEscalations = new Counter({
    name: 'civic_sla_escalations_total',
    help: 'Cases escalated to the supervisors by the SLA scheduler, by directorate',
    labelNames: ['directorate'] as const,
    registers: [this.registry],
  })
  readonly openCases = scrapedGauge(this.registry, 'civic_open_cases', 'Open cases (routed, in progress, waiting for the citizen) by directorate and SLA level (`on-track`, `warning`, `breached`, `none`)', ['directorate', 'sla_level'], this.sources.openCases)
  readonly notificationsSent = new Counter({
    name: 'civic_notifications_sent_total',
    help: 'Citizen notifications delivered to their provider, by channel and provider',
    labelNames: ['channel', 'provider'] as const,
    registers: [this.registry],
  })
  readonly notificationsFailed = new Counter({
    name: 'civic_notifications_failed_total',
    help: 'Citizen notifications that failed after their last attempt (recorded as NotificationFailed), by channel and provider',
    labelNames: ['channel', 'provider'] as const,
    registers: [this.registry],
  })
  readonly kafkaErrors = new Counter({
    name: 'civic_kafka_errors_total',
    help: 'Kafka client errors: publishes that failed (`producer`) and consumer crashes (`consumer`)',
    labelNames: ['client'] as const,
    registers: [this.registry],
  })
  readonly flowRoutingDelay = new Histogram({
    name: 'civic_flow_submitted_to_routed_seconds',
    help: 'Time from a request being stored (its recorded time) to routing deciding on it',
    buckets: FLOW_BUCKETS,
    registers: [this.registry],
  })
  // The `up` gauges exist once something reports on them: a process without Redis shows no civic_redis_up rather than a 0.
  private readonly upGauges: Record<'redisUp' | 'eventStoreUp', () => Gauge> = {
    redisUp: once(() => scrapedGauge(this.registry, 'civic_redis_up', '1 when the Redis of the read models answers, 0 when not (absent without Redis)', [], this.sources.redisUp, 'min')),
    eventStoreUp: once(() => scrapedGauge(this.registry, 'civic_event_store_up', '1 when the event store answers (its head position), 0 when not', [], this.sources.eventStoreUp, 'min')),
  }

  /** Other threads' figures (standalone's consumer thread), merged into every scrape. */
  private readonly others = new Set<() => Promise<MetricsSnapshot>>()

  constructor(options: { readonly defaults: boolean }) {
    // The process-wide figures (CPU, memory, event loop) once per process: a worker thread's would double them.
    if (options.defaults) collectDefaultMetrics({ register: this.registry })
  }

  /** Adds a source of a gauge computed at scrape time; returns its removal. */
  addScrapeSource<K extends keyof CivicMetrics['sources']>(gauge: K, source: CivicMetrics['sources'][K] extends Sources<infer L> ? ScrapeSource<L> : never): () => void {
    const set = this.sources[gauge] as Set<unknown>
    const name: string = gauge
    if (name === 'redisUp' || name === 'eventStoreUp') this.upGauges[name]()
    set.add(source)
    return () => void set.delete(source)
  }

  /** Merges another thread's figures into this process's scrapes; returns its removal. */
  addThread(snapshot: () => Promise<MetricsSnapshot>): () => void {
    this.others.add(snapshot)
    return () => void this.others.delete(snapshot)
  }

  /** The exposition text of this process (every thread's figures summed). */
  async exposition(): Promise<string> {
    if (this.others.size === 0) return this.registry.metrics()
    const all = await Promise.all([this.registry.getMetricsAsJSON(), ...[...this.others].map((f) => f().catch((): MetricsSnapshot => []))])
    return AggregatorRegistry.aggregate(all).metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}

let enabled = true
let current: CivicMetrics | undefined
let defaults = true
let bearerSha256: Buffer | undefined

/**
 * The metrics of this process, or undefined when `CIVIC_METRICS=off`. Made at first use: the
 * composition root calls `configureMetrics` before anything records.
 */
export function processMetrics(): CivicMetrics | undefined {
  if (!enabled) return undefined
  current ??= new CivicMetrics({ defaults })
  return current
}

/** The settings of `configureMetrics`: the parsed `metricsConfigEntries`. */
export interface MetricsSettings {
  readonly metrics: 'on' | 'off'
  readonly metricsToken?: string | undefined
  readonly metricsListen?: string | undefined
}

/**
 * Applies the process's metrics settings (the composition root, once, before anything records).
 * `processDefaults: false` in a worker thread: the Node process figures belong to the main thread.
 */
export function configureMetrics(settings: MetricsSettings, options: { readonly processDefaults?: boolean } = {}): void {
  enabled = settings.metrics === 'on'
  defaults = options.processDefaults ?? true
  bearerSha256 = settings.metricsToken === undefined ? undefined : sha256(settings.metricsToken)
  if (!enabled) current = undefined
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/** True when `authorization` carries the configured CIVIC_METRICS_TOKEN (compared in constant time). */
function isMetricsToken(authorization: string | undefined): boolean {
  if (bearerSha256 === undefined || authorization === undefined) return false
  const match = /^Bearer +(\S+) *$/i.exec(authorization)
  return match?.[1] !== undefined && timingSafeEqual(sha256(match[1]), bearerSha256)
}

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * Instruments an app made by `createHttpApp` and adds `GET /metrics` (operator tokens or
 * CIVIC_METRICS_TOKEN; without access control, anyone). Nothing when metrics are off.
 */
export function installMetrics(app: FastifyInstance, access: AccessControl | undefined, eventStoreHead?: () => Promise<number>): void {
  const metrics = processMetrics()
  if (metrics === undefined) return
  if (eventStoreHead !== undefined) {
    const remove = metrics.addScrapeSource('eventStoreUp', upProbe(eventStoreHead))
    app.addHook('onClose', async () => remove())
  }
  const { httpRequests, httpDuration } = metrics
  app.addHook('onResponse', (request, reply, done) => {
    // The pattern the router matched (`/v1/cases/:caseId`); a path no route matched is `unmatched`.
    const route = request.routeOptions.url ?? 'unmatched'
    const method = METHODS.has(request.method) ? request.method : 'OTHER'
    const labels = { method, route, status_code: reply.statusCode }
    httpRequests.inc(labels)
    httpDuration.observe(labels, reply.elapsedTime / 1000)
    done()
  })
  const guard = async (request: FastifyRequest): Promise<void> => {
    const authorization = request.headers.authorization
    if (isMetricsToken(authorization)) return
    if (access === undefined) {
      if (bearerSha256 === undefined) return
      throw new UnauthorizedError('Send "Authorization: Bearer <CIVIC_METRICS_TOKEN>".', { headers: { 'www-authenticate': 'Bearer realm="civic-desk"' } })
    }
    const principal = access.authenticate(authorization)
    request.principal = principal
    if (!principal.roles.includes('operator')) {
      throw new ForbiddenError('The metrics are for operators (role `operator`) and for the CIVIC_METRICS_TOKEN.', { extensions: { requiredRoles: ['operator'] } })
    }
  }
  // Described for the API document like every route: the text exposition, or a problem.
  const schema = {
    tags: ['operations'],
    summary: 'Prometheus metrics of this process',
    description: 'For an operator token or the `CIVIC_METRICS_TOKEN`; see README.md, "Metrics". Standalone: both threads summed.',
    produces: ['text/plain'],
    response: {
      200: { description: 'The Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: z.string().describe('One sample a line, with # HELP and # TYPE lines') } } },
      ...problemResponses(401, 403),
    },
  }
  app.get('/metrics', { logLevel: 'warn', onRequest: guard, schema }, async (_request, reply: FastifyReply) => {
    const text = await metrics.exposition()
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text)
  })
}

/** The second listener of `CIVIC_METRICS_LISTEN`: GET /metrics without a token, 404 for anything else. */
export interface MetricsListener {
  /** The address it listens on (the port chosen when 0 was given). */
  readonly address: { readonly host: string; readonly port: number }
  close(): Promise<void>
}

/**
 * Starts the `CIVIC_METRICS_LISTEN` listener when one is configured and metrics are on; resolves
 * with null otherwise. Meant for a private network: it asks for no token.
 */
export async function listenForMetrics(settings: MetricsSettings, logger: Logger): Promise<MetricsListener | null> {
  const metrics = processMetrics()
  if (settings.metricsListen === undefined || metrics === undefined) return null
  const match = HOST_PORT.exec(settings.metricsListen)
  if (match === null) throw new Error(`CIVIC_METRICS_LISTEN: not host:port: ${settings.metricsListen}`)
  const host = settings.metricsListen.slice(0, settings.metricsListen.length - match[1]!.length - 1).replace(/^\[|\]$/g, '')
  const log = logger.child({ component: 'metrics-listener' })
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0]
    if ((request.method !== 'GET' && request.method !== 'HEAD') || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here.\n')
      return
    }
    metrics.exposition().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        log.error({ err: error }, 'metrics could not be collected')
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('The metrics could not be collected.\n')
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(Number(match[1]), host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address()
  const address = { host, port: typeof bound === 'object' && bound !== null ? bound.port : Number(match[1]) }
  log.info(address, 'metrics listener is up (GET /metrics, no token)')
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * Counts every event appended through `store` by type: wraps the event store port once, so every
 * writer of the process is counted whatever the adapter. Returns the store itself when metrics are off.
 */
export function countingAppends<S extends { append(streamId: string, events: readonly { readonly type: string }[], options: never): Promise<unknown> }>(store: S): S {
  const metrics = processMetrics()
  if (metrics === undefined) return store
  const { eventsAppended } = metrics
  const append = store.append.bind(store) as (streamId: string, events: readonly { readonly type: string }[], options: unknown) => Promise<unknown>
  return {
    ...store,
    async append(streamId: string, events: readonly { readonly type: string }[], options: unknown) {
      const result = await append(streamId, events, options)
      for (const event of events) eventsAppended.inc({ type: event.type })
      return result
    },
  }
}

/** A probe for an `up` gauge: 1 when `check` resolves within `timeoutMs`, else 0. */
export function upProbe(check: () => Promise<unknown>, timeoutMs = 2000): () => Promise<Array<readonly [Record<never, string>, number]>> {
  return async () => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    const up = await Promise.race([check().then(() => true, () => false), timeout])
    clearTimeout(timer)
    return [[{}, up ? 1 : 0]]
  }
}
