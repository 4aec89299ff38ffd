/** Kafka test support (exported by `@civic-desk/messaging/testing`): the test gate, a producer for poison messages and a bus logger that keeps its lines. */
import kafkajs from 'kafkajs'
import type { Test } from 'tap'
import { createClient, describeKafkaError, toBusError } from './client.ts'
import type { KafkaBusLogger, KafkaBusOptions } from './options.ts'

const { Partitioners } = kafkajs

export interface KafkaRawPublisherOptions extends Pick<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'retry' | 'connectionTimeoutMs'> {}

/** A plain producer for tests: see `createKafkaRawPublisher`. */
export interface KafkaRawPublisher {
  /**
   * Writes `value` (text, or bytes that need not be UTF-8) as is, without JSON serialisation, like a foreign producer would (plain
   * kafkajs, acks 1, not idempotent, same murmur2 partitioner). The topic must exist. Resolves
   * with where each message landed.
   */
  publishRaw(topic: string, messages: readonly { readonly key: string; readonly value: string | Buffer; readonly headers?: Readonly<Record<string, string>> }[]): Promise<{ partition: number; offset: string }[]>
  close(): Promise<void>
}

/** For Kafka test fixtures (`BusFixture.publishRaw`): poison messages the way another client would write them. */
export function createKafkaRawPublisher(options: KafkaRawPublisherOptions): KafkaRawPublisher {
  const producer = createClient(options).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  let ready: Promise<void> | undefined
  return {
    async publishRaw(topic, messages) {
      const landed: { partition: number; offset: string }[] = []
      try {
        ready ??= producer.connect()
        await ready
        // One send per message, in order: each answer names exactly that message's partition and offset.
        for (const { key, value, headers } of messages) {
          const [metadata] = await producer.send({ topic, acks: 1, messages: [{ key, value, headers: { ...headers } }] })
          if (metadata === undefined) throw new Error('no acknowledgement')
          landed.push({ partition: metadata.partition, offset: metadata.baseOffset ?? metadata.offset ?? '' })
        }
      } catch (error) {
        throw toBusError(error, `raw publish to ${topic}`)
      }
      return landed
    },
    async close() {
      await producer.disconnect()
    },
  }
}

/** What the test gate prints when Kafka is not configured. */
const KAFKA_TEST_HINT = 'set KAFKA_BROKERS (infra/kafka/start.sh) to run'

/**
 * The gate of every test that needs a real broker. Brokers come from `KAFKA_BROKERS`
 * (comma-separated). Unset: the test fails when `CIVIC_REQUIRE_KAFKA=1` (CI), otherwise it is
 * skipped with a hint. Set but no broker answers within a few seconds: the test fails. Resolves
 * with the brokers, or `undefined` when the caller must not run its Kafka tests.
 */
export async function kafkaTestBrokers(t: Test, env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0)
  if (brokers.length === 0) {
    if (env.CIVIC_REQUIRE_KAFKA === '1') {
      t.fail(`CIVIC_REQUIRE_KAFKA=1 but KAFKA_BROKERS is not set: ${KAFKA_TEST_HINT}`)
    } else {
      await t.test(`Kafka tests: ${KAFKA_TEST_HINT}`, { skip: KAFKA_TEST_HINT }, async () => undefined)
    }
    return undefined
  }
  const admin = createClient({ brokers, clientId: 'civic-desk-test-gate', connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, retry: { retries: 2, initialRetryTimeMs: 200, maxRetryTimeMs: 1_000 } }).admin()
  try {
    await admin.connect()
    await admin.describeCluster()
    return brokers
  } catch (error) {
    t.fail(`KAFKA_BROKERS=${brokers.join(',')} is set but no broker answers (${describeKafkaError(error)}): start one with infra/kafka/start.sh`)
    return undefined
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

/** One message as it lies in a topic: every byte of it. */
export interface RawTopicMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: ReadonlyArray<readonly [string, Buffer]>
}

/**
 * Every message of the topics from the beginning up to their high watermarks at the call, read by
 * a plain kafkajs consumer of a fresh group (for tests that search a topic's bytes).
 */
export async function readTopicsRaw(options: Pick<KafkaBusOptions, 'brokers'> & { readonly topics: readonly string[]; readonly timeoutMs?: number }): Promise<RawTopicMessage[]> {
  const client = createClient({ brokers: options.brokers, clientId: 'civic-desk-test-reader' })
  const admin = client.admin()
  await admin.connect()
  const remaining = new Map<string, bigint>()
  try {
    for (const topic of options.topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high) - 1n)
    }
  } finally {
    await admin.disconnect()
  }
  const out: RawTopicMessage[] = []
  if (remaining.size === 0) return out
  const consumer = client.consumer({ groupId: `civic-desk-test-reader-${Date.now()}-${Math.random().toString(16).slice(2)}` })
  await consumer.connect()
  try {
    let done: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (done = resolve))
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.entries(message.headers ?? {}).flatMap(([name, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [name, Buffer.from(x)] as const)))
        out.push({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers })
        const last = remaining.get(`${topic}/${partition}`)
        if (last !== undefined && BigInt(message.offset) >= last) remaining.delete(`${topic}/${partition}`)
        if (remaining.size === 0) done()
      },
    })
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`readTopicsRaw: partitions not read to their end: ${[...remaining.keys()].join(', ')}`)), options.timeoutMs ?? 60_000).unref())
    await Promise.race([finished, timeout])
    return out
  } finally {
    await consumer.disconnect()
  }
}

/** One line a bus logged. */
export interface RecordedLogLine {
  readonly level: 'error' | 'warn' | 'info'
  readonly msg: string
  readonly obj: Readonly<Record<string, unknown>>
}

/** An error as one line of text (its name and message). */
export const errorText = (value: unknown): string => (value instanceof Error ? `${value.name}: ${value.message}` : String(value))

/** Recorded lines as text, errors by name and message: a failing test's output. */
export function formatLogLines(lines: readonly RecordedLogLine[]): string {
  return lines.map(({ level, msg, obj }) => `${level} ${msg} ${JSON.stringify(obj, (_key, value: unknown) => (value instanceof Error ? errorText(value) : value))}`).join('\n')
}

/** A bus logger that keeps every line, for assertions on what the bus did and for failure output. */
export function recordingLogger(): { readonly logger: KafkaBusLogger; readonly lines: RecordedLogLine[]; count(msg: string): number } {
  const lines: RecordedLogLine[] = []
  const keep = (level: RecordedLogLine['level']) => (obj: object, msg: string) => void lines.push({ level, msg, obj: obj as Record<string, unknown> })
  return { logger: { error: keep('error'), warn: keep('warn'), info: keep('info') }, lines, count: (msg) => lines.filter((line) => line.msg === msg).length }
}
