// The case feed against a real store and bus: consumer groups reading straight from the store
// (checkpoints, lanes, dead letters), the same handlers over civic.case-events.v1, projections.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { CaseRuleViolation } from '@civic-desk/case-domain'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, NonRetriableError, TOPICS, createMemoryBus, type Bus } from '@civic-desk/messaging'
import { caseEventMessage, type CaseFeedEvent } from './codec.ts'
import { createCaseFeed, type CaseFeed } from './feed.ts'
import { ProjectionNotReadyError } from './projection.ts'
import { caseStreamId } from './stream.ts'
import { appendCases, appendMore, foreignEvent, silentLogger, tempDir, waitFor } from './testing.ts'

function storeFeed(t: Test, store: EventStore, bus: Bus = createMemoryBus(), dir = tempDir(t), lanes?: number): CaseFeed {
  const feed = createCaseFeed({ store, bus, logger: silentLogger, groups: { kind: 'store', checkpointDir: dir, ...(lanes === undefined ? {} : { lanes }) } })
  t.teardown(() => feed.close())
  return feed
}

async function deadLetters(t: Test, bus: Bus): Promise<DeadLetterRecord[]> {
  const records: DeadLetterRecord[] = []
  const subscription = await bus.subscribe({ topic: TOPICS.deadLetter, groupId: `dl-${randomUUID()}`, fromBeginning: true, schema: DeadLetterRecord, handler: async (m) => void records.push(m.value) })
  t.teardown(() => subscription.close())
  return records
}

t.test('store groups: every case event reaches every group, in order per case, and nothing else', async (t) => {
  const store = createMemoryEventStore()
  const feed = storeFeed(t, store, createMemoryBus(), tempDir(t), 4)
  const ids = await appendCases(store, 10, 3)
  const seen: Record<string, CaseFeedEvent[]> = { a: [], b: [] }
  for (const group of ['a', 'b'] as const) await feed.consume({ groupId: group, handle: async (e) => void seen[group]!.push(e) })
  await appendMore(store, ids, 2)
  await waitFor(() => seen['a']!.length === 50 && seen['b']!.length === 50, 5000, 'all 50 case events in both groups')
  for (const group of ['a', 'b']) {
    for (const id of ids) t.same(seen[group]!.filter((e) => e.caseId === id).map((e) => e.revision), [0, 1, 2, 3, 4], `group ${group}, case ${id.slice(0, 8)} in order`)
  }
  t.ok(seen['a']!.every((e) => e.streamId === caseStreamId(e.caseId)), 'only case streams')
  await waitFor(() => feed.readers().every((r) => !('buffered' in r) || r.buffered === 0), 2000, 'groups drained')
  t.same(feed.readers().map((r) => r.name).sort(), ['a', 'b'])
  const status = feed.readers().find((r) => r.name === 'a')
  t.match(status, { kind: 'store', topic: TOPICS.caseEvents, position: await store.headPosition(), running: true, outcomes: { handled: 50 } })
})

t.test('store groups: a restarted group continues after its checkpoint; a new group without fromBeginning starts at the head', async (t) => {
  const store = createMemoryEventStore()
  const dir = tempDir(t)
  const ids = await appendCases(store, 5, 2)
  const first = createCaseFeed({ store, bus: createMemoryBus(), logger: silentLogger, groups: { kind: 'store', checkpointDir: dir } })
  const handled: number[] = []
  await first.consume({ groupId: 'routing', handle: async (e) => void handled.push(e.position) })
  const late: number[] = []
  await first.consume({ groupId: 'late', fromBeginning: false, handle: async (e) => void late.push(e.position) })
  await waitFor(() => handled.length === 10, 5000, 'first ten')
  await first.close()
  t.same(late, [], 'a group that joins without fromBeginning skips what was stored before it joined')

  await appendMore(store, ids, 1)
  const second = storeFeed(t, store, createMemoryBus(), dir)
  const again: number[] = []
  await second.consume({ groupId: 'routing', handle: async (e) => void again.push(e.position) })
  const lateAgain: number[] = []
  await second.consume({ groupId: 'late', fromBeginning: false, handle: async (e) => void lateAgain.push(e.position) })
  await waitFor(() => again.length === 5 && lateAgain.length === 5, 5000, 'the five new events')
  t.notOk(again.some((p) => handled.includes(p)), 'nothing handled before the stop is handed out again')
  t.same(lateAgain.sort(), again.sort(), 'the late group stored its start position and gets what came after it')
})

t.test('store groups: refused, undecodable and failing events are dead-lettered; the group moves on', async (t) => {
  const store = createMemoryEventStore()
  const inner = createMemoryBus()
  const letters = await deadLetters(t, inner)
  const feed = storeFeed(t, store, inner)
  const ids = await appendCases(store, 4, 1)
  const [poison, flaky, fine, refused] = ids as [string, string, string, string]
  // A record of a known type that breaks the contract (a bug or a foreign writer).
  await store.append(caseStreamId(fine), [foreignEvent('CaseNoteAdded', { nonsense: true })], { expectedRevision: 0 })
  const attempts = new Map<string, number>()
  const handled: string[] = []
  const consumer = await feed.consume({
    groupId: 'g',
    maxAttempts: 3,
    retryBackoffMs: 1,
    handle: async (e) => {
      const n = (attempts.get(e.caseId) ?? 0) + 1
      attempts.set(e.caseId, n)
      if (e.caseId === poison) throw new NonRetriableError('this case cannot exist')
      if (e.caseId === refused) throw new CaseRuleViolation('case_not_found', 'the domain refuses it for good')
      if (e.caseId === flaky && n < 3) throw new Error('database busy')
      handled.push(e.caseId)
      return 'done'
    },
  })
  await waitFor(() => letters.length === 3 && handled.length === 2, 5000, 'three dead letters and two handled')
  t.same(handled.sort(), [fine, flaky].sort(), 'the flaky one succeeds on its third attempt')
  t.equal(attempts.get(poison), 1, 'a non-retriable failure is not retried')
  t.equal(attempts.get(refused), 1, 'nor is a refusal of the domain')
  t.match(
    letters.find((d) => d.source.key === poison),
    { error: { kind: 'failed', message: /cannot exist/ }, source: { topic: TOPICS.caseEvents, key: poison, groupId: 'g' }, attempts: 1 },
  )
  const invalid = letters.find((d) => d.error.kind === 'invalid')
  t.match(invalid, { source: { key: fine }, attempts: 0, error: { message: /is invalid/ } })
  t.ok(z.string().regex(/^\d+$/).safeParse(invalid?.source.offset).success, 'the store position is the offset')
  await waitFor(() => consumer.status().buffered === 0, 2000, 'drained')
  t.match(consumer.status(), { position: await store.headPosition(), outcomes: { done: 2 }, rejected: 3 }, 'the checkpoint passed the dead letters')
})

t.test('store groups: types the handler does not take pass without being decoded', async (t) => {
  const store = createMemoryEventStore()
  const feed = storeFeed(t, store)
  const ids = await appendCases(store, 3, 1)
  await store.append(caseStreamId(ids[0]!), [foreignEvent('CaseNoteAdded', { nonsense: true })], { expectedRevision: 0 })
  const got: string[] = []
  const consumer = await feed.consume({ groupId: 'submitted-only', types: new Set(['CaseSubmitted']), handle: async (e) => void got.push(e.event.type) })
  await waitFor(() => got.length === 3 && consumer.status().position === 4 + 1, 5000, 'three submissions, position past the note')
  t.same(got, ['CaseSubmitted', 'CaseSubmitted', 'CaseSubmitted'])
  t.equal(consumer.status().rejected, 0, 'the broken note was never looked at')
})

t.test('bus source: the same handler over civic.case-events.v1; unknown types pass, broken ones are dead-lettered', async (t) => {
  const store = createMemoryEventStore()
  const bus = createMemoryBus()
  const letters = await deadLetters(t, bus)
  const feed = createCaseFeed({ store, bus, logger: silentLogger, groups: { kind: 'bus' } })
  t.teardown(() => feed.close())
  const got: CaseFeedEvent[] = []
  await feed.consume({ groupId: 'routing', types: new Set(['CaseSubmitted', 'CaseNoteAdded']), maxAttempts: 2, retryBackoffMs: 1, handle: async (e) => void got.push(e) })
  const ids = await appendCases(store, 2, 2)
  await store.append(caseStreamId(ids[0]!), [foreignEvent('CaseNoteAdded', { nonsense: true })], { expectedRevision: 1 })
  await store.append(caseStreamId(ids[0]!), [foreignEvent('CaseFlewAway', {})], { expectedRevision: 2 })
  // A minimal relay: every stored case event as its message.
  for (const recorded of await store.readAll({ streamPrefix: 'case-' })) await bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)])
  await waitFor(() => got.length === 4 && letters.length === 1, 5000, 'four events handled, one dead letter')
  for (const id of ids) t.same(got.filter((e) => e.caseId === id).map((e) => [e.revision, e.event.type]), [[0, 'CaseSubmitted'], [1, 'CaseNoteAdded']], `case ${id.slice(0, 8)} in order`)
  t.match(letters[0], { error: { kind: 'failed', message: /is invalid/ }, source: { topic: TOPICS.caseEvents, groupId: 'routing' }, attempts: 1 })
  t.match(feed.readers()[0], { name: 'routing', kind: 'bus', outcomes: { handled: 4, ignored: 1 }, rejected: 1 })
})

t.test('projections: fold the log from the start to its live end; waitUntil; undecodable events are skipped', async (t) => {
  const store = createMemoryEventStore()
  const feed = storeFeed(t, store)
  const ids = await appendCases(store, 3, 2)
  const counts = new Map<string, number>()
  const projection = feed.project({ name: 'counter', types: new Set(['CaseNoteAdded']), apply: (e) => void counts.set(e.caseId, (counts.get(e.caseId) ?? 0) + 1) })
  await projection.waitUntil(await store.headPosition())
  t.same([...counts.values()], [1, 1, 1], 'one note per case so far')
  await store.append(caseStreamId(ids[0]!), [foreignEvent('CaseNoteAdded', { nonsense: true })], { expectedRevision: 1 })
  await appendMore(store, ids, 1)
  await projection.waitUntil(await store.headPosition())
  t.same(
    ids.map((id) => counts.get(id)),
    [2, 2, 2],
    'the broken note was skipped, the next ones folded',
  )
  t.match(projection.status(), { name: 'counter', kind: 'projection', running: true, lastError: /is invalid/ })
  const error = await projection.waitUntil(10_000, { timeoutMs: 20 }).catch((e: unknown) => e)
  t.type(error, ProjectionNotReadyError)
  const pending = projection.waitUntil(10_000).catch((e: unknown) => e)
  t.same(feed.readers().map((r) => r.name), ['counter'])
  await projection.close()
  t.type(await pending, ProjectionNotReadyError, 'closing rejects the waits')
  t.same(feed.readers(), [], 'a closed projection is no reader any more')
})
