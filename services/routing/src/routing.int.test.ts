import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { deriveEventId, type CaseCommand } from '@civic-desk/case-domain'
import { caseStreamId, createCaseFeed, executeOnCase, loadCase } from '@civic-desk/case-feed'
import type { CaseEvent } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, TOPICS } from '@civic-desk/messaging'
import { startRouting, type StartRoutingOptions } from './routing.ts'
import { NOW, calendar, capturingLogger, caseEventMessage, catalogue, environment, eventsOf, settle, silentLogger, submitCase, waitFor } from './test-support.ts'

const POTHOLE = 'Sokakta büyük bir ÇUKUR var, araçlar zarar görüyor'
const HERE = { lat: 41.0, lon: 29.0 }
/** A point `meters` north of HERE. */
const north = (meters: number) => ({ lat: HERE.lat + meters / 111_195, lon: HERE.lon })

type Env = Awaited<ReturnType<typeof environment>>

async function start(t: Test, env: Env, extra: Partial<StartRoutingOptions> = {}) {
  const routing = await startRouting({ store: env.store, feed: env.feed, catalogue, calendar, logger: silentLogger, now: () => NOW, retryBackoffMs: 5, ...extra })
  t.teardown(() => routing.stop())
  return routing
}

/** The case's events once it has more than its CaseSubmitted. */
async function routedEvent(env: Env, caseId: string, timeoutMs = 1000): Promise<CaseEvent> {
  await waitFor(() => eventsOf(env.events, caseId).length >= 2, timeoutMs, `case ${caseId.slice(0, 8)} routed`)
  const event = eventsOf(env.events, caseId)[1]
  if (event === undefined) throw new Error('unreachable')
  return event
}

const routingDeadLetters = (env: Env) =>
  env.deadLetters.filter((m) => m.topic === TOPICS.deadLetter).map((m) => DeadLetterRecord.parse(m.value)).filter((r) => r.source.groupId === 'routing')

t.test('a Turkish pothole complaint is routed to public works within 1 s, with its due time, once', async (t) => {
  const env = await environment(t)
  const { logger, lines } = capturingLogger()
  const routing = await start(t, env, { logger })
  const { submission, eventId, correlationId } = await submitCase(env.store, { description: POTHOLE, submittedAt: '2026-11-20T16:00:00+03:00', location: north(0) })
  const event = await routedEvent(env, submission.caseId, 1000)

  t.match(event, {
    eventId: deriveEventId(eventId, 'routing'),
    type: 'CaseRouted',
    schemaVersion: 1,
    occurredAt: NOW.toISOString(),
    actor: { kind: 'service', id: 'routing' },
    correlationId,
    causationId: eventId,
  })
  if (event.type !== 'CaseRouted') throw new Error(`expected CaseRouted, got ${event.type}`)
  t.match(event.data, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'keywords', legalDueAt: null })
  t.ok(event.data.matchedKeywords.includes('çukur'))
  // 48 wall-clock hours from when the citizen applied (16:00 Istanbul = 13:00 UTC).
  t.same(event.data.sla, { clock: 1, startedAt: '2026-11-20T13:00:00.000Z', deadline: { hours: 48 }, basis: 'category', dueAt: '2026-11-22T13:00:00.000Z' })

  const loaded = await loadCase(env.store, submission.caseId)
  t.match(loaded.state, { status: 'routed', department: 'fen-isleri', expectedBy: '2026-11-22T13:00:00.000Z' })
  t.match(routing.status(), { running: true, routed: 1, duplicates: 0, skipped: 0 })
  t.ok(routing.status().indexPosition >= 1)
  t.notOk('lastError' in routing.status())

  const line = lines.find((l) => l['msg'] === 'case routed')
  t.match(line, { level: 'info', component: 'routing', caseId: submission.caseId, eventId: deriveEventId(eventId, 'routing'), department: 'fen-isleri', correlationId })
})

t.test('a second report 50 m away is marked a duplicate of the first; another category nearby is not', async (t) => {
  const env = await environment(t)
  const routing = await start(t, env)
  const first = await submitCase(env.store, { description: POTHOLE, location: north(0) })
  await routedEvent(env, first.submission.caseId)
  const second = await submitCase(env.store, { description: 'Evimizin önündeki yolda çukur açıldı', location: north(50) }, '2026-11-20T15:00:00.000Z')
  const event = await routedEvent(env, second.submission.caseId)
  t.equal(event.type, 'CaseMarkedDuplicate')
  if (event.type !== 'CaseMarkedDuplicate') return
  t.match(event.data, { duplicateOf: first.submission.caseId, duplicateOfTrackingCode: first.submission.trackingCode, match: 'location', department: 'fen-isleri', category: 'yol-cukur' })
  t.ok(event.data.distanceMeters !== null && Math.abs(event.data.distanceMeters - 50) < 0.5, `distance ${event.data.distanceMeters}`)
  t.equal(event.data.sla.dueAt, '2026-11-22T15:00:00.000Z', 'its own clock, like a routed case')
  t.match((await loadCase(env.store, second.submission.caseId)).state, { status: 'routed', duplicateOf: { caseId: first.submission.caseId } })

  const other = await submitCase(env.store, { description: 'Çöpler üç gündür toplanmadı', location: north(10) })
  const otherEvent = await routedEvent(env, other.submission.caseId)
  t.match(otherEvent, { type: 'CaseRouted', data: { department: 'temizlik', category: 'cop-toplama' } })
  t.match(routing.status(), { routed: 2, duplicates: 1 })
})

t.test('two simultaneous reports: the later one is the duplicate, never both', async (t) => {
  const env = await environment(t)
  // Both stored before routing starts, so their messages are handled concurrently (different partitions).
  const first = await submitCase(env.store, { description: POTHOLE, location: north(0) })
  const second = await submitCase(env.store, { description: POTHOLE, location: north(5) })
  await start(t, env)
  const [a, b] = [await routedEvent(env, first.submission.caseId), await routedEvent(env, second.submission.caseId)]
  t.equal(a.type, 'CaseRouted', 'the earlier report is routed')
  t.match(b, { type: 'CaseMarkedDuplicate', data: { duplicateOf: first.submission.caseId } })
})

t.test('a message waits until the index has applied its position, so a just-submitted earlier case is seen', async (t) => {
  const env = await environment(t)
  // The index's feed is held back; the relay (on the real store) is not, so routing gets both messages first.
  let open = (): void => undefined
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const store: EventStore = {
    append: (streamId, events, options) => env.store.append(streamId, events, options),
    readStream: (streamId, options) => env.store.readStream(streamId, options),
    readAll: (options) => env.store.readAll(options),
    subscribeToAll: (options, handler) =>
      env.store.subscribeToAll(options, async (event) => {
        await gate
        await handler(event)
      }),
    headPosition: () => env.store.headPosition(),
    close: () => env.store.close(),
  }
  const feed = createCaseFeed({ store, bus: env.bus, logger: silentLogger, groups: { kind: 'bus' } })
  t.teardown(() => feed.close())
  const routing = await start(t, env, { store, feed })
  const first = await submitCase(env.store, { description: POTHOLE, location: north(0) })
  const second = await submitCase(env.store, { description: POTHOLE, location: north(30) })
  await settle() // room for a wrong implementation to route early
  t.equal(eventsOf(env.events, first.submission.caseId).length, 1, 'nothing routed while the index is behind')
  t.equal(routing.status().indexPosition, 0)
  open()
  t.equal((await routedEvent(env, first.submission.caseId)).type, 'CaseRouted')
  t.match(await routedEvent(env, second.submission.caseId), { type: 'CaseMarkedDuplicate', data: { duplicateOf: first.submission.caseId } })
})

t.test('a resolved case attracts no duplicates', async (t) => {
  const env = await environment(t)
  await start(t, env)
  const first = await submitCase(env.store, { description: POTHOLE, location: north(0) })
  await routedEvent(env, first.submission.caseId)
  const resolve: CaseCommand = {
    type: 'ResolveCase',
    meta: { eventId: randomUUID(), occurredAt: NOW.toISOString(), actor: { kind: 'staff', id: 'fen-isleri-1' }, correlationId: 'test', causationId: null },
    data: { resolution: 'Çukur kapatıldı' },
  }
  await executeOnCase(env.store, first.submission.caseId, () => resolve)
  const second = await submitCase(env.store, { description: POTHOLE, location: north(10) })
  t.equal((await routedEvent(env, second.submission.caseId)).type, 'CaseRouted')
})

t.test('a redelivered CaseSubmitted routes nothing twice: the decider returns [] and the derived id makes a repeated append a no-op', async (t) => {
  const env = await environment(t)
  // A view of the store whose reads can go stale, as a replica that loaded the case before another appended.
  let stale = false
  const store: EventStore = {
    append: (streamId, events, options) => env.store.append(streamId, events, options),
    readStream: async (streamId, options) => {
      const events = await env.store.readStream(streamId, options)
      return stale ? events.filter((e) => e.revision === 0) : events
    },
    readAll: (options) => env.store.readAll(options),
    subscribeToAll: (options, handler) => env.store.subscribeToAll(options, handler),
    headPosition: () => env.store.headPosition(),
    close: () => env.store.close(),
  }
  const routing = await start(t, env, { store })
  const { submission } = await submitCase(env.store, { description: POTHOLE })
  await routedEvent(env, submission.caseId)
  const [submitted] = await env.store.readStream(caseStreamId(submission.caseId))
  if (submitted === undefined) throw new Error('no CaseSubmitted')

  // 1. Published again: the case is past `submitted`, the decider returns [].
  await env.bus.publish(TOPICS.caseEvents, [caseEventMessage(submitted)])
  await waitFor(() => routing.status().skipped === 1, 2000, 'the redelivery handled')
  t.same((await env.store.readStream(caseStreamId(submission.caseId))).map((e) => e.type), ['CaseSubmitted', 'CaseRouted'])

  // 2. Handled against a stale read: the decider emits again, but with the same derived id the
  //    store skips it (a random id would fail the expected revision, retry, and be dead-lettered).
  stale = true
  await env.bus.publish(TOPICS.caseEvents, [caseEventMessage(submitted)])
  await waitFor(() => routing.status().routed === 2, 2000, 'the stale redelivery handled')
  stale = false
  const stream = await env.store.readStream(caseStreamId(submission.caseId))
  t.same(stream.map((e) => e.type), ['CaseSubmitted', 'CaseRouted'], 'exactly one CaseRouted')
  t.same(routingDeadLetters(env), [], 'nothing dead-lettered')
})

t.test('invalid messages on the topic are dead-lettered and routing continues', async (t) => {
  const env = await environment(t)
  const routing = await start(t, env)
  const before = await submitCase(env.store, { description: POTHOLE })
  await routedEvent(env, before.submission.caseId)

  // Not JSON: the bus refuses it before the handler.
  await env.bus.publishRaw(TOPICS.caseEvents, [{ key: 'broken', value: '{not json' }])
  // A valid envelope whose CaseSubmitted data is not one: the handler refuses it without retrying.
  const envelope = {
    eventId: randomUUID(),
    type: 'CaseSubmitted',
    schemaVersion: 1,
    occurredAt: NOW.toISOString(),
    actor: { kind: 'channel', id: 'test' },
    correlationId: 'bad',
    causationId: null,
  }
  const badCaseId = randomUUID()
  await env.bus.publish(TOPICS.caseEvents, [
    { key: badCaseId, value: { streamId: `case-${badCaseId}`, revision: 0, position: 1, recordedAt: NOW.toISOString(), event: { ...envelope, data: { caseId: badCaseId } } } },
  ])
  // A well-formed CaseSubmitted of a case the store does not hold.
  const ghost = { ...before.submission, caseId: randomUUID() }
  await env.bus.publish(TOPICS.caseEvents, [
    { key: ghost.caseId, value: { streamId: `case-${ghost.caseId}`, revision: 0, position: 1, recordedAt: NOW.toISOString(), event: { ...envelope, eventId: randomUUID(), data: ghost } } },
  ])
  await waitFor(() => routingDeadLetters(env).length === 3, 2000, 'three dead letters')
  const records = routingDeadLetters(env)
  const invalid = records.find((r) => r.source.key === 'broken')
  t.match(invalid, { error: { kind: 'invalid' }, attempts: 0, rawValue: '{not json' })
  const failed = records.find((r) => r.source.key === badCaseId)
  t.match(failed, { error: { kind: 'failed', message: /CaseSubmitted .* is invalid: data\./ }, attempts: 1 })
  const missing = records.find((r) => r.source.key === ghost.caseId)
  t.match(missing, { error: { kind: 'failed', message: /no such case/ }, attempts: 1 })
  t.match(routing.status(), { lastError: /no such case|is invalid/ }, 'the last failure is reported (partitions finish in any order)')

  const after = await submitCase(env.store, { description: 'Çöpler üç gündür toplanmadı' })
  t.match(await routedEvent(env, after.submission.caseId), { type: 'CaseRouted', data: { department: 'temizlik' } })
  t.equal((await env.store.readStream(caseStreamId(ghost.caseId))).length, 0, 'nothing written for the ghost')
})

t.test('after stop and a new start the index is rebuilt from the store: a duplicate of a case from before the restart is found', async (t) => {
  const env = await environment(t)
  const first = await start(t, env)
  const original = await submitCase(env.store, { description: POTHOLE, location: { ...north(0), neighbourhood: 'Kazımdirik Mahallesi' } })
  await routedEvent(env, original.submission.caseId)
  await first.stop()
  t.match(first.status(), { running: false, routed: 1 })

  const second = await start(t, env)
  const repeat = await submitCase(env.store, { description: 'sokakta buyuk cukur var', location: { neighbourhood: 'kazımdirik mah.' } }, '2026-11-21T09:00:00.000Z')
  const event = await routedEvent(env, repeat.submission.caseId)
  t.match(event, { type: 'CaseMarkedDuplicate', data: { duplicateOf: original.submission.caseId, match: 'neighbourhood-text', distanceMeters: null } })
  t.match(second.status(), { routed: 0, duplicates: 1, skipped: 0 }, 'the group continued after its committed offset')
  t.equal(eventsOf(env.events, original.submission.caseId).length, 2, 'the original was not routed again')
})

t.test('startRouting refuses options that name a directorate the catalogue lacks', async (t) => {
  const env = await environment(t)
  await t.rejects(
    startRouting({ store: env.store, feed: env.feed, catalogue, calendar, logger: silentLogger, options: { fallbackDepartment: 'beyaz-masa' } }),
    /fallbackDepartment "beyaz-masa" is not a department of the catalogue/,
  )
  await t.rejects(startRouting({ store: env.store, feed: env.feed, catalogue, calendar, logger: silentLogger, options: { textSimilarity: 2 } }), RangeError)
})
