/**
 * The Bus port on Apache Kafka, through kafkajs: the adapter for the distributed stack. Same
 * semantics as the memory and sqlite buses (checked by `busContract` against a real broker);
 * kafkajs types and errors stay in this file.
 *
 * - Producer: idempotent, acks from all in-sync replicas, murmur2 partitioning (the Java
 *   client's, so a key lands on the same partition whichever client wrote it).
 * - Consumer: one kafkajs consumer per subscription (groupId = the subscription's group), offsets
 *   committed by us only after the handler succeeded or the message was dead-lettered,
 *   partitions of one member handled concurrently, each partition in offset order.
 * - Topics are created when first used (partition counts from `infra/kafka/topics.json` for the
 *   product topics, `defaultPartitions` for the rest); the broker never auto-creates them.
 * - Broker outages: once a broker answers again, retry waits end, the old member of a restarted
 *   consumer is removed from its group, and handled messages whose commit failed come again.
 */
import kafkajs from 'kafkajs'
import type { Admin, Broker, Cluster, Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, LogEntry, Producer, RetryOptions } from 'kafkajs'
import type { Test } from 'tap'
import { z } from 'zod'
import kafkaTopics from '../../../infra/kafka/topics.json' with { type: 'json' }
import {
  NonRetriableError,
  TOPICS,
  type Bus,
  type BusMessage,
  type BusSubscription,
  type DeadLetterRecord,
  type OutgoingMessage,
  type SubscribeOptions,
} from './port.ts'
import { abortableDelay, backoffMs, consumerSettings, deadLetterRecord, decodeValue, errorMessage, serializeBatch, type BusLogger, type ConsumerSettings } from './shared.ts'

const { Kafka: KafkaClient, PartitionAssigners, Partitioners, logLevel: LogLevel } = kafkajs

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

/** The Kafka bus: the port, nothing more (use `createKafkaRawPublisher` for poison-message tests). */
export type KafkaBus = Bus

/** Partition counts of the product topics, from the one list infra/kafka/start.sh uses too. */
const TopicList = z.object({ topics: z.array(z.strictObject({ name: z.string().min(1), partitions: z.number().int().positive() })) })
const PRODUCT_TOPIC_PARTITIONS: Readonly<Record<string, number>> = Object.fromEntries(
  TopicList.parse(kafkaTopics).topics.map((topic) => [topic.name, topic.partitions]),
)

/** Error types after which kafkajs rejoins the group (its own `isRebalancing`, not exported). */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'])

/** More joins than this within the window are reported as a rebalance storm. */
const REBALANCE_STORM_JOINS = 5
const REBALANCE_STORM_WINDOW_MS = 60_000

/** How often the bus asks again whether a broker answers, after a failure that looked like an outage. */
const PROBE_INTERVAL_MS = 500

/** kafkajs errors that mean "no broker answered" rather than "a broker said no". */
const UNREACHABLE_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSNoBrokerAvailableError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound'])

/** True when a kafkajs failure (or one along its cause chain) says the brokers could not be reached. */
function brokersUnreachable(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (UNREACHABLE_ERRORS.has(current.name)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

const KAFKA_LOG_LEVELS = { nothing: LogLevel.NOTHING, error: LogLevel.ERROR, warn: LogLevel.WARN, info: LogLevel.INFO, debug: LogLevel.DEBUG } as const

/** kafkajs error text with the kafkajs error types along its cause chain (e.g. NOT_ENOUGH_REPLICAS). */
function describeKafkaError(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const type = (current as { type?: unknown }).type
      parts.push(`${current.name}${typeof type === 'string' ? ` [${type}]` : ''}: ${current.message}`)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return parts.join(' <- ')
}

/** A kafkajs failure as a plain Error, so callers never see (or depend on) vendor error classes. */
function toBusError(error: unknown, operation: string): Error {
  if (error instanceof TypeError || error instanceof RangeError) return error
  return new Error(`Bus (kafka) ${operation} failed: ${describeKafkaError(error)}`)
}

const errorType = (error: unknown): string | undefined => {
  const type = (error as { type?: unknown } | null)?.type
  return typeof type === 'string' ? type : undefined
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`createKafkaBus: ${name} must be an integer >= ${min}, got ${value}`)
}

/** Maps kafkajs' log lines into the BusLogger; `undefined` logger = silence (never kafkajs' console logger). */
function kafkaLogCreator(logger: KafkaBusLogger | undefined) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      if (logger === undefined) return
      const { message, timestamp: _timestamp, ...fields } = log
      const obj = { component: 'kafkajs', namespace, ...fields }
      const text = String(message)
      // Said once per producer: kafkajs wants unlimited retries for its exactly-once claim. The
      // port promises at-least-once and a publish that rejects when the brokers stay away, so the
      // bounded retries are deliberate.
      if (text.startsWith('Limiting retries for the idempotent producer')) return
      // kafkajs logs every error response at error level, also those it handles itself
      // (REBALANCE_IN_PROGRESS on a heartbeat, NOT_LEADER right after a topic was created).
      // What it cannot handle comes back as a rejected call or a consumer CRASH, logged at error.
      const handledResponse = namespace === 'Connection' && text.startsWith('Response ')
      if (level === LogLevel.ERROR && !handledResponse) logger.error(obj, text)
      else if (level === LogLevel.ERROR) logger.warn(obj, text)
      else if (level === LogLevel.WARN) logger.warn(obj, text)
      else if (level === LogLevel.INFO) logger.info?.(obj, text)
      else logger.debug?.(obj, text)
    }
}

function kafkajsRetry(retry: KafkaRetryOptions | undefined): RetryOptions {
  return {
    retries: retry?.retries ?? 5,
    initialRetryTime: retry?.initialRetryTimeMs ?? 300,
    maxRetryTime: retry?.maxRetryTimeMs ?? 30_000,
  }
}

/** The kafkajs client of this package's settings (bounded retries, logs through `logger`); also used by kafka-lag.ts. */
export function createClient(options: Pick<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'kafkaLogLevel' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'retry'>): Kafka {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0 || options.brokers.some((broker) => typeof broker !== 'string' || broker.length === 0)) {
    throw new TypeError('createKafkaBus: brokers must be a non-empty list of host:port strings')
  }
  if (typeof options.clientId !== 'string' || options.clientId.length === 0) throw new TypeError('createKafkaBus: clientId must be a non-empty string')
  return new KafkaClient({
    brokers: [...options.brokers],
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Bounded: without a cap kafkajs keeps reconnecting to a broker that is down; every give-up
    // is then a rejected publish or a consumer CRASH we log (and count, see maxConsumerRestarts).
    retry: kafkajsRetry(options.retry),
    logLevel: options.logger === undefined ? LogLevel.NOTHING : KAFKA_LOG_LEVELS[options.kafkaLogLevel ?? 'warn'],
    logCreator: kafkaLogCreator(options.logger),
  })
}

/**
 * Notices when a broker answers again after failures that looked like an outage. kafkajs' retry
 * waits and ours grow while the brokers are away; the ones we own (handler and dead-letter
 * back-offs, consumer restarts) end when `recovered` aborts instead of running their course.
 */
interface BrokerWatch {
  /** Aborted when a broker answers after `suspect` was called; a fresh signal follows. */
  readonly recovered: AbortSignal
  /** A request found no broker: ask again every PROBE_INTERVAL_MS until one answers, then abort `recovered`. */
  suspect(): void
  /** Resolves true once a broker answers (at once when one does now), false when `signal` aborts or the bus closes. */
  answering(signal: AbortSignal): Promise<boolean>
  /** Removes `memberId` from `groupId` (LeaveGroup on the group's coordinator on its behalf). */
  leaveGroup(groupId: string, memberId: string): Promise<void>
  close(): Promise<void>
}

/** kafkajs' Broker sends LeaveGroup for any member id (src/broker/index.js `leaveGroup`); its types leave the method out. */
type GroupCoordinator = Broker & { leaveGroup(request: { readonly groupId: string; readonly memberId: string }): Promise<unknown> }

function createBrokerWatch(options: KafkaBusOptions, logger: KafkaBusLogger | undefined): BrokerWatch {
  // A client of its own: no retries (we pace the questions), short timeouts, and silent (while the
  // brokers are away every question fails, and the bus has said so already).
  const client = createClient({
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeoutMs: Math.min(options.connectionTimeoutMs ?? 3_000, 3_000),
    requestTimeoutMs: Math.min(options.requestTimeoutMs ?? 30_000, 10_000),
    retry: { retries: 0 },
  })
  // kafkajs has no public call that removes another member from a group. A custom partition
  // assigner is handed its consumer's cluster (kafkajs' documented assigner contract), whose group
  // coordinator can send the LeaveGroup. This consumer only lends its cluster: it never connects or runs.
  let cluster: Cluster | undefined
  client.consumer({
    groupId: `${options.clientId}-broker-watch`,
    partitionAssigners: [
      (config) => {
        cluster = config.cluster
        return PartitionAssigners.roundRobin(config)
      },
    ],
  })
  if (cluster === undefined) throw new Error('kafka bus: kafkajs did not hand its cluster to the partition assigner')
  const brokers = cluster

  const closing = new AbortController()
  let recovered = new AbortController()
  let suspected = false
  let probing: Promise<boolean> | undefined

  const probe = async (): Promise<boolean> => {
    try {
      await brokers.connect()
      await brokers.refreshMetadata()
      return true
    } catch {
      // Start from scratch next time: kafkajs may still count a broker whose socket has closed as connected.
      await brokers.disconnect().catch(() => undefined)
      return false
    }
  }

  const probeUntilAnswered = (): Promise<boolean> => {
    probing ??= (async () => {
      let failures = 0
      try {
        while (!(await probe())) {
          failures++
          if (failures === 1) logger?.warn({ brokers: options.brokers, everyMs: PROBE_INTERVAL_MS }, 'kafka bus: no broker answers; asking again until one does')
          await abortableDelay(PROBE_INTERVAL_MS, closing.signal)
          if (closing.signal.aborted) return false
        }
      } finally {
        probing = undefined
      }
      if (failures > 0) logger?.info?.({ brokers: options.brokers, afterMs: failures * PROBE_INTERVAL_MS }, 'kafka bus: a broker answers again')
      if (suspected) {
        suspected = false
        const done = recovered
        recovered = new AbortController()
        done.abort()
      }
      return true
    })()
    return probing
  }

  return {
    get recovered() {
      return recovered.signal
    },
    suspect() {
      if (closing.signal.aborted) return
      suspected = true
      void probeUntilAnswered()
    },
    async answering(signal) {
      if (closing.signal.aborted || signal.aborted) return false
      let onAbort = (): void => undefined
      const aborted = new Promise<false>((resolve) => {
        onAbort = () => resolve(false)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      try {
        return await Promise.race([probeUntilAnswered(), aborted])
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    },
    async leaveGroup(groupId, memberId) {
      await brokers.connect()
      const coordinator = (await brokers.findGroupCoordinator({ groupId })) as GroupCoordinator
      await coordinator.leaveGroup({ groupId, memberId })
    },
    async close() {
      closing.abort()
      await probing
      await brokers.disconnect().catch(() => undefined)
    },
  }
}

/** Kafka headers (Buffers, or lists of them for a repeated name) as strings; the last of a repeated name wins. */
function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last !== undefined) decoded[name] = typeof last === 'string' ? last : last.toString('utf8')
  }
  return decoded
}

const messageHeaders = (message: KafkaMessage): IHeaders | undefined => ('headers' in message ? message.headers : undefined)

interface Member {
  readonly topic: string
  readonly groupId: string
  readonly options: SubscribeOptions<unknown>
  readonly settings: ConsumerSettings
  closing: boolean
  /** Aborted on close: cuts retry back-offs and the join wait short. */
  readonly abort: AbortController
  /** Aborted when a heartbeat says the group is rebalancing; replaced when the member has joined again. */
  rebalance: AbortController
  /** Batches being handled; close awaits them (kafkajs does too, this is the belt to its braces). */
  readonly inFlight: Set<Promise<unknown>>
  consumer?: Consumer
  /** The member id kafkajs got at the last join; kafkajs takes a new one whenever it restarts the consumer. */
  memberId: string | undefined
  /**
   * Ids of members this subscription had before kafkajs restarted its consumer. kafkajs leaves the
   * group as it stops a crashed consumer, but not when the broker is away: the broker then keeps
   * the old member, and the restarted consumer's join waits until that member's session expires.
   */
  readonly staleMemberIds: Set<string>
  /** Removing `staleMemberIds`, when running. */
  removingStale: Promise<void> | undefined
  lastFetchAt: number
  stallReported: boolean
  close(): Promise<void>
}

type Settled = 'done' | 'abandoned'

/**
 * Creates a Bus on a Kafka cluster. Connections are opened on first use; `close()` ends every
 * subscription (committing what was handled), then the producer and the admin client.
 */
export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  const defaultPartitions = options.defaultPartitions ?? 6
  const replicationFactor = options.replicationFactor ?? -1
  const concurrency = options.partitionsConsumedConcurrently ?? 12
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000
  const rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000
  const maxWaitTimeMs = options.maxWaitTimeMs ?? 1_000
  const commitIntervalMs = options.commitIntervalMs ?? 1_000
  const maxConsumerRestarts = options.maxConsumerRestarts ?? 10
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? 60_000
  checkInteger('defaultPartitions', defaultPartitions, 1)
  if (replicationFactor !== -1) checkInteger('replicationFactor', replicationFactor, 1)
  checkInteger('partitionsConsumedConcurrently', concurrency, 1)
  checkInteger('sessionTimeoutMs', sessionTimeoutMs, 1)
  checkInteger('heartbeatIntervalMs', heartbeatIntervalMs, 1)
  checkInteger('rebalanceTimeoutMs', rebalanceTimeoutMs, 1)
  checkInteger('maxWaitTimeMs', maxWaitTimeMs, 0)
  checkInteger('commitIntervalMs', commitIntervalMs, 0)
  checkInteger('maxConsumerRestarts', maxConsumerRestarts, 0)
  checkInteger('subscribeTimeoutMs', subscribeTimeoutMs, 1)
  // kafkajs would only say so when the first consumer starts; a rebalance storm is the alternative.
  if (heartbeatIntervalMs >= sessionTimeoutMs) throw new RangeError(`createKafkaBus: heartbeatIntervalMs (${heartbeatIntervalMs}) must be below sessionTimeoutMs (${sessionTimeoutMs}), ideally a third of it`)
  const topicPartitions = { ...PRODUCT_TOPIC_PARTITIONS, ...options.topicPartitions }
  for (const [topic, count] of Object.entries(topicPartitions)) checkInteger(`topicPartitions[${topic}]`, count, 1)
  const { logger } = options

  const kafka = createClient(options)
  const watch = createBrokerWatch(options, logger)
  const admin: Admin = kafka.admin({ retry: kafkajsRetry(options.retry) })
  const producer: Producer = kafka.producer({
    // Idempotence: a retried send cannot write a message twice or out of order. kafkajs only
    // supports it with one request in flight per broker connection.
    idempotent: true,
    maxInFlightRequests: 1,
    // Explicit, so kafkajs does not warn about its v2 default change; murmur2 like the Java client.
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: kafkajsRetry(options.retry),
  })

  let closed = false
  let closing: Promise<void> | undefined
  const members = new Set<Member>()
  const publishing = new Set<Promise<unknown>>()

  // Connections are made on first use and remembered; a failed connect is forgotten so the next call tries again.
  let adminReady: Promise<void> | undefined
  let producerReady: Promise<void> | undefined
  const connectAdmin = (): Promise<void> => {
    adminReady ??= admin.connect().catch((error: unknown) => {
      adminReady = undefined
      throw error
    })
    return adminReady
  }
  const connectProducer = (): Promise<void> => {
    producerReady ??= producer.connect().catch((error: unknown) => {
      producerReady = undefined
      throw error
    })
    return producerReady
  }

  const topicsReady = new Map<string, Promise<void>>()
  /** Creates the topic unless it exists (TOPIC_ALREADY_EXISTS is fine: another process got there first). */
  const ensureTopic = (topic: string): Promise<void> => {
    let ready = topicsReady.get(topic)
    if (ready === undefined) {
      ready = (async () => {
        await connectAdmin()
        // Looked up first: kafkajs logs every error response at error level, and a service
        // would otherwise log TOPIC_ALREADY_EXISTS for each of its topics at every start.
        if ((await admin.listTopics()).includes(topic)) return
        try {
          await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: topicPartitions[topic] ?? defaultPartitions, replicationFactor }] })
        } catch (error) {
          if (errorType(error) !== 'TOPIC_ALREADY_EXISTS') throw error
        }
      })()
      topicsReady.set(topic, ready)
      ready.catch(() => topicsReady.delete(topic))
    }
    return ready
  }

  const send = async (topic: string, messages: readonly { key: string; value: string; headers: Readonly<Record<string, string>> }[]): Promise<void> => {
    if (messages.length === 0) return
    try {
      await ensureTopic(topic)
      await connectProducer()
      // acks -1: the leader answers once every in-sync replica has the batch (with min.insync.replicas, no loss when one broker dies).
      await producer.send({ topic, acks: -1, messages: messages.map(({ key, value, headers }) => ({ key, value, headers: { ...headers } })) })
    } catch (error) {
      // Whoever retries this (a handler's back-off, the dead-letter loop) hears when a broker answers again.
      if (brokersUnreachable(error)) watch.suspect()
      throw error
    }
  }

  /**
   * Fixes where a group that has never committed on `topic` starts: the current end offsets
   * (or the start with `fromBeginning`), committed before the real member joins. kafkajs would
   * resolve "latest" lazily at the member's first fetch, after `subscribe` resolved, and miss
   * what was published in between; and a group that never committed would jump to the newest
   * message again after a restart. kafkajs' admin.setOffsets does the same job but waits a full
   * fetch (5 s) on a paused topic, so this uses a short-lived consumer of the group instead.
   * Skipped when the group already has offsets for the topic, or has members (someone else is
   * positioning it right now).
   */
  const positionNewGroup = async (topic: string, groupId: string, fromBeginning: boolean): Promise<void> => {
    await connectAdmin()
    // Ends first, then the committed check: whatever was published after a concurrent first
    // member committed is at or after these ends.
    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    if (committed?.partitions.some(({ offset }) => offset !== '-1')) return
    const { groups } = await admin.describeGroups([groupId])
    const state = groups[0]?.state
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      logger?.warn({ topic, groupId, state }, 'kafka bus: new group already has members; its start offsets are left to them')
      return
    }
    const positioner = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: sessionTimeoutMs, heartbeatInterval: heartbeatIntervalMs, rebalanceTimeout: rebalanceTimeoutMs, retry: { ...kafkajsRetry(options.retry), restartOnFailure: async () => false } })
    let joined = false
    positioner.on(positioner.events.GROUP_JOIN, () => {
      joined = true
    })
    try {
      await positioner.connect()
      await positioner.subscribe({ topics: [topic], fromBeginning })
      // Never resolves an offset, so this consumer commits nothing but what is committed below.
      await positioner.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined })
      if (!joined) throw new Error('could not join the group')
      await positioner.commitOffsets(ends.map(({ partition, low, high }) => ({ topic, partition, offset: fromBeginning ? low : high })))
    } finally {
      await positioner.disconnect().catch((error: unknown) => logger?.warn({ topic, groupId, err: error }, 'kafka bus: positioning consumer did not disconnect cleanly'))
    }
    // commitOffsets is a silent no-op when kafkajs stopped the consumer meanwhile: check.
    const [after] = await admin.fetchOffsets({ groupId, topics: [topic] })
    if (!after?.partitions.some(({ offset }) => offset !== '-1')) throw new Error(`could not commit start offsets for new group ${groupId}`)
  }

  const deadLetter = async (member: Member, record: DeadLetterRecord, key: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<boolean> => {
    const fields = { ...record.source, kind: record.error.kind, error: record.error.message }
    // Re-dead-lettering a dead letter could loop forever; it stays in the dead-letter topic anyway.
    if (member.topic === TOPICS.deadLetter) {
      logger?.error(fields, 'dead-letter consumer gave up on a message; skipped')
      return true
    }
    logger?.error(fields, 'message dead-lettered')
    // The offset is committed only once the dead letter is stored: retry until then, or until the member leaves.
    let backoffStep = 0
    for (let attempt = 1; ; attempt++) {
      const brokersBack = watch.recovered
      try {
        await send(TOPICS.deadLetter, [{ key, value: JSON.stringify(record), headers }])
        return true
      } catch (error) {
        backoffStep++
        const retryInMs = backoffMs(backoffStep, 500)
        logger?.error({ ...fields, attempt, retryInMs, err: error }, 'kafka bus: could not publish a dead letter; will retry')
        if (signal.aborted) return false
        await abortableDelay(retryInMs, AbortSignal.any([signal, brokersBack]))
        if (signal.aborted) return false
        // The wait grew while the brokers were away; they answer again, so retry now and start the back-off over.
        if (brokersBack.aborted) backoffStep = 0
      }
    }
  }

  /** Hands one message to the handler (with retries) or dead-letters it; 'abandoned' = leave it uncommitted. */
  const settle = async (member: Member, partition: number, message: KafkaMessage, signal: AbortSignal): Promise<Settled> => {
    const { topic, groupId, options: subscribeOptions, settings } = member
    const raw = message.value === null ? '' : message.value.toString('utf8')
    const key = message.key === null ? '' : message.key.toString('utf8')
    const headers = decodeHeaders(messageHeaders(message))
    const source = { topic, partition, offset: message.offset, key, groupId }
    const timestamp = new Date(Number(message.timestamp)).toISOString()
    // Attempts count towards maxAttempts; the back-off step starts over when the brokers answer again after an outage.
    let backoffStep = 0
    for (let attempt = 1; ; attempt++) {
      const brokersBack = watch.recovered
      // Decoded per attempt, so a handler that mutated the value gets a fresh one on retry.
      const decoded = await decodeValue(raw, subscribeOptions.schema)
      if (!decoded.ok) {
        const payload = 'rawValue' in decoded ? { rawValue: decoded.rawValue } : { value: decoded.value }
        const record = deadLetterRecord({ kind: 'invalid', message: decoded.message, source, attempts: attempt - 1, failedAt: new Date(), payload })
        return (await deadLetter(member, record, key, headers, signal)) ? 'done' : 'abandoned'
      }
      const busMessage: BusMessage = { ...source, value: decoded.value, headers: { ...headers }, timestamp }
      try {
        await subscribeOptions.handler(busMessage)
        return 'done'
      } catch (error) {
        if (error instanceof NonRetriableError || attempt >= settings.maxAttempts) {
          const record = deadLetterRecord({ kind: 'failed', message: errorMessage(error), source, attempts: attempt, failedAt: new Date(), payload: { value: JSON.parse(raw) as unknown } })
          return (await deadLetter(member, record, key, headers, signal)) ? 'done' : 'abandoned'
        }
        backoffStep++
        const retryInMs = backoffMs(backoffStep, settings.retryBackoffMs)
        logger?.warn({ ...source, attempt, retryInMs, err: error }, 'handler failed; will retry')
        // Closing or rebalancing: the message stays uncommitted and goes to whoever holds the partition next.
        if (signal.aborted) return 'abandoned'
        // A handler that publishes fails while the brokers are away, and its wait doubles with each
        // failure (up to 30 s): when a broker answers again, retry at once and start the back-off over.
        await abortableDelay(retryInMs, AbortSignal.any([signal, brokersBack]))
        if (signal.aborted) return 'abandoned'
        if (brokersBack.aborted) {
          logger?.info?.({ ...source, attempt }, 'kafka bus: a broker answers again; retrying the handler now')
          backoffStep = 0
        }
      }
    }
  }

  /** One fetched batch of one partition: messages in offset order, committed as they settle. */
  const handleBatch = async (member: Member, payload: EachBatchPayload): Promise<void> => {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload
    const { topic, partition } = batch
    let heartbeatError: unknown
    const batchAbort = new AbortController()
    const signal = AbortSignal.any([member.abort.signal, member.rebalance.signal, batchAbort.signal])
    // A long handler or back-off must not let the session expire (the group would rebalance
    // under it and hand the partition to someone else while it still runs): heartbeat on a
    // timer. A failed heartbeat (usually "rebalance in progress") ends the batch early so the
    // member rejoins within rebalanceTimeout; the handled part is committed first.
    let beating = false
    const timer = setInterval(() => {
      if (beating) return
      beating = true
      heartbeat()
        .catch((error: unknown) => {
          heartbeatError ??= error
          if (REBALANCE_ERRORS.has(errorType(error) ?? '')) member.rebalance.abort()
          if (brokersUnreachable(error)) watch.suspect()
          batchAbort.abort()
        })
        .finally(() => {
          beating = false
        })
    }, heartbeatIntervalMs)

    let settledOffset: string | undefined
    // The batch starts at the partition's committed offset: the last batch committed what it
    // settled, or seeked back below when that failed.
    let uncommittedFrom = batch.messages[0]?.offset
    let lastCommit = Date.now()
    const commit = async (): Promise<void> => {
      if (settledOffset === undefined) return
      const next = (BigInt(settledOffset) + 1n).toString()
      // Explicit offsets: with autoCommit off kafkajs commits nothing by itself.
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] })
      settledOffset = undefined
      uncommittedFrom = next
      lastCommit = Date.now()
    }
    try {
      for (const message of batch.messages) {
        if (signal.aborted || !isRunning() || isStale()) break
        const outcome = await settle(member, partition, message, signal)
        if (outcome === 'abandoned') break
        resolveOffset(message.offset)
        settledOffset = message.offset
        if (Date.now() - lastCommit >= commitIntervalMs) await commit()
      }
      await commit()
    } catch (error) {
      // What settled before the failure is committed if the generation still allows it; the rest comes again.
      const commitError = await commit().then(
        () => undefined,
        (failure: unknown) => {
          logger?.warn({ topic, partition, groupId: member.groupId, err: failure }, 'kafka bus: commit after a failure did not go through; messages will be redelivered')
          return failure ?? new Error('commit failed')
        },
      )
      // kafkajs fetches on from the offsets we resolved, not from the committed ones: unless it
      // rejoins the group (which rereads the committed offsets), the settled messages of a failed
      // commit would stay uncommitted until the partition's next message, lag with no one behind
      // it. Going back to the first uncommitted message hands them out again (handlers are
      // idempotent) and commits them then. Not when the group is rebalancing: the rejoin rereads
      // them, and a seek kafkajs keeps for a partition that went to another member would rewind
      // it whenever it came back.
      const rejoining = [error, commitError].some((failure) => REBALANCE_ERRORS.has(errorType(failure) ?? ''))
      if (commitError !== undefined && !rejoining && uncommittedFrom !== undefined) {
        try {
          member.consumer?.seek({ topic, partition, offset: uncommittedFrom })
        } catch {
          // The consumer has stopped: a restarted one starts from the committed offsets anyway.
        }
      }
      throw error
    } finally {
      clearInterval(timer)
    }
    // Handing the heartbeat's error to kafkajs makes it rejoin the group now.
    if (heartbeatError !== undefined && !member.closing) throw heartbeatError
  }

  /**
   * Removes the members a crashed consumer left in its group (see `Member.staleMemberIds`) as soon
   * as a broker answers, so the restarted consumer's join completes at once instead of after their
   * session timeout. The order against that join does not matter: the broker completes a waiting
   * rebalance when the last missing member leaves.
   */
  const removeStaleMembers = (member: Member): void => {
    const { topic, groupId } = member
    member.removingStale ??= (async () => {
      // A stale member expires by itself one session after the broker took the group back.
      let attemptsLeft = Math.ceil(sessionTimeoutMs / PROBE_INTERVAL_MS)
      try {
        while (member.staleMemberIds.size > 0 && attemptsLeft > 0) {
          if (!(await watch.answering(member.abort.signal))) return
          for (const memberId of [...member.staleMemberIds]) {
            try {
              await watch.leaveGroup(groupId, memberId)
              member.staleMemberIds.delete(memberId)
              logger?.info?.({ topic, groupId, memberId }, 'kafka bus: removed the member the crashed consumer left in its group')
            } catch (error) {
              // Gone already: kafkajs' own leave went through, or its session expired.
              if (errorType(error) === 'UNKNOWN_MEMBER_ID') member.staleMemberIds.delete(memberId)
              else attemptsLeft--
            }
          }
          if (member.staleMemberIds.size > 0) await abortableDelay(PROBE_INTERVAL_MS, member.abort.signal)
        }
        if (member.staleMemberIds.size > 0 && !member.closing) {
          logger?.warn({ topic, groupId, memberIds: [...member.staleMemberIds] }, 'kafka bus: could not remove the old members of the consumer; the group waits for their sessions to expire')
        }
        member.staleMemberIds.clear()
      } finally {
        member.removingStale = undefined
      }
    })()
  }

  const startMember = async (member: Member): Promise<void> => {
    const { topic, groupId } = member
    let restarts = 0
    let joinedOnce = false
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: heartbeatIntervalMs,
      rebalanceTimeout: rebalanceTimeoutMs,
      maxWaitTimeInMs: maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: {
        ...kafkajsRetry(options.retry),
        // kafkajs restarts a consumer after every retriable crash, forever: with the broker down
        // that is an endless loop that looks healthy. Count the restarts and give up after
        // maxConsumerRestarts in a row (a join resets the count); every crash is logged below.
        restartOnFailure: async (error) => {
          if (member.closing) return false
          restarts++
          if (restarts > maxConsumerRestarts) return false
          if (member.memberId !== undefined) {
            member.staleMemberIds.add(member.memberId)
            member.memberId = undefined
            removeStaleMembers(member)
          }
          // kafkajs restarts after `error.retryTime`, the last wait of the retry cycle that failed
          // (it doubles, with jitter, up to maxRetryTime): wait that long at most, but restart as
          // soon as a broker answers again. The count of restarts keeps its pace while they are away.
          const retrying = error as Error & { retryTime?: unknown }
          const delay = typeof retrying.retryTime === 'number' && retrying.retryTime > 0 ? retrying.retryTime : kafkajsRetry(options.retry).initialRetryTime
          const brokersBack = watch.recovered
          if (brokersUnreachable(error)) watch.suspect()
          await abortableDelay(delay ?? 0, AbortSignal.any([member.abort.signal, brokersBack]))
          // Waited here already. kafkajs reads retryTime after this callback resolved (src/consumer/index.js,
          // `onCrash`) and takes a falsy one for "use initialRetryTime", hence 1 ms.
          retrying.retryTime = 1
          return !member.closing
        },
      },
    })
    member.consumer = consumer

    let resolveJoin = (): void => undefined
    let rejectJoin = (_error: Error): void => undefined
    const joined = new Promise<void>((resolve, reject) => {
      resolveJoin = resolve
      rejectJoin = reject
    })
    // Nobody may be listening any more when a crash comes after subscribe gave up.
    joined.catch(() => undefined)

    let recentJoins: number[] = []
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      restarts = 0
      member.memberId = payload.memberId
      member.rebalance = new AbortController()
      member.lastFetchAt = Date.now()
      const fields = { topic, groupId, memberId: payload.memberId, assigned: payload.memberAssignment[topic] ?? [] }
      if (joinedOnce) logger?.info?.(fields, 'kafka bus: member rejoined its group')
      joinedOnce = true
      // A rebalance now and then is normal (members come and go); many in a row mean members
      // keep timing out (handlers longer than rebalanceTimeoutMs, GC pauses, sessions too short).
      const now = Date.now()
      recentJoins = [...recentJoins.filter((at) => now - at < REBALANCE_STORM_WINDOW_MS), now]
      if (recentJoins.length > REBALANCE_STORM_JOINS) logger?.warn({ ...fields, joins: recentJoins.length, windowMs: REBALANCE_STORM_WINDOW_MS }, 'kafka bus: rebalance storm: the member keeps rejoining its group')
      resolveJoin()
    })
    consumer.on(consumer.events.REBALANCING, () => member.rebalance.abort())
    consumer.on(consumer.events.FETCH_START, () => {
      member.lastFetchAt = Date.now()
      member.stallReported = false
    })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      const fields = { topic, groupId, restart: payload.restart, err: payload.error, restarts }
      if (member.closing) return
      if (payload.restart) {
        logger?.error(fields, 'kafka bus: consumer crashed; kafkajs restarts it')
        return
      }
      // Not restarted: this subscription no longer consumes. Say it loudly and tell the owner.
      logger?.error(fields, 'kafka bus: consumer crashed and will NOT restart; the subscription has stopped consuming')
      const error = toBusError(payload.error, `consumer of ${topic} in group ${groupId}`)
      rejectJoin(error)
      if (joinedOnce) options.onFatalError?.(error, { topic, groupId })
    })
    // A consumer that stops or disconnects while the subscription is open has stopped silently
    // unless someone says so (kafkajs emits these before a CRASH, or alone).
    consumer.on(consumer.events.STOP, () => {
      if (!member.closing) logger?.error({ topic, groupId }, 'kafka bus: consumer stopped while its subscription is open')
    })
    consumer.on(consumer.events.DISCONNECT, () => {
      if (!member.closing) logger?.error({ topic, groupId }, 'kafka bus: consumer disconnected while its subscription is open')
    })

    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: member.options.fromBeginning ?? false })
    await consumer.run({
      // We commit, and only what settled: kafkajs' auto-commit would commit fetched batches.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: async (payload) => {
        if (member.closing) return
        const work = handleBatch(member, payload)
        member.inFlight.add(work)
        try {
          await work
        } finally {
          member.inFlight.delete(work)
        }
      },
    })

    // run() resolves after the first join (or a crash); wait for the join event, bounded.
    let timer: NodeJS.Timeout | undefined
    const onAbort = (): void => rejectJoin(new Error('the bus is closing'))
    member.abort.signal.addEventListener('abort', onAbort, { once: true })
    try {
      await Promise.race([
        joined,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`did not join group ${groupId} within ${subscribeTimeoutMs} ms`)), subscribeTimeoutMs)
        }),
      ])
    } finally {
      clearTimeout(timer)
      member.abort.signal.removeEventListener('abort', onAbort)
    }
  }

  // The "consumer silently stopped" watch: a joined member that has not fetched for a whole
  // session while nothing is being handled is stuck, whatever kafkajs says.
  const watchdog = setInterval(() => {
    const now = Date.now()
    for (const member of members) {
      if (member.closing || member.stallReported || member.inFlight.size > 0 || member.consumer === undefined) continue
      if (now - member.lastFetchAt > sessionTimeoutMs + maxWaitTimeMs) {
        member.stallReported = true
        logger?.error({ topic: member.topic, groupId: member.groupId, idleMs: now - member.lastFetchAt }, 'kafka bus: consumer has not fetched for a whole session; it may have stopped')
      }
    }
  }, Math.max(1_000, Math.floor(sessionTimeoutMs / 2)))
  watchdog.unref()

  return {
    async publish(topic, messages: readonly OutgoingMessage[]) {
      if (closed) throw new Error(`Bus is closed: cannot publish to ${topic}`)
      const serialized = serializeBatch(topic, messages)
      const sending = send(topic, serialized)
      publishing.add(sending)
      try {
        await sending
      } catch (error) {
        throw toBusError(error, `publish to ${topic}`)
      } finally {
        publishing.delete(sending)
      }
    },

    async subscribe<V>(subscribeOptions: SubscribeOptions<V>): Promise<BusSubscription> {
      if (closed) throw new Error(`Bus is closed: cannot subscribe to ${subscribeOptions.topic}`)
      // The member only ever hands the handler values its own schema produced.
      const untyped = subscribeOptions as SubscribeOptions<unknown>
      const settings = consumerSettings(untyped)
      const { topic, groupId } = untyped
      let leaving: Promise<void> | undefined
      const member: Member = {
        topic,
        groupId,
        options: untyped,
        settings,
        closing: false,
        abort: new AbortController(),
        rebalance: new AbortController(),
        inFlight: new Set(),
        memberId: undefined,
        staleMemberIds: new Set(),
        removingStale: undefined,
        lastFetchAt: Date.now(),
        stallReported: false,
        close() {
          leaving ??= (async () => {
            member.closing = true
            // Cuts a back-off short; a handler call in flight runs to its end and is committed.
            member.abort.abort()
            try {
              // Stops fetching, waits for the batches in hand (they stop after the message in
              // flight and commit), leaves the group, closes the connections.
              await member.consumer?.disconnect()
            } catch (error) {
              logger?.error({ topic, groupId, err: error }, 'kafka bus: consumer did not disconnect cleanly')
            }
            await Promise.allSettled([...member.inFlight, member.removingStale])
            members.delete(member)
          })()
          return leaving
        },
      }
      members.add(member)
      try {
        await ensureTopic(topic)
        // Right after a topic was created its leader may not answer offset requests yet
        // (NOT_LEADER_FOR_PARTITION), and kafkajs does not retry those for admin calls.
        for (let attempt = 1; ; attempt++) {
          try {
            await positionNewGroup(topic, groupId, subscribeOptions.fromBeginning ?? false)
            break
          } catch (error) {
            if ((error as { retriable?: unknown }).retriable !== true || attempt >= 5 || member.closing) throw error
            await abortableDelay(backoffMs(attempt, 100), member.abort.signal)
          }
        }
        if (member.closing) throw new Error('the bus is closing')
        await startMember(member)
      } catch (error) {
        await member.close()
        throw toBusError(error, `subscribe to ${topic} as ${groupId}`)
      }
      return { topic, groupId, close: () => member.close() }
    },

    close() {
      closed = true
      closing ??= (async () => {
        clearInterval(watchdog)
        await Promise.all([...members].map((member) => member.close()))
        await Promise.allSettled([...publishing])
        // Disconnecting a client that never connected is a no-op in kafkajs.
        await producer.disconnect().catch((error: unknown) => logger?.warn({ err: error }, 'kafka bus: producer did not disconnect cleanly'))
        await admin.disconnect().catch((error: unknown) => logger?.warn({ err: error }, 'kafka bus: admin client did not disconnect cleanly'))
        await watch.close()
      })()
      return closing
    },
  }
}

export interface KafkaRawPublisherOptions extends Pick<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'retry' | 'connectionTimeoutMs'> {}

/** A plain producer for tests: see `createKafkaRawPublisher`. */
export interface KafkaRawPublisher {
  /**
   * Writes `value` text as is, without JSON serialisation, like a foreign producer would (plain
   * kafkajs, acks 1, not idempotent, same murmur2 partitioner). The topic must exist. Resolves
   * with where each message landed.
   */
  publishRaw(topic: string, messages: readonly { readonly key: string; readonly value: string; readonly headers?: Readonly<Record<string, string>> }[]): Promise<{ partition: number; offset: string }[]>
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
