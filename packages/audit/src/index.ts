/** @civic-desk/audit: the Merkle log over the event store, signed checkpoints, bundles and the verifier. */
export { EMPTY_ROOT, MerkleTree, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.ts'
export {
  CHECKPOINT_EVENT_TYPE,
  CHECKPOINT_STREAM,
  Checkpoint,
  checkpointSignatureProblem,
  checkpointText,
  keyIdOf,
  logIdOf,
  newSigningKeyPem,
  publicKeyFromPem,
  signCheckpoint,
  signingKeyFromPem,
  type SigningKey,
} from './checkpoint.ts'
export { openAuditLog, type AuditLog, type AuditLogOptions, type StoredCheckpoint } from './audit-log.ts'
export { AuditBundle, BUNDLE_FORMAT, buildAuditBundle, type BundleEvent } from './bundle.ts'
export { AuditProblem, CLOCK_SKEW_MS, verifyBundle, verifyStore, type BundleVerification, type StoreVerification, type VerifyStoreOptions } from './verify.ts'
export { configuredSigningKey, publicKeyFile, signingKeyFile } from './configured.ts'
