import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes } from '@civic-desk/case-domain'
import { createAccessControl, createLogger, devAccessConfig } from '@civic-desk/service-kit'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { buildNotificationApp } from './app.ts'
import type { Notifier, NotifierStatus } from './notifier.ts'
import { MAX_OUTBOX_PAGE, createMemoryOutbox } from './outbox.ts'

const logger = createLogger({ level: 'silent', name: 'notification-app-test' })
const access = createAccessControl(devAccessConfig([]))
const operator = { authorization: 'Bearer dev-operator' }
const PROBLEM = 'application/problem+json; charset=utf-8'

function newTrackingCode(): string {
  return trackingCodeFromBytes(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'))
}

/** An app over a memory outbox holding two messages of case A and one of case B. */
function setup(t: Test) {
  const outbox = createMemoryOutbox()
  const codeA = newTrackingCode()
  const codeB = newTrackingCode()
  const record = (trackingCode: string, template: 'acknowledgement' | 'resolved') =>
    outbox.record({
      id: randomUUID(),
      channel: 'sms',
      to: '+905321234567',
      subject: '',
      text: `${template} ${trackingCode}`,
      caseId: caseIdForTrackingCode(trackingCode),
      trackingCode,
      template,
      language: 'tr',
      provider: 'outbox',
      recordedAt: '2026-11-20T09:15:00.000Z',
    })
  void record(codeA, 'acknowledgement')
  void record(codeB, 'acknowledgement')
  void record(codeA, 'resolved')
  const status: NotifierStatus = { sent: 3, failed: 0, skipped: 1, lastError: null }
  // The routes only read the notifier's counters: a fixed status stands in for a running one.
  const notifier: Notifier = { status: () => status, stop: async () => {} }
  const app = buildNotificationApp({ outbox, notifier, access, logger })
  t.teardown(() => app.close())
  return { app, codeA, codeB }
}

t.test('GET /v1/notifications/outbox filters by case or tracking code and pages by sequence', async (t) => {
  const { app, codeA } = setup(t)
  const get = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/v1/notifications/outbox${query}`, headers: operator })
    t.equal(res.statusCode, 200, `${query}: ${res.body}`)
    const body = res.json() as { total: number; entries: { sequence: number; trackingCode: string; template: string }[] }
    return { total: body.total, entries: body.entries.map((e) => [e.sequence, e.trackingCode === codeA ? 'A' : 'B', e.template]) }
  }
  t.same(await get(''), { total: 3, entries: [[1, 'A', 'acknowledgement'], [2, 'B', 'acknowledgement'], [3, 'A', 'resolved']] })
  t.same((await get(`?caseId=${caseIdForTrackingCode(codeA)}`)).entries, [[1, 'A', 'acknowledgement'], [3, 'A', 'resolved']])
  // Typed the way people type it: lower case, spaces instead of dashes.
  const typed = codeA.toLowerCase().replace(/-/g, ' ')
  t.same((await get(`?trackingCode=${encodeURIComponent(typed)}`)).entries, [[1, 'A', 'acknowledgement'], [3, 'A', 'resolved']])
  t.same((await get('?limit=1&after=1')).entries, [[2, 'B', 'acknowledgement']], 'limit and after read as numbers')
})

t.test('the total is that of the filtered messages; a case id in upper case finds its case', async (t) => {
  const { app, codeA, codeB } = setup(t)
  const get = async (query: string) => {
    const res = await app.inject({ method: 'GET', url: `/v1/notifications/outbox${query}`, headers: operator })
    t.equal(res.statusCode, 200, `${query}: ${res.body}`)
    return res.json() as { total: number; entries: { trackingCode: string }[] }
  }
  const caseA = caseIdForTrackingCode(codeA)
  t.equal((await get(`?caseId=${caseA}`)).total, 2, 'two of the three messages are about case A')
  t.equal((await get(`?caseId=${caseIdForTrackingCode(codeB)}`)).total, 1)
  t.equal((await get(`?trackingCode=${codeB}`)).total, 1)
  t.equal((await get(`?caseId=${caseA}&limit=1`)).total, 2, 'the total ignores paging, so a client knows how far to page')
  t.equal((await get(`?caseId=${randomUUID()}`)).total, 0)
  const upper = await get(`?caseId=${caseA.toUpperCase()}`)
  t.same({ total: upper.total, codes: upper.entries.map((e) => e.trackingCode) }, { total: 2, codes: [codeA, codeA] })
})

t.test('a bad query → 400 naming each parameter', async (t) => {
  const { app } = setup(t)
  const cases: ReadonlyArray<[string, { field: string; message: string | RegExp }[]]> = [
    ['?caseId=nope', [{ field: 'caseId', message: 'Invalid UUID' }]],
    ['?trackingCode=XXXX', [{ field: 'trackingCode', message: 'must be a tracking code like K7MA-4PXR-9TK' }]],
    ['?limit=0', [{ field: 'limit', message: /Too small: expected number to be >=1/ }]],
    [`?limit=${MAX_OUTBOX_PAGE + 1}`, [{ field: 'limit', message: /Too big/ }]],
    ['?after=-1&page=2', [{ field: 'after', message: /Too small/ }, { field: 'page', message: 'Unknown field' }]],
  ]
  for (const [query, errors] of cases) {
    const res = await app.inject({ method: 'GET', url: `/v1/notifications/outbox${query}`, headers: operator })
    t.equal(res.statusCode, 400, query)
    t.equal(res.headers['content-type'], PROBLEM)
    const problem = res.json()
    t.match(problem, { code: 'validation_failed', instance: '/v1/notifications/outbox', detail: `Invalid query parameters: ${errors.map((e) => e.field).join(', ')}.` }, query)
    t.equal(problem.errors.length, errors.length, `${query}: ${JSON.stringify(problem.errors)}`)
    t.match(problem.errors, errors, query)
  }
})

t.test('operators and supervisors read the outbox, operators the status; others are refused', async (t) => {
  const { app } = setup(t)
  const outbox = (token?: string) =>
    app.inject({ method: 'GET', url: '/v1/notifications/outbox?limit=nope', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  t.equal((await outbox()).statusCode, 401, 'checked before the query')
  t.equal((await outbox('dev-auditor')).statusCode, 403)
  t.equal((await outbox('dev-supervisor')).statusCode, 400)
  const status = await app.inject({ method: 'GET', url: '/v1/notifications/status', headers: operator })
  t.equal(status.statusCode, 200)
  t.same(status.json(), { sent: 3, failed: 0, skipped: 1, lastError: null })
  t.equal((await app.inject({ method: 'GET', url: '/v1/notifications/status', headers: { authorization: 'Bearer dev-supervisor' } })).statusCode, 403)
})

t.test("every route of notification's process is in its /openapi.json", async (t) => {
  const { app } = setup(t)
  t.same(await describedRouteGaps(app), [])
})
