// The HTTP thread's hold on the consumer thread, with stand-in threads that behave and misbehave:
// the real thread runs in standalone.e2e.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { capturingLogger } from '@civic-desk/service-kit/testing'
import { startConsumerThread } from './consumer-thread.ts'

/** Writes a stand-in thread entry (plain JavaScript) and returns its URL. */
function standIn(t: Test, body: string): URL {
  const dir = mkdtempSync(join(tmpdir(), 'civic-thread-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'entry.mjs')
  writeFileSync(file, `import { parentPort } from 'node:worker_threads'\n${body}\n`)
  return pathToFileURL(file)
}

const SNAPSHOT = `{ routing: { running: true, routed: 7, duplicates: 1, skipped: 0, indexPosition: 12 }, notifier: { sent: 5, failed: 0, skipped: 2, lastError: null }, readers: [{ name: 'routing', kind: 'store', position: 12, running: true }] }`

/** A well-behaved thread: starts, answers snapshots, exits when told to stop. */
const WELL_BEHAVED = `
parentPort.on('message', (m) => {
  if (m.kind === 'snapshot') parentPort.postMessage({ kind: 'snapshot', id: m.id, snapshot: ${SNAPSHOT} })
  else { parentPort.postMessage({ kind: 'stopped' }); process.exit(0) }
})
parentPort.postMessage({ kind: 'started', providers: { sms: 'outbox', email: 'smtp' } })`

void t.test('a thread that starts: its providers, snapshots answered by the thread, a stop that is not a death', async (t) => {
  const deaths: Error[] = []
  const thread = await startConsumerThread({ logger: capturingLogger().logger, onDeath: (e) => deaths.push(e), entry: standIn(t, WELL_BEHAVED) })
  t.same(thread.providers, { sms: 'outbox', email: 'smtp' })
  const [a, b] = await Promise.all([thread.snapshot(), thread.snapshot()])
  t.equal(a.routing.routed, 7)
  t.same(a, b, 'concurrent questions each get their answer')
  t.equal(a.readers[0]?.name, 'routing')
  await thread.stop()
  await thread.stop()
  t.same(deaths, [], 'asked to stop: not reported as a death')
  await t.rejects(thread.snapshot(), /ended with exit code 0/, 'a stopped thread answers no more')
})

void t.test('a thread that dies after starting: reported once to onDeath, waiting questions rejected', async (t) => {
  const deaths: Error[] = []
  const entry = standIn(
    t,
    `parentPort.on('message', (m) => { if (m.kind === 'snapshot') throw new Error('routing blew up') })
parentPort.postMessage({ kind: 'started', providers: {} })`,
  )
  const logs = capturingLogger()
  const thread = await startConsumerThread({ logger: logs.logger, onDeath: (e) => deaths.push(e), entry })
  await t.rejects(thread.snapshot(), /routing blew up/)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(deaths.length, 1, 'onDeath once')
  t.match(deaths[0]?.message, /exit code 1/)
  await t.rejects(thread.snapshot(), /routing blew up/, 'later questions fail at once')
  await thread.stop()
})

void t.test('a thread that fails while starting, or never says it started: the start rejects', async (t) => {
  const logger = capturingLogger().logger
  await t.rejects(
    startConsumerThread({ logger, onDeath: () => t.fail('not a death: the start itself failed'), entry: standIn(t, `throw new Error('catalogue unreadable')`) }),
    /catalogue unreadable/,
  )
  await t.rejects(startConsumerThread({ logger, onDeath: () => {}, startTimeoutMs: 300, entry: standIn(t, `setInterval(() => {}, 1000)`) }), /did not start within 300 ms/)
})

void t.test('a thread that does not stop in time is ended', async (t) => {
  const entry = standIn(
    t,
    `parentPort.on('message', () => {})
parentPort.postMessage({ kind: 'started', providers: {} })`,
  )
  const logs = capturingLogger()
  const thread = await startConsumerThread({ logger: logs.logger, onDeath: () => t.fail('a requested stop is not a death'), stopTimeoutMs: 200, entry })
  const started = performance.now()
  await thread.stop()
  t.ok(performance.now() - started >= 190, 'it waited stopTimeoutMs first')
  t.ok(logs.lines.some((l) => /did not stop in time/.test(String(l.msg))), 'and said so')
})
