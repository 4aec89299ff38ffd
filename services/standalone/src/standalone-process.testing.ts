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

/** Starts standalone (`main.ts`), waits until it listens, and returns its origin and data folder. */
export async function startStandaloneProcess(t: Teardown, env: Readonly<Record<string, string>> = {}): Promise<{ readonly base: string; readonly dataDir: string }> {
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
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
      return (await fetch(`${base}/healthz`)).ok
    },
    (ok) => ok,
    'the standalone to listen',
  )
  return { base, dataDir }
}
