import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const fixture = fileURLToPath(new URL('./shutdown.fixture.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

interface Outcome {
  readonly code: number | null
  readonly logs: Array<Record<string, unknown>>
}

/** Runs the fixture for a scenario, sends `signal` once it is ready, and collects what happened. */
function runUntilSignalled(scenario: string, signals: NodeJS.Signals[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, scenario], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`fixture did not exit; stderr: ${stderr}`))
    }, 20_000)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      if (chunk.includes('ready')) for (const s of signals) child.kill(s)
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const logs = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      resolve({ code, logs })
    })
  })
}

const messages = (o: Outcome) => o.logs.filter((l) => l['component'] === 'shutdown').map((l) => [l['msg'], l['task'] ?? l['signal'] ?? null])

t.test('SIGTERM closes every task in order, logs each, and exits 0', async (t) => {
  const outcome = await runUntilSignalled('ok', ['SIGTERM'])
  t.equal(outcome.code, 0)
  t.same(messages(outcome), [
    ['shutting down', 'SIGTERM'],
    ['closed', 'http'],
    ['closed', 'event store'],
    ['shutdown complete', null],
  ])
  t.match(outcome.logs[0], { level: 'info', name: 'shutdown-fixture', tasks: ['http', 'event store'], delayMs: 10_000 })
})

t.test('SIGINT works the same way', async (t) => {
  const outcome = await runUntilSignalled('ok', ['SIGINT'])
  t.equal(outcome.code, 0)
  t.same(messages(outcome)[0], ['shutting down', 'SIGINT'])
})

t.test('a failing task is logged, the later tasks still run, and the exit code is 1', async (t) => {
  const outcome = await runUntilSignalled('failing', ['SIGTERM'])
  t.equal(outcome.code, 1)
  t.same(messages(outcome), [
    ['shutting down', 'SIGTERM'],
    ['close failed', 'http'],
    ['closed', 'event store'],
    ['shutdown failed', null],
  ])
  t.match(outcome.logs.find((l) => l['msg'] === 'close failed'), { level: 'error', err: { message: 'socket exploded' } })
})

t.test('a task that never finishes hits the deadline and exits 1', async (t) => {
  const started = Date.now()
  const outcome = await runUntilSignalled('slow', ['SIGTERM'])
  t.equal(outcome.code, 1)
  t.ok(Date.now() - started < 10_000, 'did not hang')
  t.same(messages(outcome), [
    ['shutting down', 'SIGTERM'],
    ['closed', 'http'],
    ['shutdown took too long; exiting with 1', null],
  ])
})

t.test('an uncaught error also closes the tasks, then exits 1', async (t) => {
  const outcome = await runUntilSignalled('crash', [])
  t.equal(outcome.code, 1)
  t.same(messages(outcome), [
    ['uncaught error; shutting down', null],
    ['closed', 'http'],
    ['closed', 'event store'],
    ['shutdown complete', null],
  ])
  t.match(outcome.logs[0], { level: 'fatal', err: { message: 'unexpected state in projector' } })
})

t.test('fail(): the service cannot go on, so the tasks close and the exit code is 1', async (t) => {
  const outcome = await runUntilSignalled('fatal', [])
  t.equal(outcome.code, 1)
  t.same(messages(outcome).slice(0, 3), [
    ['the service cannot go on; shutting down', null],
    ['closed', 'http'],
    ['closed', 'event store'],
  ])
  t.match(outcome.logs[0], { level: 'fatal', err: { message: 'consumer of civic.case-events.v1 stopped' } })
})
