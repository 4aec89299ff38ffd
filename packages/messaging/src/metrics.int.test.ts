// The bus's figures: every dead letter counted by the topic it came from and why (here the SQLite
// bus, which builds its records through the same deadLetterRecord as Kafka's), and a publish that
// Kafka refuses counted as a producer error (a real kafkajs client against a port nobody listens on).
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { processMetrics } from '@civic-desk/service-kit'
import { createKafkaBus } from './kafka/bus.ts'
import { NonRetriableError, TOPICS } from './port.ts'
import { openSqliteBus } from './sqlite.ts'
import { waitFor } from './testing.ts'

const value = async (metric: 'deadLetters' | 'kafkaErrors', labels: Record<string, string>): Promise<number> => {
  const metrics = processMetrics()
  if (metrics === undefined) throw new Error('metrics are on in tests')
  const { values } = await metrics[metric].get()
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((s, v) => s + v.value, 0)
}

t.test('dead letters by topic and kind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-bus-metrics-'))
  const bus = openSqliteBus({ file: join(dir, 'bus.sqlite'), pollIntervalMs: 20 })
  t.teardown(async () => {
    await bus.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const topic = 'civic.metrics-test.v1'
  const before = { failed: await value('deadLetters', { topic, kind: 'failed' }), invalid: await value('deadLetters', { topic, kind: 'invalid' }) }
  const letters: unknown[] = []
  await bus.subscribe({ topic: TOPICS.deadLetter, groupId: 'metrics-test-dead-letters', fromBeginning: true, handler: async (m) => void letters.push(m.value) })
  await bus.subscribe({
    topic,
    groupId: 'metrics-test',
    fromBeginning: true,
    maxAttempts: 2,
    retryBackoffMs: 1,
    handler: async ({ value: v }) => {
      if (v === 'never') throw new NonRetriableError('refused for good')
      throw new Error('always fails')
    },
  })
  await bus.publish(topic, [{ key: 'a', value: 'never' }, { key: 'b', value: 'retried' }])
  await waitFor(() => letters.length === 2, 10_000, 'two dead letters')
  t.equal((await value('deadLetters', { topic, kind: 'failed' })) - before.failed, 2, 'both given up on by the handler')
  t.equal((await value('deadLetters', { topic, kind: 'invalid' })) - before.invalid, 0)
})

t.test('a publish Kafka refuses is a producer error', async (t) => {
  // A port that was free a moment ago: nothing answers there.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
  const bus = createKafkaBus({ brokers: [`127.0.0.1:${port}`], clientId: 'metrics-test', kafkaLogLevel: 'nothing', connectionTimeoutMs: 200, retry: { retries: 1, initialRetryTimeMs: 10, maxRetryTimeMs: 20 } })
  t.teardown(() => bus.close())
  const before = await value('kafkaErrors', { client: 'producer' })
  await t.rejects(bus.publish(TOPICS.caseEvents, [{ key: 'k', value: { n: 1 } }]))
  t.equal((await value('kafkaErrors', { client: 'producer' })) - before, 1)
})
