/** Options of the Kafka bus, and the settings they resolve to (defaults applied, checked once). */
import { z } from 'zod'
import kafkaTopics from '../../../../infra/kafka/topics.json' with { type: 'json' }
import type { BusLogger } from '../shared.ts'

/** A BusLogger that may also take kafkajs' info and debug lines (a pino logger fits). */
export interface KafkaBusLogger extends BusLogger {
  info?(obj: object, msg: string): void
  debug?(obj: object, msg: string): void
}

/** How often kafkajs retries a failed request or connection before giving up (then it crashes or rejects). */
export interface KafkaRetryOptions {
  /** Default 5. */
  readonly retries?: number
  /** Wait before the first retry, doubled (with jitter) per retry. Default 300. */
  readonly initialRetryTimeMs?: number
  /** Cap of one wait. Default 30,000. */
  readonly maxRetryTimeMs?: number
}

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[]
  /** Names this process in broker logs and quotas (e.g. the service name). */
  readonly clientId: string
  /** Receives retries (warn), dead letters, consumer failures (error) and kafkajs' own lines. */
  readonly logger?: KafkaBusLogger
  /** Lowest kafkajs log level passed to `logger`. Default `warn`: kafkajs is chatty at info. */
  readonly kafkaLogLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug'
  /** Partitions of a topic this bus creates that `topicPartitions` does not list. Default 6. */
  readonly defaultPartitions?: number
  /** Partitions per topic name for topics this bus creates. Default: `infra/kafka/topics.json`. */
  readonly topicPartitions?: Readonly<Record<string, number>>
  /** Replication factor of topics this bus creates. Default -1: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number
  /** Partitions one subscription handles at the same time (each still in offset order). Default 4. */
  readonly partitionsConsumedConcurrently?: number
  /** A member that sends no heartbeat for this long is dropped from its group. Default 30,000. */
  readonly sessionTimeoutMs?: number
  /** Heartbeat period, also while a handler runs or waits for a retry. Default 3,000; well below sessionTimeoutMs. */
  readonly heartbeatIntervalMs?: number
  /** How long a rebalance waits for members to rejoin (bounds a handler that ignores it). Default 60,000. */
  readonly rebalanceTimeoutMs?: number
  /** Longest a fetch waits for new messages; heartbeats and rebalances are noticed between fetches. Default 1,000. */
  readonly maxWaitTimeMs?: number
  /** Handled messages of a long batch are committed at least this often (and always at the batch's end). Default 1,000. */
  readonly commitIntervalMs?: number
  /** TCP connect timeout. Default 3,000. */
  readonly connectionTimeoutMs?: number
  /** Per-request timeout. Default 30,000. */
  readonly requestTimeoutMs?: number
  readonly retry?: KafkaRetryOptions
  /**
   * Consumer restarts after retriable failures (broker down, coordinator moved) before the
   * subscription is given up and `onFatalError` called; reset when the member joins its group
   * again. Default 10.
   */
  readonly maxConsumerRestarts?: number
  /** How long `subscribe` waits to join the group. Default 60,000. */
  readonly subscribeTimeoutMs?: number
  /**
   * Called when a subscription's consumer stopped for good (kafkajs crashed it without restart):
   * its messages are no longer handled. A service should exit so its supervisor restarts it.
   */
  readonly onFatalError?: (error: Error, subscription: { readonly topic: string; readonly groupId: string }) => void
}

/** KafkaBusOptions' numbers with their defaults, checked. */
export interface KafkaBusSettings {
  readonly defaultPartitions: number
  readonly replicationFactor: number
  readonly partitionsConsumedConcurrently: number
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly rebalanceTimeoutMs: number
  readonly maxWaitTimeMs: number
  readonly commitIntervalMs: number
  readonly maxConsumerRestarts: number
  readonly subscribeTimeoutMs: number
  /** Partitions of the topics this bus creates, by name: the product topics' and `topicPartitions`. */
  readonly topicPartitions: Readonly<Record<string, number>>
}

/** Partition counts of the product topics, from the one list infra/kafka/start.sh uses too. */
const TopicList = z.object({ topics: z.array(z.strictObject({ name: z.string().min(1), partitions: z.number().int().positive() })) })
const PRODUCT_TOPIC_PARTITIONS: Readonly<Record<string, number>> = Object.fromEntries(
  TopicList.parse(kafkaTopics).topics.map((topic) => [topic.name, topic.partitions]),
)

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`createKafkaBus: ${name} must be an integer >= ${min}, got ${value}`)
}

/** Applies the defaults and checks the numbers; throws a RangeError that names the option. */
export function kafkaBusSettings(options: KafkaBusOptions): KafkaBusSettings {
  const settings = {
    defaultPartitions: options.defaultPartitions ?? 6,
    replicationFactor: options.replicationFactor ?? -1,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 12,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 1_000,
    commitIntervalMs: options.commitIntervalMs ?? 1_000,
    maxConsumerRestarts: options.maxConsumerRestarts ?? 10,
    subscribeTimeoutMs: options.subscribeTimeoutMs ?? 60_000,
    topicPartitions: { ...PRODUCT_TOPIC_PARTITIONS, ...options.topicPartitions },
  }
  checkInteger('defaultPartitions', settings.defaultPartitions, 1)
  if (settings.replicationFactor !== -1) checkInteger('replicationFactor', settings.replicationFactor, 1)
  checkInteger('partitionsConsumedConcurrently', settings.partitionsConsumedConcurrently, 1)
  checkInteger('sessionTimeoutMs', settings.sessionTimeoutMs, 1)
  checkInteger('heartbeatIntervalMs', settings.heartbeatIntervalMs, 1)
  checkInteger('rebalanceTimeoutMs', settings.rebalanceTimeoutMs, 1)
  checkInteger('maxWaitTimeMs', settings.maxWaitTimeMs, 0)
  checkInteger('commitIntervalMs', settings.commitIntervalMs, 0)
  checkInteger('maxConsumerRestarts', settings.maxConsumerRestarts, 0)
  checkInteger('subscribeTimeoutMs', settings.subscribeTimeoutMs, 1)
  const { heartbeatIntervalMs, sessionTimeoutMs } = settings
  // kafkajs would only say so when the first consumer starts; a rebalance storm is the alternative.
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new RangeError(`createKafkaBus: heartbeatIntervalMs (${heartbeatIntervalMs}) must be below sessionTimeoutMs (${sessionTimeoutMs}), ideally a third of it`)
  for (const [topic, count] of Object.entries(settings.topicPartitions)) checkInteger(`topicPartitions[${topic}]`, count, 1)
  return settings
}
