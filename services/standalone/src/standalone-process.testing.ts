// A real standalone process for the end-to-end tests that talk to it over HTTP: a fresh data folder,
// a free port, read models in memory (a REDIS_URL from the shell is not passed on), killed and
// removed when the test ends. Its output is kept for the error when it exits before listening.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually, freePort } from '@civic-desk/service-kit/testing'

const entry = fileURLToPath(new URL('./main.ts', import.meta.url))

/** The part of a tap test this needs (its teardown). */
interface Teardown {
  teardown(fn: () => void): void
}

export interface StandaloneProcessOptions {
  /** What to wait for: `/healthz` (listening, default) or `/readyz` (its readers caught up too). */
  readonly until?: 'healthz' | 'readyz'
  /** Longest wait for it. Default: `eventually`'s. */
  readonly timeoutMs?: number
}

/** Starts standalone (`main.ts`), waits until it listens (or is ready), and returns its origin, data folder and output so far. */
export async function startStandaloneProcess(
  t: Teardown,
  env: Readonly<Record<string, string>> = {},
  options: StandaloneProcessOptions = {},
): Promise<{ readonly base: string; readonly dataDir: string; output(): string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-standalone-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const { REDIS_URL: _redisUrl, ...inherited } = process.env
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...inherited, PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const until = options.until ?? 'healthz'
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
      return (await fetch(`${base}/${until}`)).ok
    },
    (ok) => ok,
    until === 'healthz' ? 'the standalone to listen' : 'the standalone to be ready',
    ...(options.timeoutMs === undefined ? [] : [options.timeoutMs]),
  )
  return { base, dataDir, output: () => output }
}
