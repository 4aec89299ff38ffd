import t from 'tap'
import { createAccessControl, devAccessConfig } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { buildRoutingApp } from './app.ts'
import { startRouting } from './routing.ts'
import { NOW, calendar, catalogue, environment, eventsOf, silentLogger, submitCase, waitFor } from './test-support.ts'

const access = createAccessControl(devAccessConfig([]))
const operator = { authorization: 'Bearer dev-operator' }

t.test('health, readiness and the operator status page', async (t) => {
  const env = await environment(t)
  const routing = await startRouting({ store: env.store, feed: env.feed, catalogue, calendar, logger: silentLogger, now: () => NOW })
  const app = buildRoutingApp({ routing, access, logger: silentLogger })
  t.teardown(async () => {
    await app.close()
    await routing.stop()
  })
  const { submission, position } = await submitCase(env.store, { description: 'Sokakta büyük bir çukur var' })
  await waitFor(() => eventsOf(env.events, submission.caseId).length === 2, 2000, 'routed')
  await waitFor(() => routing.status().indexPosition > position, 2000, 'the index saw the CaseRouted')

  t.same(await describedRouteGaps(app), [], "every route of routing's process is in its /openapi.json")
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const ready = await app.inject({ method: 'GET', url: '/readyz', headers: operator })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', service: 'routing', details: { indexPosition: position + 1, routed: 1, duplicates: 0 } })

  const status = await app.inject({ method: 'GET', url: '/v1/routing/status', headers: operator })
  t.equal(status.statusCode, 200)
  t.same(status.json(), { running: true, routed: 1, duplicates: 0, skipped: 0, indexPosition: position + 1 })

  const anonymous = await app.inject({ method: 'GET', url: '/v1/routing/status' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'unauthorized')
  const channel = await app.inject({ method: 'GET', url: '/v1/routing/status', headers: { authorization: 'Bearer dev-channel' } })
  t.equal(channel.statusCode, 403)

  await routing.stop()
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'not ready once stopped')
  t.match((await app.inject({ method: 'GET', url: '/v1/routing/status', headers: operator })).json(), { running: false })
})
