// Prometheus metrics of the running product: standalone started as a real process (`pnpm start`'s
// entry), requests submitted over HTTP, and its GET /metrics read before and after — the counters
// of both threads move (routing and notification run in the consumer thread, whose figures the
// HTTP thread merges), the consumer lag equals what GET /v1/ops/streams says, the three ways to
// scrape work, and every metric the Grafana dashboard's queries use is in the scrape.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Test } from 'tap'
import { deleteRedisPrefix } from '@civic-desk/read-models'
import { redisTestUrl } from '@civic-desk/read-models/testing'
import { eventually, freePort, parseMetrics, type ParsedMetrics } from '@civic-desk/service-kit/testing'
import { startStandaloneProcess } from './standalone-process.testing.ts'

t.setTimeout(300_000)

const dashboardFile = fileURLToPath(new URL('../../../infra/grafana/dashboards/civic-desk.json', import.meta.url))
const METRICS_TOKEN = `prometheus-${randomUUID()}`

interface Product {
  readonly base: string
  readonly metricsBase: string
  readonly output: () => string
}

async function start(t: Test, env: Record<string, string>): Promise<Product> {
  const metricsPort = await freePort()
  const { base, output } = await startStandaloneProcess(t, { CIVIC_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, ...env }, { until: 'readyz', timeoutMs: 60_000 })
  return { base, metricsBase: `http://127.0.0.1:${metricsPort}`, output }
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` })

async function scrape(product: Product): Promise<ParsedMetrics> {
  const res = await fetch(`${product.base}/metrics`, { headers: auth(METRICS_TOKEN) })
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  return parseMetrics(await res.text())
}

const submission = (i: number) => ({
  channel: 'web',
  kind: 'complaint',
  category: 'yol-cukur',
  description: `Sokağımızda büyük bir çukur var, araçlar zarar görüyor (${i})`,
  citizen: { phone: '+90 532 000 00 00' },
  location: { neighbourhood: `Metrik Mahallesi ${i}` },
})

/** The metric names a PromQL expression uses (our own and prom-client's Node process figures). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:civic|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!)
}

/** The family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
function familyOf(name: string, families: ReadonlySet<string>): string | undefined {
  if (families.has(name)) return name
  const base = name.replace(/_(bucket|sum|count)$/, '')
  return families.has(base) ? base : undefined
}

t.test('standalone: counters move with real requests, both threads are in one scrape, lag matches /v1/ops/streams, the dashboard finds every metric', async (t) => {
  const redisUrl = await redisTestUrl(t)
  const redisPrefix = `civic-metrics-test-${randomUUID()}:`
  if (redisUrl !== undefined) t.teardown(() => deleteRedisPrefix(redisUrl, redisPrefix).then(() => undefined))
  const product = await start(t, {
    CIVIC_METRICS_TOKEN: METRICS_TOKEN,
    CIVIC_SLA_TICK_MS: '100',
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, CIVIC_REDIS_PREFIX: redisPrefix }),
  })
  const before = await scrape(product)

  const codes: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${product.base}/v1/requests`, { method: 'POST', headers: { ...auth('dev-channel'), 'content-type': 'application/json' }, body: JSON.stringify(submission(i)) })
    t.equal(res.status, 201, `request ${i} stored`)
    codes.push(((await res.json()) as { trackingCode: string }).trackingCode)
  }
  const invalid = await fetch(`${product.base}/v1/requests`, { method: 'POST', headers: { ...auth('dev-channel'), 'content-type': 'application/json' }, body: JSON.stringify({ ...submission(9), kind: 'wish' }) })
  t.equal(invalid.status, 400, 'an invalid request is refused')
  const wrongRole = await fetch(`${product.base}/v1/requests`, { method: 'POST', headers: { ...auth('dev-auditor'), 'content-type': 'application/json' }, body: JSON.stringify(submission(10)) })
  t.equal(wrongRole.status, 403)

  // Routing (in the consumer thread) routes each of them, and the HTTP thread's projections follow
  // (the dashboard projector, the queues behind the open-case figures); the scrape shows it once they have.
  const after = await eventually(
    () => scrape(product),
    (m) =>
      m.value('civic_events_appended_total', { type: 'CaseRouted' }) - before.value('civic_events_appended_total', { type: 'CaseRouted' }) >= 3 &&
      m.value('civic_consumer_handler_duration_seconds_count', { group: 'dashboard' }) - before.value('civic_consumer_handler_duration_seconds_count', { group: 'dashboard' }) >= 3 &&
      m.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'on-track' }) >= 3,
    'the three cases to be routed and projected',
  )
  const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels)

  t.equal(delta('civic_submissions_accepted_total', { channel: 'web', via: 'http' }), 3, 'accepted, by channel')
  t.equal(delta('civic_submissions_refused_total', { channel: 'web', via: 'http', reason: 'validation_failed' }), 1, 'refused, by channel and reason')
  t.equal(delta('civic_submissions_refused_total', { via: 'http', reason: 'forbidden' }), 1, 'a caller without the role is a refusal too')
  t.equal(delta('civic_http_requests_total', { method: 'POST', route: '/v1/requests', status_code: '201' }), 3)
  t.equal(delta('civic_http_request_duration_seconds_count', { method: 'POST', route: '/v1/requests', status_code: '201' }), 3)
  t.equal(delta('civic_events_appended_total', { type: 'CaseSubmitted' }), 3, 'appended by the HTTP thread')
  t.equal(delta('civic_events_appended_total', { type: 'CaseRouted' }), 3, "appended by the consumer thread: its figures are merged in")
  t.equal(delta('civic_flow_submitted_to_routed_seconds_count'), 3, 'the flow latency of each routed case')
  t.ok(delta('civic_consumer_handler_duration_seconds_count', { group: 'routing' }) >= 3, "routing's handler durations (consumer thread)")
  t.ok(delta('civic_consumer_handler_duration_seconds_count', { group: 'dashboard' }) >= 3, "the dashboard projector's (HTTP thread)")
  t.ok(after.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'on-track' }) >= 3, 'open cases by directorate and SLA level')
  t.equal(after.value('civic_event_store_up'), 1)
  if (redisUrl !== undefined) t.equal(after.value('civic_redis_up'), 1, 'the read models’ Redis answers')
  t.ok(after.families.has('process_resident_memory_bytes'), 'the Node process figures')
  t.equal(after.samples.filter((s) => s.name === 'process_resident_memory_bytes').length, 1, 'once: the consumer thread does not add its own')
  const labelText = after.samples.map((s) => JSON.stringify(s.labels)).join('\n')
  t.notOk(codes.some((code) => labelText.includes(code)), 'no tracking code in a label')

  // Quiet now: the lag of every reader is what the operators' stream view says.
  await eventually(
    async () => {
      const streams = (await (await fetch(`${product.base}/v1/ops/streams`, { headers: auth('dev-operator') })).json()) as { consumers: { name: string; lag: number | null }[] }
      const metrics = await scrape(product)
      const fromStreams = Object.fromEntries(streams.consumers.map((c) => [c.name.replace(/ \(.*$/, ''), c.lag]))
      const fromMetrics = Object.fromEntries(metrics.samples.filter((s) => s.name === 'civic_consumer_lag_events').map((s) => [s.labels['group'], s.value]))
      return { fromStreams, fromMetrics }
    },
    ({ fromStreams, fromMetrics }) => Object.keys(fromStreams).length >= 5 && JSON.stringify(Object.entries(fromStreams).sort()) === JSON.stringify(Object.entries(fromMetrics).sort()),
    'civic_consumer_lag_events to equal /v1/ops/streams',
  ).then(({ fromStreams, fromMetrics }) => {
    t.same(fromMetrics, fromStreams, 'the same groups with the same lag')
    t.ok('routing' in fromMetrics && 'notification' in fromMetrics && 'dashboard' in fromMetrics, `groups: ${Object.keys(fromMetrics).join(', ')}`)
  })

  // The Grafana dashboard: every metric its queries use exists in this scrape.
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] }
  const used = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((target) => metricNames(target.expr))))
  t.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`)
  for (const name of used) {
    if (name === 'civic_redis_up' && redisUrl === undefined) continue
    t.ok(familyOf(name, after.families) !== undefined, `${name} (dashboard) is in the scrape`)
  }

  // Who may scrape, on the running product.
  t.equal((await fetch(`${product.base}/metrics`)).status, 401, 'no token')
  const forbidden = await fetch(`${product.base}/metrics`, { headers: auth('dev-staff-fen-isleri') })
  t.equal(forbidden.status, 403, 'a staff token')
  t.match(forbidden.headers.get('content-type'), /application\/problem\+json/)
  t.equal((await fetch(`${product.base}/metrics`, { headers: auth('dev-operator') })).status, 200, 'an operator token')
  const listener = await fetch(`${product.metricsBase}/metrics`)
  t.equal(listener.status, 200, 'CIVIC_METRICS_LISTEN: no token needed')
  t.ok(parseMetrics(await listener.text()).value('civic_submissions_accepted_total') >= 3, 'the same figures there')
})

t.test('standalone with CIVIC_METRICS=off: no /metrics, no listener, and requests work as ever', async (t) => {
  const product = await start(t, { CIVIC_METRICS: 'off' })
  t.equal((await fetch(`${product.base}/metrics`, { headers: auth('dev-operator') })).status, 404)
  await t.rejects(fetch(`${product.metricsBase}/metrics`), 'nothing listens on CIVIC_METRICS_LISTEN')
  const res = await fetch(`${product.base}/v1/requests`, { method: 'POST', headers: { ...auth('dev-channel'), 'content-type': 'application/json' }, body: JSON.stringify(submission(0)) })
  t.equal(res.status, 201)
})
