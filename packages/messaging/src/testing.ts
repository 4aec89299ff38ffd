/**
 * @civic-desk/messaging/testing: test support, never imported by production code. The Bus contract
 * suite every adapter runs, the condition-waiting helper it uses, the KAFKA_BROKERS gate of the
 * Kafka tests and a plain producer for poison messages.
 */
export { busContract, waitFor, type BusFixture } from './contract.ts'
export { createKafkaRawPublisher, kafkaTestBrokers, readTopicsRaw, type KafkaRawPublisher, type KafkaRawPublisherOptions, type RawTopicMessage } from './kafka/testing.ts'
