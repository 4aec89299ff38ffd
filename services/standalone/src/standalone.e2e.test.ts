// Starts `pnpm start`'s entry point as a real process on a fresh data folder, submits a Turkish
// complaint over HTTP, stops the process, starts it again and finds the case.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const entry = fileURLToPath(new URL('./main.ts', import.meta.url))

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

interface Running {
  child: ChildProcess
  output: () => string
}

async function start(env: Record<string, string>, readyUrl: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(readyUrl)).ok) return { child, output: () => output }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`standalone not ready after 30 s:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function stop(running: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode
  const exited = new Promise<number | null>((r) => running.child.once('exit', (code) => r(code)))
  running.child.kill(signal)
  return exited
}

t.test('standalone: submit, stop, start again, the case is still there', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-standalone-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const env = { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'info' }
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

  const first = await start(env, `${base}/readyz`)
  t.teardown(() => stop(first, 'SIGKILL'))
  t.match(first.output(), /dev-channel/, 'prints the development tokens')
  t.match(first.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}`), 'prints the URL')

  const submitted = await fetch(`${base}/v1/requests`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' },
    body: JSON.stringify({
      channel: 'web',
      kind: 'complaint',
      category: 'cop-toplama',
      description: 'Gül Sokağı’ndaki çöp konteynerleri üç gündür boşaltılmadı; İçerisi taşıyor, koku çok ağır.',
      citizen: { name: 'Gökhan Işık', phone: '0532 444 55 66', preferredChannel: 'sms' },
    }),
  })
  t.equal(submitted.status, 201)
  const receipt = (await submitted.json()) as { trackingCode: string; caseId: string }

  t.equal(await stop(first), 0, 'SIGTERM shuts down cleanly')
  t.match(first.output(), /"msg":"case submitted"/, 'logs the submission')

  const second = await start(env, `${base}/readyz`)
  t.teardown(() => stop(second, 'SIGKILL'))
  const view = await fetch(`${base}/v1/requests/${receipt.trackingCode}`)
  t.equal(view.status, 200)
  t.match(await view.json(), { trackingCode: receipt.trackingCode, status: 'submitted', category: { code: 'cop-toplama' } })
  t.equal(await stop(second), 0)
})

t.test('standalone refuses to start on invalid configuration and says how to fix it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, PORT: 'seventy', CIVIC_DATA_DIRR: '/tmp/x' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  t.equal(code, 1)
  t.match(output, /PORT/)
  t.match(output, /CIVIC_DATA_DIRR/)
})
