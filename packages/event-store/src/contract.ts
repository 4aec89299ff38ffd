/**
 * The behaviour every EventStore adapter must show, as a tap suite. An adapter's test file
 * calls `eventStoreContract(t, makeStore)`; each subtest gets its own store from `makeStore`
 * and uses fresh stream ids, so the suite also runs against a shared server.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { GENESIS_HASH, eventHash } from './integrity.ts'
import { ConcurrencyError, type EventStore, type EventToAppend, type ExpectedRevision, type RecordedEvent } from './port.ts'

export interface EventStoreFixture {
  readonly store: EventStore
  /** Durable adapters only: closes nothing, opens the same storage again. */
  readonly reopen?: () => Promise<EventStore>
  /** Closes every store the fixture handed out and removes its storage. */
  readonly cleanup: () => Promise<void>
}

const suffix = (): string => randomUUID().slice(0, 8)

const event = (type: string, data: unknown = {}, metadata?: unknown): EventToAppend =>
  metadata === undefined ? { id: randomUUID(), type, data } : { id: randomUUID(), type, data, metadata }

const many = (count: number, type: string, from = 0): EventToAppend[] => Array.from({ length: count }, (_, index) => event(type, { n: from + index }))

/** Waits until `condition` holds, failing after a deadline; never a blind sleep. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a rejection, but the call resolved'),
    (error: unknown) => error,
  )
}

async function expectConcurrencyError(
  t: Test,
  promise: Promise<unknown>,
  expected: { streamId: string; expected: ExpectedRevision; actual: number },
): Promise<void> {
  const error = await rejection(promise)
  if (!(error instanceof ConcurrencyError)) {
    t.fail(`expected ConcurrencyError, got ${String(error)}`)
    return
  }
  t.same({ streamId: error.streamId, expected: error.expected, actual: error.actual }, expected, `ConcurrencyError ${JSON.stringify(expected)}`)
}

const positions = (events: readonly RecordedEvent[]): number[] => events.map((recorded) => recorded.position)

const strictlyIncreasing = (values: readonly number[]): boolean => values.every((value, index) => index === 0 || value > (values[index - 1] ?? Infinity))

/** Registers the EventStore contract suite on `t`; `makeStore` is called once per subtest. */
export function eventStoreContract(t: Test, makeStore: () => Promise<EventStoreFixture>): void {
  const withStore = (name: string, body: (t: Test, fixture: EventStoreFixture) => Promise<void>): void => {
    void t.test(name, async (t) => {
      const fixture = await makeStore()
      t.teardown(() => fixture.cleanup())
      await body(t, fixture)
    })
  }

  withStore('append then readStream: events in order with revisions 0..n and their content', async (t, { store }) => {
    const streamId = `order-${suffix()}`
    const first = [event('Opened', { title: 'Çukur — Kadıköy', tags: ['road', 'urgent'], priority: 2, ok: true, none: null }, { correlationId: 'c-1' }), event('Noted', { n: 1 }), event('Noted', { n: 2 })]
    const second = [event('Noted', { n: 3 }), event('Closed', { n: 4 })]
    const r1 = await store.append(streamId, first, { expectedRevision: 'no_stream' })
    t.equal(r1.nextRevision, 2)
    const r2 = await store.append(streamId, second, { expectedRevision: 2 })
    t.equal(r2.nextRevision, 4)
    t.ok(r2.position > r1.position, 'a later append has a higher position')

    const read = await store.readStream(streamId)
    const sent = [...first, ...second]
    t.same(read.map((recorded) => recorded.revision), [0, 1, 2, 3, 4])
    t.same(read.map((recorded) => recorded.id), sent.map((sentEvent) => sentEvent.id))
    t.same(read.map((recorded) => recorded.type), ['Opened', 'Noted', 'Noted', 'Noted', 'Closed'])
    t.same(read.map((recorded) => recorded.data), sent.map((sentEvent) => sentEvent.data))
    t.same(read.map((recorded) => recorded.streamId), Array(5).fill(streamId))
    t.same(read[0]?.metadata, { correlationId: 'c-1' })
    t.equal(read[1]?.metadata, null, 'absent metadata reads back as null')
    t.equal(read[2]?.position, r1.position, 'AppendResult.position is the position of the last event written')
    t.equal(read[4]?.position, r2.position)
    t.ok(strictlyIncreasing(positions(read)), 'positions increase with revisions')
    for (const recorded of read) t.equal(new Date(recorded.recordedAt).toISOString(), recorded.recordedAt, 'recordedAt is ISO-8601 UTC')

    t.same((await store.readStream(streamId, { fromRevision: 2 })).map((recorded) => recorded.revision), [2, 3, 4])
    t.same((await store.readStream(streamId, { fromRevision: 1, maxCount: 2 })).map((recorded) => recorded.revision), [1, 2])
    t.same(await store.readStream(streamId, { fromRevision: 5 }), [])
  })

  withStore('every event is hash-chained to the one before it in its stream, over its content as stored, through retries and concurrent appends', async (t, { store, reopen }) => {
    const streamId = `case-${suffix()}`
    const other = `case-${suffix()}`
    const first = [event('Opened', { title: 'Çukur — Kadıköy', n: 1.5, none: null }, { correlationId: 'c-1' }), event('Noted', { n: 1 })]
    await store.append(streamId, first, { expectedRevision: 'no_stream' })
    await store.append(streamId, first, { expectedRevision: 'no_stream' }) // an idempotent retry writes nothing
    // Appends to two streams at once (one group commit in the adapters that batch), two to the same stream.
    await Promise.all([
      store.append(streamId, [event('Noted', { n: 2 })], { expectedRevision: 'any' }),
      store.append(other, many(3, 'Noted'), { expectedRevision: 'no_stream' }),
      store.append(streamId, [event('Noted', { n: 3 }, 7)], { expectedRevision: 'any' }),
    ])
    const check = (events: readonly RecordedEvent[], what: string): void => {
      let prev = GENESIS_HASH
      for (const recorded of events) {
        const integrity = recorded.integrity
        if (integrity === undefined) {
          t.fail(`${what}: event ${recorded.revision} carries no integrity link`)
          return
        }
        t.equal(integrity.prev, prev, `${what} ${recorded.revision}: links to the previous event's hash`)
        // The stores keep the JSON text they were given; JSON.stringify of what was read gives it back.
        const recomputed = eventHash(recorded.streamId, recorded.revision, recorded.id, recorded.type, integrity.prev, JSON.stringify(recorded.data), JSON.stringify(recorded.metadata))
        t.equal(integrity.hash, recomputed, `${what} ${recorded.revision}: its hash is that of its content`)
        prev = integrity.hash
      }
    }
    const read = await store.readStream(streamId)
    t.equal(read.length, 4)
    check(read, streamId)
    t.same(read[0]?.metadata, { correlationId: 'c-1' }, "the caller's metadata reads back without the chain's header")
    t.equal(read[3]?.metadata, 7)
    check(await store.readStream(other), other)
    const all = (await store.readAll({ streamPrefix: streamId })).filter((recorded) => recorded.streamId === streamId)
    t.same(all.map((recorded) => recorded.integrity), read.map((recorded) => recorded.integrity), 'readAll hands out the same links')
    if (reopen !== undefined) {
      const again = await reopen()
      await again.append(streamId, [event('Closed')], { expectedRevision: 3 })
      check(await again.readStream(streamId), `${streamId} after reopening`)
    }
  })

  withStore('readLinks (where the adapter has it): every event\'s link hash in global order, data only for the stream asked for', async (t, { store }) => {
    if (store.readLinks === undefined) {
      t.pass('this adapter has no link reader: the audit log follows the subscription instead')
      return
    }
    const a = `case-${suffix()}`
    const b = `audit-${suffix()}`
    const head = await store.headPosition()
    await store.append(a, [event('Opened', { n: 1 }), event('Noted', { n: 2 })], { expectedRevision: 'no_stream' })
    await store.append(b, [event('Signed', { size: 3 })], { expectedRevision: 'no_stream' })
    const links = (await store.readLinks(head, 100, { dataOfStream: b })).filter((l) => l.streamId === a || l.streamId === b)
    const read = [...(await store.readStream(a)), ...(await store.readStream(b))]
    t.same(
      links.map((l) => [l.position, l.streamId, l.revision, l.type, l.hash]),
      read.map((r) => [r.position, r.streamId, r.revision, r.type, r.integrity?.hash]),
      'positions, streams, revisions, types and the stored hashes',
    )
    t.same(links.map((l) => l.data), [undefined, undefined, { size: 3 }], 'data only for the stream asked for')
    t.equal((await store.readLinks(head, 1, { dataOfStream: b })).length, 1, 'at most maxCount')
  })

  withStore('readStream can leave out types: revisions kept, maxCount counts what is returned', async (t, { store }) => {
    const streamId = `case-${suffix()}`
    const types = ['Opened', 'Noted', 'Noted', 'Moved', 'Noted', 'Closed']
    await store.append(streamId, types.map((type, i) => ({ id: randomUUID(), type, data: { i } })), { expectedRevision: 'no_stream' })
    const kinds = (events: readonly RecordedEvent[]) => events.map((e) => [e.revision, e.type, (e.data as { i: number }).i])
    t.same(kinds(await store.readStream(streamId, { excludeTypes: ['Noted'] })), [[0, 'Opened', 0], [3, 'Moved', 3], [5, 'Closed', 5]])
    t.same(kinds(await store.readStream(streamId, { excludeTypes: ['Noted', 'Closed'], fromRevision: 1 })), [[3, 'Moved', 3]])
    t.same(kinds(await store.readStream(streamId, { excludeTypes: ['Noted'], maxCount: 2 })), [[0, 'Opened', 0], [3, 'Moved', 3]])
    t.same(kinds(await store.readStream(streamId, { excludeTypes: [] })), kinds(await store.readStream(streamId)), 'an empty list leaves nothing out')
  })

  withStore('readStream of a missing stream is an empty array', async (t, { store }) => {
    t.same(await store.readStream(`missing-${suffix()}`), [])
  })

  withStore('readAll: global order across streams, strictly increasing positions, headPosition', async (t, { store }) => {
    const prefix = `global-${suffix()}`
    const a = `${prefix}-a`
    const b = `${prefix}-b`
    const head0 = await store.headPosition()
    await store.append(a, [event('A', { i: 0 }), event('A', { i: 1 })], { expectedRevision: 'no_stream' })
    await store.append(b, [event('B', { i: 0 })], { expectedRevision: 'no_stream' })
    await store.append(a, [event('A', { i: 2 })], { expectedRevision: 1 })
    const last = await store.append(b, [event('B', { i: 1 }), event('B', { i: 2 })], { expectedRevision: 0 })

    const all = await store.readAll({ after: head0, streamPrefix: prefix })
    t.same(
      all.map((recorded) => [recorded.streamId, recorded.revision, recorded.data]),
      [
        [a, 0, { i: 0 }],
        [a, 1, { i: 1 }],
        [b, 0, { i: 0 }],
        [a, 2, { i: 2 }],
        [b, 1, { i: 1 }],
        [b, 2, { i: 2 }],
      ],
    )
    t.ok(strictlyIncreasing(positions(all)), 'strictly increasing positions')
    t.ok(all.every((recorded) => recorded.position > head0), 'positions after the old head')
    t.equal(all.at(-1)?.position, last.position)
    t.equal(await store.headPosition(), last.position, 'headPosition is the newest position')
    const fromStreams = [...(await store.readStream(a)), ...(await store.readStream(b))].sort((x, y) => x.position - y.position)
    t.same(fromStreams, all, 'readStream and readAll agree')
  })

  withStore('expected revision: no_stream, any, stream_exists and exact, right and wrong', async (t, { store }) => {
    const streamId = `expected-${suffix()}`
    await expectConcurrencyError(t, store.append(streamId, [event('X')], { expectedRevision: 'stream_exists' }), { streamId, expected: 'stream_exists', actual: -1 })
    await expectConcurrencyError(t, store.append(streamId, [event('X')], { expectedRevision: 0 }), { streamId, expected: 0, actual: -1 })
    t.same(await store.readStream(streamId), [], 'failed appends wrote nothing')

    t.equal((await store.append(streamId, [event('Created')], { expectedRevision: 'no_stream' })).nextRevision, 0)
    await expectConcurrencyError(t, store.append(streamId, [event('X')], { expectedRevision: 'no_stream' }), { streamId, expected: 'no_stream', actual: 0 })
    t.equal((await store.append(streamId, [event('Exists')], { expectedRevision: 'stream_exists' })).nextRevision, 1)
    t.equal((await store.append(streamId, [event('Any')], { expectedRevision: 'any' })).nextRevision, 2)
    t.equal((await store.append(streamId, [event('Exact')], { expectedRevision: 2 })).nextRevision, 3)
    await expectConcurrencyError(t, store.append(streamId, [event('X')], { expectedRevision: 1 }), { streamId, expected: 1, actual: 3 })
    await expectConcurrencyError(t, store.append(streamId, [event('X')], { expectedRevision: 4 }), { streamId, expected: 4, actual: 3 })
    t.same((await store.readStream(streamId)).map((recorded) => recorded.type), ['Created', 'Exists', 'Any', 'Exact'])

    const other = `expected-any-${suffix()}`
    t.equal((await store.append(other, [event('Created')], { expectedRevision: 'any' })).nextRevision, 0, "'any' creates a stream")

    const error = await rejection(store.append(streamId, [event('X')], { expectedRevision: 'no_stream' }))
    t.ok(error instanceof Error, 'ConcurrencyError is an Error')
    t.equal(error instanceof Error ? error.name : undefined, 'ConcurrencyError')
    t.match(error instanceof Error ? error.message : '', streamId, 'the message names the stream')
  })

  withStore('concurrent appends with the same expected revision: exactly one wins', async (t, { store }) => {
    const streamId = `race-${suffix()}`
    const opened = event('Opened')
    await store.append(streamId, [opened], { expectedRevision: 'no_stream' })
    const contenders = Array.from({ length: 20 }, (_, i) => [event('Claimed', { i }), event('Noted', { i })])
    const outcomes = await Promise.allSettled(contenders.map((events) => store.append(streamId, events, { expectedRevision: 0 })))

    const winners = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [{ index, result: outcome.value }] : []))
    t.equal(winners.length, 1, 'exactly one append wins')
    const losers = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []))
    t.equal(losers.length, 19)
    t.ok(
      losers.every((reason) => reason instanceof ConcurrencyError && reason.expected === 0 && reason.actual === 2),
      'every loser gets ConcurrencyError(expected 0, actual 2)',
    )
    const winner = winners[0]
    t.equal(winner?.result.nextRevision, 2)
    const winnerEvents = contenders[winner?.index ?? -1] ?? []
    t.same((await store.readStream(streamId)).map((recorded) => recorded.id), [opened.id, ...winnerEvents.map((sent) => sent.id)], "the stream holds exactly the winner's events")

    const created = `race-create-${suffix()}`
    const creations = Array.from({ length: 20 }, (_, i) => event('Created', { i }))
    const createOutcomes = await Promise.allSettled(creations.map((sent) => store.append(created, [sent], { expectedRevision: 'no_stream' })))
    const createWinners = createOutcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []))
    t.equal(createWinners.length, 1, "exactly one 'no_stream' append creates the stream")
    t.ok(
      createOutcomes.every((outcome) => outcome.status === 'fulfilled' || (outcome.reason instanceof ConcurrencyError && outcome.reason.actual === 0)),
      "the other creations get ConcurrencyError(actual 0)",
    )
    t.same((await store.readStream(created)).map((recorded) => recorded.id), [creations[createWinners[0] ?? -1]?.id])
  })

  withStore('idempotent event ids: an append of known ids is a no-op, only new ids are written', async (t, { store }) => {
    const streamId = `idempotent-${suffix()}`
    const a = event('A')
    const b = event('B')
    const first = await store.append(streamId, [a, b], { expectedRevision: 'no_stream' })
    const head = await store.headPosition()
    const countAll = async (): Promise<number> => (await store.readAll({ streamPrefix: streamId })).length
    t.equal(await countAll(), 2)

    t.same(await store.append(streamId, [a, b], { expectedRevision: 'no_stream' }), first, 'a retried append returns the same result without checking the revision')
    t.same(await store.append(streamId, [b], { expectedRevision: 7 }), first, 'a subset of known ids returns the current revision and position')
    t.equal(await store.headPosition(), head, 'nothing was written')
    t.equal(await countAll(), 2, 'readAll count unchanged')

    const c = event('C')
    const withNew = await store.append(streamId, [b, c], { expectedRevision: 1 })
    t.equal(withNew.nextRevision, 2, 'known ids are skipped, new ones appended')
    const d = event('D')
    await expectConcurrencyError(t, store.append(streamId, [c, d], { expectedRevision: 1 }), { streamId, expected: 1, actual: 2 })
    t.same((await store.readStream(streamId)).map((recorded) => recorded.id), [a.id, b.id, c.id])

    const retried = event('Retried')
    const racing = await Promise.all([
      store.append(`${streamId}-retry`, [retried], { expectedRevision: 'no_stream' }),
      store.append(`${streamId}-retry`, [retried], { expectedRevision: 'no_stream' }),
    ])
    t.same(racing[1], racing[0], 'a retry racing the original gets the same result')
    t.equal((await store.readStream(`${streamId}-retry`)).length, 1, 'and the event is stored once')

    const elsewhere = await store.append(`${streamId}-other`, [a], { expectedRevision: 'no_stream' })
    t.equal(elsewhere.nextRevision, 0, 'ids are unique per stream: the same id in another stream is a new event')
  })

  withStore('readAll: after, maxCount and streamPrefix', async (t, { store }) => {
    const prefix = `readall-${suffix()}`
    const noise = `noise-${suffix()}`
    const head0 = await store.headPosition()
    await store.append(`${prefix}-x-1`, many(3, 'X'), { expectedRevision: 'no_stream' })
    await store.append(noise, [event('Noise')], { expectedRevision: 'no_stream' })
    await store.append(`${prefix}-y-1`, many(2, 'Y'), { expectedRevision: 'no_stream' })
    await store.append(`${prefix}-x-2`, many(1, 'X'), { expectedRevision: 'no_stream' })

    const all = await store.readAll({ after: head0, streamPrefix: prefix })
    t.same(all.map((recorded) => recorded.streamId), [`${prefix}-x-1`, `${prefix}-x-1`, `${prefix}-x-1`, `${prefix}-y-1`, `${prefix}-y-1`, `${prefix}-x-2`])
    const xs = await store.readAll({ after: head0, streamPrefix: `${prefix}-x-` })
    t.same(positions(xs), positions(all.filter((recorded) => recorded.type === 'X')), 'streamPrefix filters by stream id prefix')

    const page1 = await store.readAll({ after: head0, streamPrefix: prefix, maxCount: 4 })
    t.same(page1, all.slice(0, 4), 'maxCount limits the page')
    const page2 = await store.readAll({ after: page1.at(-1)?.position ?? 0, streamPrefix: prefix, maxCount: 4 })
    t.same(page2, all.slice(4), 'after continues strictly after the given position')

    const unfiltered = await store.readAll({ after: head0 })
    const ours = new Set([...all.map((recorded) => recorded.streamId), noise])
    t.same(
      unfiltered.filter((recorded) => ours.has(recorded.streamId)).map((recorded) => recorded.type),
      ['X', 'X', 'X', 'Noise', 'Y', 'Y', 'X'],
      'without a prefix every stream is read, in global order',
    )
    t.same(await store.readAll({ after: head0, maxCount: 0 }), [])
    t.same(await store.readAll({ after: all.at(-1)?.position ?? 0, streamPrefix: prefix }), [])
    t.same(positions(await store.readAll({ streamPrefix: prefix })), positions(all), 'after defaults to the start')
  })

  withStore('subscribeToAll: catch-up then live, from the start and from a checkpoint, no gaps, no duplicates', async (t, { store }) => {
    const prefix = `sub-${suffix()}`
    const streams = [`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]
    const noise = `noise-${suffix()}`
    const head0 = await store.headPosition()
    // 1200 stored events: more than one catch-up page for the adapters we know.
    for (let round = 0; round < 4; round++) {
      for (const streamId of streams) {
        await store.append(streamId, many(100, 'Stored', round * 100), { expectedRevision: round === 0 ? 'no_stream' : round * 100 - 1 })
      }
      await store.append(noise, [event('Noise')], { expectedRevision: 'any' })
    }
    const stored = await store.readAll({ after: head0, streamPrefix: prefix })
    t.equal(stored.length, 1200)
    const checkpoint = stored[599]?.position ?? 0

    const errors: unknown[] = []
    const fromStart: number[] = []
    const fromCheckpoint: number[] = []
    const subscriptionFromStart = store.subscribeToAll({ after: head0, streamPrefix: prefix, onError: (error) => errors.push(error) }, async (recorded) => {
      fromStart.push(recorded.position)
      // Appended while this subscription is still catching up.
      if (fromStart.length === 10) await store.append(streams[0] ?? '', many(5, 'DuringCatchUp'), { expectedRevision: 'any' })
    })
    const subscriptionFromCheckpoint = store.subscribeToAll({ after: checkpoint, streamPrefix: prefix, onError: (error) => errors.push(error) }, (recorded) => {
      fromCheckpoint.push(recorded.position)
    })

    await until(() => fromStart.length >= 1205 && fromCheckpoint.length >= 605, 'catch-up of the stored events')
    // Live: the subscriptions are now waiting for new events.
    await store.append(streams[1] ?? '', many(2, 'Live'), { expectedRevision: 'any' })
    await store.append(noise, [event('Noise')], { expectedRevision: 'any' })
    await store.append(streams[2] ?? '', many(2, 'Live'), { expectedRevision: 'any' })
    await Promise.all([store.append(streams[0] ?? '', many(1, 'Live'), { expectedRevision: 'any' }), store.append(`${prefix}-4`, many(1, 'Live'), { expectedRevision: 'no_stream' })])

    const expected = positions(await store.readAll({ after: head0, streamPrefix: prefix }))
    t.equal(expected.length, 1211)
    const expectedFromCheckpoint = expected.filter((position) => position > checkpoint)
    await until(() => fromStart.length >= expected.length && fromCheckpoint.length >= expectedFromCheckpoint.length, 'live events')

    t.same(fromStart, expected, 'from the start: every event once, in global order')
    t.same(fromCheckpoint, expectedFromCheckpoint, 'from the checkpoint: every later event once, in global order')
    t.equal(subscriptionFromStart.position, expected.at(-1), 'position is the last completed event')
    t.equal(subscriptionFromCheckpoint.position, expected.at(-1))
    t.same(errors, [])
    await subscriptionFromStart.close()
    await subscriptionFromCheckpoint.close()
  })

  withStore('subscription close(): waits for the in-flight handler, then nothing more is delivered', async (t, { store }) => {
    const prefix = `close-${suffix()}`
    const streamId = `${prefix}-1`
    const head0 = await store.headPosition()
    const seen: number[] = []
    const order: string[] = []
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const subscription = store.subscribeToAll({ after: head0, streamPrefix: prefix }, async (recorded) => {
      seen.push(recorded.position)
      order.push('handler started')
      await gate
      order.push('handler done')
    })
    const first = await store.append(streamId, [event('First')], { expectedRevision: 'no_stream' })
    await until(() => order.length === 1, 'the first event to reach the handler')

    const closing = subscription.close().then(() => order.push('closed'))
    await store.append(streamId, [event('Second')], { expectedRevision: 0 })
    await new Promise((resolve) => setImmediate(resolve))
    t.same(order, ['handler started'], 'close() is still waiting for the handler')
    release()
    await closing
    t.same(order, ['handler started', 'handler done', 'closed'], 'close() resolved after the handler completed')
    t.equal(subscription.position, first.position)

    // Another subscription sees every later event; the closed one must have seen none of them.
    const probe: number[] = []
    const probeSubscription = store.subscribeToAll({ after: head0, streamPrefix: prefix }, (recorded) => {
      probe.push(recorded.position)
    })
    await store.append(streamId, [event('Third')], { expectedRevision: 1 })
    await until(() => probe.length === 3, 'the probe subscription to see three events')
    t.same(seen, [first.position], 'the closed subscription received nothing after close()')
    await probeSubscription.close()
  })

  withStore('subscription: a handler error reaches onError and ends the subscription', async (t, { store }) => {
    const prefix = `error-${suffix()}`
    const head0 = await store.headPosition()
    const boom = new Error('handler failed')
    const errors: unknown[] = []
    const seen: number[] = []
    const subscription = store.subscribeToAll({ after: head0, streamPrefix: prefix, onError: (error) => errors.push(error) }, (recorded) => {
      seen.push(recorded.position)
      if (seen.length === 2) throw boom
    })
    await store.append(`${prefix}-1`, many(3, 'E'), { expectedRevision: 'no_stream' })
    await until(() => errors.length > 0, 'onError')
    const stored = positions(await store.readAll({ after: head0, streamPrefix: prefix }))
    t.same(errors, [boom], 'onError got the thrown error, once')
    t.same(seen, stored.slice(0, 2), 'delivery stopped at the failing event')
    t.equal(subscription.position, stored[0], 'position is the last event that completed')

    const probe: number[] = []
    const probeSubscription = store.subscribeToAll({ after: head0, streamPrefix: prefix }, (recorded) => {
      probe.push(recorded.position)
    })
    await store.append(`${prefix}-1`, many(1, 'E'), { expectedRevision: 2 })
    await until(() => probe.length === 4, 'the probe subscription to see four events')
    t.equal(seen.length, 2, 'the failed subscription delivers nothing more')
    t.equal(errors.length, 1)
    await subscription.close()
    await probeSubscription.close()
  })

  withStore('invalid appends reject with a plain Error and write nothing', async (t, { store }) => {
    const streamId = `invalid-${suffix()}`
    const empty = await rejection(store.append(streamId, [], { expectedRevision: 'any' }))
    t.ok(empty instanceof Error && !(empty instanceof ConcurrencyError), 'an append of no events rejects')

    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    const [bad, good] = await Promise.allSettled([
      store.append(streamId, [event('Bad', cyclic)], { expectedRevision: 'any' }),
      store.append(`${streamId}-ok`, [event('Good')], { expectedRevision: 'no_stream' }),
    ])
    t.equal(bad?.status, 'rejected', 'data JSON cannot carry rejects its append')
    t.equal(good?.status, 'fulfilled', 'and only that append')
    t.same(await store.readStream(streamId), [])
  })

  withStore('store close(): ends subscriptions; later calls reject with a clear Error', async (t, { store }) => {
    const prefix = `closed-${suffix()}`
    const subscription = store.subscribeToAll({ streamPrefix: prefix }, () => {})
    await store.append(`${prefix}-1`, [event('Before')], { expectedRevision: 'no_stream' })
    await store.close()
    await subscription.close()
    const appendError = await rejection(store.append(`${prefix}-1`, [event('After')], { expectedRevision: 'any' }))
    t.ok(appendError instanceof Error && !(appendError instanceof ConcurrencyError), 'append rejects with a plain Error')
    t.match(appendError instanceof Error ? appendError.message : '', /closed/)
    const readError = await rejection(store.readStream(`${prefix}-1`))
    t.match(readError instanceof Error ? readError.message : '', /closed/, 'reads reject too')
    await store.close()
    t.pass('close() twice is harmless')
  })

  withStore('durability: data and head survive close and reopen; appends continue', async (t, { store, reopen }) => {
    if (reopen === undefined) {
      t.plan(0, 'the adapter is not durable (no reopen)')
      return
    }
    const prefix = `durable-${suffix()}`
    const streamId = `${prefix}-1`
    const first = event('First')
    const head0 = await store.headPosition()
    await store.append(streamId, [first, event('Second'), event('Third')], { expectedRevision: 'no_stream' })
    await store.append(streamId, many(2, 'More'), { expectedRevision: 2 })
    const head = await store.headPosition()
    const before = await store.readStream(streamId)
    await store.close()

    const reopened = await reopen()
    t.same(await reopened.readStream(streamId), before, 'the stream reads back the same')
    t.equal(await reopened.headPosition(), head, 'the head position survived')
    const next = await reopened.append(streamId, [event('AfterReopen')], { expectedRevision: 4 })
    t.equal(next.nextRevision, 5, 'revisions continue')
    t.ok(next.position > head, 'positions continue after the old head')
    await expectConcurrencyError(t, reopened.append(streamId, [event('Stale')], { expectedRevision: 4 }), { streamId, expected: 4, actual: 5 })
    t.same(await reopened.append(streamId, [first], { expectedRevision: 'no_stream' }), next, 'idempotency survives too')

    const delivered: number[] = []
    const subscription = reopened.subscribeToAll({ after: head0, streamPrefix: prefix }, (recorded) => {
      delivered.push(recorded.position)
    })
    const expected = positions(await reopened.readAll({ after: head0, streamPrefix: prefix }))
    t.equal(expected.length, 6)
    await until(() => delivered.length >= expected.length, 'the reopened store to deliver every event')
    t.same(delivered, expected)
    await subscription.close()
    await reopened.close()
  })
}
