// The lines `pnpm stack:up` prints last must work when pasted: the `try:` curl is run here exactly
// as printed, by bash, against an intake listening on a real port.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { buildIntakeApp } from '@civic-desk/intake'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { repoRoot } from './stack.ts'

const run = promisify(execFile)
const catalogue = loadCatalogue(defaultCatalogueFile)
const logger = createLogger({ level: 'silent', name: 'stack-hints-test' })

/** What `say_hints` of infra/stack/common.sh prints, with the given environment on top of this one minus REDIS_URL. */
async function hints(env: Record<string, string>): Promise<string[]> {
  const { REDIS_URL: _redis, ...base } = process.env
  const { stdout } = await run('bash', ['-c', `source ${JSON.stringify(join(repoRoot, 'infra/stack/common.sh'))}; say_hints`], { env: { ...base, ...env } })
  return stdout.split('\n').filter((line) => line !== '')
}

t.test('the read-model hint prints whole, with and without REDIS_URL', async (t) => {
  const [memory, ...rest] = await hints({ DASHBOARD_PORT: '3999' })
  t.match(memory, /^\[stack\] read models: in the memory of the dashboard process \(set REDIS_URL=redis:\/\/127\.0\.0\.1:6379 to keep them in Redis\); dashboards on http:\/\/127\.0\.0\.1:3999\/v1\/dashboards\/overview \(Bearer dev-operator\)$/)
  t.equal(rest.length, 1, 'then exactly one more line, the try: line')
  const [redis] = await hints({ REDIS_URL: 'redis://127.0.0.1:6379' })
  t.match(redis, /^\[stack\] read models: redis:\/\/127\.0\.0\.1:6379; dashboards on /)
})

t.test('the printed try: command, pasted into bash, files a request (201)', async (t) => {
  const store = createMemoryEventStore()
  const app = await buildIntakeApp({
    store,
    catalogue,
    access: createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code))),
    logger,
    trackingKey: Buffer.alloc(32, 3),
    now: () => new Date(),
  })
  t.teardown(async () => {
    await app.close()
    await store.close()
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const port = new URL(address).port

  const tryLine = (await hints({ INTAKE_PORT: port })).find((line) => line.startsWith('[stack] try: '))
  t.ok(tryLine, 'a try: line is printed')
  const command = (tryLine ?? '').slice('[stack] try: '.length)
  t.match(command, /^curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/requests /)
  // -w appends the status on its own line, after the body curl prints.
  const { stdout } = await run('bash', ['-c', `${command} -w '\\n%{http_code}'`])
  const [body = '', status] = stdout.split('\n')
  t.equal(status, '201', `answered: ${stdout}`)
  t.match(JSON.parse(body), { status: 'submitted', trackingCode: /^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3}$/ })
  t.equal(await store.headPosition(), 1, 'one case stored')
})
