import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import autocannon from 'autocannon'

import { percentile } from '../packages/read-models/src/index.ts'

export { freePort } from '@civic-desk/service-kit/testing'
/** Nearest rank, as the dashboards' response times: one definition for both. */
export { percentile }

/** Starts a TypeScript entry point with tsx as a child process. */
export function startTs(entry: string, env: Record<string, string>): ChildProcess {
  // BENCH_NODE_ARGS passes flags to the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  // A benchmark's server keeps its read models in memory unless told otherwise: a REDIS_URL from
  // the shell would share the default key prefix with a developer's own `pnpm start`.
  const { REDIS_URL: _redis, ...inherited } = process.env
  return spawn(process.execPath, [...extra, '--import', 'tsx', entry], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

/** Polls a URL until it answers 200, or fails after the deadline. */
export async function waitForOk(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

export type LoadResult = autocannon.Result

export async function load(options: autocannon.Options): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)))
    autocannon.track(instance, { renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false })
  })
}


/** What `paced` measured. Latencies are from when each request was due, in ms. */
export interface PacedResult {
  readonly sent: number
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  readonly durationSeconds: number
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number }
  /** Most requests waiting for an answer at one time. */
  readonly maxInFlight: number
}

/**
 * Open-loop load at an even pace: request i is due at start + i / rate, whatever the server does
 * (citizens do not wait for each other's answers), sent over keep-alive connections. Latency is
 * counted from when a request was due, so a server that falls behind shows it (no coordinated
 * omission). autocannon's `overallRate` is not used for this: each of its connections sends its
 * share of a second back to back when the second starts, so "500/s" arrives as a burst of 500
 * requests every second, which measures a spike, not a rate.
 */
export async function paced(options: {
  readonly url: string
  readonly rate: number
  readonly seconds: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: () => string
  /** Requests in flight at most; further due ones wait (and their latency counts the wait). Default 2000. */
  readonly maxInFlight?: number
  readonly label?: string
}): Promise<PacedResult> {
  const { rate, seconds } = options
  const limit = options.maxInFlight ?? 2000
  const target = new URL(options.url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 })
  const total = Math.round(rate * seconds)
  const latencies: number[] = []
  let ok = 0
  let non2xx = 0
  let errors = 0
  let inFlight = 0
  let maxInFlight = 0
  let sent = 0
  let settled = 0
  let allSettled: (() => void) | undefined
  const started = performance.now()
  const dueAt = (i: number): number => started + (i * 1000) / rate

  const send = (dueMs: number): void => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const body = options.body()
    const done = (status: number | null): void => {
      inFlight--
      settled++
      latencies.push(performance.now() - dueMs)
      if (status === null) errors++
      else if (status >= 200 && status < 300) ok++
      else non2xx++
      if (settled === total) allSettled?.()
    }
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...options.headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume()
        res.on('end', () => done(res.statusCode ?? null))
        res.on('error', () => done(null))
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')))
    req.on('error', () => done(null))
    req.end(body)
  }

  let lastReport = started
  while (sent < total) {
    const now = performance.now()
    while (sent < total && dueAt(sent) <= now && inFlight < limit) send(dueAt(sent++))
    if (options.label !== undefined && now - lastReport >= 1000) {
      lastReport = now
      const line = `${options.label} ${((now - started) / 1000).toFixed(0)}/${seconds} s  sent ${sent}  in flight ${inFlight}`
      process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`)
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  if (settled < total) await new Promise<void>((resolve) => (allSettled = resolve))
  if (options.label !== undefined && process.stderr.isTTY) process.stderr.write('\n')
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (p: number): number => Math.round(percentile(latencies, p))
  return {
    sent,
    ok,
    non2xx,
    errors,
    durationSeconds: (dueAt(total) - started) / 1000,
    latency: { p50: at(50), p99: at(99), max: Math.round(latencies.at(-1) ?? Number.NaN) },
    maxInFlight,
  }
}

/** One look at every reader of a standalone process (/v1/ops/streams): its lag in events behind the store's head. */
export interface LagSample {
  readonly atMs: number
  readonly head: number
  readonly byReader: Readonly<Record<string, number>>
  readonly total: number
}

/** The lag of every reader (consumer groups and projections) of a standalone process at `base`. */
export async function readLag(base: string, startedAt: number): Promise<LagSample> {
  const res = await fetch(`${base}/v1/ops/streams`, { headers: { authorization: 'Bearer dev-operator' } })
  if (!res.ok) throw new Error(`/v1/ops/streams answered ${res.status}`)
  const body = (await res.json()) as { head: number; consumers: Array<{ name: string; lag?: number }> }
  const byReader = Object.fromEntries(body.consumers.map((c) => [c.name, c.lag ?? 0]))
  return { atMs: Date.now() - startedAt, head: body.head, byReader, total: Object.values(byReader).reduce((a, b) => a + b, 0) }
}

/**
 * Whether the readers kept up during a run, from lag samples taken every second: in the run's
 * second half (the first fills the pipeline), a reader whose lag is at its highest at the end and
 * above one second of events is still falling behind. `eventsPerSecond` turns events into seconds.
 */
export function keptUp(samples: readonly LagSample[], runMs: number, eventsPerSecond: number): { readonly sustained: boolean; readonly behind: string[]; readonly worstSeconds: number } {
  const secondHalf = samples.filter((s) => s.atMs >= runMs / 2)
  const names = [...new Set(secondHalf.flatMap((s) => Object.keys(s.byReader)))]
  const oneSecond = Math.max(1, eventsPerSecond)
  const behind: string[] = []
  let worst = 0
  for (const name of names) {
    const lags = secondHalf.map((s) => s.byReader[name] ?? 0)
    const max = Math.max(0, ...lags)
    const last = lags.at(-1) ?? 0
    worst = Math.max(worst, max / oneSecond)
    if (last === max && last > oneSecond) behind.push(name)
  }
  return { sustained: secondHalf.length > 0 && behind.length === 0, behind, worstSeconds: Math.round(worst * 100) / 100 }
}
