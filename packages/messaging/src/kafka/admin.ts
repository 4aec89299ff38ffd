/** Topic creation and the start position of a new consumer group, through one admin client. */
import type { Admin, Kafka } from 'kafkajs'
import pRetry from 'p-retry'
import { MAX_RETRY_BACKOFF_MS } from '../port.ts'
import { connectOnFirstUse, errorType, kafkajsRetry } from './client.ts'
import type { KafkaBusLogger, KafkaBusSettings, KafkaRetryOptions } from './options.ts'

export interface TopicAdmin {
  /** Creates the topic unless it exists (TOPIC_ALREADY_EXISTS is fine: another process got there first). */
  ensureTopic(topic: string): Promise<void>
  /**
   * Fixes where a group that has never committed on `topic` starts: the current end offsets
   * (or the start with `fromBeginning`), committed before the real member joins; with `'always'`
   * also a group that has committed, when it has no members (see `SubscribeOptions.fromBeginning`).
   * Retries what a new topic's leader answers at first; resolves early when `signal` aborts.
   */
  positionNewGroup(topic: string, groupId: string, fromBeginning: boolean | 'always', signal: AbortSignal): Promise<void>
  disconnect(): Promise<void>
}

/** What the admin needs of its bus. */
export interface AdminContext {
  readonly kafka: Kafka
  readonly settings: KafkaBusSettings
  readonly retry: KafkaRetryOptions | undefined
  readonly logger: KafkaBusLogger | undefined
}

/** An admin client, connected on first use. */
export function createTopicAdmin({ kafka, settings, retry, logger }: AdminContext): TopicAdmin {
  const admin: Admin = kafka.admin({ retry: kafkajsRetry(retry) })

  const connectAdmin = connectOnFirstUse(admin)

  const topicsReady = new Map<string, Promise<void>>()
  const ensureTopic = (topic: string): Promise<void> => {
    let ready = topicsReady.get(topic)
    if (ready === undefined) {
      ready = (async () => {
        await connectAdmin()
        // Looked up first: kafkajs logs every error response at error level, and a service
        // would otherwise log TOPIC_ALREADY_EXISTS for each of its topics at every start.
        if ((await admin.listTopics()).includes(topic)) return
        try {
          await admin.createTopics({
            waitForLeaders: true,
            topics: [{ topic, numPartitions: settings.topicPartitions[topic] ?? settings.defaultPartitions, replicationFactor: settings.replicationFactor }],
          })
        } catch (error) {
          if (errorType(error) !== 'TOPIC_ALREADY_EXISTS') throw error
        }
      })()
      topicsReady.set(topic, ready)
      ready.catch(() => topicsReady.delete(topic))
    }
    return ready
  }

  /**
   * kafkajs would resolve "latest" lazily at the member's first fetch, after `subscribe`
   * resolved, and miss what was published in between; and a group that never committed would
   * jump to the newest message again after a restart. kafkajs' admin.setOffsets does the same job
   * but waits a full fetch (5 s) on a paused topic, so this uses a short-lived consumer of the
   * group instead. Skipped when the group already has offsets for the topic, or has members
   * (someone else is positioning it right now).
   */
  const positionOnce = async (topic: string, groupId: string, start: boolean | 'always'): Promise<void> => {
    await connectAdmin()
    const fromBeginning = start !== false
    // Ends first, then the committed check: whatever was published after a concurrent first
    // member committed is at or after these ends.
    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    if (start !== 'always' && committed?.partitions.some(({ offset }) => offset !== '-1')) return
    const { groups } = await admin.describeGroups([groupId])
    const state = groups[0]?.state
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      // A member still counted (another instance, or one of a crashed process until its session
      // times out): rewinding under it would hand it everything again. Join where the group is.
      logger?.warn({ topic, groupId, state }, start === 'always' ? 'kafka bus: group has members; not rewound to the beginning' : 'kafka bus: new group already has members; its start offsets are left to them')
      return
    }
    const { sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs } = settings
    const positioner = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: sessionTimeoutMs, heartbeatInterval: heartbeatIntervalMs, rebalanceTimeout: rebalanceTimeoutMs, retry: { ...kafkajsRetry(retry), restartOnFailure: async () => false } })
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

  return {
    ensureTopic,
    async positionNewGroup(topic, groupId, fromBeginning, signal) {
      try {
        // Right after a topic was created its leader may not answer offset requests yet
        // (NOT_LEADER_FOR_PARTITION), and kafkajs does not retry those for admin calls.
        await pRetry(() => positionOnce(topic, groupId, fromBeginning), {
          retries: 4,
          factor: 2,
          minTimeout: 100,
          maxTimeout: MAX_RETRY_BACKOFF_MS,
          signal,
          shouldRetry: ({ error }) => (error as { retriable?: unknown }).retriable === true,
        })
      } catch (error) {
        // Closing: the caller says so.
        if (!(signal.aborted && error === signal.reason)) throw error
      }
    },
    disconnect: () => admin.disconnect(),
  }
}
