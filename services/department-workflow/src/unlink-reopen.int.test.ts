import { randomBytes } from 'node:crypto'
import t from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes } from '@civic-desk/case-domain'
import { categoryByCode } from '@civic-desk/contracts'
import { T0, act, as, at, ayse, calendar, catalogue, eventsOf, iso, seedCase, setup, type Env } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'

/** A container complaint that routing linked, wrongly, to `original` (same directorate, neighbouring category). */
async function seedDuplicate(env: Env, original: { caseId: string; trackingCode: string }): Promise<{ caseId: string; trackingCode: string }> {
  const trackingCode = trackingCodeFromBytes(randomBytes(8))
  const caseId = caseIdForTrackingCode(trackingCode)
  const category = categoryByCode(catalogue, 'konteyner')
  if (category === undefined) throw new Error('no konteyner category')
  await act(env.store, caseId, T0, (meta) => ({
    type: 'SubmitCase',
    meta: { ...meta, actor: { kind: 'channel', id: 'web' } },
    data: { caseId, trackingCode, channel: 'web', kind: 'complaint', category: 'konteyner', description: 'Konteynerler taştı.', citizen: ayse, receivedAt: T0.toISOString() },
  }))
  await act(env.store, caseId, T0, (meta) => ({
    type: 'MarkDuplicate',
    meta: { ...meta, actor: { kind: 'service', id: 'routing' } },
    data: {
      department: 'temizlik',
      category: 'konteyner',
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: T0.toISOString(), deadline: category.sla, basis: 'category', dueAt: calendar.dueAt(T0, category.sla).toISOString() },
      legalDueAt: null,
      duplicateOf: original.caseId,
      duplicateOfTrackingCode: original.trackingCode,
      match: 'location',
      distanceMeters: 40,
      similarity: 0.2,
    },
  }))
  return { caseId, trackingCode }
}

t.test('unlink-duplicate: its own clock from the unlink, the earlier case counts one linked report less', async (t) => {
  const env = setup(t, at(1))
  const original = await seedCase(env.store, { category: 'cop-toplama', routedAt: T0, citizen: ayse })
  const wrong = await seedDuplicate(env, original)
  const second = await seedDuplicate(env, original)

  const before = (await env.request('GET', '/v1/departments/temizlik/queue', as.temizlik)).json().cases as Array<{ caseId: string; linkedCount: number; duplicateOf: unknown }>
  t.equal(before.find((c) => c.caseId === original.caseId)?.linkedCount, 2, 'two reports linked to the earlier case')
  t.match(before.find((c) => c.caseId === wrong.caseId), { duplicateOf: { caseId: original.caseId } })

  env.clock.set(at(5))
  const unlinked = await env.request('POST', `/v1/cases/${wrong.caseId}/unlink-duplicate`, { ...as.temizlik, 'if-match': '"1"' }, { reason: 'Başka sokaktaki konteynerler' })
  t.equal(unlinked.statusCode, 200, unlinked.body)
  t.equal(unlinked.headers.etag, '"2"')
  const expectedDue = calendar.dueAt(at(5), (categoryByCode(catalogue, 'konteyner') ?? { sla: { hours: 1 } }).sla).toISOString()
  t.match(unlinked.json(), { status: 'routed', duplicateOf: null, department: { code: 'temizlik' }, sla: { clock: 2, startedAt: iso(5), dueAt: expectedDue } })
  const events = await eventsOf(env.store, wrong.caseId)
  t.match(events.at(-1), { type: 'CaseDuplicateUnlinked', actor: { kind: 'staff', id: 'mehmet.temizlik' }, data: { duplicateOf: original.caseId, reason: 'Başka sokaktaki konteynerler', department: 'temizlik' } })

  const after = (await env.request('GET', '/v1/departments/temizlik/queue', as.temizlik)).json().cases as Array<{ caseId: string; linkedCount: number; duplicateOf: unknown; dueAt: string }>
  t.equal(after.find((c) => c.caseId === original.caseId)?.linkedCount, 1, 'the earlier case counts one linked report less')
  t.match(after.find((c) => c.caseId === wrong.caseId), { duplicateOf: null, dueAt: expectedDue, linkedCount: 0 })
  t.match(after.find((c) => c.caseId === second.caseId), { duplicateOf: { caseId: original.caseId } })

  const again = await env.request('POST', `/v1/cases/${wrong.caseId}/unlink-duplicate`, as.temizlik, { reason: 'Tekrar' })
  t.equal(again.statusCode, 409)
  t.equal(again.headers['content-type'], PROBLEM)
  t.match(again.json(), { status: 409, reason: 'not_a_duplicate', detail: /mükerreri olarak işaretli değil/ })
  t.equal((await eventsOf(env.store, wrong.caseId)).length, events.length, 'a refusal writes nothing')
})

t.test('unlink-duplicate: holding directorate staff and supervisors only; a reason is required', async (t) => {
  const env = setup(t, at(1))
  const original = await seedCase(env.store, { category: 'cop-toplama', routedAt: T0 })
  const dup = await seedDuplicate(env, original)
  for (const [who, headers] of [['roads staff', as.fen], ['auditor', as.auditor], ['channel', as.channel]] as const) {
    const refused = await env.request('POST', `/v1/cases/${dup.caseId}/unlink-duplicate`, headers, { reason: 'Yanlış bağlantı' })
    t.equal(refused.statusCode, 403, who)
    t.equal(refused.headers['content-type'], PROBLEM, who)
  }
  const anonymous = await env.request('POST', `/v1/cases/${dup.caseId}/unlink-duplicate`, {}, { reason: 'Yanlış bağlantı' })
  t.equal(anonymous.statusCode, 401)
  const noReason = await env.request('POST', `/v1/cases/${dup.caseId}/unlink-duplicate`, as.temizlik, {})
  t.equal(noReason.statusCode, 400)
  t.match(noReason.json(), { errors: [{ field: 'reason' }] })
  t.equal((await eventsOf(env.store, dup.caseId)).length, 2, 'nothing was written by the refusals')
  const bySupervisor = await env.request('POST', `/v1/cases/${dup.caseId}/unlink-duplicate`, as.supervisor, { reason: 'Yanlış bağlantı' })
  t.equal(bySupervisor.statusCode, 200, bySupervisor.body)
  t.match(bySupervisor.json(), { duplicateOf: null })
})

t.test('reopenings are capped at 3: staff get a 409 problem, a supervisor goes beyond with a reason', async (t) => {
  const env = setup(t, at(1))
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })
  let hour = 1
  const resolve = async (): Promise<void> => {
    env.clock.set(at(++hour))
    const r = await env.request('POST', `/v1/cases/${caseId}/resolve`, as.fen, { resolution: 'Çukur kapatıldı.' })
    t.equal(r.statusCode, 200, r.body)
  }
  await resolve()
  for (let i = 1; i <= 3; i++) {
    env.clock.set(at(++hour))
    const reopened = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.fen, { reason: `Yine çöktü (${i})` })
    t.equal(reopened.statusCode, 200, reopened.body)
    await resolve()
  }
  const count = (await eventsOf(env.store, caseId)).length
  const refused = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.fen, { reason: 'Yine çöktü (4)' })
  t.equal(refused.statusCode, 409)
  t.equal(refused.headers['content-type'], PROBLEM)
  t.match(refused.json(), { status: 409, reason: 'reopen_limit_reached', reopenings: 3, limit: 3, detail: /3 kez yeniden açıldı, sınır 3.*yöneticinin gerekçesini \(overrideReason\)/ })

  const staffOverride = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.fen, { reason: 'Yine çöktü (4)', overrideReason: 'Ben istiyorum' })
  t.equal(staffOverride.statusCode, 403, 'only supervisors may override')
  t.match(staffOverride.json(), { detail: /yalnızca yöneticiler/ })
  const supervisorWithout = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.supervisor, { reason: 'Yine çöktü (4)' })
  t.equal(supervisorWithout.statusCode, 409, 'a supervisor too must give the reason')
  t.equal((await eventsOf(env.store, caseId)).length, count, 'refusals write nothing')

  const overridden = await env.request('POST', `/v1/cases/${caseId}/reopen`, as.supervisor, { reason: 'Yine çöktü (4)', overrideReason: 'Muhtarlık yazısı: çukur üç kez yanlış kapatıldı' })
  t.equal(overridden.statusCode, 200, overridden.body)
  t.match(overridden.json(), { status: 'routed' })
  t.match((await eventsOf(env.store, caseId)).at(-1), {
    type: 'CaseReopened',
    actor: { id: 'baskan.yardimcisi' },
    data: { reason: 'Yine çöktü (4)', beyondLimit: { limit: 3, reason: 'Muhtarlık yazısı: çukur üç kez yanlış kapatıldı' } },
  })
})
