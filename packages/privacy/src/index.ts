// Personal data under KVKK: sealed fields under per-case data keys, the key store and subject
// index apart from the log, the master key, and the destruction log.
export { KEY_BYTES, SEALED_PREFIX, SealedValueError, isSealed, newKey, openField, sealField, unwrapKey, wrapKey } from './cipher.ts'
export { MasterKeyError, fingerprintOf, loadOrCreateMasterKeyFile, newMasterKeyText, parseMasterKey, type MasterKey } from './master-key.ts'
export {
  DataKeyDestroyedError,
  KeyStoreError,
  hashSubject,
  normalizeSubject,
  type DataKeyLookup,
  type DestroyOutcome,
  type KeyStore,
  type SubjectIdentifier,
} from './key-store.ts'
export { openSqliteKeyStore } from './sqlite-key-store.ts'
export {
  DESTRUCTION_METHOD,
  DestructionLogError,
  destructionLogCsv,
  openSqliteDestructionLog,
  type DestructionEntry,
  type DestructionLog,
  type DestructionReason,
  type DestructionRequest,
} from './destruction-log.ts'
export { configuredMasterKey, masterKeyFile, openConfiguredPrivacy, privacySettingsOf, type OpenedPrivacy, type PrivacySettings } from './configured.ts'
export { completePendingErasures, erasePersonalData, personalDataErasedEvent, recordErasureEvents, type ErasureDeps, type ErasureResult } from './erasure.ts'
export {
  PERSONAL_FIELDS,
  SEALED_SCHEMA_VERSION,
  cachingKeyStore,
  caseEventOpener,
  erasedEventData,
  hasPersonalFields,
  openEventData,
  personalValuesOf,
  sealEventData,
  sealingEventStore,
  subjectsOfSubmission,
  type OpeningVariant,
  type SealingStoreOptions,
} from './sealing.ts'
export {
  RetentionFactsFold,
  dueCases,
  retentionEnds,
  scanRetentionFacts,
  type CaseRetentionFacts,
  type DueCase,
  type ScanProgress,
} from './retention.ts'
export {
  MAX_PERIOD_DAYS,
  PERIODIC_DESTRUCTION_ACTOR,
  PeriodicDestructionConfigError,
  RETENTION_FIELDS,
  RETENTION_LEGAL_BASIS,
  checkPeriodDays,
  destroyDue,
  startPeriodicDestruction,
  type DestroyDueOptions,
  type DestroyDueProgress,
  type DestroyDueResult,
  type PeriodicDestruction,
  type PeriodicDestructionOptions,
  type PeriodicLogger,
} from './periodic.ts'
export { copyKeysToPostgres, type KeyCopyResult } from './copy-keys.ts'
