// One submission's W3C trace across the distributed stack: intake, event-relay, routing,
// department-workflow and notification as separate processes over a real Kafka broker. The trace
// id the caller sent must appear in the log lines each service wrote while handling it, and in
// every event of its case; the spans every service exports to an OTLP/HTTP receiver this test runs
// form one tree across the processes. Runs when KAFKA_BROKERS is set or CIVIC_REQUIRE_KAFKA=1, like the
// other stack tests; it starts its own broker.
import t from 'tap'
import { join } from 'node:path'
import { caseIdOfStream } from '@civic-desk/case-feed'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { TOPICS, createKafkaBus } from '@civic-desk/messaging'
import { kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { exclusiveHeavyTest } from '@civic-desk/service-kit/testing'
import { startOtlpReceiver, type ReceivedSpan } from '@civic-desk/tracing/testing'
import { SERVICES, createTestStack, eventually, postJson, startTestBroker, type TestBroker, type TestStack } from './stack.ts'

const RUN_MS = 10 * 60_000
t.setTimeout(RUN_MS)
const wanted = await kafkaTestBrokers(t)
if (wanted !== undefined) {
  let broker: TestBroker | undefined
  let stack: TestStack | undefined
  t.teardown(async () => {
    await stack?.cleanup()
    broker?.destroy()
  })
  // One stack of processes with its broker at a time on this machine (see exclusiveHeavyTest).
  await exclusiveHeavyTest(t, 'tracing.e2e', RUN_MS)
  broker = await startTestBroker()
  // Every service exports its spans to this receiver (batches every 200 ms instead of 5 s).
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  stack = await createTestStack({ brokers: broker.brokers, services: SERVICES, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' } })
  const s = stack
  const b = broker
  await s.startAll()
  t.afterEach(async (t) => {
    if (!t.passing()) t.comment(s.logs().slice(-20_000))
  })

  t.test("one submission's trace id is in the logs of five services and in its events' metadata", async (t) => {
    const traceId = '0af7651916cd43dd8448eb211c80319c'
    const submitted = await postJson(
      s.url('intake', '/v1/requests'),
      'dev-channel',
      {
        channel: 'call-center',
        externalId: `trace-${traceId}`,
        kind: 'complaint',
        category: 'yol-cukur',
        description: 'İzlenen bir istek: asfaltta derin bir çukur var.',
        location: { neighbourhood: 'İz Mahallesi', lat: 38.41, lon: 27.13 },
        citizen: { name: 'Deniz Yıldız', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
      },
      { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    )
    t.equal(submitted.status, 201)
    const caseId = String(submitted.body['caseId'])

    const privacy = await openConfiguredPrivacy({}, { dataDir: s.dataDir })
    const store = sealingEventStore(openSqliteEventStore({ file: join(s.dataDir, 'events.sqlite'), pollIntervalMs: 50 }), privacy.keys, { caseIdOf: caseIdOfStream })
    t.teardown(async () => {
      await store.close()
      await privacy.close()
    })
    const events = await eventually(
      () => store.readStream(`case-${caseId}`),
      (all) => ['CaseSubmitted', 'CaseRouted', 'CitizenNotified'].every((type) => all.some((e) => e.type === type)),
      'the case is submitted, routed and the citizen notified',
      120_000,
    )
    for (const event of events) {
      t.match((event.metadata as { traceparent?: string }).traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), `${event.type} records the trace`)
    }

    const linesOf = (name: (typeof SERVICES)[number]) =>
      (s.running.get(name)?.output() ?? '')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line['traceId'] === traceId)
    // What each service writes about it (department-workflow publishes the assignment to the department).
    const expected: Record<(typeof SERVICES)[number], string> = {
      intake: 'case submitted',
      'event-relay': 'event relayed',
      routing: 'case routed',
      'department-workflow': 'assignment published',
      notification: 'citizen notified',
    }
    for (const name of SERVICES) {
      const lines = await eventually(async () => linesOf(name), (found) => found.length > 0, `${name} logs the trace id`, 30_000)
      t.ok(lines.length > 0, `${name}: ${lines.length} lines carry the trace id`)
      for (const line of lines) t.match(line['spanId'], /^[0-9a-f]{16}$/, `${name}: "${String(line['msg'])}" carries a span id`)
      if (expected[name] !== '') t.ok(lines.some((l) => String(l['msg']).includes(expected[name])), `${name}: "${expected[name]}" is among them (${lines.map((l) => l['msg']).join(' | ')})`)
      // The line that names the step names the case too, so `jq 'select(.caseId == …)'` finds it.
      for (const line of lines.filter((l) => l['msg'] === expected[name])) t.equal(line['caseId'], caseId, `${name}: "${expected[name]}" names the case`)
    }

    // The exported spans: one tree across the five processes, rooted at the caller's span.
    const callerSpan = 'b7ad6b7169203331'
    const isTree = (spans: readonly ReceivedSpan[]): boolean => {
      const ids = new Set(spans.map((span) => span.spanId))
      return spans.every((span) => span.parentSpanId === callerSpan || ids.has(span.parentSpanId))
    }
    const spans = await eventually(
      async () => receiver.spans.filter((span) => span.traceId === traceId),
      (found) => SERVICES.every((name) => found.some((span) => span.service === name)) && isTree(found),
      'spans of all five services, each parent among them',
      60_000,
    )
    t.ok(isTree(spans), `${spans.length} spans, every parent exported too`)
    const roots = spans.filter((span) => span.parentSpanId === callerSpan)
    t.same(roots.map((span) => [span.service, span.name, span.kind]), [['intake', 'POST /v1/requests', 2]], "one root: intake's server span, a child of the caller's")
    const byId = new Map(spans.map((span) => [span.spanId, span]))
    const routingConsumer = spans.find((span) => span.service === 'routing' && span.kind === 5 && byId.get(span.parentSpanId)?.service === 'event-relay')
    t.ok(routingConsumer, "routing's consumer span hangs under the relay's producer span")
    t.equal(byId.get(routingConsumer?.parentSpanId ?? '')?.kind, 4, 'a producer span')
    t.ok(
      spans.some((span) => span.service === 'department-workflow' && span.kind === 4 && span.name === `publish ${TOPICS.assignments}`),
      "department-workflow's send of the assignment is a producer span of the trace",
    )
  })

  t.test('a channel adapter\'s traceparent on civic.intake.v1 is continued into the case and its logs', async (t) => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6'
    const adapter = createKafkaBus({ brokers: b.brokers, clientId: 'e2e-traced-adapter' })
    t.teardown(() => adapter.close())
    const externalId = `wa-trace-${traceId}`
    await adapter.publish(TOPICS.intake, [
      {
        key: `whatsapp:${externalId}`,
        value: { channel: 'whatsapp', externalId, kind: 'tip', description: 'İzlenen bir mesaj: sokakta yaralı bir köpek var.', location: { neighbourhood: 'Erzene' }, citizen: { phone: '+90 533 222 33 44', preferredChannel: 'whatsapp' } },
        headers: { traceparent: `00-${traceId}-53995c3f42cd8ad8-01`, 'adapter-id': 'whatsapp-adapter' },
      },
    ])
    const line = await eventually(
      async () =>
        (s.running.get('intake')?.output() ?? '')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l['traceId'] === traceId && l['msg'] === 'case submitted'),
      (found) => found !== undefined,
      'intake logs the submission in the trace',
      60_000,
    )
    const caseId = String(line?.['caseId'])
    const privacy = await openConfiguredPrivacy({}, { dataDir: s.dataDir })
    const store = sealingEventStore(openSqliteEventStore({ file: join(s.dataDir, 'events.sqlite'), pollIntervalMs: 50 }), privacy.keys, { caseIdOf: caseIdOfStream })
    t.teardown(async () => {
      await store.close()
      await privacy.close()
    })
    const events = await eventually(() => store.readStream(`case-${caseId}`), (all) => all.some((e) => e.type === 'CaseRouted'), 'the case routed', 120_000)
    for (const event of events) t.match((event.metadata as { traceparent?: string }).traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), `${event.type} records the adapter's trace`)
  })
}
