// pnpm bench:intake — durable submissions per second against a running standalone with a fresh
// data folder (the whole product: routing, notification, the workflow's queues and the dashboards
// follow in the same process), and in the same run a bare fastify hello-world as the ceiling.
// Every second it reads every reader's lag (/v1/ops/streams): a run in which a reader keeps falling
// behind is reported as not sustained, and after the load the time they need to catch up is shown.
// Options (env): BENCH_CONNECTIONS (50), BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3), BENCH_SEED (153),
// BENCH_ROOT (a checkout whose standalone to measure; default this one), BENCH_HELLO=off (no hello-world run),
// BENCH_VARIANTS (e.g. "off,metrics,tracing,export": the product with its metrics and tracing switched
// off and on, in the same run, with the cost of each against off; see bench/variants.ts), BENCH_VARIANT_ROUNDS (2).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSqliteEventStore } from '@civic-desk/event-store'
import type autocannon from 'autocannon'
import { freePort, keptUp, load, readLag, startTs, stop, waitForOk, type LagSample, type LoadResult } from './lib.ts'
import { against, cpuMsOf, meanBy, variantEnv, variantSchedule, variantsFromEnv, type VariantName } from './variants.ts'
import { createWorkload } from './workload.ts'
import { startOtlpReceiver, type OtlpReceiver } from '@civic-desk/tracing/testing'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const seconds = Number(process.env.BENCH_SECONDS ?? 15)
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3)
// BENCH_ROOT runs the server of another checkout (e.g. the commit before a change) with this load.
const root = process.env.BENCH_ROOT ?? fileURLToPath(new URL('..', import.meta.url))

// Realistic requests (bench/workload.ts, as bench:flow): many streets, neighbourhoods and categories,
// so duplicates are searched and found as often as a city's traffic makes them. (Until 2026-12 this
// benchmark sent five texts over eight neighbourhoods: every case was compared with thousands of
// open ones in the same place, which measured the duplicate search's worst case, not intake.)
const runId = `intake-${process.pid}-${Date.now().toString(36)}`
const workload = createWorkload({ runId, seed: Number(process.env.BENCH_SEED ?? 153) })

/** Every request a new realistic body; half carry an externalId so both tracking-code paths are measured. */
let sequence = 0
function nextBody(): string {
  sequence++
  const { externalId: _externalId, ...body } = workload.next()
  return JSON.stringify(sequence % 2 === 0 ? { externalId: `${runId}-${sequence}`, ...body } : body)
}

function summary(r: LoadResult, okStatus: number) {
  const ok = okStatus === 201 ? (r.statusCodeStats?.['201']?.count ?? 0) : r['2xx']
  return { ok, perSecond: ok / r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts }
}

async function benchIntake(env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-bench-'))
  const port = await freePort()
  const server = startTs(join(root, 'services/standalone/src/main.ts'), { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env })
  try {
    await waitForOk(`http://127.0.0.1:${port}/readyz`)
    const base = { url: `http://127.0.0.1:${port}/v1/requests`, connections, method: 'POST' as const, headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' } }
    const setupRequest = (req: autocannon.Request) => ({ ...req, body: nextBody() })
    process.stderr.write(`warm-up ${warmupSeconds}s…\n`)
    const warm = await load({ ...base, duration: warmupSeconds, requests: [{ setupRequest }] })
    process.stderr.write(`intake: ${connections} connections for ${seconds}s…\n`)
    const origin = `http://127.0.0.1:${port}`
    const started = Date.now()
    const samples: LagSample[] = []
    const sampler = setInterval(() => {
      readLag(origin, started).then(
        (sample) => void samples.push(sample),
        (error: unknown) => process.stderr.write(`lag sample failed: ${(error as Error).message}\n`),
      )
    }, 1000)
    const headBefore = (await readLag(origin, started)).head
    const cpuBefore = cpuMsOf(server.pid)
    const result = await load({ ...base, duration: seconds, requests: [{ setupRequest }] })
    clearInterval(sampler)
    const atEnd = await readLag(origin, started)
    const eventsPerSecond = (atEnd.head - headBefore) / seconds
    const verdict = keptUp(samples, seconds * 1000, eventsPerSecond)
    // How long the readers need to work off what is left once the load stops.
    let drainMs = 0
    for (let last = atEnd; last.total > 0; last = await readLag(origin, started)) {
      drainMs = Date.now() - started - seconds * 1000
      if (drainMs > 120_000) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // The server's CPU for the measured load's submissions: from the load's start until its readers
    // caught up (work a reader defers past the load is counted, or a variant that starves them would look cheap).
    const cpuMs = cpuMsOf(server.pid) - cpuBefore
    await stop(server)
    // Count what is really on disk: every 201 must be a stored CaseSubmitted.
    const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite') })
    let stored = 0
    for (let after = 0; ; ) {
      const page = await store.readAll({ after, maxCount: 10_000, streamPrefix: 'case-' })
      if (page.length === 0) break
      for (const e of page) if (e.type === 'CaseSubmitted') stored++
      after = page[page.length - 1]!.position
    }
    await store.close()
    const measured = summary(result, 201)
    return { ...measured, acknowledged: warm['2xx'] + result['2xx'], stored, eventsPerSecond, atEnd, verdict, drainMs, cpuMsPerSubmission: cpuMs / Math.max(1, measured.ok) }
  } finally {
    await stop(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function benchHello() {
  const port = await freePort()
  const server = startTs(join(root, 'bench/hello-server.ts'), { PORT: String(port) })
  try {
    await waitForOk(`http://127.0.0.1:${port}/`)
    await load({ url: `http://127.0.0.1:${port}/`, connections, duration: warmupSeconds })
    process.stderr.write(`hello-world: ${connections} connections for ${seconds}s…\n`)
    return summary(await load({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds }), 200)
  } finally {
    await stop(server)
  }
}

const variants = variantsFromEnv()
if (variants !== undefined) {
  await compareVariants(variants)
  process.exit(0)
}

const intake = await benchIntake()
// BENCH_HELLO=off leaves out the hello-world ceiling (bench:audit runs intake alone, twice).
const hello = process.env.BENCH_HELLO === 'off' ? undefined : await benchHello()
const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
process.stdout.write(
  [
    '',
    `bench:intake — ${connections} connections, ${seconds}s measured after ${warmupSeconds}s warm-up, load from a separate process`,
    `  durable submissions/s   ${f(intake.perSecond)}   (201 answers: ${f(intake.ok)}, errors: ${intake.errors})`,
    // More on disk than acknowledged is expected: requests in flight when the load stopped were stored
    // but their answers were not counted. Fewer would mean a lost acknowledged request.
    `  acknowledged → on disk   ${f(intake.acknowledged)} → ${f(intake.stored)} submissions, warm-up included (${intake.stored >= intake.acknowledged ? 'none lost' : '!! ACKNOWLEDGED REQUESTS MISSING'})`,
    `  latency p50 / p99       ${intake.p50} ms / ${intake.p99} ms`,
    `  events stored/s         ${f(intake.eventsPerSecond)}   (${(intake.eventsPerSecond / Math.max(1, intake.perSecond)).toFixed(2)} per submission)`,
    `  consumers kept up       ${intake.verdict.sustained ? 'yes' : `NO — still falling behind: ${intake.verdict.behind.join(', ')}`} (worst lag in the second half ${intake.verdict.worstSeconds} s of events)`,
    `  lag when the load ended ${Object.entries(intake.atEnd.byReader).map(([name, lag]) => `${name} ${f(lag)}`).join(', ')} events; worked off ${(intake.drainMs / 1000).toFixed(1)} s later`,
    `  sustained               ${intake.verdict.sustained ? f(intake.perSecond) : 'not sustained'} durable submissions/s with every consumer keeping up`,
    ...(hello === undefined
      ? []
      : [`  hello-world req/s       ${f(hello.perSecond)}   (p50 ${hello.p50} ms / p99 ${hello.p99} ms)`, `  ratio to hello-world    ${(intake.perSecond / hello.perSecond).toFixed(2)}`]),
    `  target                  ≥ 2,000/s sustained with every consumer keeping up`,
    '',
  ].join('\n'),
)

/** BENCH_VARIANTS: the same load on the product with its metrics and tracing off and on, alternating. */
async function compareVariants(names: readonly VariantName[]): Promise<void> {
  const sink: OtlpReceiver | undefined = names.includes('export') || names.includes('sampled') ? await startOtlpReceiver({ keepSpans: false }) : undefined
  const runs: Array<{ variant: VariantName; value: Awaited<ReturnType<typeof benchIntake>> }> = []
  try {
    for (const variant of variantSchedule(names)) {
      process.stderr.write(`\nvariant ${variant}…\n`)
      const value = await benchIntake(variantEnv(variant, sink?.url))
      runs.push({ variant, value })
      process.stderr.write(`variant ${variant}: ${Math.round(value.perSecond)} subs/s, p99 ${value.p99} ms, ${value.cpuMsPerSubmission.toFixed(3)} CPU ms per submission\n`)
    }
  } finally {
    await sink?.close()
  }
  const rate = meanBy(runs, (r) => r.perSecond)
  const cpu = meanBy(runs, (r) => r.cpuMsPerSubmission)
  const p99 = meanBy(runs, (r) => r.p99)
  const lost = runs.filter((r) => r.value.stored < r.value.acknowledged).length
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
  const lines = [
    '',
    `bench:intake variants — ${connections} connections, ${seconds}s measured after ${warmupSeconds}s warm-up, ${runs.length / names.length} rounds each (means)`,
    '  variant    subs/s   Δ off     CPU ms/sub   Δ off     p99 ms   (CPU: the server\'s, from the load\'s start until every reader caught up)',
    ...names.map((name) => {
      const r = rate.get(name)!
      const c = cpu.get(name)!
      return `  ${name.padEnd(9)} ${f(r).padStart(7)}   ${against(rate.get('off'), r).padStart(7)}   ${c.toFixed(3).padStart(10)}   ${against(cpu.get('off'), c).padStart(7)}   ${f(p99.get(name)!).padStart(6)}`
    }),
    `  per run: ${runs.map((r) => `${r.variant} ${f(r.value.perSecond)}/s ${r.value.cpuMsPerSubmission.toFixed(3)} ms`).join('; ')}`,
    ...(sink === undefined ? [] : [`  OTLP receiver got ${f(sink.requests.length)} export requests, ${f(sink.bytes() / 1024)} KiB`]),
    `  acknowledged → on disk: ${lost === 0 ? 'none lost in any run' : `!! ${lost} runs lost acknowledged requests`}`,
    '  target: metrics ≤ 5 %, export ≤ 10 % (throughput and CPU per submission against off)',
    '',
  ]
  process.stdout.write(lines.join('\n'))
}
