/**
 * The API description: an OpenAPI 3.1 document generated from the routes' own zod schemas
 * (`@fastify/swagger` collecting the routes, `fastify-type-provider-zod`'s transform turning the
 * zod schemas into JSON Schema 2020-12), served at `GET /openapi.json`, and Swagger UI over it at
 * `GET /docs` (`@fastify/swagger-ui`, its files from its npm package: no CDN).
 *
 * What the routes do not say themselves is added here, the same way for every operation: the
 * security requirement from the access table (`ACCESS_RULES`), and the problem responses every
 * route can answer (400 with request schemas, 401/403 unless public, 404, 413/415 with a body, 429
 * when rate-limited, 500, 503), all as `application/problem+json` naming the one shared component
 * `Problem`. The routes' own schemas are inlined: no other `$ref` components (a schema given a zod
 * `id` would need `createJsonSchemaTransformObject` as well).
 */
import { readFileSync } from 'node:fs'
import { fastifySwagger } from '@fastify/swagger'
import { fastifySwaggerUi, type FastifySwaggerUiOptions } from '@fastify/swagger-ui'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { accessRuleFor, CONSOLE_FILES, type AccessRule } from './access-rules.ts'
import { ProblemSchema } from './problem.ts'

/** Where the document is served. */
export const OPENAPI_PATH = '/openapi.json'
/** Where Swagger UI is served (its files below it). */
export const DOCS_PREFIX = '/docs'
/** Media type of every problem response. */
const PROBLEM_MEDIA_TYPE = 'application/problem+json'

/** The groups operations are listed under (convention: every route names one in `schema.tags`). */
export const API_TAGS: ReadonlyArray<{ readonly name: string; readonly description: string }> = [
  { name: 'health', description: 'Liveness and readiness probes of every service.' },
  { name: 'intake', description: 'Channel adapters hand in citizen requests; citizens look them up by tracking code.' },
  { name: 'open311', description: 'Open311 GeoReport v2 (JSON or XML by the resource suffix): services, filing and reading requests. Errors come as the specification\'s error list.' },
  { name: 'cases', description: "Department workflow: a case's view and history, the staff's commands, the directorates' queues and the workflows." },
  { name: 'privacy', description: 'Personal data (KVKK): erasures, subjects and the destruction log.' },
  { name: 'audit', description: 'The tamper-evident audit log: signed checkpoints, proofs and case bundles.' },
  { name: 'notification', description: 'Citizen notifications: the outbox and the notifier status.' },
  { name: 'routing', description: 'Routing of new cases to directorates: status.' },
  { name: 'relay', description: 'The event relay and the consumer groups (distributed mode): status.' },
  { name: 'dashboards', description: 'Read models for the operator console: overview, neighbourhoods, directorates, cases, CSV export.' },
  { name: 'operations', description: 'For operators: streams, read models, and this API description.' },
]

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Invalid request (`validation_failed`, `malformed_json`, `bad_request`)',
  401: 'No bearer token or an unknown one (`unauthorized`)',
  403: 'The token lacks the role or the scope (`forbidden`)',
  404: 'No such resource or route (`not_found`)',
  409: 'Conflicts with what is recorded (`conflict`)',
  412: '`If-Match` does not match the current revision (`precondition_failed`)',
  413: 'The body is larger than the service accepts (`payload_too_large`)',
  415: 'The body is not `application/json` (`unsupported_media_type`)',
  429: 'Rate limit hit; `Retry-After` says when to try again (`too_many_requests`)',
  500: 'A bug or an outage; quote `requestId` (`internal_error`)',
  503: 'Shutting down or not ready (`service_unavailable`, `not_ready`)',
}

const SUCCESS_TEXT: Readonly<Record<number, string>> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' }

type JsonObject = Record<string, unknown>

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The problem schema as JSON Schema, made once. */
const problemJsonSchema = (): JsonObject => {
  const { $schema: _drop, ...schema } = z.toJSONSchema(ProblemSchema, { target: 'draft-2020-12', io: 'output' }) as JsonObject
  return schema
}

/** The product's version (the repository's package.json), named in the document's `info`. */
function productVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
  const version = (JSON.parse(text) as { version?: unknown }).version
  return typeof version === 'string' ? version : '0.0.0'
}

/** A route as registered: method and URL (`:param`s included). */
export interface RegisteredRoute {
  readonly method: string
  readonly url: string
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>()

/** Every route registered on an app made by `createHttpApp`, HEAD routes included, in order. */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return registered.get(app) ?? []
}

/**
 * zod leaves out the `examples` of a schema that transforms (trimming, normalising a phone number)
 * when it writes the input side, the examples being typed as its output; a request part's own
 * examples are what a client sends, so they are put back.
 */
function withRequestExamples(schema: JsonObject, source: unknown): JsonObject {
  if (!isObject(source)) return schema
  const result = { ...schema }
  for (const part of ['body', 'querystring', 'params', 'headers']) {
    const zodSchema = source[part]
    const json = result[part]
    if (!(zodSchema instanceof z.core.$ZodType) || !isObject(json) || json['examples'] !== undefined) continue
    const examples = z.globalRegistry.get(zodSchema)?.examples
    if (Array.isArray(examples)) result[part] = { ...json, examples }
  }
  return result
}

/** Options of `registerApiDescription`. */
export interface ApiDescriptionOptions {
  /** Named in the document's description: which service's routes it lists. */
  readonly serviceName: string
  /** The access table: each operation's security requirement comes from its row. */
  readonly accessRules?: readonly AccessRule[]
}

/**
 * Registers the document and the UI on an app made by `createHttpApp`. Call before any route is
 * added: the document lists the routes registered after it.
 */
export function registerApiDescription(app: FastifyInstance, options: ApiDescriptionOptions): void {
  const problem = problemJsonSchema()
  const problemText = JSON.stringify(problem)
  const rules = options.accessRules
  // Every route of the app, from the first: what the route-walk test holds the document to.
  const seen: RegisteredRoute[] = []
  registered.set(app, seen)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) seen.push({ method, url: route.url })
  })
  // Set up now rather than through `register` (which runs at the next plugin-loading tick):
  // createHttpApp is synchronous and services add routes right after it, and swagger sees only
  // the routes added after its onRoute hook. Not encapsulated, as `register` of this plugin is not.
  fastifySwagger(app, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'civic-desk API',
        version: productVersion(),
        description: [
          'Event-sourced case management for municipal citizen requests (Beyaz Masa / Alo 153 / 311).',
          `This document lists the routes of the \`${options.serviceName}\` process; standalone mode serves them all.`,
          'Every error is an RFC 9457 problem document (`application/problem+json`), except Open311\'s, which follow the GeoReport v2 error list.',
          'Tokens are opaque bearer tokens from the access file (`CIVIC_ACCESS_FILE`); each operation says which roles it admits.',
        ].join('\n\n'),
      },
      tags: API_TAGS.map((t) => ({ ...t })),
      components: {
        // The one shared schema: every problem response names it rather than repeating it.
        schemas: { Problem: problem },
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An opaque token of the access file (`Authorization: Bearer <token>`).' },
        },
      },
    },
    transform: (input) => {
      const method = [input.route.method].flat()[0] ?? 'GET'
      if (isHiddenRoute(method, input.route.url, rules)) return { schema: { hide: true }, url: input.url }
      const out = jsonSchemaTransform(input)
      const schema = (out.schema ?? {}) as JsonObject
      if (schema['hide'] === true) return out
      return { ...out, schema: withCommonParts(withRequestExamples(schema, input.schema), input.route, rules, problemText) }
    },
  }, (error) => {
    if (error !== undefined && error !== null) throw error
  })
  // In a plain scope of its own: the plugin's metadata would look for a registered
  // '@fastify/swagger', which is set up directly above instead.
  void app.register(async (scope, opts: FastifySwaggerUiOptions) => swaggerUiPlugin(scope, opts), {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, defaultModelsExpandDepth: 0, tryItOutEnabled: false },
    // Swagger UI's validator badge would call validator.swagger.io: nothing leaves the origin.
    validatorUrl: false,
  })
  app.get(
    OPENAPI_PATH,
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'This API description (OpenAPI 3.1)',
        description: 'The document `/docs` shows; also committed as `docs/openapi.json`.',
        response: { 200: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document') },
      },
    },
    async () => app.swagger(),
  )
}

// Typed upstream as a callback plugin; it is an async one (it never calls a callback).
const swaggerUiPlugin = fastifySwaggerUi as unknown as (scope: FastifyInstance, opts: FastifySwaggerUiOptions) => Promise<void>

/** The routes the document leaves out on purpose: the console's and Swagger UI's own files. */
export function isHiddenRoute(method: string, url: string, rules: readonly AccessRule[] | undefined): boolean {
  if (url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`)) return true
  if (rules === undefined) return false
  const rule = accessRuleFor(rules, method, url)
  return rule !== undefined && rule.path === CONSOLE_FILES && url !== CONSOLE_FILES
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' }

function withCommonParts(schema: JsonObject, route: RouteOptions, rules: readonly AccessRule[] | undefined, problemText: string): JsonObject {
  const method = [route.method].flat()[0] ?? 'GET'
  const rule = rules === undefined ? undefined : accessRuleFor(rules, method, route.url)
  const isPublic = rule !== undefined && rule.anonymous !== undefined
  const hasRequestSchema = ['params', 'querystring', 'body', 'headers'].some((k) => schema[k] !== undefined)
  const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH'
  const rateLimited = isObject(route.config) && route.config['rateLimit'] !== undefined

  const common: number[] = [404, 500, 503]
  if (hasRequestSchema || hasBody) common.push(400)
  if (!isPublic && rules !== undefined) common.push(401, 403)
  if (hasBody) common.push(413, 415)
  if (rateLimited) common.push(429)

  const response: JsonObject = { ...(isObject(schema['response']) ? schema['response'] : {}) }
  for (const [status, value] of Object.entries(response)) {
    if (!isObject(value) || value['content'] !== undefined) continue
    // A route's own problem statuses (`problemResponses`) get the problem media type too.
    if (Number(status) >= 400) {
      response[status] = { description: STATUS_TEXT[Number(status)] ?? 'Problem', content: { [PROBLEM_MEDIA_TYPE]: { schema: JSON.stringify(value) === problemText ? PROBLEM_REF : value } } }
    }
    // A success without a `.describe()` of its own is named by its status rather than "Default Response".
    else if (typeof value['description'] !== 'string') response[status] = { description: SUCCESS_TEXT[Number(status)] ?? 'Success', content: { 'application/json': { schema: value } } }
  }
  for (const status of common.sort((a, b) => a - b)) {
    if (response[String(status)] === undefined) {
      response[String(status)] = { description: STATUS_TEXT[status] ?? 'Problem', content: { [PROBLEM_MEDIA_TYPE]: { schema: PROBLEM_REF } } }
    }
  }

  const security = rule === undefined ? undefined : rule.anonymous === undefined ? [{ bearerAuth: [] }] : rule.anonymous === 'full' ? [] : [{}, { bearerAuth: [] }]
  const roles = rule === undefined ? '' : `\n\nWho: ${rule.who}.`
  const description = typeof schema['description'] === 'string' ? `${schema['description']}${roles}` : roles.trim()
  return { ...schema, response, ...(security === undefined ? {} : { security }), ...(description === '' ? {} : { description }) }
}
