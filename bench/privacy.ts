// pnpm bench:privacy — what sealing the personal data costs: `pnpm bench:intake` and a steady
// `pnpm bench:flow` against the product as it is and against the last commit before sealing (a
// git worktree in .bench/baseline), alternated A B A B in one run so that a machine getting busier
// or quieter weighs on both; then the erasure of 10,000 cases of one person (bench/erasure.ts).
// Options (env): BENCH_BASELINE_REF (default: the parent of the commit that sealed the events),
// BENCH_ROUNDS (2), BENCH_SECONDS (10 for intake), BENCH_FLOW_RATE (500), BENCH_FLOW_SECONDS (15),
// BENCH_ERASURE_CASES (10000).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const say = (text: string): void => void process.stderr.write(`${text}\n`)

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim()
}

function baselineRef(): string {
  if (process.env.BENCH_BASELINE_REF !== undefined) return process.env.BENCH_BASELINE_REF
  const sealing = git('log', '--format=%H', '-1', '--grep=Personal data sealed in the log (schema v2)')
  if (sealing === '') throw new Error('cannot find the commit that sealed the events: set BENCH_BASELINE_REF')
  // The commits before it added the event type and the key store, not the sealing itself.
  return `${sealing}^`
}

/** A worktree of the baseline, installed once (.bench/baseline). */
function prepareBaseline(ref: string): string {
  const dir = join(root, '.bench', 'baseline')
  const commit = git('rev-parse', ref)
  if (existsSync(dir) && git('-C', dir, 'rev-parse', 'HEAD') !== commit) {
    git('worktree', 'remove', '--force', dir)
  }
  if (!existsSync(dir)) {
    say(`baseline: worktree of ${commit.slice(0, 10)} in ${dir}…`)
    git('worktree', 'add', '--detach', dir, commit)
    say('baseline: pnpm install (offline from the store)…')
    execFileSync('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
  }
  return dir
}

/** Runs one benchmark script of this checkout against the server of `serverRoot`; its stdout. */
function run(script: string, serverRoot: string, env: Record<string, string>): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, script)], {
    cwd: root,
    env: { ...process.env, ...env, BENCH_ROOT: serverRoot },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.status !== 0) throw new Error(`${script} failed (exit ${result.status}):\n${result.stdout}`)
  return result.stdout
}

const number = (text: string, pattern: RegExp, what: string): number => {
  const match = pattern.exec(text)
  if (match === null) throw new Error(`no ${what} in the output:\n${text}`)
  return Number(match[1]!.replace(/,/g, ''))
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const baseline = prepareBaseline(baselineRef())
const sides = [
  { name: 'without sealing (baseline)', root: baseline },
  { name: 'with sealing (this checkout)', root },
] as const

const intake: Record<string, number[]> = { [sides[0].name]: [], [sides[1].name]: [] }
const intakeP99: Record<string, number[]> = { [sides[0].name]: [], [sides[1].name]: [] }
const routedP99: Record<string, number[]> = { [sides[0].name]: [], [sides[1].name]: [] }
const ackP99: Record<string, number[]> = { [sides[0].name]: [], [sides[1].name]: [] }
for (let round = 1; round <= rounds; round += 1) {
  for (const side of round % 2 === 1 ? sides : [...sides].reverse()) {
    say(`round ${round}/${rounds}: bench:intake, ${side.name}…`)
    const out = run('bench/intake.ts', side.root, { BENCH_SECONDS: process.env.BENCH_SECONDS ?? '10' })
    intake[side.name]!.push(number(out, /durable submissions\/s\s+([\d,]+)/, 'submissions/s'))
    intakeP99[side.name]!.push(number(out, /latency p50 \/ p99\s+[\d.]+ ms \/ ([\d.]+) ms/, 'intake p99'))
    say(`round ${round}/${rounds}: bench:flow at ${process.env.BENCH_FLOW_RATE ?? 500}/s, ${side.name}…`)
    const flow = run('bench/flow.ts', side.root, { BENCH_RAMP: 'off', BENCH_RATE: process.env.BENCH_FLOW_RATE ?? '500', BENCH_SECONDS: process.env.BENCH_FLOW_SECONDS ?? '15' })
    routedP99[side.name]!.push(number(flow, /submit→routed p50 [\d.]+ ms, p99 ([\d.]+) ms/, 'routing p99'))
    ackP99[side.name]!.push(number(flow, /submit→acknowledgement p50 [\d.]+ ms, p99 ([\d.]+) ms/, 'acknowledgement p99'))
  }
}

const [without, withSealing] = [sides[0].name, sides[1].name]
const change = (a: number, b: number): string => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %`
const row = (label: string, values: Record<string, number[]>, unit: string): string => {
  const a = median(values[without]!)
  const b = median(values[withSealing]!)
  return `  ${label.padEnd(34)} ${`${a.toLocaleString('en-US', { maximumFractionDigits: 0 })} ${unit}`.padEnd(16)} ${`${b.toLocaleString('en-US', { maximumFractionDigits: 0 })} ${unit}`.padEnd(16)} ${change(a, b)}   (runs: ${values[without]!.join(', ')} | ${values[withSealing]!.join(', ')})`
}

say('erasure of one person’s cases…')
const erasure = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/erasure.ts')], { cwd: root, env: process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
if (erasure.status !== 0) throw new Error(`bench/erasure.ts failed:\n${erasure.stdout}`)

process.stdout.write(
  [
    '',
    `bench:privacy — medians of ${rounds} alternated runs each (baseline ${git('-C', baseline, 'rev-parse', '--short', 'HEAD')})`,
    `  ${''.padEnd(34)} ${'without sealing'.padEnd(16)} ${'with sealing'.padEnd(16)} change`,
    row('durable submissions/s (intake)', intake, '/s'),
    row('intake latency p99', intakeP99, 'ms'),
    row(`submit→routed p99 at ${process.env.BENCH_FLOW_RATE ?? 500}/s (flow)`, routedP99, 'ms'),
    row('submit→acknowledgement p99', ackP99, 'ms'),
    '  targets: ≤ 10 % fewer submissions/s; routing p99 unchanged within noise',
    erasure.stdout.trimEnd(),
    '',
  ].join('\n'),
)
