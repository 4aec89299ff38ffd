// The lines `pnpm stack:up` prints last must work when pasted: the `try:` curl is run here exactly
// as printed, by bash, against an intake listening on a real port. Also the stack's settings
// (PostgreSQL by default, SQLite on request), its refusal to start without PostgreSQL, and its
// master key (infra/stack/common.sh and up.sh, up to the point where Kafka would start).
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { buildIntakeApp } from '@civic-desk/intake'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { freePort, repoRoot } from './stack.ts'

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

/** Runs `script` in bash after sourcing infra/stack/common.sh, with `env` on top of this environment minus the stack's own settings. */
async function inStack(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { REDIS_URL: _r, CIVIC_EVENT_STORE: _s, CIVIC_PG_URL: _u, CIVIC_PG_SCHEMA: _p, CIVIC_MASTER_KEY: _k, CIVIC_DATA_DIR: _d, CIVIC_RELAY_URL: _relay, ...base } = process.env
  try {
    const { stdout, stderr } = await run('bash', ['-c', `set -euo pipefail; source ${JSON.stringify(join(repoRoot, 'infra/stack/common.sh'))}; ${script}`], { env: { ...base, ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

t.test('the stack runs on PostgreSQL by default, in a schema of its own; each setting can be overridden', async (t) => {
  const show = 'echo "$CIVIC_EVENT_STORE|${CIVIC_PG_URL:-}|${CIVIC_PG_SCHEMA:-}|$CIVIC_RELAY_URL"'
  t.equal((await inStack(show, {})).stdout.trim(), 'postgres|postgres://postgres@127.0.0.1:5432/test|civic_stack|http://127.0.0.1:3006')
  t.equal((await inStack(show, { CIVIC_PG_URL: 'postgres://civic@db:5432/civic', CIVIC_PG_SCHEMA: 'bornova', RELAY_PORT: '4006' })).stdout.trim(), 'postgres|postgres://civic@db:5432/civic|bornova|http://127.0.0.1:4006')
  t.equal((await inStack(show, { CIVIC_EVENT_STORE: 'sqlite' })).stdout.trim(), 'sqlite|||http://127.0.0.1:3006', 'SQLite as before: no server settings')
  t.equal((await inStack('pg_url_shown', { CIVIC_PG_URL: 'postgres://civic:s3cret@db:5432/civic' })).stdout.trim(), 'postgres://civic:***@db:5432/civic', 'a password is never shown')
})

t.test('stack:up with PostgreSQL not answering stops before starting anything, and says what to do', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-stack-up-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const pgPort = await freePort()
  const result = await inStack(`bash ${JSON.stringify(join(repoRoot, 'infra/stack/up.sh'))}`, {
    CIVIC_DATA_DIR: dataDir,
    CIVIC_PG_URL: `postgres://postgres:secret@127.0.0.1:${pgPort}/test`,
    KAFKA_PORT: String(await freePort()),
  })
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`PostgreSQL does not answer at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${pgPort}/test: .*ECONNREFUSED`))
  t.notMatch(result.stderr + result.stdout, /secret/, 'the password is not printed')
  t.match(result.stderr, /start PostgreSQL/)
  t.match(result.stderr, /CIVIC_PG_URL=postgres:\/\/user@host:5432\/database pnpm stack:up/)
  t.match(result.stderr, /CIVIC_EVENT_STORE=sqlite pnpm stack:up/)
  t.notMatch(result.stdout, /Kafka on/, 'Kafka was not started')
  t.same(readdirSync(join(dataDir, 'run')), [], 'no service was started')
  t.notOk(existsSync(join(dataDir, 'master.key')), 'no key made for a stack that did not start')
})

t.test("the stack's master key: made once, owner-only, then the same; CIVIC_MASTER_KEY given wins", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-stack-key-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const key = 'stack_master_key; echo "$CIVIC_MASTER_KEY|$KEY_NOTE"'
  const first = await inStack(key, { CIVIC_DATA_DIR: dataDir })
  t.equal(first.code, 0, first.stderr)
  const [made, note] = first.stdout.trim().split('|')
  t.match(made, /^[0-9a-f]{64}$/)
  t.match(note, /^made now in .*master\.key \(owner-only\)$/)
  const file = join(dataDir, 'master.key')
  t.equal(statSync(file).mode & 0o777, 0o600, 'owner-only')
  t.equal(readFileSync(file, 'utf8').trim(), made)
  const second = await inStack(key, { CIVIC_DATA_DIR: dataDir })
  t.equal(second.stdout.trim(), `${made}|from ${file}`, 'the same key at the next start')
  const given = 'a'.repeat(64)
  t.equal((await inStack(key, { CIVIC_DATA_DIR: dataDir, CIVIC_MASTER_KEY: given })).stdout.trim(), `${given}|from CIVIC_MASTER_KEY in your environment`)

  // Keys of an earlier stack without their master key: refused, not replaced by a new key.
  rmSync(file)
  writeFileSync(join(dataDir, 'keys.sqlite'), '')
  const orphan = await inStack('stack_master_key', { CIVIC_DATA_DIR: dataDir, CIVIC_EVENT_STORE: 'sqlite' })
  t.equal(orphan.code, 1)
  t.match(orphan.stderr, /keys\.sqlite holds the keys of an earlier stack, but its master key .* is gone/)
  t.notOk(existsSync(file), 'no new key made')
  const orphanPg = await inStack('stack_master_key "log=yes keys=yes"', { CIVIC_DATA_DIR: dataDir })
  t.match(orphanPg.stderr, /the key store civic_stack_privacy on postgres:\/\/postgres@127\.0\.0\.1:5432\/test holds the keys of an earlier stack/)
})
