import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { ConcurrencyError, eventStoreContract, openSqliteEventStore, openSqliteLogReader, type EventStore } from './index.ts'

const POLL_MS = 20

function freshDirectory(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'civic-desk-event-store-'))
  // The file sits in a sub-folder that does not exist yet: the store must create it.
  return { dir, file: join(dir, 'data', 'events.sqlite') }
}

/** A fresh temp folder for this test, removed (after the stores close) when it ends. */
function tempFile(t: Test, stores: EventStore[]): string {
  const { dir, file } = freshDirectory()
  t.teardown(async () => {
    for (const store of stores) await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return file
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const event = (type: string, data: unknown = {}) => ({ id: randomUUID(), type, data })

void t.test('contract', async (t) => {
  eventStoreContract(t, async () => {
    const { dir, file } = freshDirectory()
    const opened: EventStore[] = []
    const open = (): EventStore => {
      const store = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
      opened.push(store)
      return store
    }
    return {
      store: open(),
      reopen: async () => open(),
      cleanup: async () => {
        for (const store of opened) await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  })
})

void t.test('two store instances on one file (two processes): B sees A through polling', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const a = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  stores.push(a)
  t.ok(existsSync(file), 'the missing parent folder was created')
  const b = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  stores.push(b)

  const everything: number[] = []
  const errors: unknown[] = []
  const subscription = b.subscribeToAll({ onError: (error) => errors.push(error) }, (recorded) => {
    everything.push(recorded.position)
  })
  const first = await a.append('case-1', [event('Opened'), event('Noted')], { expectedRevision: 'no_stream' })
  await until(() => everything.length === 2, 'B to receive the events A appended')
  t.same(everything, [first.position - 1, first.position])

  // Writes interleave through the file: B sees A's stream and its revision.
  await t.rejects(b.append('case-1', [event('Opened')], { expectedRevision: 'no_stream' }), ConcurrencyError)
  const fromB = await b.append('case-1', [event('Closed')], { expectedRevision: 1 })
  t.equal(fromB.nextRevision, 2)
  t.ok(fromB.position > first.position)
  const fromA = await a.append('case-2', [event('Opened')], { expectedRevision: 'no_stream' })
  t.ok(fromA.position > fromB.position, 'positions stay global across instances')
  t.same((await a.readStream('case-1')).map((recorded) => recorded.type), ['Opened', 'Noted', 'Closed'])

  await until(() => everything.length === 4, 'B to receive its own and A’s later events')
  t.same(everything, [first.position - 1, first.position, fromB.position, fromA.position])
  t.equal(await a.headPosition(), fromA.position)
  t.equal(await b.headPosition(), fromA.position)
  t.same(errors, [])
  await subscription.close()
})

void t.test('instances naming one wake channel (threads of one process) see each other’s appends at once, not at the next poll', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const wakeChannel = `civic-test-${randomUUID()}`
  // A poll so slow that only the wake-up can deliver within the test.
  const writer = openSqliteEventStore({ file, pollIntervalMs: 600_000, wakeChannel })
  const woken = openSqliteEventStore({ file, pollIntervalMs: 600_000, wakeChannel })
  const unwoken = openSqliteEventStore({ file, pollIntervalMs: 600_000 })
  stores.push(writer, woken, unwoken)
  const seenByWoken: number[] = []
  const seenByUnwoken: number[] = []
  const subscriptions = [woken.subscribeToAll({}, (e) => void seenByWoken.push(e.position)), unwoken.subscribeToAll({}, (e) => void seenByUnwoken.push(e.position))]
  t.teardown(() => Promise.all(subscriptions.map((s) => s.close())))
  // Let both finish their first (empty) read and go idle.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const appended = await writer.append('case-1', [event('Opened')], { expectedRevision: 'no_stream' })
  await until(() => seenByWoken.length === 1, 'the instance on the wake channel to receive the append', 3_000)
  t.same(seenByWoken, [appended.position])
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(seenByUnwoken, [], 'an instance without the channel waits for its poll (the control)')
})

void t.test('subscribers following the head while two instances interleave appends: every event once, in order, same content as the file', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const a = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  const b = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  stores.push(a, b)
  const seen: Array<{ position: number; type: string; data: unknown }> = []
  const subscription = a.subscribeToAll({}, (recorded) => {
    seen.push({ position: recorded.position, type: recorded.type, data: recorded.data })
  })
  // Runs of A's own appends (served from its in-memory tail) broken by B's (a gap in that tail).
  for (let round = 0; round < 30; round++) {
    const writer = round % 3 === 2 ? b : a
    await Promise.all([0, 1, 2].map((i) => writer.append(`case-${round}-${i}`, [event('Opened', { round, i }), event('Noted', { n: [round] })], { expectedRevision: 'no_stream' })))
  }
  const head = await a.headPosition()
  await until(() => seen.length === head, `A's subscriber to reach ${head}`)
  t.same(
    seen.map((e) => e.position),
    Array.from({ length: head }, (_, i) => i + 1),
    'positions 1..head, none twice, none skipped',
  )
  const stored = await a.readAll()
  t.same(seen, stored.map((e) => ({ position: e.position, type: e.type, data: e.data })), 'what subscribers got is what the file holds')
  const shared = seen.find((e) => e.type === 'Noted')?.data as { n: number[] }
  t.ok(Object.isFrozen(shared) && Object.isFrozen(shared.n), 'events shared from the tail are frozen all the way down')
  await subscription.close()
})

void t.test('group commit: concurrent appends share one transaction and keep queue order', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const batches: { appends: number; events: number }[] = []
  const store = openSqliteEventStore({ file, onBatchCommitted: ({ appends, events }) => batches.push({ appends, events }) })
  stores.push(store)

  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(`group-${i}`, [event('Opened', { i })], { expectedRevision: 'no_stream' })))
  t.same(batches, [{ appends: 100, events: 100 }], 'one flush carried all 100 appends')
  t.same(
    results.map((result) => result.position),
    Array.from({ length: 100 }, (_, i) => i + 1),
    '100 distinct positions, increasing in call order',
  )
  t.ok(results.every((result) => result.nextRevision === 0))

  // In one batch, later appends see earlier ones: a conflict fails only itself.
  batches.length = 0
  const [created, duplicate, next, other] = await Promise.allSettled([
    store.append('mixed', [event('Opened')], { expectedRevision: 'no_stream' }),
    store.append('mixed', [event('Opened')], { expectedRevision: 'no_stream' }),
    store.append('mixed', [event('Noted')], { expectedRevision: 0 }),
    store.append('mixed-other', [event('Opened')], { expectedRevision: 'no_stream' }),
  ])
  t.same(batches.map((batch) => batch.appends), [4])
  t.equal(created?.status, 'fulfilled')
  t.ok(duplicate?.status === 'rejected' && duplicate.reason instanceof ConcurrencyError && duplicate.reason.actual === 0, 'the second no_stream append fails alone')
  t.ok(next?.status === 'fulfilled' && next.value.nextRevision === 1, 'an append expecting the first one in the same batch succeeds')
  t.equal(other?.status, 'fulfilled')
  t.same((await store.readStream('mixed')).map((recorded) => recorded.type), ['Opened', 'Noted'])
})

void t.test('a committed append survives a fresh open, including events appended right before close', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const store = openSqliteEventStore({ file })
  stores.push(store)
  // Not awaited: close() must still commit what was accepted before it.
  const pending = store.append('late', [event('Opened')], { expectedRevision: 'no_stream' })
  await store.close()
  t.equal((await pending).nextRevision, 0)
  const reopened = openSqliteEventStore({ file })
  stores.push(reopened)
  t.same((await reopened.readStream('late')).map((recorded) => recorded.type), ['Opened'])
})

void t.test('invalid options fail fast with a message', async (t) => {
  const { dir, file } = freshDirectory()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.throws(() => openSqliteEventStore({ file, pollIntervalMs: 0 }), /pollIntervalMs/)
  const plainFile = join(dir, 'plain-file')
  writeFileSync(plainFile, 'not a folder')
  t.throws(() => openSqliteEventStore({ file: join(plainFile, 'events.sqlite') }), /cannot create the folder/)

  // better-sqlite3's own error class must not escape: callers get a plain Error.
  const notADatabase = join(dir, 'garbage.sqlite')
  writeFileSync(notADatabase, 'x'.repeat(4096))
  let error: unknown
  try {
    openSqliteEventStore({ file: notADatabase })
  } catch (caught) {
    error = caught
  }
  t.equal(error instanceof Error ? Object.getPrototypeOf(error) : undefined, Error.prototype, 'a plain Error')
  t.match(error instanceof Error ? error.message : '', /SQLITE_NOTADB/)
})

void t.test('another process holding the write lock: appends wait without blocking the event loop, then commit in order', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const store = openSqliteEventStore({ file, pollIntervalMs: POLL_MS, busyTimeoutMs: 2_000 })
  stores.push(store)
  await store.append('case-0', [event('Opened')], { expectedRevision: 'no_stream' })

  // A second connection, as another service process would be, takes the write lock and keeps it.
  const other = new Database(file)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const lockedAt = performance.now()

  const appends = [1, 2, 3].map((n) => store.append(`case-${n}`, [event('Opened')], { expectedRevision: 'no_stream' }))
  // The loop keeps turning while the appends wait: timers fire every few milliseconds.
  let ticks = 0
  const ticker = setInterval(() => ticks++, 5)
  await new Promise((resolve) => setTimeout(resolve, 150))
  const late = store.append('case-4', [event('Opened')], { expectedRevision: 'no_stream' })
  await new Promise((resolve) => setTimeout(resolve, 100))
  clearInterval(ticker)
  t.ok(ticks >= 20, `the event loop was not blocked while waiting for the lock (${ticks} ticks in 250 ms)`)
  t.equal(await store.headPosition(), 1, 'nothing was written while the lock was held')
  other.exec('COMMIT')
  const released = performance.now()

  const results = await Promise.all([...appends, late])
  const waited = performance.now() - lockedAt
  t.ok(waited >= 250, 'the appends resolved only after the lock was released')
  t.ok(performance.now() - released < 100, 'and promptly after it')
  t.same(results.map((r) => r.position), [2, 3, 4, 5], 'queued appends commit in the order they were made')
  t.same((await store.readAll()).map((e) => e.streamId), ['case-0', 'case-1', 'case-2', 'case-3', 'case-4'])
})

void t.test('the write lock held longer than busyTimeoutMs: the append fails, stores nothing, and the next one works', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const store = openSqliteEventStore({ file, pollIntervalMs: POLL_MS, busyTimeoutMs: 100 })
  stores.push(store)
  const other = new Database(file)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const started = performance.now()
  await t.rejects(store.append('case-1', [event('Opened')], { expectedRevision: 'no_stream' }), /SQLITE_BUSY/)
  t.ok(performance.now() - started >= 100, 'it waited busyTimeoutMs first')
  other.exec('COMMIT')
  t.equal(await store.headPosition(), 0, 'nothing stored')
  const after = await store.append('case-1', [event('Opened')], { expectedRevision: 'no_stream' })
  t.equal(after.position, 1)
})

void t.test('closing while another process holds the lock: the queued append still commits once the lock is free', async (t) => {
  const { dir, file } = freshDirectory()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const store = openSqliteEventStore({ file, pollIntervalMs: POLL_MS, busyTimeoutMs: 5_000 })
  // A real second process takes the write lock, says so, and lets go 300 ms later.
  const holder = spawn(
    process.execPath,
    ['-e', `const db = new (require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}))(${JSON.stringify(file)}); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { db.exec('COMMIT'); db.close() }, 300)`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise((resolve) => holder.once('exit', resolve))
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
  const pending = store.append('case-1', [event('Opened')], { expectedRevision: 'no_stream' })
  await new Promise((resolve) => setTimeout(resolve, 20))
  const closing = performance.now()
  await store.close()
  t.ok(performance.now() - closing >= 200, 'close waited for the lock')
  t.equal((await pending).position, 1, 'the append accepted before close was committed')
  await exited
  const reopened = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  t.same((await reopened.readAll()).map((e) => e.streamId), ['case-1'])
  await reopened.close()
})

void t.test('the bulk log reader: rows as stored text, in order, by prefix and range (ids without the prefix), data left out for the types asked', async (t) => {
  const stores: EventStore[] = []
  const file = tempFile(t, stores)
  const store = openSqliteEventStore({ file, pollIntervalMs: POLL_MS })
  stores.push(store)
  await store.append('case-1', [event('Opened', { n: 1 }), event('Noted', { text: 'ç' })], { expectedRevision: 'no_stream' })
  await store.append('other-1', [event('Opened', { n: 2 })], { expectedRevision: 'no_stream' })
  await store.append('case-2', [event('Opened', { n: 3 })], { expectedRevision: 'no_stream' })
  const reader = openSqliteLogReader({ file, streamPrefix: 'case-', omitDataOf: ['Noted'] })
  t.teardown(() => reader.close())
  const rows = reader.read({ after: 0, until: 10, maxCount: 100 })
  t.same(
    rows.map(([position, streamKey, , type, data]) => [position, streamKey, type, data === null ? null : JSON.parse(data)]),
    [
      [1, '1', 'Opened', { n: 1 }],
      [2, '1', 'Noted', null],
      [4, '2', 'Opened', { n: 3 }],
    ],
  )
  t.ok(rows.every(([, , , , , metadata]) => typeof JSON.parse(metadata) === 'object'), 'metadata as JSON text')
  t.ok(rows.every(([, , eventId]) => typeof eventId === 'string' && eventId.length > 0), 'with each event id')
  t.same(reader.read({ after: 1, until: 2, maxCount: 100 }).map((r) => r[0]), [2], 'the range is (after, until]')
  t.same(reader.read({ after: 0, until: 10, maxCount: 1 }).map((r) => r[0]), [1], 'at most maxCount')
  t.throws(() => openSqliteLogReader({ file: `${file}.missing`, streamPrefix: 'case-' }), 'a missing file is an error, not a new empty store')
})
