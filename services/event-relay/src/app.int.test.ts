import t from 'tap'
import { createAccessControl, devAccessConfig } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { buildRelayApp } from './app.ts'
import { createMemoryCheckpointStore } from '@civic-desk/case-feed'
import { startRelay } from './relay.ts'
import { appendCases, recordingBus, silentLogger, storedCaseEvents, tempStore, waitFor } from './test-support.ts'

const access = createAccessControl(devAccessConfig([]))
const operator = { authorization: 'Bearer dev-operator' }

t.test('health, readiness and the operator status page', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus } = await recordingBus(t)
  await appendCases(store, 2, 3) // 6 case events + 3 other events
  const relay = await startRelay({ store, bus, checkpoints: createMemoryCheckpointStore(), logger: silentLogger, batchSize: 2 })
  const app = buildRelayApp({ relay, store, access, logger: silentLogger })
  beforeClose(async () => {
    await app.close()
    await relay.stop()
  })
  const stored = await storedCaseEvents(store)
  const head = await store.headPosition()
  await waitFor(() => relay.position === stored.at(-1)?.position, 5000, 'relayed')
  t.same(await describedRouteGaps(app), [], "every route of the relay's process is in its /openapi.json")

  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  const ready = await app.inject({ method: 'GET', url: '/readyz', headers: operator })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'ready', service: 'event-relay', details: { position: relay.position, head } })

  const status = await app.inject({ method: 'GET', url: '/v1/relay/status', headers: operator })
  t.equal(status.statusCode, 200)
  t.same(status.json(), { running: true, position: relay.position, head, lag: head - relay.position, buffered: 0, published: 6, consecutiveFailures: 0 })
  t.equal(head - relay.position, 1, 'the trailing non-case event counts as lag in positions')

  const anonymous = await app.inject({ method: 'GET', url: '/v1/relay/status' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'unauthorized')
  const channel = await app.inject({ method: 'GET', url: '/v1/relay/status', headers: { authorization: 'Bearer dev-channel' } })
  t.equal(channel.statusCode, 403)
  t.equal(channel.json().code, 'forbidden')

  await relay.stop()
  const stopped = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(stopped.statusCode, 503, 'not ready once stopped')
  t.match((await app.inject({ method: 'GET', url: '/v1/relay/status', headers: operator })).json(), { running: false })
})
