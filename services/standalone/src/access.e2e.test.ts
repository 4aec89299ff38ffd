// The authorization matrix, generated from the access table (ACCESS_RULES): every route × every
// caller (no token, each role, staff of the owning and of another directorate), against the real
// standalone process (`pnpm start`'s entry point, development tokens) — and the relay's own app for
// the one route only the distributed stack serves. The standalone is started with the table, so a
// route added without a row stops it from starting and fails this test as well.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createMemoryCheckpointStore } from '@civic-desk/case-feed'
import { buildRelayApp, startRelay } from '@civic-desk/event-relay'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { createMemoryBus } from '@civic-desk/messaging'
import { ACCESS_RULES, createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue, type AccessRule, type Grant, type Role } from '@civic-desk/service-kit'
import { eventually } from '@civic-desk/service-kit/testing'
import { startStandaloneProcess } from './standalone-process.testing.ts'

// One real standalone process and a thousand requests: minutes on a busy machine.
t.setTimeout(600_000)
const catalogue = loadCatalogue(defaultCatalogueFile)

/** Who calls: no token, one token per role, and staff of the directorate that holds the case (or another one). */
interface Caller {
  readonly name: string
  readonly role: Role | null
  readonly staff?: 'own' | 'other'
}
const CALLERS: readonly Caller[] = [
  { name: 'no token', role: null },
  { name: 'channel', role: 'channel' },
  { name: 'staff of the owning directorate', role: 'staff', staff: 'own' },
  { name: 'staff of another directorate', role: 'staff', staff: 'other' },
  { name: 'supervisor', role: 'supervisor' },
  { name: 'auditor', role: 'auditor' },
  { name: 'operator', role: 'operator' },
  { name: 'privacy officer', role: 'privacy-officer' },
]

type Expected = { readonly status: 'ok'; readonly grant: Grant } | { readonly status: 401 | 403 | 404 }

/** What the table says this caller gets from this route. */
function expected(rule: AccessRule, caller: Caller): Expected {
  if (caller.role === null) return rule.anonymous === undefined ? { status: 401 } : { status: 'ok', grant: rule.anonymous }
  const grant = rule.roles[caller.role] ?? rule.anonymous
  if (grant === undefined) return { status: 403 }
  if (grant === 'own-department' && caller.staff === 'other') return { status: rule.foreignStatus ?? 403 }
  return { status: 'ok', grant }
}

/** One request of a check: where, what, the success status, and what the answer may show. */
interface Target {
  readonly method: 'GET' | 'POST'
  readonly url: string
  readonly body?: unknown
  /** A form body (`application/x-www-form-urlencoded`), for Open311. */
  readonly form?: ReadonlyArray<readonly [string, string]>
  /** The directorate the route's case or queue belongs to (staff "own" vs "other"). */
  readonly department: string
  readonly ok: number
  readonly where?: 'relay'
  readonly sees?: (grant: Grant, text: string) => void
}

function tokenOf(caller: Caller, department: string): string | undefined {
  if (caller.role === null) return undefined
  if (caller.role === 'staff') {
    const other = catalogue.departments.find((d) => d.code !== department)!.code
    return `dev-staff-${caller.staff === 'own' ? department : other}`
  }
  return caller.role === 'privacy-officer' ? 'dev-privacy' : `dev-${caller.role}`
}

const CITIZEN = { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' }
const PLACE = { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4', lat: 38.468213, lon: 27.209741 }
// The phone as intake stores it (E.164).
const PERSONAL = ['Ayşe Yılmaz', '+905321112233', 'Şehit Öğretmen', '38.468213', '27.209741']

t.test('every route × every caller answers as ACCESS_RULES says', async (t) => {
  const { base } = await startStandaloneProcess(t)

  // The relay status route exists only in the distributed stack: its own app, same development tokens.
  const relayDir = mkdtempSync(join(tmpdir(), 'civic-access-relay-'))
  const logger = createLogger({ level: 'silent', name: 'access-test' })
  const relayStore = openSqliteEventStore({ file: join(relayDir, 'events.sqlite'), logger })
  const relay = await startRelay({ store: relayStore, bus: createMemoryBus(), checkpoints: createMemoryCheckpointStore(), logger })
  const relayApp = buildRelayApp({ relay, store: relayStore, access: createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code))), logger })
  t.teardown(async () => {
    await relayApp.close()
    await relay.stop()
    await relayStore.close()
    rmSync(relayDir, { recursive: true, force: true })
  })

  const call = async (target: Target, token: string | undefined): Promise<{ status: number; text: string; type: string }> => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` }
    if (target.body !== undefined) headers['content-type'] = 'application/json'
    if (target.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const payload = target.form !== undefined ? new URLSearchParams(target.form.map(([k, v]): [string, string] => [k, v])).toString() : target.body === undefined ? undefined : JSON.stringify(target.body)
    if (target.where === 'relay') {
      const res = await relayApp.inject({ method: target.method, url: target.url, headers, ...(payload === undefined ? {} : { payload }) })
      return { status: res.statusCode, text: res.body, type: String(res.headers['content-type'] ?? '') }
    }
    const res = await fetch(`${base}${target.url}`, { method: target.method, headers, ...(payload === undefined ? {} : { body: payload }) })
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' }
  }
  const supervisor = async (path: string, body: unknown): Promise<void> => {
    const res = await call({ method: 'POST', url: path, body, department: '', ok: 200 }, 'dev-supervisor')
    if (res.status !== 200) throw new Error(`POST ${path} → ${res.status} ${res.text}`)
  }

  /** A new case of `category`, routed, with an applicant and an exact place. */
  const newCase = async (category: string): Promise<{ caseId: string; trackingCode: string; department: string }> => {
    const res = await call(
      {
        method: 'POST',
        url: '/v1/requests',
        department: '',
        ok: 201,
        body: { channel: 'call-center', kind: 'request', category, description: 'Sokağımızda büyük bir çukur var, yardım bekliyoruz.', location: PLACE, citizen: CITIZEN },
      },
      'dev-channel',
    )
    if (res.status !== 201) throw new Error(`submit → ${res.status} ${res.text}`)
    const { caseId, trackingCode } = JSON.parse(res.text) as { caseId: string; trackingCode: string }
    const routed = await eventually(
      async () => JSON.parse((await call({ method: 'GET', url: `/v1/cases/${caseId}`, department: '', ok: 200 }, 'dev-supervisor')).text) as { status: string; department: { code: string } | null },
      (c) => c.status === 'routed',
      `case ${caseId} routed`,
    )
    return { caseId, trackingCode, department: routed.department!.code }
  }

  const fixture = await newCase('yol-cukur')
  // The dashboards answer from the read models: wait until the case is projected there.
  await eventually(async () => (await call({ method: 'GET', url: `/v1/dashboards/cases/${fixture.caseId}`, department: '', ok: 200 }, 'dev-operator')).status, (s) => s === 200, 'the case in the read models')

  const withoutPersonalData = (grant: Grant, text: string): void => {
    for (const value of PERSONAL) {
      if (grant === 'without-personal-data') t.notOk(text.includes(value), `without personal data: no ${value}`)
      else t.ok(text.includes(value), `${grant}: shows ${value}`)
    }
  }

  /** The body of each case command. */
  const BODIES: Record<string, unknown> = {
    accept: {},
    start: {},
    note: { text: 'Ekip yarın bakacak.' },
    'request-info': { question: 'Çukur hangi binanın önünde?' },
    'citizen-reply': { text: '12 numaranın önünde.' },
    transfer: { department: 'temizlik', reason: 'Temizlik işi.' },
    resolve: { resolution: 'Çukur kapatıldı.' },
    reject: { reasonCode: 'other', reason: 'Belediyenin işi değil.' },
    reopen: { reason: 'Çukur yeniden açıldı.' },
    close: {},
    // Every new case of this file is reported at the same place, so it is linked to the first.
    'unlink-duplicate': { reason: 'Aynı yerde ama ayrı bir çukur.' },
    'steps/ev-ziyareti-planlandi': { fields: { visitDate: '2026-12-10' } },
  }

  /** A new case brought (by a supervisor) to where `action` is allowed. */
  const caseFor = async (action: string): Promise<{ caseId: string; department: string }> => {
    const c = await newCase(action.startsWith('steps/') ? 'sosyal-yardim' : 'yol-cukur')
    const at = (a: string) => `/v1/cases/${c.caseId}/${a}`
    if (action === 'start' || action.startsWith('steps/')) await supervisor(at('accept'), {})
    if (action === 'citizen-reply') await supervisor(at('request-info'), BODIES['request-info'])
    if (action === 'reopen' || action === 'close') await supervisor(at('resolve'), BODIES['resolve'])
    return c
  }

  /** The newest signed checkpoint, as kept elsewhere (one is signed for the fixture's bundle first). */
  const newestCheckpoint = async (): Promise<unknown> => {
    await call({ method: 'GET', url: `/v1/cases/${fixture.caseId}/audit-bundle`, department: '', ok: 200 }, 'dev-auditor')
    const list = JSON.parse((await call({ method: 'GET', url: '/v1/audit/checkpoints?limit=1', department: '', ok: 200 }, 'dev-auditor')).text) as { checkpoints: { stream: unknown }[] }
    const { stream: _stream, ...checkpoint } = list.checkpoints[0]!
    return checkpoint
  }

  const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Istanbul' })
  const fen = fixture.department
  /** How to call each route of the table; `allowed` asks for a fresh case where the call changes it. */
  const TARGETS: Record<string, (allowed: boolean) => Promise<Target>> = {
    'GET /healthz': async () => ({ method: 'GET', url: '/healthz', department: fen, ok: 200 }),
    'GET /metrics': async () => ({ method: 'GET', url: '/metrics', department: fen, ok: 200 }),
    'GET /readyz': async () => ({
      method: 'GET',
      url: '/readyz',
      department: fen,
      ok: 200,
      sees: (grant, text) => t.equal((JSON.parse(text) as { details?: unknown }).details !== undefined, grant === 'full', `readiness details: ${grant}`),
    }),
    'GET /*': async () => ({ method: 'GET', url: '/', department: fen, ok: 200 }),
    'GET /openapi.json': async () => ({ method: 'GET', url: '/openapi.json', department: fen, ok: 200 }),
    'GET /docs': async () => ({ method: 'GET', url: '/docs', department: fen, ok: 200 }),
    'POST /v1/requests': async () => ({ method: 'POST', url: '/v1/requests', department: fen, ok: 201, body: { channel: 'web', kind: 'suggestion', description: 'Parka bank konulsun.' } }),
    'GET /v1/requests/:trackingCode': async () => ({ method: 'GET', url: `/v1/requests/${fixture.trackingCode}`, department: fen, ok: 200, sees: (_g, text) => withoutPersonalData('without-personal-data', text) }),
    // Open311: public reads that never show personal data, whoever asks; filing by the form's api_key,
    // whatever bearer token (or none) comes with it.
    'GET /open311/v2/:resource': async () => ({ method: 'GET', url: '/open311/v2/requests.json?extensions=true', department: fen, ok: 200, sees: (_g, text) => withoutPersonalData('without-personal-data', text) }),
    'GET /open311/v2/services/:file': async () => ({ method: 'GET', url: '/open311/v2/services/yol-cukur.xml', department: fen, ok: 200 }),
    'GET /open311/v2/requests/:file': async () => ({ method: 'GET', url: `/open311/v2/requests/${fixture.trackingCode}.xml?extensions=true`, department: fen, ok: 200, sees: (_g, text) => withoutPersonalData('without-personal-data', text) }),
    'POST /open311/v2/:resource': async () => ({
      method: 'POST',
      url: '/open311/v2/requests.json',
      department: fen,
      ok: 201,
      form: [['api_key', 'dev-channel'], ['service_code', 'yol-cukur'], ['address_string', 'Kazımdirik'], ['device_id', 'access-test'], ['client_reference', `${Date.now()}-${Math.random()}`]],
    }),
    'GET /v1/departments/:code/queue': async () => ({ method: 'GET', url: `/v1/departments/${fen}/queue`, department: fen, ok: 200 }),
    'GET /v1/cases/:caseId': async () => ({ method: 'GET', url: `/v1/cases/${fixture.caseId}`, department: fen, ok: 200, sees: withoutPersonalData }),
    'GET /v1/cases/:caseId/history': async () => ({ method: 'GET', url: `/v1/cases/${fixture.caseId}/history`, department: fen, ok: 200, sees: withoutPersonalData }),
    'GET /v1/workflows': async () => ({ method: 'GET', url: '/v1/workflows', department: fen, ok: 200 }),
    'GET /v1/notifications/outbox': async () => ({ method: 'GET', url: `/v1/notifications/outbox?caseId=${fixture.caseId}`, department: fen, ok: 200 }),
    'GET /v1/notifications/status': async () => ({ method: 'GET', url: '/v1/notifications/status', department: fen, ok: 200 }),
    'GET /v1/routing/status': async () => ({ method: 'GET', url: '/v1/routing/status', department: fen, ok: 200 }),
    'GET /v1/consumers/status': async () => ({ method: 'GET', url: '/v1/consumers/status', department: fen, ok: 200 }),
    'GET /v1/relay/status': async () => ({ method: 'GET', url: '/v1/relay/status', department: fen, ok: 200, where: 'relay' }),
    'GET /v1/dashboards/overview': async () => ({ method: 'GET', url: '/v1/dashboards/overview', department: fen, ok: 200 }),
    'GET /v1/dashboards/neighbourhoods': async () => ({ method: 'GET', url: '/v1/dashboards/neighbourhoods', department: fen, ok: 200 }),
    'GET /v1/dashboards/departments/:code': async () => ({ method: 'GET', url: `/v1/dashboards/departments/${fen}`, department: fen, ok: 200 }),
    'GET /v1/dashboards/departments/:code/cases.csv': async () => ({ method: 'GET', url: `/v1/dashboards/departments/${fen}/cases.csv?from=${today}&to=${today}`, department: fen, ok: 200 }),
    'GET /v1/dashboards/cases/:ref': async () => ({
      method: 'GET',
      url: `/v1/dashboards/cases/${fixture.trackingCode}`,
      department: fen,
      ok: 200,
      sees: (_g, text) => withoutPersonalData('without-personal-data', text),
    }),
    // An allowed erasure erases a case of its own (by tracking code); a refused one changes nothing.
    'POST /v1/privacy/erasures': async (allowed) => {
      const target = allowed ? await newCase('yol-cukur') : fixture
      return { method: 'POST', url: '/v1/privacy/erasures', department: fen, ok: 201, body: { trackingCode: target.trackingCode, requestReference: 'KVKK-2026-0001', legalBasis: 'KVKK m.7, m.11/1-e' } }
    },
    'GET /v1/privacy/subjects': async () => ({ method: 'GET', url: `/v1/privacy/subjects?phone=${encodeURIComponent(CITIZEN.phone)}`, department: fen, ok: 200, sees: withoutPersonalData }),
    'GET /v1/privacy/destructions': async () => ({ method: 'GET', url: '/v1/privacy/destructions', department: fen, ok: 200 }),
    // The audit routes: a checkpoint is made first (asking for a bundle signs one), so proofs exist.
    'GET /v1/audit/public-key': async () => ({ method: 'GET', url: '/v1/audit/public-key', department: fen, ok: 200 }),
    'GET /v1/audit/checkpoints': async () => ({ method: 'GET', url: '/v1/audit/checkpoints', department: fen, ok: 200 }),
    'POST /v1/audit/checkpoints/verify': async () => ({ method: 'POST', url: '/v1/audit/checkpoints/verify', department: fen, ok: 200, body: await newestCheckpoint() }),
    'GET /v1/audit/proofs/inclusion': async () => {
      await newestCheckpoint()
      return { method: 'GET', url: '/v1/audit/proofs/inclusion?event=1', department: fen, ok: 200 }
    },
    'GET /v1/audit/proofs/consistency': async () => {
      await newestCheckpoint()
      return { method: 'GET', url: '/v1/audit/proofs/consistency?from=1', department: fen, ok: 200 }
    },
    'GET /v1/cases/:caseId/audit-bundle': async () => ({ method: 'GET', url: `/v1/cases/${fixture.caseId}/audit-bundle`, department: fen, ok: 200 }),
    'GET /v1/ops/streams': async () => ({ method: 'GET', url: '/v1/ops/streams', department: fen, ok: 200 }),
    'GET /v1/ops/read-models': async () => ({ method: 'GET', url: '/v1/ops/read-models', department: fen, ok: 200 }),
    'POST /v1/ops/read-models/rebuild': async () => ({ method: 'POST', url: '/v1/ops/read-models/rebuild', department: fen, ok: 202 }),
  }
  const commandTarget = async (rule: AccessRule, allowed: boolean): Promise<Target | undefined> => {
    const match = /^\/v1\/cases\/:caseId\/(.+)$/.exec(rule.path)
    if (rule.method !== 'POST' || match === null) return undefined
    const action = match[1]!.replace(':step', 'ev-ziyareti-planlandi')
    // A refused call changes nothing, so it may use any case of the right directorate; an allowed one gets its own.
    const c = allowed || action.startsWith('steps/') ? await caseFor(action) : fixture
    return { method: 'POST', url: `/v1/cases/${c.caseId}/${action}`, department: c.department, ok: 200, body: BODIES[action] }
  }

  for (const rule of ACCESS_RULES) {
    await t.test(`${rule.method} ${rule.path}`, async (t) => {
      for (const caller of CALLERS) {
        const want = expected(rule, caller)
        const target = (await commandTarget(rule, want.status === 'ok')) ?? (await TARGETS[`${rule.method} ${rule.path}`]?.(want.status === 'ok'))
        if (target === undefined) {
          t.fail(`no request in this test for ${rule.method} ${rule.path}: add one to TARGETS`)
          return
        }
        const res = await call(target, tokenOf(caller, target.department))
        const label = `${caller.name} → ${want.status === 'ok' ? target.ok : want.status}`
        if (want.status === 'ok') {
          t.equal(res.status, target.ok, label, { body: res.text.slice(0, 300) })
          target.sees?.(want.grant, res.text)
        } else {
          t.equal(res.status, want.status, label, { body: res.text.slice(0, 300) })
          t.equal(res.type, 'application/problem+json; charset=utf-8', `${caller.name}: a problem document`)
          const code = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' }[want.status]
          t.equal((JSON.parse(res.text) as { code?: string }).code, code, `${caller.name}: ${code}`)
          t.notMatch(res.text, /There is no route/, `${caller.name}: the route exists`)
        }
      }
    })
  }
})
