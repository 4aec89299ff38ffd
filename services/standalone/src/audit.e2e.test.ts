// Issue 14's "done when", on `pnpm start`'s process: a case worked through a transfer, a question to
// the citizen and its resolution; asked for as of three instants (three states); its audit bundle
// downloaded and checked with `pnpm audit:verify --bundle` on a copy with the service stopped; the
// store verified, then one byte of one event flipped in a copy of the SQLite file, and
// `audit:verify --store` names that event; `audit:replay` prints its Turkish timeline.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import t from 'tap'
import { freePort } from '@civic-desk/service-kit/testing'

t.setTimeout(300_000)

const root = fileURLToPath(new URL('../../..', import.meta.url))
const entry = fileURLToPath(new URL('./main.ts', import.meta.url))
const { REDIS_URL: _redis, ...inherited } = process.env
const json = { 'content-type': 'application/json' }
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** Runs one of the product's commands as a user would; its exit code and what it printed. */
function command(script: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, script), ...args], { cwd: root, env: inherited, encoding: 'utf8', timeout: 120_000 })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

t.test('work a case, ask for it as of three instants, verify its bundle and the store, and catch a flipped byte', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-audit-e2e-'))
  const copies = mkdtempSync(join(tmpdir(), 'civic-audit-e2e-copies-'))
  let child: ChildProcess | undefined
  t.teardown(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(dataDir, { recursive: true, force: true })
    rmSync(copies, { recursive: true, force: true })
  })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let output = ''
  child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...inherited, CIVIC_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', CIVIC_AUDIT_CHECKPOINT_INTERVAL_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break
    if (Date.now() > deadline) throw new Error(`standalone not ready after 60 s:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  t.match(output, /CIVIC_AUDIT_SIGNING_KEY verilmedi/, 'the start warns that it made a signing key in the data folder')

  const get = async (path: string, token?: string): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${base}${path}`, { headers: token === undefined ? {} : bearer(token) })
    return { status: res.status, body: await res.json() }
  }
  const post = async (path: string, token: string, body: unknown): Promise<any> => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...json, ...bearer(token) }, body: JSON.stringify(body) })
    const answer = await res.json()
    if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(answer)}`)
    return answer
  }
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (const deadline = Date.now() + 30_000; ; ) {
      const value = await probe()
      if (value !== undefined) return value
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const instant = async (): Promise<string> => {
    await new Promise((r) => setTimeout(r, 30))
    const at = new Date().toISOString()
    await new Promise((r) => setTimeout(r, 30))
    return at
  }

  const receipt = await post('/v1/requests', 'dev-channel', {
    channel: 'call-center',
    externalId: 'alo153-audit-e2e-1',
    kind: 'complaint',
    category: 'yol-cukur',
    description: 'Kemalpaşa Caddesi’nde park alanının yanında derin bir çukur var.',
    location: { neighbourhood: 'Kazımdirik', address: 'Kemalpaşa Cd. No:12' },
    citizen: { name: 'Deniz Aksoy', phone: '+90 532 222 33 44', preferredChannel: 'sms' },
  })
  const caseId = receipt.caseId as string
  await until('routing', async () => ((await get(`/v1/cases/${caseId}`, 'dev-supervisor')).body.status === 'routed' ? true : undefined))
  await post(`/v1/cases/${caseId}/accept`, 'dev-staff-fen-isleri', {})
  const atFen = await instant()
  await post(`/v1/cases/${caseId}/transfer`, 'dev-staff-fen-isleri', { department: 'park-bahce', reason: 'Çukur park alanının içinde; Park ve Bahçeler bakar.' })
  await post(`/v1/cases/${caseId}/accept`, 'dev-staff-park-bahce', {})
  await post(`/v1/cases/${caseId}/request-info`, 'dev-staff-park-bahce', { question: 'Çukur hangi girişin yanında?' })
  const atQuestion = await instant()
  await post(`/v1/cases/${caseId}/citizen-reply`, 'dev-staff-park-bahce', { text: 'Kuzey girişinin hemen solunda.', channel: 'call-center' })
  await post(`/v1/cases/${caseId}/resolve`, 'dev-staff-park-bahce', { resolution: 'Çukur dolduruldu, zemin düzeltildi.' })
  const atEnd = await instant()

  const states = await Promise.all([atFen, atQuestion, atEnd].map(async (at) => (await get(`/v1/cases/${caseId}?asOf=${encodeURIComponent(at)}`, 'dev-auditor')).body))
  t.same(
    states.map((s) => [s.status, s.department.code]),
    [
      ['in_progress', 'fen-isleri'],
      ['waiting_for_citizen', 'park-bahce'],
      ['resolved', 'park-bahce'],
    ],
    'three instants, three states',
  )
  t.equal(states[1].sla.paused, true, 'the SLA clock was paused while the citizen was asked')

  const bundle = await get(`/v1/cases/${caseId}/audit-bundle`, 'dev-auditor')
  t.equal(bundle.status, 200)
  const publicKey = await get('/v1/audit/public-key')
  t.equal(bundle.body.log.keyId, publicKey.body.keyId, 'the bundle names the published key')
  const bundleFile = join(copies, 'bundle.json')
  writeFileSync(bundleFile, JSON.stringify(bundle.body))
  const pemFile = join(copies, 'published.pem')
  writeFileSync(pemFile, publicKey.body.publicKey)

  // The service stops; the auditor has the file and the published key.
  const exited = new Promise((r) => child?.once('exit', r))
  child.kill('SIGTERM')
  await exited

  const bundleCopy = join(copies, 'bundle-copy.json')
  copyFileSync(bundleFile, bundleCopy)
  const checked = command('packages/audit/src/verify-cli.ts', ['--bundle', bundleCopy, '--public-key', pemFile])
  t.equal(checked.code, 0, `the bundle verifies:\n${checked.stdout}${checked.stderr}`)
  t.match(checked.stdout, /DOĞRULANDI/)
  t.match(checked.stdout, new RegExp(`başvuru ${caseId}: \\d+ olay, zincir bütün`))

  const storeCheck = command('packages/audit/src/verify-cli.ts', ['--store', join(dataDir, 'events.sqlite'), '--public-key', pemFile])
  t.equal(storeCheck.code, 0, `the store verifies:\n${storeCheck.stdout}${storeCheck.stderr}`)
  t.match(storeCheck.stdout, /imzalar geçerli/)

  // One byte of the CaseTransferred event's data flipped in a copy of the file.
  const tampered = join(copies, 'events.sqlite')
  const source = new Database(join(dataDir, 'events.sqlite'), { readonly: true })
  await source.backup(tampered)
  source.close()
  const db = new Database(tampered)
  const row = db.prepare("SELECT position, revision, data FROM events WHERE stream_id = ? AND type = 'CaseTransferred'").get(`case-${caseId}`) as { position: number; revision: number; data: string }
  const flipped = Buffer.from(row.data, 'utf8')
  const at = flipped.indexOf('park-bahce')
  flipped[at] = flipped[at]! ^ 0x01
  db.prepare('UPDATE events SET data = ? WHERE position = ?').run(flipped.toString('utf8'), row.position)
  db.close()
  const caught = command('packages/audit/src/verify-cli.ts', ['--store', tampered, '--public-key', pemFile])
  t.equal(caught.code, 1, 'the flipped byte is a problem')
  t.match(caught.stderr, new RegExp(`case-${caseId} akışı, sıra ${row.revision} \\(konum ${row.position}\\)`), 'named: stream, revision, position')
  t.match(caught.stderr, /içeriğin özeti .* kayıtlı özet/, 'and what differs')

  const replay = command('services/department-workflow/src/audit-replay-cli.ts', [receipt.trackingCode as string, '--store', join(dataDir, 'events.sqlite')])
  t.equal(replay.code, 0, replay.stderr)
  t.match(replay.stdout, /Park ve Bahçeler/, 'the auditor\'s timeline in the terminal names the directorates')
})
