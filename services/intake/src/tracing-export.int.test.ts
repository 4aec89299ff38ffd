// OTLP export of spans, against receivers this test starts: a plain node:http server decoding the
// OTLP/HTTP JSON the exporter sends; a port nothing listens on; a receiver that never answers.
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
import { buildIntakeApp } from './app.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const logger = createLogger({ level: 'silent', name: 'intake' })
const TRACE = '5b8efff798038103d269b633813fc60c'
const PARENT = 'eee19b7ec3c1b174'

interface ReceivedSpan {
  readonly service: string
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly attributes: Record<string, unknown>
}

/** OTLP JSON writes ids as hex (the JS exporter) or base64 (the protobuf JSON mapping): read either. */
const hexId = (id: unknown): string => (typeof id !== 'string' || id === '' ? '' : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'))

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}

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
  const received: ReceivedSpan[] = []
  const paths: string[] = []
  const receiver = createServer((req, res) => {
    void bodyOf(req).then((text) => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`)
      const doc = JSON.parse(text) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> }
      for (const rs of doc.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
        for (const ss of rs.scopeSpans)
          for (const span of ss.spans) {
            const attributes = Object.fromEntries(((span['attributes'] ?? []) as Array<{ key: string; value: Record<string, unknown> }>).map((a) => [a.key, Object.values(a.value)[0]]))
            received.push({ service, name: String(span['name']), kind: Number(span['kind']), traceId: hexId(span['traceId']), spanId: hexId(span['spanId']), parentSpanId: hexId(span['parentSpanId']), attributes })
          }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  t.teardown(() => void receiver.close())
  const port = await listen(receiver)
  const tracing = await startTracing({ enabled: true, serviceName: 'intake', otlpEndpoint: `http://127.0.0.1:${port}/` })
  t.equal(tracing.exportUrl, `http://127.0.0.1:${port}/v1/traces`)
  const env = await intake(t)

  const res = await env.submit({ traceparent: `00-${TRACE}-${PARENT}-01` })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-trace-id'], TRACE)
  const fresh = await env.submit()
  t.equal(fresh.statusCode, 201)
  // Flushes the batch processor (the queue leaves before the stop).
  await tracing.shutdown()

  t.match(paths[0], /^POST \/v1\/traces application\/json/)
  const server = received.find((s) => s.traceId === TRACE)
  t.ok(server, 'the span of the request arrived')
  t.match(server, { service: 'intake', name: 'POST /v1/requests', kind: 2, parentSpanId: PARENT, attributes: { 'http.route': '/v1/requests', 'http.response.status_code': 201, 'http.request.method': 'POST' } })
  const { caseId } = res.json() as { caseId: string }
  const [stored] = await env.store.readStream(caseStreamId(caseId))
  t.equal((stored?.metadata as { traceparent?: string }).traceparent, `00-${TRACE}-${server?.spanId}-01`, 'the stored event names the exported span')

  const other = received.find((s) => s.traceId === fresh.headers['x-trace-id'])
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
