/**
 * The privacy officer's API (KVKK, Law 6698), role `privacy-officer`:
 * - `POST /v1/privacy/erasures`: erase a person's personal data (Art. 7, 11) found by phone number,
 *   e-mail address or tracking code; the data keys of their cases are destroyed, each case gets a
 *   `PersonalDataErased` event and the destruction log an entry. The application's own case (named
 *   by `requestReference`) is kept: it is the evidence that the request was answered, and its own
 *   retention period destroys it later.
 * - `GET /v1/privacy/subjects?phone=…|email=…`: every case and every piece of personal data held
 *   about a person, opened, with the purposes of processing (Art. 11), to hand over.
 * - `GET /v1/privacy/destructions`: the destruction log for the inventory, JSON or CSV; auditors
 *   may read it too (it holds no personal data).
 * Nothing here logs an identifier, a name or a text: the routes log counts and ids only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { caseIdForTrackingCode, parseTrackingCode, replay } from '@civic-desk/case-domain'
import { caseStreamId, loadCase } from '@civic-desk/case-feed'
import { isOpenStatus } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { destructionLogCsv, erasePersonalData, personalValuesOf, type DestructionLog, type KeyStore, type SubjectIdentifier } from '@civic-desk/privacy'
import { NotFoundError, ValidationError, problemResponses, type AccessControl, type Logger, type ZodTypeProvider } from '@civic-desk/service-kit'
import { DataSubjectAnswerSchema, DestructionLogSchema, ErasureAlreadyDoneSchema, ErasureDoneSchema } from './api-schemas.ts'

export interface PrivacyRouteDeps {
  readonly keys: KeyStore
  readonly log: DestructionLog
  /** The sealing store (opens personal fields for the data-subject answer). */
  readonly store: EventStore
  readonly access: AccessControl
  readonly logger: Logger
  readonly now: () => Date
}

/** The kinds of personal data an erasure destroys, as the destruction log names them. */
export const ERASED_FIELDS_TR: readonly string[] = [
  'başvuru sahibinin adı, telefonu ve e-posta adresi',
  'başvuru metni (açıklama)',
  'açık adres ve konum koordinatları',
  'kanalın dış referansı',
  'personel notları, vatandaşa sorulan sorular ve vatandaşın yanıtları',
  'sonuç, ret, kapanış, aktarma ve yeniden açma gerekçeleri',
  'iş akışı adımlarının metin alanları',
  'gönderilen bildirimlerin alıcı adresleri',
]

/** Why civic-desk processes a citizen's personal data (KVKK Art. 10 information, Art. 11 answer). */
export const PROCESSING_PURPOSES_TR: readonly string[] = [
  'Başvurunun alınması, ilgili müdürlüğe yönlendirilmesi ve sonuçlandırılması (5393 sayılı Belediye Kanunu; KVKK m.5/2-ç, m.5/2-e)',
  'Başvuru sahibine başvurusunun durumu ve sonucu hakkında bilgi verilmesi (SMS, e-posta, WhatsApp)',
  'Aynı konudaki başvuruların birleştirilmesi ve yasal sürelerin izlenmesi (CİMER, 4982 sayılı Bilgi Edinme Kanunu)',
  'Denetim ve hesap verebilirlik için başvuru geçmişinin saklanması',
]

const Identifier = z
  .strictObject({
    phone: z.string().trim().min(3).max(40).optional(),
    email: z.string().trim().min(3).max(254).optional(),
    trackingCode: z.string().trim().min(1).max(40).optional(),
  })
  .refine((b) => [b.phone, b.email, b.trackingCode].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of phone, email or trackingCode',
  })

const ErasureBody = z.intersection(
  Identifier,
  z.object({
    /** The data subject's application: its tracking code or case id. */
    requestReference: z.string().trim().min(1).max(200),
    /** The legal basis, e.g. "KVKK m.7, m.11/1-e". */
    legalBasis: z.string().trim().min(3).max(500),
  }),
).meta({ examples: [{ phone: '+905321112233', requestReference: 'KVKK-2026-0042', legalBasis: 'KVKK m.7, m.11/1-e' }] })

const SubjectQuery = z
  .strictObject({ phone: z.string().trim().min(3).max(40).optional().meta({ examples: ['+905321112233'] }), email: z.string().trim().min(3).max(254).optional() })
  .refine((q) => (q.phone === undefined) !== (q.email === undefined), { message: 'give exactly one of phone or email' })

const DestructionQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  format: z.enum(['json', 'csv']).default('json'),
})

const subjectOf = (q: { readonly phone?: string | undefined; readonly email?: string | undefined }): SubjectIdentifier | undefined =>
  q.phone !== undefined ? { kind: 'phone', value: q.phone } : q.email !== undefined ? { kind: 'email', value: q.email } : undefined

/** The case a tracking code or case id names, when its stream exists. */
async function caseOfReference(store: EventStore, reference: string): Promise<string | undefined> {
  const uuid = z.uuid().safeParse(reference.toLowerCase())
  let caseId: string
  if (uuid.success) caseId = uuid.data
  else {
    const parsed = parseTrackingCode(reference)
    if (!parsed.ok) return undefined
    caseId = caseIdForTrackingCode(parsed.code)
  }
  return (await store.readStream(caseStreamId(caseId), { maxCount: 1 })).length === 0 ? undefined : caseId
}

export function registerPrivacyRoutes(app: FastifyInstance, deps: PrivacyRouteDeps): void {
  const { keys, log, store, access, logger } = deps
  const api = app.withTypeProvider<ZodTypeProvider>()
  const officer = access.requireRole('privacy-officer')
  const principalId = (request: FastifyRequest): string => request.principal?.id ?? 'unknown'

  const erasure = {
    onRequest: officer,
    schema: {
      tags: ['privacy'],
      summary: "Erase a person's personal data (KVKK Art. 7, 11) found by phone, e-mail or tracking code",
      description: 'Exactly one of `phone`, `email`, `trackingCode`. 201 when erased now (Location: the destruction-log entry), 200 when every case found was erased before.',
      body: ErasureBody,
      // 404: no case holds personal data for the identifier (or only the application itself).
      response: { 200: ErasureAlreadyDoneSchema, 201: ErasureDoneSchema, ...problemResponses(404) },
    },
  }
  api.post('/v1/privacy/erasures', erasure, async (request, reply) => {
    const body = request.body
    const subject = subjectOf(body)
    let found: string[]
    if (subject !== undefined) found = await keys.casesOf(subject)
    else {
      const caseId = await caseOfReference(store, body.trackingCode as string)
      found = caseId === undefined ? [] : [caseId]
    }
    const application = await caseOfReference(store, body.requestReference)
    const toErase = found.filter((id) => id !== application).sort()
    if (toErase.length === 0) {
      request.log.info({ by: subject?.kind ?? 'trackingCode', keptApplication: application !== undefined && found.includes(application) }, 'erasure: no case holds personal data for this identifier')
      throw new NotFoundError(
        found.length > 0
          ? 'Bu kişiye ait silinecek başka başvuru yok: yalnızca KVKK başvurusunun kendisi bulundu (kanıt olarak saklanır, saklama süresi dolunca imha edilir).'
          : 'Bu bilgiyle eşleşen, kişisel verisi tutulan bir başvuru yok (daha önce silinmiş olabilir). No case holds personal data for this identifier.',
      )
    }
    const states = await Promise.all(toErase.map(async (id) => ({ id, lookup: await keys.lookup(id) })))
    if (states.every((s) => s.lookup.state === 'destroyed')) {
      request.log.info({ cases: toErase.length }, 'erasure: already erased, nothing to do')
      return reply.code(200).send({
        status: 'already-erased',
        detail: 'Bu başvuruların kişisel verileri daha önce silinmiş; yeni bir işlem yapılmadı. The personal data of these cases was erased before; nothing was done.',
        cases: states.map((s) => ({ caseId: s.id, erasedAt: s.lookup.state === 'destroyed' ? s.lookup.destroyedAt : null, destructionId: s.lookup.state === 'destroyed' ? s.lookup.destructionId : null })),
      })
    }
    const started = Date.now()
    const result = await erasePersonalData(
      { keys, log, store, now: deps.now },
      {
        reason: 'erasure-request',
        legalBasis: body.legalBasis,
        requestReference: body.requestReference,
        actor: { id: principalId(request), role: 'privacy-officer' },
        caseIds: toErase,
        fields: ERASED_FIELDS_TR,
      },
      { correlationId: request.id },
    )
    logger.info({ destructionId: result.entry.id, cases: toErase.length, destroyed: result.outcome.destroyed.length, ms: Date.now() - started }, 'KVKK erasure completed')
    return reply
      .code(201)
      .header('location', `/v1/privacy/destructions/${result.entry.id}`)
      .send({
        status: 'erased',
        detail: `${toErase.length} başvurunun kişisel verileri silindi (kripto-imha). The personal data of ${toErase.length} case(s) was erased.`,
        destruction: result.entry,
        cases: toErase,
        alreadyErased: result.outcome.alreadyDestroyed,
        keptApplication: application !== undefined && found.includes(application) ? application : null,
      })
  })

  const subjectAccess = {
    onRequest: officer,
    schema: {
      tags: ['privacy'],
      summary: 'Every case and every piece of personal data held about a person (KVKK Art. 11 answer)',
      querystring: SubjectQuery,
      response: { 200: DataSubjectAnswerSchema, ...problemResponses(404) },
    },
  }
  api.get('/v1/privacy/subjects', subjectAccess, async (request, reply) => {
    const subject = subjectOf(request.query) as SubjectIdentifier
    const caseIds = (await keys.casesOf(subject)).sort()
    if (caseIds.length === 0) throw new NotFoundError('Bu bilgiyle eşleşen, kişisel verisi tutulan bir başvuru yok. No personal data is held for this identifier.')
    const cases = []
    for (const caseId of caseIds) {
      const loaded = await loadCase(store, caseId)
      const state = replay(loaded.records.map((r) => r.event))
      if (state.status === 'none') continue
      cases.push({
        caseId,
        trackingCode: state.trackingCode,
        status: state.status,
        open: isOpenStatus(state.status),
        category: state.category,
        department: state.department,
        submittedAt: state.submittedAt,
        personalData: loaded.records.flatMap(({ event }) =>
          // A personal field holds text; the coordinates come as one `location.point` value (personalValuesOf).
          personalValuesOf(event.type, event.data).map((v) => ({ eventType: event.type, occurredAt: event.occurredAt, field: v.field, value: v.value as string | { lat: number; lon: number } })),
        ),
      })
    }
    request.log.info({ by: subject.kind, cases: cases.length }, 'data-subject access answered')
    reply.header('cache-control', 'no-store')
    return {
      subject: { kind: subject.kind },
      answeredAt: deps.now().toISOString(),
      controller: 'Belediye (veri sorumlusu)',
      purposes: PROCESSING_PURPOSES_TR,
      recipients: ['İlgili belediye müdürlükleri', 'SMS / e-posta / WhatsApp hizmet sağlayıcıları (yalnızca bildirim için)'],
      cases,
    }
  })

  const destructions = {
    onRequest: access.requireRole('privacy-officer', 'auditor'),
    schema: {
      tags: ['privacy'],
      summary: 'The destruction log (KVKK inventory), JSON or with format=csv as text/csv',
      querystring: DestructionQuery,
      response: { 200: DestructionLogSchema.describe('With `format=csv` the same entries come as `text/csv; charset=utf-8` (imha-kayitlari.csv) instead.') },
    },
  }
  api.get('/v1/privacy/destructions', destructions, async (request, reply) => {
    const { from, to, format } = request.query
    if (from !== undefined && to !== undefined && new Date(from) >= new Date(to)) throw new ValidationError('from must be before to', [{ field: 'from', message: 'must be before to' }])
    const entries = await log.list({ ...(from === undefined ? {} : { from: new Date(from) }), ...(to === undefined ? {} : { to: new Date(to) }) })
    if (format === 'csv') {
      // Text, not the JSON the response schema describes: the reply is used without the schema's typing.
      return (reply as FastifyReply).header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="imha-kayitlari.csv"').send(destructionLogCsv(entries))
    }
    return { entries }
  })

}
