import { join } from 'node:path'
import t from 'tap'
import { CaseEvent, CaseEventMessage } from '@civic-desk/contracts'
import { decodeCaseEvent } from '@civic-desk/case-feed'
import { TOPICS, type BusMessage } from '@civic-desk/messaging'
import { CheckpointCorruptError, createFileCheckpointStore, createMemoryCheckpointStore } from '@civic-desk/case-feed'
import { startRelay } from './relay.ts'
import { appendCases, appendMore, capturingLogger, recordingBus, settle, silentLogger, storedCaseEvents, tempStore, waitFor, wrapBus } from './test-support.ts'
import { writeFileSync } from 'node:fs'

/** Every message's eventId once, and per case the revisions in the order first seen. */
function summarise(received: ReadonlyArray<BusMessage<CaseEventMessage>>) {
  const firstSeen = new Map<string, BusMessage<CaseEventMessage>>()
  const duplicates: Array<BusMessage<CaseEventMessage>> = []
  const perCase = new Map<string, number[]>()
  for (const m of received) {
    if (firstSeen.has(m.value.event.eventId)) {
      duplicates.push(m)
      continue
    }
    firstSeen.set(m.value.event.eventId, m)
    const list = perCase.get(m.key) ?? []
    list.push(m.value.revision)
    perCase.set(m.key, list)
  }
  return { ids: new Set(firstSeen.keys()), duplicates, perCase }
}

t.test('every case event is published once, in order per case, keyed by caseId, as a valid CaseEventMessage; other streams are not', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus, received, deadLetters } = await recordingBus(t)
  const caseIds = await appendCases(store, 4, 3) // stored before the relay starts: catch-up
  const relay = await startRelay({ store, bus, checkpoints: createMemoryCheckpointStore(), logger: silentLogger, batchSize: 5 })
  beforeClose(() => relay.stop())
  await appendMore(store, caseIds, 2) // appended while it runs: live
  const stored = await storedCaseEvents(store)
  t.equal(stored.length, 20)
  await waitFor(() => received.length >= stored.length && relay.position === stored.at(-1)?.position, 10_000, 'all case events')
  await settle()
  t.equal(received.length, stored.length, 'each event exactly once')
  t.equal(relay.published, stored.length)
  t.same(deadLetters, [], 'no consumer dead-lettered anything')

  const byId = new Map(received.map((m) => [m.value.event.eventId, m]))
  for (const event of stored) {
    const message = byId.get(event.id)
    if (message === undefined) {
      t.fail(`event ${event.position} not published`)
      continue
    }
    const caseId = event.streamId.slice('case-'.length)
    t.equal(message.key, caseId)
    t.same(message.headers, { 'event-type': event.type, 'event-id': event.id, 'correlation-id': `corr-${caseId}` })
    t.match(message.value, { streamId: event.streamId, revision: event.revision, position: event.position, recordedAt: event.recordedAt, event: { eventId: event.id, type: event.type, data: event.data } })
  }
  for (const caseId of caseIds) {
    t.same(
      received.filter((m) => m.key === caseId).map((m) => m.value.revision),
      [0, 1, 2, 3, 4],
      `case ${caseId.slice(0, 8)} in order`,
    )
  }
  t.notOk(received.some((m) => !m.value.streamId.startsWith('case-')), 'no non-case stream published')

  // A consumer decodes the types it knows with CaseEvent and skips the rest.
  const first = received.find((m) => m.value.revision === 0)
  t.ok(first !== undefined && CaseEvent.safeParse(first.value.event).success, 'CaseSubmitted decodes with CaseEvent')
  const stored0 = stored.find((e) => e.id === first?.value.event.eventId)
  if (stored0 !== undefined) t.same(CaseEvent.parse(first?.value.event), decodeCaseEvent(stored0), 'the same event decodeCaseEvent rebuilds')
  const later = received.find((m) => m.value.revision === 1)
  t.equal(later?.value.event.type, 'CaseNoteAdded')
  t.notOk(CaseEvent.safeParse(later?.value.event).success, 'an unknown type is still a valid message, skippable by CaseEvent')
})

t.test('publishes in batches and checkpoints after each', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus: inner, received } = await recordingBus(t)
  const batches: number[] = []
  const bus = wrapBus(inner, (_call, messages) => {
    batches.push(messages.length)
    return 'pass'
  })
  const checkpoints = createMemoryCheckpointStore()
  await appendCases(store, 5, 5) // 25 case events
  const relay = await startRelay({ store, bus, checkpoints, logger: silentLogger, batchSize: 10, flushIntervalMs: 1000 })
  beforeClose(() => relay.stop())
  const stored = await storedCaseEvents(store)
  const last = stored.at(-1)?.position ?? 0
  // The last 5 wait for the (long) flush interval; full batches go at once.
  await waitFor(() => batches.length >= 2, 5000, 'two full batches')
  t.same(batches.slice(0, 2), [10, 10])
  t.equal(checkpoints.position, stored[19]?.position, 'checkpoint = last event of the second batch')
  await waitFor(() => checkpoints.position === last, 5000, 'the partial batch after the flush interval')
  t.same(batches, [10, 10, 5])
  await waitFor(() => received.length >= 25, 5000, 'delivery')
  await settle()
  t.equal(received.length, 25)
})

t.test('a relay stopped and started again continues after its checkpoint: no gap, no re-publication', async (t) => {
  const { store, dir, beforeClose } = tempStore(t)
  const { bus, received } = await recordingBus(t)
  const file = join(dir, 'event-relay.checkpoint.json')
  const caseIds = await appendCases(store, 3, 4)
  const first = await startRelay({ store, bus, checkpoints: createFileCheckpointStore({ file }), logger: silentLogger, batchSize: 4 })
  await waitFor(() => received.length >= 12, 5000, 'first run')
  await first.stop()
  t.equal(first.published, 12)
  t.notOk(first.running)

  await appendMore(store, caseIds, 3) // stored while no relay runs
  const checkpoints = createFileCheckpointStore({ file })
  t.equal(await checkpoints.load(), first.position, 'stop saved the checkpoint')
  const second = await startRelay({ store, bus, checkpoints, logger: silentLogger, batchSize: 4 })
  beforeClose(() => second.stop())
  const stored = await storedCaseEvents(store)
  await waitFor(() => second.position === stored.at(-1)?.position, 5000, 'second run')
  await waitFor(() => received.length >= stored.length, 5000, 'delivery')
  await settle()
  t.equal(second.published, 9, 'only what came after the checkpoint')
  const { ids, duplicates, perCase } = summarise(received)
  t.equal(duplicates.length, 0, 'nothing published twice')
  t.same(ids, new Set(stored.map((e) => e.id)), 'nothing missing')
  for (const revisions of perCase.values()) t.same(revisions, [0, 1, 2, 3, 4, 5, 6])
})

for (const mode of ['throws', 'never resolves'] as const) {
  t.test(`crash: the bus ${mode} mid-stream, the relay is abandoned, a new process resumes without skipping`, async (t) => {
    const env = tempStore(t)
    const { bus: kafka, received } = await recordingBus(t)
    const file = join(env.dir, 'event-relay.checkpoint.json')
    const caseIds = await appendCases(env.store, 4, 5) // 20 case events
    const batchSize = 6
    const budget = 15 // messages the bus takes before the "crash"
    let hang: { reject: (e: Error) => void } | undefined
    let dead = false
    const dying = wrapBus(kafka, async (_call, messages) => {
      if (dead) throw new Error('process is gone')
      const room = budget - dying.sent
      if (messages.length <= room) {
        await kafka.publish(TOPICS.caseEvents, messages)
        dying.sent += messages.length
        return
      }
      if (mode === 'throws') {
        // Kafka batches are not atomic: part of the batch lands, then the connection dies.
        if (room > 0) {
          await kafka.publish(TOPICS.caseEvents, messages.slice(0, room))
          dying.sent += room
        }
        throw new Error('broker connection lost')
      }
      // Everything lands but the acknowledgement never comes back.
      await kafka.publish(TOPICS.caseEvents, messages)
      dying.sent += messages.length
      await new Promise<void>((_resolve, reject) => {
        hang = { reject }
      })
    })
    const firstStore = env.store
    const crashed = await startRelay({ store: firstStore, bus: dying, checkpoints: createFileCheckpointStore({ file }), logger: silentLogger, batchSize, retryBackoffMs: 5 })
    await waitFor(() => (mode === 'throws' ? crashed.consecutiveFailures >= 2 : hang !== undefined), 5000, 'the crash')
    const more = appendMore(firstStore, caseIds.slice(0, 2), 2) // the store keeps taking events meanwhile
    await more
    // The process is gone: no stop(). Only what the checkpoint file says survives.
    const checkpointAtCrash = await createFileCheckpointStore({ file }).load()
    t.equal(checkpointAtCrash, crashed.position, 'the file holds what the dead relay saved')
    t.ok(checkpointAtCrash > 0 && checkpointAtCrash < (await firstStore.headPosition()), 'it crashed halfway')

    const secondStore = env.reopen()
    const fresh = await startRelay({ store: secondStore, bus: kafka, checkpoints: createFileCheckpointStore({ file }), logger: silentLogger, batchSize, retryBackoffMs: 5 })
    env.beforeClose(async () => {
      await fresh.stop()
      // Only so the test process can end: the abandoned relay gets no further.
      dead = true
      hang?.reject(new Error('released at teardown'))
      await crashed.stop()
    })
    const stored = await storedCaseEvents(secondStore)
    t.equal(stored.length, 24)
    await waitFor(() => fresh.position === stored.at(-1)?.position, 5000, 'the new relay caught up')
    await waitFor(() => summarise(received).ids.size === stored.length, 5000, 'every event delivered')
    await settle()

    const { ids, duplicates, perCase } = summarise(received)
    t.same(ids, new Set(stored.map((e) => e.id)), 'the union covers every stored case event')
    t.equal(fresh.published, stored.filter((e) => e.position > checkpointAtCrash).length, 'the new relay starts right after the checkpoint')
    t.ok(duplicates.length > 0, 'the unacknowledged part of the last batch came again')
    t.ok(duplicates.length <= batchSize, 'duplicates come from one batch at most')
    t.ok(
      duplicates.every((m) => m.value.position > checkpointAtCrash),
      'only events after the checkpoint are duplicated',
    )
    for (const [caseId, revisions] of perCase) t.same(revisions, Array.from({ length: revisions.length }, (_, i) => i), `case ${caseId.slice(0, 8)}: no gap, in order`)
  })
}

t.test('a failing publish is retried with back-off and logged; nothing is skipped, nothing duplicated', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus: inner, received } = await recordingBus(t)
  const { logger, lines } = capturingLogger()
  let failures = 0
  const bus = wrapBus(inner, async (call, messages) => {
    if (call <= 3 || call === 5) {
      failures++
      throw new Error(`broker unavailable (call ${call})`)
    }
    await inner.publish(TOPICS.caseEvents, messages)
  })
  const checkpoints = createMemoryCheckpointStore()
  await appendCases(store, 3, 4)
  const relay = await startRelay({ store, bus, checkpoints, logger, batchSize: 4, retryBackoffMs: 2 })
  beforeClose(() => relay.stop())
  const stored = await storedCaseEvents(store)
  await waitFor(() => checkpoints.position === stored.at(-1)?.position, 5000, 'all published despite failures')
  await waitFor(() => received.length >= stored.length, 5000, 'delivery')
  await settle()
  t.equal(failures, 4)
  // Partitions are delivered independently, so compare as a sorted list (order per case is checked elsewhere).
  t.same(
    received.map((m) => m.value.position).sort((a, b) => a - b),
    stored.map((e) => e.position),
    'every event exactly once',
  )
  for (const revisions of summarise(received).perCase.values()) t.same(revisions, [0, 1, 2, 3], 'in order per case')
  t.equal(relay.consecutiveFailures, 0, 'healthy again')
  const warnings = lines.filter((l) => l['msg'] === 'publish failed; will retry')
  t.equal(warnings.length, 4, 'each failure logged')
  t.same(warnings.map((w) => w['attempt']), [1, 2, 3, 1])
  t.same(warnings.map((w) => w['retryInMs']), [2, 4, 8, 2], 'back-off doubles per attempt')
})

t.test('a failing checkpoint save is retried without re-publishing', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus, received } = await recordingBus(t)
  const inner = createMemoryCheckpointStore()
  let saves = 0
  const checkpoints = {
    load: () => inner.load(),
    async save(position: number) {
      saves++
      if (saves === 1) throw new Error('disk full')
      await inner.save(position)
    },
  }
  await appendCases(store, 2, 2)
  const relay = await startRelay({ store, bus, checkpoints, logger: silentLogger, batchSize: 10, retryBackoffMs: 2 })
  beforeClose(() => relay.stop())
  const stored = await storedCaseEvents(store)
  await waitFor(() => inner.position === stored.at(-1)?.position, 5000, 'checkpoint saved on retry')
  await waitFor(() => received.length >= 4, 5000, 'delivery')
  await settle()
  t.equal(received.length, 4, 'published once')
  t.equal(saves, 2)
})

t.test('backpressure: while a batch is out the relay holds at most one batch in memory', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus: inner, received } = await recordingBus(t)
  let open: () => void = () => undefined
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const bus = wrapBus(inner, async (_call, messages) => {
    await gate
    await inner.publish(TOPICS.caseEvents, messages)
  })
  await appendCases(store, 10, 5) // 50 case events
  const relay = await startRelay({ store, bus, checkpoints: createMemoryCheckpointStore(), logger: silentLogger, batchSize: 5 })
  beforeClose(() => relay.stop())
  await waitFor(() => bus.calls === 1, 5000, 'the first publish')
  await settle(200)
  t.equal(bus.calls, 1, 'no second publish while the first is out')
  t.ok(relay.buffered <= 5, `buffered ${relay.buffered} <= batch size`)
  t.equal(relay.position, 0, 'nothing checkpointed before the bus accepted it')
  open()
  await waitFor(() => received.length === 50, 5000, 'everything after the gate opens')
  t.equal(bus.calls, 10)
})

t.test('stop() publishes what was collected and saves; a stop during an outage gives up without advancing', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus: inner, received } = await recordingBus(t)
  let down = false
  const bus = wrapBus(inner, async (_call, messages) => {
    if (down) throw new Error('broker down')
    await inner.publish(TOPICS.caseEvents, messages)
  })
  const checkpoints = createMemoryCheckpointStore()
  await appendCases(store, 1, 3)
  // A long interval: the events sit in the batch until stop() flushes them.
  const relay = await startRelay({ store, bus, checkpoints, logger: silentLogger, batchSize: 100, flushIntervalMs: 60_000 })
  await waitFor(() => relay.buffered === 3, 5000, 'collected')
  await relay.stop()
  await waitFor(() => received.length === 3, 5000, 'flushed on stop')
  const stored = await storedCaseEvents(store)
  t.equal(checkpoints.position, stored.at(-1)?.position, 'saved on stop')

  const outage = createMemoryCheckpointStore(checkpoints.position)
  const { logger, lines } = capturingLogger()
  const caseIds = await appendCases(store, 1, 2)
  t.equal(caseIds.length, 1)
  const second = await startRelay({ store, bus, checkpoints: outage, logger, batchSize: 100, flushIntervalMs: 60_000, retryBackoffMs: 60_000 })
  await waitFor(() => second.buffered === 2, 5000, 'collected')
  down = true
  const flushing = second.stop()
  await flushing // must not wait out the 60 s back-off or the broker
  t.equal(outage.position, checkpoints.position, 'checkpoint not advanced past unpublished events')
  t.ok(lines.some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('publish failed while stopping')), 'the give-up is logged')
})

t.test('a corrupt checkpoint stops the relay from starting', async (t) => {
  const { store, dir, beforeClose } = tempStore(t)
  const { bus } = await recordingBus(t)
  const file = join(dir, 'cp.json')
  writeFileSync(file, '{"position": "twelve"')
  await t.rejects(startRelay({ store, bus, checkpoints: createFileCheckpointStore({ file }), logger: silentLogger }), CheckpointCorruptError)
})

t.test('invalid options fail fast', async (t) => {
  const { store, beforeClose } = tempStore(t)
  const { bus } = await recordingBus(t)
  await t.rejects(startRelay({ store, bus, checkpoints: createMemoryCheckpointStore(), logger: silentLogger, batchSize: 0 }), RangeError)
})
