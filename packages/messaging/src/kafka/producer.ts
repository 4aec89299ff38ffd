/** The bus's one producer: idempotent, acks from all in-sync replicas, murmur2 partitioning. */
import kafkajs from 'kafkajs'
import type { Kafka, Producer } from 'kafkajs'
import { processMetrics } from '@civic-desk/service-kit'
import type { SerializedMessage } from '../shared.ts'
import type { TopicAdmin } from './admin.ts'
import type { BrokerWatch } from './broker-watch.ts'
import { brokersUnreachable, connectOnFirstUse, kafkajsRetry } from './client.ts'
import type { KafkaRetryOptions } from './options.ts'

const { Partitioners } = kafkajs

export interface BusProducer {
  /** Writes the messages to `topic`, creating it first when needed; resolves once the brokers acknowledged them. */
  send(topic: string, messages: readonly SerializedMessage[]): Promise<void>
  disconnect(): Promise<void>
}

/** What the producer needs of its bus. */
export interface ProducerContext {
  readonly kafka: Kafka
  readonly retry: KafkaRetryOptions | undefined
  readonly admin: Pick<TopicAdmin, 'ensureTopic'>
  readonly watch: Pick<BrokerWatch, 'suspect'>
}

/** A producer, connected on first use. */
export function createBusProducer({ kafka, retry, admin, watch }: ProducerContext): BusProducer {
  const producer: Producer = kafka.producer({
    // Idempotence: a retried send cannot write a message twice or out of order. kafkajs only
    // supports it with one request in flight per broker connection.
    idempotent: true,
    maxInFlightRequests: 1,
    // Explicit, so kafkajs does not warn about its v2 default change; murmur2 like the Java client.
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: kafkajsRetry(retry),
  })

  const connectProducer = connectOnFirstUse(producer)

  return {
    async send(topic, messages) {
      if (messages.length === 0) return
      try {
        await admin.ensureTopic(topic)
        await connectProducer()
        // acks -1: the leader answers once every in-sync replica has the batch (with min.insync.replicas, no loss when one broker dies).
        await producer.send({ topic, acks: -1, messages: messages.map(({ key, value, headers }) => ({ key, value, headers: { ...headers } })) })
      } catch (error) {
        processMetrics()?.kafkaErrors.inc({ client: 'producer' })
        // Whoever retries this (a handler's back-off, the dead-letter retries) hears when a broker answers again.
        if (brokersUnreachable(error)) watch.suspect()
        throw error
      }
    },
    disconnect: () => producer.disconnect(),
  }
}
