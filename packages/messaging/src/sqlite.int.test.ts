import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { openSqliteBus, type BusMessage, type OutgoingMessage, type SqliteBus, type SqliteBusOptions } from './index.ts'
import { busContract, waitFor } from './testing.ts'

const POLL_MS = 20

/** Lets pending timers and I/O callbacks run a few rounds: gives a wrong implementation the chance to misbehave. */
const settle = async (rounds = 20): Promise<void> => {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve))
}

/** A fresh temp folder; the file sits in a sub-folder that does not exist yet (the bus creates it). */
function freshFile(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'civic-desk-bus-'))
  return { dir, file: join(dir, 'data', 'bus.sqlite') }
}

/** A temp file for this test and an opener; every bus opened is closed, then the folder removed, when the test ends. */
function fixture(t: Test): { file: string; open: (options?: Omit<SqliteBusOptions, 'file'>) => SqliteBus } {
  const { dir, file } = freshFile()
  const opened: SqliteBus[] = []
  t.teardown(async () => {
    for (const bus of opened) await bus.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    file,
    open: (options = {}) => {
      const bus = openSqliteBus({ pollIntervalMs: POLL_MS, ...options, file })
      opened.push(bus)
      return bus
    },
  }
}

interface Numbered {
  readonly key: string
  readonly n: number
}

/** `perKey` messages for each of `keys` keys, interleaved: key0 n0, key1 n0, …, key0 n1, … */
function numbered(keys: number, perKey: number): OutgoingMessage[] {
  const messages: OutgoingMessage[] = []
  for (let n = 0; n < perKey; n++) {
    for (let k = 0; k < keys; k++) messages.push({ key: `case-${k}`, value: { key: `case-${k}`, n } })
  }
  return messages
}

const byKey = (values: readonly Numbered[]): Map<string, number[]> => {
  const map = new Map<string, number[]>()
  for (const { key, n } of values) map.set(key, [...(map.get(key) ?? []), n])
  return map
}

const sumOffsets = (offsets: Record<number, string>): number => Object.values(offsets).reduce((sum, offset) => sum + Number(offset), 0)

void t.test('contract', async (t) => {
  busContract(t, async () => {
    const { dir, file } = freshFile()
    const bus = openSqliteBus({ file, pollIntervalMs: POLL_MS })
    return {
      bus,
      publishRaw: (topic, messages) => bus.publishRaw(topic, messages),
      cleanup: async () => {
        await bus.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  })
})

void t.test('stop and reopen: the group gets exactly the rest, in per-key order', async (t) => {
  const { open } = fixture(t)
  const topic = 'durable.stop'
  const keys = 20
  const perKey = 25
  const first = open()
  for (let batch = 0; batch < 5; batch++) {
    await first.publish(topic, numbered(keys, perKey).slice(batch * 100, (batch + 1) * 100))
  }

  const before: Numbered[] = []
  let stopping: Promise<void> | undefined
  await first.subscribe({
    topic,
    groupId: 'g',
    fromBeginning: true,
    handler: async ({ value }) => {
      // One turn per message, so other partitions have handlers in flight when close starts.
      await new Promise((resolve) => setImmediate(resolve))
      before.push(value as Numbered)
      if (before.length === 200) stopping = first.close()
    },
  })
  await waitFor(() => stopping !== undefined, 10_000, '200 messages handled')
  await stopping
  t.ok(before.length >= 200 && before.length < keys * perKey, `part of the messages handled before the stop (${before.length})`)

  const second = open()
  t.equal(sumOffsets(await second.committedOffsets(topic, 'g')), before.length, 'everything handled before the stop was committed in the file')
  t.equal(sumOffsets(await second.endOffsets(topic)), keys * perKey, 'end offsets count every message')
  const after: Numbered[] = []
  await second.subscribe({ topic, groupId: 'g', fromBeginning: true, handler: async ({ value }) => void after.push(value as Numbered) })
  await waitFor(() => before.length + after.length >= keys * perKey, 10_000, 'the rest')
  await settle()

  const seenBefore = new Set(before.map(({ key, n }) => `${key}/${n}`))
  t.same(after.filter(({ key, n }) => seenBefore.has(`${key}/${n}`)), [], 'nothing handled (and committed) before the stop comes again')
  const expected = JSON.stringify(Array.from({ length: perKey }, (_, n) => n))
  const beforeByKey = byKey(before)
  const afterByKey = byKey(after)
  const broken = Array.from({ length: keys }, (_, k) => `case-${k}`).filter(
    (key) => JSON.stringify([...(beforeByKey.get(key) ?? []), ...(afterByKey.get(key) ?? [])]) !== expected,
  )
  t.same(broken, [], 'every key: 0..24 exactly once, in order, across the stop')
  t.equal(sumOffsets(await second.committedOffsets(topic, 'g')), keys * perKey, 'all committed')
})

void t.test('crash: a message whose handler never finished is delivered again after restart', async (t) => {
  const { file, open } = fixture(t)
  const topic = 'durable.crash'
  const publisher = open()
  await publisher.publish(topic, ['m0', 'm1', 'm2', 'm3', 'm4'].map((value) => ({ key: 'case-1', value })))

  // A real crash: a child process consumes, hangs in the handler of m2 and is SIGKILLed.
  const script = `
    const { openSqliteBus } = await import(process.env.BUS_MODULE)
    const bus = openSqliteBus({ file: process.env.BUS_FILE, pollIntervalMs: 20 })
    await bus.subscribe({
      topic: process.env.BUS_TOPIC,
      groupId: 'crashing',
      fromBeginning: true,
      handler: async ({ value }) => {
        process.stdout.write(value + '\\n')
        if (value === 'm2') await new Promise(() => {})
      },
    })
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env: { ...process.env, BUS_MODULE: new URL('./sqlite.ts', import.meta.url).href, BUS_FILE: file, BUS_TOPIC: topic },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  t.teardown(() => void child.kill('SIGKILL'))
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk
  })
  await waitFor(() => output.split('\n').includes('m2'), 30_000, 'the child to hang in m2')
  child.kill('SIGKILL')
  t.equal(await exited, 'SIGKILL', 'the consumer process was killed')
  t.same(output.trim().split('\n'), ['m0', 'm1', 'm2'], 'the child got as far as m2')

  const restarted = open()
  const seen: unknown[] = []
  await restarted.subscribe({ topic, groupId: 'crashing', handler: async ({ value }) => void seen.push(value) })
  await waitFor(() => seen.includes('m4'), 10_000, 'm4 after the restart')
  await settle()
  t.same(seen.slice(-3), ['m2', 'm3', 'm4'], 'm2 delivered again, then the rest')
  // m0 and m1 may come again if the crash beat their commit (at-least-once), but only as a contiguous prefix.
  t.ok(['m2', 'm1', 'm0'].includes(String(seen[0])) && seen.length <= 5, `a suffix of the log, from m2 or earlier (${JSON.stringify(seen)})`)
})

void t.test('two instances on one file (two processes): the subscriber receives the other one’s messages by polling', async (t) => {
  const { open } = fixture(t)
  const topic = 'durable.two'
  const a = open()
  const b = open()
  const received: BusMessage[] = []
  await b.subscribe({ topic, groupId: 'g', handler: async (message) => void received.push(message) })
  // Both write to the same partition at the same time: offsets come from the file, so they never collide.
  for (let round = 0; round < 5; round++) {
    await Promise.all([
      a.publish(topic, Array.from({ length: 4 }, (_, i) => ({ key: 'case-1', value: { from: 'a', n: round * 4 + i } }))),
      b.publish(topic, Array.from({ length: 4 }, (_, i) => ({ key: 'case-1', value: { from: 'b', n: round * 4 + i } }))),
    ])
  }
  await waitFor(() => received.length >= 40, 10_000, 'forty messages')
  await settle()
  t.equal(received.length, 40, 'each message once')
  for (const from of ['a', 'b']) {
    const ns = received.map(({ value }) => value as { from: string; n: number }).filter((value) => value.from === from).map(({ n }) => n)
    t.same(ns, Array.from({ length: 20 }, (_, n) => n), `${from}'s messages in publish order`)
  }
  const offsets = received.map(({ offset }) => Number(offset))
  t.same(offsets, Array.from({ length: 40 }, (_, i) => offsets[0]! + i), 'consecutive offsets, no duplicates, no gaps')

  // Only A publishes now: B sees it through polling alone.
  await a.publish(topic, [{ key: 'case-2', value: 'from a only' }])
  await waitFor(() => received.some(({ value }) => value === 'from a only'), 10_000, 'the polled message')
  t.pass('polled')
})

void t.test('a new group’s start position is stored: a restart before the first message loses nothing', async (t) => {
  const { open } = fixture(t)
  const topic = 'durable.start'
  const first = open()
  await first.publish(topic, [{ key: 'k', value: 'before subscribe' }])
  await first.subscribe({ topic, groupId: 'late', handler: async () => void t.fail('nothing to deliver before the restart') })
  await first.close()

  const producer = open()
  await producer.publish(topic, [{ key: 'k', value: 'while down 1' }, { key: 'other', value: 'while down 2' }])
  await producer.close()

  const restarted = open()
  const seen: unknown[] = []
  await restarted.subscribe({ topic, groupId: 'late', handler: async ({ value }) => void seen.push(value) })
  await waitFor(() => seen.length >= 2, 10_000, 'the messages published while down')
  await settle()
  t.same([...seen].sort(), ['while down 1', 'while down 2'], 'published after subscribe, before the restart: delivered; older: not')
})

void t.test('a resolved publish is in the file; concurrent publishes get distinct consecutive offsets', async (t) => {
  const { file, open } = fixture(t)
  const bus = open()
  await Promise.all(Array.from({ length: 50 }, (_, n) => bus.publish('durable.file', [{ key: 'one-key', value: n, headers: { n: String(n) } }])))
  const reader = new Database(file, { readonly: true })
  t.teardown(() => reader.close())
  const rows = reader.prepare<[], { offset: number; value: string; headers: string }>("SELECT offset, value, headers FROM messages WHERE topic = 'durable.file' ORDER BY offset").all()
  t.same(
    rows.map(({ offset }) => offset),
    Array.from({ length: 50 }, (_, i) => i),
    'fifty rows, offsets 0..49',
  )
  t.same(rows.map(({ value }) => Number(value)), Array.from({ length: 50 }, (_, n) => n), 'in call order')
  t.same(JSON.parse(rows[7]?.headers ?? 'null'), { n: '7' }, 'headers stored as JSON')
})

void t.test('when a subscription’s close() resolves, the commit of the handler it waited for is in the file', async (t) => {
  const { file, open } = fixture(t)
  const bus = open()
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let started = false
  const subscription = await bus.subscribe({
    topic: 'durable.commit',
    groupId: 'g',
    fromBeginning: true,
    handler: async () => {
      started = true
      await held
    },
  })
  await bus.publish('durable.commit', [{ key: 'k', value: 'm0' }])
  await waitFor(() => started, 10_000, 'handler in flight')
  const closing = subscription.close()
  release()
  await closing
  const reader = new Database(file, { readonly: true })
  t.teardown(() => reader.close())
  const stored = reader.prepare<[], number>("SELECT sum(next_offset) FROM offsets WHERE topic = 'durable.commit' AND group_id = 'g'").pluck().get()
  t.equal(stored, 1, 'committed, as read by another connection')
})

void t.test('the partition count is fixed by the file', async (t) => {
  const { file, open } = fixture(t)
  await open({ partitions: 4 }).close()
  t.throws(() => openSqliteBus({ file, partitions: 6 }), { name: 'RangeError', message: /4 partitions/ })
  const reopened = open()
  t.same(Object.keys(await reopened.endOffsets('any')), ['0', '1', '2', '3'], 'without the option, the file’s count is used')
})

void t.test('SQLite errors come out wrapped; commits that failed are written once the file is free', async (t) => {
  const { file, open } = fixture(t)
  const errors: string[] = []
  const bus = open({ busyTimeoutMs: 10, logger: { warn: () => undefined, error: (_obj, msg) => void errors.push(msg) } })
  const topic = 'durable.busy'
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let started = false
  await bus.subscribe({
    topic,
    groupId: 'g',
    fromBeginning: true,
    handler: async () => {
      started = true
      await held
    },
  })
  await bus.publish(topic, [{ key: 'k', value: 'm0' }])
  await waitFor(() => started, 10_000, 'handler in flight')

  // Another process holds the write lock.
  const other = new Database(file)
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const failure: unknown = await bus.publish(topic, [{ key: 'k', value: 'm1' }]).then(
    () => undefined,
    (error: unknown) => error,
  )
  t.ok(failure instanceof Error && !(failure instanceof Database.SqliteError), 'a plain Error, not the vendor type')
  t.match((failure as Error).message, /^Bus \(sqlite\) publish failed: SQLITE_BUSY/)

  release()
  await waitFor(() => errors.includes('sqlite bus: write failed') && errors.length >= 2, 10_000, 'the commit of m0 to fail too')
  other.exec('ROLLBACK')
  let committed: Record<number, string> = {}
  // committedOffsets writes pending commits first; poll it until the retried commit is in.
  const deadline = Date.now() + 10_000
  while (sumOffsets(committed) !== 1 && Date.now() < deadline) {
    committed = await bus.committedOffsets(topic, 'g')
    await settle(1)
  }
  t.equal(sumOffsets(committed), 1, 'the commit of m0 reached the file after the lock was released')
  await bus.publish(topic, [{ key: 'k', value: 'm1' }])
  t.equal(sumOffsets(await bus.endOffsets(topic)), 2, 'publishing works again')
})

void t.test('retention: deletes what every group committed past, keeping the newest retainMessages', async (t) => {
  const { open } = fixture(t)
  const first = open({ partitions: 1, retainMessages: 5 })
  // Group "lagging" exists (offset 0 on "held") but never consumes: it holds that topic's messages.
  const lagging = await first.subscribe({ topic: 'held', groupId: 'lagging', fromBeginning: true, handler: async () => undefined })
  await lagging.close()
  let consumed = 0
  await first.subscribe({ topic: 'done', groupId: 'g', fromBeginning: true, handler: async () => void consumed++ })
  const thirty = Array.from({ length: 30 }, (_, n) => ({ key: 'k', value: n }))
  await first.publish('done', thirty)
  await first.publish('held', thirty)
  await waitFor(() => consumed === 30, 10_000, 'everything consumed on "done"')
  await first.close()

  // Pruning runs when the bus opens.
  const reopened = open({ retainMessages: 5 })
  const replay = async (topic: string): Promise<unknown[]> => {
    const seen: unknown[] = []
    await reopened.subscribe({ topic, groupId: `replay-${topic}`, fromBeginning: true, handler: async ({ value }) => void seen.push(value) })
    await waitFor(() => seen.includes(29), 10_000, `the end of ${topic}`)
    await settle()
    return seen
  }
  t.same(await replay('done'), [25, 26, 27, 28, 29], 'consumed topic: only the newest five are left')
  t.equal((await replay('held')).length, 30, 'a group that has not consumed keeps every message')
  t.same(await reopened.endOffsets('done'), { 0: '30' }, 'offsets keep counting after pruning')
})
