/** @civic-desk/event-store: the event store port and its adapters. */
export type {
  AppendResult,
  EventStore,
  EventToAppend,
  EventLink,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  RewrittenRecord,
  Subscription,
} from './port.ts'
export { ConcurrencyError, RECORD_VARIANT, STORED_FORM, recordVariantOf, storedFormOf } from './port.ts'
export { createMemoryEventStore, type MemoryEventStoreOptions } from './memory.ts'
export { openSqliteEventStore, type SqliteEventStoreOptions } from './sqlite.ts'
/** Bulk, read-only reading of a SQLite store's global log as stored text (read-model rebuilds). */
export { openSqliteLogReader, type RawLogRow, type SqliteLogReader } from './sqlite-log-reader.ts'
export { eventStoreContract, type EventStoreFixture } from './contract.ts'
export { EventStoreSchemaError, POSTGRES_SCHEMA_VERSION, inTransaction, openPostgresEventStore, redact, type PostgresEventStoreOptions } from './postgres.ts'
export { EventStoreChoiceError, openConfiguredEventStore, type EventStoreKind, type EventStoreSettings, type OpenedEventStore } from './choose.ts'
/** EventStoreDB (`@eventstore/db-client`); its contract suite runs when EVENTSTORE_URL is set. */
export { openEventStoreDbStore, type EventStoreDbStoreOptions } from './eventstoredb.ts'
/** The same bulk reading of the log from a PostgreSQL store. */
export { openPostgresLogReader, type PostgresLogReader } from './postgres-log-reader.ts'
/** The hash chain of every stream (integrity.ts): how an event's hash is computed and stored. */
export {
  EVENT_HASH_DOMAIN,
  GENESIS_HASH,
  HASH_CHAIN_ENABLED,
  chainProblemOf,
  eventHash,
  linkHashOf,
  unwrapMetadata,
  wrapMetadata,
  type EventIntegrity,
  type StoredEventText,
} from './integrity.ts'
/** The global log as stored rows (store:copy, audit:verify). */
export { BulkLogLocationError, openBulkLog, type BulkLog, type StoredRow } from './bulk-log.ts'
