// The dashboards' and operators' HTTP surface. Every view reads the active read-model version;
// "now" comes from `deps.now` so the views that depend on it are testable.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Catalogue } from '@civic-desk/contracts'
import { caseIdForTrackingCode, parseTrackingCode } from '@civic-desk/case-domain'
import type { EventStore } from '@civic-desk/event-store'
import type { ReadModelStore, VersionReader } from '@civic-desk/read-models'
import { ForbiddenError, NotFoundError, ServiceUnavailableError, parseWith, problemResponses, processMetrics, upProbe, type AccessControl, type Logger, type Principal } from '@civic-desk/service-kit'
import type { DashboardProjector } from './projector.ts'
import { caseView, departmentCsv, departmentView, istanbulRange, neighbourhoodsView, overview } from './views.ts'
import { CsvResponse, DashboardCaseSchema, DepartmentSchema, NeighbourhoodsSchema, OverviewSchema, ReadModelsSchema, RebuildSchema, StreamsSchema } from './schemas.ts'

/** One consumer of the case events (or the relay) as the operators' stream view lists it. */
export interface ConsumerStatus {
  readonly name: string
  readonly kind: 'store' | 'kafka'
  readonly topic?: string
  readonly position?: number
  /** Events (or messages) behind; null when it cannot be known now (the relay does not answer: see `problem`). */
  readonly lag: number | null
  /** Why the figures are missing or doubtful, for operators. */
  readonly problem?: string
}

export interface DashboardRouteDeps {
  readonly readModels: ReadModelStore
  readonly projector: DashboardProjector
  readonly store: EventStore
  readonly catalogue: Catalogue
  readonly access: AccessControl
  readonly logger: Logger
  readonly now: () => Date
  /** Every consumer's position and lag (standalone: the store-fed groups; distributed: Kafka groups, relay, projector). */
  readonly consumers: () => Promise<ConsumerStatus[]>
  /** Events appended to the store per second, recently. */
  readonly eventsPerSecond: () => number
  /** Which event store holds the log and where (no password): shown with its head. Default: not said. */
  readonly eventStore?: { readonly kind: string; readonly target: string }
}

const Code = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'a department code (kebab-case)').max(100).meta({ examples: ['fen-isleri'] })
const DepartmentParams = z.strictObject({ code: Code })
const DepartmentQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(5000).default(500) })
const CaseParams = z.strictObject({ ref: z.string().min(1).max(100).describe('A case id or a tracking code') })
const Day = z.iso.date().describe('An Istanbul day, YYYY-MM-DD').meta({ examples: ['2026-11-20'] })
const CsvQuery = z
  .strictObject({ from: Day, to: Day })
  .refine((q) => q.from <= q.to, { message: '`from` must not be after `to`', path: ['to'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 366 * 24 * 3600_000, { message: 'at most 366 days at a time', path: ['to'] })

const UUID = z.uuid()

function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('route reached without authentication')
  return request.principal
}

function mayReadDepartment(principal: Principal, department: string | null): boolean {
  if (principal.roles.includes('operator') || principal.roles.includes('supervisor')) return true
  return principal.roles.includes('staff') && department !== null && principal.departments.includes(department)
}

/** Adds the dashboard and operations routes to an app made by `createHttpApp`. */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardRouteDeps): void {
  const { readModels, catalogue, access, now } = deps
  const overviewRoles = access.requireRole('operator', 'supervisor')
  const departmentRoles = access.requireRole('operator', 'supervisor', 'staff')
  // How the system itself runs (consumers, lag, dead letters, read-model versions) is the operators' business.
  const opsRoles = access.requireRole('operator')

  const reader = async (): Promise<VersionReader> => {
    const r = await readModels.reader()
    if (r === null) throw new ServiceUnavailableError('The read models are being built; try again shortly.')
    return r
  }

  // The request schemas document; the handlers parse with the same ones (parseWith) as before.
  const readModelsMissing = problemResponses(503)
  const overviewSchema = { tags: ['dashboards'], summary: 'Totals, today, SLA health per directorate, submissions per minute', response: { 200: OverviewSchema, ...readModelsMissing } }
  app.get('/v1/dashboards/overview', { onRequest: overviewRoles, schema: overviewSchema }, async () => overview(await reader(), catalogue, now()))

  const neighbourhoodsSchema = { tags: ['dashboards'], summary: 'Cases per neighbourhood (spellings merged), open and per category', response: { 200: NeighbourhoodsSchema, ...readModelsMissing } }
  app.get('/v1/dashboards/neighbourhoods', { onRequest: overviewRoles, schema: neighbourhoodsSchema }, async () => neighbourhoodsView(await reader(), catalogue, now()))

  const departmentSchema = {
    tags: ['dashboards'],
    summary: "A directorate's SLA health, counts, queue and response times",
    params: DepartmentParams,
    querystring: DepartmentQuery,
    response: { 200: DepartmentSchema, ...readModelsMissing },
  }
  app.get('/v1/dashboards/departments/:code', { onRequest: departmentRoles, schema: departmentSchema }, async (request) => {
    const { code } = parseWith(DepartmentParams, request.params, 'params')
    const { limit } = parseWith(DepartmentQuery, request.query, 'query')
    if (!mayReadDepartment(principalOf(request), code)) throw new ForbiddenError(`Only staff of ${code}, operators and supervisors see this department.`)
    const view = await departmentView(await reader(), catalogue, code, now(), limit)
    if (view === null) throw new NotFoundError(`No department ${code} in the catalogue.`)
    return view
  })

  const csvSchema = {
    tags: ['dashboards'],
    summary: "A directorate's cases submitted in a date range, as CSV",
    params: DepartmentParams,
    querystring: CsvQuery,
    produces: ['text/csv'],
    response: { 200: CsvResponse, ...readModelsMissing },
  }
  app.get('/v1/dashboards/departments/:code/cases.csv', { onRequest: departmentRoles, schema: csvSchema }, async (request, reply) => {
    const { code } = parseWith(DepartmentParams, request.params, 'params')
    const { from, to } = parseWith(CsvQuery, request.query, 'query')
    if (!mayReadDepartment(principalOf(request), code)) throw new ForbiddenError(`Only staff of ${code}, operators and supervisors export this department.`)
    if (!catalogue.departments.some((d) => d.code === code)) throw new NotFoundError(`No department ${code} in the catalogue.`)
    const { fromMs, toMs } = istanbulRange(from, to)
    const csv = await departmentCsv(await reader(), code, fromMs, toMs)
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${code}-${from}-${to}.csv"`)
      .send(csv)
  })

  const caseSchema = {
    tags: ['dashboards'],
    summary: 'One case summary and timeline by case id or tracking code (no personal data)',
    description: "Another directorate's case answers `404`, as an unknown one does.",
    params: CaseParams,
    response: { 200: DashboardCaseSchema, ...readModelsMissing },
  }
  app.get('/v1/dashboards/cases/:ref', { onRequest: departmentRoles, schema: caseSchema }, async (request) => {
    const { ref } = parseWith(CaseParams, request.params, 'params')
    const r = await reader()
    let caseId: string | null = null
    // Case ids are stored in lower case; one read off a screen or a log may come in upper case.
    if (UUID.safeParse(ref).success) caseId = ref.toLowerCase()
    else {
      const parsed = parseTrackingCode(ref)
      // A well-formed code maps to its case id without an index; the stored index answers the rest.
      caseId = parsed.ok ? caseIdForTrackingCode(parsed.code) : await r.caseIdForTrackingCode(ref.toUpperCase())
    }
    const doc = caseId === null ? null : await r.getCase(caseId)
    // Staff see the cases of their own directorate; another's case answers as if it did not exist,
    // so that neither its existence nor its directorate is given away.
    if (doc === null || !mayReadDepartment(principalOf(request), doc.department)) throw new NotFoundError('No such case in the read models.')
    return { position: r.position, case: caseView(doc) }
  })

  const streamsSchema = { tags: ['operations'], summary: "The store's head, each consumer's position and lag, events per second, dead letters", response: { 200: StreamsSchema } }
  app.get('/v1/ops/streams', { onRequest: opsRoles, schema: streamsSchema }, async () => {
    const [head, consumers, deadLetters] = await Promise.all([deps.store.headPosition(), deps.consumers(), readModels.deadLetters(20)])
    return {
      generatedAt: now().toISOString(),
      head,
      ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }),
      eventsPerSecond: deps.eventsPerSecond(),
      consumers,
      deadLetters: { count: deadLetters.count, latest: deadLetters.latest.map(({ at, topic, groupId, kind, message }) => ({ at, topic, groupId, kind, message })) },
    }
  })

  // Prometheus: the lag of every reader exactly as the stream view above shows it (one source for
  // both), and whether the read models' Redis answers; computed when scraped.
  const metrics = processMetrics()
  if (metrics !== undefined) {
    const removals = [
      metrics.addScrapeSource('consumerLag', async () =>
        (await deps.consumers()).flatMap((c) => (c.lag === null ? [] : [[{ group: groupLabel(c.name), kind: c.kind, topic: c.topic ?? '' }, c.lag] as const])),
      ),
      ...(readModels.kind === 'redis' ? [metrics.addScrapeSource('redisUp', upProbe(() => readModels.active()))] : []),
    ]
    app.addHook('onClose', async () => {
      for (const remove of removals) remove()
    })
  }

  const readModelsSchema = { tags: ['operations'], summary: 'The active read-model version and the rebuild in progress', response: { 200: ReadModelsSchema } }
  app.get('/v1/ops/read-models', { onRequest: opsRoles, schema: readModelsSchema }, async () => {
    const active = await readModels.active()
    return { activeVersion: active?.version ?? null, position: active?.position ?? 0, store: readModels.kind, rebuilding: deps.projector.rebuilding }
  })

  const rebuildSchema = {
    tags: ['operations'],
    summary: 'Start a rebuild of the read models into a new version',
    description: 'One at a time: `409` with the running one\'s progress.',
    response: { 202: RebuildSchema, ...problemResponses(409) },
  }
  app.post('/v1/ops/read-models/rebuild', { onRequest: opsRoles, schema: rebuildSchema }, async (_request, reply) => {
    const { version } = await deps.projector.rebuild()
    return reply.code(202).send({ version })
  })
}

/** A consumer's name as a label: the group without what changes over time (`dashboard (read models v3)` → `dashboard`). */
function groupLabel(name: string): string {
  const cut = name.indexOf(' (')
  return cut === -1 ? name : name.slice(0, cut)
}

/**
 * Events per second appended to the store, from a head sample every second over the last ten
 * seconds. The timer does not keep the process alive.
 */
export function headRate(store: EventStore, intervalMs = 1000, window = 10): { readonly perSecond: () => number; readonly stop: () => void } {
  const samples: Array<{ at: number; head: number }> = []
  const timer = setInterval(() => {
    store
      .headPosition()
      .then((head) => {
        samples.push({ at: Date.now(), head })
        if (samples.length > window + 1) samples.shift()
      })
      .catch(() => undefined)
  }, intervalMs)
  timer.unref()
  return {
    perSecond: () => {
      const first = samples[0]
      const last = samples[samples.length - 1]
      if (first === undefined || last === undefined || last.at === first.at) return 0
      return Math.round(((last.head - first.head) * 1000) / (last.at - first.at))
    },
    stop: () => clearInterval(timer),
  }
}
