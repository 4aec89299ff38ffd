import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { caseStreamId, executeOnCase } from '@civic-desk/case-feed'
import type { CaseEvent } from '@civic-desk/contracts'
import { routingConfig } from './config.ts'
import { duplicateScopes, findDuplicate, resolveRoutingOptions } from './plan.ts'
import { startRouting, type StartRoutingOptions } from './routing.ts'
import { NOW, calendar, catalogue, environment, eventsOf, silentLogger, submitCase, waitFor } from './test-support.ts'

const HERE = { lat: 41.0, lon: 29.0 }
const north = (meters: number) => ({ lat: HERE.lat + meters / 111_195, lon: HERE.lon })

type Env = Awaited<ReturnType<typeof environment>>

async function start(t: Test, env: Env, extra: Partial<StartRoutingOptions> = {}) {
  const routing = await startRouting({ store: env.store, feed: env.feed, catalogue, calendar, logger: silentLogger, now: () => NOW, retryBackoffMs: 5, ...extra })
  t.teardown(() => routing.stop())
  return routing
}

async function routedEvent(env: Env, caseId: string): Promise<CaseEvent> {
  await waitFor(() => eventsOf(env.events, caseId).length >= 2, 2000, `case ${caseId.slice(0, 8)} routed`)
  const event = eventsOf(env.events, caseId)[1]
  if (event === undefined) throw new Error('unreachable')
  return event
}

t.test('two reports of the same overflowing containers in neighbouring categories of one directorate are compared', async (t) => {
  const env = await environment(t)
  await start(t, env)
  const first = await submitCase(env.store, { category: 'cop-toplama', description: 'Konteynerler taştı, çöpler sokağa yayıldı', location: north(0) })
  t.match(await routedEvent(env, first.submission.caseId), { type: 'CaseRouted', data: { department: 'temizlik', category: 'cop-toplama' } })
  const second = await submitCase(env.store, { category: 'konteyner', description: 'Konteyner taştı, çöpler yola yayıldı', location: north(40) }, '2026-11-20T14:00:00.000Z')
  t.match(await routedEvent(env, second.submission.caseId), {
    type: 'CaseMarkedDuplicate',
    data: { department: 'temizlik', category: 'konteyner', duplicateOf: first.submission.caseId, match: 'location' },
  })
  // Same directorate, same corner, another problem: a neighbouring category needs a similar text too.
  const sweeping = await submitCase(env.store, { category: 'sokak-temizligi', description: 'Sokak süpürülmedi, her yer yaprak dolu', location: north(10) }, '2026-11-20T14:10:00.000Z')
  t.match(await routedEvent(env, sweeping.submission.caseId), { type: 'CaseRouted', data: { category: 'sokak-temizligi' } })
  // Another directorate is never compared, however alike the words.
  const roads = await submitCase(env.store, { category: 'yol-cukur', description: 'Konteynerler taştı, çöpler sokağa yayıldı', location: north(5) }, '2026-11-20T14:20:00.000Z')
  t.match(await routedEvent(env, roads.submission.caseId), { type: 'CaseRouted', data: { department: 'fen-isleri' } })
})

t.test('an unlinked duplicate is its own original for later reports', async (t) => {
  const env = await environment(t)
  await start(t, env)
  const a = await submitCase(env.store, { category: 'konteyner', description: 'Konteynerler taştı, çöpler sokağa yayıldı', location: north(0) })
  await routedEvent(env, a.submission.caseId)
  const b = await submitCase(env.store, { category: 'konteyner', description: 'Konteynerler taşıyor, çöpler sokağa yayılmış', location: north(100) }, '2026-11-20T13:30:00.000Z')
  t.match(await routedEvent(env, b.submission.caseId), { type: 'CaseMarkedDuplicate', data: { duplicateOf: a.submission.caseId } })
  await executeOnCase(env.store, b.submission.caseId, () => ({
    type: 'UnlinkDuplicate',
    meta: { eventId: randomUUID(), occurredAt: NOW.toISOString(), actor: { kind: 'staff', id: 'mehmet.temizlik' }, correlationId: 'test', causationId: null },
    data: { reason: 'Başka konteyner grubu', sla: { startedAt: NOW.toISOString(), deadline: { hours: 24 }, basis: 'category', dueAt: '2026-11-21T13:05:00.000Z' } },
  }))
  // 220 m from A (beyond the radius), 120 m from B: B's report; before the unlink it would have been chained to A.
  const c = await submitCase(env.store, { category: 'konteyner', description: 'Konteynerler taştı, çöpler sokağa yayıldı', location: north(220) }, '2026-11-20T15:00:00.000Z')
  t.match(await routedEvent(env, c.submission.caseId), { type: 'CaseMarkedDuplicate', data: { duplicateOf: b.submission.caseId, duplicateOfTrackingCode: b.submission.trackingCode } })
  t.ok(eventsOf(env.events, b.submission.caseId).some((e) => e.type === 'CaseDuplicateUnlinked'), `stream ${caseStreamId(b.submission.caseId)} holds the unlink`)
})

t.test('configured groups: related categories across directorates are compared, and a group narrows its categories', async (t) => {
  const options = resolveRoutingOptions({ duplicateGroups: [['konteyner', 'moloz']] })
  const scopeOf = duplicateScopes(catalogue, options)
  t.equal(scopeOf('cop-toplama'), 'department:temizlik')
  t.equal(scopeOf('sokak-temizligi'), 'department:temizlik')
  t.equal(scopeOf('konteyner'), 'group:0')
  t.equal(scopeOf('moloz'), 'group:0')
  const earlier = {
    caseId: randomUUID(),
    trackingCode: 'H9WE-3NDL-5VB',
    category: 'cop-toplama',
    submittedAt: '2026-11-20T12:00:00.000Z',
    position: 1,
    neighbourhood: null,
    ...north(0),
    text: 'Konteynerler taştı, çöpler sokağa yayıldı',
    duplicateOf: null,
  }
  const { submission } = { submission: { caseId: randomUUID(), trackingCode: 'M3KX-7PRT-2QA', channel: 'web', kind: 'complaint', category: 'konteyner', description: 'Konteyner taştı, çöpler yola yayıldı', location: north(20), receivedAt: '2026-11-20T13:00:00.000Z' } as const }
  t.equal(findDuplicate(submission, 'konteyner', [earlier], options, undefined, scopeOf), null, 'konteyner is grouped with moloz only')
  t.not(findDuplicate(submission, 'konteyner', [earlier], options, undefined, duplicateScopes(catalogue, resolveRoutingOptions())), null, 'by default: the whole directorate')
  t.equal(findDuplicate(submission, 'konteyner', [earlier], options), null, 'without scopes: the category alone, as before')

  t.throws(() => resolveRoutingOptions({ duplicateGroups: [['konteyner', 'moloz'], ['moloz', 'cop-toplama']] }), /"moloz" is in more than one group/)
  t.throws(() => resolveRoutingOptions({ duplicateGroups: [['konteyner']] }), /at least two categories/)
  t.same(routingConfig.parse({ CIVIC_DUPLICATE_GROUPS: 'cop-toplama, konteyner; yol-cukur,asfalt' }).duplicateGroups, [['cop-toplama', 'konteyner'], ['yol-cukur', 'asfalt']])
  t.same(routingConfig.parse({}).duplicateGroups, [])
  const env = await environment(t)
  await t.rejects(start(t, env, { options: { duplicateGroups: [['konteyner', 'cop-bidonu']] } }), /"cop-bidonu", which is not a category/)
})
