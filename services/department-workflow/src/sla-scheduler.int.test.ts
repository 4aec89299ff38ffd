import t, { type Test } from 'tap'
import { deriveEventId } from '@civic-desk/case-domain'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import type { OpenCases } from './open-cases.ts'
import { startSlaScheduler, type SlaScheduler } from './sla-scheduler.ts'
import { T0, TestClock, act, at, eventsOf, iso, logger, projectCases, seedCase, waitFor } from './test-support.ts'

const SLA_TYPES = new Set(['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'])

async function slaEvents(store: EventStore, caseId: string) {
  return (await eventsOf(store, caseId)).filter((e) => SLA_TYPES.has(e.type))
}

/** One replica: its own projection and scheduler over the shared store. */
async function replica(t: Test, store: EventStore, clock: TestClock, intervalMs = 10): Promise<{ openCases: OpenCases; scheduler: SlaScheduler }> {
  const openCases = projectCases(store)
  await openCases.waitUntil(await store.headPosition())
  const scheduler = startSlaScheduler({ store, openCases, now: clock.now, intervalMs, logger })
  t.teardown(async () => {
    await scheduler.stop()
    await openCases.close()
  })
  return { openCases, scheduler }
}

/** Waits until the scheduler has completed `n` more ticks and its projection has seen everything stored. */
async function settle(store: EventStore, r: { openCases: OpenCases; scheduler: SlaScheduler }, n = 3): Promise<void> {
  const target = r.scheduler.ticks + n
  await waitFor(`${n} more ticks`, () => r.scheduler.ticks >= target)
  await r.openCases.waitUntil(await store.headPosition())
}

t.test('thresholds that passed while no scheduler ran are recorded at the first tick, once, even with a second replica', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: T0 }) // 48 h: warning at 36 h, due at 48 h
  const untouched = await seedCase(store, { category: 'yol-cukur', routedAt: at(40) }) // warning at 76 h
  const clock = new TestClock(at(60))

  // A minute between ticks: whatever is stored once the first tick is done, that tick recorded.
  const first = await replica(t, store, clock, 60_000)
  await waitFor('the first tick', () => first.scheduler.ticks >= 1)
  t.equal(first.scheduler.ticks, 1)
  t.equal((await slaEvents(store, caseId)).length, 3, 'recorded by the first tick')
  const second = await replica(t, store, clock)
  await settle(store, second)
  await first.openCases.waitUntil(await store.headPosition())

  const events = await slaEvents(store, caseId)
  t.same(events.map((e) => e.type), ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'], 'each exactly once')
  t.match(events[0], { actor: { kind: 'system', id: 'sla-scheduler' }, occurredAt: iso(60), data: { clock: 1, department: 'fen-isleri', at: iso(36), dueAt: iso(48) } })
  t.match(events[1], { data: { clock: 1, dueAt: iso(48) } })
  t.match(events[2], { data: { clock: 1, to: 'supervisors' } })
  t.equal(events[0]?.eventId, deriveEventId(caseId, 'sla:1:warning'), 'deterministic id')
  // One check recorded all three: they share its trace, a root of its own (no request caused it).
  const traces = new Set(events.map((e) => e.traceparent?.slice(3, 35)))
  t.equal(traces.size, 1, 'one trace for the one check')
  t.match([...traces][0], /^[0-9a-f]{32}$/)
  t.equal(first.scheduler.recorded, 3)
  t.equal(second.scheduler.recorded, 0, 'the second replica found nothing left to record')
  t.same(await slaEvents(store, untouched.caseId), [], 'a case short of 75 % gets nothing')
  t.equal(first.openCases.get(caseId)?.state.sla?.escalated, true)
  t.equal(first.scheduler.scheduled, 1, 'only the untouched case is still on the agenda')
})

t.test('two replicas starting together record each threshold once', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const cases = await Promise.all([0, 1, 2, 3, 4].map((i) => seedCase(store, { category: 'kar-buzlanma', routedAt: at(-i) }))) // 24 h
  const clock = new TestClock(at(30))
  const replicas = await Promise.all([replica(t, store, clock), replica(t, store, clock)])
  await waitFor('every case escalated', async () => {
    const all = await Promise.all(cases.map((c) => slaEvents(store, c.caseId)))
    return all.every((events) => events.some((e) => e.type === 'CaseEscalated'))
  })
  for (const r of replicas) await settle(store, r)
  for (const c of cases) {
    t.same((await slaEvents(store, c.caseId)).map((e) => e.type), ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'], c.caseId)
  }
  t.same(replicas.map((r) => r.scheduler.scheduled), [0, 0], 'both agendas are empty: nothing left to fire')
})

t.test('a clock paused before 75 % gets nothing while paused; it resumes where it stopped', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: T0 })
  await act(store, caseId, at(1), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  await act(store, caseId, at(10), (meta) => ({ type: 'RequestInfo', meta, data: { question: 'Adres tarifi?' } })) // 10 h used, 38 h left
  const clock = new TestClock(at(100))
  const r = await replica(t, store, clock)
  await settle(store, r, 5)
  t.same(await slaEvents(store, caseId), [], 'nothing while the citizen is being waited on')
  t.equal(r.scheduler.scheduled, 0, 'and nothing on the agenda')

  await act(store, caseId, at(100), (meta) => ({ type: 'RecordCitizenReply', meta, data: { text: 'Okulun karşısı.', channel: 'call-center' } }))
  // Active time resumes at 10 h: 75 % (36 h) at 126 h, 100 % at 138 h.
  await settle(store, r)
  t.same(await slaEvents(store, caseId), [], 'not yet due after the reply')
  t.equal(r.scheduler.scheduled, 1)

  clock.set(at(127))
  await waitFor('the warning', async () => (await slaEvents(store, caseId)).length === 1)
  await settle(store, r)
  const warned = await slaEvents(store, caseId)
  t.same(warned.map((e) => e.type), ['SlaWarningRaised'], 'only the warning')
  t.match(warned[0], { data: { at: iso(126), dueAt: iso(138) } })

  clock.set(at(138))
  await waitFor('the breach', async () => (await slaEvents(store, caseId)).length === 3)
  await settle(store, r)
  t.same((await slaEvents(store, caseId)).map((e) => e.type), ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'])
  t.equal(r.scheduler.scheduled, 0)
})

t.test('a transfer starts clock 2 with thresholds of its own', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: T0 })
  const clock = new TestClock(at(50))
  const r = await replica(t, store, clock)
  await waitFor('clock 1 escalated', async () => (await slaEvents(store, caseId)).length === 3)
  await act(store, caseId, at(50), (meta) => ({
    type: 'TransferCase',
    meta,
    data: { toDepartment: 'park-bahce', category: 'agac-budama', reason: 'Ağaç işi', sla: { startedAt: iso(50), deadline: { hours: 48 }, basis: 'category', dueAt: iso(98) } },
  }))
  clock.set(at(87)) // 37 h into clock 2
  await waitFor('the warning of clock 2', async () => (await slaEvents(store, caseId)).length === 4)
  await settle(store, r)
  const events = await slaEvents(store, caseId)
  t.same(events.map((e) => [e.type, 'clock' in e.data ? e.data.clock : null]), [
    ['SlaWarningRaised', 1],
    ['SlaBreached', 1],
    ['CaseEscalated', 1],
    ['SlaWarningRaised', 2],
  ])
  t.match(events[3], { eventId: deriveEventId(caseId, 'sla:2:warning'), data: { department: 'park-bahce', at: iso(86) } })
})

t.test('stop() waits for the tick in flight, and no tick follows', async (t) => {
  const store = createMemoryEventStore()
  t.teardown(() => store.close())
  const { caseId } = await seedCase(store, { category: 'yol-cukur', routedAt: at(-100) })
  // A store whose appends wait for the test's go-ahead: the tick is held in flight.
  let release: () => void = () => undefined
  const gate = new Promise<void>((resolve) => (release = resolve))
  let appending = false
  const slow: EventStore = {
    ...store,
    append: async (streamId, events, options) => {
      appending = true
      await gate
      return store.append(streamId, events, options)
    },
  }
  const openCases = projectCases(store)
  t.teardown(() => openCases.close())
  await openCases.waitUntil(await store.headPosition())
  const scheduler = startSlaScheduler({ store: slow, openCases, now: () => at(0), intervalMs: 5, logger })
  await waitFor('the append in flight', () => appending)

  let stopped = false
  const stopping = scheduler.stop().then(() => (stopped = true))
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(stopped, false, 'stop() is still waiting for the tick')
  const ticks = scheduler.ticks
  release()
  await stopping
  t.equal(scheduler.ticks, ticks + 1, 'the tick in flight completed')
  t.same((await slaEvents(store, caseId)).map((e) => e.type), ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'], 'and its append was not cut off')
  t.equal(scheduler.recorded, 3)
})
