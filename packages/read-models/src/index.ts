/**
 * @civic-desk/read-models — the dashboards' read models: pure projections of case events
 * (`evolveCase`, `projectBatch`), the store port with its memory and Redis adapters (versioned
 * keys, change + checkpoint in one MULTI/EXEC), the live projector and the rebuild of a version.
 * Test support (the REDIS_URL gate) is `@civic-desk/read-models/testing`.
 */
export { DATA_FREE_EVENT_TYPES, PROJECTION_READS_DATA_OF, type ProjectedEvent } from './projected-event.ts'
export { ZONE, istanbulDay } from './instants.ts'
/** The status rules live in @civic-desk/contracts; re-exported under the names this package always had. */
export { OPEN_STATUSES, isOpenStatus as isOpen } from '@civic-desk/contracts'
export { CaseDoc, MAX_TIMELINE, TimelineItem, evolveCase, queuePlacement, type PositionedEvent, type QueuePlacement } from './case-document.ts'
export { ALL_SCOPE, countersOf, dayScope } from './counters.ts'
export { projectBatch, type ChangeSet, type Sample } from './batch.ts'
export { percentile, percentiles } from './percentiles.ts'
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
