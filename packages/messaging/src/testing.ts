/**
 * @civic-desk/messaging/testing: test support, never imported by production code. The Bus contract
 * suite every adapter runs, the condition-waiting helper it uses, the KAFKA_BROKERS gate of the
 * Kafka tests, a plain producer for poison messages and a bus logger that keeps its lines.
 */
export { busContract, waitFor, type BusFixture } from './contract.ts'
export {
  createKafkaRawPublisher,
  errorText,
  formatLogLines,
  kafkaTestBrokers,
  readTopicsRaw,
  recordingLogger,
  type KafkaRawPublisher,
  type KafkaRawPublisherOptions,
  type RawTopicMessage,
  type RecordedLogLine,
} from './kafka/testing.ts'
