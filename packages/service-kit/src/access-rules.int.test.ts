// The access table against README.md's API table (same routes, same "who"), and the app's refusal
// of a route the table does not name.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ACCESS_RULES, CONSOLE_FILES, accessRuleFor, type AccessRule } from './access-rules.ts'
import { createHttpApp } from './http.ts'
import { capturingLogger } from './testing.ts'

const README = fileURLToPath(new URL('../../../README.md', import.meta.url))

/** `a/{b,c}/d` → `a/b/d`, `a/c/d`. */
function expand(path: string): string[] {
  const match = /\{([^}]+)\}/.exec(path)
  if (match === null) return [path]
  return match[1]!.split(',').flatMap((alt) => expand(path.replace(match[0], alt)))
}

/** Each route README's API table names, with its "who" cell. */
function readmeRoutes(): Array<{ method: string; path: string; who: string }> {
  const text = readFileSync(README, 'utf8')
  const section = text.slice(text.indexOf('## HTTP API'), text.indexOf('\n## ', text.indexOf('## HTTP API') + 1))
  const rows = section.split('\n').filter((line) => line.startsWith('| `'))
  return rows.flatMap((row) => {
    const [first = '', who = ''] = row.split(' | ').map((c) => c.replace(/^\| /, ''))
    const routes = [...first.matchAll(/`(GET|POST) ([^`?]+)(?:\?[^`]*)?`/g)]
    return routes.flatMap((m) => expand(m[2]!).map((path) => ({ method: m[1]!, path, who: who.trim() })))
  })
}

t.test('README.md names every route of the table with the same "who", and no other', async (t) => {
  const listed = readmeRoutes()
  t.ok(listed.length >= ACCESS_RULES.length, `README lists ${listed.length} routes`)
  for (const route of listed) {
    const rule = ACCESS_RULES.find((r) => r.method === route.method && r.path === route.path)
    t.ok(rule !== undefined, `${route.method} ${route.path} has a row in ACCESS_RULES`)
    t.equal(route.who, rule?.who, `${route.method} ${route.path}: README says what the table says`)
  }
  for (const rule of ACCESS_RULES) {
    t.ok(
      listed.some((r) => r.method === rule.method && r.path === rule.path),
      `${rule.method} ${rule.path} is in README's API table`,
    )
  }
})

t.test('every row is well-formed: own-department rows say what another directorate gets; public rows need no role', async (t) => {
  const keys = new Set<string>()
  for (const rule of ACCESS_RULES) {
    const key = `${rule.method} ${rule.path}`
    t.notOk(keys.has(key), `${key} once`)
    keys.add(key)
    const scoped = Object.values(rule.roles).includes('own-department')
    t.equal(rule.foreignStatus !== undefined, scoped, `${key}: foreignStatus exactly when staff are scoped`)
    if (scoped) t.equal(rule.roles.staff, 'own-department', `${key}: only staff are scoped to a directorate`)
    t.ok(rule.anonymous !== undefined || Object.keys(rule.roles).length > 0, `${key}: someone may call it`)
  }
})

t.test('the console row covers GETs outside /v1/ only; HEAD follows GET', async (t) => {
  t.equal(accessRuleFor(ACCESS_RULES, 'GET', '/app.js')?.path, CONSOLE_FILES)
  t.equal(accessRuleFor(ACCESS_RULES, 'HEAD', '/readyz')?.path, '/readyz')
  t.equal(accessRuleFor(ACCESS_RULES, 'GET', '/v1/new-thing'), undefined, 'a new API route is not covered by the console row')
  t.equal(accessRuleFor(ACCESS_RULES, 'POST', '/upload'), undefined)
})

t.test('an app given the table refuses a route without a row, naming where to add it', async (t) => {
  const { logger } = capturingLogger()
  const rules: AccessRule[] = [{ method: 'GET', path: '/v1/known', roles: { operator: 'full' }, who: 'operators' }]
  const app = createHttpApp({ logger, serviceName: 'x', accessRules: [...ACCESS_RULES, ...rules] })
  t.teardown(() => app.close())
  app.get('/v1/known', async () => ({}))
  t.throws(() => app.post('/v1/known', async () => ({})), /No access rule for POST \/v1\/known: add a row to ACCESS_RULES/)
  t.throws(() => app.get('/v1/cases/:caseId/secret', async () => ({})), /No access rule for GET \/v1\/cases\/:caseId\/secret/)
  await app.ready()
  t.equal((await app.inject({ method: 'GET', url: '/v1/known' })).statusCode, 200)
})
