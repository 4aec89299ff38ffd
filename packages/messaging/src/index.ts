/** @civic-desk/messaging: the message bus port and its adapters (test support: `@civic-desk/messaging/testing`). */
export type {
  /** A delivered message: topic, partition, offset, key, parsed value, headers, timestamp. */
  BusMessage,
  /** The bus port: publish, subscribe in consumer groups, close. */
  Bus,
  /** One member of a consumer group; close() finishes in-flight work and commits. */
  BusSubscription,
  /** A message as handed to publish. */
  OutgoingMessage,
  /** Options of Bus.subscribe: topic, group, start, schema, handler, retries. */
  SubscribeOptions,
  /** One of the names in TOPICS. */
  TopicName,
} from './port.ts'
export {
  /** Topic names of the event flow. */
  TOPICS,
  /** Zod schema (and type) of what lands in TOPICS.deadLetter. */
  DeadLetterRecord,
  /** Thrown by a handler to dead-letter a message without retrying. */
  NonRetriableError,
  /** Default handler attempts per message (5). */
  DEFAULT_MAX_ATTEMPTS,
  /** Default wait before the first retry, in ms (100); doubles per attempt. */
  DEFAULT_RETRY_BACKOFF_MS,
  /** Cap of one retry wait, in ms. */
  MAX_RETRY_BACKOFF_MS,
} from './port.ts'
/** Structured logger the adapters accept (a pino logger fits). */
export type { BusLogger } from './shared.ts'
/**
 * For other readers that keep the port's promises (the case feed's consumer groups that read
 * straight from the store): key → partition, the dead-letter record and error text, as the
 * adapters do it.
 */
export { deadLetterRecord, errorMessage, partitionFor } from './shared.ts'
/** In-process bus for standalone mode and tests, with its options and raw-publish test hook. */
export { createMemoryBus, type MemoryBus, type MemoryBusOptions, type RawOutgoingMessage } from './memory.ts'
/** Durable single-host bus in one SQLite file (standalone mode), with its options. */
export { openSqliteBus, type SqliteBus, type SqliteBusOptions } from './sqlite.ts'
/** The bus on Apache Kafka (kafkajs) for the distributed stack, and its options. */
export { createKafkaBus, type KafkaBus } from './kafka/bus.ts'
export type { KafkaBusLogger, KafkaBusOptions, KafkaRetryOptions } from './kafka/options.ts'
/** Consumer-group lag read from the broker (operators' stream view, bench:flow's Kafka mode). */
export { createKafkaLagReader, type KafkaGroupLag, type KafkaLagReader } from './kafka-lag.ts'
/** The bus a service process uses: Kafka when brokers are configured, else the bus file. */
export { openServiceBus, type ServiceBus, type ServiceBusOptions } from './open.ts'
