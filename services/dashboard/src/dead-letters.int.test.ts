// The operators' dead-letter list with memory read models, on a real Kafka broker: a restarted
// dashboard reads civic.dead-letter.v1 again under the same consumer group (it used to join a new
// group per start, and every start left one more `dashboard-dead-letters-<uuid>` on the broker).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createCaseFeed } from '@civic-desk/case-feed'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, TOPICS, createKafkaBus, createKafkaLagReader } from '@civic-desk/messaging'
import { kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { createMemoryReadModelStore, type ReadModelStore } from '@civic-desk/read-models'
import { createLogger } from '@civic-desk/service-kit'
import { startDashboardProjector } from './projector.ts'

const logger = createLogger({ level: 'silent', name: 'dashboard-dead-letters-test' })

t.test('a restarted dashboard with memory read models reads the dead letters again, in the same group', async (t) => {
  const brokers = await kafkaTestBrokers(t)
  if (brokers === undefined) return
  const dir = mkdtempSync(join(tmpdir(), 'civic-dashboard-dead-letters-'))
  const store = createMemoryEventStore()
  const bus = createKafkaBus({ brokers, clientId: `dashboard-dl-test-${randomUUID().slice(0, 8)}`, logger })
  const lag = createKafkaLagReader({ brokers, clientId: 'dashboard-dl-test-lag' })
  // The broker is shared: this test's own stable group (the product's is `dashboard-dead-letters`).
  const deadLetterGroupId = `dashboard-dead-letters-test-${randomUUID()}`
  const sourceTopic = `test.dashboard-dead-letters.${randomUUID().slice(0, 8)}`
  t.teardown(async () => {
    await lag.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  // Two dead letters of a topic of this test's own, dated far ahead so that they are the newest in the list.
  const record = (n: number): DeadLetterRecord => ({
    error: { kind: 'failed', message: `gave up on message ${n}` },
    source: { topic: sourceTopic, partition: 0, offset: String(n), key: `k${n}`, groupId: 'routing' },
    attempts: 5,
    failedAt: `2099-01-01T00:00:0${n}.000Z`,
    value: { n },
  })
  const mine = async (readModels: ReadModelStore): Promise<string[]> =>
    (await readModels.deadLetters(50)).latest.filter((d) => d.topic === sourceTopic).map((d) => d.message).sort()

  const start = async (readModels: ReadModelStore) => {
    const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: join(dir, 'consumers') } })
    const projector = await startDashboardProjector({ feed, store, bus, readModels, storeIdentity: 'dead-letters-test', logger, deadLetterGroupId })
    return {
      async stop() {
        await projector.stop()
        await feed.close()
      },
    }
  }
  const waitFor = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 60_000
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const first = createMemoryReadModelStore()
  const running = await start(first)
  await bus.publish(TOPICS.deadLetter, [record(1), record(2)].map((value) => ({ key: value.source.key, value })))
  await waitFor('both dead letters in the first run', async () => (await mine(first)).length === 2)
  await running.stop()
  const committed = await lag.read({ groupIds: [deadLetterGroupId], topics: [TOPICS.deadLetter] })
  t.equal(committed.length, 1, 'the group committed what it read')

  // A restart: memory read models start empty, the group has committed past both records.
  const second = createMemoryReadModelStore()
  const restarted = await start(second)
  t.teardown(() => restarted.stop())
  await waitFor('both dead letters again after the restart', async () => (await mine(second)).length === 2)
  t.same(await mine(second), ['gave up on message 1', 'gave up on message 2'])
  const after = await lag.read({ groupIds: [deadLetterGroupId], topics: [TOPICS.deadLetter] })
  t.same(after.map((g) => g.groupId), [deadLetterGroupId], 'still the one group: nothing new left behind on the broker')
})
