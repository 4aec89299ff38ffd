/**
 * @civic-desk/read-models — the dashboards' read models: pure projections of case events
 * (`evolveCase`, `projectBatch`), the store port with its memory and Redis adapters (versioned
 * keys, change + checkpoint in one MULTI/EXEC), the live projector and the rebuild of a version.
 * Test support (the REDIS_URL gate) is `@civic-desk/read-models/testing`.
 */
export {
  ALL_SCOPE,
  CaseDoc,
  DATA_FREE_EVENT_TYPES,
  MAX_TIMELINE,
  OPEN_STATUSES,
  PROJECTED_EVENT_SCHEMAS,
  TimelineItem,
  ZONE,
  countersOf,
  dayScope,
  evolveCase,
  isOpen,
  istanbulDay,
  percentiles,
  projectBatch,
  projectedEventFromStore,
  queuePlacement,
  type ChangeSet,
  type PositionedEvent,
  type ProjectedEvent,
  type QueuePlacement,
  type Sample,
} from './projection.ts'
export {
  MAX_DEAD_LETTERS,
  MAX_SAMPLES_PER_KEY,
  MINUTE_RETENTION_MS,
  ReadModelStoreError,
  SAMPLE_RETENTION_MS,
  sampleKey,
  type DeadLetterEntry,
  type ReadModelStore,
  type VersionInfo,
  type VersionReader,
  type VersionWriter,
} from './store.ts'
export { createMemoryReadModelStore } from './memory.ts'
export { deleteRedisPrefix, openRedisReadModelStore, redisAnswers, type RedisReadModelStoreOptions } from './redis.ts'
export { applyBatch, createLiveProjector, rebuildVersion, type LiveProjector, type LiveProjectorOptions, type RebuildOptions, type RebuildProgress } from './projector.ts'
