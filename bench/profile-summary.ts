// Where a process's CPU went, from the V8 CPU profiles `node --cpu-prof` writes (bench:flow:kafka's
// BENCH_PROFILE): self time grouped by the package (or part of this repository) of the function
// that spent it, and the functions that spent the most, as shares of the profiled time and as ms
// per case when the number of cases is given.
//
//   tsx bench/profile-summary.ts <profile file or folder>… [--cases N] [--top 12]
//
// bench/flow.ts calls `summariseProfiles` itself after a profiled run.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples?: readonly number[]
  readonly timeDeltas?: readonly number[]
  readonly startTime: number
  readonly endTime: number
}

export interface ProfileSummary {
  readonly file: string
  /** Sampled time in ms, idle excluded. */
  readonly busyMs: number
  readonly idleMs: number
  readonly gcMs: number
  /** Self time by where the code lives (a package, a part of this repository, node itself). */
  readonly byOwner: ReadonlyArray<{ readonly owner: string; readonly ms: number }>
  readonly topFunctions: ReadonlyArray<{ readonly name: string; readonly ms: number }>
}

/** Where a function lives: `kafkajs`, `pg`, `zod`, `packages/case-feed`, `node:internal`, … */
export function ownerOf(url: string, functionName: string): string {
  if (url === '') return functionName === '(garbage collector)' ? 'garbage collection' : functionName.startsWith('(') ? functionName : 'native / V8'
  const inModules = url.lastIndexOf('node_modules/')
  if (inModules >= 0) {
    const rest = url.slice(inModules + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? 'node (internal)' : url
  const repo = /\/(packages|services|bench)\/([^/]+)\//.exec(url)
  if (repo !== null) return `${repo[1]}/${repo[2]}`
  return url
}

export function summariseProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMs = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  // A sample's time is the delta to the next sample (V8's own convention for self time).
  for (let i = 0; i < samples.length; i++) {
    const ms = (deltas[i + 1] ?? 0) / 1000
    selfMs.set(samples[i]!, (selfMs.get(samples[i]!) ?? 0) + ms)
  }
  const byOwner = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let idleMs = 0
  let gcMs = 0
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') {
      idleMs += ms
      continue
    }
    if (functionName === '(garbage collector)') gcMs += ms
    const owner = ownerOf(url, functionName)
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms)
    const name = `${functionName || '(anonymous)'} ${owner}${url === '' ? '' : `:${lineNumber + 1}`}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
  }
  const busyMs = [...byOwner.values()].reduce((sum, ms) => sum + ms, 0)
  const sorted = <K>(map: Map<K, number>) => [...map].sort((a, b) => b[1] - a[1])
  return {
    file,
    busyMs,
    idleMs,
    gcMs,
    byOwner: sorted(byOwner).map(([owner, ms]) => ({ owner, ms })),
    topFunctions: sorted(byFunction)
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms })),
  }
}

/** Every `.cpuprofile` under `path` (a file or a folder, searched one level of sub-folders deep). */
export function profileFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    const full = join(path, entry.name)
    if (entry.isDirectory()) return readdirSync(full).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(full, name))
    return entry.name.endsWith('.cpuprofile') ? [full] : []
  })
}

/** The summary as text: owners with more than 1 % of the busy time, then the top functions. */
export function formatSummary(label: string, summary: ProfileSummary, cases?: number): string {
  const share = (ms: number) => `${((ms / Math.max(1e-9, summary.busyMs)) * 100).toFixed(1).padStart(5)} %`
  const perCase = (ms: number) => (cases === undefined ? '' : `  ${(ms / cases).toFixed(3).padStart(7)} ms/case`)
  return [
    `${label}: ${(summary.busyMs / 1000).toFixed(1)} s busy (garbage collection ${share(summary.gcMs).trim()}), ${(summary.idleMs / 1000).toFixed(1)} s idle${cases === undefined ? '' : `, ${cases} cases`}`,
    '  by owner:',
    ...summary.byOwner.filter((o) => o.ms / summary.busyMs >= 0.01).map((o) => `    ${o.owner.padEnd(34)} ${share(o.ms)}${perCase(o.ms)}`),
    '  top functions (self time):',
    ...summary.topFunctions.map((f) => `    ${share(f.ms)}  ${f.name}`),
  ].join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name)
    if (i < 0) return undefined
    const [value] = args.splice(i, 2).slice(1)
    return value
  }
  const cases = option('--cases')
  const top = Number(option('--top') ?? 12)
  if (args.length === 0) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <profile file or folder>… [--cases N] [--top 12]\n')
    process.exit(2)
  }
  for (const path of args) for (const file of profileFiles(path)) console.log(`${formatSummary(file, summariseProfile(file, top), cases === undefined ? undefined : Number(cases))}\n`)
}
