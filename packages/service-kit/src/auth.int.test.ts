import t, { type Test } from 'tap'
import { createAccessControl, devAccessConfig } from './auth.ts'
import { createHttpApp } from './http.ts'
import { capturingLogger } from './testing.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'
const access = createAccessControl(devAccessConfig(['fen-isleri', 'temizlik']))

function setup(t: Test) {
  const { logger, lines } = capturingLogger()
  const app = createHttpApp({ logger, serviceName: 'department-workflow', access })
  app.get('/queue', { preHandler: access.requireRole('staff', 'supervisor') }, async (request) => ({ principal: request.principal }))
  app.get('/audit', { preHandler: app.requireRole('auditor') }, async (request) => ({ id: request.principal?.id }))
  app.get('/me', { preHandler: app.requireRole() }, async (request) => ({ id: request.principal?.id }))
  app.post('/early', { onRequest: app.requireRole('channel') }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  return { app, lines }
}

t.test('no Authorization header → 401 problem with a Bearer challenge', async (t) => {
  const { app } = setup(t)
  const res = await app.inject({ method: 'GET', url: '/queue', headers: { 'x-request-id': 'a-1' } })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['content-type'], PROBLEM)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="civic-desk"')
  t.same(res.json(), {
    type: 'https://civic-desk.dev/problems/unauthorized',
    title: 'Authentication required',
    status: 401,
    detail: 'Send an "Authorization: Bearer <token>" header.',
    instance: '/queue',
    code: 'unauthorized',
    requestId: 'a-1',
  })
})

t.test('an unknown token → 401 invalid_token', async (t) => {
  const { app, lines } = setup(t)
  const res = await app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-staff-maliye' } })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['content-type'], PROBLEM)
  t.match(res.headers['www-authenticate'], /^Bearer realm="civic-desk", error="invalid_token"$/)
  t.match(res.json(), { code: 'unauthorized', detail: 'The bearer token is not recognised.' })
  t.notMatch(JSON.stringify(lines), /dev-staff-maliye/, 'the presented token is not logged')
})

t.test('a known token without the role → 403 naming the required roles', async (t) => {
  const { app } = setup(t)
  const res = await app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-channel' } })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['content-type'], PROBLEM)
  t.match(res.json(), {
    type: 'https://civic-desk.dev/problems/forbidden',
    title: 'Forbidden',
    status: 403,
    code: 'forbidden',
    detail: 'This action requires one of the roles: staff, supervisor.',
    requiredRoles: ['staff', 'supervisor'],
  })
  const audit = await app.inject({ method: 'GET', url: '/audit', headers: { authorization: 'Bearer dev-operator' } })
  t.equal(audit.statusCode, 403)
  t.same(audit.json().requiredRoles, ['auditor'])
})

t.test('the right role → 200 and request.principal is set', async (t) => {
  const { app } = setup(t)
  const staff = await app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-staff-fen-isleri' } })
  t.equal(staff.statusCode, 200)
  t.same(staff.json(), { principal: { id: 'dev-staff-fen-isleri', roles: ['staff'], departments: ['fen-isleri'] } })
  const supervisor = await app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-supervisor' } })
  t.same(supervisor.json(), { principal: { id: 'dev-supervisor', roles: ['supervisor'], departments: ['fen-isleri', 'temizlik'] } })
  const auditor = await app.inject({ method: 'GET', url: '/audit', headers: { authorization: 'Bearer dev-auditor' } })
  t.same(auditor.json(), { id: 'dev-auditor' })
})

t.test('requireRole() with no roles admits any authenticated caller', async (t) => {
  const { app } = setup(t)
  t.same((await app.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer dev-operator' } })).json(), { id: 'dev-operator' })
  t.equal((await app.inject({ method: 'GET', url: '/me' })).statusCode, 401)
})

t.test('used as onRequest, the check runs before the body is read', async (t) => {
  const { app } = setup(t)
  const anonymous = await app.inject({ method: 'POST', url: '/early', headers: { 'content-type': 'application/json' }, payload: '{"broken": ' })
  t.equal(anonymous.statusCode, 401, 'not 400: an anonymous caller learns nothing about the body')
  const channel = await app.inject({ method: 'POST', url: '/early', headers: { authorization: 'Bearer dev-channel' }, payload: { ok: 1 } })
  t.equal(channel.statusCode, 200)
})

t.test('the principal is per request', async (t) => {
  const { app } = setup(t)
  const [a, b] = await Promise.all([
    app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-staff-temizlik' } }),
    app.inject({ method: 'GET', url: '/queue', headers: { authorization: 'Bearer dev-staff-fen-isleri' } }),
  ])
  t.same(a?.json().principal.departments, ['temizlik'])
  t.same(b?.json().principal.departments, ['fen-isleri'])
})
