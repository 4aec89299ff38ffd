import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { validateCatalogue } from '@civic-desk/contracts'
import { createMemoryEventStore, type RecordedEvent } from '@civic-desk/event-store'
import t from 'tap'
import { closed, reopened, routed, submitted, transferred, writeCase, type TestCaseEvent } from './case-events.testing.ts'
import { dueCases, retentionEnds, RetentionFactsFold, scanRetentionFacts, type CaseRetentionFacts } from './retention.ts'

const catalogue = validateCatalogue(JSON.parse(readFileSync(new URL('../../../infra/catalogue/catalogue.json', import.meta.url), 'utf8')))

let position = 0
const recorded = (caseId: string, e: TestCaseEvent, streamId = `case-${caseId}`): RecordedEvent => ({
  streamId,
  revision: 0,
  position: ++position,
  id: randomUUID(),
  type: e.type,
  data: e.data ?? {},
  metadata: { schemaVersion: 1, occurredAt: e.occurredAt, actor: { kind: 'service', id: 'test' }, correlationId: 'c', causationId: null },
  recordedAt: '2030-01-01T00:00:00.000Z',
})

const factsOf = (caseId: string, events: TestCaseEvent[]): CaseRetentionFacts | undefined => {
  const fold = new RetentionFactsFold()
  for (const e of events) fold.add(recorded(caseId, e))
  return fold.facts()[0]
}

void t.test('facts: the category routing or a transfer settled on, else the submitted one', async (t) => {
  const id = randomUUID()
  t.same(factsOf(id, [submitted(id, '2024-01-01T08:00:00Z', 'yol-cukur')]), { caseId: id, category: 'yol-cukur', closedAt: null, erased: false }, 'submitted only: open, its own category')
  t.same(factsOf(id, [submitted(id, '2024-01-01T08:00:00Z', 'yol-cukur'), routed('2024-01-01T08:01:00Z', 'kaldirim')])?.category, 'kaldirim')
  t.same(factsOf(id, [submitted(id, '2024-01-01T08:00:00Z'), routed('2024-01-01T08:01:00Z', 'kaldirim'), transferred('2024-01-02T08:00:00Z', 'kvkk-basvurusu')])?.category, 'kvkk-basvurusu', 'the transfer wins')
  t.same(factsOf(id, [submitted(id, '2024-01-01T08:00:00Z', 'yol-cukur'), routed('2024-01-01T08:01:00Z', null)])?.category, 'yol-cukur', 'a routing without a category keeps the earlier one')
  t.same(factsOf(id, [submitted(id, '2024-01-01T08:00:00Z'), routed('2024-01-01T08:01:00Z', null)])?.category, null)
})

void t.test('facts: closedAt is when the case last ended (answered, refused or closed) and was not reopened since', async (t) => {
  const id = randomUUID()
  const base = [submitted(id, '2024-01-01T08:00:00Z', 'yol-cukur'), routed('2024-01-01T08:01:00Z', 'yol-cukur')]
  t.equal(factsOf(id, [...base, closed('2024-02-01T10:00:00+03:00')])?.closedAt, '2024-02-01T07:00:00.000Z', 'occurredAt, in UTC')
  t.equal(factsOf(id, [...base, closed('2024-02-01T10:00:00Z'), reopened('2024-03-01T10:00:00Z')])?.closedAt, null, 'reopened: open again')
  t.equal(factsOf(id, [...base, closed('2024-02-01T10:00:00Z'), reopened('2024-03-01T10:00:00Z'), closed('2024-04-01T10:00:00Z')])?.closedAt, '2024-04-01T10:00:00.000Z', 'closed again: the last close counts')
  t.equal(factsOf(id, [...base, { type: 'CaseResolved', occurredAt: '2024-02-01T10:00:00Z' }])?.closedAt, '2024-02-01T10:00:00.000Z', 'an answered case nobody closes has ended too')
  t.equal(
    factsOf(id, [...base, { type: 'CaseResolved', occurredAt: '2024-02-01T10:00:00Z' }, closed('2024-02-08T10:00:00Z')])?.closedAt,
    '2024-02-01T10:00:00.000Z',
    'closing an answered case later does not move the start of its retention',
  )
  t.equal(factsOf(id, [...base, { type: 'CaseRejected', occurredAt: '2024-02-01T10:00:00Z' }])?.closedAt, '2024-02-01T10:00:00.000Z', 'so has a refused one')
  t.equal(factsOf(id, [...base, closed('2024-02-01T10:00:00Z'), { type: 'CitizenNotified', occurredAt: '2024-02-02T10:00:00Z' }])?.closedAt, '2024-02-01T10:00:00.000Z', 'an event that leaves the status alone changes nothing')
  t.equal(factsOf(id, [...base, closed('2024-02-01T10:00:00Z'), { type: 'PersonalDataErased', occurredAt: '2026-02-02T10:00:00Z' }])?.erased, true)
})

void t.test('facts: other streams and unknown event types are skipped', async (t) => {
  const fold = new RetentionFactsFold()
  const id = randomUUID()
  fold.add(recorded(id, submitted(id, '2024-01-01T08:00:00Z', 'yol-cukur'), `intake-${id}`))
  t.equal(fold.size, 0)
  fold.add(recorded(id, { type: 'SomethingNew', occurredAt: '2024-01-01T08:00:00Z' }))
  t.equal(fold.size, 0)
})

void t.test('retentionEnds: calendar years and months in UTC, a missing day becomes the month\'s last', async (t) => {
  t.equal(retentionEnds(new Date('2024-03-15T12:00:00.000Z'), { years: 2 }).toISOString(), '2026-03-15T12:00:00.000Z')
  t.equal(retentionEnds(new Date('2024-02-29T12:00:00.000Z'), { years: 2 }).toISOString(), '2026-02-28T12:00:00.000Z')
  t.equal(retentionEnds(new Date('2024-08-31T00:00:00.000Z'), { months: 6 }).toISOString(), '2025-02-28T00:00:00.000Z')
  t.equal(retentionEnds(new Date('2024-01-31T00:00:00.000Z'), { months: 1 }).toISOString(), '2024-02-29T00:00:00.000Z')
  t.equal(retentionEnds(new Date('2024-12-31T23:00:00.000Z'), { months: 18 }).toISOString(), '2026-06-30T23:00:00.000Z')
})

void t.test('dueCases: closed, not erased, and closedAt + the category\'s retention ≤ now', async (t) => {
  const f = (caseId: string, category: string | null, closedAt: string | null, erased = false): CaseRetentionFacts => ({ caseId, category, closedAt, erased })
  const facts = [
    f('road-due', 'yol-cukur', '2023-06-01T00:00:00.000Z'),
    f('road-exact', 'yol-cukur', '2024-06-01T00:00:00.000Z'),
    f('road-early', 'yol-cukur', '2024-06-01T00:00:00.001Z'),
    f('kvkk-kept', 'kvkk-basvurusu', '2024-01-01T00:00:00.000Z'), // 2 years would be over
    f('kvkk-due', 'kvkk-basvurusu', '2023-05-31T00:00:00.000Z'),
    f('open', 'yol-cukur', null),
    f('erased', 'yol-cukur', '2020-01-01T00:00:00.000Z', true),
    f('unknown-category', 'gone-from-catalogue', '2022-01-01T00:00:00.000Z'),
    f('no-category', null, '2022-01-01T00:00:00.000Z'),
  ]
  const due = dueCases(facts, catalogue, new Date('2026-06-01T00:00:00.000Z'))
  t.same(
    due.map((d) => d.caseId),
    ['no-category', 'unknown-category', 'road-due', 'kvkk-due', 'road-exact'],
    'oldest due first; exactly at the end is due; KVKK applications wait 3 years; open and erased cases never',
  )
  t.match(due.find((d) => d.caseId === 'kvkk-due'), { retention: { years: 3 }, dueAt: '2026-05-31T00:00:00.000Z', closedAt: '2023-05-31T00:00:00.000Z' })
  t.same(dueCases(facts, catalogue, new Date('2020-01-01T00:00:00.000Z')), [], 'nothing is due before its time')
})

void t.test('scanRetentionFacts: every case stream, page by page, with progress', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
  await writeCase(store, a, [submitted(a, '2023-01-01T08:00:00Z', 'yol-cukur'), routed('2023-01-01T08:01:00Z', 'yol-cukur')])
  await store.append('intake-other', [{ id: randomUUID(), type: 'CaseSubmitted', data: {}, metadata: {} }], { expectedRevision: 'any' })
  await writeCase(store, b, [submitted(b, '2023-01-01T09:00:00Z', 'kvkk-basvurusu')])
  await writeCase(store, a, [closed('2023-02-01T08:00:00Z')])
  await writeCase(store, c, [submitted(c, '2023-01-01T10:00:00Z'), closed('2023-01-02T10:00:00Z'), reopened('2023-01-03T10:00:00Z')])
  const progress: number[] = []
  const facts = await scanRetentionFacts(store, { pageSize: 2, onProgress: (p) => progress.push(p.events) })
  t.same(facts, [
    { caseId: a, category: 'yol-cukur', closedAt: '2023-02-01T08:00:00.000Z', erased: false },
    { caseId: b, category: 'kvkk-basvurusu', closedAt: null, erased: false },
    { caseId: c, category: null, closedAt: null, erased: false },
  ])
  t.same(progress, [2, 4, 6, 7], 'progress after each page of case events; other streams not read')
  t.same(await scanRetentionFacts(createMemoryEventStore()), [], 'an empty log')
  await t.rejects(scanRetentionFacts(store, { pageSize: 0 }), RangeError)
})
