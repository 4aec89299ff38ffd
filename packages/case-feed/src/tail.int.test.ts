// The log tail against real stores: one shared subscription, readers joining behind it, readers
// that refuse events, a store that fails.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import t from 'tap'
import { createMemoryEventStore, openSqliteEventStore, type EventStore, type RecordedEvent, type Subscription, type SubscribeToAllOptions } from '@civic-desk/event-store'
import { createLogTail, type TailItem } from './tail.ts'
import { appendCases, appendMore, silentLogger, tempDir, waitFor } from './testing.ts'

/** Records what a reader got; `refuseEvery` makes it refuse (and resume soon after) every n-th event. */
function recorder(name: string, refuseEvery = 0) {
  const got: TailItem[] = []
  let offered = 0
  let resume: (() => void) | undefined
  return {
    got,
    reader: {
      name,
      receive(item: TailItem) {
        offered++
        if (refuseEvery > 0 && offered % refuseEvery === 0) {
          setImmediate(() => resume?.())
          return false
        }
        got.push(item)
        return true
      },
    },
    setResume(fn: () => void) {
      resume = fn
    },
  }
}

const positions = (items: readonly TailItem[]): number[] => items.map((i) => i.position)
const oneToN = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1)

t.test('readers at different positions each get every later event exactly once, in order; behind the tail they catch up alone', async (t) => {
  const store = createMemoryEventStore()
  await appendCases(store, 20, 2) // 40 case events + 2 others
  const tail = createLogTail({ store, logger: silentLogger })
  t.teardown(() => tail.close())
  const fromStart = recorder('from-start')
  const fromTen = recorder('from-ten')
  tail.follow(fromStart.reader, 0)
  tail.follow(fromTen.reader, 10)
  const ids = await appendCases(store, 5, 1)
  await appendMore(store, ids, 2)
  const head = await store.headPosition()
  await waitFor(() => fromStart.got.length === head && fromTen.got.length === head - 10, 5000, 'both readers at the head')
  t.same(positions(fromStart.got), oneToN(head), 'every position once, in order')
  t.same(positions(fromTen.got), oneToN(head).slice(10))
  t.ok(fromStart.got.some((i) => i.caseId === null), 'events of other streams come too (positions cover the whole log)')
  t.equal(tail.position, head)
})

t.test('one decode per event for all live readers', async (t) => {
  const store = createMemoryEventStore()
  const tail = createLogTail({ store, logger: silentLogger })
  t.teardown(() => tail.close())
  const a = recorder('a')
  const b = recorder('b')
  tail.follow(a.reader, 0)
  tail.follow(b.reader, 0)
  await waitFor(() => tail.position === 0, 1000, 'started')
  await new Promise((resolve) => setTimeout(resolve, 20))
  await appendCases(store, 3, 1)
  await waitFor(() => a.got.length === 4 && b.got.length === 4, 5000, 'both got the new events')
  const caseItems = a.got.filter((i) => i.caseId !== null)
  for (const item of caseItems) t.equal(b.got.find((x) => x.position === item.position), item, `position ${item.position}: the same item object`)
  t.equal(caseItems[0]!.decode(), caseItems[0]!.decode(), 'decoded once, the same event after')
})

t.test('a reader that refuses events drops out, resumes from where it stopped, and misses nothing; the others do not wait', async (t) => {
  const store = createMemoryEventStore()
  const tail = createLogTail({ store, logger: silentLogger })
  t.teardown(() => tail.close())
  const steady = recorder('steady')
  const choosy = recorder('choosy', 7)
  tail.follow(steady.reader, 0)
  const membership = tail.follow(choosy.reader, 0)
  choosy.setResume(() => membership.resume())
  const ids = await appendCases(store, 30, 1)
  await appendMore(store, ids, 3)
  const head = await store.headPosition()
  await waitFor(() => steady.got.length === head && choosy.got.length === head, 5000, 'both at the head')
  t.same(positions(choosy.got), oneToN(head), 'refused events come again, none twice')
  t.same(positions(steady.got), oneToN(head))
})

t.test('on a file store: appends by another process reach the readers through the poll', async (t) => {
  const file = join(tempDir(t), 'events.sqlite')
  const reader = openSqliteEventStore({ file, pollIntervalMs: 10 })
  const writer = openSqliteEventStore({ file, pollIntervalMs: 10 })
  const tail = createLogTail({ store: reader, logger: silentLogger })
  t.teardown(async () => {
    await tail.close()
    await reader.close()
    await writer.close()
  })
  const r = recorder('r')
  tail.follow(r.reader, 0)
  await appendCases(writer, 10, 2)
  const head = await writer.headPosition()
  await waitFor(() => r.got.length === head, 5000, 'all events from the other connection')
  t.same(positions(r.got), oneToN(head))
})

t.test('the shared subscription comes back after the store failed; nothing lost or repeated', async (t) => {
  const inner = createMemoryEventStore()
  let failNext = 2
  // A store whose subscriptions fail twice soon after they start.
  const store: EventStore = {
    ...inner,
    append: inner.append.bind(inner),
    readStream: inner.readStream.bind(inner),
    readAll: inner.readAll.bind(inner),
    headPosition: inner.headPosition.bind(inner),
    close: inner.close.bind(inner),
    subscribeToAll(options: SubscribeToAllOptions, handler: (event: RecordedEvent) => Promise<void> | void): Subscription {
      const doomed = failNext > 0
      if (doomed) failNext--
      return inner.subscribeToAll(options, (event) => {
        if (doomed) throw new Error('disk went away')
        return handler(event)
      })
    },
  }
  const tail = createLogTail({ store, logger: silentLogger })
  t.teardown(() => tail.close())
  const errors: string[] = []
  const r = recorder('r')
  tail.follow({ ...r.reader, onStoreError: (e) => void errors.push(e.message) }, 0)
  await waitFor(() => tail.position === 0, 1000, 'started')
  await new Promise((resolve) => setTimeout(resolve, 20))
  for (let i = 0; i < 5; i++) await appendCases(store, 2, 1)
  const head = await store.headPosition()
  await waitFor(() => r.got.length === head, 5000, 'every event despite the failures')
  t.same(positions(r.got), oneToN(head))
  t.ok(errors.length >= 1, `the reader heard of the failures (${errors.length})`)
})

t.test('closing a reader stops its events; closing the tail stops everything', async (t) => {
  const store = createMemoryEventStore()
  const tail = createLogTail({ store, logger: silentLogger })
  const r = recorder(`r-${randomUUID()}`)
  const membership = tail.follow(r.reader, 0)
  await appendCases(store, 2, 1)
  await waitFor(() => r.got.length === 3, 2000, 'first events')
  await membership.close()
  await appendCases(store, 2, 1)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(r.got.length, 3, 'nothing after close')
  await tail.close()
  t.throws(() => tail.follow(r.reader, 0), /closed/)
})
