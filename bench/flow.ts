// pnpm bench:flow — the whole case flow at a steady submission rate: submit → routed (CaseRouted or
// CaseMarkedDuplicate recorded) and submit → acknowledgement (CitizenNotified recorded), p50/p99,
// from the store's own recordedAt times of each case's events; then a ramp of rising rates to find
// the highest one the pipeline sustains with its consumers' lag staying bounded.
//
// Submissions arrive at an even pace (bench/lib.ts `paced`: one every 2 ms at 500/s, open loop,
// keep-alive connections), as independent citizens do. BENCH_ARRIVALS=burst sends them the way
// autocannon's overallRate does (and this benchmark did until 2026-11): 50 connections each send
// their share of a second back to back when the second starts, so the whole second's requests
// arrive within a few milliseconds; a spike test, kept to compare.
//
// Modes (BENCH_MODE):
//   standalone (default) — the one-process product (`pnpm start`); lag of every reader from /v1/ops/streams.
//   kafka — a broker of its own (infra/kafka, free ports, temporary data) and every service as its
//           own process (intake, event-relay, routing, department-workflow, notification), like
//           `pnpm stack:up`; submissions go to intake; lag is the relay's (store head − checkpoint)
//           plus every consumer group's lag on the broker.
//           With REDIS_URL set the dashboard projects into Redis (under a prefix of the run's own),
//           as `pnpm stack:up` runs it; else in memory.
// BENCH_STORE (kafka mode): postgres (default, as `pnpm stack:up`) — the stack's log and key store on
// PostgreSQL (CIVIC_PG_URL, else CIVIC_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test),
// in schemas of the run's own; sqlite — one events.sqlite file the services share on this host.
// BENCH_DUPLICATES: the share of requests repeating a recent one (0.15 by default, a desk's normal day),
// or "street" for the old workload where a district's streets make nearly every request a duplicate.
// The steady phase's CPU per case is printed per process (each service, the broker, PostgreSQL, Redis,
// the load generator) from /proc, until the phase's cases were all handled.
// Options (env): BENCH_RATE (500 submissions/s), BENCH_SECONDS (20), BENCH_ARRIVALS (even | burst),
// BENCH_RAMP (rates of the ramp, "300,500,700,900,1200"; "off" skips it), BENCH_RAMP_SECONDS (15),
// BENCH_SEED (153), BENCH_WARMUP_SECONDS (kafka 40, standalone 5); kafka mode: BENCH_PROFILE (services to CPU-profile, e.g. "routing",
// or "all"; each profile is summarised per case at the end, bench/profile-summary.ts), BENCH_PROFILE_DIR,
// BENCH_REPLICAS (services that run a second instance in the same consumer groups, e.g. "department-workflow").
// Standalone mode: BENCH_VARIANTS (e.g. "off,metrics,tracing,export") runs the steady phase on the product
// with its metrics and tracing switched off and on, in the same run, and reports each one's cost against
// off (bench/variants.ts; no ramp then), BENCH_VARIANT_ROUNDS (2).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestStack, startTestBroker, STACK_SERVICES, type StackServiceName, type TestBroker, type TestStack } from '@civic-desk/e2e/src/stack.ts'
import { caseIdOfStream } from '@civic-desk/case-feed'
import { openPostgresEventStore, openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import pg_ from 'pg'
import { createKafkaLagReader, type KafkaLagReader } from '@civic-desk/messaging'
import { deleteRedisPrefix } from '../packages/read-models/src/index.ts'
import { freePort, load, paced, percentile, readLag, startTs, stop, waitForOk, type PacedResult } from './lib.ts'
import { against, cpuMsOf, rssMibOf, sumCpuOf, meanBy, variantEnv, variantSchedule, variantsFromEnv, type VariantName } from './variants.ts'
import { createWorkload } from './workload.ts'
import { formatSummary, profileFiles, summariseProfile } from './profile-summary.ts'
import { startOtlpReceiver, type OtlpReceiver } from '@civic-desk/tracing/testing'

const mode = process.env.BENCH_MODE ?? 'standalone'
if (mode !== 'standalone' && mode !== 'kafka') throw new Error(`BENCH_MODE must be standalone or kafka, not ${mode}`)
const rate = Number(process.env.BENCH_RATE ?? 500)
const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const rampRates = (process.env.BENCH_RAMP ?? '300,500,700,900,1200') === 'off' ? [] : (process.env.BENCH_RAMP ?? '300,500,700,900,1200').split(',').map(Number)
const rampSeconds = Number(process.env.BENCH_RAMP_SECONDS ?? 15)
// BENCH_ROOT (standalone mode) runs the server of another checkout with this load, for before/after in one run.
const root = process.env.BENCH_ROOT ?? fileURLToPath(new URL('..', import.meta.url))
const targets = mode === 'kafka' ? { routedP99Ms: null, acknowledgementP99Ms: 250 } : { routedP99Ms: 50, acknowledgementP99Ms: 100 }

const runId = `flow-${process.pid}-${Date.now().toString(36)}`
// Realistic requests (bench/workload.ts): many streets, neighbourhoods and categories, so duplicates
// are found as often as the traffic makes them, not on every request.
const arrivals = process.env.BENCH_ARRIVALS ?? 'even'
if (arrivals !== 'even' && arrivals !== 'burst') throw new Error(`BENCH_ARRIVALS must be even or burst, not ${arrivals}`)
// BENCH_DUPLICATES: the share of requests that repeat a recent one (default 0.15, like a desk's
// normal day), or "street" for duplicates as a district's streets make them (nearly all after a
// few thousand requests: the benchmark's workload until 2026-12).
const duplicatesSetting = process.env.BENCH_DUPLICATES ?? '0.15'
const duplicateShare = duplicatesSetting === 'street' ? undefined : Number(duplicatesSetting)
if (duplicateShare !== undefined && !(duplicateShare >= 0 && duplicateShare <= 1)) throw new Error(`BENCH_DUPLICATES must be a share within 0..1 or "street", not ${duplicatesSetting}`)
const workload = createWorkload({ runId, seed: Number(process.env.BENCH_SEED ?? 153), ...(duplicateShare === undefined ? {} : { duplicateShare }) })
const nextBody = (): string => JSON.stringify(workload.next())

const say = (line: string): void => void process.stderr.write(`${line}\n`)

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN }
}

/** What the store recorded about each benchmark case, read incrementally. */
class FlowObserver {
  private after = 0
  private readonly submitted = new Map<string, { n: number; at: number; expectsAck: boolean }>()
  private readonly routed = new Map<string, number>()
  private readonly acknowledged = new Map<string, number>()
  private readonly duplicates = new Set<string>()
  /** Case events of the whole run by type (what each case costs in events). */
  readonly types = new Map<string, number>()

  constructor(private readonly store: EventStore) {}

  async poll(): Promise<void> {
    for (;;) {
      const batch = await this.store.readAll({ after: this.after, maxCount: 10_000, streamPrefix: 'case-' })
      if (batch.length === 0) return
      for (const e of batch) {
        this.types.set(e.type, (this.types.get(e.type) ?? 0) + 1)
        const at = Date.parse(e.recordedAt)
        if (e.type === 'CaseSubmitted') {
          const data = e.data as { externalId?: string; citizen?: { preferredChannel?: string } }
          if (!data.externalId?.startsWith(`${runId}-`)) continue
          const expectsAck = data.citizen !== undefined && data.citizen.preferredChannel !== 'none'
          this.submitted.set(e.streamId, { n: Number(data.externalId.slice(runId.length + 1)), at, expectsAck })
        } else if (e.type === 'CaseRouted' || e.type === 'CaseMarkedDuplicate') {
          this.routed.set(e.streamId, at)
          if (e.type === 'CaseMarkedDuplicate') this.duplicates.add(e.streamId)
        } else if (e.type === 'CitizenNotified' && ['acknowledgement', 'duplicate-linked'].includes((e.data as { template: string }).template)) {
          this.acknowledged.set(e.streamId, at)
        }
      }
      this.after = batch.at(-1)!.position
    }
  }

  /** The cases whose workload numbers are in (from, to]. */
  phase(from: number, to: number) {
    const cases = [...this.submitted].filter(([, s]) => s.n > from && s.n <= to)
    const expecting = cases.filter(([, s]) => s.expectsAck)
    const routedLatencies = cases.flatMap(([id, s]) => (this.routed.has(id) ? [this.routed.get(id)! - s.at] : []))
    const ackLatencies = expecting.flatMap(([id, s]) => (this.acknowledged.has(id) ? [this.acknowledged.get(id)! - s.at] : []))
    const firstSubmit = Math.min(...cases.map(([, s]) => s.at))
    const lastRouted = Math.max(0, ...cases.map(([id]) => this.routed.get(id) ?? 0))
    const lastAck = Math.max(0, ...expecting.map(([id]) => this.acknowledged.get(id) ?? 0))
    const routed = stats(routedLatencies)
    const ack = stats(ackLatencies)
    return {
      cases: cases.length,
      markedDuplicate: cases.filter(([id]) => this.duplicates.has(id)).length,
      // Anonymous requests and preferredChannel "none" get no message, so no acknowledgement.
      expectingAcknowledgement: expecting.length,
      submitToRoutedMs: routed,
      submitToAcknowledgementMs: ack,
      // What the pipeline really handled: cases over the time from the first submission to the last one handled.
      routedPerSecond: Math.round((routed.count / Math.max(1, lastRouted - firstSubmit)) * 1000),
      acknowledgedPerSecond: Math.round((ack.count / Math.max(1, lastAck - firstSubmit)) * 1000),
      done: routed.count >= cases.length && ack.count >= expecting.length,
    }
  }
}

/** The system under test: where to submit, where its store is, how far behind its consumers are. */
interface FlowTarget {
  readonly submitUrl: string
  /** The log as the services read it (personal fields opened with their key store), for the observer. */
  openLog(): Promise<{ readonly store: EventStore; close(): Promise<void> }>
  /** The event store the services use, as the report names it. */
  readonly storeKind: 'sqlite' | 'postgres'
  /** Events or messages not yet handled, per consumer (relay, each group), and their sum. */
  lag(): Promise<{ total: number; byConsumer: Record<string, number> }>
  /** CPU ms each process of the system under test used so far, by name (the services, the broker, the stores). */
  cpuByProcess(): Record<string, number>
  /** Resident memory (MiB) of each process, by the same names; NaN where unknown. */
  memoryMib(): Record<string, number>
  close(): Promise<void>
}

async function startStandalone(env: Record<string, string> = {}): Promise<FlowTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-flow-'))
  const port = await freePort()
  const server = startTs(join(root, 'services/standalone/src/main.ts'), { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env })
  await waitForOk(`http://127.0.0.1:${port}/readyz`)
  return {
    submitUrl: `http://127.0.0.1:${port}/v1/requests`,
    storeKind: 'sqlite',
    openLog: () => openSqliteLog(dataDir),
    // Every reader of the process: the consumer groups and the projections (queues, duplicate index).
    async lag() {
      const { total, byReader } = await readLag(`http://127.0.0.1:${port}`, 0)
      return { total, byConsumer: { ...byReader } }
    },
    cpuByProcess: () => ({ standalone: cpuMsOf(server.pid) }),
    memoryMib: () => ({ standalone: rssMibOf(server.pid) }),
    async close() {
      await stop(server)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** BENCH_STORE=postgres: the stack's log (and its key store) on PostgreSQL, in schemas of the run's own. */
interface PostgresTarget {
  readonly url: string
  readonly schema: string
  readonly masterKey: string
}
const benchStore = process.env.BENCH_STORE ?? (mode === 'kafka' ? 'postgres' : 'sqlite')
if (benchStore !== 'postgres' && benchStore !== 'sqlite') throw new Error(`BENCH_STORE must be postgres or sqlite, not ${benchStore}`)
if (mode === 'standalone' && benchStore !== 'sqlite') throw new Error('BENCH_STORE=postgres is for BENCH_MODE=kafka (standalone keeps its log in SQLite)')
const onPostgres: PostgresTarget | undefined =
  mode === 'kafka' && benchStore === 'postgres'
    ? {
        url: process.env.CIVIC_PG_URL ?? process.env.CIVIC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        schema: `bench_flow_${process.pid}_${Date.now().toString(36)}`,
        masterKey: randomBytes(32).toString('hex'),
      }
    : undefined

const postgresEnv = (pg: PostgresTarget): Record<string, string> => ({ CIVIC_EVENT_STORE: 'postgres', CIVIC_PG_URL: pg.url, CIVIC_PG_SCHEMA: pg.schema, CIVIC_MASTER_KEY: pg.masterKey })

async function openSqliteLog(dataDir: string) {
  const privacy = await openConfiguredPrivacy({}, { dataDir })
  const store = sealingEventStore(openSqliteEventStore({ file: join(dataDir, 'events.sqlite') }), privacy.keys, { caseIdOf: caseIdOfStream })
  return { store, close: async () => void (await Promise.all([store.close(), privacy.close()])) }
}

async function openPostgresLog(pg: PostgresTarget) {
  const privacy = await openConfiguredPrivacy({ masterKey: pg.masterKey, pgUrl: pg.url, pgSchema: pg.schema }, { dataDir: tmpdir() })
  const store = sealingEventStore(await openPostgresEventStore({ connectionString: pg.url, schema: pg.schema }), privacy.keys, { caseIdOf: caseIdOfStream })
  return { store, close: async () => void (await Promise.all([store.close(), privacy.close()])) }
}

async function dropPostgres(pg: PostgresTarget): Promise<void> {
  const client = new pg_.Client({ connectionString: pg.url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.schema} CASCADE`)
    await client.query(`DROP SCHEMA IF EXISTS ${pg.schema}_privacy CASCADE`)
  } finally {
    await client.end()
  }
}

// BENCH_PROFILE: services whose CPU is profiled (`node --cpu-prof`), "all" for every one; each run
// writes into a folder of its own under BENCH_PROFILE_DIR (.bench/profiles), summarised at the end.
const profileDir = join(process.env.BENCH_PROFILE_DIR ?? join(root, '.bench/profiles'), runId)
function profiledServices(): StackServiceName[] {
  const raw = (process.env.BENCH_PROFILE ?? '').split(',').map((name) => name.trim()).filter(Boolean)
  const names = raw.includes('all') ? [...STACK_SERVICES] : raw
  for (const name of names) if (!(STACK_SERVICES as readonly string[]).includes(name)) throw new Error(`BENCH_PROFILE: unknown service "${name}" (known: all, ${STACK_SERVICES.join(', ')})`)
  return names as StackServiceName[]
}

// BENCH_REPLICAS: services that run a second instance in the same consumer groups (e.g. "department-workflow").
function replicaServices(): StackServiceName[] {
  const names = (process.env.BENCH_REPLICAS ?? '').split(',').map((name) => name.trim()).filter(Boolean)
  for (const name of names) if (!(STACK_SERVICES as readonly string[]).includes(name)) throw new Error(`BENCH_REPLICAS: unknown service "${name}" (known: ${STACK_SERVICES.join(', ')})`)
  return names as StackServiceName[]
}

/** After a profiled run: each service's profile, per case of the whole run (warm-up included). */
function printProfiles(cases: number): void {
  for (const name of profiledServices()) {
    let files: string[]
    try {
      files = profileFiles(join(profileDir, name))
    } catch {
      files = []
    }
    if (files.length === 0) {
      say(`no CPU profile of ${name} in ${join(profileDir, name)} (a process killed rather than stopped writes none)`)
      continue
    }
    for (const file of files) console.log(`\n${formatSummary(`${name} (whole run, ${file})`, summariseProfile(file), cases)}`)
  }
}

async function startKafkaStack(): Promise<FlowTarget> {
  say('kafka: starting a broker of its own (infra/kafka/start.sh)…')
  const broker: TestBroker = await startTestBroker()
  let stack: TestStack | undefined
  let lagReader: KafkaLagReader | undefined
  try {
    // BENCH_PROFILE=routing,notification writes a CPU profile of those services into BENCH_PROFILE_DIR (.bench/profiles).
    const profiled = profiledServices()
    const nodeArgs = Object.fromEntries(profiled.map((name) => [name, ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`]]))
    if (profiled.length > 0) say(`kafka: CPU profiles of ${profiled.join(', ')} go to ${profileDir}`)
    // The whole stack of `pnpm stack:up`: the dashboard projects into Redis when REDIS_URL is set (else in memory).
    const redisEnv = process.env.REDIS_URL === undefined ? {} : { REDIS_URL: process.env.REDIS_URL, CIVIC_REDIS_PREFIX: `${runId}:` }
    stack = await createTestStack({
      brokers: broker.brokers,
      services: STACK_SERVICES,
      env: { LOG_LEVEL: 'warn', ...redisEnv, ...(onPostgres === undefined ? {} : postgresEnv(onPostgres)) },
      nodeArgs,
    })
    say(`kafka: broker ${broker.brokers.join(',')}; starting ${STACK_SERVICES.join(', ')}${onPostgres === undefined ? ' on one SQLite file' : ` on PostgreSQL (schema ${onPostgres.schema})`}…`)
    await stack.startAll()
    for (const name of replicaServices()) {
      const replica = await stack.startReplica(name)
      say(`kafka: a second ${name} on ${replica.base}, in the same consumer groups`)
    }
    lagReader = createKafkaLagReader({ brokers: broker.brokers, clientId: 'bench-flow-lag' })
  } catch (error) {
    await stack?.cleanup()
    broker.destroy()
    throw error
  }
  const s = stack
  const reader = lagReader
  // Every process of the system: each service, the broker's JVM, the PostgreSQL server's processes
  // (its backends and writers; other clients of the server are assumed quiet) and Redis.
  const pids = (): Record<string, number | undefined> => {
    const out: Record<string, number | undefined> = {}
    for (const name of STACK_SERVICES) out[name] = s.running.get(name)?.child.pid
    s.replicas.forEach((replica, i) => (out[`${replica.name} (instance ${i + 2})`] = replica.child.pid))
    out['kafka broker'] = broker.pid()
    return out
  }
  const ofEach = (read: (pid: number | undefined) => number): Record<string, number> => Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, read(pid)]))
  return {
    submitUrl: s.url('intake', '/v1/requests'),
    storeKind: onPostgres === undefined ? 'sqlite' : 'postgres',
    openLog: () => (onPostgres === undefined ? openSqliteLog(s.dataDir) : openPostgresLog(onPostgres)),
    async lag() {
      const relay = (await (await fetch(s.url('event-relay', '/v1/relay/status'), { headers: { authorization: 'Bearer dev-operator' } })).json()) as { lag: number }
      const groups = await reader.read()
      const byConsumer: Record<string, number> = { 'event-relay (store → kafka)': relay.lag }
      for (const g of groups) byConsumer[`${g.groupId} ← ${g.topic}`] = g.lag
      return { total: Object.values(byConsumer).reduce((sum, n) => sum + n, 0), byConsumer }
    },
    cpuByProcess: () => ({
      ...ofEach(cpuMsOf),
      ...(onPostgres === undefined ? {} : { postgresql: sumCpuOf('postgres') }),
      ...(process.env.REDIS_URL === undefined ? {} : { redis: sumCpuOf('redis-server') }),
    }),
    memoryMib: () => ofEach(rssMibOf),
    async close() {
      await reader.close()
      // SIGTERM first: a graceful exit is when node writes --cpu-prof profiles.
      await s.stopAll('SIGTERM')
      await s.cleanup()
      broker.destroy()
      if (onPostgres !== undefined) await dropPostgres(onPostgres)
      if (process.env.REDIS_URL !== undefined) await deleteRedisPrefix(process.env.REDIS_URL, `${runId}:`)
    },
  }
}

async function main(env: Record<string, string> = {}, withRamp = true) {
  const target = mode === 'kafka' ? await startKafkaStack() : await startStandalone(env)
  let store: EventStore | undefined
  let log: { readonly store: EventStore; close(): Promise<void> } | undefined
  try {
    const headers = { authorization: 'Bearer dev-channel', 'content-type': 'application/json' }
    /** `rate` submissions a second for `seconds`, arriving as BENCH_ARRIVALS says. */
    const submit = async (rateNow: number, secondsNow: number, label: string): Promise<PacedResult> => {
      if (arrivals === 'even') return paced({ url: target.submitUrl, headers, body: nextBody, rate: rateNow, seconds: secondsNow, label })
      const r = await load({
        url: target.submitUrl,
        connections: 50,
        method: 'POST',
        headers,
        requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
        duration: secondsNow,
        overallRate: rateNow,
      })
      return { sent: r.requests.sent, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors + r.timeouts, durationSeconds: r.duration, latency: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max }, maxInFlight: 50 }
    }
    // The benchmark knows its cases by their externalId, which the log holds sealed (personal data):
    // read it through the services' key store, as they do. (A server without sealing passes as is.)
    log = await target.openLog()
    store = log.store
    const observer = new FlowObserver(store)

    /** Waits until every case of the phase is routed and acknowledged (or the deadline passed). */
    const drain = async (from: number, to: number, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        await observer.poll()
        const phase = observer.phase(from, to)
        if (phase.done || Date.now() > deadline) return phase
        await new Promise((r) => setTimeout(r, 250))
      }
    }

    /** One phase at a steady rate, sampling the consumers' lag every second. */
    const runPhase = async (phaseRate: number, phaseSeconds: number) => {
      const from = workload.count
      const lagSamples: Array<{ atMs: number; total: number; byConsumer: Record<string, number> }> = []
      const started = Date.now()
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          await new Promise((r) => setTimeout(r, 1_000))
          if (!sampling) break
          try {
            lagSamples.push({ atMs: Date.now() - started, ...(await target.lag()) })
          } catch (error) {
            say(`lag sample failed: ${(error as Error).message}`)
          }
        }
      })()
      const headBefore = await store!.headPosition()
      const byProcessBefore = target.cpuByProcess()
      const ownBefore = process.cpuUsage()
      const wallBefore = performance.now()
      const result = await submit(phaseRate, phaseSeconds, `${phaseRate}/s`)
      // Events the store took per second during the phase: turns a lag in events into seconds.
      const eventsPerSecond = ((await store!.headPosition()) - headBefore) / Math.max(1, result.durationSeconds)
      sampling = false
      await sampler
      const to = workload.count
      const phase = await drain(from, to)
      // The product's CPU for the phase's cases, until they were all routed and acknowledged.
      const cases = Math.max(1, to - from)
      const byProcessAfter = target.cpuByProcess()
      const own = process.cpuUsage(ownBefore)
      const wallMs = performance.now() - wallBefore
      // Per process: CPU ms per case, and the share of one core it kept busy over the phase and its drain.
      const memory = target.memoryMib()
      const cpuTable = Object.entries(byProcessAfter).map(([name, after]) => ({
        name,
        msPerCase: (after - (byProcessBefore[name] ?? Number.NaN)) / cases,
        cores: (after - (byProcessBefore[name] ?? Number.NaN)) / wallMs,
        rssMib: memory[name] ?? Number.NaN,
      }))
      const cpuMsPerCase = cpuTable.reduce((sum, row) => sum + row.msPerCase, 0)
      cpuTable.push({ name: 'load generator (this benchmark)', msPerCase: (own.user + own.system) / 1000 / cases, cores: (own.user + own.system) / 1000 / wallMs, rssMib: Number.NaN })
      return { result, phase, lagSamples, eventsPerSecond, cpuMsPerCase, cpuTable }
    }

    // Measured warm: a fresh JVM (the broker) and fresh node processes compile their hot paths in
    // the first tens of seconds; until then the same traffic costs several times the CPU.
    const warmSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? (mode === 'kafka' ? 40 : 5))
    const warmRate = Math.min(rate, mode === 'kafka' ? 250 : 200)
    say(`warm-up ${warmSeconds} s at ${warmRate}/s…`)
    const warm = workload.count
    await submit(warmRate, warmSeconds, 'warm-up')
    await drain(warm, workload.count, 120_000)

    say(`flow (${mode}): ${rate} submissions/s for ${seconds} s…`)
    const steady = await runPhase(rate, seconds)
    const { phase } = steady
    const report = {
      mode,
      eventStore: target.storeKind,
      arrivals,
      targetRate: rate,
      seconds,
      submittedPerSecond: Math.round(steady.result.ok / steady.result.durationSeconds),
      submitHttp: { ...steady.result.latency, errors: steady.result.errors + steady.result.non2xx, maxInFlight: steady.result.maxInFlight },
      ...phase,
      maxLag: Math.max(0, ...steady.lagSamples.map((s) => s.total)),
      duplicates: duplicateShare === undefined ? 'street' : duplicateShare,
      cpuMsPerCaseByProcess: Object.fromEntries(steady.cpuTable.map((row) => [row.name, Math.round(row.msPerCase * 1000) / 1000])),
      targets,
    }
    console.log(JSON.stringify(report, null, 2))
    const stored = [...observer.types].sort((a, b) => b[1] - a[1])
    console.log(`\ncase events stored in the run, per submission: ${stored.map(([type, n]) => `${type} ${(n / workload.count).toFixed(2)}`).join(', ')}`)
    printCpuTable(steady.cpuTable, phase.cases, workload.count)
    const routed = phase.submitToRoutedMs
    const ack = phase.submitToAcknowledgementMs
    console.log(
      `\n${mode} on ${target.storeKind} (${arrivals} arrivals): submit→routed p50 ${routed.p50} ms, p99 ${routed.p99} ms${targets.routedP99Ms === null ? '' : ` (target ≤ ${targets.routedP99Ms})`}; ` +
        `submit→acknowledgement p50 ${ack.p50} ms, p99 ${ack.p99} ms (target ≤ ${targets.acknowledgementP99Ms}); ` +
        `${report.submittedPerSecond}/s submitted, ${routed.count}/${phase.cases} routed (${phase.routedPerSecond}/s), ` +
        `${ack.count}/${phase.expectingAcknowledgement} acknowledged (${phase.acknowledgedPerSecond}/s); ${phase.markedDuplicate} marked duplicate; max lag ${report.maxLag}`,
    )

    // The ramp: a rate is sustained when intake took (nearly) all of it without errors, everything
    // was handled in the end, and every consumer's lag stayed bounded — in the phase's second half
    // no consumer was more than two seconds of events behind, and none was still falling behind
    // (its last sample the phase's highest and above one second's worth). Offsets are committed
    // after handling, so a busy consumer always shows some lag.
    if (withRamp && rampRates.length > 0) {
      const ramp: Array<Record<string, unknown>> = []
      let highestSustained = 0
      for (const stepRate of rampRates) {
        say(`ramp: ${stepRate} submissions/s for ${rampSeconds} s…`)
        const step = await runPhase(stepRate, rampSeconds)
        const accepted = step.result.ok / step.result.durationSeconds
        const secondHalf = step.lagSamples.filter((s) => s.atMs >= (rampSeconds * 1000) / 2)
        const perSecond = Math.max(1, step.eventsPerSecond)
        const consumers = [...new Set(secondHalf.flatMap((s) => Object.keys(s.byConsumer)))]
        const lagSeconds = consumers.map((name) => {
          const series = secondHalf.map((s) => (s.byConsumer[name] ?? 0) / perSecond)
          const max = Math.max(0, ...series)
          return { name, max, last: series.at(-1) ?? 0 }
        })
        const maxLagSeconds = Math.max(0, ...lagSeconds.map((c) => c.max))
        const growing = lagSeconds.filter((c) => c.last === c.max && c.last > 1).map((c) => c.name)
        const bounded = maxLagSeconds <= 2 && growing.length === 0
        const maxLag = Math.max(0, ...secondHalf.map((s) => s.total))
        const lastLag = secondHalf.at(-1)?.total ?? 0
        const errors = step.result.errors + step.result.non2xx
        const sustained = accepted >= 0.95 * stepRate && errors === 0 && bounded && step.phase.done
        ramp.push({
          rate: stepRate,
          acceptedPerSecond: Math.round(accepted),
          errors,
          eventsPerSecond: Math.round(step.eventsPerSecond),
          lagSecondHalf: { maxEvents: maxLag, lastEvents: lastLag, worstConsumerSeconds: Math.round(maxLagSeconds * 100) / 100, stillGrowing: growing },
          lastLagByConsumer: step.lagSamples.at(-1)?.byConsumer ?? {},
          submitToRoutedP99Ms: step.phase.submitToRoutedMs.p99,
          submitToAcknowledgementP99Ms: step.phase.submitToAcknowledgementMs.p99,
          drained: step.phase.done,
          sustained,
        })
        say(
          `ramp: ${stepRate}/s → accepted ${Math.round(accepted)}/s, worst consumer ${maxLagSeconds.toFixed(2)} s behind${growing.length > 0 ? ` and still falling behind (${growing.join(', ')})` : ''}, ` +
            `ack p99 ${step.phase.submitToAcknowledgementMs.p99} ms: ${sustained ? 'sustained' : 'NOT sustained'}`,
        )
        if (!sustained) break
        highestSustained = stepRate
      }
      console.log(JSON.stringify({ mode, ramp, highestSustainedRate: highestSustained }, null, 2))
      console.log(`\n${mode}: highest sustained submission rate with bounded consumer lag: ${highestSustained}/s (ramp ${rampRates.join(', ')}, ${rampSeconds} s each)`)
    }
    return { report, cpuMsPerCase: steady.cpuMsPerCase }
  } finally {
    await log?.close()
    await target.close()
    if (mode === 'kafka' && profiledServices().length > 0) printProfiles(workload.count)
  }
}

/** Where the steady phase's CPU went, per process: ms per case and cores kept busy. */
function printCpuTable(rows: ReadonlyArray<{ name: string; msPerCase: number; cores: number; rssMib: number }>, cases: number, casesInLog: number): void {
  const known = rows.filter((row) => Number.isFinite(row.msPerCase))
  const total = known.reduce((sum, row) => sum + row.msPerCase, 0)
  const cores = known.reduce((sum, row) => sum + row.cores, 0)
  console.log(
    [
      '',
      `CPU per case, steady phase (${cases} cases, until all were handled); resident memory at its end, ${casesInLog} cases in the log:`,
      '  process                           ms/case    cores busy    RSS MiB',
      ...known.map((row) => `  ${row.name.padEnd(32)} ${row.msPerCase.toFixed(3).padStart(8)}    ${row.cores.toFixed(2).padStart(6)}    ${Number.isFinite(row.rssMib) ? row.rssMib.toFixed(0).padStart(7) : '      –'}`),
      `  ${'total'.padEnd(32)} ${total.toFixed(3).padStart(8)}    ${cores.toFixed(2).padStart(6)}`,
      '',
    ].join('\n'),
  )
}

/** BENCH_VARIANTS: the steady phase on the product with its metrics and tracing off and on, alternating. */
async function compareVariants(names: readonly VariantName[]): Promise<void> {
  if (mode !== 'standalone') throw new Error('BENCH_VARIANTS is for the standalone mode (one process whose CPU is read)')
  const sink: OtlpReceiver | undefined = names.includes('export') || names.includes('sampled') ? await startOtlpReceiver({ keepSpans: false }) : undefined
  const runs: Array<{ variant: VariantName; value: Awaited<ReturnType<typeof main>> }> = []
  try {
    for (const variant of variantSchedule(names)) {
      say(`\nvariant ${variant}…`)
      runs.push({ variant, value: await main(variantEnv(variant, sink?.url), false) })
    }
  } finally {
    await sink?.close()
  }
  const cpu = meanBy(runs, (r) => r.cpuMsPerCase)
  const routed = meanBy(runs, (r) => r.report.submitToRoutedMs.p99)
  const ack = meanBy(runs, (r) => r.report.submitToAcknowledgementMs.p99)
  const http = meanBy(runs, (r) => r.report.submitHttp.p99)
  const ms = (n: number) => n.toFixed(0).padStart(5)
  console.log(
    [
      '',
      `bench:flow variants — ${rate} submissions/s (${arrivals}) for ${seconds} s, ${runs.length / names.length} rounds each (means)`,
      '  variant    CPU ms/case   Δ off     routed p99   ack p99   submit p99 (ms)',
      ...names.map(
        (name) =>
          `  ${name.padEnd(9)} ${cpu.get(name)!.toFixed(3).padStart(11)}   ${against(cpu.get('off'), cpu.get(name)!).padStart(7)}   ${ms(routed.get(name)!)}        ${ms(ack.get(name)!)}     ${ms(http.get(name)!)}`,
      ),
      `  per run: ${runs.map((r) => `${r.variant} ${r.value.cpuMsPerCase.toFixed(3)} ms, ack p99 ${r.value.report.submitToAcknowledgementMs.p99} ms`).join('; ')}`,
      ...(sink === undefined ? [] : [`  OTLP receiver got ${sink.requests.length} export requests, ${Math.round(sink.bytes() / 1024)} KiB`]),
      '  target: metrics ≤ 5 %, export ≤ 10 % CPU per case against off',
      '',
    ].join('\n'),
  )
}

const variants = variantsFromEnv()
if (variants === undefined) await main()
else await compareVariants(variants)
