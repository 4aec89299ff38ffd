// registerConsole over a real fastify instance: the page, its modules, Chart.js from its npm
// package, a prefix, and that unknown paths still reach the host's own not-found handler.
import Fastify from 'fastify'
import t from 'tap'
import { registerConsole } from './index.ts'

async function app(prefix?: string) {
  const server = Fastify()
  server.setNotFoundHandler((_request, reply) => reply.code(404).type('application/problem+json').send({ title: 'Not Found', status: 404 }))
  server.get('/v1/ping', () => ({ pong: true }))
  await registerConsole(server, prefix === undefined ? {} : { prefix })
  await server.ready()
  return server
}

t.test('serves the console, its modules and Chart.js at /', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const index = await server.inject('/')
  t.equal(index.statusCode, 200)
  t.match(index.headers['content-type'], /text\/html/)
  t.match(index.body, /<html lang="tr">/)
  t.match(index.body, /src="vendor\/chart\.umd\.min\.js"/)
  t.match(index.body, /type="module" src="app\.js"/)
  t.match(index.headers['content-security-policy'], /script-src 'self'/)
  t.equal(index.headers['x-content-type-options'], 'nosniff')

  const app_ = await server.inject('/app.js')
  t.equal(app_.statusCode, 200)
  t.match(app_.headers['content-type'], /javascript/)
  t.match(app_.body, /from '\.\/api\.js'/)

  for (const file of ['/api.js', '/format.js', '/labels.js', '/neighbourhoods.js', '/statuses.js', '/styles.css']) t.equal((await server.inject(file)).statusCode, 200, file)

  const chart = await server.inject('/vendor/chart.umd.min.js')
  t.equal(chart.statusCode, 200)
  t.match(chart.headers['content-type'], /javascript/)
  t.match(chart.body, /Chart\.js v4\./)
  t.ok(chart.body.length > 100_000, 'the real minified build')
})

t.test('leaves other routes and unknown paths to the host', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const ping = await server.inject('/v1/ping')
  t.same(ping.json(), { pong: true })
  t.equal(ping.headers['content-security-policy'], undefined, 'the API keeps its own headers')
  const missing = await server.inject('/v1/dashboards/overview')
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /application\/problem\+json/)
  t.equal((await server.inject('/../package.json')).statusCode, 404)
  t.equal((await server.inject('/vendor/chart.js')).statusCode, 404, 'only the browser build is exposed')
})

t.test('mounts under a prefix', async (t) => {
  const server = await app('/console')
  t.teardown(() => server.close())
  t.equal((await server.inject('/console/')).statusCode, 200)
  t.equal((await server.inject('/console/app.js')).statusCode, 200)
  t.equal((await server.inject('/console/vendor/chart.umd.min.js')).statusCode, 200)
  t.equal((await server.inject('/app.js')).statusCode, 404)
})
