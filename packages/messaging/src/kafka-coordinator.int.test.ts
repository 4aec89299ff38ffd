/**
 * A broker that answers but has no group coordinator yet (what a broker still loading its groups
 * after a restart looks like): kafkajs gives up on such a consumer (`KafkaJSGroupCoordinatorNotFound`
 * is not retriable) and the bus starts it again itself (kafka/member.ts). The broker of this file's
 * own advertises a proxy's port, so every client connection goes through the proxy, which can
 * shut clients out (the broker away) or answer FindCoordinator with COORDINATOR_NOT_AVAILABLE
 * itself; everything else is passed through byte for byte. Runs when KAFKA_BROKERS is set or
 * CIVIC_REQUIRE_KAFKA=1 (that broker only proves Kafka is wanted).
 */
import { randomUUID } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import kafkajs from 'kafkajs'
import t from 'tap'
import { freePort } from '@civic-desk/service-kit/testing'
import { eventually, exclusiveHeavyTest, startTestBroker, type TestBroker } from '../../e2e/src/stack.ts'
import { createKafkaBus } from './index.ts'
import { formatLogLines, kafkaTestBrokers, recordingLogger, waitFor } from './testing.ts'

const RUN_MS = 6 * 60_000
t.setTimeout(RUN_MS)

/** Kafka's FindCoordinator request (API key 10) and the error a broker gives while its coordinator is not ready. */
const FIND_COORDINATOR = 10
const COORDINATOR_NOT_AVAILABLE = 15

type ProxyMode = 'pass' | 'away' | 'no-coordinator'

interface CoordinatorProxy {
  mode: ProxyMode
  /** FindCoordinator requests answered by the proxy with COORDINATOR_NOT_AVAILABLE. */
  readonly refused: number
  /** Closes every client connection (and its upstream one), as a broker that stops would. */
  dropConnections(): void
  close(): Promise<void>
}

/** FindCoordinator's answer with an error, in the request's version (0–2: what kafkajs sends). */
function coordinatorNotAvailable(correlationId: number, version: number): Buffer {
  const body =
    version === 0
      ? Buffer.alloc(16) // correlation id, error code, node id, host (empty), port
      : Buffer.alloc(22) // correlation id, throttle time, error code, error message (null), node id, host (empty), port
  let at = body.writeInt32BE(correlationId, 0)
  if (version > 0) at = body.writeInt32BE(0, at)
  at = body.writeInt16BE(COORDINATOR_NOT_AVAILABLE, at)
  if (version > 0) at = body.writeInt16BE(-1, at)
  at = body.writeInt32BE(-1, at)
  at = body.writeInt16BE(0, at)
  body.writeInt32BE(-1, at)
  const size = Buffer.alloc(4)
  size.writeInt32BE(body.length, 0)
  return Buffer.concat([size, body])
}

async function startCoordinatorProxy(port: number, upstreamPort: number): Promise<CoordinatorProxy> {
  const sockets = new Set<Socket>()
  let refused = 0
  const proxy: CoordinatorProxy = {
    mode: 'pass',
    get refused() {
      return refused
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy()
    },
    close: async () => {
      proxy.dropConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server: Server = createServer((client) => {
    if (proxy.mode === 'away') {
      client.destroy()
      return
    }
    const upstream = connect(upstreamPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    upstream.pipe(client)
    // Requests are framed (a 4-byte size, then API key, version and correlation id): read them
    // whole, so a FindCoordinator can be answered here instead of passed on.
    let pending = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readInt32BE(0))
        pending = pending.subarray(frame.length)
        const [apiKey, version, correlationId] = [frame.readInt16BE(4), frame.readInt16BE(6), frame.readInt32BE(8)]
        if (proxy.mode === 'no-coordinator' && apiKey === FIND_COORDINATOR && version <= 2) {
          refused++
          client.write(coordinatorNotAvailable(correlationId, version))
        } else {
          upstream.write(frame)
        }
      }
    })
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()))
  return proxy
}

const wanted = await kafkaTestBrokers(t)
if (wanted !== undefined) {
  await exclusiveHeavyTest(t, 'kafka-coordinator.int', RUN_MS)
  const [listenPort, proxyPort] = [await freePort(), await freePort()]
  // Before the broker: its start already connects to the address it advertises.
  const proxy = await startCoordinatorProxy(proxyPort, listenPort)
  t.teardown(() => proxy.close())
  const broker: TestBroker = await startTestBroker({ listenPort, advertisedPort: proxyPort })
  t.teardown(() => broker.destroy())

  await t.test('a consumer kafkajs gives up on for want of a group coordinator is started again by the bus and consumes once one is found', async (t) => {
    const { logger, lines, count } = recordingLogger()
    t.teardown(() => {
      if (!t.passing()) t.comment(formatLogLines(lines).slice(-20_000))
    })
    const fatal: Error[] = []
    const settings = { brokers: broker.brokers, defaultPartitions: 1, maxWaitTimeMs: 200, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 500 } }
    const bus = createKafkaBus({ ...settings, clientId: 'coordinator', logger, maxConsumerRestarts: 50, onFatalError: (error) => void fatal.push(error) })
    const publisher = createKafkaBus({ ...settings, clientId: 'coordinator-publisher' })
    t.teardown(async () => {
      await bus.close()
      await publisher.close()
    })
    const topic = `coordinator.${randomUUID().slice(0, 8)}`
    const groupId = `g.${randomUUID().slice(0, 8)}`
    const seen: unknown[] = []
    await bus.subscribe({ topic, groupId, fromBeginning: true, handler: async ({ value }) => void seen.push(value) })
    await publisher.publish(topic, [{ key: 'k', value: 'before' }])
    await waitFor(() => seen.includes('before'), 30_000, 'the message published before the outage')
    // Its offset committed before the outage: a second delivery after it would be at-least-once at
    // work, not the restart this test is about.
    const admin = new kafkajs.Kafka({ brokers: broker.brokers, clientId: 'coordinator-inspect', logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      await eventually(async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions[0]?.offset, (offset) => offset === '1', "the offset of 'before' to be committed", 30_000)
    } finally {
      await admin.disconnect()
    }

    // The broker goes away: the consumer crashes and kafkajs restarts it (until a broker answers).
    proxy.mode = 'away'
    proxy.dropConnections()
    await waitFor(() => count('kafka bus: consumer crashed; kafkajs restarts it') > 0, 60_000, 'the consumer to crash')
    // It answers again, without a group coordinator yet: kafkajs gives up on the consumer.
    proxy.mode = 'no-coordinator'
    await waitFor(() => count('kafka bus: no group coordinator yet (the broker is away or restarting); starting the consumer again') > 0, 120_000, 'the bus to start the consumer kafkajs gave up on')
    t.ok(proxy.refused > 0, `${proxy.refused} FindCoordinator requests answered COORDINATOR_NOT_AVAILABLE`)
    const gaveUp = lines.find((line) => line.msg.startsWith('kafka bus: no group coordinator yet'))
    t.match((gaveUp?.obj['err'] as Error | undefined)?.name, 'KafkaJSGroupCoordinatorNotFound', 'kafkajs gave up with KafkaJSGroupCoordinatorNotFound')

    // The coordinator is ready: the consumer started again joins and consumes.
    proxy.mode = 'pass'
    await publisher.publish(topic, [{ key: 'k', value: 'after' }])
    await waitFor(() => seen.includes('after'), 120_000, 'the message published after the coordinator came back')
    t.same(seen, ['before', 'after'], 'each message handled once')
    t.same(fatal, [], 'onFatalError never called')
    t.equal(count('kafka bus: consumer crashed and will NOT restart; the subscription has stopped consuming'), 0)
    t.ok(count('kafka bus: member rejoined its group') > 0, 'the member rejoined its group')
  })
}
