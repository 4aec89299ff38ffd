// Test support of the project, as `@civic-desk/service-kit/testing` (never imported by production
// code): a logger whose lines a test can read, free ports and waiting on a condition for tests and
// benchmarks that start real processes. No side effects on import.
import { createServer } from 'node:net'
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
 * folder (waiting for it, taking over one whose holder died), released when the test ends.
 *
 * The file's time limit counts from when it holds the lock: `runMs` from then on. While it waits,
 * the limit is the wait's own (`waitMs`) plus `runMs`, so a file queued behind other stacks' runs
 * (with two files side by side, it may lose the lock to several in turn) is never timed out for
 * their minutes: CI failed so once on a slow day. A holder that hangs is ended by its own limit,
 * and its lock is then taken over, so the long wait only bounds what cannot otherwise happen.
 */
export async function exclusiveHeavyTest(t: HeavyTestHandle, name: string, runMs: number, waitMs = 60 * 60_000): Promise<void> {
  const { mkdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  // The file's limit is the root test's: tap's runner restarts its clock whenever the root sets one.
  let file: HeavyTestHandle = t
  while (isHeavyTestHandle(file.parent)) file = file.parent
  const dir = join(tmpdir(), 'civic-desk-heavy-test.lock')
  const started = Date.now()
  let said = false
  for (;;) {
    try {
      mkdirSync(dir)
      writeFileSync(join(dir, 'holder'), `${process.pid} ${name}`)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = (() => {
        try {
          return readFileSync(join(dir, 'holder'), 'utf8')
        } catch {
          return ''
        }
      })()
      const pid = Number(holder.split(' ')[0])
      const alive = Number.isInteger(pid) && pid > 0 && (() => {
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      })()
      if (holder !== '' && !alive) {
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
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
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
