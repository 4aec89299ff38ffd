// The dashboard learns the relay's position and lag over HTTP, not from the relay's files: the
// event relay and the dashboard run here as two real processes with separate data folders (no path
// in common, as on two hosts). The dashboard's stream view shows what the relay's own status page
// says, shows the relay as unknown (lag null, with the reason) once the relay is gone, without
// failing, and shows it again when the relay is back. No Kafka needed: each keeps its own bus file.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { eventually, freePort, getJson, repoRoot } from './stack.ts'

interface RelayRow {
  readonly name: string
  readonly position?: number
  readonly lag: number | null
  readonly problem?: string
}
interface StreamsView {
  readonly head: number
  readonly consumers: readonly RelayRow[]
}
interface RelayStatus {
  readonly position: number
  readonly head: number
  readonly lag: number
}

t.setTimeout(5 * 60_000)

const relayDir = mkdtempSync(join(tmpdir(), 'civic-relay-host-'))
const dashboardDir = mkdtempSync(join(tmpdir(), 'civic-dashboard-host-'))
const [relayPort, dashboardPort] = [await freePort(), await freePort()]
const children = new Set<ChildProcess>()
const outputs = new Map<string, string>()
t.teardown(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(relayDir, { recursive: true, force: true })
  rmSync(dashboardDir, { recursive: true, force: true })
})

/** Starts a service as its own process in its own data folder; resolves once it answers /healthz. */
async function startService(name: 'event-relay' | 'dashboard', port: number, dataDir: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const { REDIS_URL: _redis, KAFKA_BROKERS: _kafka, CIVIC_EVENT_STORE: _store, ...inherited } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'services', name, 'src/main.ts')], {
    cwd: repoRoot,
    env: { ...inherited, ...env, PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  outputs.set(name, '')
  const collect = (d: Buffer): void => void outputs.set(name, (outputs.get(name) ?? '') + d.toString())
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const deadline = Date.now() + 90_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start:\n${outputs.get(name)}`)
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer /healthz within 90 s:\n${outputs.get(name)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

// The relay's log, on the relay's host: events of a stream that is not a case, so the relay
// publishes none of them and its lag is the whole log — a figure the dashboard's own (empty)
// store could never give.
const log = openSqliteEventStore({ file: join(relayDir, 'events.sqlite') })
await log.append('import-1', [1, 2, 3].map((n) => ({ id: `00000000-0000-4000-8000-00000000000${n}`, type: 'Imported', data: { n } })), { expectedRevision: 'any' })
await log.close()

let relay = await startService('event-relay', relayPort, relayDir)
const dashboard = await startService('dashboard', dashboardPort, dashboardDir, { CIVIC_RELAY_URL: `http://127.0.0.1:${relayPort}` })
const relayRow = async (): Promise<RelayRow | undefined> =>
  (await getJson<StreamsView>(`http://127.0.0.1:${dashboardPort}/v1/ops/streams`, 'dev-operator')).consumers.find((c) => c.name === 'event-relay')

t.test("the stream view shows the relay's own status, asked over HTTP", async (t) => {
  const own = await getJson<RelayStatus>(`http://127.0.0.1:${relayPort}/v1/relay/status`, 'dev-operator')
  t.equal(own.head, 3)
  const row = await relayRow()
  t.same(row, { name: 'event-relay', kind: 'store', position: own.position, lag: own.lag }, `dashboard log:\n${outputs.get('dashboard')}`)
  t.equal(row?.lag, 3, "the relay's lag, not one computed from the dashboard's store (head 0)")
})

t.test('the relay gone: shown as unknown with the reason; the view still answers', async (t) => {
  await stop(relay)
  const row = await eventually(relayRow, (r) => r?.lag === null, 'the relay shown as unknown', 10_000)
  t.equal(row?.position, undefined)
  t.match(row?.problem, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/relay\/status/)
  t.equal(dashboard.exitCode, null, 'the dashboard runs on')
  t.match(outputs.get('dashboard'), /the relay's status is unknown/)
})

t.test('the relay back: known again', async (t) => {
  relay = await startService('event-relay', relayPort, relayDir)
  const row = await eventually(relayRow, (r) => typeof r?.lag === 'number', 'the relay known again', 10_000)
  t.equal(row?.lag, 3)
  t.equal(row?.problem, undefined)
})

t.test('no relay file in the dashboard\'s folder', async (t) => {
  const relayFiles = readdirSync(relayDir)
  const dashboardFiles = readdirSync(dashboardDir)
  t.notOk(dashboardFiles.some((f) => relayFiles.includes(f) && f.startsWith('event-relay')), `dashboard folder: ${dashboardFiles.join(', ')}; relay folder: ${relayFiles.join(', ')}`)
  await stop(relay)
  await stop(dashboard)
})
