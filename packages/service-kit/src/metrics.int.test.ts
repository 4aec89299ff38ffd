// GET /metrics of an app made by createHttpApp: who may scrape (operators, CIVIC_METRICS_TOKEN, the
// CIVIC_METRICS_LISTEN listener without a token), counters that move with real requests, labels
// that stay bounded whatever paths come in, the append counter, and CIVIC_METRICS=off.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { createAccessControl, devAccessConfig } from './auth.ts'
import { createHttpApp } from './http.ts'
import { createLogger } from './logging.ts'
import { configureMetrics, countingAppends, listenForMetrics, processMetrics } from './metrics.ts'
import { parseMetrics } from './testing.ts'

const logger = createLogger({ level: 'silent', name: 'metrics-test' })
const access = createAccessControl(devAccessConfig(['fen-isleri']))
const METRICS_TOKEN = 'prometheus-scrape-secret-1234'
configureMetrics({ metrics: 'on', metricsToken: METRICS_TOKEN })

function app() {
  const a = createHttpApp({ logger, serviceName: 'metrics-test', access, eventStore: { kind: 'memory', target: 'memory', head: async () => 7 } })
  a.get('/v1/things/:thingId', async (request) => ({ id: (request.params as { thingId: string }).thingId }))
  a.post('/v1/things', async (_request, reply) => reply.code(201).send({ ok: true }))
  return a
}

const scrape = async (a: ReturnType<typeof app>) => {
  const res = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  if (res.statusCode !== 200) throw new Error(`scrape answered ${res.statusCode}: ${res.body}`)
  return parseMetrics(res.body)
}

t.test('who may scrape: 401 without a token, 403 for another role, 200 for operators and CIVIC_METRICS_TOKEN', async (t) => {
  const a = app()
  t.teardown(() => a.close())
  const none = await a.inject({ method: 'GET', url: '/metrics' })
  t.equal(none.statusCode, 401)
  t.match(none.headers['content-type'], /application\/problem\+json/)
  t.equal(none.json().code, 'unauthorized')
  const wrong = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer not-a-known-token-at-all' } })
  t.equal(wrong.statusCode, 401, 'an unknown token')
  const channel = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer dev-channel' } })
  t.equal(channel.statusCode, 403)
  t.match(channel.headers['content-type'], /application\/problem\+json/)
  t.same(channel.json().requiredRoles, ['operator'])
  const staff = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer dev-staff-fen-isleri' } })
  t.equal(staff.statusCode, 403)
  const operator = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer dev-operator' } })
  t.equal(operator.statusCode, 200)
  t.match(operator.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const token = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  t.equal(token.statusCode, 200)
  const parsed = parseMetrics(token.body)
  t.ok(parsed.families.has('process_cpu_user_seconds_total'), "prom-client's Node process figures")
  t.ok(parsed.families.has('nodejs_eventloop_lag_seconds'))
  t.equal(parsed.value('civic_event_store_up'), 1, 'the event store answers')
  t.ok(parsed.value('civic_http_requests_total', { route: '/metrics', status_code: '403' }) >= 2, 'the refused scrapes are counted too')
})

t.test('a real listener: the counters and the duration histogram move with each request', async (t) => {
  const a = app()
  t.teardown(() => a.close())
  await a.listen({ port: 0, host: '127.0.0.1' })
  const address = a.server.address()
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const get = async () => parseMetrics(await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text())
  const before = await get()
  const labels = { method: 'POST', route: '/v1/things', status_code: '201' }
  for (let i = 0; i < 5; i++) t.equal((await fetch(`${base}/v1/things`, { method: 'POST' })).status, 201)
  t.equal((await fetch(`${base}/v1/things/abc`)).status, 200)
  const after = await get()
  t.equal(after.value('civic_http_requests_total', labels) - before.value('civic_http_requests_total', labels), 5)
  t.equal(after.value('civic_http_request_duration_seconds_count', labels) - before.value('civic_http_request_duration_seconds_count', labels), 5)
  t.equal(after.value('civic_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }) - before.value('civic_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 5)
  t.ok(after.value('civic_http_request_duration_seconds_sum', labels) > before.value('civic_http_request_duration_seconds_sum', labels))
  t.equal(after.value('civic_http_requests_total', { route: '/v1/things/:thingId', status_code: '200' }) - before.value('civic_http_requests_total', { route: '/v1/things/:thingId', status_code: '200' }), 1)
})

t.test('labels stay bounded: odd paths, ids and query strings never become label values', async (t) => {
  const a = app()
  t.teardown(() => a.close())
  const secrets: string[] = []
  for (let i = 0; i < 150; i++) {
    const id = randomUUID()
    secrets.push(id)
    await a.inject({ method: 'GET', url: `/v1/things/${id}?phone=0532${i}` })
    await a.inject({ method: 'GET', url: `/v1/cases/${id}/nowhere/${i}` })
    await a.inject({ method: 'GET', url: `/%E0%A4%A/${id}` })
    await a.inject({ method: 'POST', url: `/v1/x${i}`, payload: { a: 1 } })
    await a.inject({ method: i % 2 === 0 ? 'PROPFIND' : 'DELETE', url: `/${id}` })
  }
  const parsed = await scrape(a)
  const http = parsed.samples.filter((s) => s.name.startsWith('civic_http_'))
  const routes = new Set(http.map((s) => s.labels['route']))
  const methods = new Set(http.map((s) => s.labels['method']))
  const series = new Set(parsed.samples.filter((s) => s.name === 'civic_http_requests_total').map((s) => JSON.stringify(s.labels)))
  t.ok([...routes].every((r) => r === 'unmatched' || r === '/v1/things/:thingId' || r === '/v1/things' || r === '/metrics'), `routes: ${[...routes].join(', ')}`)
  t.ok(methods.size <= 8, `methods: ${[...methods].join(', ')}`)
  t.ok(series.size <= 12, `${series.size} series of civic_http_requests_total after 750 requests`)
  const text = parsed.samples.map((s) => JSON.stringify(s.labels)).join('\n')
  t.notOk(secrets.some((id) => text.includes(id)), 'no id from a path is a label value')
  t.notOk(text.includes('0532'), 'no query string either')
})

t.test('CIVIC_METRICS_LISTEN: a second listener serves GET /metrics without a token, nothing else', async (t) => {
  const a = app()
  t.teardown(() => a.close())
  await a.inject({ method: 'POST', url: '/v1/things' })
  const listener = await listenForMetrics({ metrics: 'on', metricsListen: '127.0.0.1:0' }, logger)
  if (listener === null) throw new Error('no listener')
  t.teardown(() => listener.close())
  const base = `http://127.0.0.1:${listener.address.port}`
  const res = await fetch(`${base}/metrics`)
  t.equal(res.status, 200)
  const parsed = parseMetrics(await res.text())
  t.ok(parsed.value('civic_http_requests_total', { route: '/v1/things', status_code: '201' }) >= 1, "the process's figures")
  t.equal((await fetch(`${base}/v1/things`)).status, 404)
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404)
  t.equal(await listenForMetrics({ metrics: 'on' }, logger), null, 'none without CIVIC_METRICS_LISTEN')
})

t.test('every append is counted by event type through the one wrapper', async (t) => {
  const store = countingAppends(createMemoryEventStore())
  t.teardown(() => store.close())
  const metrics = processMetrics()
  if (metrics === undefined) throw new Error('metrics are on')
  const count = async (type: string) => (await metrics.eventsAppended.get()).values.find((v) => v.labels.type === type)?.value ?? 0
  const before = await count('MetricsTestHappened')
  const event = () => ({ id: randomUUID(), type: 'MetricsTestHappened', data: {}, metadata: {} })
  await store.append('metrics-test-1', [event(), event()], { expectedRevision: 'no_stream' })
  await store.append('metrics-test-1', [event()], { expectedRevision: 1 })
  t.equal((await count('MetricsTestHappened')) - before, 3)
  await t.rejects(store.append('metrics-test-1', [event()], { expectedRevision: 0 }), { name: 'ConcurrencyError' })
  t.equal((await count('MetricsTestHappened')) - before, 3, 'a refused append counts nothing')
  t.equal(await store.headPosition(), 3, 'the wrapped store is the store')
})

t.test('CIVIC_METRICS=off: no instrumentation and no /metrics', async (t) => {
  configureMetrics({ metrics: 'off' })
  t.teardown(() => configureMetrics({ metrics: 'on', metricsToken: METRICS_TOKEN }))
  t.equal(processMetrics(), undefined)
  const a = app()
  t.teardown(() => a.close())
  const res = await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer dev-operator' } })
  t.equal(res.statusCode, 404)
  t.match(res.headers['content-type'], /application\/problem\+json/)
  const store = createMemoryEventStore()
  t.equal(countingAppends(store), store, 'the store is not wrapped')
  t.equal(await listenForMetrics({ metrics: 'off', metricsListen: '127.0.0.1:0' }, logger), null)
})
