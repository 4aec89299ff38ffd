/**
 * The auditor's proof API over the audit log (packages/audit):
 * - `GET /v1/audit/public-key`: the Ed25519 key that signs checkpoints (public: anyone may check);
 * - `GET /v1/audit/checkpoints`: the signed checkpoints, newest first;
 * - `POST /v1/audit/checkpoints/verify`: is this checkpoint (kept elsewhere: printed, e-mailed) one
 *   of this log's, signed by its key, and does the log still extend it? With the consistency proof;
 * - `GET /v1/audit/proofs/inclusion?event=<position>|stream=&revision=&checkpoint=<tree size>`;
 * - `GET /v1/audit/proofs/consistency?from=<tree size>&to=<tree size>`;
 * - `GET /v1/cases/:caseId/audit-bundle`: one case's self-contained, verifiable file.
 * Roles: auditor, supervisor and operator read proofs; the bundle is the auditor's and supervisor's.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { Checkpoint, buildAuditBundle, checkpointSignatureProblem, type AuditLog } from '@civic-desk/audit'
import { caseIdForTrackingCode, parseTrackingCode } from '@civic-desk/case-domain'
import { caseStreamId } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { ConflictError, NotFoundError, ValidationError, problemResponses, type AccessControl, type Logger, type ZodTypeProvider } from '@civic-desk/service-kit'
import { AuditBundleSchema, AuditCheckpointsSchema, AuditPublicKeySchema, CheckpointVerificationSchema, ConsistencyProofSchema, InclusionProofSchema } from './api-schemas.ts'

export interface AuditRouteDeps {
  readonly audit: AuditLog
  /** The store as written (no wrapper that opens personal fields: bundles hold the bytes as stored). */
  readonly store: EventStore
  readonly access: AccessControl
  readonly logger: Logger
}

const Size = z.coerce.number().int().positive()

const InclusionQuery = z
  .strictObject({
    event: Size.optional().describe('global position of the event').meta({ examples: [1] }),
    stream: z.string().min(1).max(300).optional(),
    revision: z.coerce.number().int().nonnegative().optional(),
    checkpoint: Size.optional().describe('tree size of a signed checkpoint; default the newest'),
  })
  .refine((q) => (q.event === undefined) !== (q.stream === undefined), { message: 'give either event (a global position) or stream and revision' })
  .refine((q) => (q.stream === undefined) === (q.revision === undefined), { message: 'stream and revision go together' })

const ConsistencyQuery = z.strictObject({
  from: Size.describe('tree size of the older checkpoint').meta({ examples: [1] }),
  to: Size.optional().describe('tree size of the newer checkpoint; default the newest'),
})
const CheckpointsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) })
const CaseParams = z.strictObject({ caseId: z.string().min(1).max(100) })

export function registerAuditRoutes(app: FastifyInstance, deps: AuditRouteDeps): void {
  const { audit, store, access, logger } = deps
  const api = app.withTypeProvider<ZodTypeProvider>()
  const readers = access.requireRole('auditor', 'supervisor', 'operator')

  const signed = (treeSize: number | undefined): Checkpoint => {
    const found = treeSize === undefined ? audit.checkpoints.at(-1) : audit.checkpoints.find((c) => c.checkpoint.treeSize === treeSize)
    if (found !== undefined) return found.checkpoint
    if (treeSize === undefined) throw new NotFoundError('Henüz imzalı kontrol noktası yok (günlük boş ya da ilk kontrol noktası en geç bir dakika içinde yazılır). No checkpoint has been signed yet.')
    throw new NotFoundError(`${treeSize} olayı kapsayan imzalı bir kontrol noktası yok; GET /v1/audit/checkpoints listeyi verir. There is no checkpoint of tree size ${treeSize}.`, {
      extensions: { treeSize },
    })
  }

  const publicKey = { schema: { tags: ['audit'], summary: 'The Ed25519 key that signs the checkpoints (public)', response: { 200: AuditPublicKeySchema } } }
  api.get('/v1/audit/public-key', publicKey, async (_request, reply) => {
    await audit.ready()
    reply.header('cache-control', 'public, max-age=300')
    return { algorithm: 'Ed25519' as const, keyId: audit.key.keyId, logId: audit.logId ?? null, publicKey: audit.key.publicKeyPem }
  })

  const checkpoints = {
    onRequest: readers,
    schema: { tags: ['audit'], summary: 'The signed checkpoints of the audit log, newest first', querystring: CheckpointsQuery, response: { 200: AuditCheckpointsSchema } },
  }
  api.get('/v1/audit/checkpoints', checkpoints, async (request) => {
    await audit.ready()
    const all = audit.checkpoints
    return {
      logId: audit.logId ?? null,
      keyId: audit.key.keyId,
      treeSize: audit.size,
      count: all.length,
      checkpoints: all
        .slice(-request.query.limit)
        .reverse()
        .map((c) => ({ ...c.checkpoint, stream: { revision: c.revision, position: c.position } })),
    }
  })

  const verify = {
    onRequest: readers,
    schema: {
      tags: ['audit'],
      summary: "Check a checkpoint kept elsewhere: this log's, signed by its key, still extended by the log",
      body: Checkpoint.meta({
        examples: [
          {
            logId: '5f0c3a9e2b7d41c6a8e9f0b1c2d3e4f5',
            treeSize: 1204,
            rootHash: '9b1f0e4c2a7d3e5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f',
            lastPosition: 1204,
            issuedAt: '2026-11-23T09:00:00.000Z',
            keyId: '3c4d5e6f7a8b9c0d',
            signature: 'kT9v0Qm3b1ZxY8wP2sR5uN7eH4jL6aC0dF2gI9kM1oQ3sU5wY7zB9cE1fG3hJ5lN7pR9tV1xZ3bD5fH7jL9nPA==',
          },
        ],
      }),
      // 409: another log, another key, a bad signature, a truncated or rewritten log (`reason`).
      response: { 200: CheckpointVerificationSchema, ...problemResponses(409) },
    },
  }
  api.post('/v1/audit/checkpoints/verify', verify, async (request) => {
    await audit.ready()
    const c = request.body
    if (c.logId !== audit.logId) {
      throw new ConflictError(`Bu kontrol noktası başka bir günlüğe ait (günlük kimliği ${c.logId}; bu kurulumunki ${audit.logId ?? 'henüz yok'}). The checkpoint belongs to another log.`, {
        extensions: { reason: 'another_log', logId: audit.logId ?? null },
      })
    }
    const problem = checkpointSignatureProblem(c, audit.key.publicKey)
    if (problem !== undefined) {
      const otherKey = c.keyId !== audit.key.keyId
      throw new ConflictError(
        otherKey
          ? `Bu kontrol noktası başka bir anahtarla (${c.keyId}) imzalanmış; bu günlüğün anahtarı ${audit.key.keyId}. It was signed by another key.`
          : 'Bu kontrol noktasının imzası içeriğiyle uyuşmuyor: olay sayısı, kök, konum ya da zaman değiştirilmiş. Its signature does not match its content.',
        { extensions: { reason: otherKey ? 'another_key' : 'bad_signature', keyId: audit.key.keyId } },
      )
    }
    if (c.treeSize > audit.size) {
      throw new ConflictError(`Bu kontrol noktası ${c.treeSize} olayı kapsıyor, günlükte şimdi ${audit.size} olay var: günlüğün sonu kesilmiş. The log is shorter than this checkpoint.`, {
        extensions: { reason: 'log_truncated', treeSize: audit.size },
      })
    }
    const root = audit.root(c.treeSize)
    if (root !== c.rootHash) {
      logger.error({ treeSize: c.treeSize, signedRoot: c.rootHash, root }, 'audit: a checkpoint signed by this log no longer matches it: events it covered were changed')
      throw new ConflictError(`Günlüğün ilk ${c.treeSize} olayının kökü artık imzalı kökle aynı değil: o tarihten önceki olaylar değiştirilmiş. The log no longer extends this checkpoint.`, {
        extensions: { reason: 'log_rewritten', root },
      })
    }
    const to = audit.checkpoints.at(-1)?.checkpoint
    const target = to !== undefined && to.treeSize >= c.treeSize ? to : undefined
    return {
      valid: true as const,
      detail: 'Kontrol noktası bu günlüğe ait, imzası geçerli ve günlük onu değiştirmeden sürdürüyor. The checkpoint is this log\'s, validly signed, and the log extends it.',
      checkpoint: c,
      ...(target === undefined ? {} : { latest: target, consistencyProof: audit.consistencyProof(c.treeSize, target.treeSize) }),
    }
  })

  const inclusion = {
    onRequest: readers,
    schema: {
      tags: ['audit'],
      summary: "RFC 9162 inclusion proof of an event in a signed checkpoint's tree",
      querystring: InclusionQuery,
      // 404: no such event or checkpoint; 409: the event is not covered by that checkpoint yet.
      response: { 200: InclusionProofSchema, ...problemResponses(404, 409) },
    },
  }
  api.get('/v1/audit/proofs/inclusion', inclusion, async (request) => {
    await audit.ready()
    const q = request.query
    let position = q.event
    if (position === undefined) {
      const [record] = await store.readStream(q.stream as string, { fromRevision: q.revision as number, maxCount: 1 })
      if (record === undefined || record.revision !== q.revision) throw new NotFoundError(`${q.stream ?? ''} akışında ${q.revision ?? ''} sıralı bir olay yok. No such event.`)
      position = record.position
    }
    const index = audit.leafIndexOf(position)
    if (index === undefined) throw new NotFoundError(`Günlükte ${position} konumunda bir olay yok. There is no event at position ${position}.`, { extensions: { position } })
    const checkpoint = signed(q.checkpoint)
    if (index >= checkpoint.treeSize) {
      throw new ConflictError(`Bu olay (konum ${position}) seçilen kontrol noktasından (${checkpoint.treeSize} olay) sonra kaydedildi; daha yeni bir kontrol noktası isteyin. The event is not covered by that checkpoint yet.`, {
        extensions: { reason: 'not_covered', leafIndex: index, treeSize: checkpoint.treeSize },
      })
    }
    return {
      position,
      leafIndex: index,
      treeSize: checkpoint.treeSize,
      eventHash: audit.eventHashAt(index),
      // The event hash is the RFC 9162 leaf hash of the event's bytes (integrity.ts).
      leafHash: audit.eventHashAt(index),
      proof: audit.inclusionProof(index, checkpoint.treeSize),
      checkpoint,
    }
  })

  const consistency = {
    onRequest: readers,
    schema: {
      tags: ['audit'],
      summary: 'RFC 9162 consistency proof between two tree sizes of the audit log',
      querystring: ConsistencyQuery,
      // 404: `to` is larger than the log.
      response: { 200: ConsistencyProofSchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/audit/proofs/consistency', consistency, async (request) => {
    await audit.ready()
    const { from } = request.query
    const to = request.query.to ?? audit.checkpoints.at(-1)?.checkpoint.treeSize ?? audit.size
    if (from > to) throw new ValidationError('from must not be greater than to', [{ field: 'from', message: `must be ≤ to (${to})` }])
    if (to > audit.size) throw new NotFoundError(`Günlükte ${audit.size} olay var; ${to} olaylık bir ağaç yok. The log holds ${audit.size} events.`, { extensions: { treeSize: audit.size } })
    const checkpointOf = (size: number): Checkpoint | null => audit.checkpoints.find((c) => c.checkpoint.treeSize === size)?.checkpoint ?? null
    return {
      from,
      to,
      fromRoot: audit.root(from),
      toRoot: audit.root(to),
      proof: audit.consistencyProof(from, to),
      fromCheckpoint: checkpointOf(from),
      toCheckpoint: checkpointOf(to),
    }
  })

  const bundle = {
    onRequest: access.requireRole('auditor', 'supervisor'),
    schema: {
      tags: ['audit'],
      summary: "One case's self-contained, verifiable audit file (events as stored, proofs, checkpoint, key)",
      description: 'The case by id or tracking code. Sent as an attachment (denetim-paketi-<caseId>.json); check it offline with `pnpm audit:verify`.',
      params: CaseParams,
      response: { 200: AuditBundleSchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/cases/:caseId/audit-bundle', bundle, async (request, reply) => {
    const reference = request.params.caseId
    const uuid = z.uuid().safeParse(reference.toLowerCase())
    let caseId: string | undefined = uuid.success ? uuid.data : undefined
    if (caseId === undefined) {
      const code = parseTrackingCode(reference)
      if (!code.ok) throw new NotFoundError(`'${reference}' bir başvuru numarası ya da takip kodu değil. Not a case id or tracking code.`)
      caseId = caseIdForTrackingCode(code.code)
    }
    const started = performance.now()
    const bundle = await buildAuditBundle({ log: audit, store, caseId, streamId: caseStreamId(caseId) })
    if (bundle === undefined) throw new NotFoundError(`Böyle bir başvuru yok: ${reference}. There is no case ${reference}.`)
    request.log.info({ caseId, events: bundle.events.length, treeSize: bundle.checkpoint.treeSize, ms: Math.round(performance.now() - started) }, 'audit bundle built')
    const file = `denetim-paketi-${caseId}.json`
    return reply.header('content-disposition', `attachment; filename="${file}"`).header('cache-control', 'no-store').send(bundle)
  })
}
