// As-of replay over real HTTP: a case worked through a transfer, a question to the citizen and its
// resolution, asked for as it stood at three instants; an instant before the case, a malformed
// one, one in the future; the history up to an instant; an erasure that reaches back.
// The clock is the real one: the cut is the store's `recordedAt`, which the store sets itself.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Test } from 'tap'
import { caseStreamId, encodeCaseEvent } from '@civic-desk/case-feed'
import { ERASED_PERSONAL_TEXT } from '@civic-desk/contracts'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { buildWorkflowApp } from './app.ts'
import { access, as, ayse, calendar, catalogue, logger, projectCases, seedCase, workflows } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

interface Served {
  readonly store: EventStore
  get(path: string, headers: Record<string, string>): Promise<{ status: number; type: string | null; body: any }>
  post(path: string, headers: Record<string, string>, body: unknown): Promise<any>
}

/** The staff API on a real port, with the real clock; closed when the test ends. */
async function serve(t: Test): Promise<Served> {
  const store = createMemoryEventStore()
  const openCases = projectCases(store)
  const app = buildWorkflowApp({ store, openCases, catalogue, calendar, workflows, access, logger, now: () => new Date() })
  t.teardown(async () => {
    await app.close()
    await openCases.close()
    await store.close()
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    store,
    async get(path, headers) {
      const response = await fetch(`${address}${path}`, { headers })
      return { status: response.status, type: response.headers.get('content-type'), body: await response.json() }
    },
    async post(path, headers, body) {
      const response = await fetch(`${address}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const answer = await response.json()
      if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(answer)}`)
      return answer
    },
  }
}

/** Waits until the clock has moved on, so the instants before and after differ. */
async function tick(): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 20))
  const at = new Date().toISOString()
  await new Promise((resolve) => setTimeout(resolve, 20))
  return at
}

const asOf = (caseId: string, at: string, more = ''): string => `/v1/cases/${caseId}?asOf=${encodeURIComponent(at)}${more}`

t.test('a case asked for as of three instants answers its three states, the SLA clock evaluated at each', async (t) => {
  const api = await serve(t)
  const { caseId } = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
  await api.post(`/v1/cases/${caseId}/accept`, as.fen, {})
  await api.post(`/v1/cases/${caseId}/note`, as.fen, { text: 'Park alanında, bizim işimiz değil.' })
  const transferred = await api.post(`/v1/cases/${caseId}/transfer`, as.fen, { department: 'park-bahce', category: 'park-bakim', reason: 'Park içinde; Park ve Bahçeler bakar.' })
  const afterTransfer = await tick()
  await api.post(`/v1/cases/${caseId}/accept`, as.park, {})
  const asked = await api.post(`/v1/cases/${caseId}/request-info`, as.park, { question: 'Hangi salıncak kırık?' })
  const whileWaiting = await tick()
  await api.post(`/v1/cases/${caseId}/citizen-reply`, as.park, { text: 'Girişteki ikinci salıncak.' })
  const resolved = await api.post(`/v1/cases/${caseId}/resolve`, as.park, { resolution: 'Salıncak değiştirildi.' })
  const afterResolution = await tick()

  // 1. Just transferred: Park ve Bahçeler holds it, nobody has it yet, its new clock runs.
  const first = await api.get(asOf(caseId, afterTransfer), as.supervisor)
  t.equal(first.status, 200, JSON.stringify(first.body))
  t.match(first.body, { asOf: afterTransfer, revision: transferred.revision, status: 'routed', department: { code: 'park-bahce' }, category: { code: 'park-bakim' }, assignee: null, openQuestion: null, resolution: null })
  t.equal(first.body.streamRevision, transferred.revision)
  t.match(first.body.sla, { clock: 2, paused: false, level: 'on-track' })
  t.equal(first.body.sla.msLeft, Date.parse(first.body.sla.dueAt) - Date.parse(afterTransfer), 'time left counted to the instant asked for')
  t.same(first.body.notes.map((n: { text: string }) => n.text), ['Park alanında, bizim işimiz değil.'], 'the notes written by then')
  t.same(
    first.body.changes.map((c: { type: string }) => c.type),
    ['CaseSubmitted', 'CaseRouted', 'CaseAccepted', 'CaseNoteAdded', 'CaseTransferred'],
    'the changes up to the instant, where a time control can step to',
  )
  const later = await api.get(asOf(caseId, new Date(Date.parse(afterTransfer) + 7).toISOString()), as.supervisor)
  t.equal(later.body.revision, first.body.revision, 'the same state 7 ms later')
  t.equal(first.body.sla.msLeft - later.body.sla.msLeft, 7, 'but 7 ms less time left')

  // 2. Waiting for the citizen: accepted by Park ve Bahçeler, the clock paused.
  const second = await api.get(asOf(caseId, whileWaiting), as.supervisor)
  t.equal(second.status, 200)
  t.match(second.body, { asOf: whileWaiting, revision: asked.revision, status: 'waiting_for_citizen', department: { code: 'park-bahce' }, assignee: 'elif.park', openQuestion: 'Hangi salıncak kırık?' })
  t.match(second.body.sla, { clock: 2, paused: true })
  t.equal(second.body.sla.msLeft, asked.sla.msLeft, 'a paused clock: the time left as it stopped')
  t.equal(Date.parse(second.body.sla.dueAt), Date.parse(whileWaiting) + second.body.sla.msLeft, 'a paused clock is due the time left after the instant asked for')

  // 3. Resolved.
  const third = await api.get(asOf(caseId, afterResolution), as.supervisor)
  t.equal(third.status, 200)
  t.match(third.body, { revision: resolved.revision, status: 'resolved', resolution: 'Salıncak değiştirildi.', resolvedAt: resolved.resolvedAt, openQuestion: null })
  t.match(third.body.sla, { paused: false })
  t.not(first.body.sla.msLeft, third.body.sla.msLeft)

  // Who may ask: as for the case now. The directorate that holds it and supervisors see it all,
  // auditors without personal data; the directorate it was transferred away from sees nothing.
  const staff = await api.get(asOf(caseId, afterTransfer), as.park)
  t.equal(staff.status, 200)
  t.equal(staff.body.submission.citizen.name, ayse.name)
  const auditor = await api.get(asOf(caseId, afterTransfer), as.auditor)
  t.equal(auditor.status, 200)
  t.equal(auditor.body.personalDataRedacted, true)
  t.notOk(JSON.stringify(auditor.body).includes('Ayşe'), 'no applicant for auditors as of an earlier instant either')
  const formerHolder = await api.get(asOf(caseId, afterTransfer), as.fen)
  t.equal(formerHolder.status, 403, 'staff of the directorate that held it then, not now: refused as today')
  t.equal((await api.get(asOf(caseId, afterTransfer), as.operator)).status, 403)

  // The notes page parameters still apply to an earlier state.
  const paged = await api.get(asOf(caseId, afterResolution, '&notesLimit=1'), as.supervisor)
  t.match(paged.body.notesPage, { total: 1, limit: 1 })
})

t.test('before the case existed: 404; malformed or future instants: 400', async (t) => {
  const api = await serve(t)
  const { caseId } = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  const history = await api.get(`/v1/cases/${caseId}/history`, as.supervisor)
  const firstRecordedAt: string = history.body.events[0].recordedAt
  const before = new Date(Date.parse(firstRecordedAt) - 1).toISOString()

  const missing = await api.get(asOf(caseId, before), as.supervisor)
  t.equal(missing.status, 404)
  t.equal(missing.type, PROBLEM)
  t.match(missing.body, { code: 'not_found', reason: 'not_yet_recorded', firstRecordedAt, detail: /henüz kayıtlı değildi.*There was no case/ })
  const atFirst = await api.get(asOf(caseId, firstRecordedAt), as.supervisor)
  t.equal(atFirst.status, 200, 'the instant its first events were recorded answers')
  t.equal(atFirst.body.status, 'routed', 'submitted and routed in one append: taken together')
  // The same instant with another offset is the same instant.
  const local = new Date(Date.parse(firstRecordedAt) + 3 * 3_600_000).toISOString().replace('Z', '+03:00')
  t.equal((await api.get(asOf(caseId, local), as.supervisor)).body.asOf, firstRecordedAt)
  const typed = await api.get(`/v1/cases/${caseId}?asOf=${local}`, as.supervisor)
  t.equal(typed.body.asOf, firstRecordedAt, 'a + typed unencoded in the URL (read as a space) is still the offset')

  for (const bad of ['yesterday', '2026-02-30T10:00:00Z', '2026-12-05T10:00:00', '2026-12-05', '1733400000000', '']) {
    const answer = await api.get(asOf(caseId, bad), as.supervisor)
    t.equal(answer.status, 400, `asOf=${bad}`)
    t.equal(answer.type, PROBLEM)
    t.match(answer.body, { code: 'validation_failed', errors: [{ field: /asOf/ }] }, `asOf=${bad} names the field`)
  }
  const future = await api.get(asOf(caseId, new Date(Date.now() + 3_600_000).toISOString()), as.supervisor)
  t.equal(future.status, 400, 'no forecasts')
  t.match(future.body, { errors: [{ field: 'asOf' }] })
  t.equal((await api.get(asOf(randomUUID(), new Date().toISOString()), as.supervisor)).status, 404, 'an unknown case')
})

t.test('history until an instant: the events recorded by then', async (t) => {
  const api = await serve(t)
  const { caseId } = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
  await api.post(`/v1/cases/${caseId}/accept`, as.fen, {})
  const accepted = await tick()
  await api.post(`/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Çukur kapatıldı.' })

  const until = await api.get(`/v1/cases/${caseId}/history?until=${encodeURIComponent(accepted)}`, as.auditor)
  t.equal(until.status, 200)
  t.match(until.body, { caseId, until: accepted, revision: 2 })
  t.same(until.body.events.map((e: { type: string }) => e.type), ['CaseSubmitted', 'CaseRouted', 'CaseAccepted'])
  t.same(until.body.events[0].redacted, ['data.citizen', 'data.location.address'], 'auditors without personal data, as always')
  t.equal((await api.get(`/v1/cases/${caseId}/history`, as.auditor)).body.events.length, 4, 'without until: all of it')

  const early = await api.get(`/v1/cases/${caseId}/history?until=${encodeURIComponent(new Date(Date.parse(until.body.events[0].recordedAt) - 1).toISOString())}`, as.auditor)
  t.equal(early.status, 404)
  t.match(early.body, { reason: 'not_yet_recorded' })
  const malformed = await api.get(`/v1/cases/${caseId}/history?until=soon`, as.auditor)
  t.equal(malformed.status, 400)
  t.match(malformed.body, { errors: [{ field: /until/ }] })
  t.equal((await api.get(`/v1/cases/${caseId}/history?until=${encodeURIComponent(accepted)}`, as.fen)).status, 403, 'staff do not read the audit history')
})

t.test('an erasure reaches back: as of an earlier instant the personal fields read as erased', async (t) => {
  const api = await serve(t)
  const { caseId } = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date(), citizen: ayse })
  await api.post(`/v1/cases/${caseId}/note`, as.fen, { text: 'Ayşe Hanım aradı.' })
  const beforeErasure = await tick()
  t.equal((await api.get(asOf(caseId, beforeErasure), as.fen)).body.submission.citizen.name, ayse.name, 'held: shown')

  const stream = await api.store.readStream(caseStreamId(caseId))
  await api.store.append(
    caseStreamId(caseId),
    [
      encodeCaseEvent({
        eventId: randomUUID(),
        type: 'PersonalDataErased',
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        actor: { kind: 'staff', id: 'dev-privacy' },
        correlationId: 'as-of-test',
        causationId: null,
        data: { destructionId: randomUUID(), reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: 'KVKK-1', fields: ['kimlik', 'iletişim'] },
      }),
    ],
    { expectedRevision: stream.length - 1 },
  )

  const then = await api.get(asOf(caseId, beforeErasure), as.fen)
  t.equal(then.status, 200)
  const text = JSON.stringify(then.body)
  for (const value of ['Ayşe', '532 111', 'Şehit Öğretmen']) t.notOk(text.includes(value), `no ${value} as of before the erasure`)
  t.equal(then.body.notes[0].text, ERASED_PERSONAL_TEXT)
  t.equal(then.body.submission.description, ERASED_PERSONAL_TEXT)
  t.type(then.body.personalDataErasedAt, 'string', 'and it says when the data was erased (after the instant asked for)')
  t.ok(Date.parse(then.body.personalDataErasedAt) > Date.parse(beforeErasure))
  t.equal(then.body.status, 'routed', 'the course of the case is as it was')

  const history = await api.get(`/v1/cases/${caseId}/history?until=${encodeURIComponent(beforeErasure)}`, as.supervisor)
  t.equal(history.status, 200)
  t.notOk(JSON.stringify(history.body).includes('Ayşe'), 'the history up to before the erasure holds nothing personal either')
  t.ok(history.body.events[0].erased.includes('citizen.name'))
})
