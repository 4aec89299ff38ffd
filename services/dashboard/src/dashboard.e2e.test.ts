// With a real Redis: `pnpm start`'s process (standalone) projects submissions into Redis; the
// read models deleted and rebuilt by the rebuild CLI give the same numbers; and a wiped data
// folder with Redis keeping its keys makes the next start rebuild instead of continuing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { eventually, freePort } from '@civic-desk/service-kit/testing'
import { deleteRedisPrefix } from '@civic-desk/read-models'
import { redisTestUrl } from '@civic-desk/read-models/testing'

const standaloneEntry = fileURLToPath(new URL('../../standalone/src/main.ts', import.meta.url))
const rebuildEntry = fileURLToPath(new URL('./rebuild.ts', import.meta.url))

const url = await redisTestUrl(t)
if (url !== undefined) {
  t.test('standalone with Redis read models; rebuild CLI; wiped data folder', async (t) => {
    const prefix = `civic-test:${randomUUID()}:`
    const dirs: string[] = []
    const children = new Set<ChildProcess>()
    t.teardown(async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await deleteRedisPrefix(url, prefix)
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    })
    const newDir = (): string => {
      const dir = mkdtempSync(join(tmpdir(), 'civic-dashboard-e2e-'))
      dirs.push(dir)
      return dir
    }
    const env = (dataDir: string, port?: number): NodeJS.ProcessEnv => ({
      ...process.env,
      CIVIC_DATA_DIR: dataDir,
      REDIS_URL: url,
      CIVIC_REDIS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      ...(port === undefined ? {} : { PORT: String(port) }),
    })

    const start = async (dataDir: string) => {
      const port = await freePort()
      const child = spawn(process.execPath, ['--import', 'tsx', standaloneEntry], { env: env(dataDir, port), stdio: ['ignore', 'pipe', 'pipe'] })
      children.add(child)
      let output = ''
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
      const base = `http://127.0.0.1:${port}`
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
          return fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)
        },
        (ok) => ok,
        'standalone to listen',
      )
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer dev-operator' } })
        // The JSON shapes are checked value by value below; a wrong shape fails those assertions.
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        return { status: res.status, body: (await res.json()) as any }
      }
      const stop = async () => {
        if (child.exitCode !== null) return
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      return { base, get, stop }
    }

    const dataDir = newDir()
    const first = await start(dataDir)
    const bodies = [
      { channel: 'call-center', kind: 'complaint', category: 'yol-cukur', description: 'Sokakta büyük bir çukur var', location: { neighbourhood: 'Kazımdirik' } },
      { channel: 'whatsapp', kind: 'request', category: 'cop-toplama', description: 'Çöpler üç gündür alınmadı', location: { neighbourhood: 'Erzene' } },
      { channel: 'web', kind: 'complaint', description: 'Parktaki ağaçların budanması gerekiyor', location: { neighbourhood: 'Kazımdirik' } },
      { channel: 'cimer', kind: 'information', description: 'İmar planı hakkında bilgi istiyorum' },
    ]
    for (const body of bodies) {
      const res = await fetch(`${first.base}/v1/requests`, { method: 'POST', headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' }, body: JSON.stringify(body) })
      t.equal(res.status, 201)
    }
    // Every case routed and projected: 4 submitted + 4 routed events (plus notifications) all applied.
    const settled = await eventually(
      async () => ({ overview: await first.get('/v1/dashboards/overview'), streams: await first.get('/v1/ops/streams') }),
      (v) => v.overview.body.totals.total === 4 && v.overview.body.totals.byStatus.submitted === undefined && v.overview.body.position >= v.streams.body.head,
      'four routed cases in the overview',
    )
    const before = settled.overview.body
    t.same(before.totals.byChannel, { 'call-center': 1, whatsapp: 1, web: 1, cimer: 1 })
    t.same(before.totals.byNeighbourhood, { Kazımdirik: 2, Erzene: 1 })
    t.equal(before.today.submitted, 4)
    t.equal(before.submissionsPerMinute.reduce((n: number, m: { count: number }) => n + m.count, 0), 4)
    const lags = Object.fromEntries(settled.streams.body.consumers.map((c: { name: string; lag: number }) => [c.name, c.lag]))
    t.same(
      Object.keys(lags).sort(),
      ['dashboard', 'department-workflow-projection', 'intake-open311-index', 'notification', 'routing', 'routing-duplicate-index'].sort(),
      'every reader of the case events in standalone: the store-fed groups and the projections read straight from the store',
    )
    t.equal(lags.dashboard, 0)
    const department = (await first.get('/v1/dashboards/departments/fen-isleri')).body
    t.equal(department.queue.length, 1)
    await first.stop()

    // Delete this prefix's keys (never FLUSHDB: other tests share the Redis) and rebuild with the CLI.
    t.ok((await deleteRedisPrefix(url, prefix)) > 0, 'the read models were in Redis under the prefix')
    const rebuilt = spawnSync(process.execPath, ['--import', 'tsx', rebuildEntry], { env: env(dataDir), encoding: 'utf8', timeout: 60_000 })
    t.equal(rebuilt.status, 0, rebuilt.stderr)
    const summary = JSON.parse(rebuilt.stdout.trim().split('\n').pop()!) as { version: number; events: number; position: number; head: number }
    t.equal(summary.position, summary.head)
    t.ok(summary.events >= 8)
    t.match(rebuilt.stderr, /100\.0%/, 'the progress bar reached the end')

    const second = await start(dataDir)
    const after = (await second.get('/v1/dashboards/overview')).body
    t.same(after.totals, before.totals, 'identical totals after the rebuild')
    t.same(after.today, before.today)
    t.same(after.sla, before.sla)
    t.same((await second.get('/v1/ops/read-models')).body.activeVersion, summary.version, 'the standalone continued on the rebuilt version')
    // msLeft is computed at query time; everything stored must be identical.
    const withoutTimeLeft = (queue: Array<Record<string, unknown>>) => queue.map(({ msLeft: _msLeft, ...rest }) => rest)
    t.same(withoutTimeLeft((await second.get('/v1/dashboards/departments/fen-isleri')).body.queue), withoutTimeLeft(department.queue))
    await second.stop()

    // A wiped data folder while Redis keeps the keys: the next start rebuilds for the new store.
    const third = await start(newDir())
    const fresh = (await third.get('/v1/dashboards/overview')).body
    t.equal(fresh.totals.total, 0, 'nothing of the old store is shown')
    t.ok((await third.get('/v1/ops/read-models')).body.activeVersion > summary.version)
    await third.stop()
  })
}
