// JSON bodies over a real socket: the bytes arrive as sent, so an invalid UTF-8 sequence reaches the
// parser as it would from any client.
import { request } from 'node:http'
import t, { type Test } from 'tap'
import { createHttpApp } from './http.ts'
import { capturingLogger } from './testing.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

/** An app listening on a free port whose POST /echo returns the parsed body; `seen` counts the handler's calls. */
async function listening(t: Test): Promise<{ port: number; seen: () => number }> {
  const { logger } = capturingLogger()
  const app = createHttpApp({ logger, serviceName: 'json-body-test' })
  let calls = 0
  app.post('/echo', async (req) => {
    calls++
    return { body: req.body }
  })
  t.teardown(() => app.close())
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { port: Number(new URL(address).port), seen: () => calls }
}

function post(port: number, body: Buffer, contentType = 'application/json'): Promise<{ status: number; type: string | undefined; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers: { 'content-type': contentType, 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const json = (text: string) => Buffer.from(text, 'utf8')
const withBytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))

t.test('a body that is not UTF-8 is refused with 400 and never reaches the handler', async (t) => {
  const { port, seen } = await listening(t)
  const invalid = [
    ['a lone continuation byte', withBytes('{"text":"', [0x80], '"}')],
    ['a truncated sequence', withBytes('{"text":"', [0xc3], '"}')],
    ['Latin-5 (ISO-8859-9) bytes for "ş"', withBytes('{"text":"Ay', [0xfe], 'e"}')],
    ['an encoded surrogate', withBytes('{"text":"', [0xed, 0xa0, 0x80], '"}')],
    ['an overlong "/"', withBytes('{"text":"', [0xc0, 0xaf], '"}')],
  ] as const
  for (const [name, body] of invalid) {
    const res = await post(port, body)
    t.equal(res.status, 400, name)
    t.equal(res.type, PROBLEM, name)
    t.match(res.json, { status: 400, code: 'validation_failed', detail: /not valid UTF-8/, errors: [{ field: 'body', message: 'is not valid UTF-8' }] }, name)
  }
  t.equal(seen(), 0, 'the handler never ran')
})

t.test('UTF-8 bodies parse as before: Turkish text, a BOM-less body, the charset parameter', async (t) => {
  const { port, seen } = await listening(t)
  const turkish = await post(port, json('{"text":"Şehit Öğretmen Sokağı’nda ÇUKUR 👍"}'), 'application/json; charset=utf-8')
  t.equal(turkish.status, 200)
  t.same(turkish.json, { body: { text: 'Şehit Öğretmen Sokağı’nda ÇUKUR 👍' } })
  t.equal(seen(), 1)
})

t.test('fastify’s own checks still apply: empty and malformed bodies, prototype poisoning', async (t) => {
  const { port, seen } = await listening(t)
  t.match((await post(port, Buffer.alloc(0))).json, { status: 400, code: 'malformed_json', errors: [{ field: 'body', message: 'is empty' }] })
  t.match((await post(port, json('{"text": '))).json, { status: 400, code: 'malformed_json' })
  const poisoned = await post(port, json('{"__proto__":{"admin":true}}'))
  t.equal(poisoned.status, 400, '__proto__ is refused')
  const constructor = await post(port, json('{"constructor":{"prototype":{"admin":true}}}'))
  t.equal(constructor.status, 400, 'constructor.prototype is refused')
  t.equal(seen(), 0)
})
