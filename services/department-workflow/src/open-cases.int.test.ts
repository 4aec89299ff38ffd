import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { caseStreamId, encodeCaseEvent } from '@civic-desk/case-feed'
import type { CaseEvent } from '@civic-desk/contracts'
import { createMemoryEventStore, openSqliteEventStore } from '@civic-desk/event-store'
import { HOUR, T0, act, at, iso, projectCases, seedCase } from './test-support.ts'

t.test('the projection is rebuilt from the log at every start: queues survive a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-workflow-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'events.sqlite')

  let store = openSqliteEventStore({ file })
  const pothole = await seedCase(store, { category: 'yol-cukur', routedAt: T0 })
  const parks = await seedCase(store, { category: 'park-bakim', routedAt: at(1) })
  await act(store, pothole.caseId, at(2), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  let openCases = projectCases(store)
  await openCases.waitUntil(await store.headPosition())
  t.same(openCases.queue('fen-isleri', at(3)).map((c) => [c.caseId, c.status, c.revision]), [[pothole.caseId, 'in_progress', 2]])
  await openCases.close()
  await store.close()

  store = openSqliteEventStore({ file })
  t.teardown(() => store.close())
  openCases = projectCases(store)
  t.teardown(() => openCases.close())
  await openCases.waitUntil(await store.headPosition())
  t.equal(openCases.position, 5)
  t.same(openCases.queue('fen-isleri', at(3)).map((c) => [c.caseId, c.status, c.assignee, c.revision]), [[pothole.caseId, 'in_progress', 'ayse.fen', 2]])
  t.match(openCases.queue('park-bahce', at(3)), [{ caseId: parks.caseId, status: 'routed', dueAt: iso(49), msLeft: 46 * HOUR }])
  t.same(openCases.queue('temizlik', at(3)), [])

  // Live updates after the rebuild.
  await act(store, parks.caseId, at(4), (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'not-municipal', reason: 'Özel mülk.' } }), 'elif.park')
  await openCases.waitUntil(await store.headPosition())
  t.same(openCases.queue('park-bahce', at(5)), [], 'a rejected case leaves the queue')
  t.equal(openCases.get(parks.caseId)?.state.status, 'rejected', 'but stays known (it may be reopened)')
})

t.test('events of other streams are ignored, and waitUntil still returns when the head is one of them', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const openCases = projectCases(store)
  t.teardown(() => openCases.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: T0 })
  await store.append('checkpoint-relay', [{ id: randomUUID(), type: 'Checkpoint', data: { position: 2 } }], { expectedRevision: 'any' })
  const head = await store.headPosition()
  t.equal(head, 3)
  await openCases.waitUntil(head, { timeoutMs: 1000 })
  // The position covers every event of the log, the other stream's too (it is a position in the log, not a count of cases).
  t.equal(openCases.position, 3, 'past the last event of the log')
  t.equal(openCases.get(caseId)?.revision, 1)
})

t.test('a record that is no valid case event is skipped and logged; the projection keeps going', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const openCases = projectCases(store)
  t.teardown(() => openCases.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: T0 })
  await store.append(caseStreamId(caseId), [{ id: randomUUID(), type: 'CaseAccepted', data: { department: 'fen-isleri' }, metadata: {} }], { expectedRevision: 1 })
  const note: CaseEvent = { eventId: randomUUID(), type: 'CaseNoteAdded', schemaVersion: 1, occurredAt: iso(1), actor: { kind: 'staff', id: 'ayse.fen' }, correlationId: 'test', causationId: null, data: { text: 'Not' } }
  await store.append(caseStreamId(caseId), [encodeCaseEvent(note)], { expectedRevision: 2 })
  await openCases.waitUntil(await store.headPosition())
  t.equal(openCases.running, true)
  t.match(openCases.get(caseId), { revision: 3, state: { status: 'routed', notes: [{ text: 'Not' }] } })
  await t.rejects(openCases.waitUntil(99, { timeoutMs: 20 }), { message: /did not reach position 99 within 20 ms/ })
})
