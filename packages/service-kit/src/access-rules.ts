/**
 * The access rules of the whole HTTP API in one table: every route (method + path), who may call
 * it and what each caller sees. It is the reference the routes' own `requireRole` guards and
 * scope checks are held to:
 * - an app made with `createHttpApp({ accessRules: ACCESS_RULES })` refuses to start when a route
 *   has no row here (so a new route cannot slip in without a decision);
 * - the authorization test (services/standalone/src/access.e2e.test.ts) generates one check per
 *   row × caller (no token, each role, staff of the owning and of another directorate) from this
 *   table against the running product;
 * - README.md's API table states the same `who` for every route, which a test compares.
 */
import type { Role } from './auth.ts'

/**
 * What a caller with a role gets from a route:
 * - `full`: everything the route answers;
 * - `own-department`: staff only, for cases or directorates of their own directorate; another
 *   directorate's answers `foreignStatus`;
 * - `without-personal-data`: the answer without the applicant (name, phone, e-mail) and without the
 *   exact place (street address, coordinates); the neighbourhood stays;
 * - `status-only`: `/readyz` without its internal positions.
 */
export type Grant = 'full' | 'own-department' | 'without-personal-data' | 'status-only'

/** One route's rule. */
export interface AccessRule {
  readonly method: 'GET' | 'POST'
  /**
   * The route as registered (`:param`s included). `/*` stands for the operator console's static
   * files: any GET outside `/v1/` that no other row names.
   */
  readonly path: string
  /** What a caller without a token gets; absent: 401. */
  readonly anonymous?: Grant
  /** What each role gets; a role not listed gets 403 (or `anonymous`, when the route is public). */
  readonly roles: Readonly<Partial<Record<Role, Grant>>>
  /** The answer to staff of another directorate where a role is `own-department`: 403, or 404 where even existence is private. */
  readonly foreignStatus?: 403 | 404
  /** Who, in the words of README.md's API table. */
  readonly who: string
}

const CASE_COMMANDS = ['accept', 'start', 'note', 'request-info', 'citizen-reply', 'transfer', 'resolve', 'reject', 'reopen', 'close', 'unlink-duplicate'] as const

const caseCommand = (path: string): AccessRule => ({
  method: 'POST',
  path,
  roles: { staff: 'own-department', supervisor: 'full' },
  foreignStatus: 403,
  who: "staff of the case's department, supervisors",
})

/** Every route of the product. */
export const ACCESS_RULES: readonly AccessRule[] = [
  { method: 'GET', path: '/healthz', anonymous: 'full', roles: {}, who: 'anyone' },
  { method: 'GET', path: '/readyz', anonymous: 'status-only', roles: { operator: 'full' }, who: 'anyone (the details: operators)' },
  // Prometheus scrapes with CIVIC_METRICS_TOKEN (a bearer secret for /metrics only), which is no role: see metrics.ts.
  { method: 'GET', path: '/metrics', roles: { operator: 'full' }, who: 'operators, or Prometheus with `CIVIC_METRICS_TOKEN`' },
  { method: 'GET', path: '/*', anonymous: 'full', roles: {}, who: 'anyone (the console itself holds no data; it asks for a token)' },
  { method: 'GET', path: '/openapi.json', anonymous: 'full', roles: {}, who: 'anyone (the API description holds no data)' },
  { method: 'GET', path: '/docs', anonymous: 'full', roles: {}, who: 'anyone (the API reference page and its files hold no data)' },

  // intake
  { method: 'POST', path: '/v1/requests', roles: { channel: 'full' }, who: 'role `channel`' },
  { method: 'GET', path: '/v1/requests/:trackingCode', anonymous: 'full', roles: {}, who: 'anyone (rate-limited per address)' },
  // Open311 GeoReport v2: the reads are public and never show personal data; filing authenticates by
  // the form's `api_key` (a channel token of the access file), whatever bearer token comes with it.
  { method: 'GET', path: '/open311/v2/:resource', anonymous: 'full', roles: {}, who: 'anyone (rate-limited per address; no personal data)' },
  { method: 'GET', path: '/open311/v2/services/:file', anonymous: 'full', roles: {}, who: 'anyone (rate-limited per address; no personal data)' },
  { method: 'GET', path: '/open311/v2/requests/:file', anonymous: 'full', roles: {}, who: 'anyone (rate-limited per address; no personal data)' },
  { method: 'POST', path: '/open311/v2/:resource', anonymous: 'full', roles: {}, who: 'whoever sends a channel token as the form field `api_key` (no bearer token)' },

  // department-workflow
  { method: 'GET', path: '/v1/departments/:code/queue', roles: { staff: 'own-department', supervisor: 'full' }, foreignStatus: 403, who: 'staff of that department, supervisors' },
  {
    method: 'GET',
    path: '/v1/cases/:caseId',
    roles: { staff: 'own-department', supervisor: 'full', auditor: 'without-personal-data' },
    foreignStatus: 403,
    who: "staff of the case's department, supervisors, auditors (without personal data: no applicant, no street address or coordinates)",
  },
  { method: 'GET', path: '/v1/cases/:caseId/history', roles: { auditor: 'without-personal-data', supervisor: 'full' }, who: 'auditors (without personal data), supervisors' },
  ...CASE_COMMANDS.map((action) => caseCommand(`/v1/cases/:caseId/${action}`)),
  caseCommand('/v1/cases/:caseId/steps/:step'),
  { method: 'GET', path: '/v1/workflows', roles: { staff: 'full', supervisor: 'full', auditor: 'full' }, who: 'staff, supervisors, auditors' },

  // privacy (KVKK)
  { method: 'POST', path: '/v1/privacy/erasures', roles: { 'privacy-officer': 'full' }, who: 'the privacy officer (role `privacy-officer`)' },
  { method: 'GET', path: '/v1/privacy/subjects', roles: { 'privacy-officer': 'full' }, who: 'the privacy officer' },
  { method: 'GET', path: '/v1/privacy/destructions', roles: { 'privacy-officer': 'full', auditor: 'full' }, who: 'the privacy officer, auditors' },

  // audit: the tamper-evident log (signed checkpoints, proofs, case bundles)
  { method: 'GET', path: '/v1/audit/public-key', anonymous: 'full', roles: {}, who: 'anyone (the key that signs checkpoints is public)' },
  { method: 'GET', path: '/v1/audit/checkpoints', roles: { auditor: 'full', supervisor: 'full', operator: 'full' }, who: 'auditors, supervisors, operators' },
  { method: 'POST', path: '/v1/audit/checkpoints/verify', roles: { auditor: 'full', supervisor: 'full', operator: 'full' }, who: 'auditors, supervisors, operators' },
  { method: 'GET', path: '/v1/audit/proofs/inclusion', roles: { auditor: 'full', supervisor: 'full', operator: 'full' }, who: 'auditors, supervisors, operators' },
  { method: 'GET', path: '/v1/audit/proofs/consistency', roles: { auditor: 'full', supervisor: 'full', operator: 'full' }, who: 'auditors, supervisors, operators' },
  { method: 'GET', path: '/v1/cases/:caseId/audit-bundle', roles: { auditor: 'full', supervisor: 'full' }, who: 'auditors, supervisors (events as stored: personal fields stay sealed)' },

  // notification
  { method: 'GET', path: '/v1/notifications/outbox', roles: { operator: 'full', supervisor: 'full' }, who: 'operators, supervisors' },
  { method: 'GET', path: '/v1/notifications/status', roles: { operator: 'full' }, who: 'operators' },

  // routing, the consumers, the relay (distributed mode only)
  { method: 'GET', path: '/v1/routing/status', roles: { operator: 'full' }, who: 'operators' },
  { method: 'GET', path: '/v1/consumers/status', roles: { operator: 'full' }, who: 'operators' },
  { method: 'GET', path: '/v1/relay/status', roles: { operator: 'full' }, who: 'operators' },

  // dashboard
  { method: 'GET', path: '/v1/dashboards/overview', roles: { operator: 'full', supervisor: 'full' }, who: 'operators, supervisors' },
  { method: 'GET', path: '/v1/dashboards/neighbourhoods', roles: { operator: 'full', supervisor: 'full' }, who: 'operators, supervisors' },
  {
    method: 'GET',
    path: '/v1/dashboards/departments/:code',
    roles: { operator: 'full', supervisor: 'full', staff: 'own-department' },
    foreignStatus: 403,
    who: 'operators, supervisors, staff of that department',
  },
  {
    method: 'GET',
    path: '/v1/dashboards/departments/:code/cases.csv',
    roles: { operator: 'full', supervisor: 'full', staff: 'own-department' },
    foreignStatus: 403,
    who: 'operators, supervisors, staff of that department',
  },
  {
    method: 'GET',
    path: '/v1/dashboards/cases/:ref',
    roles: { operator: 'full', supervisor: 'full', staff: 'own-department' },
    foreignStatus: 404,
    who: "operators, supervisors, staff of the case's department (another directorate's case: `404`)",
  },
  { method: 'GET', path: '/v1/ops/streams', roles: { operator: 'full' }, who: 'operators' },
  { method: 'GET', path: '/v1/ops/read-models', roles: { operator: 'full' }, who: 'operators' },
  { method: 'POST', path: '/v1/ops/read-models/rebuild', roles: { operator: 'full' }, who: 'operators' },
]

/** The console row's path: any GET outside `/v1/` that no other row names. */
export const CONSOLE_FILES = '/*'

/** The rule of a registered route (HEAD follows its GET), or undefined when the table has none. */
export function accessRuleFor(rules: readonly AccessRule[], method: string, path: string): AccessRule | undefined {
  const m = method === 'HEAD' ? 'GET' : method
  const exact = rules.find((r) => r.method === m && r.path === path)
  if (exact !== undefined) return exact
  if (m === 'GET' && !path.startsWith('/v1/') && path !== '/v1') return rules.find((r) => r.method === 'GET' && r.path === CONSOLE_FILES)
  return undefined
}
