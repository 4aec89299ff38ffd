// W3C trace context over HTTP, without export: a caller's traceparent is continued (response
// header, log lines, stored events' metadata), a malformed one is ignored and a new trace starts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { caseStreamId } from '@civic-desk/case-feed'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { startTracing } from '@civic-desk/tracing'
import { buildIntakeApp } from './app.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const now = () => new Date('2026-11-20T09:15:00.000Z')
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'civic-intake-tracing-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  const logger = createLogger({ level: 'info', name: 'intake', destination })
  const app = await buildIntakeApp({ store, catalogue, access, logger, trackingKey: Buffer.alloc(32, 7), now })
  t.teardown(async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { app, store, lines }
}

const body = (externalId: string) => ({
  channel: 'call-center',
  externalId,
  kind: 'complaint',
  category: 'yol-cukur',
  description: 'Sokakta büyük bir çukur var, araçlar zarar görüyor.',
  location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4', lat: 38.4682, lon: 27.2097 },
  citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
})

t.test("a caller's traceparent is continued: response, log lines, stored event", async (t) => {
  const env = await setup(t)
  const res = await env.app.inject({
    method: 'POST',
    url: '/v1/requests',
    headers: { authorization: 'Bearer dev-channel', traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=abc' },
    payload: body('trace-1'),
  })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-trace-id'], TRACE, 'the response names the trace')
  const { caseId } = res.json() as { caseId: string }
  const [stored] = await env.store.readStream(caseStreamId(caseId))
  const traceparent = (stored?.metadata as { traceparent?: string }).traceparent ?? ''
  t.match(traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`), 'the event records the trace')
  const spanId = traceparent.slice(36, 52)
  t.not(spanId, PARENT, "the event names intake's span, a child of the caller's")

  // fastify's lines (request logger, with requestId) and the service's own (its component logger).
  const requestLines = [...env.lines.filter((l) => l['requestId'] === res.headers['x-request-id']), ...env.lines.filter((l) => l['msg'] === 'case submitted')]
  t.same(requestLines.map((l) => l['msg']).sort(), ['case submitted', 'incoming request', 'request completed'])
  for (const line of requestLines) {
    t.equal(line['traceId'], TRACE, `"${String(line['msg'])}" carries the trace id`)
    t.equal(line['spanId'], spanId, `"${String(line['msg'])}" carries the span id`)
  }
  // One traceId key per line: the request logger binds it, the mixin does not add a second.
  const raw = JSON.stringify(requestLines[0])
  t.equal(raw.split('"traceId"').length, 2)
})

t.test('a wrong traceparent is ignored: 2xx, and a new trace starts', async (t) => {
  const env = await setup(t)
  const wrong = [`00-${'0'.repeat(32)}-${PARENT}-01`, `00-${TRACE.toUpperCase()}-${PARENT}-01`, `ff-${TRACE}-${PARENT}-01`, 'garbage', `00-${TRACE}-${PARENT}-01-and-more`]
  const seen = new Set<string>()
  for (const [i, traceparent] of wrong.entries()) {
    const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel', traceparent }, payload: body(`wrong-${i}`) })
    t.equal(res.statusCode, 201, `${traceparent}: accepted`)
    const traceId = String(res.headers['x-trace-id'])
    t.match(traceId, /^[0-9a-f]{32}$/)
    t.not(traceId, TRACE)
    t.not(traceId, '0'.repeat(32))
    seen.add(traceId)
    const { caseId } = res.json() as { caseId: string }
    const [stored] = await env.store.readStream(caseStreamId(caseId))
    t.equal((stored?.metadata as { traceparent?: string }).traceparent?.slice(3, 35), traceId, 'the event records the new trace')
  }
  t.equal(seen.size, wrong.length, 'each request its own new trace')
})

t.test('without a traceparent a new trace starts, and a problem response names it too', async (t) => {
  const env = await setup(t)
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: { channel: 'call-center' } })
  t.equal(res.statusCode, 400)
  t.match(res.headers['x-trace-id'], /^[0-9a-f]{32}$/)
  const rejected = env.lines.find((l) => l['msg'] === 'request rejected')
  t.equal(rejected?.['traceId'], res.headers['x-trace-id'])
})

t.test('CIVIC_TRACING=off: no trace id answered, logged or recorded, whatever the caller sends', async (t) => {
  await startTracing({ enabled: false, serviceName: 'intake' })
  t.teardown(() => startTracing({ enabled: true, serviceName: 'intake' }))
  const env = await setup(t)
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel', traceparent: `00-${TRACE}-${PARENT}-01` }, payload: body('off-1') })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['x-trace-id'], undefined)
  const { caseId } = res.json() as { caseId: string }
  const [stored] = await env.store.readStream(caseStreamId(caseId))
  t.equal((stored?.metadata as { traceparent?: string }).traceparent, undefined)
  t.ok(env.lines.length >= 3)
  t.notOk(env.lines.some((l) => 'traceId' in l || 'spanId' in l), 'no line carries trace ids')
})
