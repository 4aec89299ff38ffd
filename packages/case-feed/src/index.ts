/**
 * @civic-desk/case-feed — the one way to follow the log of case events: case stream ids, the
 * stored-event codec, loading and changing a case (load, decide, append), durable checkpoints,
 * the log tail shared by every reader of a process, the catch-up projection kernel and the
 * consumer skeleton (from Kafka or straight from the store).
 */
/** Case stream ids (`case-<caseId>`). */
export { CASE_STREAM_PREFIX, caseIdOfStream, caseStreamId, isCaseStream } from './stream.ts'
/** The stored-event codec: contract and shape decoding, the relay's message, the feed event. */
export {
  CASE_EVENT_TYPES,
  CaseEventDecodeError,
  caseEventMessage,
  caseEventShapeDecoder,
  decodeCaseEnvelope,
  decodeCaseEvent,
  encodeCaseEvent,
  feedEventFromMessage,
  feedEventFromRecorded,
  type CaseFeedEvent,
  type StoredEvent,
} from './codec.ts'
/** Loading a case and running a command against it (load, decide, append with the expected revision). */
export { changeRevisionOf, executeOnCase, loadCase, loadCaseFrom, type CaseRecord, type ExecuteOptions, type ExecuteResult, type LoadedCase } from './case-stream.ts'
/** Durable checkpoints and where they live. */
export {
  CheckpointCorruptError,
  createFileCheckpointStore,
  createMemoryCheckpointStore,
  groupCheckpointDir,
  groupCheckpointFile,
  relayCheckpointFile,
  type CheckpointStore,
  type FileCheckpointStoreOptions,
} from './checkpoint.ts'
/** The log tail: one subscription per process, shared by every reader. */
export { createLogTail, type LogTail, type LogTailOptions, type TailItem, type TailMembership, type TailReader } from './tail.ts'
/** The catch-up projection kernel. */
export { DEFAULT_PROJECTION_WAIT_MS, ProjectionNotReadyError, startProjection, type CatchUpProjection, type ProjectionOptions, type ReaderStatus } from './projection.ts'
/** The consumer skeleton, over a topic or (through the feed) over the case events. */
export { startTopicConsumer, type Consumer, type ConsumerStatus, type Outcome, type TopicConsumerOptions } from './consumer.ts'
export type { StoreGroupSettings } from './store-group.ts'
/** The case feed a composition root makes once per process. */
export { createCaseFeed, type CaseConsumerOptions, type CaseFeed, type CaseFeedOptions, type GroupSource } from './feed.ts'
/** The retry policy of the log's readers (p-retry). */
export { DEFAULT_RETRY_MAX_MS, DEFAULT_RETRY_MIN_MS, retryDelayMs, retrying, type RetryOptions } from './retry.ts'
