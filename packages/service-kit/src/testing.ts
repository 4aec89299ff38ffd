// Test support of the project, as `@civic-desk/service-kit/testing` (never imported by production
// code): a logger whose lines a test can read, free ports and waiting on a condition for tests and
// benchmarks that start real processes. No side effects on import.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { ACCESS_RULES, type AccessRule } from './access-rules.ts'
import { createLogger, type Logger } from './logging.ts'
import { API_TAGS, isHiddenRoute, registeredRoutes } from './openapi.ts'

/** A logger whose JSON lines are collected in `lines` instead of written to stdout. */
export function capturingLogger(level: 'info' | 'debug' = 'info', name = 'test'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: createLogger({ level, name, destination }), lines }
}

/** A free TCP port on 127.0.0.1 (the OS's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/** Polls `read` until `done` holds and returns the last value; fails with the value after the deadline. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let value: T | undefined
    let failure: unknown
    try {
      value = await read()
      if (done(value)) return value
    } catch (error) {
      failure = error
    }
    if (Date.now() > deadline) {
      const seen = failure !== undefined ? `error ${failure instanceof Error ? failure.message : String(failure)}` : JSON.stringify(value).slice(0, 1500)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${seen}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** What exclusiveHeavyTest needs of a tap test: its teardown, comments, timeout and parent. */
export interface HeavyTestHandle {
  teardown(fn: () => void | Promise<void>): void
  comment(...args: unknown[]): void
  setTimeout(ms: number): void
  readonly parent?: unknown
}

/**
 * Runs the test files that start a Kafka broker and a whole stack of service processes one at a
 * time, even when tap runs files side by side: two such stacks on a 2-core machine starve each
 * other's brokers and consumers (kafkajs retries run out, a service gives up on its broker), which
 * is a fault of the test machine, not of the product. Takes a lock directory in the system's temp
 * folder, released when the test ends (also when it fails or times out).
 *
 * A lock whose holder is gone is taken over: its process no longer runs, or the process with its
 * pid started at another time than the holder (pids come round again: 32,768 of them here, and a
 * killed holder's lock outlives it), or it never wrote its name (it died between the two steps).
 *
 * The file's time limit counts from when it holds the lock: `runMs` from then on. While it waits,
 * the limit is the wait's own (`waitMs`) plus `runMs`, so a file queued behind other stacks' runs
 * (with two files side by side, it may lose the lock to several in turn) is never timed out for
 * their minutes. A holder that hangs is ended by its own limit, and its lock is then taken over,
 * so the long wait only bounds what cannot otherwise happen.
 */
export async function exclusiveHeavyTest(t: HeavyTestHandle, name: string, runMs: number, waitMs = 60 * 60_000): Promise<void> {
  // The file's limit is the root test's: tap's runner restarts its clock whenever the root sets one.
  let file: HeavyTestHandle = t
  while (isHeavyTestHandle(file.parent)) file = file.parent
  const { dir, holderFile } = heavyTestLock()
  const readHolder = (): string => {
    try {
      return readFileSync(holderFile, 'utf8')
    } catch {
      return ''
    }
  }
  const me = `${process.pid} ${processStartTime(process.pid) ?? '-'} ${name}`
  const started = Date.now()
  let said = false
  for (;;) {
    try {
      mkdirSync(dir)
      writeFileSync(holderFile, me)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = readHolder()
      if (holderIsGone(holder, () => Date.now() - statSync(dir).mtimeMs)) {
        t.comment(`taking over the heavy-test lock of a holder that is gone (${holder || 'no name written'})`)
        rmSync(dir, { recursive: true, force: true })
        continue
      }
      if (!said) {
        t.comment(`waiting for another heavy test to finish (${holder || 'starting'})`)
        file.setTimeout(waitMs + runMs)
        said = true
      }
      if (Date.now() - started > waitMs) throw new Error(`waited ${waitMs} ms for the heavy-test lock held by ${holder}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  if (said) t.comment(`${name} runs after waiting ${Math.round((Date.now() - started) / 1000)} s for the heavy-test lock`)
  file.setTimeout(runMs)
  // Only while it is still this test's (a holder taken for gone may find its lock someone else's).
  // A process killed outright leaves its lock behind: the next one finds its holder gone.
  t.teardown(() => {
    if (readHolder() === me) rmSync(dir, { recursive: true, force: true })
  })
}

/** Where the heavy-test lock lives under a temp folder (the system's, unless given): its directory and the file naming its holder. */
export function heavyTestLock(root = tmpdir()): { readonly dir: string; readonly holderFile: string } {
  const dir = join(root, 'civic-desk-heavy-test.lock')
  return { dir, holderFile: join(dir, 'holder') }
}

/** When a process started (clock ticks since boot, from /proc), or undefined where that cannot be read. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command name in parentheses (which may hold spaces) start at the third; the start time is the 22nd.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * Whether the heavy-test lock's holder (`pid start name`, or `pid name` from before start times
 * were written) is gone; `lockAgeMs` reads how long ago the lock was taken.
 */
export function holderIsGone(holder: string, lockAgeMs: () => number): boolean {
  if (holder === '') {
    // Taken a moment ago and its name on the way, or its holder died in between.
    try {
      return lockAgeMs() > 10_000
    } catch {
      return false // the lock went away meanwhile: the next try takes it
    }
  }
  const [pidText, startText] = holder.split(' ')
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0) return true
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: a process runs with that pid, of another user; not one of ours, but alive.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return true
  }
  if (startText === undefined || !/^\d+$/.test(startText)) return false
  const start = processStartTime(pid)
  return start !== undefined && start !== startText
}

function isHeavyTestHandle(value: unknown): value is HeavyTestHandle {
  return typeof value === 'object' && value !== null && typeof (value as { setTimeout?: unknown }).setTimeout === 'function'
}

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A parsed Prometheus text exposition: the samples, and the metric families its `# TYPE` lines name. */
export interface ParsedMetrics {
  readonly samples: readonly MetricSample[]
  readonly families: ReadonlySet<string>
  /** Sum of the samples named `name` whose labels include `labels`. */
  value(name: string, labels?: Readonly<Record<string, string>>): number
}

/** Parses the text format prom-client writes (one sample a line, `# HELP` / `# TYPE` comments). */
export function parseMetrics(text: string): ParsedMetrics {
  const samples: MetricSample[] = []
  const families = new Set<string>()
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      families.add(line.split(' ')[2] ?? '')
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return {
    samples,
    families,
    value(name, labels = {}) {
      return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0)
    },
  }
}

/**
 * What the API description of an app made by `createHttpApp` gets wrong about its own route table
 * (empty when nothing): a route not in the document, an operation without a 2xx response schema,
 * a known tag, a summary or a security requirement, and a documented operation that is no route.
 * The routes hidden on purpose (`isHiddenRoute`: the console's files, Swagger UI's) and HEAD routes
 * are left out. Call after every route is added (it readies the app).
 */
export async function describedRouteGaps(app: FastifyInstance, rules: readonly AccessRule[] = ACCESS_RULES): Promise<string[]> {
  await app.ready()
  const doc = app.swagger() as unknown as DescribedDocument
  const tags = new Set(API_TAGS.map((tag) => tag.name))
  const gaps: string[] = []
  const documented = registeredRoutes(app).filter((r) => r.method !== 'HEAD' && !isHiddenRoute(r.method, r.url, rules))
  if (documented.length === 0) gaps.push('no routes registered: was the app made by createHttpApp?')
  for (const route of documented) {
    const name = `${route.method} ${route.url}`
    const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()]
    if (op === undefined) {
      gaps.push(`${name} is missing from the document`)
      continue
    }
    const ok = Object.entries(op.responses ?? {}).some(([status, r]) => /^2\d\d$/.test(status) && Object.values(r.content ?? {}).some((c) => c.schema !== undefined))
    if (!ok) gaps.push(`${name}: no 2xx response with a schema`)
    if ((op.tags ?? []).length === 0 || !(op.tags ?? []).every((tag) => tags.has(tag))) gaps.push(`${name}: not tagged with a known group (${(op.tags ?? []).join(', ')})`)
    if (typeof op.summary !== 'string' || op.summary.length === 0) gaps.push(`${name}: no summary`)
    if (!Array.isArray(op.security)) gaps.push(`${name}: no security requirement (no ACCESS_RULES row?)`)
  }
  const known = new Set(documented.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`))
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) if (!known.has(`${method} ${path}`)) gaps.push(`${method.toUpperCase()} ${path} is documented but is no route`)
  }
  return gaps
}

interface DescribedOperation {
  readonly tags?: readonly string[]
  readonly summary?: string
  readonly security?: readonly unknown[]
  readonly responses?: Record<string, { readonly content?: Record<string, { readonly schema?: unknown }> }>
}
interface DescribedDocument {
  readonly paths: Record<string, Record<string, DescribedOperation>>
}

/** `/v1/cases/:caseId` → `/v1/cases/{caseId}`, as OpenAPI writes paths. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
