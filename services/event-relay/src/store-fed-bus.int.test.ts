import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { z } from 'zod'
import { CaseEventMessage } from '@civic-desk/contracts'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, NonRetriableError, TOPICS, createMemoryBus, type BusMessage } from '@civic-desk/messaging'
import { createStoreFedBus } from './store-fed-bus.ts'
import { appendCases, appendMore, silentLogger, waitFor } from './test-support.ts'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-storefed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('every case event reaches every group, in order per case, and nothing else', async (t) => {
  const store = createMemoryEventStore()
  const fed = createStoreFedBus({ store, bus: createMemoryBus(), checkpointDir: tempDir(t), logger: silentLogger, lanes: 4 })
  t.teardown(() => fed.close())
  const ids = await appendCases(store, 10, 3)
  const seen: Record<string, Array<BusMessage<CaseEventMessage>>> = { a: [], b: [] }
  for (const group of ['a', 'b'] as const) {
    await fed.subscribe({ topic: TOPICS.caseEvents, groupId: group, fromBeginning: true, schema: CaseEventMessage, handler: async (m) => void seen[group]!.push(m) })
  }
  await appendMore(store, ids, 2)
  await waitFor(() => seen['a']!.length === 50 && seen['b']!.length === 50, 5000, 'all 50 case events in both groups')
  for (const group of ['a', 'b']) {
    for (const id of ids) {
      const revisions = seen[group]!.filter((m) => m.key === id).map((m) => m.value.revision)
      t.same(revisions, [0, 1, 2, 3, 4], `group ${group}, case ${id.slice(0, 8)} in order`)
    }
  }
  t.ok(seen['a']!.every((m) => m.value.streamId.startsWith('case-')), 'only case streams')
  await waitFor(() => fed.groups().every((g) => g.buffered === 0), 2000, 'groups drained')
  t.same(fed.groups().map((g) => g.groupId).sort(), ['a', 'b'])
})

t.test('a restarted group continues after its checkpoint; a new group without fromBeginning starts at the head', async (t) => {
  const store = createMemoryEventStore()
  const dir = tempDir(t)
  const ids = await appendCases(store, 5, 2)
  const first = createStoreFedBus({ store, bus: createMemoryBus(), checkpointDir: dir, logger: silentLogger })
  const handled: string[] = []
  await first.subscribe({ topic: TOPICS.caseEvents, groupId: 'routing', fromBeginning: true, handler: async (m) => void handled.push(m.offset) })
  const late: string[] = []
  await first.subscribe({ topic: TOPICS.caseEvents, groupId: 'late', handler: async (m) => void late.push(m.offset) })
  await waitFor(() => handled.length === 10, 5000, 'first ten')
  await first.close()
  t.same(late, [], 'a group that joins without fromBeginning skips what was stored before it joined')

  await appendMore(store, ids, 1)
  const second = createStoreFedBus({ store, bus: createMemoryBus(), checkpointDir: dir, logger: silentLogger })
  t.teardown(() => second.close())
  const again: string[] = []
  await second.subscribe({ topic: TOPICS.caseEvents, groupId: 'routing', fromBeginning: true, handler: async (m) => void again.push(m.offset) })
  const lateAgain: string[] = []
  await second.subscribe({ topic: TOPICS.caseEvents, groupId: 'late', handler: async (m) => void lateAgain.push(m.offset) })
  await waitFor(() => again.length === 5 && lateAgain.length === 5, 5000, 'the five new events')
  t.notOk(again.some((offset) => handled.includes(offset)), 'nothing handled before the stop is handed out again')
  t.same(lateAgain.sort(), again.sort(), 'the late group stored its start position and gets what came after it')
})

t.test('invalid values and handlers that keep failing are dead-lettered; the group moves on', async (t) => {
  const store = createMemoryEventStore()
  const inner = createMemoryBus()
  const deadLetters: DeadLetterRecord[] = []
  await inner.subscribe({ topic: TOPICS.deadLetter, groupId: `dl-${randomUUID()}`, fromBeginning: true, schema: DeadLetterRecord, handler: async (m) => void deadLetters.push(m.value) })
  const fed = createStoreFedBus({ store, bus: inner, checkpointDir: tempDir(t), logger: silentLogger })
  t.teardown(() => fed.close())
  const ids = await appendCases(store, 3, 1)
  const [poison, flaky, fine] = ids as [string, string, string]
  const attempts = new Map<string, number>()
  const handled: string[] = []
  // Only CaseSubmitted passes this schema; the notes appended below do not.
  const schema = CaseEventMessage.refine((m) => m.event.type === 'CaseSubmitted', 'only CaseSubmitted')
  await fed.subscribe({
    topic: TOPICS.caseEvents,
    groupId: 'g',
    fromBeginning: true,
    schema,
    maxAttempts: 3,
    retryBackoffMs: 1,
    handler: async (m) => {
      const n = (attempts.get(m.key) ?? 0) + 1
      attempts.set(m.key, n)
      if (m.key === poison) throw new NonRetriableError('this case cannot exist')
      if (m.key === flaky && n < 3) throw new Error('database busy')
      handled.push(m.key)
    },
  })
  await appendMore(store, [fine], 1)
  await waitFor(() => deadLetters.length === 2 && handled.length === 2, 5000, 'two dead letters and two handled')
  t.same(handled.sort(), [fine, flaky].sort(), 'the flaky one succeeds on its third attempt')
  t.equal(attempts.get(poison), 1, 'a non-retriable failure is not retried')
  const failed = deadLetters.find((d) => d.error.kind === 'failed')
  const invalid = deadLetters.find((d) => d.error.kind === 'invalid')
  t.match(failed, { source: { topic: TOPICS.caseEvents, key: poison, groupId: 'g' }, attempts: 1 })
  t.match(invalid, { source: { key: fine }, attempts: 0, error: { message: /only CaseSubmitted/ } })
  t.ok(z.string().regex(/^\d+$/).safeParse(invalid?.source.offset).success, 'the store position is the offset')
  await waitFor(() => fed.groups()[0]?.buffered === 0, 2000, 'drained')
  t.equal(fed.groups()[0]?.position, await store.headPosition(), 'the checkpoint passed the dead letters')
})

t.test('publishing case events is refused; other topics go to the underlying bus', async (t) => {
  const store = createMemoryEventStore()
  const inner = createMemoryBus()
  const fed = createStoreFedBus({ store, bus: inner, checkpointDir: tempDir(t), logger: silentLogger })
  t.teardown(() => fed.close())
  await t.rejects(fed.publish(TOPICS.caseEvents, [{ key: 'k', value: {} }]), /read from the event store/)
  const got: unknown[] = []
  await fed.subscribe({ topic: TOPICS.assignments, groupId: 'x', fromBeginning: true, handler: async (m) => void got.push(m.value) })
  await fed.publish(TOPICS.assignments, [{ key: 'fen-isleri', value: { hello: 'dünya' } }])
  await waitFor(() => got.length === 1, 2000, 'delivery through the inner bus')
  t.same(got, [{ hello: 'dünya' }])
})
