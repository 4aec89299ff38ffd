/**
 * The fastify app every service starts from: request ids, RFC 9457 problem responses for
 * every error, health and readiness endpoints, and (optionally) access control. It never
 * listens by itself: `main.ts` calls `listen`, tests call `inject`.
 *
 * Problem types. Every error body is `application/problem+json` with
 * `type = https://civic-desk.dev/problems/<code>`; the codes are stable API:
 *
 * | code                    | status | meaning                                                         |
 * | ----------------------- | ------ | --------------------------------------------------------------- |
 * | validation_failed       | 400    | fields are invalid; `errors[]` names each (`field`, `message`)  |
 * | malformed_json          | 400    | the body is not JSON although the content type says it is       |
 * | bad_request             | 400    | the request cannot be read (bad URL, wrong Content-Length, …)   |
 * | unauthorized            | 401    | no bearer token or an unknown one (`WWW-Authenticate` is sent)  |
 * | forbidden               | 403    | the caller lacks the role (`requiredRoles`) or the scope        |
 * | not_found               | 404    | no such resource, or no such route (answered before any body)   |
 * | request_timeout         | 408    | headers or body did not arrive in time (see protocol-errors.ts) |
 * | conflict                | 409    | the request conflicts with what is already recorded             |
 * | precondition_failed     | 412    | `If-Match` does not match the current revision                  |
 * | payload_too_large       | 413    | the body is over the service's limit                            |
 * | unsupported_media_type  | 415    | the body's content type cannot be read (send application/json)  |
 * | expectation_failed      | 417    | an `Expect` other than `100-continue`                           |
 * | too_many_requests       | 429    | a rate limit was hit; `Retry-After` says when to try again      |
 * | request_header_fields_too_large | 431 | headers over Node's 16 KiB                                 |
 * | not_implemented         | 501    | `CONNECT`: this is no proxy                                     |
 * | not_ready               | 503    | `/readyz`: a dependency is not ready (`details`)                |
 * | service_unavailable     | 503    | the service is shutting down; retry on another instance         |
 * | internal_error          | 500    | a bug or an outage; the detail is generic, quote `requestId`    |
 * Other statuses raised by fastify itself get the snake-cased status text as code. A JSON body
 * that is not valid UTF-8 is `validation_failed` naming `body` (json-body.ts), never decoded into
 * replacement characters. Errors Node's parser reports before fastify sees a request (malformed
 * HTTP, 408, 431) are answered in the same form by protocol-errors.ts, which also lists what Node
 * still closes unanswered.
 *
 * Tracing. Every request runs in a W3C trace span (@civic-desk/tracing): a child of the caller's
 * `traceparent` (with its `tracestate`), or the first span of a new trace when there is none or it
 * is malformed (ignored, never an error). The answer names the trace in `x-trace-id`; the request's
 * log lines carry `traceId` and `spanId` beside `requestId`; events it appends record the span.
 *
 * Request schemas. Routes declare zod schemas (`schema: { params, querystring, body, headers }`)
 * and type their handlers with `app.withTypeProvider<ZodTypeProvider>()`; the zod type provider
 * validates them and its issues become `validation_failed` with the same fields and messages as
 * `parseWith`. A route that declares JSON schemas instead keeps fastify's own (ajv) validation.
 *
 * Response schemas (zod, `response: { 200: X, ...problemResponses(409) }`) describe the route in
 * the API description (`/openapi.json`, `/docs`: openapi.ts) and are never used to serialize:
 * answers go out as plain JSON, so a schema that lags behind its handler cannot turn an answer
 * into a 500; the API description's tests hold the handlers to their schemas instead.
 */
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import {
  LogController,
  fastify,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  type FastifySchemaCompiler,
  type FastifySerializerCompiler,
} from 'fastify'
import { hasZodFastifySchemaValidationErrors, validatorCompiler } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { TRACE_ID_RESPONSE_HEADER, enterTrace, parentFrom, startSpan, tracingEnabled, type Span } from '@civic-desk/tracing'
import { accessRuleFor, type AccessRule } from './access-rules.ts'
import type { AccessControl } from './auth.ts'
import { ProblemError, ServiceUnavailableError, ValidationError, validationErrorFromZod, type FieldError, type IssueLike, type RequestPart } from './errors.ts'
import { useStrictJsonParser } from './json-body.ts'
import { registerApiDescription } from './openapi.ts'
import type { Logger } from './logging.ts'
import { installMetrics } from './metrics.ts'
import { PROBLEM_CONTENT_TYPE, problemCodeOfStatus, problemResponses, problemType } from './problem.ts'
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, answerProtocolErrors, checkTimeouts, checkingIntervalMs, type HttpTimeouts } from './protocol-errors.ts'

export { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, ProblemSchema, problemCodeOfStatus, problemResponses, problemType } from './problem.ts'

/** An RFC 9457 problem body as this project sends it. */
export interface ProblemDetails {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly code: string
  readonly requestId: string
  readonly errors?: readonly FieldError[]
  readonly [extension: string]: unknown
}

/**
 * What `readiness` reports. `details` (no secrets, please) are internal positions: shown only to
 * callers with an operator token (or by an app without access control), never to an anonymous probe.
 */
export interface Readiness {
  readonly ready: boolean
  readonly details?: Readonly<Record<string, unknown>>
}

/** Options of `createHttpApp`. */
export interface CreateHttpAppOptions {
  /** The process's root logger; fastify logs each request through a child with its `requestId`. */
  readonly logger: Logger
  /** Named in `/healthz` and `/readyz`. */
  readonly serviceName: string
  /** Largest accepted request body in bytes; default 64 KiB. */
  readonly bodyLimit?: number
  /** Access control behind `app.requireRole(...)`. */
  readonly access?: AccessControl
  /** Checked by `GET /readyz`; ready when omitted. */
  readonly readiness?: () => Promise<Readiness>
  /** Time for the request line and headers to arrive (408 after it); default 10 s. */
  readonly headersTimeoutMs?: number
  /** Time for the whole request, body included, to arrive (408 after it); default 30 s. */
  readonly requestTimeoutMs?: number
  /**
   * The product's access table (`ACCESS_RULES`): given, every route registered on the app must
   * have a row, or registering it throws (the app does not start).
   */
  readonly accessRules?: readonly AccessRule[]
  /** The event store this service uses: `/readyz` names it and its head in the details (operators only). */
  readonly eventStore?: EventStoreDescription
}

/** Which event store a service reads and writes, as `/readyz` shows it (never a password). */
export interface EventStoreDescription {
  readonly kind: string
  /** The file, or the server without its password. */
  readonly target: string
  readonly head: () => Promise<number>
}

/** Default body limit: 64 KiB is generous for a citizen request without attachments. */
export const DEFAULT_BODY_LIMIT = 64 * 1024

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The id the audit trail records for this request (the events' `correlationId`): a UUID made
     * here, so no caller can choose or forge it. Sent back as `x-correlation-id`.
     */
    correlationId: string
    /** The caller's `x-request-id` when it was sane, else null: untrusted, recorded apart as `clientRequestId`. */
    clientRequestId: string | null
  }
  interface FastifyReply {
    /** The problem code of an error answer (`validation_failed`, …), null otherwise: what metrics count refusals by. */
    problemCode: string | null
  }
  interface FastifyInstance {
    /** `access.requireRole` of the app's access control; throws at route definition when the app has none. */
    requireRole: AccessControl['requireRole']
  }
}

// Visible, header- and log-safe characters only; anything else gets a fresh id.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:;=+/@-]{1,128}$/

/** The request id to use for an incoming `x-request-id` header value, or a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return saneClientRequestId(header) ?? randomUUID()
}

/** An incoming `x-request-id` value when it is safe to log and to store (still the caller's word), else null. */
export function saneClientRequestId(header: string | string[] | undefined): string | null {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : null
}

interface ProblemInit {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly errors?: readonly FieldError[]
  readonly extensions?: Readonly<Record<string, unknown>>
  readonly headers?: Readonly<Record<string, string>>
}

const INTERNAL: ProblemInit = {
  status: 500,
  code: 'internal_error',
  title: 'Internal server error',
  detail: 'Something went wrong on our side. Please try again later; quote the request id if you report it.',
}

/** The span of each request in flight, by its Node request (the one object every hook can reach). */
const requestSpans = new WeakMap<object, Span>()

/** Builds the app (not listening). */
export function createHttpApp(options: CreateHttpAppOptions): FastifyInstance {
  // Typed as fastify's base logger so the app is a plain FastifyInstance, the type services use.
  const loggerInstance: FastifyBaseLogger = options.logger
  const timeouts: HttpTimeouts = {
    headersTimeoutMs: options.headersTimeoutMs ?? Math.min(DEFAULT_HEADERS_TIMEOUT_MS, options.requestTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  }
  checkTimeouts(timeouts)
  // Protocol errors and slow requests never reach fastify's error handler: answered on the socket.
  const protocol = answerProtocolErrors(timeouts, loggerInstance)
  const app = fastify({
    loggerInstance,
    // A body that dribbles in is cut off: fastify's default (0) lets a request take forever.
    requestTimeout: timeouts.requestTimeoutMs,
    http: {
      headersTimeout: timeouts.headersTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(timeouts),
      // Node would answer a Host-less HTTP/1.1 request with a bare 400; the onRequest hook below answers it.
      requireHostHeader: false,
    },
    clientErrorHandler: protocol.clientErrorHandler,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    // Called once per request before fastify's first line about it: the request's span starts here
    // (a child of the caller's `traceparent`, else a new trace; a malformed one is ignored) and
    // becomes the current span of everything the request runs.
    childLoggerFactory: (logger, bindings, loggerOptions, rawReq) => {
      const span = startSpan(rawReq.method ?? 'HTTP', {
        kind: 'server',
        parent: parentFrom(rawReq.headers.traceparent, rawReq.headers.tracestate),
        attributes: { 'http.request.method': rawReq.method ?? '', 'url.path': pathOf(rawReq.url) },
      })
      if (span === null) return logger.child(bindings, loggerOptions)
      enterTrace(span.context)
      requestSpans.set(rawReq, span)
      // Bound, not added per line: fastify's "request completed" is written outside the request's async context.
      return logger.child({ ...bindings, traceId: span.context.traceId, spanId: span.context.spanId }, loggerOptions)
    },
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // Shutdown is answered by our own hook below, so even that is a problem document.
    return503OnClosing: false,
    frameworkErrors: (error, request, reply) => {
      sendProblem(request, reply, toProblem(error))
    },
  })
  // Every API here speaks JSON only: any other body is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain')
  useStrictJsonParser(app)

  // No route without a decision on who may call it: registering one that the table lacks throws.
  const accessRules = options.accessRules
  if (accessRules !== undefined) {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (accessRuleFor(accessRules, method, route.url) === undefined) {
          throw new Error(`No access rule for ${method} ${route.url}: add a row to ACCESS_RULES (packages/service-kit/src/access-rules.ts) and to README.md's API table`)
        }
      }
    })
  }

  // Set per route rather than for the app, so that a route declaring JSON schemas keeps ajv. A
  // route's request schemas are all zod or all JSON schema, and so are its response schemas.
  app.addHook('onRoute', (route) => {
    const schema = route.schema
    if (schema === undefined) return
    if (route.validatorCompiler === undefined && [schema.params, schema.querystring, schema.body, schema.headers].some(isZodSchema)) {
      route.validatorCompiler = zodValidatorCompiler
    }
    // Zod response schemas document (the OpenAPI description) and tests hold routes to them; they
    // never serialize: a drift between a schema and a handler must not turn an answer into a 500.
    if (route.serializerCompiler === undefined && typeof schema.response === 'object' && schema.response !== null && Object.values(schema.response).some(describesWithZod)) {
      route.serializerCompiler = plainJsonSerializerCompiler
    }
  })

  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })

  app.decorateRequest('principal', null)
  app.decorateRequest('correlationId', '')
  app.decorateRequest('clientRequestId', null)
  app.decorateReply('problemCode', null)
  const access = options.access
  app.decorate(
    'requireRole',
    access === undefined
      ? () => {
          throw new Error('requireRole: this app was created without `access` (pass createAccessControl(...) to createHttpApp)')
        }
      : access.requireRole.bind(access),
  )

  protocol.install(app)
  // Before any route: the document lists the routes registered after it.
  registerApiDescription(app, { serviceName: options.serviceName, ...(accessRules === undefined ? {} : { accessRules }) })
  // Prometheus: request counts and durations by route pattern, and GET /metrics (metrics.ts), after the
  // API description so that /metrics is in the document.
  installMetrics(app, access, options.eventStore?.head)

  app.addHook('onRequest', async (request, reply) => {
    // The request id may be the caller's (it joins their logs to ours); the audit trail's id is ours.
    request.correlationId = randomUUID()
    request.clientRequestId = saneClientRequestId(request.headers['x-request-id'])
    reply.header('x-request-id', request.id)
    reply.header('x-correlation-id', request.correlationId)
    const span = requestSpans.get(request.raw)
    if (span !== undefined) reply.header(TRACE_ID_RESPONSE_HEADER, span.context.traceId)
    if (closing) {
      reply.header('connection', 'close')
      throw new ServiceUnavailableError('This instance is shutting down; retry the request.', { headers: { 'retry-after': '1' } })
    }
    if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 1 && request.headers.host === undefined) {
      return sendProblem(request, reply, { status: 400, code: 'bad_request', title: 'Bad request', detail: 'An HTTP/1.1 request needs a Host header (RFC 9112).' })
    }
    // An unknown route is answered before its body is read: nothing could use it, however large or slow.
    if (request.is404) return sendProblem(request, reply, notFound(request))
    return undefined
  })

  // The request's span ends with its answer (a callback hook: no promise per request for this);
  // with CIVIC_TRACING=off there are no spans and no hook.
  if (tracingEnabled()) {
    app.addHook('onResponse', (request, reply, done) => {
      const span = requestSpans.get(request.raw)
      if (span !== undefined) {
        requestSpans.delete(request.raw)
        const route = request.routeOptions.url
        span.end(reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined, {
          ...(route === undefined ? {} : { name: `${request.method} ${route}` }),
          attributes: { 'http.response.status_code': reply.statusCode, ...(route === undefined ? {} : { 'http.route': route }) },
        })
      }
      done()
    })
  }

  app.setErrorHandler((error, request, reply) => {
    if (protocol.settled(request.raw.socket)) {
      // Cut off mid-body (a 408 went out on the socket): the failed body read is no second error.
      request.log.debug({ err: error }, 'request ended by a protocol error answer')
      return reply.hijack()
    }
    const problem = toProblem(error)
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ problem: problem.code, status: problem.status }, 'request rejected')
    return sendProblem(request, reply, problem)
  })

  // Answers `reply.callNotFound()`; unknown routes are answered by the onRequest hook above.
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, notFound(request)))

  const service = options.serviceName
  app.get('/healthz', { logLevel: 'warn', schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: HealthSchema } } }, async () => ({ status: 'ok', service }))

  // Load balancers probe without a token and need only the status; the positions are for operators.
  const mayReadDetails = (request: FastifyRequest): boolean => {
    if (access === undefined) return true
    try {
      return access.authenticate(request.headers.authorization).roles.includes('operator')
    } catch {
      return false
    }
  }

  const readyzSchema = {
    tags: ['health'],
    summary: 'Readiness: the dependencies answer',
    description: 'Without a token, the status only; with an operator token, `details` name internal positions (the event store and its head, the readers).',
    response: { 200: ReadySchema, ...problemResponses(503) },
  }
  app.get('/readyz', { logLevel: 'warn', schema: readyzSchema }, async (request, reply) => {
    // A service without a check of its own (notification) is still not ready while its store does not answer.
    if (options.readiness === undefined && options.eventStore === undefined) return { status: 'ready', service }
    let report: Readiness
    try {
      report = options.readiness === undefined ? { ready: true } : await options.readiness()
    } catch (error) {
      request.log.error({ err: error }, 'readiness check failed')
      report = { ready: false }
    }
    if (options.eventStore !== undefined) {
      const { kind, target, head } = options.eventStore
      // A store that does not answer makes the service not ready, whatever the service's own check said.
      const eventStore = await head().then(
        (position) => ({ kind, target, head: position }),
        (error: unknown) => {
          request.log.error({ err: error }, 'readiness: the event store does not answer')
          return null
        },
      )
      report = eventStore === null ? { ready: false, details: { ...report.details, eventStore: { kind, target, answering: false } } } : { ...report, details: { ...report.details, eventStore } }
    }
    if (report.details !== undefined && !mayReadDetails(request)) report = { ready: report.ready }
    if (report.ready) return { status: 'ready', service, ...(report.details === undefined ? {} : { details: report.details }) }
    return sendProblem(request, reply, {
      status: 503,
      code: 'not_ready',
      title: 'Service not ready',
      detail: `${service} is not ready to serve requests yet.`,
      extensions: { service, ...(report.details === undefined ? {} : { details: report.details }) },
      headers: { 'retry-after': '5' },
    })
  })

  return app
}

function notFound(request: FastifyRequest): ProblemInit {
  return { status: 404, code: 'not_found', title: 'Not found', detail: `There is no route for ${request.method} ${pathOf(request.url)}.` }
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemInit): FastifyReply {
  const body: ProblemDetails = {
    ...problem.extensions,
    type: problemType(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    instance: pathOf(request.url),
    code: problem.code,
    requestId: request.id,
    ...(problem.errors === undefined ? {} : { errors: problem.errors }),
  }
  reply.code(problem.status)
  reply.problemCode = problem.code
  reply.header('x-request-id', request.id)
  for (const [name, value] of Object.entries(problem.headers ?? {})) reply.header(name, value)
  reply.header('content-type', PROBLEM_CONTENT_TYPE)
  return reply.send(body)
}

/** The path only: query strings may carry personal data and are no part of the problem's identity. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function isZodSchema(schema: unknown): boolean {
  return schema instanceof z.core.$ZodType
}

/** A zod response schema, or one per media type (`{ content: { 'text/csv': { schema } } }`). */
function describesWithZod(schema: unknown): boolean {
  if (isZodSchema(schema)) return true
  const content = typeof schema === 'object' && schema !== null ? (schema as { content?: unknown }).content : undefined
  return typeof content === 'object' && content !== null && Object.values(content).some((c: unknown) => typeof c === 'object' && c !== null && isZodSchema((c as { schema?: unknown }).schema))
}

const HealthSchema = z.object({ status: z.literal('ok'), service: z.string().meta({ examples: ['civic-desk'] }) })
const ReadySchema = z.object({
  status: z.literal('ready'),
  service: z.string(),
  details: z.record(z.string(), z.unknown()).optional().describe('Internal positions: operators only'),
})

// The provider's compilers, typed for fastify's route options; the onRoute hook hands them zod schemas only.
const zodValidatorCompiler: FastifySchemaCompiler<FastifySchema> = (route) => validatorCompiler({ ...route, schema: route.schema as z.core.$ZodType })
const plainJsonSerializerCompiler: FastifySerializerCompiler<FastifySchema> = () => (data) => JSON.stringify(data)

function validationProblem(error: ValidationError): ProblemInit {
  return { status: error.status, code: error.code, title: error.title, detail: error.detail, errors: error.errors, extensions: error.extensions, headers: error.headers }
}

/** Maps anything thrown to a problem. Only our own errors and fastify's 4xx say what happened. */
function toProblem(error: unknown): ProblemInit {
  if (error instanceof ValidationError) return validationProblem(error)
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where: RequestPart = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body')
    const issues = error.validation.map(
      (v): IssueLike => ({ code: v.keyword, path: issuePath(v.instancePath), message: v.message ?? 'is invalid', ...unknownKeys(v.params['keys']) }),
    )
    return validationProblem(validationErrorFromZod(issues, where))
  }
  if (error instanceof ProblemError) {
    return { status: error.status, code: error.code, title: error.title, detail: error.detail, extensions: error.extensions, headers: error.headers }
  }
  if (typeof error !== 'object' || error === null) return INTERNAL
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown; validation?: unknown; validationContext?: unknown }

  if (Array.isArray(e.validation)) {
    const where = partName(e.validationContext)
    const errors = e.validation.map((v: unknown) => ajvFieldError(v, where))
    return { status: 400, code: 'validation_failed', title: 'Request validation failed', detail: `Invalid ${where}: ${errors.map((x) => x.field).join(', ')}.`, errors }
  }

  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'malformed_json',
        title: 'Malformed JSON',
        detail: 'The request body is not valid JSON.',
        errors: [{ field: 'body', message: e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'is empty' : 'is not valid JSON' }],
      }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload_too_large', title: 'Payload too large', detail: 'The request body is larger than this service accepts.' }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'unsupported_media_type',
        title: 'Unsupported media type',
        detail: 'The request body has a content type this route cannot read; send application/json.',
      }
    default:
      break
  }

  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  if (status >= 400 && status < 500) {
    // Fastify's own client errors carry messages written for clients; other libraries' might not.
    const own = typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.message === 'string'
    const text = STATUS_CODES[status] ?? 'Client error'
    return {
      status,
      code: problemCodeOfStatus(status),
      title: text,
      detail: own ? String(e.message) : `${text}.`,
    }
  }
  return INTERNAL
}

/**
 * The provider writes a zod issue's path as `/a/0/b` (`/` for the root). A key that itself holds a
 * `/` (only a record's keys could) reads as two segments.
 */
function issuePath(instancePath: string): string[] {
  return instancePath === '/' || instancePath === '' ? [] : instancePath.slice(1).split('/')
}

function unknownKeys(keys: unknown): { keys?: string[] } {
  return Array.isArray(keys) && keys.every((k) => typeof k === 'string') ? { keys } : {}
}

function partName(context: unknown): string {
  switch (context) {
    case 'querystring':
      return 'query'
    case 'body':
    case 'params':
    case 'headers':
      return context
    default:
      return 'request'
  }
}

function ajvFieldError(raw: unknown, where: string): FieldError {
  const v = (typeof raw === 'object' && raw !== null ? raw : {}) as {
    instancePath?: unknown
    message?: unknown
    params?: { missingProperty?: unknown; additionalProperty?: unknown }
  }
  const segments = typeof v.instancePath === 'string' ? v.instancePath.split('/').filter((s) => s !== '') : []
  const missing = v.params?.missingProperty
  const extra = v.params?.additionalProperty
  if (typeof missing === 'string') segments.push(missing)
  if (typeof extra === 'string') segments.push(extra)
  const message = typeof extra === 'string' ? 'Unknown field' : typeof v.message === 'string' ? v.message : 'is invalid'
  return { field: segments.length === 0 ? where : segments.join('.'), message }
}
