// Prometheus metrics of the distributed stack: each service as its own process over a real Kafka
// broker (started for this file), scraped with CIVIC_METRICS_TOKEN after a few submissions. Each
// service shows the figures of its own part of the flow, the dashboard's consumer lag (Kafka group
// lag from the broker) equals GET /v1/ops/streams, and every metric the Grafana dashboard uses is
// in the scrapes.
//
// Runs when KAFKA_BROKERS is set or CIVIC_REQUIRE_KAFKA=1 (CI), like distributed.e2e.test.ts.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { parseMetrics, type ParsedMetrics } from '@civic-desk/service-kit/testing'
import { STACK_SERVICES, createTestStack, eventually, exclusiveHeavyTest, getJson, postJson, repoRoot, startTestBroker, type StackServiceName, type TestBroker, type TestStack } from './stack.ts'

const RUN_MS = 10 * 60_000
t.setTimeout(RUN_MS)
const METRICS_TOKEN = `prometheus-${randomUUID()}`

interface StreamsView {
  readonly consumers: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly topic?: string; readonly lag: number | null }>
}

const wanted = await kafkaTestBrokers(t)
if (wanted !== undefined) {
  t.test('distributed: every service serves its own figures; the lag on /metrics is the stream view’s; the dashboard finds every metric', async (t) => {
    let broker: TestBroker | undefined
    let stack: TestStack | undefined
    t.teardown(async () => {
      await stack?.cleanup()
      broker?.destroy()
    })
    await exclusiveHeavyTest(t, 'metrics.e2e', RUN_MS)
    broker = await startTestBroker()
    stack = await createTestStack({ brokers: broker.brokers, services: STACK_SERVICES, env: { CIVIC_METRICS_TOKEN: METRICS_TOKEN, LOG_LEVEL: 'warn' } })
    const s = stack
    await s.startAll()
    t.afterEach(async (t) => {
      if (!t.passing()) t.comment(s.logs().slice(-20_000))
    })
    const scrape = async (name: StackServiceName): Promise<ParsedMetrics> => {
      const res = await fetch(s.url(name, '/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      if (res.status !== 200) throw new Error(`${name}: GET /metrics answered ${res.status}`)
      return parseMetrics(await res.text())
    }

    const runId = randomUUID().slice(0, 8)
    for (let n = 0; n < 3; n++) {
      const res = await postJson(s.url('intake', '/v1/requests'), 'dev-channel', {
        channel: 'call-center',
        externalId: `${runId}-${n}`,
        kind: 'complaint',
        category: 'yol-cukur',
        description: `${n}. Sokak’ta asfaltta derin bir çukur var (${runId}).`,
        location: { neighbourhood: `Metrik ${runId} ${n}`, lat: 38.3 + n * 0.01, lon: 27.1 },
        citizen: { phone: '+90 532 111 22 33', preferredChannel: 'sms' },
      })
      t.equal(res.status, 201)
    }

    // The flow done: routing routed, notification notified each case.
    const routing = await eventually(() => scrape('routing'), (m) => m.value('civic_events_appended_total', { type: 'CaseRouted' }) >= 3, 'routing to route the three cases', 120_000)
    const notification = await eventually(() => scrape('notification'), (m) => m.value('civic_notifications_sent_total') >= 3, 'notification to notify the three citizens', 120_000)
    const intake = await scrape('intake')
    t.equal(intake.value('civic_submissions_accepted_total', { channel: 'call-center', via: 'http' }), 3, 'intake: accepted')
    t.equal(intake.value('civic_events_appended_total', { type: 'CaseSubmitted' }), 3, 'intake: appended')
    t.equal(intake.value('civic_http_requests_total', { method: 'POST', route: '/v1/requests', status_code: '201' }), 3)
    t.equal(routing.value('civic_flow_submitted_to_routed_seconds_count'), 3, 'routing: the flow latency of each case')
    t.ok(routing.value('civic_consumer_handler_duration_seconds_count', { group: 'routing' }) >= 3, 'routing: handler durations of its Kafka group')
    t.equal(routing.value('civic_events_appended_total', { type: 'CaseSubmitted' }), 0, 'routing counts only what it appends')
    t.equal(notification.value('civic_notifications_sent_total', { channel: 'sms', provider: 'outbox' }), 3, 'notification: by channel and provider')
    const workflow = await eventually(() => scrape('department-workflow'), (m) => m.value('civic_open_cases', { directorate: 'fen-isleri' }) >= 3, 'the workflow to see the three open cases', 60_000)
    t.equal(workflow.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'on-track' }), 3, 'department-workflow: open cases by directorate and SLA level')
    const relay = await scrape('event-relay')
    t.equal(relay.value('civic_event_store_up'), 1, 'event-relay: its store answers')
    t.ok(relay.families.has('process_resident_memory_bytes'), "event-relay: the Node process's figures")

    // Quiet: the dashboard's lag figures are the stream view's, Kafka groups by topic included.
    const compared = await eventually(
      async () => {
        const view = await getJson<StreamsView>(s.url('dashboard', '/v1/ops/streams'), 'dev-operator')
        const metrics = await scrape('dashboard')
        const key = (group: string, topic: string | undefined) => `${group} ${topic ?? ''}`
        const fromStreams = Object.fromEntries(view.consumers.filter((c) => c.lag !== null).map((c) => [key(c.name.replace(/ \(.*$/, ''), c.topic), c.lag]))
        const fromMetrics = Object.fromEntries(metrics.samples.filter((x) => x.name === 'civic_consumer_lag_events').map((x) => [key(x.labels['group'] ?? '', x.labels['topic']), x.value]))
        return { fromStreams, fromMetrics, kafka: view.consumers.filter((c) => c.kind === 'kafka').length }
      },
      (v) => v.kafka >= 3 && Object.values(v.fromStreams).every((lag) => lag === 0) && JSON.stringify(Object.entries(v.fromStreams).sort()) === JSON.stringify(Object.entries(v.fromMetrics).sort()),
      'civic_consumer_lag_events to equal /v1/ops/streams with every group caught up',
      120_000,
    )
    t.same(compared.fromMetrics, compared.fromStreams, `the same readers with the same lag: ${Object.keys(compared.fromMetrics).join(', ')}`)

    // Every metric of the Grafana dashboard is served by some service of the stack (Redis aside: this
    // stack's dashboard keeps its read models in memory; standalone's test checks civic_redis_up).
    const families = new Set<string>()
    for (const name of STACK_SERVICES) for (const f of (await scrape(name)).families) families.add(f)
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'infra/grafana/dashboards/civic-desk.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] }
    const used = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((x) => [...x.expr.matchAll(/\b((?:civic|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!))))
    for (const name of used) {
      if (name === 'civic_redis_up') continue
      t.ok(families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, '')), `${name} (dashboard) is served`)
    }

    // Each process describes its own routes at /openapi.json (its route table against its document is
    // each service's app test); together they describe standalone's API, docs/openapi.json, plus
    // the relay's status page, which only the distributed relay has, and less standalone's view of
    // its log-fed groups (here the dashboard's /v1/ops/streams shows the Kafka groups).
    const committed = JSON.parse(readFileSync(join(repoRoot, 'docs/openapi.json'), 'utf8')) as { paths: Record<string, Record<string, unknown>> }
    const operations = (doc: { paths: Record<string, Record<string, unknown>> }): string[] => Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    const standalone = new Set(operations(committed))
    const described = new Set<string>()
    for (const name of STACK_SERVICES) {
      const res = await fetch(s.url(name, '/openapi.json'))
      t.equal(res.status, 200, `${name}: GET /openapi.json without a token`)
      const doc = (await res.json()) as { openapi: string; info: { description: string }; paths: Record<string, Record<string, unknown>> }
      t.equal(doc.openapi, '3.1.0', `${name}: OpenAPI 3.1`)
      t.match(doc.info.description, `\`${name}\` process`, `${name}: the document names its process`)
      const own = operations(doc)
      t.ok(own.includes('GET /metrics') && own.includes('GET /healthz'), `${name}: its /metrics and /healthz are described`)
      for (const op of own) {
        described.add(op)
        if (!standalone.has(op)) t.equal(`${name} ${op}`, 'event-relay GET /v1/relay/status', `${name}: ${op} is in standalone's document, or the relay's own page`)
      }
    }
    t.same([...standalone].filter((op) => !described.has(op)), ['GET /v1/consumers/status'], "every other operation of docs/openapi.json is in some service's document")
  })
}
