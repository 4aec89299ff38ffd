// The distributed stack for end-to-end tests: a Kafka broker of the test's own (infra/kafka's
// scripts, on free ports, in a temporary folder, so stopping it disturbs no other test) and each
// service as its own `node` process, started, killed and restarted at will.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@civic-desk/service-kit/testing'

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

export { eventually, exclusiveHeavyTest, freePort } from '@civic-desk/service-kit/testing'

/** A broker of the test's own. */
export interface TestBroker {
  readonly brokers: string[]
  /**
   * Stops the broker (SIGTERM, data kept), resolving once it is gone; the test process goes on
   * meanwhile, so its own clients see the outage as the services do.
   */
  stop(): Promise<void>
  /** Starts it again on the same ports and data; resolves once it serves metadata and groups. */
  start(): Promise<void>
  /**
   * Freezes the broker process (SIGSTOP): connections stay open and requests go unanswered until
   * they time out, as with a hung machine.
   */
  pause(): void
  /** Kills the broker at once (SIGKILL; paused or not): what it had not handled is lost. Resolves once it is gone. */
  kill(): Promise<void>
  /** Stops it and removes its data (synchronous: also runs at process exit). */
  destroy(): void
  /** The broker's process id while it runs (its CPU time for the benchmarks), else undefined. */
  pid(): number | undefined
}

const scriptArgs = (script: string, args: readonly string[]): string[] => [join(repoRoot, 'infra/kafka', script), ...args]

function runScript(script: string, env: Record<string, string>, args: string[] = []): void {
  const result = spawnSync('bash', scriptArgs(script, args), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 })
  if (result.status !== 0) throw new Error(`infra/kafka/${script} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`)
}

function runScriptAsync(script: string, env: Record<string, string>, args: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', scriptArgs(script, args), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 }, (error, stdout, stderr) => {
      if (error === null) resolve()
      else reject(new Error(`infra/kafka/${script} failed (${error.code ?? error.signal}):\n${stdout}\n${stderr}`))
    })
  })
}

/**
 * Work to undo when this process exits however it exits — also after an uncaught error, when
 * tap's teardowns never run — so no broker or service outlives the test that started it.
 */
const atExit = new Set<() => void>()
const undoAll = (): void => {
  for (const undo of [...atExit]) {
    try {
      undo()
    } catch {
      // best effort: the process is going away
    }
  }
}
process.once('exit', undoAll)
// A timeout or Ctrl-C: undo, then let the signal do what it would have done.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    undoAll()
    process.kill(process.pid, signal)
  })
}

/**
 * `host`: the address the broker listens on and advertises (infra/kafka's KAFKA_HOST); default
 * 127.0.0.1. Another one (a bridge address) lets clients in other network namespaces reach it.
 * `advertisedPort`: the port clients are told to use (KAFKA_ADVERTISED_PORT), a proxy's that
 * forwards to `listenPort` (a free port when omitted; `brokers` then names the proxy).
 */
export async function startTestBroker(options: { readonly host?: string; readonly listenPort?: number; readonly advertisedPort?: number } = {}): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-e2e-kafka-'))
  const [port, controller] = [options.listenPort ?? (await freePort()), await freePort()]
  const host = options.host ?? '127.0.0.1'
  const advertised = options.advertisedPort ?? port
  const env = { KAFKA_HOST: host, KAFKA_PORT: String(port), KAFKA_ADVERTISED_PORT: String(advertised), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_DATA_DIR: dataDir, KAFKA_HEAP_OPTS: '-Xmx512m -Xms128m' }
  const brokerPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8').trim())
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
    } catch {
      return undefined
    }
  }
  const signal = (name: NodeJS.Signals): boolean => {
    const pid = brokerPid()
    if (pid === undefined) return false
    try {
      process.kill(pid, name)
      return true
    } catch {
      return false
    }
  }
  const destroy = (): void => {
    atExit.delete(destroy)
    try {
      // A paused broker would take SIGTERM only when continued (stop.sh would wait for it, then SIGKILL).
      signal('SIGCONT')
      runScript('stop.sh', env)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  atExit.add(destroy)
  try {
    // Not blocking this process: a proxy in it (advertisedPort) answers the start's own checks.
    await runScriptAsync('start.sh', env)
  } catch (error) {
    destroy()
    throw error
  }
  return {
    brokers: [`${host}:${advertised}`],
    stop: () => runScriptAsync('stop.sh', env),
    start: () => runScriptAsync('start.sh', env),
    pause: () => {
      if (!signal('SIGSTOP')) throw new Error('no broker process to pause')
    },
    kill: async () => {
      const pid = brokerPid()
      if (pid === undefined || !signal('SIGKILL')) return
      // Gone once reaped (kill -0 fails); start.sh also takes a dead pid's leftover zombie for gone.
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
        try {
          process.kill(pid, 0)
        } catch {
          return
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    destroy,
    pid: brokerPid,
  }
}

/** The services of the event flow. */
export type ServiceName = 'intake' | 'event-relay' | 'routing' | 'department-workflow' | 'notification'
export const SERVICES: readonly ServiceName[] = ['intake', 'event-relay', 'routing', 'department-workflow', 'notification']
/** Every service of `stack:up` and docker-compose: the flow above plus the dashboard. */
export type StackServiceName = ServiceName | 'dashboard'
export const STACK_SERVICES: readonly StackServiceName[] = [...SERVICES, 'dashboard']

/** One service process. */
export interface ServiceProcess {
  readonly name: StackServiceName
  readonly base: string
  readonly child: ChildProcess
  output(): string
}

/** The stack's services on one shared data folder and one broker. */
export interface TestStack {
  readonly dataDir: string
  readonly ports: Readonly<Record<StackServiceName, number>>
  readonly running: Map<StackServiceName, ServiceProcess>
  start(name: StackServiceName): Promise<ServiceProcess>
  /**
   * Starts one more instance of a running service on a port of its own, the same environment and
   * data folder (it joins the same consumer groups); stopped with the others by `stopAll` and `cleanup`.
   */
  startReplica(name: StackServiceName): Promise<ServiceProcess>
  /** The instances `startReplica` started that still run. */
  readonly replicas: readonly ServiceProcess[]
  /** Starts `TestStackOptions.services`, one after the other. */
  startAll(): Promise<void>
  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code (null when killed by a signal). */
  stop(name: StackServiceName, signal?: NodeJS.Signals): Promise<number | null>
  stopAll(signal?: NodeJS.Signals): Promise<void>
  url(name: StackServiceName, path: string): string
  /** Everything every process printed, for failure messages. */
  logs(): string
  cleanup(): Promise<void>
}

export interface TestStackOptions {
  readonly brokers: readonly string[]
  /** What `startAll` starts. Default: the five services of the event flow (`SERVICES`), not the dashboard. */
  readonly services?: readonly StackServiceName[]
  /**
   * Added to every service's environment. `REDIS_URL` is not passed on from the test's own
   * environment (CI sets it for the Redis tests): the dashboard keeps its read models in memory
   * unless this sets it.
   */
  readonly env?: Readonly<Record<string, string>>
  /** Extra `node` flags per service, e.g. `{ routing: ['--cpu-prof'] }` for a profile of one process. */
  readonly nodeArgs?: Partial<Readonly<Record<StackServiceName, readonly string[]>>>
}

export async function createTestStack(options: TestStackOptions): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-e2e-stack-'))
  const removeData = (): void => rmSync(dataDir, { recursive: true, force: true })
  atExit.add(removeData)
  const ports = Object.fromEntries(await Promise.all(STACK_SERVICES.map(async (name) => [name, await freePort()] as const))) as Record<StackServiceName, number>
  const running = new Map<StackServiceName, ServiceProcess>()
  const history: string[] = []
  const { REDIS_URL: _redisUrl, ...inherited } = process.env

  const replicas: ServiceProcess[] = []

  const start = async (name: StackServiceName, replicaPort?: number): Promise<ServiceProcess> => {
    if (replicaPort === undefined && running.has(name)) throw new Error(`${name} is already running`)
    const port = replicaPort ?? ports[name]
    const child = spawn(process.execPath, [...(options.nodeArgs?.[name] ?? []), '--import', 'tsx', join(repoRoot, 'services', name, 'src/main.ts')], {
      cwd: repoRoot,
      env: {
        ...inherited,
        // The dashboard asks the relay for its position over HTTP.
        CIVIC_RELAY_URL: `http://127.0.0.1:${ports['event-relay']}`,
        ...options.env,
        PORT: String(port),
        CIVIC_DATA_DIR: dataDir,
        KAFKA_BROKERS: options.brokers.join(','),
        LOG_LEVEL: options.env?.LOG_LEVEL ?? 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const collect = (d: Buffer): void => {
      output += d.toString()
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const service: ServiceProcess = { name, base: `http://127.0.0.1:${port}`, child, output: () => output }
    if (replicaPort === undefined) running.set(name, service)
    else replicas.push(service)
    const killAtExit = (): void => void child.kill('SIGKILL')
    atExit.add(killAtExit)
    child.once('exit', () => {
      atExit.delete(killAtExit)
      history.push(`--- ${name}${replicaPort === undefined ? '' : ` (replica on :${port})`} (exited ${child.exitCode ?? child.signalCode})\n${output.slice(-6000)}`)
      if (running.get(name) === service) running.delete(name)
      if (replicas.includes(service)) replicas.splice(replicas.indexOf(service), 1)
    })
    const deadline = Date.now() + 90_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during start:\n${output.slice(-4000)}`)
      try {
        if ((await fetch(`${service.base}/healthz`)).ok) return service
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${name} did not answer /healthz within 90 s:\n${output.slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  const stopProcess = async (service: ServiceProcess | undefined, signal: NodeJS.Signals): Promise<number | null> => {
    if (service === undefined) return null
    const { child } = service
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  const stop = (name: StackServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => stopProcess(running.get(name), signal)

  const stack: TestStack = {
    dataDir,
    ports,
    running,
    replicas,
    start: (name) => start(name),
    async startReplica(name) {
      if (!running.has(name)) throw new Error(`${name} is not running: start it before a replica`)
      return start(name, await freePort())
    },
    async startAll() {
      // Sequentially: several compilers at once on two cores only slow each other down.
      for (const name of options.services ?? SERVICES) await start(name)
    },
    stop,
    async stopAll(signal = 'SIGTERM') {
      await Promise.all([...[...running.values()], ...replicas].map((service) => stopProcess(service, signal)))
    },
    url: (name, path) => `http://127.0.0.1:${ports[name]}${path}`,
    logs: () => [...history, ...[...running.values(), ...replicas].map((s) => `--- ${s.name} (running on ${s.base})\n${s.output().slice(-6000)}`)].join('\n'),
    async cleanup() {
      await stack.stopAll('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
      atExit.delete(removeData)
    },
  }
  return stack
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

export async function postJson(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token), ...headers }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

export async function getJson<T>(url: string, token?: string): Promise<T> {
  const res = await fetch(url, { headers: token === undefined ? {} : bearer(token) })
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}
