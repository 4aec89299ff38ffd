// The response schemas against what the routes really send. The staff, privacy and audit APIs run
// over a real SQLite log behind the sealing store, with the audit log beside it; a case is worked
// through its life (and a few more through the rest of the routes) by every role that may call
// them. Every answer must come with a status its route documents, parse with the documented schema,
// and come out of it unchanged: a key the schema does not name would be stripped, and this test
// fails. Every documented request example must be valid against its own body schema, and the
// commands are sent with those examples.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { z } from 'zod'
import type { FastifyInstance } from 'fastify'
import { newSigningKeyPem, openAuditLog, signingKeyFromPem, type AuditLog } from '@civic-desk/audit'
import { caseIdForTrackingCode, trackingCodeFromBytes } from '@civic-desk/case-domain'
import { caseIdOfStream, caseStreamId } from '@civic-desk/case-feed'
import { categoryByCode } from '@civic-desk/contracts'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { newMasterKeyText, openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { ACCESS_RULES, ProblemSchema, createAccessControl, createHttpApp, loadAccessConfig } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { CaseViewSchema } from './api-schemas.ts'
import { registerWorkflowRoutes } from './app.ts'
import { registerAuditRoutes } from './audit-routes.ts'
import { registerPrivacyRoutes } from './privacy-routes.ts'
import { act, ayse, calendar, catalogue, logger, projectCases, seedCase, workflows } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

/**
 * Problem statuses the OpenAPI plumbing documents for every route (see the route convention); any
 * other status must be in the route's own `response`. (A 404 of an unknown route never reaches a
 * route here, so a 404 must be the route's own.)
 */
const COMMON_STATUSES = new Set([400, 401, 403, 413, 415, 429, 500, 503])

const principals = [
  { id: 'ayse.fen', roles: ['staff'], departments: ['fen-isleri'], token: 'tok-fen-isleri' },
  { id: 'mehmet.temizlik', roles: ['staff'], departments: ['temizlik'], token: 'tok-temizlik' },
  { id: 'zeynep.sosyal', roles: ['staff'], departments: ['sosyal-destek'], token: 'tok-sosyal-destek' },
  { id: 'baskan.yardimcisi', roles: ['supervisor'], departments: [], token: 'tok-supervisor' },
  { id: 'denetci', roles: ['auditor'], departments: [], token: 'tok-auditor' },
  { id: 'bt-operator', roles: ['operator'], departments: [], token: 'tok-operator' },
  { id: 'kvkk.sorumlusu', roles: ['privacy-officer'], departments: [], token: 'tok-privacy' },
] as const
const access = createAccessControl(loadAccessConfig({ json: JSON.stringify({ tokens: principals }) }))
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
const as = {
  fen: bearer('tok-fen-isleri'),
  temizlik: bearer('tok-temizlik'),
  sosyal: bearer('tok-sosyal-destek'),
  supervisor: bearer('tok-supervisor'),
  auditor: bearer('tok-auditor'),
  operator: bearer('tok-operator'),
  privacy: bearer('tok-privacy'),
  nobody: {},
} as const

/** What a route declared, as the OpenAPI plumbing will read it. */
interface Declared {
  readonly response: Readonly<Record<string, z.ZodType>>
  readonly body?: z.ZodType
}

interface Answer {
  readonly status: number
  readonly type: string | undefined
  readonly body: unknown
}

interface Served {
  readonly log: EventStore
  readonly store: EventStore
  readonly audit: AuditLog
  readonly app: FastifyInstance
  readonly routes: ReadonlyMap<string, Declared>
  /** Routes that answered a 2xx which was checked against its schema. */
  readonly answered: Set<string>
  /**
   * Calls `route` (e.g. `POST /v1/cases/:caseId/note`) at `path` and checks the answer against the
   * route's schemas. `text`: a 2xx that is not JSON (the destruction log's CSV, named in the schema's
   * description), whose status is checked but not its body.
   */
  call(t: Test, route: string, path: string, headers: Record<string, string>, body?: unknown, text?: 'text'): Promise<Answer>
}

const isZod = (value: unknown): value is z.ZodType => value instanceof z.ZodType

async function serve(t: Test): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-api-schemas-'))
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: dir })
  const log = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const store = sealingEventStore(log, privacy.keys, { caseIdOf: caseIdOfStream })
  const audit = await openAuditLog({ store: log, key: signingKeyFromPem(newSigningKeyPem(), 'test key'), checkpointIntervalMs: 60_000, logger })
  const openCases = projectCases(store)
  const app = createHttpApp({ serviceName: 'department-workflow', logger, access, accessRules: ACCESS_RULES })
  const routes = new Map<string, Declared>()
  app.addHook('onRoute', (route) => {
    const response = route.schema?.response
    const body = route.schema?.body
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      routes.set(`${method} ${route.url}`, {
        response: typeof response === 'object' && response !== null ? Object.fromEntries(Object.entries(response).filter(([, schema]) => isZod(schema))) : {},
        ...(isZod(body) ? { body } : {}),
      })
    }
    // As the app will send once the OpenAPI plumbing is in: plain JSON, so a key missing from a
    // schema reaches this test instead of being stripped on the way out.
    route.serializerCompiler = () => (data) => JSON.stringify(data)
  })
  const now = (): Date => new Date()
  registerWorkflowRoutes(app, { store, openCases, catalogue, calendar, workflows, access, logger, now, maxReopenings: 1, caseLimits: { maxNotes: 6, maxCaseBytes: 10_000 } })
  registerPrivacyRoutes(app, { keys: privacy.keys, log: privacy.log, store, access, logger, now })
  registerAuditRoutes(app, { audit, store: log, access, logger })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await openCases.close()
    await audit.close()
    await log.close()
    await privacy.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const answered = new Set<string>()
  return {
    log,
    store,
    audit,
    app,
    routes,
    answered,
    async call(t, route, path, headers, body, form) {
      const method = route.slice(0, route.indexOf(' '))
      const declared = routes.get(route)
      if (declared === undefined) throw new Error(`no route ${route}`)
      const response = await app.inject({
        method: method as 'GET' | 'POST',
        url: path,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      })
      const status = response.statusCode
      const type = response.headers['content-type']
      const text = response.body
      const json: unknown = typeof type === 'string' && type.includes('json') ? JSON.parse(text) : text
      const own = declared.response[String(status)]
      const schema = own ?? (COMMON_STATUSES.has(status) ? ProblemSchema : undefined)
      if (schema === undefined) {
        t.fail(`${route} → ${status} is not documented (documented: ${Object.keys(declared.response).join(', ')})`, { body: json })
        return { status, type: typeof type === 'string' ? type : undefined, body: json }
      }
      if (status >= 400) t.equal(type, PROBLEM, `${route} → ${status} is a problem document`)
      if (form === 'text') {
        t.ok(status < 300 && typeof json === 'string', `${route} → ${status}: an answer in text as asked`)
        return { status, type: typeof type === 'string' ? type : undefined, body: json }
      }
      const parsed = schema.safeParse(json)
      if (!parsed.success) {
        t.fail(`${route} → ${status}: the body does not parse with the documented schema`, { issues: parsed.error.issues.slice(0, 5), body: json })
      } else {
        t.strictSame(JSON.parse(JSON.stringify(parsed.data)), json, `${route} → ${status}: the documented schema names everything sent`)
        if (status < 300) answered.add(route)
      }
      return { status, type: typeof type === 'string' ? type : undefined, body: json }
    },
  }
}

/** The first documented example of a route's request body. */
function example(api: Served, route: string): Record<string, unknown> {
  const body = api.routes.get(route)?.body
  const examples = body?.meta()?.examples
  if (!Array.isArray(examples) || examples.length === 0) throw new Error(`${route} documents no request example`)
  return examples[0] as Record<string, unknown>
}

/** A case that routing linked to `original` as a duplicate (submitted, then marked). */
async function seedDuplicate(store: EventStore, original: { readonly caseId: string; readonly trackingCode: string }): Promise<string> {
  const trackingCode = trackingCodeFromBytes(randomBytes(8))
  const caseId = caseIdForTrackingCode(trackingCode)
  const now = new Date()
  const category = categoryByCode(catalogue, 'yol-cukur')
  if (category === undefined) throw new Error('no category yol-cukur')
  await act(store, caseId, now, (meta) => ({
    type: 'SubmitCase',
    meta,
    data: {
      caseId,
      trackingCode,
      channel: 'web',
      kind: 'complaint',
      category: 'yol-cukur',
      description: 'Aynı sokakta büyük bir çukur var, dün akşam bir motosiklet devrildi.',
      location: { neighbourhood: 'Kazımdirik', lat: 38.4575, lon: 27.2185 },
      receivedAt: now.toISOString(),
    },
  }))
  await act(store, caseId, now, (meta) => ({
    type: 'MarkDuplicate',
    meta,
    data: {
      department: category.department,
      category: category.code,
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: now.toISOString(), deadline: category.sla, basis: 'category', dueAt: calendar.dueAt(now, category.sla).toISOString() },
      legalDueAt: null,
      duplicateOf: original.caseId,
      duplicateOfTrackingCode: original.trackingCode,
      match: 'location',
      distanceMeters: 12.5,
      similarity: null,
    },
  }))
  return caseId
}

t.test('every route of the staff, privacy and audit APIs answers what its schemas document', async (t) => {
  const api = await serve(t)
  const { call } = api

  t.test('the documented request examples are valid against their own body schemas', async (t) => {
    const withBody = [...api.routes].filter(([, declared]) => declared.body !== undefined)
    t.equal(withBody.length, 14, 'the eleven commands, the step, the erasure and the checkpoint check have a body')
    for (const [route, declared] of withBody) {
      const examples = declared.body?.meta()?.examples
      t.ok(Array.isArray(examples) && examples.length > 0, `${route} documents an example`)
      for (const value of Array.isArray(examples) ? examples : []) {
        const parsed = declared.body?.safeParse(value)
        t.ok(parsed?.success, `${route}: its example parses with its body schema`, { example: value, issues: parsed?.error?.issues })
      }
    }
  })

  const pothole = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
  const caseUrl = `/v1/cases/${pothole.caseId}`
  const unknownCase = `/v1/cases/${randomUUID()}`

  t.test('case reads: staff, supervisors, auditors (without personal data), as-of and history', async (t) => {
    const full = await call(t, 'GET /v1/cases/:caseId', caseUrl, as.fen)
    t.equal(full.status, 200)
    t.match(full.body, { personalDataRedacted: false, submission: { citizen: { name: ayse.name } } }, 'staff of the directorate see the applicant')
    const redacted = await call(t, 'GET /v1/cases/:caseId', caseUrl, as.auditor)
    t.equal(redacted.status, 200)
    t.match(redacted.body, { personalDataRedacted: true, submission: { location: { neighbourhood: 'Kazımdirik' } } }, 'auditors do not')
    t.notMatch(redacted.body, { submission: { citizen: {} } })
    t.equal((await call(t, 'GET /v1/cases/:caseId', `${caseUrl}?notesLimit=1`, as.supervisor)).status, 200)
    t.equal((await call(t, 'GET /v1/cases/:caseId', caseUrl, as.temizlik)).status, 403, 'staff of another directorate')
    t.equal((await call(t, 'GET /v1/cases/:caseId', unknownCase, as.supervisor)).status, 404)
    t.equal((await call(t, 'GET /v1/cases/:caseId', `${caseUrl}?notesLimit=0`, as.supervisor)).status, 400)
    const asOf = await call(t, 'GET /v1/cases/:caseId', `${caseUrl}?asOf=${encodeURIComponent(new Date().toISOString())}`, as.auditor)
    t.equal(asOf.status, 200)
    t.match(asOf.body, { asOf: String, streamRevision: 1, changes: [{ type: 'CaseSubmitted' }, { type: 'CaseRouted' }] }, 'as it stood then')
    t.equal((await call(t, 'GET /v1/cases/:caseId', `${caseUrl}?asOf=2000-01-01T00:00:00Z`, as.supervisor)).status, 404, 'no case yet then')
    t.equal((await call(t, 'GET /v1/cases/:caseId', `${caseUrl}?asOf=2999-01-01T00:00:00Z`, as.supervisor)).status, 400, 'the future')

    const history = await call(t, 'GET /v1/cases/:caseId/history', `${caseUrl}/history`, as.auditor)
    t.equal(history.status, 200)
    t.match(history.body, { events: [{ type: 'CaseSubmitted', redacted: ['data.citizen', 'data.location.address'] }, { type: 'CaseRouted' }] })
    t.equal((await call(t, 'GET /v1/cases/:caseId/history', `${caseUrl}/history`, as.supervisor)).status, 200)
    const until = await call(t, 'GET /v1/cases/:caseId/history', `${caseUrl}/history?until=${encodeURIComponent(new Date().toISOString())}`, as.supervisor)
    t.match(until.body, { until: String, revision: 1 })
    t.equal((await call(t, 'GET /v1/cases/:caseId/history', `${unknownCase}/history`, as.auditor)).status, 404)
  })

  t.test('queue and workflows', async (t) => {
    const queue = await call(t, 'GET /v1/departments/:code/queue', '/v1/departments/fen-isleri/queue', as.fen)
    t.equal(queue.status, 200)
    t.match(queue.body, { department: { code: 'fen-isleri' }, cases: [{ caseId: pothole.caseId, slaLevel: 'on-track' }] })
    t.equal((await call(t, 'GET /v1/departments/:code/queue', '/v1/departments/fen-isleri/queue', as.supervisor)).status, 200)
    t.equal((await call(t, 'GET /v1/departments/:code/queue', '/v1/departments/fen-isleri/queue', as.temizlik)).status, 403)
    t.equal((await call(t, 'GET /v1/departments/:code/queue', '/v1/departments/yok-boyle/queue', as.supervisor)).status, 404)
    for (const who of [as.fen, as.supervisor, as.auditor]) t.equal((await call(t, 'GET /v1/workflows', '/v1/workflows', who)).status, 200)
    t.equal((await call(t, 'GET /v1/workflows', '/v1/workflows', as.nobody)).status, 401)
  })

  t.test("a case's life through every command, with the documented examples", async (t) => {
    const post = (action: string, who: Record<string, string>, body?: unknown, headers: Record<string, string> = {}) =>
      call(t, `POST /v1/cases/:caseId/${action}`, `${caseUrl}/${action}`, { ...who, ...headers }, body)
    const accepted = await post('accept', as.fen)
    t.equal(accepted.status, 200, 'accept with no body at all')
    t.match(accepted.body, { status: 'in_progress', assignee: 'ayse.fen' })
    t.equal((await post('accept', as.fen, {})).status, 409, 'illegal_step: accepted already')
    t.equal((await post('start', as.fen, example(api, 'POST /v1/cases/:caseId/start'), { 'if-match': '"0"' })).status, 412, 'a stale If-Match')
    t.equal((await post('start', as.fen, example(api, 'POST /v1/cases/:caseId/start'))).status, 200)
    t.equal((await post('note', as.fen, example(api, 'POST /v1/cases/:caseId/note'))).status, 200)
    t.equal((await post('note', as.fen, { text: '' })).status, 400)
    t.equal((await post('request-info', as.fen, example(api, 'POST /v1/cases/:caseId/request-info'))).status, 200)
    const waiting = await call(t, 'GET /v1/cases/:caseId', caseUrl, as.fen)
    t.match(waiting.body, { status: 'waiting_for_citizen', sla: { paused: true, pauses: [{ resumedAt: null }] } })
    t.equal((await post('citizen-reply', as.fen, example(api, 'POST /v1/cases/:caseId/citizen-reply'))).status, 200)
    t.equal((await post('resolve', as.fen, example(api, 'POST /v1/cases/:caseId/resolve'))).status, 200)
    t.equal((await post('close', as.fen, example(api, 'POST /v1/cases/:caseId/close'))).status, 200)
    t.equal((await post('reopen', as.fen, example(api, 'POST /v1/cases/:caseId/reopen'))).status, 200)
    t.equal((await post('unlink-duplicate', as.fen, example(api, 'POST /v1/cases/:caseId/unlink-duplicate'))).status, 409, 'not_a_duplicate')
    const transferred = await post('transfer', as.fen, example(api, 'POST /v1/cases/:caseId/transfer'))
    t.equal(transferred.status, 200)
    t.match(transferred.body, { department: { code: 'temizlik' }, sla: { clock: 3 } })
    t.equal((await post('note', as.fen, { text: 'Artık bizde değil.' })).status, 403, 'no longer the directorate that holds it')
    t.equal((await post('reject', as.temizlik, example(api, 'POST /v1/cases/:caseId/reject'))).status, 200)
    t.equal((await post('reopen', as.temizlik, { reason: 'Vatandaş itiraz etti.' })).status, 409, 'reopen_limit_reached')
    const overridden = await post('reopen', as.supervisor, { reason: 'Vatandaş itiraz etti.', overrideReason: 'Başkan yardımcısı onayıyla yeniden incelenecek.' })
    t.equal(overridden.status, 200, "beyond the limit with a supervisor's reason")
    t.equal((await call(t, 'POST /v1/cases/:caseId/note', `${unknownCase}/note`, as.supervisor, { text: 'Bu başvuru yok.' })).status, 404)

    const notes = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), description: 'Kısa.' })
    const note = (text: string) => call(t, 'POST /v1/cases/:caseId/note', `/v1/cases/${notes.caseId}/note`, as.fen, { text })
    for (let i = 1; i <= 6; i++) t.equal((await note(`Not ${i}`)).status, 200)
    t.equal((await note('Yedinci not')).status, 409, 'note_limit_reached')
    const large = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), description: 'Kısa.' })
    const long = (n: number) => call(t, 'POST /v1/cases/:caseId/note', `/v1/cases/${large.caseId}/note`, as.fen, { text: `${n}. uzun not: ${'ayrıntı '.repeat(480)}` })
    t.equal((await long(1)).status, 200)
    let n = 2
    let status = (await long(n)).status
    while (status === 200 && n < 5) status = (await long(++n)).status
    t.equal(status, 413, 'case_too_large once the free text passes maxCaseBytes')

    const duplicate = await seedDuplicate(api.store, pothole)
    const queue = await call(t, 'GET /v1/departments/:code/queue', '/v1/departments/fen-isleri/queue', as.fen)
    const line = (queue.body as { cases: { caseId: string }[] }).cases.find((c) => c.caseId === duplicate)
    t.match(line, { duplicateOf: { caseId: pothole.caseId } }, 'a duplicate in the queue')
    const unlinked = await call(t, 'POST /v1/cases/:caseId/unlink-duplicate', `/v1/cases/${duplicate}/unlink-duplicate`, as.fen, example(api, 'POST /v1/cases/:caseId/unlink-duplicate'))
    t.equal(unlinked.status, 200)
    t.match(unlinked.body, { duplicateOf: null })
  })

  t.test("a workflow's steps (social services)", async (t) => {
    const aid = await seedCase(api.store, { category: 'sosyal-yardim', routedAt: new Date(), kind: 'request', description: 'Yaşlı annem için gıda yardımı istiyorum.' })
    const url = `/v1/cases/${aid.caseId}`
    t.equal((await call(t, 'POST /v1/cases/:caseId/accept', `${url}/accept`, as.sosyal)).status, 200)
    const stepExample = example(api, 'POST /v1/cases/:caseId/steps/:step')
    t.equal((await call(t, 'POST /v1/cases/:caseId/steps/:step', `${url}/steps/karar`, as.sosyal, { fields: { outcome: 'onaylandi' } })).status, 409, 'illegal_step: not next')
    t.equal((await call(t, 'POST /v1/cases/:caseId/steps/:step', `${url}/steps/ev-ziyareti-planlandi`, as.sosyal, { fields: { visitDate: '2026-02-30' } })).status, 400)
    const step = await call(t, 'POST /v1/cases/:caseId/steps/:step', `${url}/steps/ev-ziyareti-planlandi`, as.sosyal, stepExample)
    t.equal(step.status, 200)
    t.match(step.body, { steps: [{ step: 'ev-ziyareti-planlandi' }], workflow: { definition: { code: 'sosyal-yardim-incelemesi' }, nextSteps: [{ code: 'inceleme-tamamlandi' }] } })
    t.equal((await call(t, 'GET /v1/cases/:caseId', url, as.auditor)).status, 200)
  })

  t.test('privacy: data-subject access, erasure, destruction log', async (t) => {
    const erasureExample = example(api, 'POST /v1/privacy/erasures')
    t.equal(erasureExample.phone, '+905321112233', "the example names the seeded applicant's phone number")
    const subject = await call(t, 'GET /v1/privacy/subjects', `/v1/privacy/subjects?phone=${encodeURIComponent('+905321112233')}`, as.privacy)
    t.equal(subject.status, 200)
    t.match(subject.body, { subject: { kind: 'phone' }, cases: [{ caseId: pothole.caseId, personalData: Array }] })
    t.equal((await call(t, 'GET /v1/privacy/subjects', '/v1/privacy/subjects?email=kimse%40example.com', as.privacy)).status, 404)
    t.equal((await call(t, 'GET /v1/privacy/subjects', '/v1/privacy/subjects?phone=%2B905321112233', as.auditor)).status, 403)
    const erased = await call(t, 'POST /v1/privacy/erasures', '/v1/privacy/erasures', as.privacy, erasureExample)
    t.equal(erased.status, 201)
    t.match(erased.body, { status: 'erased', cases: [pothole.caseId], keptApplication: null })
    // The subject index forgets the phone number with the erasure; the tracking code still names the case.
    const again = await call(t, 'POST /v1/privacy/erasures', '/v1/privacy/erasures', as.privacy, { trackingCode: pothole.trackingCode, requestReference: 'KVKK-2026-0042', legalBasis: 'KVKK m.7, m.11/1-e' })
    t.equal(again.status, 200)
    t.match(again.body, { status: 'already-erased' })
    t.equal((await call(t, 'POST /v1/privacy/erasures', '/v1/privacy/erasures', as.privacy, { email: 'kimse@example.com', requestReference: 'KVKK-2026-0043', legalBasis: 'KVKK m.7' })).status, 404)
    for (const who of [as.privacy, as.auditor]) t.equal((await call(t, 'GET /v1/privacy/destructions', '/v1/privacy/destructions', who)).status, 200)
    const csv = await call(t, 'GET /v1/privacy/destructions', '/v1/privacy/destructions?format=csv', as.auditor, undefined, 'text')
    t.equal(csv.status, 200)
    t.match(csv.type, /^text\/csv/, 'the CSV form, as the description says')

    const after = await call(t, 'GET /v1/cases/:caseId', caseUrl, as.supervisor)
    t.match(after.body, { personalDataErasedAt: String, submission: { citizen: { name: 'kişisel veri silindi' } } }, 'erased, as the schema allows')
    const history = await call(t, 'GET /v1/cases/:caseId/history', `${caseUrl}/history`, as.auditor)
    t.match(history.body, { events: [{ type: 'CaseSubmitted', erased: Array }] })
  })

  t.test('audit: public key, checkpoints, proofs, bundle', async (t) => {
    t.equal((await call(t, 'GET /v1/audit/public-key', '/v1/audit/public-key', as.nobody)).status, 200)
    const records = await api.log.readStream(caseStreamId(pothole.caseId))
    const first = records[0]
    if (first === undefined) throw new Error('no events')
    t.equal((await call(t, 'GET /v1/audit/proofs/inclusion', `/v1/audit/proofs/inclusion?event=${first.position}`, as.auditor)).status, 404, 'no checkpoint yet')
    const small = await api.audit.checkpointNow()
    const later = await seedCase(api.store, { category: 'cop-toplama', routedAt: new Date() })
    const big = await api.audit.checkpointNow()
    if (small === undefined || big === undefined) throw new Error('no checkpoint written')
    for (const who of [as.auditor, as.supervisor, as.operator]) t.equal((await call(t, 'GET /v1/audit/checkpoints', '/v1/audit/checkpoints', who)).status, 200)
    t.equal((await call(t, 'GET /v1/audit/proofs/inclusion', `/v1/audit/proofs/inclusion?event=${first.position}`, as.auditor)).status, 200)
    t.equal((await call(t, 'GET /v1/audit/proofs/inclusion', `/v1/audit/proofs/inclusion?stream=${caseStreamId(pothole.caseId)}&revision=1`, as.operator)).status, 200)
    const last = (await api.log.readStream(caseStreamId(later.caseId))).at(-1)
    t.equal((await call(t, 'GET /v1/audit/proofs/inclusion', `/v1/audit/proofs/inclusion?event=${last?.position ?? 0}&checkpoint=${small.treeSize}`, as.auditor)).status, 409, 'not covered')
    t.equal((await call(t, 'GET /v1/audit/proofs/consistency', `/v1/audit/proofs/consistency?from=${small.treeSize}`, as.auditor)).status, 200)
    t.equal((await call(t, 'GET /v1/audit/proofs/consistency', `/v1/audit/proofs/consistency?from=1&to=${big.treeSize + 1000}`, as.auditor)).status, 404)
    const verified = await call(t, 'POST /v1/audit/checkpoints/verify', '/v1/audit/checkpoints/verify', as.auditor, small)
    t.equal(verified.status, 200)
    t.match(verified.body, { valid: true, latest: { treeSize: big.treeSize }, consistencyProof: Array })
    t.equal((await call(t, 'POST /v1/audit/checkpoints/verify', '/v1/audit/checkpoints/verify', as.auditor, big)).status, 200)
    t.equal((await call(t, 'POST /v1/audit/checkpoints/verify', '/v1/audit/checkpoints/verify', as.supervisor, example(api, 'POST /v1/audit/checkpoints/verify'))).status, 409, 'another log')
    const bundle = await call(t, 'GET /v1/cases/:caseId/audit-bundle', `/v1/cases/${pothole.caseId}/audit-bundle`, as.auditor)
    t.equal(bundle.status, 200)
    t.equal((await call(t, 'GET /v1/cases/:caseId/audit-bundle', `/v1/cases/${pothole.trackingCode}/audit-bundle`, as.supervisor)).status, 200, 'by tracking code')
    t.equal((await call(t, 'GET /v1/cases/:caseId/audit-bundle', `${unknownCase}/audit-bundle`, as.auditor)).status, 404)
  })

  t.test('every route was answered successfully and checked', async (t) => {
    // The app's own routes (health, the API description, its page) are the service kit's, tested there.
    const ours = /^\/v1\/(cases|departments|workflows|privacy|audit)\b/
    const routes = [...api.routes.keys()].filter((route) => ours.test(route.slice(route.indexOf(' ') + 1)))
    const listed = ACCESS_RULES.filter((rule) => ours.test(rule.path)).map((rule) => `${rule.method} ${rule.path}`)
    t.same(routes.toSorted(), listed.toSorted(), 'the routes are the access table\'s case, queue, workflow, privacy and audit rows')
    for (const route of routes) {
      const declared = api.routes.get(route)
      t.ok(Object.keys(declared?.response ?? {}).some((status) => status.startsWith('2')), `${route} documents its success answer`)
      t.ok(api.answered.has(route), `${route} answered a 2xx that was checked`)
    }
  })
})

t.test("every route of department-workflow's process (staff, privacy and audit APIs) is in its /openapi.json", async (t) => {
  const served = await serve(t)
  t.same(await describedRouteGaps(served.app), [])
})

t.test('the check fails when a schema leaves out a key the route sends', async (t) => {
  const api = await serve(t)
  const seeded = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  const body: unknown = (await api.app.inject({ method: 'GET', url: `/v1/cases/${seeded.caseId}`, headers: as.fen })).json()
  const drifted = CaseViewSchema.omit({ assignee: true }).safeParse(body)
  t.ok(drifted.success, 'a plain object schema parses, dropping the key')
  t.notSame(JSON.parse(JSON.stringify(drifted.data)), body, 'and what comes out differs from what was sent')
  t.same(JSON.parse(JSON.stringify(CaseViewSchema.parse(body))), body, 'while the real schema gives it back whole')
})
