// The dashboards' status counts and the case API must never disagree: random staff commands over
// many cases (a seeded generator, so a failure reproduces: STATUS_CONSISTENCY_SEED=<seed>), then the
// overview's byStatus is compared with the statuses GET /v1/cases/:caseId reports, live and after a
// rebuild of the read models; in memory, and in Redis when REDIS_URL is set. TEST_LOG_LEVEL=error
// shows the services' own error logs (the cause of an unexpected 500).
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand } from '@civic-desk/case-domain'
import { createCaseFeed, executeOnCase } from '@civic-desk/case-feed'
import type { Actor } from '@civic-desk/contracts'
import { registerDashboardRoutes, startDashboardProjector } from '@civic-desk/dashboard'
import { createOpenCases, defaultWorkflowFile, loadWorkflows, registerWorkflowRoutes } from '@civic-desk/department-workflow'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { createMemoryBus } from '@civic-desk/messaging'
import { createMemoryReadModelStore, deleteRedisPrefix, openRedisReadModelStore, type ReadModelStore } from '@civic-desk/read-models'
import { redisTestUrl } from '@civic-desk/read-models/testing'
import { createAccessControl, createHttpApp, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'

const catalogue = loadCatalogue(defaultCatalogueFile)
const calendar = createBusinessCalendar(loadHolidayData())
const workflows = loadWorkflows(defaultWorkflowFile, catalogue)
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL === 'error' ? 'error' : 'silent', name: 'status-consistency-test' })
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))
const supervisor = { authorization: 'Bearer dev-supervisor' }
const operator = { authorization: 'Bearer dev-operator' }

const SEED = Number(process.env.STATUS_CONSISTENCY_SEED ?? Math.floor(Math.random() * 2 ** 31))
const CASES = 60
const COMMANDS = 800

/** mulberry32: small, seeded, good enough to pick commands. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

async function until(what: string, predicate: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Every staff command the API offers, with a body the schema accepts. */
const ACTIONS: ReadonlyArray<{ readonly action: string; readonly body: (pick: <T>(list: readonly T[]) => T) => object }> = [
  { action: 'accept', body: () => ({}) },
  { action: 'start', body: () => ({ note: 'Ekip yola çıktı.' }) },
  { action: 'note', body: () => ({ text: 'Yerinde bakıldı.' }) },
  { action: 'request-info', body: () => ({ question: 'Tam adres nedir?' }) },
  { action: 'citizen-reply', body: () => ({ text: 'Eczanenin önü.', channel: 'call-center' }) },
  { action: 'transfer', body: (pick) => ({ department: pick(['fen-isleri', 'temizlik', 'park-bahce', 'zabita']), reason: 'Yanlış birim.' }) },
  { action: 'resolve', body: () => ({ resolution: 'Giderildi.' }) },
  { action: 'reject', body: () => ({ reasonCode: 'not-municipal', reason: 'Belediyenin işi değil.' }) },
  { action: 'reopen', body: () => ({ reason: 'Sorun sürüyor.' }) },
  { action: 'close', body: () => ({}) },
  { action: 'unlink-duplicate', body: () => ({ reason: 'Başka bir çukur.' }) },
]

/** How a seeded case starts: only submitted, routed, or routed as a likely duplicate of an earlier case. */
type Seed = { readonly kind: 'submitted' } | { readonly kind: 'routed' } | { readonly kind: 'duplicate'; readonly of: { readonly caseId: string; readonly trackingCode: string } }

async function seedCase(store: EventStore, at: Date, seed: Seed): Promise<{ caseId: string; trackingCode: string }> {
  const trackingCode = trackingCodeFromBytes(randomBytes(16))
  const caseId = caseIdForTrackingCode(trackingCode)
  const run = (type: CaseCommand['type'], actor: Actor, data: unknown) =>
    executeOnCase(store, caseId, () => ({ type, meta: { eventId: randomUUID(), occurredAt: at.toISOString(), actor, correlationId: caseId, causationId: null }, data }) as CaseCommand)
  await run('SubmitCase', { kind: 'channel', id: 'alo153' }, { caseId, trackingCode, channel: 'call-center', kind: 'complaint', category: 'yol-cukur', description: 'Sokakta çukur var.', receivedAt: at.toISOString() })
  const routing = {
    department: 'fen-isleri',
    category: 'yol-cukur',
    routedBy: 'category',
    matchedKeywords: [],
    sla: { clock: 1, startedAt: at.toISOString(), deadline: { hours: 48 }, basis: 'category', dueAt: calendar.dueAt(at, { hours: 48 }).toISOString() },
    legalDueAt: null,
  }
  if (seed.kind === 'routed') await run('RouteCase', { kind: 'service', id: 'routing' }, routing)
  if (seed.kind === 'duplicate') {
    await run('MarkDuplicate', { kind: 'service', id: 'routing' }, { ...routing, duplicateOf: seed.of.caseId, duplicateOfTrackingCode: seed.of.trackingCode, match: 'location', distanceMeters: 20, similarity: null })
  }
  return { caseId, trackingCode }
}

async function randomisedRun(t: Test, readModels: ReadModelStore): Promise<void> {
  t.comment(`seed ${SEED} (rerun with STATUS_CONSISTENCY_SEED=${SEED})`)
  const random = prng(SEED)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const dir = mkdtempSync(join(tmpdir(), 'civic-status-consistency-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite'), logger })
  const bus = createMemoryBus()
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: join(dir, 'consumers') } })
  let clock = new Date('2026-11-23T06:00:00.000Z')
  const now = (): Date => clock
  const openCases = createOpenCases({ feed })
  const projector = await startDashboardProjector({ feed, store, bus, readModels, storeIdentity: 'status-consistency', logger })
  const app = createHttpApp({ serviceName: 'civic-desk', logger, access })
  registerWorkflowRoutes(app, { store, openCases, catalogue, calendar, workflows, access, logger, now })
  registerDashboardRoutes(app, { readModels, projector, store, catalogue, access, logger, now, consumers: async () => [], eventsPerSecond: () => 0 })
  t.teardown(async () => {
    await app.close()
    await projector.stop()
    await openCases.close()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  // A few cases stay unrouted (refused at the desk or never routed): supervisors may act on them;
  // some are routed as likely duplicates of an earlier one (staff may unlink them).
  const seeded: { caseId: string; trackingCode: string }[] = []
  for (let i = 0; i < CASES; i++) {
    const draw = random()
    const earlier = seeded[0]
    const seed: Seed = draw < 0.1 ? { kind: 'submitted' } : draw < 0.3 && earlier !== undefined ? { kind: 'duplicate', of: earlier } : { kind: 'routed' }
    seeded.push(await seedCase(store, clock, seed))
  }
  const cases = seeded.map((c) => c.caseId)
  const outcomes = new Map<number, number>()
  for (let i = 0; i < COMMANDS; i++) {
    clock = new Date(clock.getTime() + 60_000)
    const caseId = pick(cases)
    const { action, body } = pick(ACTIONS)
    const res = await app.inject({ method: 'POST', url: `/v1/cases/${caseId}/${action}`, headers: supervisor, payload: body(pick) })
    outcomes.set(res.statusCode, (outcomes.get(res.statusCode) ?? 0) + 1)
    // 409: a step the status does not allow (or a transfer to the same directorate); nothing written.
    if (res.statusCode !== 200 && res.statusCode !== 409) t.fail(`seed ${SEED}: ${action} on ${caseId} answered ${res.statusCode}: ${res.body}`)
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(outcomes))}`)
  t.ok((outcomes.get(200) ?? 0) > COMMANDS / 4, 'a good share of the commands changed a case')

  const caseApiCounts = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {}
    for (const caseId of cases) {
      const res = await app.inject({ method: 'GET', url: `/v1/cases/${caseId}`, headers: supervisor })
      const status = res.json<{ status: string }>().status
      counts[status] = (counts[status] ?? 0) + 1
    }
    return counts
  }
  const overviewCounts = async (): Promise<Record<string, number>> => {
    const head = await store.headPosition()
    await until('the read models', async () => (await readModels.active())?.position === head)
    return (await app.inject({ method: 'GET', url: '/v1/dashboards/overview', headers: operator })).json<{ totals: { byStatus: Record<string, number> } }>().totals.byStatus
  }

  const expected = await caseApiCounts()
  t.ok(Object.keys(expected).length >= 4, `the run reached several statuses: ${JSON.stringify(expected)}`)
  t.same(await overviewCounts(), expected, `byStatus = the case API's statuses, live (seed ${SEED})`)

  const before = (await readModels.active())?.version
  const { version, done } = await projector.rebuild()
  await done
  t.not(version, before, 'a new version')
  t.same(await overviewCounts(), expected, `byStatus = the case API's statuses, after a rebuild (seed ${SEED})`)
}

t.test('memory read models', async (t) => {
  await randomisedRun(t, createMemoryReadModelStore())
})

t.test('Redis read models', async (t) => {
  const url = await redisTestUrl(t)
  if (url === undefined) return
  const prefix = `test:status-consistency:${randomUUID()}:`
  const readModels = await openRedisReadModelStore({ url, prefix })
  t.teardown(async () => {
    await readModels.close()
    await deleteRedisPrefix(url, prefix)
  })
  await randomisedRun(t, readModels)
})
