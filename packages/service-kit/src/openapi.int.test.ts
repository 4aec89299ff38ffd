// The API description every app made by createHttpApp serves: routes' zod schemas in the document
// with the security of their ACCESS_RULES row and the common problem responses; response schemas
// that never serialize (an answer the schema does not foresee still goes out as sent).
import t from 'tap'
import { z } from 'zod'
import { devAccessConfig, createAccessControl } from './auth.ts'
import type { AccessRule } from './access-rules.ts'
import { createHttpApp } from './http.ts'
import { createLogger } from './logging.ts'
import { problemResponses } from './problem.ts'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { describedRouteGaps } from './testing.ts'

const RULES: readonly AccessRule[] = [
  { method: 'GET', path: '/healthz', anonymous: 'full', roles: {}, who: 'anyone' },
  { method: 'GET', path: '/readyz', anonymous: 'status-only', roles: { operator: 'full' }, who: 'anyone' },
  { method: 'GET', path: '/*', anonymous: 'full', roles: {}, who: 'anyone' },
  { method: 'GET', path: '/openapi.json', anonymous: 'full', roles: {}, who: 'anyone' },
  { method: 'GET', path: '/docs', anonymous: 'full', roles: {}, who: 'anyone' },
  { method: 'POST', path: '/v1/things/:id', roles: { operator: 'full' }, who: 'operators' },
]

/** The value at a path of a parsed JSON document (undefined where it is not). */
function at(value: unknown, ...path: Array<string | number>): unknown {
  let v = value
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[key] : undefined
  return v
}

async function appWithRoute() {
  const access = createAccessControl(devAccessConfig(['fen-isleri']))
  const app = createHttpApp({ serviceName: 'test', logger: createLogger({ level: 'silent', name: 'openapi-test' }), access, accessRules: RULES })
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/things/:id',
    {
      onRequest: access.requireRole('operator'),
      schema: {
        tags: ['operations'],
        summary: 'Do a thing',
        params: z.object({ id: z.string().meta({ examples: ['t-1'] }) }),
        body: z.object({ text: z.string().trim() }).meta({ examples: [{ text: 'Merhaba' }] }),
        response: { 200: z.object({ id: z.string() }), ...problemResponses(409) },
      },
    },
    // More than the schema says: it must go out as sent, not be stripped or refused.
    async (request) => ({ id: request.params.id, extra: 42 }) as { id: string },
  )
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('a route is described with its schemas, examples, security and the common problem responses', async (t) => {
  const app = await appWithRoute()
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  const doc: unknown = res.json()
  t.equal(at(doc, 'openapi'), '3.1.0')
  t.equal(at(doc, 'info', 'title'), 'civic-desk API')
  t.ok(at(doc, 'components', 'securitySchemes', 'bearerAuth'), 'the bearer scheme')
  const op = at(doc, 'paths', '/v1/things/{id}', 'post')
  t.ok(op, 'the route is in the document')
  t.same(at(op, 'tags'), ['operations'])
  t.same(at(op, 'security'), [{ bearerAuth: [] }], 'a non-public route needs a token')
  t.same(at(op, 'requestBody', 'content', 'application/json', 'example'), { text: 'Merhaba' }, 'the body example survives the trim (a transform)')
  t.equal(at(op, 'parameters', 0, 'example'), 't-1')
  t.same(Object.keys(at(op, 'responses') as object).sort(), ['200', '400', '401', '403', '404', '409', '413', '415', '500', '503'])
  t.ok(at(op, 'responses', '409', 'content', 'application/problem+json', 'schema'), "the route's own 409 as a problem document")
  t.ok(at(op, 'responses', '401', 'content', 'application/problem+json', 'schema'), 'the common 401 as a problem document')
  t.same(at(doc, 'paths', '/healthz', 'get', 'security'), [], 'healthz is public')
  t.same(at(doc, 'paths', '/readyz', 'get', 'security'), [{}, { bearerAuth: [] }], 'readyz: a token is optional')
  t.notOk(Object.keys(at(doc, 'paths') as object).some((p) => p.startsWith('/docs')), "Swagger UI's own routes are not in the document")
})

t.test('response schemas never serialize: an answer beyond its schema goes out as sent', async (t) => {
  const app = await appWithRoute()
  const res = await app.inject({ method: 'POST', url: '/v1/things/t-1', headers: { authorization: 'Bearer dev-operator', 'content-type': 'application/json' }, payload: { text: ' a ' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { id: 't-1', extra: 42 })
  const refused = await app.inject({ method: 'POST', url: '/v1/things/t-1', headers: { authorization: 'Bearer dev-operator', 'content-type': 'application/json' }, payload: { text: 1 } })
  t.equal(refused.statusCode, 400, 'the request schema still validates')
})

t.test('/docs serves Swagger UI from the package', async (t) => {
  const app = await appWithRoute()
  const page = await app.inject({ url: '/docs' })
  t.equal(page.statusCode, 200)
  t.match(page.body, 'swagger-ui')
  const bundle = await app.inject({ url: '/docs/static/swagger-ui-bundle.js' })
  t.equal(bundle.statusCode, 200)
  t.ok(bundle.body.length > 100_000, 'the bundle itself, not a link to a CDN')
})

t.test('describedRouteGaps names each way a route falls short of the document', async (t) => {
  t.same(await describedRouteGaps(await appWithRoute(), RULES), [], 'a described route: no gaps')

  const access = createAccessControl(devAccessConfig([]))
  const app = createHttpApp({ serviceName: 'test', logger: createLogger({ level: 'silent', name: 'openapi-test' }), access, accessRules: RULES })
  t.teardown(() => app.close())
  // No tags, no summary, no response schema.
  app.post('/v1/things/:id', { onRequest: access.requireRole('operator') }, async () => ({}))
  const gaps = await describedRouteGaps(app, RULES)
  t.same(gaps, [
    'POST /v1/things/:id: no 2xx response with a schema',
    'POST /v1/things/:id: not tagged with a known group ()',
    'POST /v1/things/:id: no summary',
  ])

  const bare = createHttpApp({ serviceName: 'test', logger: createLogger({ level: 'silent', name: 'openapi-test' }), access })
  t.teardown(() => bare.close())
  bare.get('/v1/unruled', { schema: { tags: ['operations'], summary: 'No access row', response: { 200: z.object({ ok: z.boolean() }) } } }, async () => ({ ok: true }))
  const unruled = await describedRouteGaps(bare, [])
  t.ok(unruled.includes('GET /v1/unruled: no security requirement (no ACCESS_RULES row?)'), 'an app without access rules documents no security')
  t.ok(unruled.includes('GET /healthz: no security requirement (no ACCESS_RULES row?)'), "not even for createHttpApp's own routes")
  t.ok(unruled.every((gap) => gap.endsWith('no security requirement (no ACCESS_RULES row?)')), 'and nothing else is amiss')
})
