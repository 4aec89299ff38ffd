import type { Admin } from 'kafkajs'
import { createClient } from './kafka/client.ts'
import type { KafkaBusOptions } from './kafka/options.ts'

/** How far one consumer group is behind on one topic. */
export interface KafkaGroupLag {
  readonly groupId: string
  readonly topic: string
  /** Messages on the topic the group has not committed yet, summed over partitions. */
  readonly lag: number
  /** Group state as the broker reports it (`Stable`, `Empty`, `PreparingRebalance`…). */
  readonly state: string
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly committed: number | null; readonly end: number; readonly lag: number }>
}

export interface KafkaLagReader {
  /**
   * The lag of every consumer group on every topic it has committed offsets for (or of the
   * groups named), sorted by group and topic. A partition without a committed offset counts
   * from its earliest retained message.
   */
  read(options?: { readonly groupIds?: readonly string[]; readonly topics?: readonly string[] }): Promise<KafkaGroupLag[]>
  close(): Promise<void>
}

/**
 * Consumer-group lag straight from the broker (committed offsets against each partition's end),
 * for the operators' stream view and the benchmark. Offsets are committed after handling, so a
 * group's lag includes what it is handling right now.
 */
export function createKafkaLagReader(options: Pick<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'retry'>): KafkaLagReader {
  const admin: Admin = createClient(options).admin()
  let connected: Promise<void> | undefined
  const connect = (): Promise<void> => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined
      throw error
    })
    return connected
  }
  return {
    async read(filter = {}) {
      await connect()
      const groupIds = filter.groupIds ?? (await admin.listGroups()).groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '').map((g) => g.groupId)
      if (groupIds.length === 0) return []
      const { groups } = await admin.describeGroups([...groupIds])
      const states = new Map(groups.map((g) => [g.groupId, g.state]))
      const ends = new Map<string, Promise<Array<{ partition: number; high: string; low: string }>>>()
      const endsOf = (topic: string) => {
        let found = ends.get(topic)
        if (found === undefined) {
          found = admin.fetchTopicOffsets(topic)
          ends.set(topic, found)
        }
        return found
      }
      const lags: KafkaGroupLag[] = []
      for (const groupId of [...groupIds].sort()) {
        const committed = await admin.fetchOffsets({ groupId, ...(filter.topics === undefined ? {} : { topics: [...filter.topics] }) })
        for (const { topic, partitions } of committed) {
          const topicEnds = await endsOf(topic)
          const perPartition = topicEnds
            .map(({ partition, high, low }) => {
              const offset = Number(partitions.find((p) => p.partition === partition)?.offset ?? -1)
              const end = Number(high)
              const from = offset >= 0 ? Math.max(offset, Number(low)) : Number(low)
              return { partition, committed: offset >= 0 ? offset : null, end, lag: Math.max(0, end - from) }
            })
            .sort((a, b) => a.partition - b.partition)
          lags.push({ groupId, topic, state: states.get(groupId) ?? 'Unknown', lag: perPartition.reduce((sum, p) => sum + p.lag, 0), partitions: perPartition })
        }
      }
      return lags.sort((a, b) => a.groupId.localeCompare(b.groupId) || a.topic.localeCompare(b.topic))
    },
    async close() {
      if (connected !== undefined) await admin.disconnect().catch(() => undefined)
      connected = undefined
    },
  }
}
