import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { ValidationError, createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { caseIdForTrackingCode } from '@civic-desk/case-domain'
import { randomUUID } from 'node:crypto'
import { caseStreamId, executeOnCase } from '@civic-desk/case-feed'
import type { CaseCommand } from '@civic-desk/case-domain'
import { SubmissionBody } from '@civic-desk/contracts'
import { buildIntakeApp } from './app.ts'
import { validateSubmission } from './validation.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const logger = createLogger({ level: 'silent', name: 'intake-test' })
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const trackingKey = Buffer.alloc(32, 7)
const now = () => new Date('2026-11-20T09:15:00.000Z')

/** What the topic path (`validateSubmission`) says about a body it refuses. */
function refusal(value: unknown): { detail: string; errors: unknown } {
  try {
    validateSubmission({ catalogue, now }, value, SubmissionBody)
  } catch (error) {
    if (error instanceof ValidationError) return { detail: error.detail, errors: error.errors }
  }
  throw new Error('expected a ValidationError')
}

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'civic-intake-'))
  const file = join(dir, 'events.sqlite')
  let store: EventStore = openSqliteEventStore({ file })
  const build = () => buildIntakeApp({ store, catalogue, access, logger, trackingKey, now })
  let app = await build()
  t.teardown(async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    get app() { return app },
    get store() { return store },
    /** Closes everything and opens the same data folder again, as a process restart would. */
    async restart() {
      await app.close()
      await store.close()
      store = openSqliteEventStore({ file })
      app = await build()
    },
  }
}

const channel = { authorization: 'Bearer dev-channel' }
const pothole = {
  channel: 'call-center',
  externalId: 'alo153-20261120-0042',
  kind: 'complaint',
  category: 'yol-cukur',
  description: 'Şehit Öğretmen Sokağı’nda büyük bir ÇUKUR var; İstanbul yönüne giden araçlar zarar görüyor.',
  location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4', lat: 38.4682, lon: 27.2097 },
  citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', email: 'ayse@example.com', preferredChannel: 'sms' },
}

t.test('a Turkish complaint is stored durably and answered with a tracking code', async (t) => {
  const env = await setup(t)
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })
  t.equal(res.statusCode, 201)
  const receipt = res.json()
  t.match(receipt, { status: 'submitted', trackingCode: /^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3}$/ })
  t.equal(receipt.caseId, caseIdForTrackingCode(receipt.trackingCode))
  t.equal(res.headers.location, `/v1/requests/${receipt.trackingCode}`)

  const events = await env.store.readStream(caseStreamId(receipt.caseId))
  t.equal(events.length, 1)
  t.equal(events[0]?.type, 'CaseSubmitted')
  // The phone is stored in E.164, whichever way it was written.
  t.match(events[0]?.data, { caseId: receipt.caseId, description: pothole.description, citizen: { ...pothole.citizen, phone: '+905321112233' }, receivedAt: '2026-11-20T09:15:00.000Z' })
  t.match(events[0]?.metadata, { schemaVersion: 1, actor: { kind: 'channel', id: 'dev-channel' }, causationId: null })

  const view = await env.app.inject({ method: 'GET', url: `/v1/requests/${receipt.trackingCode}` })
  t.equal(view.statusCode, 200)
  t.match(view.json(), { trackingCode: receipt.trackingCode, status: 'submitted', kind: 'complaint', category: { code: 'yol-cukur' }, department: null, expectedBy: null })
  for (const secret of ['Ayşe', '532', 'ayse@', 'Şehit Öğretmen Sk', 'alo153-', 'ÇUKUR']) t.notOk(view.body.includes(secret), `public view hides ${secret}`)

  // The citizen reads the code over the phone: lower case and spaces are fine.
  const sloppy = await env.app.inject({ method: 'GET', url: `/v1/requests/${encodeURIComponent(receipt.trackingCode.toLowerCase().replaceAll('-', ' '))}` })
  t.equal(sloppy.statusCode, 200)

  await env.restart()
  const afterRestart = await env.app.inject({ method: 'GET', url: `/v1/requests/${receipt.trackingCode}` })
  t.equal(afterRestart.statusCode, 200, 'still there after a restart')
})

t.test('a petition scanned later keeps the citizen time; a few minutes of clock skew are tolerated', async (t) => {
  const env = await setup(t)
  for (const submittedAt of ['2026-11-18T14:30:00+03:00', '2026-11-20T09:17:00.000Z']) {
    const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { channel: 'petition', kind: 'request', description: 'Dilekçe: mahallemize park yapılması talebi.', submittedAt } })
    t.equal(res.statusCode, 201, submittedAt)
    const view = await env.app.inject({ method: 'GET', url: `/v1/requests/${res.json().trackingCode}` })
    t.equal(view.json().submittedAt, submittedAt)
  }
})

t.test('anonymous requests without externalId get distinct random codes', async (t) => {
  const env = await setup(t)
  const body = { channel: 'whatsapp', kind: 'tip', description: 'Parkta gece saatlerinde gürültü yapılıyor.' }
  const a = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: body })
  const b = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: body })
  t.equal(a.statusCode, 201)
  t.equal(b.statusCode, 201)
  t.not(a.json().trackingCode, b.json().trackingCode)
  t.equal(await env.store.headPosition(), 2)
})

t.test('the same (channel, externalId) again answers 200 with the same case; a different body 409', async (t) => {
  const env = await setup(t)
  const first = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })
  const again = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })
  t.equal(first.statusCode, 201)
  t.equal(again.statusCode, 200)
  t.same(again.json(), first.json())
  t.equal(await env.store.headPosition(), 1)

  const changed = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, description: 'Başka bir konu' } })
  t.equal(changed.statusCode, 409)
  t.equal(changed.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(changed.json(), { status: 409, detail: /alo153-20261120-0042/ })
  t.equal(await env.store.headPosition(), 1, 'nothing written')

  const otherChannel = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, channel: 'web' } })
  t.equal(otherChannel.statusCode, 201, 'the key is per channel')
  t.not(otherChannel.json().caseId, first.json().caseId)
})

t.test('concurrent retries of one request create exactly one case', async (t) => {
  const env = await setup(t)
  const payload = { ...pothole, externalId: 'wa-msg-551' }
  const answers = await Promise.all(Array.from({ length: 12 }, () => env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload })))
  t.same(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201])
  t.equal(new Set(answers.map((a) => a.json().caseId)).size, 1)
  t.equal(await env.store.headPosition(), 1)
})

const tooLong = 'ç'.repeat(4001)
const badInputs: Array<{ name: string; status: number; field?: string; headers?: Record<string, string>; payload?: unknown; raw?: string | Buffer }> = [
  { name: 'malformed JSON', status: 400, field: 'body', raw: '{"channel": "web", "kind": ' },
  { name: 'wrong type', status: 400, field: 'kind', payload: { ...pothole, kind: 5 } },
  { name: 'unknown channel', status: 400, field: 'channel', payload: { ...pothole, channel: 'pigeon' } },
  { name: 'unknown kind', status: 400, field: 'kind', payload: { ...pothole, kind: 'praise' } },
  { name: 'unknown category', status: 400, field: 'category', payload: { ...pothole, category: 'uzay-gemisi' } },
  { name: 'empty description', status: 400, field: 'description', payload: { ...pothole, description: '' } },
  { name: 'blank description', status: 400, field: 'description', payload: { ...pothole, description: '   \n ' } },
  { name: 'description over 4000 characters', status: 400, field: 'description', payload: { ...pothole, description: tooLong } },
  { name: 'missing description', status: 400, field: 'description', payload: { channel: 'web', kind: 'request' } },
  { name: 'unknown field', status: 400, field: 'priority', payload: { ...pothole, priority: 'high' } },
  { name: 'latitude out of range', status: 400, field: 'location.lat', payload: { ...pothole, location: { lat: 123, lon: 27 } } },
  { name: 'bad e-mail', status: 400, field: 'citizen.email', payload: { ...pothole, citizen: { email: 'not-an-email' } } },
  { name: 'e-mail without a domain', status: 400, field: 'citizen.email', payload: { ...pothole, citizen: { email: 'ayşe@örnek' } } },
  { name: 'phone of dashes only', status: 400, field: 'citizen.phone', payload: { ...pothole, citizen: { phone: '-------' } } },
  { name: 'phone of a plus and brackets', status: 400, field: 'citizen.phone', payload: { ...pothole, citizen: { phone: '+(((((((' } } },
  { name: 'phone too short to be a number', status: 400, field: 'citizen.phone', payload: { ...pothole, citizen: { phone: '+90 532 12' } } },
  { name: 'phone with letters', status: 400, field: 'citizen.phone', payload: { ...pothole, citizen: { phone: '0532 ABC 45 67' } } },
  { name: 'empty citizen', status: 400, field: 'citizen', payload: { ...pothole, citizen: {} } },
  { name: 'citizen with only a preference', status: 400, field: 'citizen', payload: { ...pothole, citizen: { preferredChannel: 'sms' } } },
  { name: 'name of zero-width spaces', status: 400, field: 'citizen.name', payload: { ...pothole, citizen: { name: '\u200b\u200b' } } },
  { name: 'description of zero-width spaces', status: 400, field: 'description', payload: { ...pothole, description: '\u200b\u200b\u200b' } },
  { name: 'description of NUL characters', status: 400, field: 'description', payload: { ...pothole, description: '\u0000\u0000' } },
  { name: 'description with a NUL inside', status: 400, field: 'description', payload: { ...pothole, description: 'Çukur\u0000 var' } },
  { name: 'description with a lone surrogate', status: 400, field: 'description', payload: { ...pothole, description: 'Çukur \ud83d var' } },
  { name: 'address of format characters', status: 400, field: 'location.address', payload: { ...pothole, location: { address: '\u200b\u2060\ufeff' } } },
  { name: 'body that is not UTF-8', status: 400, field: 'body', raw: Buffer.concat([Buffer.from('{"channel":"web","kind":"request","description":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]) },
  { name: 'bad submittedAt', status: 400, field: 'submittedAt', payload: { ...pothole, submittedAt: 'dün' } },
  { name: 'submittedAt in the future', status: 400, field: 'submittedAt', payload: { ...pothole, submittedAt: '2026-11-21T09:15:00+03:00' } },
  { name: 'body over 64 KiB', status: 413, payload: { ...pothole, description: 'x'.repeat(70 * 1024) } },
  { name: 'missing token', status: 401, headers: {}, payload: pothole },
  { name: 'wrong token', status: 401, headers: { authorization: 'Bearer nope' }, payload: pothole },
  { name: 'role without channel rights', status: 403, headers: { authorization: 'Bearer dev-auditor' }, payload: pothole },
]

for (const bad of badInputs) {
  t.test(`bad input: ${bad.name} → ${bad.status}, nothing stored`, async (t) => {
    const env = await setup(t)
    const res = await env.app.inject({
      method: 'POST',
      url: '/v1/requests',
      headers: { ...(bad.headers ?? channel), 'content-type': 'application/json' },
      payload: bad.raw ?? JSON.stringify(bad.payload),
    })
    t.equal(res.statusCode, bad.status)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    const problem = res.json()
    t.equal(problem.status, bad.status)
    t.type(problem.title, 'string')
    t.type(problem.detail, 'string')
    if (bad.field !== undefined) {
      t.ok(problem.errors?.some((e: { field: string }) => e.field === bad.field), `names ${bad.field}: ${JSON.stringify(problem.errors)}`)
    }
    if (bad.status === 400 && bad.payload !== undefined) {
      t.same({ detail: problem.detail, errors: problem.errors }, refusal(bad.payload), 'the same words as a refusal on the intake topic')
    }
    t.equal(await env.store.headPosition(), 0, 'the store holds no trace')
  })
}

t.test('Turkish numbers are stored in E.164; international e-mail addresses are accepted', async (t) => {
  const env = await setup(t)
  const written = ['0532 123 45 67', '+90 (532) 123-45-67', '532 123 45 67', '0090 532 123 45 67', '05321234567']
  for (const [i, phone] of written.entries()) {
    const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, externalId: `tel-${i}`, citizen: { phone } } })
    t.equal(res.statusCode, 201, phone)
    const [event] = await env.store.readStream(caseStreamId(res.json().caseId))
    t.match(event?.data, { citizen: { phone: '+905321234567' } }, `${phone} → +905321234567`)
  }
  const foreign = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, externalId: 'tel-uk', citizen: { phone: '+44 20 7946 0958' } } })
  t.equal(foreign.statusCode, 201, 'a foreign number with its country code')
  t.match((await env.store.readStream(caseStreamId(foreign.json().caseId)))[0]?.data, { citizen: { phone: '+442079460958' } })

  // "ş" written decomposed (s + combining cedilla) is stored composed (NFC), as typed on a Turkish keyboard.
  const email = 'ays\u0327e@örnek.com.tr'
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, externalId: 'idn', citizen: { name: 'Ayşe', email, preferredChannel: 'email' } } })
  t.equal(res.statusCode, 201, res.body)
  t.match((await env.store.readStream(caseStreamId(res.json().caseId)))[0]?.data, { citizen: { email: 'ayşe@örnek.com.tr' } })
  t.equal(await env.store.headPosition(), written.length + 2)
})

t.test('a retried submission answers with the case status of now, not "submitted"', async (t) => {
  const env = await setup(t)
  const first = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })
  t.equal(first.statusCode, 201)
  t.equal(first.json().status, 'submitted')
  const { caseId } = first.json()
  await executeOnCase(env.store, caseId, () => routeCommand())
  const retry = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })
  t.equal(retry.statusCode, 200)
  t.same(retry.json(), { ...first.json(), status: 'routed' })
  t.equal(await env.store.headPosition(), 2, 'the retry wrote nothing')
})

t.test('the public timeline of a case joined to another never shows the other case\'s tracking code', async (t) => {
  const env = await setup(t)
  const earlier = (await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })).json()
  const later = (await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: { ...pothole, externalId: 'alo153-20261120-0043', citizen: { name: 'Mehmet' } } })).json()
  await executeOnCase(env.store, earlier.caseId, () => routeCommand())
  await executeOnCase(env.store, later.caseId, () => ({
    ...routeCommand(),
    type: 'MarkDuplicate',
    data: { ...routeCommand().data, duplicateOf: earlier.caseId, duplicateOfTrackingCode: earlier.trackingCode, match: 'location', distanceMeters: 3, similarity: null },
  }))
  const view = await env.app.inject({ method: 'GET', url: `/v1/requests/${later.trackingCode}` })
  t.equal(view.statusCode, 200)
  t.notOk(view.body.includes(earlier.trackingCode), 'the other citizen\'s code is nowhere in the view')
  const step = view.json().timeline.find((e: { step: string }) => e.step === 'duplicate-linked')
  t.match(step, { textTr: /aynı konudaki önceki bir başvuruyla birleştirildi/, textEn: /joined to an earlier one/ })
})

/** Routes a case to Fen İşleri, as routing would. */
function routeCommand(): Extract<CaseCommand, { type: 'RouteCase' }> {
  return {
    type: 'RouteCase',
    meta: { eventId: randomUUID(), occurredAt: '2026-11-20T09:16:00.000Z', actor: { kind: 'service', id: 'routing' }, correlationId: 'test', causationId: null },
    data: {
      department: 'fen-isleri',
      category: 'yol-cukur',
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: '2026-11-20T09:16:00.000Z', deadline: { hours: 48 }, basis: 'category', dueAt: '2026-11-22T09:16:00.000Z' },
      legalDueAt: null,
    },
  }
}

t.test('wrong content type → 415, nothing stored', async (t) => {
  const env = await setup(t)
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { ...channel, 'content-type': 'text/plain' }, payload: 'merhaba' })
  t.equal(res.statusCode, 415)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(await env.store.headPosition(), 0)
})

t.test('status lookup: malformed code 400 naming the reason, unknown code 404', async (t) => {
  const env = await setup(t)
  const created = (await env.app.inject({ method: 'POST', url: '/v1/requests', headers: channel, payload: pothole })).json()
  const code: string = created.trackingCode
  // Change one character: the check character catches it.
  const chars = code.split('')
  chars[0] = chars[0] === 'A' ? 'B' : 'A'
  const typo = await env.app.inject({ method: 'GET', url: `/v1/requests/${chars.join('')}` })
  t.equal(typo.statusCode, 400)
  t.match(typo.json(), { status: 400, errors: [{ field: 'trackingCode', message: /check character/ }] })

  const short = await env.app.inject({ method: 'GET', url: '/v1/requests/ABC' })
  t.equal(short.statusCode, 400)

  // A well-formed code nobody was given.
  const { trackingCodeFromBytes } = await import('@civic-desk/case-domain')
  const unknown = await env.app.inject({ method: 'GET', url: `/v1/requests/${trackingCodeFromBytes(Buffer.alloc(16, 1))}` })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8')
})

t.test('status lookups are rate-limited per client address with a 429 problem', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-intake-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const app = await buildIntakeApp({ store, catalogue, access, logger, trackingKey, now: () => new Date(), lookupsPerMinute: 3 })
  t.teardown(async () => {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const url = '/v1/requests/ABC'
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await app.inject({ method: 'GET', url, remoteAddress: '10.1.1.1' })).statusCode)
  t.same(statuses, [400, 400, 400, 429])
  const limited = await app.inject({ method: 'GET', url, remoteAddress: '10.1.1.1' })
  t.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(limited.json(), { status: 429, code: 'too_many_requests', detail: /try again in 1 minute/ })
  t.ok(limited.headers['retry-after'], 'tells when to retry')
  t.equal((await app.inject({ method: 'GET', url, remoteAddress: '10.2.2.2' })).statusCode, 400, 'other addresses are not affected')
})

t.test("the caller's x-request-id is kept apart as clientRequestId; the audit trail's correlation id is made here", async (t) => {
  const env = await setup(t)
  const res = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { ...channel, 'x-request-id': 'AUDIT-FORGED-ID' }, payload: pothole })
  t.equal(res.statusCode, 201)
  const correlationId = res.headers['x-correlation-id']
  t.match(correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a server-made UUID, sent back')
  const [stored] = await env.store.readStream(caseStreamId(res.json().caseId))
  const metadata = stored?.metadata as Record<string, unknown>
  t.equal(metadata['correlationId'], correlationId, 'the event records the server-made id')
  t.not(metadata['correlationId'], 'AUDIT-FORGED-ID', 'not the caller-chosen one')
  t.equal(metadata['clientRequestId'], 'AUDIT-FORGED-ID', "the caller's id, recorded apart")

  // Without an x-request-id (or with one that is not sane) nothing is recorded as the caller's.
  const plain = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { ...channel, 'x-request-id': 'has spaces' }, payload: { ...pothole, externalId: 'alo153-2' } })
  t.equal(plain.statusCode, 201)
  const [second] = await env.store.readStream(caseStreamId(plain.json().caseId))
  t.equal((second?.metadata as Record<string, unknown>)['clientRequestId'], undefined)
  t.equal((second?.metadata as Record<string, unknown>)['correlationId'], plain.headers['x-correlation-id'])
})
