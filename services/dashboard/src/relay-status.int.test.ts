// The relay's row of the stream view, asked over real HTTP: from a relay that answers, and from
// addresses that do not (nothing listening, a wrong token, no answer, something that is not a
// relay): those show the lag as unknown with the reason, and never throw. The real relay over
// HTTP, with a real dashboard process, is packages/e2e/src/relay-status.e2e.test.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { capturingLogger, freePort } from '@civic-desk/service-kit/testing'
import { createRelayStatusClient } from './relay-status.ts'

/** An HTTP server on a free port answering with `handle`; closed at the end of the test. */
async function standIn(t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

t.test('a relay that answers: its position and lag, asked with the token', async (t) => {
  const seen: Array<string | undefined> = []
  const url = await standIn(t, (req, res) => {
    seen.push(req.headers.authorization)
    if (req.url !== '/v1/relay/status') return json(res, 404, {})
    json(res, 200, { running: true, position: 40, head: 42, lag: 2, buffered: 0, published: 40, consecutiveFailures: 0 })
  })
  const { logger } = capturingLogger()
  const status = createRelayStatusClient({ url, token: 'ops-token', logger })
  t.same(await status(), { name: 'event-relay', kind: 'store', position: 40, lag: 2 })
  t.same(seen, ['Bearer ops-token'])
})

t.test('nothing listening: unknown, with what to check', async (t) => {
  const { logger, lines } = capturingLogger()
  const status = createRelayStatusClient({ url: `http://127.0.0.1:${await freePort()}`, logger })
  const row = await status()
  t.equal(row.lag, null)
  t.equal(row.position, undefined)
  t.match(row.problem, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/relay\/status .*CIVIC_RELAY_URL/)
  await status()
  t.equal(lines.filter((l) => l.msg === "the relay's status is unknown").length, 1, 'logged once, not at every poll')
})

t.test('a refused token: unknown, saying to set CIVIC_RELAY_TOKEN', async (t) => {
  const url = await standIn(t, (_req, res) => json(res, 401, { code: 'unauthorized' }))
  const row = await createRelayStatusClient({ url, logger: capturingLogger().logger })()
  t.equal(row.lag, null)
  t.match(row.problem, /answered 401: set CIVIC_RELAY_TOKEN/)
})

t.test('no answer in time: unknown after the timeout', async (t) => {
  const url = await standIn(t, () => undefined) // never answers
  const started = Date.now()
  const row = await createRelayStatusClient({ url, timeoutMs: 200, logger: capturingLogger().logger })()
  t.equal(row.lag, null)
  t.match(row.problem, /no answer from .* within 200 ms/)
  t.ok(Date.now() - started < 2000, 'does not wait longer')
})

t.test('something else at that address: unknown', async (t) => {
  const url = await standIn(t, (_req, res) => json(res, 200, { status: 'ok', service: 'intake' }))
  const row = await createRelayStatusClient({ url, logger: capturingLogger().logger })()
  t.equal(row.lag, null)
  t.match(row.problem, /did not answer a relay status/)
  const errors = await standIn(t, (_req, res) => json(res, 503, {}))
  t.match((await createRelayStatusClient({ url: errors, logger: capturingLogger().logger })()).problem, /answered 503/)
})

t.test('known again after an outage, and said so', async (t) => {
  let up = false
  const url = await standIn(t, (_req, res) => (up ? json(res, 200, { running: true, position: 7, head: 7, lag: 0 }) : json(res, 503, {})))
  const { logger, lines } = capturingLogger()
  const status = createRelayStatusClient({ url, logger })
  t.equal((await status()).lag, null)
  up = true
  t.same(await status(), { name: 'event-relay', kind: 'store', position: 7, lag: 0 })
  t.ok(lines.some((l) => l.msg === "the relay's status is known again"))
})
