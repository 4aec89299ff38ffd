import t, { type Test } from 'tap'
import { z } from 'zod'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError, parseWith, type RequestPart } from './errors.ts'
import { createAccessControl } from './auth.ts'
import { createHttpApp, type CreateHttpAppOptions } from './http.ts'
import { capturingLogger } from './testing.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const PROBLEM = 'application/problem+json; charset=utf-8'
const JSON_UTF8 = 'application/json; charset=utf-8'

function setup(t: Test, options: Partial<CreateHttpAppOptions> = {}) {
  const { logger, lines } = capturingLogger()
  const app = createHttpApp({ logger, serviceName: 'intake', ...options })
  t.teardown(() => app.close())
  return { app, lines }
}

t.test('GET /healthz answers 200 with the service name', async (t) => {
  const { app } = setup(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], JSON_UTF8)
  t.same(res.json(), { status: 'ok', service: 'intake' })
})

t.test('GET /readyz follows the readiness check', async (t) => {
  const { app } = setup(t)
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready', service: 'intake' }, 'ready without a check')

  let state: { ready: boolean; details?: Record<string, unknown> } = { ready: true, details: { eventStoreHead: 42 } }
  const checked = setup(t, { readiness: async () => state }).app
  const ready = await checked.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', service: 'intake', details: { eventStoreHead: 42 } })

  state = { ready: false, details: { eventStore: 'opening' } }
  const notReady = await checked.inject({ method: 'GET', url: '/readyz', headers: { 'x-request-id': 'probe-1' } })
  t.equal(notReady.statusCode, 503)
  t.equal(notReady.headers['content-type'], PROBLEM)
  t.equal(notReady.headers['retry-after'], '5')
  t.same(notReady.json(), {
    type: 'https://civic-desk.dev/problems/not_ready',
    title: 'Service not ready',
    status: 503,
    detail: 'intake is not ready to serve requests yet.',
    instance: '/readyz',
    code: 'not_ready',
    requestId: 'probe-1',
    service: 'intake',
    details: { eventStore: 'opening' },
  })
})

t.test('GET /readyz names the event store in use and its head; a store that does not answer means not ready', async (t) => {
  let head: () => Promise<number> = async () => 1234
  const { app } = setup(t, {
    readiness: async () => ({ ready: true, details: { projectionPosition: 1200 } }),
    eventStore: { kind: 'postgres', target: 'postgres://civic@db.internal:5432/civic (schema civic)', head: () => head() },
  })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), {
    status: 'ready',
    service: 'intake',
    details: { projectionPosition: 1200, eventStore: { kind: 'postgres', target: 'postgres://civic@db.internal:5432/civic (schema civic)', head: 1234 } },
  })
  head = async () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432'))
  const down = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(down.statusCode, 503)
  t.same(down.json().details, { projectionPosition: 1200, eventStore: { kind: 'postgres', target: 'postgres://civic@db.internal:5432/civic (schema civic)', answering: false } })
  t.notMatch(down.body, /ECONNREFUSED/, 'the driver message stays in the log')
})

t.test('GET /readyz checks the event store also without a readiness check of the service', async (t) => {
  let head: () => Promise<number> = async () => 7
  const { app } = setup(t, { eventStore: { kind: 'postgres', target: 'postgres://civic@db.internal:5432/civic (schema civic)', head: () => head() } })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', service: 'intake', details: { eventStore: { kind: 'postgres', target: 'postgres://civic@db.internal:5432/civic (schema civic)', head: 7 } } })
  head = async () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432'))
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'not ready while the store does not answer')
})

t.test('a readiness check that throws means not ready, and its message stays in the log', async (t) => {
  const { app, lines } = setup(t, { readiness: async () => Promise.reject(new Error('sqlite: database is locked')) })
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.notMatch(res.body, /locked/)
  t.ok(lines.some((l) => l['msg'] === 'readiness check failed' && (l['err'] as { message: string }).message === 'sqlite: database is locked'))
})

t.test('request ids: a sane incoming x-request-id is kept, echoed and logged; others are replaced by a UUID', async (t) => {
  const { app, lines } = setup(t)
  app.get('/who', async (request) => ({ requestId: request.id }))

  const kept = await app.inject({ method: 'GET', url: '/who', headers: { 'x-request-id': 'alo153-call-7781' } })
  t.equal(kept.headers['x-request-id'], 'alo153-call-7781')
  t.same(kept.json(), { requestId: 'alo153-call-7781' })
  t.ok(lines.some((l) => l['requestId'] === 'alo153-call-7781' && l['msg'] === 'request completed'), 'fastify logs with the id')

  for (const bad of ['x'.repeat(129), 'has spaces in it', '<script>', '']) {
    const res = await app.inject({ method: 'GET', url: '/who', headers: { 'x-request-id': bad } })
    t.match(res.headers['x-request-id'], UUID, `replaced: ${JSON.stringify(bad.slice(0, 20))}`)
    t.equal(res.json().requestId, res.headers['x-request-id'])
  }
  const generated = await app.inject({ method: 'GET', url: '/who' })
  t.match(generated.headers['x-request-id'], UUID)
  const maxLength = 'a'.repeat(128)
  t.equal((await app.inject({ method: 'GET', url: '/who', headers: { 'x-request-id': maxLength } })).headers['x-request-id'], maxLength)
})

t.test('an unknown route is a 404 problem', async (t) => {
  const { app } = setup(t)
  const res = await app.inject({ method: 'GET', url: '/v1/nothing-here?phone=05321112233', headers: { 'x-request-id': 'r-404' } })
  t.equal(res.statusCode, 404)
  t.equal(res.headers['content-type'], PROBLEM)
  t.equal(res.headers['x-request-id'], 'r-404')
  t.same(res.json(), {
    type: 'https://civic-desk.dev/problems/not_found',
    title: 'Not found',
    status: 404,
    detail: 'There is no route for GET /v1/nothing-here.',
    instance: '/v1/nothing-here',
    code: 'not_found',
    requestId: 'r-404',
  })
})

function withEchoRoute(t: Test, options: Partial<CreateHttpAppOptions> = {}) {
  const env = setup(t, options)
  const Body = z.strictObject({ description: z.string().min(1), location: z.strictObject({ lat: z.number().max(90), lon: z.number() }).optional() })
  env.app.post('/echo', async (request) => parseWith(Body, request.body, 'body'))
  return env
}

t.test('malformed JSON → 400 malformed_json naming the body', async (t) => {
  const { app } = withEchoRoute(t)
  for (const payload of ['{"description": "çukur", ', '']) {
    const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], PROBLEM)
    t.match(res.json(), {
      type: 'https://civic-desk.dev/problems/malformed_json',
      title: 'Malformed JSON',
      status: 400,
      code: 'malformed_json',
      instance: '/echo',
      errors: [{ field: 'body' }],
    })
  }
})

t.test('prototype poisoning is refused as malformed JSON', async (t) => {
  const { app } = withEchoRoute(t)
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"description":"x","__proto__":{"admin":true}}' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'malformed_json')
})

t.test('a body over the limit → 413', async (t) => {
  const { app } = withEchoRoute(t, { bodyLimit: 1024 })
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ description: 'ç'.repeat(600) }) })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['content-type'], PROBLEM)
  t.match(res.json(), { status: 413, code: 'payload_too_large', type: 'https://civic-desk.dev/problems/payload_too_large' })
  const fits = await app.inject({ method: 'POST', url: '/echo', payload: { description: 'ç'.repeat(400) } })
  t.equal(fits.statusCode, 200, '800 bytes of Turkish text fit in 1 KiB')
})

t.test('the default body limit is 64 KiB', async (t) => {
  const { app } = withEchoRoute(t)
  const over = await app.inject({ method: 'POST', url: '/echo', payload: { description: 'x'.repeat(65 * 1024) } })
  t.equal(over.statusCode, 413)
  const under = await app.inject({ method: 'POST', url: '/echo', payload: { description: 'x'.repeat(63 * 1024) } })
  t.equal(under.statusCode, 200)
})

t.test('a content type the route cannot read → 415', async (t) => {
  const { app } = withEchoRoute(t)
  const res = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/xml' }, payload: '<talep/>' })
  t.equal(res.statusCode, 415)
  t.equal(res.headers['content-type'], PROBLEM)
  t.match(res.json(), { status: 415, code: 'unsupported_media_type', title: 'Unsupported media type' })
})

t.test('zod validation errors → 400 listing every field', async (t) => {
  const { app } = withEchoRoute(t)
  const res = await app.inject({ method: 'POST', url: '/echo', payload: { description: '', location: { lat: 123, lon: 27 }, priority: 'high' } })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM)
  const body = res.json()
  t.match(body, { type: 'https://civic-desk.dev/problems/validation_failed', title: 'Request validation failed', status: 400, code: 'validation_failed' })
  t.same(body.errors.map((e: { field: string }) => e.field).sort(), ['description', 'location.lat', 'priority'])
})

t.test('zod route schemas: the type provider validates, and a failure is the problem parseWith would throw', async (t) => {
  const { app } = setup(t)
  const Params = z.strictObject({ caseId: z.uuid({ error: 'must be a case id (a UUID)' }) })
  const Query = z.strictObject({ limit: z.coerce.number().int().min(1).max(50).optional() })
  const Headers = z.looseObject({ 'x-channel': z.enum(['web', 'phone']) })
  const Body = z.strictObject({
    description: z.string().trim().min(1, { error: 'must not be empty' }),
    location: z.strictObject({ lat: z.number().max(90), lon: z.number() }).optional(),
    tags: z.array(z.string().min(1)).optional(),
  })
  app.withTypeProvider<ZodTypeProvider>().post(
    '/cases/:caseId',
    { schema: { params: Params, querystring: Query, headers: Headers, body: Body } },
    // The parsed values, typed by the provider: coerced, trimmed, unknown headers kept.
    async (request) => ({ caseId: request.params.caseId, limit: request.query.limit ?? null, channel: request.headers['x-channel'], description: request.body.description }),
  )
  const caseId = '0b6c2a4e-9a53-4c1e-8d0f-3f1f2b7c9e11'
  const headers = { 'x-channel': 'web' }

  const ok = await app.inject({ method: 'POST', url: `/cases/${caseId}?limit=5`, headers, payload: { description: '  çukur ' } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { caseId, limit: 5, channel: 'web', description: 'çukur' })

  const expected = (schema: z.ZodType, value: unknown, where: RequestPart) => {
    try {
      parseWith(schema, value, where)
    } catch (error) {
      if (error instanceof ValidationError) return { detail: error.detail, errors: error.errors }
    }
    throw new Error('expected a ValidationError')
  }
  const cases: ReadonlyArray<{ name: string; url: string; headers?: Record<string, string>; payload?: unknown; schema: z.ZodType; value: unknown; where: RequestPart; fields: string[] }> = [
    { name: 'params', url: '/cases/not-a-uuid', payload: { description: 'x' }, schema: Params, value: { caseId: 'not-a-uuid' }, where: 'params', fields: ['caseId'] },
    {
      name: 'body: dotted paths, array indices, unknown keys',
      url: `/cases/${caseId}`,
      payload: { description: ' ', location: { lat: 123, lon: 27, alt: 5 }, tags: ['ok', ''], priority: 'high' },
      schema: Body,
      value: { description: ' ', location: { lat: 123, lon: 27, alt: 5 }, tags: ['ok', ''], priority: 'high' },
      where: 'body',
      fields: ['description', 'location.lat', 'location.alt', 'tags.1', 'priority'],
    },
    { name: 'body: the whole body', url: `/cases/${caseId}`, payload: [1, 2], schema: Body, value: [1, 2], where: 'body', fields: ['body'] },
    { name: 'querystring', url: `/cases/${caseId}?limit=0&page=2`, payload: { description: 'x' }, schema: Query, value: { limit: '0', page: '2' }, where: 'query', fields: ['limit', 'page'] },
    { name: 'headers', url: `/cases/${caseId}`, headers: { 'x-channel': 'pigeon' }, payload: { description: 'x' }, schema: Headers, value: { 'x-channel': 'pigeon' }, where: 'headers', fields: ['x-channel'] },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: c.url, headers: c.headers ?? headers, payload: c.payload as object })
    t.equal(res.statusCode, 400, c.name)
    t.equal(res.headers['content-type'], PROBLEM, c.name)
    const want = expected(c.schema, c.value, c.where)
    t.same(want.errors.map((e) => e.field), c.fields, `${c.name}: the fields parseWith names`)
    t.same(res.json(), {
      type: 'https://civic-desk.dev/problems/validation_failed',
      title: 'Request validation failed',
      status: 400,
      detail: want.detail,
      instance: c.url.split('?')[0],
      code: 'validation_failed',
      requestId: res.headers['x-request-id'],
      errors: want.errors,
    }, c.name)
  }
})

t.test('fastify (ajv) schema errors → 400 validation_failed with fields', async (t) => {
  const { app } = setup(t)
  app.post(
    '/schema/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: { type: 'object', required: ['kind'], properties: { kind: { type: 'string', enum: ['request', 'complaint'] }, location: { type: 'object', properties: { lat: { type: 'number' } } } } },
      },
    },
    async () => ({ ok: true }),
  )
  const body = await app.inject({ method: 'POST', url: '/schema/1', payload: { location: { lat: 'north' } } })
  t.equal(body.statusCode, 400)
  t.equal(body.headers['content-type'], PROBLEM)
  t.match(body.json(), { code: 'validation_failed', status: 400, detail: /^Invalid body: / })
  t.ok(body.json().errors.some((e: { field: string }) => e.field === 'kind' || e.field === 'location.lat'), JSON.stringify(body.json().errors))
  const params = await app.inject({ method: 'POST', url: '/schema/abc', payload: { kind: 'request' } })
  t.equal(params.statusCode, 400)
  t.match(params.json(), { code: 'validation_failed', errors: [{ field: 'id' }] })
})

t.test('typed errors map to their problems', async (t) => {
  const { app } = setup(t)
  app.get('/missing', async () => {
    throw new NotFoundError('No application with tracking code 7K3M-QX9P-ABC.')
  })
  app.put('/stale', async () => {
    throw new PreconditionFailedError('The case has changed since you read it.', { extensions: { currentRevision: 7 } })
  })
  app.post('/dup', async () => {
    throw new ConflictError('Already submitted.')
  })
  app.post('/bad', async () => {
    throw new ValidationError('Unknown category.', [{ field: 'category', message: 'not in the catalogue' }])
  })
  const missing = await app.inject({ method: 'GET', url: '/missing', headers: { 'x-request-id': 'r1' } })
  t.equal(missing.statusCode, 404)
  t.equal(missing.headers['content-type'], PROBLEM)
  t.same(missing.json(), {
    type: 'https://civic-desk.dev/problems/not_found',
    title: 'Not found',
    status: 404,
    detail: 'No application with tracking code 7K3M-QX9P-ABC.',
    instance: '/missing',
    code: 'not_found',
    requestId: 'r1',
  })
  const stale = await app.inject({ method: 'PUT', url: '/stale' })
  t.equal(stale.statusCode, 412)
  t.match(stale.json(), { code: 'precondition_failed', currentRevision: 7 })
  const dup = await app.inject({ method: 'POST', url: '/dup' })
  t.equal(dup.statusCode, 409)
  t.match(dup.json(), { code: 'conflict', title: 'Conflict', detail: 'Already submitted.' })
  const bad = await app.inject({ method: 'POST', url: '/bad' })
  t.equal(bad.statusCode, 400)
  t.same(bad.json().errors, [{ field: 'category', message: 'not in the catalogue' }])
})

t.test('any other error → 500 with a generic detail; the message and stack stay in the log', async (t) => {
  const { app, lines } = setup(t)
  app.get('/boom', async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2')
  })
  app.get('/throws-string', async () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw 'raw string thrown'
  })
  app.get('/library-429', async () => {
    throw Object.assign(new Error('internal quota table q_77 exhausted'), { statusCode: 429 })
  })
  const res = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'r-500' } })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['content-type'], PROBLEM)
  t.same(res.json(), {
    type: 'https://civic-desk.dev/problems/internal_error',
    title: 'Internal server error',
    status: 500,
    detail: 'Something went wrong on our side. Please try again later; quote the request id if you report it.',
    instance: '/boom',
    code: 'internal_error',
    requestId: 'r-500',
  })
  t.notMatch(res.body, /ECONNREFUSED|hunter2|at |\.ts/, 'nothing of the error leaks')
  const logged = lines.find((l) => l['msg'] === 'request failed')
  t.equal(logged?.['requestId'], 'r-500')
  t.match(logged?.['err'], { message: /ECONNREFUSED/, stack: /Error: connect ECONNREFUSED/ })

  const str = await app.inject({ method: 'GET', url: '/throws-string' })
  t.equal(str.statusCode, 500)
  t.notMatch(str.body, /raw string/)

  const lib = await app.inject({ method: 'GET', url: '/library-429' })
  t.equal(lib.statusCode, 429)
  t.match(lib.json(), { code: 'too_many_requests', title: 'Too Many Requests', detail: 'Too Many Requests.' })
  t.notMatch(lib.body, /q_77/)
})

t.test('a malformed URL is a 400 problem too', async (t) => {
  const { app } = setup(t)
  app.get('/cases/:id', async () => ({}))
  const res = await app.inject({ method: 'GET', url: '/cases/%E0%A4%A' })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], PROBLEM)
  t.match(res.json(), { code: 'bad_request', status: 400, requestId: /./ })
  t.equal(res.headers['x-request-id'], res.json().requestId)
})

t.test('Turkish text comes back as UTF-8 JSON', async (t) => {
  const { app } = setup(t)
  const text = 'Şehit Öğretmen Sokağı’nda ÇUKUR var; İğdır, ığ, ü, ö, ç, ş'
  app.post('/echo-text', async (request) => ({ text: (request.body as { text: string }).text }))
  const res = await app.inject({ method: 'POST', url: '/echo-text', payload: { text } })
  t.equal(res.headers['content-type'], JSON_UTF8)
  t.equal(res.json().text, text)
  t.equal(res.rawPayload.toString('utf8'), JSON.stringify({ text }))
})

t.test('requireRole without access control fails at route definition, not at request time', async (t) => {
  const { app } = setup(t)
  t.throws(() => app.requireRole('staff'), { message: /created without `access`/ })
})

t.test('requests arriving while the app is closing get a 503 problem', async (t) => {
  const { app } = setup(t)
  // A service's own slow preClose hook (e.g. draining a consumer) keeps the port open a while:
  // that is the window in which a load balancer may still send traffic.
  let releaseDrain = () => {}
  let draining = () => {}
  const drainStarted = new Promise<void>((resolve) => {
    draining = resolve
  })
  app.addHook('preClose', async () => {
    draining()
    await new Promise<void>((resolve) => {
      releaseDrain = resolve
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  const before = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(before.status, 200)
  await before.text()

  const closed = app.close()
  await drainStarted
  const during = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { 'x-request-id': 'late-1' } })
  t.equal(during.status, 503)
  t.equal(during.headers.get('content-type'), PROBLEM)
  t.equal(during.headers.get('connection'), 'close')
  t.match(await during.json(), { code: 'service_unavailable', status: 503, requestId: 'late-1', instance: '/healthz' })
  releaseDrain()
  await closed
})

t.test('/readyz shows its internal positions to operators only; a probe without a token gets the status', async (t) => {
  const access = createAccessControl({
    tokens: [
      { id: 'op', roles: ['operator'], token: 'operator-token' },
      { id: 'sup', roles: ['supervisor'], token: 'supervisor-token' },
    ],
  })
  let ready = true
  const { app } = setup(t, { access, readiness: async () => ({ ready, details: { eventStoreHead: 42 } }) })
  const as = (token?: string) => app.inject({ method: 'GET', url: '/readyz', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  t.same((await as()).json(), { status: 'ready', service: 'intake' }, 'anonymous: status only')
  t.same((await as('supervisor-token')).json(), { status: 'ready', service: 'intake' }, 'supervisor: status only')
  t.same((await as('not-a-token')).json(), { status: 'ready', service: 'intake' }, 'an unknown token is no error for a probe')
  t.same((await as('operator-token')).json(), { status: 'ready', service: 'intake', details: { eventStoreHead: 42 } }, 'operator: with details')
  ready = false
  const down = await as()
  t.equal(down.statusCode, 503)
  t.equal(down.json().details, undefined, 'not ready: still no details for anyone')
  t.same((await as('operator-token')).json().details, { eventStoreHead: 42 })
})
