import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { type CaseCommand, type CommandMeta } from '@civic-desk/case-domain'
import { caseStreamId, executeOnCase } from '@civic-desk/case-feed'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { createCaseFeed } from '@civic-desk/case-feed'
import { createMemoryBus } from '@civic-desk/messaging'
import { IndexNotReadyError, startDuplicateIndex, type DuplicateIndex } from './duplicate-index.ts'
import { findDuplicate, resolveRoutingOptions } from './plan.ts'
import { NOW, settle, silentLogger, submitCase } from './test-support.ts'

function fresh(t: Test, options: { windowHours?: number; waitTimeoutMs?: number; categoryOf?: () => string | null } = {}): { store: EventStore; index: DuplicateIndex } {
  const store = createMemoryEventStore()
  const feed = createCaseFeed({ store, bus: createMemoryBus(), logger: silentLogger, groups: { kind: 'bus' } })
  const index = startDuplicateIndex({
    feed,
    windowHours: options.windowHours ?? 72,
    categoryOf: options.categoryOf ?? ((s) => s.category ?? null),
    waitTimeoutMs: options.waitTimeoutMs ?? 2000,
  })
  t.teardown(async () => {
    await index.close()
    await feed.close()
    await store.close()
  })
  return { store, index }
}

const DUE = new Date(NOW.getTime() + 48 * 3_600_000).toISOString()
const meta = (): CommandMeta => ({ eventId: randomUUID(), occurredAt: NOW.toISOString(), actor: { kind: 'service', id: 'test' }, correlationId: 'test', causationId: null })

async function run(store: EventStore, caseId: string, command: CaseCommand): Promise<number> {
  await executeOnCase(store, caseId, () => command)
  return store.headPosition()
}

const routeData = (category: string | null) => ({
  department: 'fen-isleri',
  category,
  routedBy: 'category' as const,
  matchedKeywords: [],
  sla: { clock: 1, startedAt: NOW.toISOString(), deadline: { hours: 48 }, basis: 'category' as const, dueAt: DUE },
  legalDueAt: null,
})

t.test('waitUntil resolves once the position is applied; candidates are only the earlier cases of the category', async (t) => {
  const { store, index } = fresh(t)
  const a = await submitCase(store, { category: 'yol-cukur', description: 'Yolda çukur', location: { neighbourhood: 'Kazımdirik Mahallesi', lat: 41, lon: 29 } })
  const b = await submitCase(store, { category: 'yol-cukur', description: 'Çukur!' })
  const c = await submitCase(store, { category: 'kaldirim', description: 'Kaldırım kırık' })
  await index.waitUntil(c.position)
  t.ok(index.position >= c.position)
  t.equal(index.size, 3)
  t.same(
    index.candidates({ category: 'yol-cukur', before: b.position }).map(({ prepared, ...rest }) => {
      t.equal(prepared?.neighbourhoodKey, 'kazimdirik', 'prepared neighbourhood key')
      t.ok(prepared?.grams.has('cuk'), 'prepared trigrams')
      return rest
    }),
    [
      {
        caseId: a.submission.caseId,
        trackingCode: a.submission.trackingCode,
        category: 'yol-cukur',
        submittedAt: '2026-11-20T13:00:00.000Z',
        position: a.position,
        neighbourhood: 'kazimdirik',
        lat: 41,
        lon: 29,
        text: 'yolda cukur',
        duplicateOf: null,
      },
    ],
    'a, not b itself',
  )
  t.same(index.candidates({ category: 'yol-cukur', before: c.position + 1 }).map((e) => e.caseId).sort(), [a.submission.caseId, b.submission.caseId].sort())
  t.same(index.candidates({ category: 'asfalt', before: 100 }), [])

  // A position not stored yet: the wait resolves when it is.
  let resolved = false
  const waiting = index.waitUntil(c.position + 1).then(() => {
    resolved = true
  })
  await settle()
  t.notOk(resolved, 'still waiting')
  await submitCase(store, { category: 'asfalt', description: 'Asfalt' })
  await waiting
  t.ok(resolved)
})

t.test('routing, duplicates, transfers, closing and reopening update the entries', async (t) => {
  const { store, index } = fresh(t, { categoryOf: () => 'yol-cukur' })
  const a = await submitCase(store, { description: 'Yolda çukur' })
  const b = await submitCase(store, { description: 'Yolda çukur' })
  const { caseId } = a.submission
  let at = await run(store, caseId, { type: 'RouteCase', meta: meta(), data: routeData('kaldirim') })
  await index.waitUntil(at)
  t.same(index.candidates({ category: 'yol-cukur', before: 100 }).map((e) => e.caseId), [b.submission.caseId], 'moved by CaseRouted')
  t.same(index.candidates({ category: 'kaldirim', before: 100 }).map((e) => e.caseId), [caseId])

  at = await run(store, b.submission.caseId, {
    type: 'MarkDuplicate',
    meta: meta(),
    data: { ...routeData('kaldirim'), duplicateOf: caseId, duplicateOfTrackingCode: a.submission.trackingCode, match: 'location', distanceMeters: 3, similarity: 1 },
  })
  await index.waitUntil(at)
  t.same(
    index.candidates({ category: 'kaldirim', before: 100 }).find((e) => e.caseId === b.submission.caseId)?.duplicateOf,
    { caseId, trackingCode: a.submission.trackingCode },
  )

  at = await run(store, caseId, { type: 'ResolveCase', meta: meta(), data: { resolution: 'Onarıldı' } })
  await index.waitUntil(at)
  t.same(index.candidates({ category: 'kaldirim', before: 100 }).map((e) => e.caseId), [b.submission.caseId], 'resolved: no longer a candidate')

  const sla = { startedAt: NOW.toISOString(), deadline: { hours: 48 }, basis: 'category' as const, dueAt: DUE }
  at = await run(store, caseId, { type: 'ReopenCase', meta: meta(), data: { reason: 'Yine çöktü', sla } })
  await index.waitUntil(at)
  t.ok(index.candidates({ category: 'kaldirim', before: 100 }).some((e) => e.caseId === caseId), 'reopened: a candidate again')

  at = await run(store, caseId, { type: 'TransferCase', meta: meta(), data: { toDepartment: 'temizlik', category: 'moloz', reason: 'Moloz', sla } })
  await index.waitUntil(at)
  t.same(index.candidates({ category: 'moloz', before: 100 }).map((e) => e.caseId), [caseId], 'moved by CaseTransferred')
})

t.test('an event that does not decode is skipped; the index keeps going', async (t) => {
  const { store, index } = fresh(t)
  const a = await submitCase(store, { category: 'yol-cukur', description: 'Çukur' })
  await store.append(caseStreamId(a.submission.caseId), [{ id: randomUUID(), type: 'CaseRouted', data: { nonsense: true }, metadata: {} }], { expectedRevision: 0 })
  const b = await submitCase(store, { category: 'yol-cukur', description: 'Çukur' })
  await index.waitUntil(b.position)
  t.equal(index.size, 2)
  t.same(index.candidates({ category: 'yol-cukur', before: b.position }).map((e) => e.caseId), [a.submission.caseId])
})

t.test('entries older than the window (by the log’s own clock) are dropped', async (t) => {
  const { store, index } = fresh(t, { windowHours: 24 })
  await submitCase(store, { category: 'yol-cukur', description: 'Eski' }, '2026-11-18T09:00:00.000Z')
  const recent = await submitCase(store, { category: 'yol-cukur', description: 'Yeni' }, '2026-11-19T08:00:00.000Z')
  await index.waitUntil(recent.position)
  t.equal(index.size, 2, 'both within 24 h of the newest receipt')
  const last = await submitCase(store, { category: 'yol-cukur', description: 'En yeni' }, '2026-11-19T10:00:00.000Z')
  await index.waitUntil(last.position)
  t.equal(index.size, 2, 'the 18 November case is gone')
  t.notOk(index.candidates({ category: 'yol-cukur', before: 100 }).some((e) => e.submittedAt.startsWith('2026-11-18')))
})

t.test('waitUntil gives up after its timeout, and on close', async (t) => {
  const { index } = fresh(t, { waitTimeoutMs: 30 })
  const error = await index.waitUntil(5).then(
    () => null,
    (e: unknown) => e,
  )
  t.type(error, IndexNotReadyError)
  t.match((error as IndexNotReadyError).message, /did not reach position 5 within 30 ms/)
  const pending = index.waitUntil(9)
  await index.close()
  await t.rejects(pending, /is closed/)
  await t.rejects(index.waitUntil(10), IndexNotReadyError)
})

t.test('a near query returns what findDuplicate could match and skips far cases of other neighbourhoods', async (t) => {
  const { store, index } = fresh(t)
  const here = { lat: 38.4237, lon: 27.1428 }
  const sameHood = await submitCase(store, { category: 'yol-cukur', description: 'Çukur var', location: { neighbourhood: 'Erzene Mahallesi' } })
  // 100 m north: in the radius, in another neighbourhood, and in another 0.01° grid cell than `here` may be.
  const close = await submitCase(store, { category: 'yol-cukur', description: 'Yol bozuk', location: { neighbourhood: 'Kazımdirik', lat: here.lat + 0.0009, lon: here.lon } })
  const far = await submitCase(store, { category: 'yol-cukur', description: 'Çukur var', location: { neighbourhood: 'Atatürk', lat: here.lat + 0.05, lon: here.lon } })
  const last = await submitCase(store, { category: 'yol-cukur', description: 'Son' })
  await index.waitUntil(last.position)
  const ids = index
    .candidates({ category: 'yol-cukur', before: last.position, near: { neighbourhood: 'erzene mah.', ...here, radiusMeters: 150 } })
    .map((e) => e.caseId)
    .sort()
  t.same(ids, [sameHood.submission.caseId, close.submission.caseId].sort(), 'same neighbourhood (as written differently) and within the radius')
  t.notOk(ids.includes(far.submission.caseId), '5 km away in another neighbourhood')
  t.same(index.candidates({ category: 'yol-cukur', before: last.position, near: { radiusMeters: 150 } }), [], 'no place given: nothing can match')
})

t.test('near queries never lose a match: findDuplicate over them equals findDuplicate over the whole category', async (t) => {
  const { store, index } = fresh(t)
  // A seeded generator, so a failure is reproducible.
  let seed = 20261122
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const hoods = ['Erzene', 'Kazımdirik Mah.', 'Atatürk', undefined]
  const texts = ['Yolda derin çukur', 'Çukurlar araçlara zarar veriyor', 'Asfalt bozuk', 'Kaldırım taşı kırık']
  const located = () => (random() < 0.7 ? { lat: 38.42 + random() * 0.03, lon: 27.13 + random() * 0.03 } : {})
  let last = 0
  for (let i = 0; i < 120; i++) {
    const neighbourhood = hoods[Math.floor(random() * hoods.length)]
    const location = { ...located(), ...(neighbourhood === undefined ? {} : { neighbourhood }) }
    last = (await submitCase(store, { category: 'yol-cukur', description: texts[i % texts.length]!, location })).position
  }
  await index.waitUntil(last)
  const options = resolveRoutingOptions({ duplicateRadiusMeters: 400 })
  let matched = 0
  for (let i = 0; i < 200; i++) {
    const neighbourhood = hoods[Math.floor(random() * hoods.length)]
    const location = { ...located(), ...(neighbourhood === undefined ? {} : { neighbourhood }) }
    const submission = { caseId: `q-${i}`, trackingCode: 'X', channel: 'web', kind: 'complaint', description: texts[i % texts.length]!, location, receivedAt: '2026-11-20T14:00:00.000Z' } as const
    const all = index.candidates({ category: 'yol-cukur', before: last + 1 })
    const near = index.candidates({ category: 'yol-cukur', before: last + 1, near: { ...location, radiusMeters: options.duplicateRadiusMeters } })
    const expected = findDuplicate(submission, 'yol-cukur', all, options)
    const actual = findDuplicate(submission, 'yol-cukur', near, options)
    if (expected !== null) matched++
    if (expected?.candidate.caseId !== actual?.candidate.caseId) t.fail(`query ${i}: ${expected?.candidate.caseId} ≠ ${actual?.candidate.caseId}`)
  }
  t.ok(matched > 50, `the queries do find duplicates (${matched} of 200)`)
  t.pass('every query gave the same answer')
})
