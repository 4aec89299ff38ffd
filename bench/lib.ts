import { spawn, type ChildProcess } from 'node:child_process'
import autocannon from 'autocannon'

export { freePort } from '@civic-desk/e2e/src/net.ts'

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
