// The state of one consumer-group member and what it is given, shared by the member's lifecycle
// (member.ts) and its batch handling (batch.ts).
import type { Consumer, Kafka } from 'kafkajs'
import type { SubscribeOptions } from '../port.ts'
import type { ConsumerSettings, SerializedMessage } from '../shared.ts'
import type { BrokerWatch } from './broker-watch.ts'
import type { KafkaBusLogger, KafkaBusOptions, KafkaBusSettings, KafkaRetryOptions } from './options.ts'

export interface MemberContext {
  readonly kafka: Kafka
  readonly settings: KafkaBusSettings
  readonly retry: KafkaRetryOptions | undefined
  readonly logger: KafkaBusLogger | undefined
  readonly watch: BrokerWatch
  /** Publishes through the bus's producer (dead letters). */
  readonly send: (topic: string, messages: readonly SerializedMessage[]) => Promise<void>
  readonly onFatalError: KafkaBusOptions['onFatalError']
}

export interface Member {
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
