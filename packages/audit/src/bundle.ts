/**
 * The audit bundle of one case: a single JSON file holding the case's events exactly as stored,
 * their hashes, an inclusion proof of each to a signed checkpoint, the checkpoint and the public
 * key — enough for `pnpm audit:verify --bundle` to check it with nothing else.
 */
import { randomUUID } from 'node:crypto'
import { storedFormOf, wrapMetadata, type EventStore } from '@civic-desk/event-store'
import { z } from 'zod'
import type { AuditLog } from './audit-log.ts'
import { Checkpoint } from './checkpoint.ts'

export const BUNDLE_FORMAT = 'civic-desk/audit-bundle/v1'

const hex64 = z.string().regex(/^[0-9a-f]{64}$/)

export const BundleEvent = z.strictObject({
  position: z.number().int().positive(),
  leafIndex: z.number().int().nonnegative(),
  revision: z.number().int().nonnegative(),
  eventId: z.string().min(1),
  type: z.string().min(1),
  recordedAt: z.string(),
  /** The event's data, as the stored JSON text. */
  data: z.string(),
  /** The event's metadata, as the stored JSON text (with the chain's header). */
  metadata: z.string(),
  hash: hex64,
  /** RFC 9162 inclusion proof of the event's leaf in the checkpoint's tree, hex, deepest first. */
  inclusionProof: z.array(hex64).max(64),
})
export type BundleEvent = z.infer<typeof BundleEvent>

export const AuditBundle = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  bundleId: z.string(),
  createdAt: z.string(),
  caseId: z.string().min(1),
  streamId: z.string().min(1),
  log: z.strictObject({ logId: z.string(), keyId: z.string(), publicKey: z.string().min(1) }),
  checkpoint: Checkpoint,
  events: z.array(BundleEvent).min(1),
  howToVerify: z.string(),
})
export type AuditBundle = z.infer<typeof AuditBundle>

/**
 * The bundle of a stream, or undefined when it has no events. Writes a checkpoint first when the
 * newest one does not cover the stream's last event.
 */
export async function buildAuditBundle(options: { readonly log: AuditLog; readonly store: EventStore; readonly caseId: string; readonly streamId: string; readonly now?: Date }): Promise<AuditBundle | undefined> {
  const { log, store, caseId, streamId } = options
  const records = (await store.readStream(streamId)).map(storedFormOf)
  const last = records.at(-1)
  if (last === undefined) return undefined
  await log.ready()
  let checkpoint = log.checkpoints.at(-1)?.checkpoint
  if (checkpoint === undefined || checkpoint.lastPosition < last.position) checkpoint = await log.checkpointNow()
  if (checkpoint === undefined || checkpoint.lastPosition < last.position) throw new Error(`no checkpoint covers ${streamId} up to position ${last.position}`)
  const treeSize = checkpoint.treeSize
  const events = records.map((record): BundleEvent => {
    const leafIndex = log.leafIndexOf(record.position)
    if (leafIndex === undefined) throw new Error(`event ${record.revision} of ${streamId} (position ${record.position}) is not in the audit log`)
    const hash = log.eventHashAt(leafIndex)
    // JSON.stringify of what the store parsed gives back the text it stores (integrity.ts); the
    // port hands out the writer's metadata, so the chain's header is put back around it.
    return {
      position: record.position,
      leafIndex,
      revision: record.revision,
      eventId: record.id,
      type: record.type,
      recordedAt: record.recordedAt,
      data: JSON.stringify(record.data),
      metadata: record.integrity === undefined ? JSON.stringify(record.metadata) : wrapMetadata(JSON.stringify(record.metadata), record.integrity),
      hash,
      inclusionProof: log.inclusionProof(leafIndex, treeSize),
    }
  })
  return {
    format: BUNDLE_FORMAT,
    bundleId: randomUUID(),
    createdAt: (options.now ?? new Date()).toISOString(),
    caseId,
    streamId,
    log: { logId: checkpoint.logId, keyId: log.key.keyId, publicKey: log.key.publicKeyPem },
    checkpoint,
    events,
    howToVerify: `pnpm audit:verify --bundle <bu dosya>: olayların zincirini, her olayın imzalı kontrol noktasına dahil olduğunu ve imzayı yalnızca bu dosyayla doğrular. İmzalayan anahtarın kimliği ${log.key.keyId}; belediyenin yayımladığı anahtarla (GET /v1/audit/public-key) karşılaştırın ya da --public-key ile verin.`,
  }
}
