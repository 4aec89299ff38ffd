// OTLP export of spans, against receivers this test starts: the plain OTLP/HTTP JSON receiver of
// @civic-desk/tracing/testing; a port nothing listens on; a receiver that never answers.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { caseStreamId } from '@civic-desk/case-feed'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { freePort } from '@civic-desk/service-kit/testing'
import { waitFor } from '@civic-desk/messaging/testing'
import { startTracing } from '@civic-desk/tracing'
import { startOtlpReceiver } from '@civic-desk/tracing/testing'
import { buildIntakeApp } from './app.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const logger = createLogger({ level: 'silent', name: 'intake' })
const TRACE = '5b8efff798038103d269b633813fc60c'
const PARENT = 'eee19b7ec3c1b174'

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function intake(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'civic-intake-otlp-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const app = await buildIntakeApp({ store, catalogue, access, logger, trackingKey: Buffer.alloc(32, 7), now: () => new Date('2026-11-20T09:15:00.000Z') })
  t.teardown(async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  let n = 0
  const submit = (headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/requests',
      headers: { authorization: 'Bearer dev-channel', ...headers },
      payload: {
        channel: 'call-center',
        externalId: `otlp-${process.pid}-${n++}`,
        kind: 'complaint',
        category: 'yol-cukur',
        description: 'Sokakta büyük bir çukur var, araçlar zarar görüyor.',
        location: { neighbourhood: 'Kazımdirik', lat: 38.4682, lon: 27.2097 },
        citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
      },
    })
  return { store, submit }
}

t.test("a request's spans arrive at the OTLP receiver with the caller's trace and parent", async (t) => {
  const receiver = await startOtlpReceiver()
  t.teardown(() => receiver.close())
  const tracing = await startTracing({ enabled: true, serviceName: 'intake', otlpEndpoint: `${receiver.url}/` })
  t.equal(tracing.exportUrl, `${receiver.url}/v1/traces`)
  const env = await intake(t)

  const res = await env.submit({ traceparent: `00-${TRACE}-${PARENT}-01` })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-trace-id'], TRACE)
  const fresh = await env.submit()
  t.equal(fresh.statusCode, 201)
  // Flushes the batch processor (the queue leaves before the stop).
  await tracing.shutdown()

  t.match(receiver.requests[0], /^POST \/v1\/traces application\/json/)
  const server = receiver.spans.find((s) => s.traceId === TRACE)
  t.ok(server, 'the span of the request arrived')
  t.match(server, { service: 'intake', name: 'POST /v1/requests', kind: 2, parentSpanId: PARENT, attributes: { 'http.route': '/v1/requests', 'http.response.status_code': 201, 'http.request.method': 'POST' } })
  const { caseId } = res.json() as { caseId: string }
  const [stored] = await env.store.readStream(caseStreamId(caseId))
  t.equal((stored?.metadata as { traceparent?: string }).traceparent, `00-${TRACE}-${server?.spanId}-01`, 'the stored event names the exported span')

  const other = receiver.spans.find((s) => s.traceId === fresh.headers['x-trace-id'])
  t.ok(other, 'a request without traceparent is exported as a trace of its own')
  t.equal(other?.parentSpanId, '', 'as its root span')
})

t.test('an unreachable or hanging OTLP endpoint never blocks or fails a request', async (t) => {
  const hung: IncomingMessage[] = []
  const hanging = createServer((req) => void hung.push(req)) // reads nothing, answers nothing
  t.teardown(() => {
    hanging.closeAllConnections()
    hanging.close()
  })
  const endpoints = { 'a port nothing listens on': `http://127.0.0.1:${await freePort()}`, 'a receiver that never answers': `http://127.0.0.1:${await listen(hanging)}` }
  // The SDK's own variable (read when the exporter is made): an export gives up after 1 s instead of 10 s.
  process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'] = '1000'
  t.teardown(() => void delete process.env['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'])
  const problems: Record<string, string[]> = {}
  for (const [what, endpoint] of Object.entries(endpoints)) {
    const reported: string[] = (problems[what] = [])
    const tracing = await startTracing({ enabled: true, serviceName: 'intake', otlpEndpoint: endpoint, onExportProblem: (message) => void reported.push(message) })
    const env = await intake(t)
    const started = performance.now()
    // Well over one batch (512 spans) so exports are attempted while requests keep coming.
    for (let i = 0; i < 600; i++) {
      const res = await env.submit({ traceparent: `00-${TRACE}-${PARENT}-01` })
      if (res.statusCode !== 201) t.fail(`${what}: request ${i} answered ${res.statusCode}`)
    }
    const elapsed = performance.now() - started
    t.ok(elapsed < 30_000, `${what}: 600 requests in ${Math.round(elapsed)} ms`)
    // A full batch went out (and failed) meanwhile: reported once, however many batches fail.
    await waitFor(() => reported.length >= 1, 20_000, `${what}: the failed export reported`)
    const stopping = performance.now()
    await tracing.shutdown()
    t.ok(performance.now() - stopping < 5000, `${what}: the stop waits a bounded time (${Math.round(performance.now() - stopping)} ms)`)
  }
  t.ok(hung.length > 0, 'the exporter did try the hanging receiver')
  for (const [what, reported] of Object.entries(problems)) t.equal(reported.length, 1, `${what}: reported once (rate-limited): ${reported.join(' / ')}`)
  t.match(problems['a port nothing listens on'], [/ECONNREFUSED/])
  t.match(problems['a receiver that never answers'], [/timed out/])
})
