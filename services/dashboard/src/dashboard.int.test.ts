// The dashboards' HTTP API through app.inject over a real SQLite store in a temp folder, fed to
// the projector by a case feed reading straight from the store (as in standalone), read models in memory.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand } from '@civic-desk/case-domain'
import { createCaseFeed, executeOnCase } from '@civic-desk/case-feed'
import type { Actor } from '@civic-desk/contracts'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { createMemoryBus } from '@civic-desk/messaging'
import { createMemoryReadModelStore } from '@civic-desk/read-models'
import { ACCESS_RULES, createAccessControl, createHttpApp, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { startDashboardProjector } from './projector.ts'
import { registerDashboardRoutes } from './routes.ts'

/** Waits for an asynchronous condition (polling; no fixed sleeps). */
export async function until(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const catalogue = loadCatalogue(defaultCatalogueFile)
const logger = createLogger({ level: 'silent', name: 'dashboard-test' })
const channel: Actor = { kind: 'channel', id: 'alo153' }
const staff: Actor = { kind: 'staff', id: 'fen-1' }
const routing: Actor = { kind: 'service', id: 'routing' }

async function run(store: EventStore, caseId: string, type: CaseCommand['type'], at: Date, actor: Actor, data: unknown): Promise<void> {
  await executeOnCase(store, caseId, () => ({ type, meta: { eventId: randomUUID(), occurredAt: at.toISOString(), actor, correlationId: caseId, causationId: null }, data }) as CaseCommand)
}

/** Appends a submitted and routed case; returns its ids. */
async function newCase(store: EventStore, at: Date, o: { department: string; category: string; neighbourhood?: string; dueInMs: number; channel?: string }) {
  const trackingCode = trackingCodeFromBytes(randomBytes(16))
  const caseId = caseIdForTrackingCode(trackingCode)
  await run(store, caseId, 'SubmitCase', at, channel, {
    caseId,
    trackingCode,
    channel: o.channel ?? 'call-center',
    kind: 'complaint',
    category: o.category,
    description: 'Sokakta çukur var',
    location: o.neighbourhood === undefined ? { address: 'Gençlik Cd. No:12' } : { neighbourhood: o.neighbourhood },
    citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
    receivedAt: at.toISOString(),
  })
  await run(store, caseId, 'RouteCase', at, routing, {
    department: o.department,
    category: o.category,
    routedBy: 'category',
    matchedKeywords: [],
    sla: { clock: 1, startedAt: at.toISOString(), deadline: { hours: 48 }, basis: 'category', dueAt: new Date(at.getTime() + o.dueInMs).toISOString() },
    legalDueAt: null,
  })
  return { caseId, trackingCode }
}

/**
 * A fresh SQLite store in a temp folder, seeded by `seed`, projected through a store-fed case feed into
 * memory read models, with the dashboard routes on an app; closed at the end of `t`.
 */
async function dashboards<Seeded>(t: Test, now: Date, seed: (store: EventStore) => Promise<Seeded>) {
  const dir = mkdtempSync(join(tmpdir(), 'civic-dashboard-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite'), logger })
  const bus = createMemoryBus()
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: join(dir, 'consumers') } })
  const readModels = createMemoryReadModelStore()
  const seeded = await seed(store)
  const projector = await startDashboardProjector({ feed, store, bus, readModels, storeIdentity: 'test-store', logger })
  const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
  const app = createHttpApp({ serviceName: 'dashboard', logger, access, accessRules: ACCESS_RULES })
  registerDashboardRoutes(app, { readModels, projector, store, catalogue, access, logger, now: () => now, consumers: async () => feed.readers().map((r) => ({ name: r.name, kind: 'store' as const, position: r.position ?? 0, lag: 0 })), eventsPerSecond: () => 0 })
  t.teardown(async () => {
    await app.close()
    await projector.stop()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const head = await store.headPosition()
  await until(async () => (await readModels.active())?.position === head)
  const get = (url: string, token = 'dev-operator') => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
  return { store, readModels, projector, app, head, get, seeded }
}

t.test('dashboards over a real store', async (t) => {
  const now = new Date()
  const hour = 3600_000
  const { store, readModels, projector, app, head, get, seeded } = await dashboards(t, now, async (store) => {
    const a = await newCase(store, new Date(now.getTime() - 3 * hour), { department: 'fen-isleri', category: 'yol-cukur', neighbourhood: 'Kazımdirik', dueInMs: 2 * hour })
    const b = await newCase(store, new Date(now.getTime() - 2 * hour), { department: 'fen-isleri', category: 'yol-cukur', neighbourhood: 'Kazımdirik', dueInMs: 48 * hour })
    await newCase(store, new Date(now.getTime() - 50 * 60_000), { department: 'temizlik', category: 'cop-toplama', neighbourhood: 'Erzene', dueInMs: 10 * hour, channel: 'whatsapp' })
    await run(store, b.caseId, 'AcceptCase', new Date(now.getTime() - 90 * 60_000), staff, { assignee: 'Mehmet' })
    await run(store, b.caseId, 'ResolveCase', new Date(now.getTime() - 60 * 60_000), staff, { resolution: 'Asfaltlandı' })
    return { a, b }
  })
  const { a, b } = seeded

  t.test('overview', async (t) => {
    const res = await get('/v1/dashboards/overview')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.position, head)
    t.same(body.totals.byStatus, { routed: 2, resolved: 1 })
    t.same(body.totals.byChannel, { 'call-center': 2, whatsapp: 1 })
    t.same(body.totals.byDepartment, { 'fen-isleri': 2, temizlik: 1 })
    t.same(body.totals.byNeighbourhood, { Kazımdirik: 2, Erzene: 1 })
    t.same(body.sla.byDepartment['fen-isleri'], { open: 1, dueWithin24h: 0, breached: 1, escalated: 0 }, 'a is past due at query time')
    t.same(body.sla.byDepartment.temizlik, { open: 1, dueWithin24h: 1, breached: 0, escalated: 0 })
    t.same(body.sla.totals, { open: 2, dueWithin24h: 1, breached: 1, escalated: 0 })
    t.equal(body.submissionsPerMinute.length, 60)
    t.equal(body.submissionsPerMinute.reduce((n: number, m: { count: number }) => n + m.count, 0), 1, 'only c was received within the hour')
    t.equal(body.departments['fen-isleri'].nameTr, 'Fen İşleri Müdürlüğü')
    t.same(
      body.statuses,
      [
        { code: 'submitted', open: true },
        { code: 'routed', open: true },
        { code: 'in_progress', open: true },
        { code: 'waiting_for_citizen', open: true },
        { code: 'resolved', open: false },
        { code: 'rejected', open: false },
        { code: 'closed', open: false },
      ],
      'every status in lifecycle order, and which are open: the console reads them from here',
    )
  })

  t.test('department view, with staff access rules', async (t) => {
    const res = await get('/v1/dashboards/departments/fen-isleri', 'dev-staff-fen-isleri')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(
      body.queue.map((q: { caseId: string; slaLevel: string }) => [q.caseId, q.slaLevel]),
      [[a.caseId, 'breached']],
    )
    t.ok(body.queue[0].msLeft < 0)
    t.equal(body.responseTimes.firstResponse.count, 1)
    t.equal(body.responseTimes.firstResponse.medianMs, 30 * 60_000)
    t.equal(body.responseTimes.resolution.medianMs, 60 * 60_000)
    t.equal(body.responseTimes.byCategory['yol-cukur'].resolution.p90Ms, 60 * 60_000)
    t.same(body.counts.byStatus, { routed: 1, resolved: 1 })
    t.same(
      body.statuses.map((s: { code: string }) => s.code),
      ['submitted', 'routed', 'in_progress', 'waiting_for_citizen', 'resolved', 'rejected', 'closed'],
      'the statuses come with the department view too',
    )
    t.equal((await get('/v1/dashboards/departments/fen-isleri', 'dev-staff-temizlik')).statusCode, 403)
    const missing = await get('/v1/dashboards/departments/yok-boyle')
    t.equal(missing.statusCode, 404)
    t.match(missing.headers['content-type'], /application\/problem\+json/)
    t.equal((await get('/v1/dashboards/departments/Not_A_Code')).statusCode, 400)
    t.equal((await get('/v1/dashboards/overview', 'dev-channel')).statusCode, 403)
  })

  t.test('neighbourhoods sorted by total', async (t) => {
    const res = await get('/v1/dashboards/neighbourhoods')
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.position, head)
    t.same(body.neighbourhoods, [
      { name: 'Kazımdirik', total: 2, open: 1, byCategory: { 'yol-cukur': 2 }, spellings: ['Kazımdirik'] },
      { name: 'Erzene', total: 1, open: 1, byCategory: { 'cop-toplama': 1 }, spellings: ['Erzene'] },
    ])
    t.same(body.totals, { total: 3, open: 2 })
    t.same(body.withoutNeighbourhood, { total: 0, open: 0 })
    t.equal(body.categories['yol-cukur'].nameTr, 'Yol çukuru ve yol hasarı', 'category names for the codes')
    t.notOk(res.body.includes('Ayşe') || res.body.includes('+90 532'), 'no citizen data')
    t.equal((await get('/v1/dashboards/neighbourhoods', 'dev-staff-fen-isleri')).statusCode, 403, 'a city-wide view: operators and supervisors only')
  })

  t.test('case by id and by tracking code, no personal data', async (t) => {
    const byCode = await get(`/v1/dashboards/cases/${b.trackingCode.toLowerCase()}`)
    t.equal(byCode.statusCode, 200)
    const body = byCode.json()
    t.equal(body.case.caseId, b.caseId)
    t.equal(body.case.status, 'resolved')
    t.same(
      body.case.timeline.map((e: { type: string }) => e.type),
      ['CaseSubmitted', 'CaseRouted', 'CaseAccepted', 'CaseResolved'],
    )
    t.notOk(byCode.body.includes('Ayşe') || byCode.body.includes('+90 532'), 'no citizen data')
    t.equal((await get(`/v1/dashboards/cases/${a.caseId}`)).json().case.trackingCode, a.trackingCode)
    t.equal((await get(`/v1/dashboards/cases/${a.caseId.toUpperCase()}`)).json().case?.trackingCode, a.trackingCode, 'a case id in upper case finds the same case')
    t.equal((await get(`/v1/dashboards/cases/${randomUUID()}`)).statusCode, 404)
  })

  t.test('CSV export of a department, Istanbul days, BOM', async (t) => {
    const day = now.toLocaleDateString('en-CA', { timeZone: 'Europe/Istanbul' })
    const yesterday = new Date(now.getTime() - 24 * hour).toLocaleDateString('en-CA', { timeZone: 'Europe/Istanbul' })
    const res = await get(`/v1/dashboards/departments/fen-isleri/cases.csv?from=${yesterday}&to=${day}`)
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/)
    t.equal(res.rawPayload[0], 0xef, 'UTF-8 BOM')
    const lines = res.body.replace(/^\uFEFF/, '').trim().split('\r\n')
    t.equal(lines[0]!.split(',')[0], 'caseId')
    t.same(lines.slice(1).map((l) => l.split(',')[0]).sort(), [a.caseId, b.caseId].sort())
    t.ok(lines.some((l) => l.includes('Kazımdirik')), 'Turkish letters intact')
    t.equal((await get(`/v1/dashboards/departments/fen-isleri/cases.csv?from=${day}&to=${yesterday}`)).statusCode, 400)
    t.equal((await get(`/v1/dashboards/departments/fen-isleri/cases.csv?from=2026-13-01&to=${day}`)).statusCode, 400)
  })

  t.test('ops: streams and a rebuild through the API', async (t) => {
    const streams = (await get('/v1/ops/streams')).json()
    t.equal(streams.head, head)
    t.ok(streams.consumers.some((c: { name: string }) => c.name === 'dashboard'))
    t.same(streams.deadLetters, { count: 0, latest: [] })
    const before = (await get('/v1/ops/read-models')).json()
    t.equal(before.rebuilding, null)
    const started = await app.inject({ method: 'POST', url: '/v1/ops/read-models/rebuild', headers: { authorization: 'Bearer dev-operator' } })
    t.equal(started.statusCode, 202)
    const { version } = started.json()
    t.ok(version > before.activeVersion)
    await until(async () => (await get('/v1/ops/read-models')).json().activeVersion === version)
    const after = (await get('/v1/dashboards/overview')).json()
    t.same(after.totals.byStatus, { routed: 2, resolved: 1 }, 'the rebuilt version counts the same')
    t.equal((await app.inject({ method: 'POST', url: '/v1/ops/read-models/rebuild', headers: { authorization: 'Bearer dev-supervisor' } })).statusCode, 403)
  })

  t.test('an event appended later reaches the read models', async (t) => {
    await run(store, a.caseId, 'AcceptCase', new Date(), staff, { assignee: 'Ali' })
    const target = await store.headPosition()
    await until(async () => (await readModels.active())!.position >= target && projector.position >= target)
    const body = (await get('/v1/dashboards/overview')).json()
    t.same(body.totals.byStatus, { in_progress: 1, routed: 1, resolved: 1 })
  })
})

t.test('neighbourhoods: spellings of one place merged, cases without a neighbourhood counted apart', async (t) => {
  const now = new Date()
  const hour = 3600_000
  const { get, head } = await dashboards(t, now, async (store) => {
    const at = new Date(now.getTime() - hour)
    const fen = { department: 'fen-isleri', category: 'yol-cukur', dueInMs: 48 * hour }
    await newCase(store, at, { ...fen, neighbourhood: 'Kazımdirik' })
    await newCase(store, at, { ...fen, neighbourhood: 'KAZIMDİRİK MAH.' })
    const resolved = await newCase(store, at, { ...fen, neighbourhood: 'kazımdirik  Mahallesi' })
    await newCase(store, at, { ...fen, neighbourhood: 'Kazimdirik' })
    await newCase(store, at, { department: 'temizlik', category: 'cop-toplama', dueInMs: 10 * hour, neighbourhood: 'ismet inönü' })
    await newCase(store, at, { department: 'park-bahce', category: 'park-bakim', dueInMs: 10 * hour, neighbourhood: 'Çamdibi' })
    await newCase(store, at, { department: 'park-bahce', category: 'park-bakim', dueInMs: 10 * hour, neighbourhood: 'Cumhuriyet' })
    await newCase(store, at, { department: 'park-bahce', category: 'park-bakim', dueInMs: 10 * hour, neighbourhood: 'CUMHURIYET' })
    await newCase(store, at, { ...fen })
    await run(store, resolved.caseId, 'AcceptCase', at, staff, { assignee: 'Mehmet' })
    await run(store, resolved.caseId, 'ResolveCase', at, staff, { resolution: 'Asfaltlandı' })
  })
  const body = (await get('/v1/dashboards/neighbourhoods')).json()
  t.equal(body.position, head)
  t.same(
    body.neighbourhoods[0],
    { name: 'Kazımdirik', total: 4, open: 3, byCategory: { 'yol-cukur': 4 }, spellings: ['Kazımdirik', 'kazımdirik  Mahallesi', 'KAZIMDİRİK MAH.', 'Kazimdirik'] },
    'one place however it was typed (as routing’s duplicate detection sees it), shown as most cases spell it',
  )
  t.same(
    body.neighbourhoods.map((n: { name: string }) => n.name),
    ['Kazımdirik', 'Cumhuriyet', 'Çamdibi', 'İsmet İnönü'],
    'equal totals in Turkish order (Ç after C, İ after I); names capitalised the Turkish way (i → İ)',
  )
  t.same(
    body.neighbourhoods[1].spellings,
    ['CUMHURIYET', 'Cumhuriyet'],
    'one case each: shown as typed in mixed case, not as "Cumhurıyet" (capital I lower-cases to ı in Turkish)',
  )
  t.same(body.totals, { total: 9, open: 8 })
  t.same(body.withoutNeighbourhood, { total: 1, open: 1 }, 'the rows and the cases without a neighbourhood add up to the totals')
})

t.test('twenty rebuild requests at once start one rebuild; the others get 409 with its progress', async (t) => {
  const now = new Date()
  const { readModels, app, get } = await dashboards(t, now, async (store) => {
    for (let i = 0; i < 30; i++) await newCase(store, new Date(now.getTime() - (i + 1) * 60_000), { department: 'fen-isleri', category: 'yol-cukur', neighbourhood: 'Kazımdirik', dueInMs: 3600_000 })
  })
  const before = (await readModels.active())!.version
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: '/v1/ops/read-models/rebuild', headers: { authorization: 'Bearer dev-operator' } })),
  )
  const accepted = answers.filter((a) => a.statusCode === 202)
  const refused = answers.filter((a) => a.statusCode === 409)
  t.equal(accepted.length, 1, 'exactly one rebuild started')
  t.equal(refused.length, 19, 'every other request refused')
  const version = accepted[0]!.json().version as number
  t.equal(version, before + 1)
  for (const res of refused) {
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    const body = res.json()
    t.equal(body.code, 'conflict')
    t.equal(body.reason, 'rebuild_running')
    t.equal(body.rebuilding.version, version, 'names the running rebuild')
  }
  t.match(refused[0]!.json().rebuilding, { version, position: Number, head: Number, startedAt: String }, 'with its progress')
  await until(async () => (await get('/v1/ops/read-models')).json().activeVersion === version && (await get('/v1/ops/read-models')).json().rebuilding === null)
  // Had the refused requests built versions too, the next number would be far higher.
  const next = await app.inject({ method: 'POST', url: '/v1/ops/read-models/rebuild', headers: { authorization: 'Bearer dev-operator' } })
  t.equal(next.statusCode, 202, 'a rebuild may start again once the last one is done')
  t.equal(next.json().version, version + 1, 'no other version was allocated')
  await until(async () => (await get('/v1/ops/read-models')).json().activeVersion === version + 1)
})

t.test("every route of the dashboard's process is in its /openapi.json", async (t) => {
  const { app } = await dashboards(t, new Date(), async () => undefined)
  t.same(await describedRouteGaps(app), [])
})
