/**
 * Consumer-group lag read from a real broker (KAFKA_BROKERS; infra/kafka/start.sh): a group that
 * handled everything has none, messages published while it is away are its lag, and a group that
 * never committed counts from the start of the topic. Fresh topic and groups per run.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createKafkaBus, createKafkaLagReader } from './index.ts'
import { kafkaTestBrokers, waitFor } from './testing.ts'

const brokers = await kafkaTestBrokers(t)

if (brokers !== undefined) {
  void t.test('lag per group and topic, from committed offsets against the partition ends', { timeout: 90_000 }, async (t) => {
    const id = randomUUID().slice(0, 8)
    const topic = `lag.${id}`
    const groupId = `lag-group-${id}`
    const bus = createKafkaBus({ brokers, clientId: 'civic-desk-test-lag', defaultPartitions: 3, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200, commitIntervalMs: 100 })
    const reader = createKafkaLagReader({ brokers, clientId: 'civic-desk-test-lag-reader' })
    t.teardown(async () => {
      await bus.close()
      await reader.close()
    })

    await bus.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key: `case-${i}`, value: { n: i } })))
    const handled: number[] = []
    const subscription = await bus.subscribe<{ n: number }>({ topic, groupId, fromBeginning: true, handler: async (m) => void handled.push(m.value.n) })
    await waitFor(() => handled.length >= 5, 30_000, 'the five messages handled')

    // Offsets are committed after handling: the lag falls to zero shortly after.
    const deadline = Date.now() + 20_000
    let lags = await reader.read({ groupIds: [groupId] })
    while (lags[0]?.lag !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      lags = await reader.read({ groupIds: [groupId] })
    }
    t.equal(lags.length, 1, 'one row: the group on its one topic')
    t.match(lags[0], { groupId, topic, lag: 0 })
    t.equal(lags[0]?.partitions.length, 3, 'every partition of the topic')
    t.equal(lags[0]?.partitions.reduce((sum, p) => sum + p.end, 0), 5, 'partition ends add up to the messages published')

    // Away from its group, new messages are its lag.
    await subscription.close()
    await bus.publish(topic, Array.from({ length: 3 }, (_, i) => ({ key: `later-${i}`, value: { n: 10 + i } })))
    const away = await reader.read({ groupIds: [groupId] })
    t.equal(away[0]?.lag, 3, 'three messages behind')
    t.equal(away[0]?.state, 'Empty', 'no member left in the group')

    // Without a filter the group is found by listing the broker's groups.
    const all = await reader.read()
    t.match(all.find((row) => row.groupId === groupId && row.topic === topic), { lag: 3 })

    // A group that never committed anything counts from the start of the topic.
    const fresh = await reader.read({ groupIds: [`never-${id}`], topics: [topic] })
    t.match(fresh, [{ groupId: `never-${id}`, topic, lag: 8 }])
    t.ok(fresh[0]?.partitions.every((p) => p.committed === null), 'nothing committed')
  })
}
