import { TOPICS, type Bus, type BusSubscription, type DeadLetterRecord, type OutgoingMessage, type SubscribeOptions } from './port.ts'
import {
  consumerSettings,
  partitionFor,
  serializeBatch,
  servingMember,
  settleInGroup,
  type BusLogger,
  type LocalMember,
  type SerializedMessage,
} from './shared.ts'

export interface MemoryBusOptions {
  /** Partitions per topic. Default 12. */
  readonly partitions?: number
  /** Receives retries (warn), dead letters and internal failures (error). */
  readonly logger?: BusLogger
}

/** A message as written to a text value, unchecked: see `MemoryBus.publishRaw`. */
export interface RawOutgoingMessage {
  readonly key: string
  readonly value: string
  readonly headers?: Readonly<Record<string, string>>
}

/** The in-memory bus, plus a test hook a Kafka fixture would implement with a raw producer. */
export interface MemoryBus extends Bus {
  /**
   * Publishes `value` text as is, without JSON serialisation: stands in for a foreign producer
   * that writes bytes which are not JSON, so tests can check poison-message handling.
   */
  publishRaw(topic: string, messages: readonly RawOutgoingMessage[]): Promise<void>
}

/** A stored message; the value stays JSON text so every delivery parses a fresh object, as from Kafka. */
interface StoredMessage extends SerializedMessage {
  readonly timestamp: string
}

interface TopicLog {
  /** partitions[p][offset] */
  readonly partitions: StoredMessage[][]
  readonly groups: Set<GroupState>
}

/** One consumer group on one topic: committed offsets, members and one delivery loop per partition. */
interface GroupState {
  readonly groupId: string
  readonly topic: string
  /** Next offset to deliver, per partition (= committed offset, Kafka style). */
  readonly committed: number[]
  /** In join order; partition p is served by members[p % members.length]. */
  readonly members: LocalMember[]
  readonly wakers: (() => void)[]
}

/**
 * An in-process bus for standalone mode and tests, with the same semantics as the Kafka one.
 * Nothing survives the process and the log has no retention: every message stays in memory
 * until the bus is dropped (fine for a district's volume; the Kafka adapter is for more).
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const partitionCount = options.partitions ?? 12
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError(`createMemoryBus: partitions must be an integer >= 1, got ${partitionCount}`)
  const { logger } = options
  const topics = new Map<string, TopicLog>()
  /** key: groupId + NUL + topic */
  const groups = new Map<string, GroupState>()
  const members = new Set<{ member: LocalMember; subscription: BusSubscription }>()
  let closed = false
  let closing: Promise<void> | undefined

  const topicLog = (topic: string): TopicLog => {
    let log = topics.get(topic)
    if (log === undefined) {
      // Auto-created on first use, like Kafka with auto.create.topics.enable.
      log = { partitions: Array.from({ length: partitionCount }, () => []), groups: new Set() }
      topics.set(topic, log)
    }
    return log
  }

  const partitionLog = (log: TopicLog, partition: number): StoredMessage[] => {
    const messages = log.partitions[partition]
    if (messages === undefined) throw new Error(`memory bus: no partition ${partition}`)
    return messages
  }

  // Synchronous from first to last message, so a batch is never interleaved with another.
  const append = (topic: string, messages: readonly SerializedMessage[]): void => {
    const log = topicLog(topic)
    const timestamp = new Date().toISOString()
    const touched = new Set<number>()
    for (const message of messages) {
      const partition = partitionFor(message.key, partitionCount)
      partitionLog(log, partition).push({ ...message, timestamp })
      touched.add(partition)
    }
    for (const group of log.groups) for (const partition of touched) group.wakers[partition]?.()
  }

  const deadLetter = (group: GroupState, partition: number, offset: number, stored: StoredMessage, record: DeadLetterRecord): void => {
    const fields = { topic: group.topic, partition, offset, key: stored.key, groupId: group.groupId, kind: record.error.kind, error: record.error.message }
    // Re-dead-lettering a dead letter could loop forever; it stays in the dead-letter topic anyway.
    if (group.topic === TOPICS.deadLetter) {
      logger?.error(fields, 'dead-letter consumer gave up on a message; skipped')
      return
    }
    logger?.error(fields, 'message dead-lettered')
    append(TOPICS.deadLetter, [{ key: stored.key, value: JSON.stringify(record), headers: stored.headers }])
  }

  /** Settles the partition's next message (with retries); false when there is none or nobody to hand it to. */
  const step = async (group: GroupState, partition: number): Promise<boolean> => {
    const offset = group.committed[partition] ?? 0
    const stored = partitionLog(topicLog(group.topic), partition)[offset]
    if (stored === undefined) return false
    return settleInGroup({
      servedBy: () => servingMember(group.members, partition),
      source: { topic: group.topic, partition, offset: String(offset), key: stored.key, groupId: group.groupId },
      value: stored.value,
      headers: () => ({ ...stored.headers }),
      timestamp: stored.timestamp,
      deadLetter: (record) => deadLetter(group, partition, offset, stored, record),
      commit: () => {
        group.committed[partition] = offset + 1
      },
      logger,
    })
  }

  /** The partition's delivery loop: one message at a time, in offset order, woken by appends and rebalances. */
  const partitionWaker = (group: GroupState, partition: number): (() => void) => {
    let running = false
    let dirty = false
    const run = async (): Promise<void> => {
      try {
        do {
          dirty = false
          while (await step(group, partition)) {
            // keep going while there is work and someone to do it
          }
        } while (dirty)
      } catch (error) {
        logger?.error({ topic: group.topic, partition, groupId: group.groupId, err: error }, 'memory bus delivery loop failed')
      } finally {
        running = false
      }
    }
    return () => {
      if (running) {
        dirty = true
        return
      }
      running = true
      // Never deliver synchronously inside publish or subscribe.
      setImmediate(() => void run())
    }
  }

  const groupState = (groupId: string, topic: string, fromBeginning: boolean | 'always'): GroupState => {
    const id = `${groupId}\u0000${topic}`
    const existing = groups.get(id)
    if (existing !== undefined) {
      if (fromBeginning === 'always' && existing.members.length === 0) existing.committed.fill(0)
      return existing
    }
    const log = topicLog(topic)
    const group: GroupState = {
      groupId,
      topic,
      committed: log.partitions.map((messages) => (fromBeginning === false ? messages.length : 0)),
      members: [],
      wakers: [],
    }
    for (let partition = 0; partition < partitionCount; partition++) group.wakers.push(partitionWaker(group, partition))
    groups.set(id, group)
    log.groups.add(group)
    return group
  }

  const wakeAll = (group: GroupState): void => {
    for (const wake of group.wakers) wake()
  }

  return {
    async publish(topic, messages: readonly OutgoingMessage[]) {
      if (closed) throw new Error(`Bus is closed: cannot publish to ${topic}`)
      append(topic, serializeBatch(topic, messages))
    },

    async publishRaw(topic, messages) {
      if (closed) throw new Error(`Bus is closed: cannot publish to ${topic}`)
      append(
        topic,
        messages.map((message) => ({ key: message.key, value: message.value, headers: { ...message.headers } })),
      )
    },

    async subscribe<V>(subscribeOptions: SubscribeOptions<V>): Promise<BusSubscription> {
      if (closed) throw new Error(`Bus is closed: cannot subscribe to ${subscribeOptions.topic}`)
      // The member only ever hands the handler values its own schema produced.
      const untyped = subscribeOptions as SubscribeOptions<unknown>
      const settings = consumerSettings(untyped)
      const group = groupState(subscribeOptions.groupId, subscribeOptions.topic, subscribeOptions.fromBeginning ?? false)
      const member: LocalMember = { options: untyped, settings, abort: new AbortController(), inFlight: new Set() }
      let leaving: Promise<void> | undefined
      const subscription: BusSubscription = {
        topic: group.topic,
        groupId: group.groupId,
        close() {
          leaving ??= (async () => {
            member.abort.abort()
            const index = group.members.indexOf(member)
            if (index !== -1) group.members.splice(index, 1)
            wakeAll(group)
            // Messages add themselves only while the member is assigned, so this set only shrinks now.
            await Promise.allSettled([...member.inFlight])
            members.delete(entry)
          })()
          return leaving
        },
      }
      const entry = { member, subscription }
      members.add(entry)
      group.members.push(member)
      wakeAll(group)
      return subscription
    },

    close() {
      closed = true
      closing ??= Promise.all([...members].map(({ subscription }) => subscription.close())).then(() => undefined)
      return closing
    },
  }
}
