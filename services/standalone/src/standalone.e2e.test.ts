// Starts `pnpm start`'s entry point as a real process on a fresh data folder, submits a Turkish
// complaint over HTTP, stops the process, starts it again and finds the case.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Test } from 'tap'
import { eventually, freePort } from '@civic-desk/service-kit/testing'

// Each test starts real standalone processes: a file of minutes on a busy machine.
t.setTimeout(600_000)

const entry = fileURLToPath(new URL('./main.ts', import.meta.url))

interface Running {
  child: ChildProcess
  output: () => string
}

// These tests do not exercise Redis: their read models stay in memory, so parallel test processes
// neither collide in nor leave keys behind in the Redis CI provides (REDIS_URL is exported for all).
const { REDIS_URL: _redisUrl, ...inherited } = process.env

async function start(env: Record<string, string>, readyUrl: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
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
  if (running.child.exitCode !== null || running.child.signalCode !== null) return running.child.exitCode
  const exited = new Promise<number | null>((r) => running.child.once('exit', (code) => r(code)))
  running.child.kill(signal)
  return exited
}

const json = { 'content-type': 'application/json' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

interface Outbox {
  total: number
  entries: { caseId: string; template: string; channel: string; text: string }[]
}

function harness(t: Test) {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-standalone-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return { dataDir }
}

async function boot(t: Test, dataDir: string) {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const running = await start({ PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'info', CIVIC_SLA_TICK_MS: '100' }, `${base}/readyz`)
  t.teardown(() => stop(running, 'SIGKILL'))
  const get = async <T>(path: string, token?: string): Promise<T> => (await (await fetch(`${base}${path}`, { headers: token === undefined ? {} : bearer(token) })).json()) as T
  const post = async (path: string, token: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...json, ...bearer(token), ...headers }, body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, etag: res.headers.get('etag') }
  }
  const outbox = (caseId: string) => get<Outbox>(`/v1/notifications/outbox?caseId=${caseId}`, 'dev-operator')
  const history = (caseId: string) => get<{ events: { type: string; actor: { id: string } }[] }>(`/v1/cases/${caseId}/history`, 'dev-auditor')
  return { base, running, get, post, outbox, history }
}

t.test('standalone: a Turkish pothole complaint lives its whole life, survives a restart, and the citizen hears each step once', async (t) => {
  const { dataDir } = harness(t)
  const first = await boot(t, dataDir)
  t.match(first.running.output(), /dev-channel/, 'prints the development tokens')
  t.match(first.running.output(), new RegExp(first.base.replace(/[.:/]/g, (c) => `\\${c}`)), 'prints the URL')

  const submitted = await first.post('/v1/requests', 'dev-channel', {
    channel: 'call-center',
    kind: 'complaint',
    description: 'Gül Sokağı’nda büyük bir ÇUKUR var, dün akşam iki araç zarar gördü.',
    location: { neighbourhood: 'Kazımdirik', lat: 38.4561, lon: 27.2142 },
    citizen: { name: 'Gökhan Işık', phone: '0532 444 55 66', preferredChannel: 'sms' },
  })
  t.equal(submitted.status, 201)
  const { caseId, trackingCode } = submitted.body as { caseId: string; trackingCode: string }
  const submittedAt = Date.now()

  const routed = await eventually(() => first.get<{ status: string; department: { code: string } | null; expectedBy: string | null }>(`/v1/requests/${trackingCode}`), (v) => v.status === 'routed', 'routing', 5000)
  t.ok(Date.now() - submittedAt < 1000, 'routed within a second')
  t.equal(routed.department?.code, 'fen-isleri', 'ÇUKUR goes to public works')
  t.ok(routed.expectedBy !== null, 'with an expected-by time')

  const staff = 'dev-staff-fen-isleri'
  t.equal((await first.post(`/v1/cases/${caseId}/accept`, 'dev-staff-temizlik', {})).status, 403, 'staff of another department are refused')
  const accepted = await first.post(`/v1/cases/${caseId}/accept`, staff, {})
  t.equal(accepted.status, 200)
  const asked = await first.post(`/v1/cases/${caseId}/request-info`, staff, { question: 'Çukur hangi binanın önünde?' }, { 'if-match': accepted.etag ?? '' })
  t.equal(asked.status, 200, 'If-Match with the fresh ETag works even if a notification was recorded meanwhile')
  t.match(asked.body, { status: 'waiting_for_citizen' })
  t.equal((await first.post(`/v1/cases/${caseId}/resolve`, staff, { resolution: 'x' }, { 'if-match': accepted.etag ?? '' })).status, 412, 'a stale ETag is refused')

  // Kill the process in the middle of the flow and carry on after the restart.
  await eventually(() => first.outbox(caseId), (o) => o.entries.length === 2, 'acknowledgement and info request')
  t.equal(await stop(first.running, 'SIGKILL'), null, 'killed')
  const second = await boot(t, dataDir)
  t.equal((await second.post(`/v1/cases/${caseId}/citizen-reply`, staff, { text: '12 numaralı eczanenin önü', channel: 'call-center' })).status, 200)
  t.equal((await second.post(`/v1/cases/${caseId}/resolve`, staff, { resolution: 'Çukur asfaltla kapatıldı.' })).status, 200)
  const messages = await eventually(() => second.outbox(caseId), (o) => o.entries.length >= 3, 'resolution message')
  t.same(messages.entries.map((e) => e.template), ['acknowledgement', 'info-requested', 'resolved'], 'exactly one of each')
  t.match(messages.entries[0]?.text, trackingCode)
  t.match(messages.entries[2]?.text, /asfaltla kapatıldı/)

  t.equal(await stop(second.running), 0, 'SIGTERM shuts down cleanly')
  const third = await boot(t, dataDir)
  const view = await third.get<{ status: string; timeline: { step: string }[] }>(`/v1/requests/${trackingCode}`)
  t.equal(view.status, 'resolved')
  t.same(view.timeline.map((e) => e.step), ['submitted', 'routed', 'accepted', 'info-requested', 'citizen-replied', 'resolved'])
  const types = (await third.history(caseId)).events.map((e) => e.type)
  t.equal(types.filter((x) => x === 'CaseRouted').length, 1, 'routed once')
  t.equal(types.filter((x) => x === 'CitizenNotified').length, 3, 'three messages recorded')
  t.equal((await third.outbox(caseId)).entries.length, 3, 'no message repeated after two restarts')
  t.equal(await stop(third.running), 0)
})

t.test('standalone: killed right after a burst of submissions, nothing is lost or repeated', async (t) => {
  const { dataDir } = harness(t)
  const first = await boot(t, dataDir)
  const ids: string[] = []
  await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const r = await first.post('/v1/requests', 'dev-channel', {
        channel: 'whatsapp',
        externalId: `wa-${i}`,
        kind: 'complaint',
        category: 'cop-toplama',
        description: `Konteyner ${i} numaralı sokakta taştı (${'x'.repeat(i)})`,
        location: { lat: 38 + i * 0.01, lon: 27 + i * 0.01 },
        citizen: { phone: `+90 532 000 00 ${String(i).padStart(2, '0')}` },
      })
      if (r.status === 201) ids.push(r.body.caseId as string)
    }),
  )
  t.equal(ids.length, 40, 'all acknowledged')
  await stop(first.running, 'SIGKILL')
  const second = await boot(t, dataDir)
  for (const id of ids) {
    const messages = await eventually(() => second.outbox(id), (o) => o.entries.length >= 1, `acknowledgement of ${id}`)
    t.equal(messages.entries.length, 1, 'one acknowledgement')
  }
  for (const id of ids) {
    const types = (await second.history(id)).events.map((e) => e.type)
    t.same(types, ['CaseSubmitted', 'CaseRouted', 'CitizenNotified'])
  }
})

t.test('standalone: an overdue case raises warning, breach and escalation, and the citizen is told', async (t) => {
  const { dataDir } = harness(t)
  const app = await boot(t, dataDir)
  const r = await app.post('/v1/requests', 'dev-channel', {
    channel: 'petition',
    kind: 'complaint',
    category: 'yol-cukur',
    description: 'Dilekçe: Okul önündeki çukur aylardır kapatılmadı.',
    submittedAt: new Date(Date.now() - 5 * 24 * 3600_000).toISOString(),
    citizen: { name: 'Zehra Öztürk', email: 'zehra@example.com' },
  })
  t.equal(r.status, 201)
  const caseId = r.body.caseId as string
  const history = await eventually(() => app.history(caseId), (h) => h.events.some((e) => e.type === 'CaseEscalated'), 'escalation')
  const sla = history.events.map((e) => e.type).filter((x) => x.startsWith('Sla') || x === 'CaseEscalated')
  t.same(sla, ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'], 'each once')
  const messages = await eventually(() => app.outbox(caseId), (o) => o.entries.some((e) => e.template === 'escalated'), 'escalation message')
  t.same(messages.entries.map((e) => [e.template, e.channel]), [['acknowledgement', 'email'], ['escalated', 'email']])
  const queue = await app.get<{ cases: { caseId: string; slaLevel: string; escalated: boolean }[] }>('/v1/departments/fen-isleri/queue', 'dev-supervisor')
  t.match(queue.cases.find((c) => c.caseId === caseId), { slaLevel: 'breached', escalated: true })
})

t.test('standalone: a social-services application walks its configured steps', async (t) => {
  const { dataDir } = harness(t)
  const app = await boot(t, dataDir)
  const r = await app.post('/v1/requests', 'dev-channel', {
    channel: 'walk-in',
    kind: 'request',
    category: 'sosyal-yardim',
    description: 'Eşim vefat etti, üç çocuğumla geçinemiyoruz; gıda yardımı istiyorum.',
    citizen: { name: 'Hatice Demir', phone: '0555 123 45 67' },
  })
  const caseId = r.body.caseId as string
  const staff = 'dev-staff-sosyal-destek'
  await eventually(() => app.get<{ status: string }>(`/v1/cases/${caseId}`, staff), (c) => c.status === 'routed', 'routing')
  t.equal((await app.post(`/v1/cases/${caseId}/accept`, staff, {})).status, 200)
  const out = await app.post(`/v1/cases/${caseId}/steps/karar`, staff, { fields: { outcome: 'onaylandi', aidType: 'gida-kolisi' } })
  t.equal(out.status, 409, 'steps keep their order')
  for (const [step, fields] of [
    ['ev-ziyareti-planlandi', { visitDate: '2026-11-25', socialWorker: 'Zeynep Kaya' }],
    ['inceleme-tamamlandi', { findings: 'Dört kişilik hane, düzenli gelir yok', householdSize: 4 }],
    ['karar', { outcome: 'onaylandi', aidType: 'gida-kolisi' }],
    ['yardim-teslim-edildi', { deliveredOn: '2026-11-28' }],
  ] as const) {
    const res = await app.post(`/v1/cases/${caseId}/steps/${step}`, staff, { fields })
    t.equal(res.status, 200, step)
  }
  const view = await app.get<{ status: string; timeline: { step: string; textTr: string }[] }>(`/v1/requests/${r.body.trackingCode as string}`)
  t.equal(view.status, 'resolved')
  t.match(view.timeline.at(-1)?.textTr, /Gıda kolisi/)
  const messages = await eventually(() => app.outbox(caseId), (o) => o.entries.some((e) => e.template === 'resolved'), 'resolution message')
  t.same(messages.entries.map((e) => e.template), ['acknowledgement', 'resolved'])
})

t.test('standalone: a wrong duplicate link is undone; the case gets its own clock, its queue entry and its acknowledgement', async (t) => {
  const { dataDir } = harness(t)
  const app = await boot(t, dataDir)
  // The same overflowing containers, filed under two neighbouring categories of the cleaning directorate.
  const first = await app.post('/v1/requests', 'dev-channel', {
    channel: 'web',
    kind: 'complaint',
    category: 'cop-toplama',
    description: 'Konteynerler taştı, çöpler sokağa yayıldı',
    location: { neighbourhood: 'Kazımdirik', lat: 38.4561, lon: 27.2142 },
    citizen: { name: 'Ali Demir', phone: '0533 222 33 44' },
  })
  t.equal(first.status, 201)
  const earlier = first.body.caseId as string
  const staff = 'dev-staff-temizlik'
  await eventually(() => app.get<{ status: string }>(`/v1/cases/${earlier}`, staff), (c) => c.status === 'routed', 'routing of the first report')
  const second = await app.post('/v1/requests', 'dev-channel', {
    channel: 'whatsapp',
    kind: 'complaint',
    category: 'konteyner',
    description: 'Konteyner taştı, çöpler yola yayıldı',
    location: { neighbourhood: 'Kazımdirik', lat: 38.4564, lon: 27.2142 },
    citizen: { name: 'Seda Kaya', phone: '0544 777 88 99' },
  })
  t.equal(second.status, 201)
  const caseId = second.body.caseId as string
  const trackingCode = second.body.trackingCode as string
  const linked = await eventually(
    () => app.get<{ status: string; duplicateOf: { caseId: string } | null }>(`/v1/cases/${caseId}`, staff),
    (c) => c.status === 'routed',
    'routing of the second report',
  )
  t.match(linked, { duplicateOf: { caseId: earlier } }, 'compared across the two categories of one directorate and linked')
  await eventually(() => app.outbox(caseId), (o) => o.entries.length === 1, 'duplicate-linked message')
  type Queue = { cases: { caseId: string; linkedCount: number; duplicateOf: unknown; dueAt: string | null }[] }
  const before = await app.get<Queue>('/v1/departments/temizlik/queue', staff)
  t.equal(before.cases.find((c) => c.caseId === earlier)?.linkedCount, 1)

  t.equal((await app.post(`/v1/cases/${caseId}/unlink-duplicate`, 'dev-staff-fen-isleri', { reason: 'Farklı konteynerler' })).status, 403, 'another directorate may not')
  const unlinkedAt = Date.now()
  const unlinked = await app.post(`/v1/cases/${caseId}/unlink-duplicate`, staff, { reason: 'Farklı sokaktaki konteynerler' })
  t.equal(unlinked.status, 200)
  const sla = (unlinked.body as { sla: { clock: number; startedAt: string; dueAt: string } }).sla
  t.equal(sla.clock, 2, 'a clock of its own')
  t.ok(Math.abs(Date.parse(sla.startedAt) - unlinkedAt) < 5000, 'started at the unlink')
  t.match(unlinked.body, { duplicateOf: null, status: 'routed' })

  const after = await app.get<Queue>('/v1/departments/temizlik/queue', staff)
  t.equal(after.cases.find((c) => c.caseId === earlier)?.linkedCount, 0, "the earlier case's linked count drops")
  t.match(after.cases.find((c) => c.caseId === caseId), { duplicateOf: null, dueAt: sla.dueAt })
  const messages = await eventually(() => app.outbox(caseId), (o) => o.entries.length === 2, 'the acknowledgement')
  t.same(messages.entries.map((e) => e.template), ['duplicate-linked', 'acknowledgement'])
  t.match(messages.entries[1]?.text, trackingCode)
  const view = await app.get<{ timeline: { step: string }[] }>(`/v1/requests/${trackingCode}`)
  t.same(view.timeline.map((e) => e.step), ['submitted', 'duplicate-linked', 'duplicate-unlinked'])
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
