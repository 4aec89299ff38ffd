/**
 * The Kafka bus against a real broker (infra/kafka/start.sh; KAFKA_BROKERS=127.0.0.1:9092):
 * the whole Bus contract, then what only Kafka has (producer guarantees, dead letters as Kafka
 * records, group hand-over, offsets kept by the broker, a broker that is down). Every test uses
 * fresh topics and groups, so the suite can run against a long-lived development broker.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import kafkajs from 'kafkajs'
import type { KafkaMessage } from 'kafkajs'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { createKafkaBus, DeadLetterRecord, TOPICS, type BusMessage, type KafkaBus, type KafkaBusLogger, type KafkaBusOptions } from './index.ts'
import { busContract, createKafkaRawPublisher, kafkaTestBrokers, waitFor } from './testing.ts'

const brokers = await kafkaTestBrokers(t)

/** Adapter and kafkajs problems go to stderr (the contract's own dead letters and retries do not). */
const logger: KafkaBusLogger = {
  warn: (obj, msg) => {
    if ('component' in obj || msg.startsWith('kafka bus:')) process.stderr.write(`WARN ${msg} ${safeJson(obj)}\n`)
  },
  error: (obj, msg) => {
    if ('component' in obj || msg.startsWith('kafka bus:')) process.stderr.write(`ERROR ${msg} ${safeJson(obj)}\n`)
  },
}
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner: unknown) => (inner instanceof Error ? { name: inner.name, message: inner.message } : inner))
  } catch {
    return String(value)
  }
}

const unique = (prefix: string): string => `${prefix}.${randomUUID().slice(0, 8)}`

/** Kafka's Utils.murmur2 (the Java client's default partitioner), written out independently of kafkajs. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995
  let h = 0x9747b28c ^ data.length
  const tail = data.length & ~3
  for (let i = 0; i < tail; i += 4) {
    let k = data.readInt32LE(i)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = data.length % 4
  if (rest === 3) h ^= (data[tail + 2] ?? 0) << 16
  if (rest >= 2) h ^= (data[tail + 1] ?? 0) << 8
  if (rest >= 1) h = Math.imul(h ^ (data[tail] ?? 0), m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

if (brokers !== undefined) {
  // Quick group reactions for tests: rebalances are noticed within about half a second.
  const testOptions = { brokers, clientId: 'civic-desk-test', logger, defaultPartitions: 4, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 200 }
  const makeBus = (overrides: Partial<KafkaBusOptions> = {}): KafkaBus => createKafkaBus({ ...testOptions, ...overrides })

  /** A bus and a raw publisher closed when the test ends. */
  const fixture = (t: Test, overrides: Partial<KafkaBusOptions> = {}) => {
    const bus = makeBus(overrides)
    const raw = createKafkaRawPublisher({ brokers, clientId: 'civic-desk-test-raw' })
    t.teardown(async () => {
      await bus.close()
      await raw.close()
    })
    return { bus, raw }
  }

  /** A plain kafkajs client for looking at what is really in the broker. */
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'civic-desk-test-inspect', logLevel: kafkajs.logLevel.NOTHING })

  /** Reads `topic` from its start with a throw-away group until `until` holds for the records read. */
  const readTopic = async (topic: string, until: (records: KafkaMessage[]) => boolean): Promise<KafkaMessage[]> => {
    const consumer = kafka.consumer({ groupId: unique('inspect'), maxWaitTimeInMs: 200 })
    const records: KafkaMessage[] = []
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => void records.push(message) })
      await waitFor(() => until(records), 20_000, `records in ${topic}`)
      return records
    } finally {
      await consumer.disconnect()
    }
  }

  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())

  void t.test('Bus contract', { timeout: 100_000 }, async (t) => {
    busContract(t, async () => {
      const bus = makeBus()
      const raw = createKafkaRawPublisher({ brokers, clientId: 'civic-desk-test-raw' })
      return {
        bus,
        publishRaw: async (topic, messages) => void (await raw.publishRaw(topic, messages)),
        cleanup: async () => {
          await bus.close()
          await raw.close()
        },
      }
    })
  })

  void t.test('producer: idempotent (so acks from all in-sync replicas) and murmur2 partitioning like the Java client', { timeout: 60_000 }, async (t) => {
    const { bus, raw } = fixture(t)
    const topic = unique('kafka.producer')
    await bus.publish(topic, [{ key: 'case-1', value: 'from the bus' }])
    await raw.publishRaw(topic, [{ key: 'case-1', value: '"from a plain producer"' }])
    const records = await readTopic(topic, (records) => records.length >= 2)
    // kafkajs keeps each record batch's header on its messages; the types do not show it.
    const producerIdOf = (record: KafkaMessage | undefined): string | undefined => (record as { batchContext?: { producerId?: string } } | undefined)?.batchContext?.producerId
    const fromBus = records.find((record) => record.value?.toString() === '"from the bus"')
    const fromRaw = records.find((record) => record.value?.toString() === '"from a plain producer"')
    t.not(producerIdOf(fromBus), undefined, 'the batch header is visible')
    // kafkajs refuses to send from an idempotent producer with acks other than -1, so this also
    // proves acks=all. (A single broker cannot show it otherwise: Kafka caps min.insync.replicas
    // at the replication factor, so acks=all never fails on one node.)
    t.not(producerIdOf(fromBus), '-1', 'the bus producer is idempotent: the broker gave it a producer id')
    t.equal(producerIdOf(fromRaw), '-1', 'a plain producer has none (so the check above can fail)')

    // Java's Utils.murmur2 test vectors first (the helper below is right), then the bus's choices.
    t.equal(murmur2(Buffer.from('21')), -973932308)
    t.equal(murmur2(Buffer.from('foobar')), -790332482)
    const keyed = unique('kafka.partitioner')
    const delivered = new Map<string, number>()
    await bus.subscribe({ topic: keyed, groupId: unique('g'), fromBeginning: true, handler: async ({ key, partition }) => void delivered.set(key, partition) })
    const keys = Array.from({ length: 20 }, (_, index) => `case-${index}`)
    await bus.publish(keyed, keys.map((key) => ({ key, value: key })))
    await waitFor(() => delivered.size === keys.length, 20_000, 'every key')
    t.same(
      keys.map((key) => delivered.get(key)),
      keys.map((key) => (murmur2(Buffer.from(key)) & 0x7fffffff) % testOptions.defaultPartitions),
      'each key on the partition the Java client would pick',
    )
  })

  void t.test('poison messages: Kafka records in civic.dead-letter.v1 with source coordinates, key and headers; the consumer goes on', { timeout: 60_000 }, async (t) => {
    const { bus, raw } = fixture(t)
    const topic = unique('kafka.poison')
    const groupId = unique('g')
    const Case = z.strictObject({ caseId: z.string(), n: z.number().int() })
    const handled: z.infer<typeof Case>[] = []
    await bus.subscribe({ topic, groupId, fromBeginning: true, schema: Case, handler: async ({ value }) => void handled.push(value) })

    const [notJson] = await raw.publishRaw(topic, [{ key: 'case-7', value: '{"caseId": "case-7", ', headers: { correlationId: 'c-raw' } }])
    await bus.publish(topic, [
      { key: 'case-7', value: { caseId: 'case-7', n: 'one' }, headers: { correlationId: 'c-schema', origin: 'test' } },
      { key: 'case-7', value: { caseId: 'case-7', n: 2 } },
    ])
    await waitFor(() => handled.length === 1, 20_000, 'the valid message after two poison ones')
    t.same(handled, [{ caseId: 'case-7', n: 2 }], 'the handler saw only the valid message')

    const ours = (record: KafkaMessage): boolean => record.value !== null && (JSON.parse(record.value.toString()) as { source?: { topic?: string } }).source?.topic === topic
    const records = (await readTopic(TOPICS.deadLetter, (records) => records.filter(ours).length >= 2)).filter(ours)
    t.equal(records.length, 2, 'two dead letters for this topic')
    const parsed = records.map((record) => DeadLetterRecord.parse(JSON.parse(record.value?.toString() ?? 'null')))
    const headersOf = (record: KafkaMessage | undefined): Record<string, string> =>
      Object.fromEntries(Object.entries(record !== undefined && 'headers' in record ? (record.headers ?? {}) : {}).map(([name, value]) => [name, String(value)]))
    const byKind = new Map(parsed.map((record, index) => ['rawValue' in record ? 'not-json' : 'schema', { record, kafka: records[index] }]))

    const first = byKind.get('not-json')
    t.match(first?.record, { error: { kind: 'invalid', message: /JSON/ }, source: { topic, partition: notJson?.partition, offset: notJson?.offset, key: 'case-7', groupId }, attempts: 0, rawValue: '{"caseId": "case-7", ' })
    t.equal(first?.kafka?.key?.toString(), 'case-7', 'same Kafka key')
    t.same(headersOf(first?.kafka), { correlationId: 'c-raw' }, 'same headers')

    const second = byKind.get('schema')
    t.match(second?.record, { error: { kind: 'invalid', message: /n/ }, source: { topic, partition: notJson?.partition, key: 'case-7', groupId }, value: { caseId: 'case-7', n: 'one' } })
    t.equal(second?.record.source.offset, String(BigInt(notJson?.offset ?? '0') + 1n), 'the next offset of the same partition')
    t.same(headersOf(second?.kafka), { correlationId: 'c-schema', origin: 'test' }, 'same headers')

    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const partitionOffset = committed?.partitions.find(({ partition }) => partition === notJson?.partition)?.offset
    t.equal(partitionOffset, String(BigInt(notJson?.offset ?? '0') + 3n), 'the group committed past both dead letters and the valid message')
  })

  void t.test('a value that is not UTF-8 is dead-lettered, never handed over with replacement characters', { timeout: 60_000 }, async (t) => {
    const { bus, raw } = fixture(t)
    const topic = unique('kafka.utf8')
    const groupId = unique('g')
    const handled: unknown[] = []
    await bus.subscribe({ topic, groupId, fromBeginning: true, handler: async ({ value }) => void handled.push(value) })
    // "Ayşe" with the ş in ISO-8859-9 (0xFE), as a legacy gateway might send it.
    const latin5 = Buffer.concat([Buffer.from('{"name":"Ay'), Buffer.from([0xfe]), Buffer.from('e"}')])
    const [bad] = await raw.publishRaw(topic, [{ key: 'case-8', value: latin5 }])
    await bus.publish(topic, [{ key: 'case-8', value: { name: 'Ayşe' } }])
    await waitFor(() => handled.length === 1, 20_000, 'the valid message after the invalid one')
    t.same(handled, [{ name: 'Ayşe' }], 'the handler saw only the UTF-8 message')

    const ours = (record: KafkaMessage): boolean => record.value !== null && (JSON.parse(record.value.toString()) as { source?: { topic?: string } }).source?.topic === topic
    const [letter] = (await readTopic(TOPICS.deadLetter, (records) => records.some(ours))).filter(ours)
    const record = DeadLetterRecord.parse(JSON.parse(letter?.value?.toString() ?? 'null'))
    t.match(record, { error: { kind: 'invalid', message: 'value is not valid UTF-8' }, source: { topic, partition: bad?.partition, offset: bad?.offset, key: 'case-8', groupId }, attempts: 0 })
  })

  void t.test('a second subscriber of the group takes over the partitions when the first closes; nothing is lost', { timeout: 60_000 }, async (t) => {
    const { bus } = fixture(t)
    const topic = unique('kafka.handover')
    const groupId = unique('g')
    const Numbered = z.strictObject({ key: z.string(), n: z.number().int() })
    const seen = { first: [] as z.infer<typeof Numbered>[], second: [] as z.infer<typeof Numbered>[] }
    const subscribe = (name: 'first' | 'second') =>
      bus.subscribe({ topic, groupId, fromBeginning: true, schema: Numbered, handler: async ({ value }) => void seen[name].push(value) })
    const keys = Array.from({ length: 12 }, (_, index) => `case-${index}`)
    const batch = (from: number, to: number) => keys.flatMap((key) => Array.from({ length: to - from }, (_, index) => ({ key, value: { key, n: from + index } })))

    const first = await subscribe('first')
    await subscribe('second')
    await bus.publish(topic, batch(0, 10))
    await waitFor(() => seen.first.length + seen.second.length >= keys.length * 10, 20_000, 'the first batch')
    t.ok(seen.first.length > 0 && seen.second.length > 0, `both members had partitions (${seen.first.length}/${seen.second.length})`)

    await first.close()
    const firstTotal = seen.first.length
    await bus.publish(topic, batch(10, 20))
    await waitFor(() => new Set(seen.second.map(({ key, n }) => `${key}/${n}`)).size + firstTotal >= keys.length * 20, 20_000, 'the second batch')
    t.equal(seen.first.length, firstTotal, 'the closed subscriber got nothing more')
    const handled = new Set([...seen.first, ...seen.second].map(({ key, n }) => `${key}/${n}`))
    t.equal(handled.size, keys.length * 20, 'every message handled')
    const secondAfter = seen.second.filter(({ n }) => n >= 10)
    t.equal(new Set(secondAfter.map(({ key }) => key)).size, keys.length, 'after the close the second subscriber serves every key')
    for (const key of keys) {
      const ns = seen.second.filter((value) => value.key === key).map(({ n }) => n)
      t.same(ns, [...ns].sort((a, b) => a - b), `${key}: in order at the second subscriber`)
    }
  })

  void t.test('committed offsets are kept by the broker: a new bus continues after them', { timeout: 60_000 }, async (t) => {
    const topic = unique('kafka.offsets')
    const groupId = unique('g')
    const before: unknown[] = []
    const first = makeBus()
    t.teardown(() => first.close())
    await first.subscribe({ topic, groupId, fromBeginning: true, handler: async ({ value }) => void before.push(value) })
    await first.publish(topic, Array.from({ length: 10 }, (_, n) => ({ key: `k${n % 3}`, value: n })))
    await waitFor(() => before.length === 10, 20_000, 'ten messages')
    await first.close()

    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    t.same(
      committed?.partitions.map(({ partition, offset }) => [partition, offset]).sort(),
      ends.map(({ partition, high }) => [partition, high]).sort(),
      'after close, the committed offsets are the end offsets',
    )

    const second = makeBus()
    t.teardown(() => second.close())
    const after: BusMessage[] = []
    // fromBeginning is ignored once the group has committed offsets.
    await second.subscribe({ topic, groupId, fromBeginning: true, handler: async (message) => void after.push(message) })
    await second.publish(topic, [{ key: 'k0', value: 'new' }])
    await waitFor(() => after.length >= 1, 20_000, 'the new message')
    await second.close()
    t.same(after.map(({ value }) => value), ['new'], 'only the message published after the first bus closed')
  })

  void t.test('skip: messages passed over by their headers are never decoded or handed over, and their offsets are committed', { timeout: 60_000 }, async (t) => {
    const topic = unique('kafka.skip')
    const groupId = unique('g')
    const { bus, raw } = fixture(t)
    const handed: unknown[] = []
    const looked: string[] = []
    await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      schema: z.object({ n: z.number() }),
      skip: (headers) => {
        looked.push(headers['kind'] ?? '(none)')
        return headers['kind'] === 'other'
      },
      handler: async ({ value }) => void handed.push(value),
    })
    await bus.publish(topic, [
      { key: 'a', value: { n: 1 }, headers: { kind: 'wanted' } },
      { key: 'a', value: { n: 2 }, headers: { kind: 'other' } },
      { key: 'a', value: { n: 3 } },
    ])
    // Not even JSON: a skipped message is not parsed, so it is not dead-lettered by this group.
    await raw.publishRaw(topic, [{ key: 'a', value: 'not json', headers: { kind: 'other' } }])
    await bus.publish(topic, [{ key: 'a', value: { n: 4 }, headers: { kind: 'wanted' } }])
    await waitFor(() => handed.length === 3, 20_000, 'three wanted messages')
    t.same(handed, [{ n: 1 }, { n: 3 }, { n: 4 }], 'the skipped ones never reached the handler, the rest in order')
    t.same(looked, ['wanted', 'other', '(none)', 'other', 'wanted'], 'the predicate saw every message once, by its headers')
    // Committed up to the end, the skipped messages included (the last one was handled, so this is soon).
    let uncommitted: unknown
    for (const deadline = Date.now() + 20_000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
      const at = Object.fromEntries((committed?.partitions ?? []).map(({ partition, offset }) => [partition, offset]))
      uncommitted = ends.filter(({ partition, high }) => at[partition] !== high)
      if ((uncommitted as unknown[]).length === 0 || Date.now() > deadline) break
    }
    t.same(uncommitted, [], 'every partition committed up to its end')
  })

  void t.test('a handler that runs longer than the session keeps its partition (heartbeats go on)', { timeout: 60_000 }, async (t) => {
    const sessionTimeoutMs = 6_000 // the broker's group.min.session.timeout.ms
    const { bus } = fixture(t, { sessionTimeoutMs, heartbeatIntervalMs: 1_000 })
    const topic = unique('kafka.slow')
    const groupId = unique('g')
    const calls: unknown[] = []
    let startedAt = 0
    await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      handler: async ({ value }) => {
        calls.push(value)
        if (value !== 'slow') return
        startedAt = Date.now()
        // The point of the test: still in the handler when a session without heartbeats would have expired.
        await waitFor(() => Date.now() - startedAt > sessionTimeoutMs + 2_000, sessionTimeoutMs + 5_000, 'the session timeout to pass')
      },
    })
    await bus.publish(topic, [{ key: 'k', value: 'slow' }, { key: 'k', value: 'next' }])
    await waitFor(() => calls.includes('next'), 30_000, 'the message after the slow one')
    t.same(calls, ['slow', 'next'], 'the slow message was not handed out again')
    const { groups } = await admin.describeGroups([groupId])
    t.equal(groups[0]?.state, 'Stable', 'the group did not lose its member')
    t.equal(groups[0]?.members.length, 1)
  })

  void t.test('broker down: publish and subscribe reject with a plain Error within the retry budget', { timeout: 60_000 }, async (t) => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address()
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
      })
    })
    const bus = createKafkaBus({ brokers: [`127.0.0.1:${port}`], clientId: 'civic-desk-test-down', connectionTimeoutMs: 500, retry: { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 200 } })
    t.teardown(() => bus.close())
    const publishError: unknown = await bus.publish('kafka.down', [{ key: 'k', value: 1 }]).then(() => undefined, (error: unknown) => error)
    t.ok(publishError instanceof Error && publishError.constructor === Error, 'publish: a plain Error')
    t.match((publishError as Error).message, /^Bus \(kafka\) publish to kafka\.down failed: .*(ECONNREFUSED|Connection)/)
    const subscribeError: unknown = await bus.subscribe({ topic: 'kafka.down', groupId: 'g', handler: async () => undefined }).then(() => undefined, (error: unknown) => error)
    t.ok(subscribeError instanceof Error && subscribeError.constructor === Error, 'subscribe: a plain Error')
    t.match((subscribeError as Error).message, /^Bus \(kafka\) subscribe to kafka\.down as g failed/)
    await t.rejects(bus.publish('kafka.down', [{ key: 'k', value: undefined }]), TypeError, 'a value that is not JSON is still a TypeError')
  })
}
