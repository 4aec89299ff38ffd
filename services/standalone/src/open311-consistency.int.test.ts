// A request filed over Open311 shows up the same everywhere the product shows it: the services
// composed as standalone's HTTP thread composes them (intake with its Open311 index on the case
// feed, the department workflow, the dashboard projector and routes the console reads), over a
// real SQLite store. Filed as form data, routed, worked and resolved by staff over HTTP; then the
// Open311 answer is compared with the staff API, the citizen's look-up and the dashboards.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdForTrackingCode } from '@civic-desk/case-domain'
import { createCaseFeed, executeOnCase } from '@civic-desk/case-feed'
import { registerDashboardRoutes, startDashboardProjector } from '@civic-desk/dashboard'
import { createOpenCases, defaultWorkflowFile, loadWorkflows, registerWorkflowRoutes } from '@civic-desk/department-workflow'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { registerIntakeRoutes, startOpen311Index } from '@civic-desk/intake'
import { createMemoryBus } from '@civic-desk/messaging'
import { createMemoryReadModelStore } from '@civic-desk/read-models'
import { ACCESS_RULES, createAccessControl, createHttpApp, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { eventually } from '@civic-desk/service-kit/testing'

const catalogue = loadCatalogue(defaultCatalogueFile)
const calendar = createBusinessCalendar(loadHolidayData())
const logger = createLogger({ level: 'silent', name: 'open311-consistency-test' })
const access = createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code)))

t.test('a request filed over Open311 reads the same in Open311, the staff API, the citizen look-up and the dashboards', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-open311-consistency-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite'), logger })
  const bus = createMemoryBus()
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: join(dir, 'consumers') } })
  let clock = new Date('2026-11-23T06:00:00.000Z')
  const now = (): Date => clock
  const openCases = createOpenCases({ feed })
  const readModels = createMemoryReadModelStore()
  const projector = await startDashboardProjector({ feed, store, bus, readModels, storeIdentity: 'open311-consistency', logger })
  const index = startOpen311Index((options) => feed.project(options))
  const app = createHttpApp({ serviceName: 'civic-desk', logger, access, accessRules: ACCESS_RULES })
  await registerIntakeRoutes(app, { store, catalogue, access, logger, trackingKey: Buffer.alloc(32, 3), now, open311: { index } })
  registerWorkflowRoutes(app, { store, openCases, catalogue, calendar, workflows: loadWorkflows(defaultWorkflowFile, catalogue), access, logger, now })
  registerDashboardRoutes(app, { readModels, projector, store, catalogue, access, logger, now, consumers: async () => [], eventsPerSecond: () => 0 })
  t.teardown(async () => {
    await app.close()
    await projector.stop()
    await index.close()
    await openCases.close()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const filed = await app.inject({
    method: 'POST',
    url: '/open311/v2/requests.json',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams([
      ['api_key', 'dev-channel'],
      ['service_code', 'yol-cukur'],
      ['lat', '38.4697'],
      ['long', '27.2160'],
      ['attribute[boyut]', 'buyuk'],
      ['attribute[derinlik-cm]', '15'],
      ['description', 'Otobüs durağının önünde derin bir çukur var'],
    ]).toString(),
  })
  t.equal(filed.statusCode, 201)
  const code = filed.json<Array<{ service_request_id: string }>>()[0]!.service_request_id
  const caseId = caseIdForTrackingCode(code)

  // Routing (the consumer thread's job in standalone) routes it by its category.
  const routedAt = new Date(clock.getTime() + 60_000)
  await executeOnCase(store, caseId, () => ({
    type: 'RouteCase',
    meta: { eventId: randomUUID(), occurredAt: routedAt.toISOString(), actor: { kind: 'service', id: 'routing' }, correlationId: caseId, causationId: null },
    data: { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: routedAt.toISOString(), deadline: { hours: 48 }, basis: 'category', dueAt: calendar.dueAt(routedAt, { hours: 48 }).toISOString() }, legalDueAt: null },
  }))
  const staff = { authorization: 'Bearer dev-staff-fen-isleri' }
  const settled = async (): Promise<void> => {
    const head = await store.headPosition()
    await openCases.waitUntil(head)
    await index.waitUntil(head)
    await eventually(async () => projector.position, (p) => p >= head, 'the dashboards to catch up')
  }
  const views = async () => {
    await settled()
    const open311 = (await app.inject({ method: 'GET', url: `/open311/v2/requests/${code}.json?extensions=true` })).json<Array<Record<string, unknown>>>()[0]!
    const staffView = (await app.inject({ method: 'GET', url: `/v1/cases/${caseId}`, headers: staff })).json<Record<string, unknown>>()
    const lookup = (await app.inject({ method: 'GET', url: `/v1/requests/${code}` })).json<Record<string, unknown>>()
    const dashboard = (await app.inject({ method: 'GET', url: `/v1/dashboards/cases/${caseId}`, headers: { authorization: 'Bearer dev-operator' } })).json<{ case: Record<string, unknown> }>().case
    return { open311, staffView, lookup, dashboard }
  }

  clock = new Date(clock.getTime() + 2 * 60_000)
  const routed = await views()
  t.equal(routed.open311['status'], 'open')
  t.equal(routed.staffView['status'], 'routed')
  t.equal(routed.lookup['status'], 'routed')
  t.equal(routed.dashboard['status'], 'routed')
  t.equal(routed.dashboard['channel'], 'web', 'the channel of the api_key')
  t.equal(routed.open311['service_code'], routed.dashboard['category'])
  t.equal(routed.open311['agency_responsible'], 'Fen İşleri Müdürlüğü')
  t.equal(routed.dashboard['department'], 'fen-isleri')
  t.equal(Date.parse(String(routed.open311['expected_datetime'])), Date.parse(String(routed.dashboard['dueAt'])), 'the same due time as the dashboards')
  t.equal(Date.parse(String(routed.open311['expected_datetime'])), Date.parse(String(routed.lookup['expectedBy'])), 'and as the citizen is told')
  t.equal(Date.parse(String(routed.open311['requested_datetime'])), Date.parse(String(routed.dashboard['submittedAt'])))

  for (const action of ['accept', 'resolve'] as const) {
    clock = new Date(clock.getTime() + 30 * 60_000)
    const res = await app.inject({ method: 'POST', url: `/v1/cases/${caseId}/${action}`, headers: staff, payload: action === 'resolve' ? { resolution: 'Çukur asfaltla kapatıldı.' } : {} })
    t.equal(res.statusCode, 200, action)
  }
  const resolved = await views()
  t.equal(resolved.open311['status'], 'closed')
  t.equal(resolved.staffView['status'], 'resolved')
  t.equal(resolved.lookup['status'], 'resolved')
  t.equal(resolved.dashboard['status'], 'resolved')
  t.equal(resolved.open311['expected_datetime'], null)
  t.equal(Date.parse(String(resolved.open311['updated_datetime'])), Date.parse(String(resolved.lookup['updatedAt'])))
  t.equal(Date.parse(String(resolved.dashboard['resolvedAt'])), Date.parse(String(resolved.open311['updated_datetime'])))
  const notes = resolved.open311['notes'] as Array<{ type: string; datetime: string }>
  const timeline = resolved.lookup['timeline'] as Array<{ at: string }>
  t.same(notes.map((n) => Date.parse(n.datetime)), timeline.map((s) => Math.floor(Date.parse(s.at) / 1000) * 1000), 'one note per step of the public timeline, at the same instants')
  t.same(notes.map((n) => n.type), ['opened', 'activity', 'activity', 'closed'])

  const overview = (await app.inject({ method: 'GET', url: '/v1/dashboards/overview', headers: { authorization: 'Bearer dev-operator' } })).json<{ totals: { byChannel: Record<string, number>; byStatus?: Record<string, number> } }>()
  t.same(overview.totals.byChannel, { web: 1 }, 'counted once, under its channel, on the overview the console shows')
})
