// Protocol-level errors and slow requests over real sockets: raw bytes written with net.connect,
// short timeouts so that every case finishes in well under a second.
import { connect, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { createHttpApp, type CreateHttpAppOptions } from './http.ts'
import { createAccessControl } from './auth.ts'
import { defineConfig } from './config.ts'
import { httpConfigEntries, httpTimeouts } from './http-config.ts'
import { capturingLogger } from './testing.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

async function listening(t: Test, options: Partial<CreateHttpAppOptions> = {}) {
  const { logger, lines } = capturingLogger()
  const app = createHttpApp({ logger, serviceName: 'intake', headersTimeoutMs: 200, requestTimeoutMs: 400, access: createAccessControl({ tokens: [{ id: 'op', roles: ['operator'], token: 'operator-token' }] }), ...options })
  app.post('/v1/echo', async (request) => ({ got: request.body }))
  app.post('/v1/guarded', { onRequest: app.requireRole('operator') }, async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, port, lines }
}

interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  /** Whatever came after the first response (a second answer would show here). */
  readonly rest: string
  /** Milliseconds from the first byte written to the connection's close. */
  readonly closedAfterMs: number
}

/** Writes `parts` (pausing `gapMs` between them), reads until the server closes, parses the first response. */
async function exchange(port: number, parts: ReadonlyArray<string | Buffer>, gapMs = 0): Promise<RawResponse> {
  const socket: Socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const started = Date.now()
  const chunks: Buffer[] = []
  socket.on('data', (d: Buffer) => chunks.push(d))
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)))
  // The server may close while we still write: that is one of the behaviours under test.
  socket.on('error', () => undefined)
  for (const [i, part] of parts.entries()) {
    if (socket.destroyed) break
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
    socket.write(part)
  }
  const closedAfterMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))])
  socket.destroy()
  const raw = Buffer.concat(chunks).toString('utf8')
  const headEnd = raw.indexOf('\r\n\r\n')
  if (headEnd === -1) return { status: 0, headers: {}, body: '', rest: raw, closedAfterMs }
  const [statusLine = '', ...headerLines] = raw.slice(0, headEnd).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  const bodyBytes = Buffer.from(raw.slice(headEnd + 4), 'utf8')
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: bodyBytes.subarray(0, length).toString('utf8'),
    rest: bodyBytes.subarray(length).toString('utf8'),
    closedAfterMs,
  }
}

function problemOf(t: Test, res: RawResponse, status: number, code: string): Record<string, unknown> {
  t.equal(res.status, status, `status ${status}`)
  t.equal(res.headers['content-type'], PROBLEM, 'problem+json')
  const body = JSON.parse(res.body) as Record<string, unknown>
  t.match(body, { type: `https://civic-desk.dev/problems/${code}`, status, code, title: String, detail: String, requestId: String })
  t.equal(res.headers['x-request-id'], body['requestId'], 'the id is in the header too')
  return body
}

const head = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`

t.test('item 9: a body that dribbles in is cut off after the request timeout with a 408 problem', async (t) => {
  const { port } = await listening(t)
  const start = head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 200'])
  // One byte every 50 ms would need 10 s; the request timeout is 400 ms.
  const res = await exchange(port, [start, ...Array.from({ length: 40 }, () => ' ')], 50)
  const body = problemOf(t, res, 408, 'request_timeout')
  t.equal(body['instance'], '/v1/echo', 'names the request it cut off')
  t.equal(res.headers['connection'], 'close')
  t.ok(res.closedAfterMs > 0 && res.closedAfterMs < 2000, `connection closed after ${res.closedAfterMs} ms`)
  t.equal(res.rest, '', 'one answer only')
})

t.test('item 9: headers that dribble in are cut off after the headers timeout', async (t) => {
  const { port } = await listening(t)
  const res = await exchange(port, ['GET /healthz HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n', 'X-E: 5\r\n', 'X-F: 6\r\n'], 60)
  const body = problemOf(t, res, 408, 'request_timeout')
  t.match(body['requestId'], UUID)
  t.ok(res.closedAfterMs > 0 && res.closedAfterMs < 2000, `closed after ${res.closedAfterMs} ms`)
})

t.test('item 9: an unknown route is answered at once, without waiting for (or reading) its body', async (t) => {
  const { port } = await listening(t, { headersTimeoutMs: 2000, requestTimeoutMs: 3000 })
  const socket = connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const started = Date.now()
  const data: Buffer[] = []
  const first = new Promise<void>((resolve) => socket.on('data', (d: Buffer) => (data.push(d), resolve())))
  // 50 MB announced, none of it sent.
  socket.write(head(['POST /v1/nothing-here HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${50 * 1024 * 1024}`]))
  await first
  const elapsed = Date.now() - started
  socket.destroy()
  const text = Buffer.concat(data).toString('utf8')
  t.match(text, /^HTTP\/1\.1 404 /)
  t.match(text, /content-type: application\/problem\+json; charset=utf-8/i)
  t.match(text, /"code":"not_found"/)
  t.ok(elapsed < 1000, `answered in ${elapsed} ms, long before the 3 s request timeout`)
})

t.test('item 9: a request answered before its body (401) then left dribbling is closed at the timeout, with no second answer', async (t) => {
  const { port } = await listening(t)
  const start = head(['POST /v1/guarded HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 100'])
  const res = await exchange(port, [start, ...Array.from({ length: 30 }, () => ' ')], 50)
  problemOf(t, res, 401, 'unauthorized')
  t.equal(res.rest, '', 'no 408 after the 401')
  t.ok(res.closedAfterMs > 0 && res.closedAfterMs < 2000, `closed after ${res.closedAfterMs} ms`)
})

t.test('item 9: a request that arrives in time is not affected', async (t) => {
  const { port } = await listening(t)
  const payload = '{"a":"çukur"}'
  const res = await exchange(port, [head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`, 'Connection: close']) + payload])
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { got: { a: 'çukur' } })
})

t.test('item 11: protocol errors are RFC 9457 problems too', async (t) => {
  const { port, lines } = await listening(t)
  const cases: ReadonlyArray<{ name: string; bytes: string; status: number; code: string; detail?: RegExp }> = [
    { name: 'headers over 16 KiB', bytes: head(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]), status: 431, code: 'request_header_fields_too_large' },
    {
      name: 'two different Content-Length headers',
      bytes: head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3']) + '{}',
      status: 400,
      code: 'bad_request',
      detail: /Content-Length/i,
    },
    {
      name: 'Content-Length with Transfer-Encoding',
      bytes: head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Transfer-Encoding: chunked']) + '2\r\n{}\r\n0\r\n\r\n',
      status: 400,
      code: 'bad_request',
    },
    { name: 'a bad chunk size', bytes: head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked']) + 'zz\r\n{}\r\n0\r\n\r\n', status: 400, code: 'bad_request' },
    { name: 'an invalid header name', bytes: head(['GET /healthz HTTP/1.1', 'Host: x', 'Bad Header: 1']), status: 400, code: 'bad_request' },
    { name: 'a malformed request line', bytes: head(['GET /healthz HTTP/9.x', 'Host: x']), status: 400, code: 'bad_request' },
    { name: 'an HTTP/1.1 request without Host', bytes: head(['GET /healthz HTTP/1.1']), status: 400, code: 'bad_request', detail: /Host/ },
    { name: 'an Expect Node cannot meet', bytes: head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Expect: teapot', 'Content-Type: application/json', 'Content-Length: 2']) + '{}', status: 417, code: 'expectation_failed' },
    { name: 'CONNECT (no proxy here)', bytes: head(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443']), status: 501, code: 'not_implemented' },
  ]
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const res = await exchange(port, [c.bytes])
      const body = problemOf(t, res, c.status, c.code)
      if (c.detail !== undefined) t.match(body['detail'], c.detail)
      t.equal(res.rest, '', 'one answer only')
    })
  }
  t.notOk(
    lines.some((l) => JSON.stringify(l).includes('aaaaaaaaaa')),
    'the raw bytes of a bad request are never logged',
  )
})

t.test('item 9: the timeouts are configured from the environment, with documented defaults, and checked', async (t) => {
  const spec = defineConfig({ ...httpConfigEntries })
  t.same(httpTimeouts(spec.parse({})), { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 })
  const config = spec.parse({ CIVIC_HEADERS_TIMEOUT_MS: '150', CIVIC_REQUEST_TIMEOUT_MS: '300' })
  t.same(httpTimeouts(config), { headersTimeoutMs: 150, requestTimeoutMs: 300 })
  t.throws(() => spec.parse({ CIVIC_REQUEST_TIMEOUT_MS: 'soon' }), /CIVIC_REQUEST_TIMEOUT_MS/)
  const { logger } = capturingLogger()
  t.throws(() => createHttpApp({ logger, serviceName: 'x', headersTimeoutMs: 5000, requestTimeoutMs: 1000 }), /headersTimeoutMs \(5000\) must not exceed requestTimeoutMs \(1000\)/)

  // The configured request timeout is the one applied: a body still dribbling at 300 ms is cut off.
  const { port } = await listening(t, httpTimeouts(config))
  const start = head(['POST /v1/echo HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 100'])
  const res = await exchange(port, [start, ...Array.from({ length: 30 }, () => ' ')], 40)
  problemOf(t, res, 408, 'request_timeout')
  t.ok(res.closedAfterMs >= 280 && res.closedAfterMs < 1000, `cut off after ${res.closedAfterMs} ms`)
})
