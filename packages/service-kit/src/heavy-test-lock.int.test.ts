// exclusiveHeavyTest under tap's own runner: a file's time limit counts from when it holds the
// heavy-test lock, so a file queued behind another stack's run is not timed out for that run's
// minutes (CI failed so once), and its own limit still holds once it runs.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { heavyTestLock, processStartTime } from './testing.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const fixture = fileURLToPath(new URL('./heavy-test-lock.fixture.ts', import.meta.url))

/** Runs the fixture with tap's runner and a per-file limit of `timeoutS`, its temp folder `tmp`; `onOutput` sees what it prints as it comes. */
function runFixture(tmp: string, timeoutS: number, env: Record<string, string>, onOutput: (output: string) => void = () => undefined): Promise<{ code: number | null; output: string; ms: number }> {
  // The runner's own variables would make it think it is a child of this test's runner.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TAP') && !name.startsWith('_TAPJS')))
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, 'node_modules/.bin/tap'), [`--timeout=${timeoutS}`, '--reporter=tap', '--disable-coverage', fixture], {
      cwd: repoRoot,
      env: { ...clean, ...env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, ended whole if it runs past any limit of these cases.
      detached: true,
    })
    const stopper = setTimeout(() => {
      output += '\n[heavy-test-lock.int: still running after 60 s; killed]'
      process.kill(-(child.pid ?? 0), 'SIGKILL')
    }, 60_000)
    let output = ''
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8')
      onOutput(output)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(stopper)
      resolve({ code, output, ms: Date.now() - started })
    })
  })
}

/** A temp folder of the test's own (the lock's place for the fixture), removed when it ends. */
function tempDir(t: Test): string {
  const tmp = mkdtempSync(join(tmpdir(), 'heavy-lock-'))
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
  return tmp
}

/** Takes the heavy-test lock in `tmp` in this (living) process's name; the function returned gives it up. */
function holdLock(t: Test, tmp: string, holder = `${process.pid} ${processStartTime(process.pid) ?? '-'} another-stack.e2e`): () => void {
  const { dir, holderFile } = heavyTestLock(tmp)
  mkdirSync(dir)
  writeFileSync(holderFile, holder)
  const release = (): void => rmSync(dir, { recursive: true, force: true })
  t.teardown(release)
  return release
}

t.test('a file that waits for the lock longer than its limit is not timed out for the wait', async (t) => {
  // Limit 3 s for the file; the lock is given up 6 s after the fixture started waiting for it
  // (however long its start took), and then it has 20 s to run.
  const tmp = tempDir(t)
  const release = holdLock(t, tmp)
  let waitingSince: number | undefined
  let timer: NodeJS.Timeout | undefined
  t.teardown(() => clearTimeout(timer))
  const run = await runFixture(tmp, 3, { HEAVY_FIXTURE_RUN_MS: '20000' }, (output) => {
    if (waitingSince !== undefined || !output.includes('waiting for another heavy test to finish')) return
    waitingSince = Date.now()
    timer = setTimeout(release, 6_000)
  })
  t.equal(run.code, 0, `the queued file passed:\n${run.output.slice(-3_000)}`)
  t.match(run.output, /waiting for another heavy test to finish \(\d+ \d+ another-stack\.e2e\)/)
  t.match(run.output, /heavy-test-lock\.fixture runs after waiting \d+ s for the heavy-test lock/)
  t.ok(waitingSince !== undefined && Date.now() - waitingSince >= 6_000, 'it ran once the lock was given up, after waiting twice its limit')
})

t.test('once it holds the lock, its own limit applies: a file that overruns it is timed out', async (t) => {
  // Limit 60 s for the file, but 2 s once it holds the (free) lock, and 30 s of work.
  const tmp = tempDir(t)
  const run = await runFixture(tmp, 60, { HEAVY_FIXTURE_RUN_MS: '2000', HEAVY_FIXTURE_WORK_MS: '30000' })
  t.not(run.code, 0, 'the file failed')
  t.match(run.output, /timeout!/, 'for its time limit')
  t.ok(run.ms < 25_000, `well before its work was done (${run.ms} ms)`)
  t.notOk(existsSync(heavyTestLock(tmp).dir), 'the timed-out file gave its lock up')
})

t.test("a lock whose holder's pid now belongs to another process is taken over at once", async (t) => {
  // This process's pid, with a start time it never had: a holder killed before its teardown, whose
  // pid came round again. Without the start time, the fixture would wait for it (killed after 60 s).
  const tmp = tempDir(t)
  holdLock(t, tmp, `${process.pid} 1 killed-stack.e2e`)
  const run = await runFixture(tmp, 20, { HEAVY_FIXTURE_RUN_MS: '20000' })
  t.equal(run.code, 0, `the file passed:\n${run.output.slice(-3_000)}`)
  t.match(run.output, new RegExp(`taking over the heavy-test lock of a holder that is gone \\(${process.pid} 1 killed-stack\\.e2e\\)`))
  t.notMatch(run.output, /waiting for another heavy test/)
})
