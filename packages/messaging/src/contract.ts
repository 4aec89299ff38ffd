/**
 * The behaviour every Bus adapter must show, as a tap suite. An adapter's test file calls
 * `busContract(t, makeBus)`; each subtest gets its own bus from `makeBus` and uses fresh topic
 * and group names, so the suite also runs against a shared Kafka cluster. The dead-letter
 * topic is shared by nature: subtests read it from its end and filter on their own topic.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { z } from 'zod'
import { currentTrace, runInTrace, type TraceContext } from '@civic-desk/tracing'
import { DeadLetterRecord, NonRetriableError, TOPICS, type Bus, type BusMessage, type BusSubscription } from './port.ts'

export interface BusFixture {
  readonly bus: Bus
  /**
   * Writes value text unchecked (not JSON-serialised), as a foreign producer could; lets the
   * suite check poison messages. Kafka fixtures implement it with a plain producer.
   */
  readonly publishRaw: (topic: string, messages: readonly { readonly key: string; readonly value: string }[]) => Promise<void>
  /** Closes the bus and anything else the fixture opened. */
  readonly cleanup: () => Promise<void>
}

const suffix = (): string => randomUUID().slice(0, 8)

/** Waits until `predicate` holds, failing after a deadline; never a blind sleep. */
export async function waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Lets pending timers and I/O callbacks run a few rounds: gives a wrong implementation the chance to misbehave. */
const settle = async (rounds = 20): Promise<void> => {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve))
}

/** A promise to resolve from outside: holds a handler in flight. */
function gate(): { readonly promise: Promise<void>; readonly open: () => void } {
  let open = (): void => undefined
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

const Numbered = z.strictObject({ key: z.string(), n: z.number().int() })
type Numbered = z.infer<typeof Numbered>

/** Registers the Bus contract suite on `t`; `makeBus` is called once per subtest. */
export function busContract(t: Test, makeBus: () => Promise<BusFixture>): void {
  const withBus = (name: string, body: (t: Test, fixture: BusFixture, names: { topic: string; group: (name: string) => string }) => Promise<void>): void => {
    void t.test(name, async (t) => {
      const fixture = await makeBus()
      t.teardown(() => fixture.cleanup())
      const id = suffix()
      await body(t, fixture, { topic: `contract.${id}`, group: (name) => `${name}-${id}` })
    })
  }

  /** Subscribes to the dead-letter topic from its end; returns the records about `topic`. */
  const collectDeadLetters = async (bus: Bus, topic: string, groupId: string): Promise<DeadLetterRecord[]> => {
    const records: DeadLetterRecord[] = []
    await bus.subscribe({
      topic: TOPICS.deadLetter,
      groupId,
      schema: DeadLetterRecord,
      handler: async ({ value }) => {
        if (value.source.topic === topic) records.push(value)
      },
    })
    return records
  }

  withBus('publish then subscribe: key, value, headers, coordinates; values travel as JSON', async (t, { bus }, { topic, group }) => {
    const received: BusMessage[] = []
    await bus.subscribe({ topic, groupId: group('g'), fromBeginning: true, handler: async (message) => void received.push(message) })
    const value = { title: 'Çukur — Kadıköy', tags: ['yol', 'acil'], n: 1.5, ok: true, none: null, at: new Date('2025-01-02T03:04:05.000Z'), skipped: undefined }
    const before = Date.now()
    await bus.publish(topic, [{ key: 'case-1', value, headers: { correlationId: 'c-1' } }, { key: 'case-1', value: 'plain text' }])
    value.tags.push('mutated after publish')
    value.n = 99

    await waitFor(() => received.length === 2, 10_000, 'two messages')
    const [first, second] = received
    t.same(first?.value, { title: 'Çukur — Kadıköy', tags: ['yol', 'acil'], n: 1.5, ok: true, none: null, at: '2025-01-02T03:04:05.000Z' }, 'the JSON form of the value, as it was at publish time')
    t.equal(second?.value, 'plain text')
    t.same(first?.headers, { correlationId: 'c-1' })
    t.same(second?.headers, {}, 'headers is an empty object when none were sent')
    t.same(received.map((message) => [message.topic, message.key]), [[topic, 'case-1'], [topic, 'case-1']])
    t.equal(first?.partition, second?.partition, 'same key, same partition')
    t.ok(Number.isInteger(first?.partition) && (first?.partition ?? -1) >= 0, 'partition is a non-negative integer')
    t.match(first?.offset, /^\d+$/, 'offset is a decimal string')
    t.equal(BigInt(second?.offset ?? '0'), BigInt(first?.offset ?? '0') + 1n, 'consecutive offsets in one partition')
    const stamp = new Date(first?.timestamp ?? '')
    t.equal(stamp.toISOString(), first?.timestamp, 'timestamp is ISO-8601 UTC')
    t.ok(stamp.getTime() >= before - 1_000 && stamp.getTime() <= Date.now() + 1_000, 'timestamp is the publish time')
  })

  withBus('publish rejects a batch with a value that is not JSON, publishing none of it', async (t, { bus }, { topic, group }) => {
    const received: unknown[] = []
    await bus.subscribe({ topic, groupId: group('g'), fromBeginning: true, handler: async ({ value }) => void received.push(value) })
    await t.rejects(bus.publish(topic, [{ key: 'k', value: 'fine' }, { key: 'k', value: undefined }]), TypeError)
    await t.rejects(bus.publish(topic, [{ key: 'k', value: { big: 1n } }]), TypeError)
    await bus.publish(topic, [{ key: 'k', value: 'after' }])
    await waitFor(() => received.length >= 1, 10_000, 'the valid message')
    await settle()
    t.same(received, ['after'], 'nothing of the rejected batches was delivered')
  })

  withBus('delivery never happens inside publish', async (t, { bus }, { topic, group }) => {
    let delivered = 0
    await bus.subscribe({ topic, groupId: group('g'), fromBeginning: true, handler: async () => void delivered++ })
    const publishing = bus.publish(topic, [{ key: 'k', value: 1 }])
    t.equal(delivered, 0, 'not delivered synchronously')
    await publishing
    await waitFor(() => delivered === 1, 10_000, 'delivery')
    t.equal(delivered, 1)
  })

  withBus('per-key order: many keys interleaved over several batches, each key in publish order', async (t, { bus }, { topic, group }) => {
    const keys = Array.from({ length: 20 }, (_, index) => `case-${index}`)
    const perKey = 25
    const seen = new Map<string, number[]>()
    const partitionOf = new Map<string, Set<number>>()
    const lastOffset = new Map<number, bigint>()
    let offsetsIncrease = true
    let total = 0
    await bus.subscribe({
      topic,
      groupId: group('g'),
      fromBeginning: true,
      schema: Numbered,
      handler: async (message) => {
        const { key, n } = message.value
        seen.set(key, [...(seen.get(key) ?? []), n])
        partitionOf.set(key, (partitionOf.get(key) ?? new Set()).add(message.partition))
        const offset = BigInt(message.offset)
        if ((lastOffset.get(message.partition) ?? -1n) >= offset) offsetsIncrease = false
        lastOffset.set(message.partition, offset)
        // Yield so a wrong adapter would get the chance to run two messages of one key at once.
        if (n % 3 === 0) await settle(2)
        total++
      },
    })
    for (let batch = 0; batch < 5; batch++) {
      const messages: { key: string; value: Numbered }[] = []
      for (let n = batch * 5; n < (batch + 1) * 5; n++) for (const key of keys) messages.push({ key, value: { key, n } })
      await bus.publish(topic, messages)
    }
    await waitFor(() => total === keys.length * perKey, 20_000, 'every message')
    const expected = Array.from({ length: perKey }, (_, index) => index)
    t.same(keys.filter((key) => JSON.stringify(seen.get(key)) !== JSON.stringify(expected)), [], 'every key saw 0..24 in order')
    t.same(keys.filter((key) => partitionOf.get(key)?.size !== 1), [], 'every key stayed on one partition')
    t.ok(offsetsIncrease, 'offsets increase within each partition')
    t.ok(new Set([...partitionOf.values()].flatMap((set) => [...set])).size > 1, 'twenty keys spread over more than one partition')
  })

  withBus('every consumer group gets every message', async (t, { bus }, { topic, group }) => {
    const byGroup = { a: [] as number[], b: [] as number[] }
    for (const name of ['a', 'b'] as const) {
      await bus.subscribe({ topic, groupId: group(name), fromBeginning: true, schema: Numbered, handler: async ({ value }) => void byGroup[name].push(value.n) })
    }
    await bus.publish(topic, Array.from({ length: 30 }, (_, n) => ({ key: `k${n % 7}`, value: { key: `k${n % 7}`, n } })))
    await waitFor(() => byGroup.a.length === 30 && byGroup.b.length === 30, 10_000, 'both groups')
    const all = Array.from({ length: 30 }, (_, n) => n)
    t.same([...byGroup.a].sort((x, y) => x - y), all, 'group a got each message once')
    t.same([...byGroup.b].sort((x, y) => x - y), all, 'group b got each message once')
  })

  withBus('subscribers of one group share the partitions: each message handled once, by one of them', async (t, { bus }, { topic, group }) => {
    const handled = { first: [] as number[], second: [] as number[] }
    const groupId = group('shared')
    for (const name of ['first', 'second'] as const) {
      await bus.subscribe({ topic, groupId, fromBeginning: true, schema: Numbered, handler: async ({ value }) => void handled[name].push(value.n) })
    }
    await bus.publish(topic, Array.from({ length: 60 }, (_, n) => ({ key: `case-${n}`, value: { key: `case-${n}`, n } })))
    await waitFor(() => handled.first.length + handled.second.length >= 60, 10_000, 'all messages')
    await settle()
    t.same([...handled.first, ...handled.second].sort((x, y) => x - y), Array.from({ length: 60 }, (_, n) => n), 'each message exactly once across the group')
    t.ok(handled.first.length > 0 && handled.second.length > 0, `both subscribers got work (${handled.first.length}/${handled.second.length})`)
  })

  withBus('a new group starts at the end, or at the beginning with fromBeginning', async (t, { bus }, { topic, group }) => {
    await bus.publish(topic, [{ key: 'k', value: 'old' }])
    const fromEnd: unknown[] = []
    const fromStart: unknown[] = []
    await bus.subscribe({ topic, groupId: group('end'), handler: async ({ value }) => void fromEnd.push(value) })
    await bus.subscribe({ topic, groupId: group('start'), fromBeginning: true, handler: async ({ value }) => void fromStart.push(value) })
    await bus.publish(topic, [{ key: 'k', value: 'new' }])
    await waitFor(() => fromEnd.length >= 1 && fromStart.length >= 2, 10_000, 'both groups')
    await settle()
    t.same(fromEnd, ['new'])
    t.same(fromStart, ['old', 'new'])
  })

  withBus("fromBeginning 'always': each subscribe of the group (without members) reads everything retained again, under the same group id", async (t, { bus }, { topic, group }) => {
    const groupId = group('in-memory')
    await bus.publish(topic, [{ key: 'a', value: 1 }, { key: 'b', value: 2 }])
    const read = async (fromBeginning: boolean | 'always', expected: number): Promise<number[]> => {
      const values: number[] = []
      const subscription = await bus.subscribe({ topic, groupId, fromBeginning, handler: async ({ value }) => void values.push(value as number) })
      await waitFor(() => values.length >= expected, 20_000, `${expected} messages`)
      await settle()
      await subscription.close()
      return values.sort()
    }
    t.same(await read('always', 2), [1, 2], 'a new group: from the beginning')
    await bus.publish(topic, [{ key: 'c', value: 3 }])
    t.same(await read('always', 3), [1, 2, 3], 'the same group again: everything again, not only what came after its commits')
    await bus.publish(topic, [{ key: 'd', value: 4 }])
    t.same(await read(true, 1), [4], 'without it, the group continues after its commits')
  })

  withBus('the offset advances only after success: two failures, three deliveries, then the next message', async (t, { bus }, { topic, group }) => {
    const log: string[] = []
    let failuresLeft = 2
    await bus.subscribe({
      topic,
      groupId: group('g'),
      fromBeginning: true,
      retryBackoffMs: 1,
      handler: async ({ value }) => {
        log.push(String(value))
        if (value === 'm0' && failuresLeft-- > 0) throw new Error('database unavailable')
      },
    })
    await bus.publish(topic, [{ key: 'case-1', value: 'm0' }, { key: 'case-1', value: 'm1' }])
    await waitFor(() => log.includes('m1'), 10_000, 'm1')
    await settle()
    t.same(log, ['m0', 'm0', 'm0', 'm1'])
  })

  withBus('a message that is not JSON or fails the schema is dead-lettered and the consumer goes on', async (t, { bus, publishRaw }, { topic, group }) => {
    const deadLetters = await collectDeadLetters(bus, topic, group('dlq'))
    const handled: Numbered[] = []
    const groupId = group('g')
    await bus.subscribe({ topic, groupId, fromBeginning: true, schema: Numbered, handler: async ({ value }) => void handled.push(value) })
    await bus.publish(topic, [{ key: 'case-1', value: { key: 'case-1', n: 0 } }])
    await publishRaw(topic, [{ key: 'case-1', value: '{"key": "case-1", "n": ' }])
    await bus.publish(topic, [
      { key: 'case-1', value: { key: 'case-1', n: 'two' } },
      { key: 'case-1', value: { key: 'case-1', n: 3 } },
    ])
    await waitFor(() => handled.length === 2 && deadLetters.length === 2, 10_000, 'two handled, two dead letters')
    t.same(handled, [{ key: 'case-1', n: 0 }, { key: 'case-1', n: 3 }], 'the handler only saw the valid messages, in order')

    const [poison, invalid] = deadLetters
    t.match(poison, { error: { kind: 'invalid', message: /JSON/ }, source: { topic, key: 'case-1', groupId }, attempts: 0, rawValue: '{"key": "case-1", "n": ' })
    t.notOk(poison !== undefined && 'value' in poison, 'no parsed value for text that is not JSON')
    t.match(invalid, { error: { kind: 'invalid', message: /n/ }, source: { topic, key: 'case-1', groupId }, attempts: 0, value: { key: 'case-1', n: 'two' } })
    t.equal(poison?.source.partition, invalid?.source.partition, 'source partition recorded')
    t.equal(BigInt(invalid?.source.offset ?? '0'), BigInt(poison?.source.offset ?? '0') + 1n, 'source offsets recorded')
    for (const record of deadLetters) t.ok(DeadLetterRecord.safeParse(record).success, 'a valid DeadLetterRecord')
  })

  withBus('a handler that keeps throwing is dead-lettered after maxAttempts, then the next message is handled', async (t, { bus }, { topic, group }) => {
    const deadLetters = await collectDeadLetters(bus, topic, group('dlq'))
    const calls: unknown[] = []
    const groupId = group('g')
    await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      maxAttempts: 3,
      retryBackoffMs: 1,
      handler: async ({ value }) => {
        calls.push(value)
        if (value === 'bad') throw new Error('boom')
      },
    })
    await bus.publish(topic, [{ key: 'case-1', value: 'bad', headers: { correlationId: 'c-9' } }, { key: 'case-1', value: 'good' }])
    await waitFor(() => calls.includes('good') && deadLetters.length === 1, 10_000, 'dead letter and next message')
    t.same(calls, ['bad', 'bad', 'bad', 'good'], 'three attempts, then on')
    t.match(deadLetters[0], { error: { kind: 'failed', message: /boom/ }, source: { topic, key: 'case-1', groupId, offset: /^\d+$/ }, attempts: 3, value: 'bad' })
  })

  withBus('NonRetriableError dead-letters at once', async (t, { bus }, { topic, group }) => {
    const deadLetters = await collectDeadLetters(bus, topic, group('dlq'))
    const calls: unknown[] = []
    await bus.subscribe({
      topic,
      groupId: group('g'),
      fromBeginning: true,
      retryBackoffMs: 1,
      handler: async ({ value }) => {
        calls.push(value)
        if (value === 'hopeless') throw new NonRetriableError('case does not exist')
      },
    })
    await bus.publish(topic, [{ key: 'case-1', value: 'hopeless' }, { key: 'case-1', value: 'next' }])
    await waitFor(() => calls.includes('next') && deadLetters.length === 1, 10_000, 'dead letter and next message')
    t.same(calls, ['hopeless', 'next'], 'one call only')
    t.match(deadLetters[0], { error: { kind: 'failed', message: /case does not exist/ }, attempts: 1, value: 'hopeless' })
  })

  withBus('close() waits for the handler in flight and commits it; the group then continues after it', async (t, { bus }, { topic, group }) => {
    const groupId = group('g')
    const order: string[] = []
    const hold = gate()
    const first = await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      handler: async ({ value }) => {
        order.push(`start ${String(value)}`)
        if (value === 'm0') await hold.promise
        order.push(`end ${String(value)}`)
      },
    })
    await bus.publish(topic, [{ key: 'case-1', value: 'm0' }, { key: 'case-1', value: 'm1' }])
    await waitFor(() => order.includes('start m0'), 10_000, 'm0 in flight')
    const closing = first.close().then(() => void order.push('closed'))
    await settle()
    hold.open()
    await closing
    t.same(order, ['start m0', 'end m0', 'closed'], 'close resolved after the handler, and m1 was not started')

    const second: unknown[] = []
    await bus.subscribe({ topic, groupId, fromBeginning: true, handler: async ({ value }) => void second.push(value) })
    await waitFor(() => second.length >= 1, 10_000, 'm1 for the new subscriber')
    await settle()
    t.same(second, ['m1'], 'm0 was committed before close resolved')
  })

  withBus('resubscribing after close continues after the last committed offset and redelivers the uncommitted one', async (t, { bus }, { topic, group }) => {
    const groupId = group('g')
    const firstSeen: unknown[] = []
    const hold = gate()
    const first = await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      retryBackoffMs: 1,
      handler: async ({ value }) => {
        firstSeen.push(value)
        if (value === 'm2') {
          await hold.promise
          throw new Error('failed while closing')
        }
      },
    })
    await bus.publish(topic, ['m0', 'm1', 'm2', 'm3'].map((value) => ({ key: 'case-1', value })))
    await waitFor(() => firstSeen.includes('m2'), 10_000, 'm2 in flight')
    const closing = first.close()
    await settle()
    hold.open()
    await closing
    t.same(firstSeen, ['m0', 'm1', 'm2'], 'no retry and no further message once closing')

    const secondSeen: unknown[] = []
    const second = await bus.subscribe({ topic, groupId, fromBeginning: true, handler: async ({ value }) => void secondSeen.push(value) })
    await waitFor(() => secondSeen.includes('m3'), 10_000, 'm3')
    t.same(secondSeen, ['m2', 'm3'], 'committed m0, m1 not redelivered; failed m2 redelivered')
    await second.close()
  })

  withBus('close() during a retry back-off does not wait for the back-off; the message stays uncommitted', async (t, { bus }, { topic, group }) => {
    const groupId = group('g')
    let calls = 0
    const first = await bus.subscribe({
      topic,
      groupId,
      fromBeginning: true,
      retryBackoffMs: 60_000,
      handler: async () => {
        calls++
        throw new Error('down')
      },
    })
    await bus.publish(topic, [{ key: 'case-1', value: 'm0' }])
    await waitFor(() => calls === 1, 10_000, 'first attempt')
    let closed = false
    void first.close().then(() => {
      closed = true
    })
    await waitFor(() => closed, 5_000, 'close during back-off')
    t.equal(calls, 1)

    const again: unknown[] = []
    await bus.subscribe({ topic, groupId, handler: async ({ value }) => void again.push(value) })
    await waitFor(() => again.length === 1, 10_000, 'redelivery')
    t.same(again, ['m0'])
  })

  withBus('trace context: published inside a trace, a message carries its traceparent; the handler runs in a child span of it, a dead letter keeps it', async (t, { bus, publishRaw }, { topic, group }) => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const seen: Array<{ readonly header: string | undefined; readonly current: TraceContext | undefined }> = []
    await bus.subscribe({
      topic,
      groupId: group('g'),
      fromBeginning: true,
      maxAttempts: 1,
      handler: async (message) => {
        seen.push({ header: message.headers['traceparent'], current: currentTrace() })
        if (message.value === 'poison') throw new NonRetriableError('refused')
      },
    })
    const deadLetters = await collectDeadLetters(bus, topic, group('dead'))
    const deadHeaders: Array<Readonly<Record<string, string>>> = []
    await bus.subscribe({ topic: TOPICS.deadLetter, groupId: group('dead-headers'), handler: async (m) => void ((m.value as { source?: { topic?: string } }).source?.topic === topic && deadHeaders.push(m.headers)) })
    await runInTrace({ traceId, spanId: '00f067aa0ba902b7', sampled: true, tracestate: 'v=1' }, () => bus.publish(topic, [{ key: 'k', value: 'traced' }, { key: 'k', value: 'poison' }]))
    await bus.publish(topic, [{ key: 'k', value: 'untraced' }])
    await publishRaw(topic, [{ key: 'k', value: '"own"' }])
    await waitFor(() => seen.length === 4 && deadLetters.length === 1 && deadHeaders.length === 1, 20_000, 'four messages and a dead letter')
    const [traced, poison, untraced, own] = seen
    t.match(traced?.header, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), 'the header names the trace')
    t.equal(traced?.current?.traceId, traceId, 'the handler runs in the trace')
    t.not(traced?.current?.spanId, traced?.header?.slice(36, 52), 'in a span of its own, a child of the message')
    t.equal(traced?.current?.tracestate, 'v=1', 'tracestate travels along')
    t.equal(poison?.header, traced?.header)
    t.equal(deadHeaders[0]?.['traceparent'], traced?.header, 'the dead letter keeps the trace')
    t.equal(untraced?.header, undefined, 'published outside a trace: no header')
    t.match(untraced?.current?.traceId, /^[0-9a-f]{32}$/, 'its handler starts a new trace')
    t.not(untraced?.current?.traceId, traceId)
    t.not(own?.current?.traceId, untraced?.current?.traceId, 'each untraced message its own trace')
  })

  withBus('bus.close() closes subscriptions; publish and subscribe reject afterwards', async (t, { bus }, { topic, group }) => {
    const subscription: BusSubscription = await bus.subscribe({ topic, groupId: group('g'), handler: async () => undefined })
    await bus.close()
    await subscription.close()
    await t.rejects(bus.publish(topic, [{ key: 'k', value: 1 }]))
    await t.rejects(bus.subscribe({ topic, groupId: group('h'), handler: async () => undefined }))
    await bus.close()
  })
}
