// Variants of the product's operability switches, measured against each other in one benchmark run
// (BENCH_VARIANTS=off,metrics,tracing,export for bench:intake and bench:flow):
//   off      — CIVIC_METRICS=off, CIVIC_TRACING=off: no instrumentation at all;
//   metrics  — Prometheus metrics on, tracing off;
//   tracing  — metrics and trace propagation on (trace ids in events, Kafka headers, logs), no exporter;
//   export   — as tracing, and spans exported over OTLP/HTTP to a receiver this benchmark runs;
//   sampled  — as export, with the SDK's standard head sampling at 10 % of the traces
//              (OTEL_TRACES_SAMPLER=parentbased_traceidratio, OTEL_TRACES_SAMPLER_ARG=0.1), as a busy desk would run it.
// The variants run in turn, BENCH_VARIANT_ROUNDS times (default 2) in alternating order, so a drift of
// the machine (thermal, page cache, another process) does not land on one variant alone. Each
// server's CPU time (user + system, all threads, from /proc) is read before and after the measured
// phase: CPU milliseconds per submission is the cost figure, the throughput and latencies the effect.
import { readdirSync, readFileSync } from 'node:fs'

export type VariantName = 'off' | 'metrics' | 'tracing' | 'export' | 'sampled'
const NAMES: readonly VariantName[] = ['off', 'metrics', 'tracing', 'export', 'sampled']

/** The variants BENCH_VARIANTS asks for, in order, or undefined for one run on the product's defaults. */
export function variantsFromEnv(): VariantName[] | undefined {
  const raw = process.env.BENCH_VARIANTS
  if (raw === undefined || raw === '') return undefined
  const names = raw.split(',').map((s) => s.trim())
  for (const name of names) if (!(NAMES as readonly string[]).includes(name)) throw new Error(`BENCH_VARIANTS: unknown variant "${name}" (known: ${NAMES.join(', ')})`)
  return names as VariantName[]
}

/** The rounds of a comparison: every round has every variant once, odd rounds in reverse order. */
export function variantSchedule(names: readonly VariantName[]): VariantName[] {
  const rounds = Number(process.env.BENCH_VARIANT_ROUNDS ?? 2)
  const out: VariantName[] = []
  for (let round = 0; round < rounds; round++) out.push(...(round % 2 === 0 ? names : [...names].reverse()))
  return out
}

/** The environment of a server in a variant (the OTLP receiver's URL for `export`). */
export function variantEnv(name: VariantName, otlpUrl: string | undefined): Record<string, string> {
  switch (name) {
    case 'off':
      return { CIVIC_METRICS: 'off', CIVIC_TRACING: 'off' }
    // The product's defaults: metrics and tracing on, no exporter.
    case 'metrics':
      return { CIVIC_TRACING: 'off' }
    case 'tracing':
      return {}
    case 'export':
      if (otlpUrl === undefined) throw new Error('the export variant needs the OTLP receiver')
      return { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl }
    case 'sampled':
      if (otlpUrl === undefined) throw new Error('the sampled variant needs the OTLP receiver')
      return { OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }
  }
}

/** CPU time (user + system, every thread) a process has used so far, in ms; NaN where /proc is missing. */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticksPerSecond = 100 // USER_HZ, 100 on every Linux this project runs on
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}

/** Resident memory of a process in MiB (VmRSS); NaN where /proc is missing. */
export function rssMibOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  try {
    const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return line === null ? Number.NaN : Number(line[1]) / 1024
  } catch {
    return Number.NaN
  }
}

/** CPU time (ms) of every process with this command name (`/proc/<pid>/comm`), summed: a server of many processes. */
export function sumCpuOf(command: string): number {
  let sum = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== command) continue
    } catch {
      continue // gone meanwhile
    }
    const ms = cpuMsOf(Number(entry))
    if (Number.isFinite(ms)) sum += ms
  }
  return sum
}

/** The mean of each variant's figure over its rounds. */
export function meanBy<T>(runs: ReadonlyArray<{ readonly variant: VariantName; readonly value: T }>, pick: (value: T) => number): Map<VariantName, number> {
  const sums = new Map<VariantName, { sum: number; n: number }>()
  for (const run of runs) {
    const s = sums.get(run.variant) ?? { sum: 0, n: 0 }
    s.sum += pick(run.value)
    s.n++
    sums.set(run.variant, s)
  }
  return new Map([...sums].map(([name, s]) => [name, s.sum / s.n]))
}

/** The change against the `off` variant, signed: "+3.2 %" is 3.2 % more than off. */
export function against(base: number | undefined, value: number): string {
  if (base === undefined || !Number.isFinite(base) || base === 0) return '—'
  const change = ((value - base) / base) * 100
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)} %`
}
