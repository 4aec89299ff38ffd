/**
 * The Bus port on Apache Kafka, through kafkajs: the adapter for the distributed stack. Same
 * semantics as the memory and sqlite buses (checked by `busContract` against a real broker);
 * kafkajs types and errors stay in this folder.
 *
 * - Producer (producer.ts): idempotent, acks from all in-sync replicas, murmur2 partitioning
 *   (the Java client's, so a key lands on the same partition whichever client wrote it).
 * - Consumer (member.ts, batch.ts): one kafkajs consumer per subscription (groupId = the
 *   subscription's group), offsets committed by us only after the handler succeeded or the
 *   message was dead-lettered, partitions of one member handled concurrently, each partition in
 *   offset order.
 * - Topics (admin.ts) are created when first used (partition counts from `infra/kafka/topics.json`
 *   for the product topics, `defaultPartitions` for the rest); the broker never auto-creates them.
 * - Broker outages (broker-watch.ts): once a broker answers again, retry waits end, the old member
 *   of a restarted consumer is removed from its group, and handled messages whose commit failed
 *   come again.
 */
import type { Bus, BusSubscription, OutgoingMessage, SubscribeOptions } from '../port.ts'
import { serializeBatch } from '../shared.ts'
import { currentTrace, inSpan } from '@civic-desk/tracing'
import { createTopicAdmin } from './admin.ts'
import { createBrokerWatch } from './broker-watch.ts'
import { createClient, toBusError } from './client.ts'
import { createMember, startMember, watchForStalls } from './member.ts'
import type { Member, MemberContext } from './member-state.ts'
import { kafkaBusSettings, type KafkaBusOptions } from './options.ts'
import { createBusProducer } from './producer.ts'

/** The Kafka bus: the port, nothing more (`@civic-desk/messaging/testing` has a raw producer for poison-message tests). */
export type KafkaBus = Bus

/**
 * Creates a Bus on a Kafka cluster. Connections are opened on first use; `close()` ends every
 * subscription (committing what was handled), then the producer and the admin client.
 */
export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  const settings = kafkaBusSettings(options)
  const { logger, retry } = options
  const kafka = createClient(options)
  const watch = createBrokerWatch(options, logger)
  const admin = createTopicAdmin({ kafka, settings, retry, logger })
  const producer = createBusProducer({ kafka, retry, admin, watch })
  const context: MemberContext = { kafka, settings, retry, logger, watch, send: producer.send, onFatalError: options.onFatalError }

  let closed = false
  let closing: Promise<void> | undefined
  const members = new Set<Member>()
  const publishing = new Set<Promise<unknown>>()
  const stopWatchdog = watchForStalls(context, members)

  const send = async (topic: string, messages: readonly OutgoingMessage[]): Promise<void> => {
    const serialized = serializeBatch(topic, messages)
    const sending = producer.send(topic, serialized)
    publishing.add(sending)
    try {
      await sending
    } catch (error) {
      throw toBusError(error, `publish to ${topic}`)
    } finally {
      publishing.delete(sending)
    }
  }

  return {
    async publish(topic, messages: readonly OutgoingMessage[]) {
      if (closed) throw new Error(`Bus is closed: cannot publish to ${topic}`)
      // Inside a trace, the send is a producer span, and the messages name it as their parent.
      if (currentTrace() !== undefined) return inSpan(`publish ${topic}`, { kind: 'producer', attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.operation.type': 'send' } }, () => send(topic, messages))
      return send(topic, messages)
    },

    async subscribe<V>(subscribeOptions: SubscribeOptions<V>): Promise<BusSubscription> {
      if (closed) throw new Error(`Bus is closed: cannot subscribe to ${subscribeOptions.topic}`)
      // The member only ever hands the handler values its own schema produced.
      const member = createMember(context, subscribeOptions as SubscribeOptions<unknown>, (left) => members.delete(left))
      const { topic, groupId } = member
      members.add(member)
      try {
        await admin.ensureTopic(topic)
        await admin.positionNewGroup(topic, groupId, subscribeOptions.fromBeginning ?? false, member.abort.signal)
        if (member.closing) throw new Error('the bus is closing')
        await startMember(context, member)
      } catch (error) {
        await member.close()
        throw toBusError(error, `subscribe to ${topic} as ${groupId}`)
      }
      return { topic, groupId, close: () => member.close() }
    },

    close() {
      closed = true
      closing ??= (async () => {
        stopWatchdog()
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
