/**
 * The staff API of the directorates: department queues, the case file, its audit history, and
 * every step staff take on a case. Each command is validated before anything is read, then run
 * through the case decider with optimistic concurrency (`If-Match` = the case's revision).
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { BusinessCalendar } from '@civic-desk/calendar'
import { CaseRuleViolation, DEFAULT_CASE_LIMITS, caseSizeOf, checkCaseLimits, type CaseCommand, type CaseLimits, type CommandMeta, type NewSla, type OpenCase } from '@civic-desk/case-domain'
import { executeOnCase, loadCase, type ExecuteResult, type LoadedCase } from '@civic-desk/case-feed'
import {
  CatalogueCodeSchema,
  Channel,
  RejectionReason,
  StepFieldValue,
  VisibleText,
  caseIdParam,
  categoryByCode,
  departmentByCode,
  type Catalogue,
  type DeadlineBasis,
  type DeadlineTerms,
  type WorkflowFile,
} from '@civic-desk/contracts'
import { ConcurrencyError, type EventStore } from '@civic-desk/event-store'
import {
  ACCESS_RULES,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ServiceUnavailableError,
  ValidationError,
  createHttpApp,
  type AccessControl,
  type EventStoreDescription, type HttpTimeouts,
  type Logger,
  type Principal,
  problemResponses,
  type ZodTypeProvider,
} from '@civic-desk/service-kit'
import { CaseHistorySchema, CaseReadSchema, CaseViewSchema, DepartmentQueueSchema, WorkflowsSchema } from './api-schemas.ts'
import { Instant, caseAsOf, type RecordedChange } from './as-of.ts'
import type { OpenCases } from './open-cases.ts'
import { DEFAULT_NOTES_PAGE, MAX_NOTES_PAGE, caseView, historyEntries, nextWorkflowSteps, workflowOfCase, type CaseView, type Visibility } from './views.ts'

/** What the app needs; nothing in here is global. */
export interface WorkflowAppDeps {
  readonly store: EventStore
  readonly openCases: OpenCases
  readonly catalogue: Catalogue
  readonly calendar: BusinessCalendar
  readonly workflows: WorkflowFile
  readonly access: AccessControl
  readonly logger: Logger
  /** The clock: command times, new SLA clocks and the SLA position shown in views. */
  readonly now: () => Date
  /** Body limit in bytes (64 KiB by default). */
  readonly bodyLimit?: number
  /** How long a client may take to send a request (createHttpApp's defaults when omitted). */
  readonly timeouts?: HttpTimeouts
  /** The event store in use, named with its head by `/readyz` (operators). */
  readonly eventStore?: EventStoreDescription
  /** How long a queue read waits for the projection to catch up with the store (default 2000 ms). */
  readonly queueConsistencyTimeoutMs?: number
  /** How often a case may be reopened before only a supervisor, with a reason, can reopen it again (default 3). */
  readonly maxReopenings?: number
  /** How many notes and how many bytes of staff's text a case may hold (default `DEFAULT_CASE_LIMITS`). */
  readonly caseLimits?: CaseLimits
}

/** Default of `WorkflowAppDeps.maxReopenings`. */
export const DEFAULT_MAX_REOPENINGS = 3

// What staff write reaches the citizen (answers, questions, reasons): it must show something.
const Text = VisibleText

// Any letter case in the URL reads as the lower-case id the streams use.
const CaseId = caseIdParam({ error: 'must be a case id (a UUID)' })
const CaseParams = z.strictObject({ caseId: CaseId })
/** Which page of the notes the case view shows: the newest by default; `notesBefore` = the previous page's `notesPage.olderBefore`. */
const CaseQuery = z.strictObject({
  notesLimit: z.coerce.number().int().min(1).max(MAX_NOTES_PAGE).default(DEFAULT_NOTES_PAGE),
  notesBefore: z.coerce.number().int().min(0).optional(),
  /** As-of replay: the case as it stood at this instant (see as-of.ts). */
  asOf: Instant.optional(),
})
/** `until`: only the events recorded up to this instant. */
const HistoryQuery = z.strictObject({ until: Instant.optional() })
const DepartmentParams = z.strictObject({ code: CatalogueCodeSchema.meta({ examples: ['fen-isleri'] }) })
const StepParams = z.strictObject({ caseId: CaseId, step: CatalogueCodeSchema.meta({ examples: ['ev-ziyareti-planlandi'] }) })

/** Request bodies of the commands, one strict schema each: unknown fields are refused. */
export const CommandBodies = {
  accept: z.strictObject({}).meta({ examples: [{}] }),
  start: z.strictObject({ note: Text(4000).optional() }).meta({ examples: [{ note: 'Ekip yarın sabah 09.00’da Şehit Öğretmen Sokak’ta çalışmaya başlayacak.' }] }),
  note: z.strictObject({ text: Text(4000) }).meta({ examples: [{ text: 'Vatandaş telefonla arandı; çukurun derinliği yaklaşık 20 cm, okul servisleri etkileniyor.' }] }),
  'request-info': z.strictObject({ question: Text(2000) }).meta({ examples: [{ question: 'Çukur hangi kapı numarasının önünde? Fotoğraf gönderebilir misiniz?' }] }),
  'citizen-reply': z
    .strictObject({ text: Text(4000), channel: Channel.optional() })
    .meta({ examples: [{ text: '12 numaralı apartmanın önünde, eczanenin karşısında.', channel: 'call-center' }] }),
  transfer: z
    .strictObject({ department: CatalogueCodeSchema, category: CatalogueCodeSchema.optional(), reason: Text(2000) })
    .meta({ examples: [{ department: 'temizlik', category: 'cop-toplama', reason: 'Konu yol değil, çöp toplama; Temizlik İşleri Müdürlüğü’ne aktarıldı.' }] }),
  resolve: z.strictObject({ resolution: Text(4000) }).meta({ examples: [{ resolution: 'Çukur asfaltla kapatıldı, yol trafiğe açıldı.' }] }),
  reject: z
    .strictObject({ reasonCode: RejectionReason, reason: Text(2000) })
    .meta({ examples: [{ reasonCode: 'out-of-jurisdiction', reason: 'Bu yol Karayolları Genel Müdürlüğü’nün sorumluluğundadır; başvurunuz oraya yönlendirilmelidir.' }] }),
  /** `overrideReason`: a supervisor's reason to reopen a case that reached the reopening limit. */
  reopen: z
    .strictObject({ reason: Text(2000), overrideReason: Text(2000).optional() })
    .meta({ examples: [{ reason: 'Vatandaş çukurun yağmurdan sonra yeniden açıldığını bildirdi.' }] }),
  'unlink-duplicate': z
    .strictObject({ reason: Text(2000) })
    .meta({ examples: [{ reason: 'Aynı mahallede ama farklı sokaklarda iki ayrı çukur; başvurular ayrı ele alınmalı.' }] }),
  close: z.strictObject({ reason: Text(2000).optional() }).meta({ examples: [{ reason: 'Vatandaş sonuçtan memnun; dosya kapatıldı.' }] }),
  step: z
    .strictObject({ fields: z.record(z.string().max(100), z.union([StepFieldValue, z.null()])).default({}) })
    .meta({ examples: [{ fields: { visitDate: '2026-11-26', socialWorker: 'Sosyal çalışmacı Fatma Demir' } }] }),
} as const

/**
 * A command's body may be left out (or be JSON `null`): it then reads as `{}`. A hook rather than a
 * preprocessing step in the schema, so that the body schema stays one the API description can show.
 */
const bodyOrEmpty = async (request: FastifyRequest): Promise<void> => {
  if (request.body === undefined || request.body === null) request.body = {}
}

/** What a command's `response` schema holds: the case view, and the refusals particular to commands. */
const COMMAND_RESPONSES = {
  200: CaseViewSchema,
  // 404 unknown case; 409 illegal_step, same_department, note_limit_reached, reopen_limit_reached,
  // not_a_duplicate, no_workflow, concurrent_update; 412 If-Match; 413 case_too_large.
  ...problemResponses(404, 409, 412, 413),
}

/** One line per command for the API description. */
const COMMAND_SUMMARIES: Readonly<Record<string, string>> = {
  accept: 'Accept a routed case: the caller becomes its assignee (the first response)',
  start: 'Record that work on the case has started',
  note: 'Add an internal note (never shown to the citizen)',
  'request-info': 'Ask the citizen for information; the SLA clock pauses until the reply',
  'citizen-reply': "Record the citizen's reply; the SLA clock runs again",
  transfer: 'Transfer the case to another directorate, with a new SLA clock',
  resolve: 'Resolve the case; the resolution is shown to the citizen',
  reject: 'Reject the case with a reason shown to the citizen',
  reopen: 'Reopen an answered case, with a new SLA clock (beyond the limit only a supervisor, with overrideReason)',
  close: 'Close an answered case',
  'unlink-duplicate': "Undo routing's duplicate link: the case stands on its own with its own SLA clock",
}

/** A parsed `If-Match`: the revisions that are acceptable, or any (`*`). */
export type IfMatch = { readonly kind: 'any' } | { readonly kind: 'revisions'; readonly revisions: readonly number[] }

const ETAG = /^(?:W\/)?(?:"(\d{1,15})"|(\d{1,15}))$/

/**
 * Reads `If-Match`: `"3"`, `3` and `W/"3"` all mean revision 3 (clients and proxies write it all
 * three ways), a list matches any of its members, `*` matches any existing case.
 */
export function parseIfMatch(header: string | string[] | undefined): IfMatch | undefined {
  if (header === undefined) return undefined
  const raw = Array.isArray(header) ? header.join(',') : header
  if (raw.trim() === '*') return { kind: 'any' }
  const revisions: number[] = []
  for (const part of raw.split(',')) {
    const match = ETAG.exec(part.trim())
    const digits = match?.[1] ?? match?.[2]
    if (digits === undefined) {
      throw new ValidationError('Invalid If-Match header.', [{ field: 'if-match', message: 'must be the ETag of the case as received, e.g. "3"' }])
    }
    revisions.push(Number(digits))
  }
  return { kind: 'revisions', revisions }
}

const etag = (revision: number): string => `"${revision}"`

/** Who may see or change a case. */
function accessTo(principal: Principal, state: OpenCase, purpose: 'read' | 'act'): Visibility {
  if (principal.roles.includes('supervisor')) return 'full'
  if (principal.roles.includes('staff') && state.department !== null && principal.departments.includes(state.department)) return 'full'
  if (purpose === 'read' && principal.roles.includes('auditor')) return 'without-personal-data'
  // The same answer whoever holds the case (or none yet): which directorate handles a case says
  // what it is about (social aid, zoning, …), which is not for staff of other directorates to learn.
  throw new ForbiddenError(`Only staff of the directorate that holds this case, and supervisors, can ${purpose === 'read' ? 'see' : 'change'} it.`)
}

/** `GET /v1/cases/:caseId?asOf=`: the case view as it stood then. */
export type CaseAsOfView = CaseView & {
  /** The instant asked for, as UTC. */
  readonly asOf: string
  /** Revision of the last event recorded by then (`revision` is the case's ETag as it was then). */
  readonly streamRevision: number
  /** The instants at which the case changed, up to `asOf`: where a time control can step to. */
  readonly changes: readonly RecordedChange[]
}

/** The instant of a valid `asOf` / `until`; 400 when it lies after `now`: as-of replay answers for the past, not a forecast. */
function notInTheFuture(field: string, instant: string, now: Date): Date {
  const at = new Date(instant)
  if (at.getTime() > now.getTime()) {
    throw new ValidationError(`${field} ${instant} henüz gelmedi; geçmiş bir an verin. ${field} lies in the future (server time ${now.toISOString()}).`, [
      { field, message: `must not be later than the server's clock (${now.toISOString()})` },
    ], { extensions: { serverTime: now.toISOString() } })
  }
  return at
}

/** 404 for an instant before the case's first event was recorded. */
function notYetRecorded(caseId: string, instant: string, firstRecordedAt: string | undefined): NotFoundError {
  return new NotFoundError(
    `Bu başvuru ${instant} anında henüz kayıtlı değildi${firstRecordedAt === undefined ? '' : ` (ilk kaydı: ${firstRecordedAt})`}. There was no case ${caseId} yet at ${instant}${firstRecordedAt === undefined ? '' : ` (first recorded at ${firstRecordedAt})`}.`,
    { extensions: { reason: 'not_yet_recorded', ...(firstRecordedAt === undefined ? {} : { firstRecordedAt }) } },
  )
}

function requireCase(loaded: LoadedCase): OpenCase {
  if (loaded.state.status === 'none') throw new NotFoundError(`There is no case ${loaded.caseId}.`)
  return loaded.state
}

function checkPrecondition(ifMatch: IfMatch | undefined, revision: number): void {
  if (ifMatch === undefined || ifMatch.kind === 'any' || ifMatch.revisions.includes(revision)) return
  throw new PreconditionFailedError(
    `The case has changed: it is at revision ${revision}, you sent If-Match ${ifMatch.revisions.map(etag).join(', ')}. Reload it and try again.`,
    { extensions: { currentRevision: revision }, headers: { etag: etag(revision) } },
  )
}

/** Maps the decider's and the store's refusals to problems; anything else passes unchanged. */
function toProblem(error: unknown, extensions: Readonly<Record<string, unknown>> = {}): unknown {
  if (error instanceof CaseRuleViolation) {
    switch (error.code) {
      case 'reopen_limit_reached':
        return new ConflictError(
          `Bu başvuru yeniden açılma sınırına ulaştı${describeLimit(extensions)}. Yeniden açabilmek için bir yöneticinin gerekçesini (overrideReason) yazması gerekir.`,
          { cause: error, extensions: { reason: error.code, ...extensions } },
        )
      case 'not_a_duplicate':
        return new ConflictError('Bu başvuru başka bir başvurunun mükerreri olarak işaretli değil; ayrılacak bir bağlantı yok.', {
          cause: error,
          extensions: { reason: error.code, ...extensions },
        })
      case 'illegal_step':
      case 'same_department':
      case 'already_submitted':
      case 'tracking_code_taken':
        return new ConflictError(error.message, { cause: error, extensions: { reason: error.code, ...extensions } })
      case 'invalid_step_fields': {
        const errors = error.fieldErrors.length > 0 ? error.fieldErrors.map((e) => ({ field: `fields.${e.field}`, message: e.message })) : [{ field: 'step', message: error.message }]
        return new ValidationError(error.message, errors, { cause: error })
      }
      case 'case_not_found':
        return new NotFoundError(error.message, { cause: error })
      case 'note_limit_reached':
        return new ConflictError(error.message, { cause: error, extensions: { reason: error.code, ...extensions } })
      case 'case_too_large':
        return new PayloadTooLargeError(error.message, { cause: error, extensions: { reason: error.code, ...extensions } })
      default: {
        const unknownCode: never = error.code
        return unknownCode
      }
    }
  }
  if (error instanceof ConcurrencyError) {
    return new ConflictError('The case is being changed by others right now; reload it and try again.', { cause: error, extensions: { reason: 'concurrent_update' } })
  }
  return error
}

/** ` (N kez yeniden açıldı, sınır M)` from the extensions of a refused reopening, when they are there. */
function describeLimit(extensions: Readonly<Record<string, unknown>>): string {
  const { reopenings, limit } = extensions
  return typeof reopenings === 'number' && typeof limit === 'number' ? ` (${reopenings} kez yeniden açıldı, sınır ${limit})` : ''
}

/** What a command builder gets: the case as loaded, and the metadata of the events it causes. */
interface CommandContext {
  readonly state: OpenCase
  readonly meta: CommandMeta
  readonly now: Date
  readonly principal: Principal
}

/** Builds the staff API (not listening). */
export function buildWorkflowApp(deps: WorkflowAppDeps): FastifyInstance {
  const { store, openCases, access } = deps
  const app = createHttpApp({
    serviceName: 'department-workflow',
    logger: deps.logger,
    access,
    ...deps.timeouts,
    ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }),
    accessRules: ACCESS_RULES,
    ...(deps.bodyLimit === undefined ? {} : { bodyLimit: deps.bodyLimit }),
    readiness: async () => {
      const head = await store.headPosition()
      return { ready: openCases.running, details: { projectionPosition: openCases.position, eventStoreHead: head } }
    },
  })
  registerWorkflowRoutes(app, deps)
  return app
}

/**
 * Adds the staff API's routes to an app made by `createHttpApp` (with `access`): its own, or the
 * one standalone mode shares between all services.
 */
export function registerWorkflowRoutes(app: FastifyInstance, deps: WorkflowAppDeps): void {
  const { store, openCases, catalogue, calendar, workflows, access } = deps
  const maxReopenings = deps.maxReopenings ?? DEFAULT_MAX_REOPENINGS
  if (!Number.isSafeInteger(maxReopenings) || maxReopenings < 0) throw new RangeError(`maxReopenings must be an integer >= 0, got ${maxReopenings}`)
  const caseLimits = deps.caseLimits ?? DEFAULT_CASE_LIMITS
  const api = app.withTypeProvider<ZodTypeProvider>()
  const log = deps.logger.child({ component: 'department-workflow' })

  const principalOf = (request: FastifyRequest): Principal => {
    // Set by the requireRole hook that guards every route below.
    if (request.principal === null) throw new Error('route reached without authentication')
    return request.principal
  }

  /** A new SLA clock starting now on the business calendar. */
  const newClock = (now: Date, deadline: DeadlineTerms, basis: DeadlineBasis): NewSla => ({
    startedAt: now.toISOString(),
    deadline,
    basis,
    dueAt: calendar.dueAt(now, deadline).toISOString(),
  })
  /** The clock of a category: its own SLA, else the municipality's general promise. */
  const clockFor = (now: Date, category: string | null): NewSla => {
    const found = category === null ? undefined : categoryByCode(catalogue, category)
    return found === undefined ? newClock(now, catalogue.deadlines.municipalPromise, 'municipal-promise') : newClock(now, found.sla, 'category')
  }

  const send = (reply: FastifyReply, view: CaseView): CaseView => {
    reply.header('etag', etag(view.revision)).header('cache-control', 'no-store')
    return view
  }

  /**
   * Runs one command: the body is already valid; access, existence and `If-Match` are checked on
   * the very state the decider sees (and again if a concurrent append forces a re-read).
   */
  const run = async (
    request: FastifyRequest,
    reply: FastifyReply,
    caseId: string,
    action: string,
    build: (ctx: CommandContext) => CaseCommand,
    problemExtensions?: (state: OpenCase) => Readonly<Record<string, unknown>>,
  ): Promise<CaseView> => {
    const principal = principalOf(request)
    const ifMatch = parseIfMatch(request.headers['if-match'])
    const now = deps.now()
    const meta: CommandMeta = {
      eventId: randomUUID(),
      occurredAt: now.toISOString(),
      actor: { kind: 'staff', id: principal.id },
      correlationId: request.correlationId,
      ...(request.clientRequestId === null ? {} : { clientRequestId: request.clientRequestId }),
      causationId: null,
    }
    let seen: OpenCase | undefined
    let result: ExecuteResult
    try {
      result = await executeOnCase(
        store,
        caseId,
        (loaded) => {
          const state = requireCase(loaded)
          accessTo(principal, state, 'act')
          checkPrecondition(ifMatch, loaded.changeRevision)
          seen = state
          return build({ state, meta, now, principal })
        },
        { admit: (loaded, events) => checkCaseLimits(caseSizeOf(loaded.records.map((r) => r.event)), events, caseLimits) },
      )
    } catch (error) {
      throw toProblem(error, seen === undefined || problemExtensions === undefined ? {} : problemExtensions(seen))
    }
    if (result.state.status === 'none') throw new Error(`case ${caseId} vanished after ${action}`)
    log.info(
      { caseId, action, events: result.events.map((e) => e.type), eventIds: result.events.map((e) => e.eventId), revision: result.revision, actor: principal.id, correlationId: request.correlationId },
      'case command recorded',
    )
    return send(reply, caseView(result.state, result.revision, now, { catalogue, workflows, visibility: 'full' }))
  }

  const staffOrSupervisor = access.requireRole('staff', 'supervisor')

  /** Registers `POST /v1/cases/:caseId/<action>`; the body is validated before the case is even read. */
  const command = <S extends z.ZodType>(
    action: string,
    schema: S,
    build: (body: z.output<S>, ctx: CommandContext) => CaseCommand,
    check?: (body: z.output<S>, principal: Principal) => void,
    problemExtensions?: (state: OpenCase) => Readonly<Record<string, unknown>>,
  ) => {
    const summary = COMMAND_SUMMARIES[action]
    if (summary === undefined) throw new Error(`no summary for the command ${action}`)
    const route = { onRequest: staffOrSupervisor, preValidation: bodyOrEmpty, schema: { tags: ['cases'], summary, params: CaseParams, body: schema, response: COMMAND_RESPONSES } }
    api.post(`/v1/cases/:caseId/${action}`, route, async (request, reply) => {
      const { caseId } = request.params
      // Validated by the schema above; fastify's typing cannot resolve the output of a generic S.
      const body = request.body as z.output<S>
      check?.(body, principalOf(request))
      return run(request, reply, caseId, action, (ctx) => build(body, ctx), problemExtensions)
    })
  }

  command('accept', CommandBodies.accept, (_body, { meta, principal }) => ({ type: 'AcceptCase', meta, data: { assignee: principal.id } }))
  command('start', CommandBodies.start, (body, { meta }) => ({ type: 'StartWork', meta, data: { note: body.note ?? null } }))
  command('note', CommandBodies.note, (body, { meta }) => ({ type: 'AddNote', meta, data: { text: body.text } }))
  command('request-info', CommandBodies['request-info'], (body, { meta }) => ({ type: 'RequestInfo', meta, data: { question: body.question } }))
  command('citizen-reply', CommandBodies['citizen-reply'], (body, { meta }) => ({
    type: 'RecordCitizenReply',
    meta,
    data: { text: body.text, channel: body.channel ?? null },
  }))
  command(
    'transfer',
    CommandBodies.transfer,
    (body, { meta, now }) => ({
      type: 'TransferCase',
      meta,
      data: { toDepartment: body.department, category: body.category ?? null, reason: body.reason, sla: clockFor(now, body.category ?? null) },
    }),
    (body) => {
      if (departmentByCode(catalogue, body.department) === undefined) {
        throw new ValidationError(`Unknown department '${body.department}'.`, [
          { field: 'department', message: `not in the catalogue; known departments: ${catalogue.departments.map((d) => d.code).join(', ')}` },
        ])
      }
      if (body.category === undefined) return
      const category = categoryByCode(catalogue, body.category)
      if (category === undefined) {
        throw new ValidationError(`Unknown category '${body.category}'.`, [{ field: 'category', message: 'not in the catalogue' }])
      }
      if (category.department !== body.department) {
        throw new ValidationError(`Category '${body.category}' belongs to ${category.department}, not ${body.department}.`, [
          { field: 'category', message: `belongs to ${category.department}; categories of ${body.department}: ${catalogue.categories.filter((c) => c.department === body.department).map((c) => c.code).join(', ')}` },
        ])
      }
    },
  )
  command('resolve', CommandBodies.resolve, (body, { meta }) => ({ type: 'ResolveCase', meta, data: { resolution: body.resolution } }))
  command('reject', CommandBodies.reject, (body, { meta }) => ({ type: 'RejectCase', meta, data: { reasonCode: body.reasonCode, reason: body.reason } }))
  command(
    'reopen',
    CommandBodies.reopen,
    (body, { meta, now, state }) => ({
      type: 'ReopenCase',
      meta,
      data: {
        reason: body.reason,
        sla: clockFor(now, state.category),
        limit: maxReopenings,
        ...(body.overrideReason === undefined ? {} : { override: { reason: body.overrideReason } }),
      },
    }),
    (body, principal) => {
      // Checked before the case is read: the override is a supervisor's, whatever the case.
      if (body.overrideReason !== undefined && !principal.roles.includes('supervisor')) {
        throw new ForbiddenError('Yeniden açılma sınırını yalnızca yöneticiler (supervisor) aşabilir; overrideReason alanını göndermeyin.')
      }
    },
    (state) => ({ reopenings: state.reopenings, limit: maxReopenings }),
  )
  // Undoes routing's duplicate link: the case gets its own clock from now, in the queue of the
  // directorate that holds it; the earlier case's count of linked reports drops.
  command('unlink-duplicate', CommandBodies['unlink-duplicate'], (body, { meta, now, state }) => ({
    type: 'UnlinkDuplicate',
    meta,
    data: { reason: body.reason, sla: clockFor(now, state.category) },
  }))
  command('close', CommandBodies.close, (body, { meta }) => ({ type: 'CloseCase', meta, data: { reason: body.reason ?? null } }))

  const stepRoute = {
    onRequest: staffOrSupervisor,
    preValidation: bodyOrEmpty,
    schema: {
      tags: ['cases'],
      summary: "Record a step of the case's workflow (e.g. social services' home visit) with its fields",
      description: 'Which steps may follow is in the case view (`workflow.nextSteps`); a refused step answers 409 `illegal_step` with `nextSteps`, invalid fields 400.',
      params: StepParams,
      body: CommandBodies.step,
      response: COMMAND_RESPONSES,
    },
  }
  api.post('/v1/cases/:caseId/steps/:step', stepRoute, async (request, reply) => {
    const { caseId, step } = request.params
    const { fields } = request.body
    return run(
      request,
      reply,
      caseId,
      `step ${step}`,
      ({ state, meta }) => {
        const workflow = workflowOfCase(state, workflows, catalogue)
        if (workflow === undefined) {
          throw new ConflictError(`No workflow applies to this case (category ${state.category ?? 'none'}); record its progress with notes instead.`, {
            extensions: { reason: 'no_workflow' },
          })
        }
        return { type: 'RecordStep', meta, data: { workflow, step, fields } }
      },
      (state) => {
        const workflow = workflowOfCase(state, workflows, catalogue)
        return workflow === undefined ? {} : { nextSteps: nextWorkflowSteps(workflow, state.steps).map((s) => s.code) }
      },
    )
  })

  const caseRead = {
    onRequest: access.requireRole('staff', 'supervisor', 'auditor'),
    schema: {
      tags: ['cases'],
      summary: 'The case file: status, submission, SLA clock, notes (one page), workflow, timeline',
      description:
        'Auditors get it without personal data (no applicant, no street address or coordinates: `personalDataRedacted`). With `asOf`, the case as it stood at that instant (`asOf`, `streamRevision`, `changes` added; no ETag).',
      params: CaseParams,
      querystring: CaseQuery,
      // 404: no such case, or none yet at `asOf` (reason not_yet_recorded).
      response: { 200: CaseReadSchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/cases/:caseId', caseRead, async (request, reply) => {
    const { caseId } = request.params
    const { notesLimit, notesBefore, asOf } = request.query
    const loaded = await loadCase(store, caseId)
    // Who may read the case is decided on the case as it stands now, also for an earlier instant.
    const state = requireCase(loaded)
    const visibility = accessTo(principalOf(request), state, 'read')
    const notes = { limit: notesLimit, ...(notesBefore === undefined ? {} : { before: notesBefore }) }
    if (asOf === undefined) return send(reply, caseView(state, loaded.changeRevision, deps.now(), { catalogue, workflows, visibility, notes }))
    const then = caseAsOf(loaded, notInTheFuture('asOf', asOf, deps.now()))
    if (then === undefined || then.state.status === 'none') throw notYetRecorded(caseId, asOf, loaded.records[0]?.recordedAt)
    // The SLA clock is evaluated at the instant asked for; no ETag: an earlier state is not one to change.
    reply.header('cache-control', 'no-store')
    const view: CaseAsOfView = {
      ...caseView(then.state, then.changeRevision, new Date(then.at), { catalogue, workflows, visibility, notes }),
      asOf: then.at,
      streamRevision: then.revision,
      changes: then.changes,
    }
    return view
  })

  const historyRead = {
    onRequest: access.requireRole('auditor', 'supervisor'),
    schema: {
      tags: ['cases'],
      summary: 'Every stored event of the case, in order (auditors without personal data)',
      params: CaseParams,
      querystring: HistoryQuery,
      response: { 200: CaseHistorySchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/cases/:caseId/history', historyRead, async (request, reply) => {
    const { caseId } = request.params
    const { until } = request.query
    const loaded = await loadCase(store, caseId)
    requireCase(loaded)
    const principal = principalOf(request)
    const visibility: Visibility = principal.roles.includes('supervisor') ? 'full' : 'without-personal-data'
    // An erasure recorded after `until` still applies: the data is no longer held (see as-of.ts).
    const erased = loaded.records.some((r) => r.event.type === 'PersonalDataErased')
    if (until === undefined) {
      reply.header('etag', etag(loaded.revision)).header('cache-control', 'no-store')
      return { caseId, revision: loaded.revision, events: historyEntries(loaded.records, visibility) }
    }
    const then = caseAsOf(loaded, notInTheFuture('until', until, deps.now()))
    if (then === undefined) throw notYetRecorded(caseId, until, loaded.records[0]?.recordedAt)
    reply.header('cache-control', 'no-store')
    return { caseId, until: then.at, revision: then.revision, events: historyEntries(then.records, visibility, { erased }) }
  })

  const queueRead = {
    onRequest: staffOrSupervisor,
    schema: {
      tags: ['cases'],
      summary: "A directorate's open cases, most urgent first, with their SLA position",
      params: DepartmentParams,
      // 404: no such department.
      response: { 200: DepartmentQueueSchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/departments/:code/queue', queueRead, async (request) => {
    const { code } = request.params
    const department = departmentByCode(catalogue, code)
    if (department === undefined) throw new NotFoundError(`There is no department '${code}'.`)
    const principal = principalOf(request)
    if (!principal.roles.includes('supervisor') && !principal.departments.includes(code)) {
      throw new ForbiddenError(`Only staff of ${department.nameEn} (${code}) and supervisors can see its queue.`, { extensions: { department: code } })
    }
    if (!openCases.running) throw new ServiceUnavailableError('The case projection is not running; retry on another instance.')
    // Read-your-writes: whatever was stored before this request is in the answer.
    const head = await store.headPosition()
    try {
      await openCases.waitUntil(head, { timeoutMs: deps.queueConsistencyTimeoutMs ?? 2000 })
    } catch (error) {
      request.log.warn({ err: error, head, position: openCases.position }, 'queue answered from a projection that is behind the store')
    }
    const now = deps.now()
    return {
      department: { code: department.code, nameTr: department.nameTr, nameEn: department.nameEn },
      now: now.toISOString(),
      position: openCases.position,
      cases: openCases.queue(code, now),
    }
  })

  const workflowsRead = {
    onRequest: access.requireRole('staff', 'supervisor', 'auditor'),
    schema: { tags: ['cases'], summary: "The directorates' workflow definitions (steps, fields, conditions)", response: { 200: WorkflowsSchema } },
  }
  api.get('/v1/workflows', workflowsRead, async () => workflows)
}
