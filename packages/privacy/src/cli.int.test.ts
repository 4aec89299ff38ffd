// The `pnpm privacy:*` scripts, run as child processes on a temporary data folder, as an operator
// would run them.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { caseStreamId } from '@civic-desk/case-feed'
import { openPostgresEventStore, openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { dropSchema, postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'
import t, { type Test } from 'tap'
import { closed, routed, submitted, writeCase } from './case-events.testing.ts'
import { masterKeyFile, openConfiguredPrivacy, type PrivacySettings } from './configured.ts'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url))

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a script with only the environment given (no CIVIC_* of the shell leaks in). */
function run(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CIVIC_') && k !== 'EVENTSTORE_URL' && k !== 'INIT_CWD'))
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script(name), ...args], { cwd: root, env: { ...base, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-privacy-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Three cases with old dates: one closed three years ago (due), one closed last month, one open. */
async function seedCases(store: EventStore): Promise<{ due: string; recent: string; open: string }> {
  const ids = { due: randomUUID(), recent: randomUUID(), open: randomUUID() }
  const lastMonth = new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString()
  await writeCase(store, ids.due, [submitted(ids.due, '2021-03-01T08:00:00Z', 'yol-cukur'), routed('2021-03-01T08:01:00Z', 'yol-cukur'), closed('2021-03-10T10:00:00Z')])
  await writeCase(store, ids.recent, [submitted(ids.recent, '2021-03-01T08:00:00Z', 'yol-cukur'), routed('2021-03-01T08:01:00Z', 'yol-cukur'), closed(lastMonth)])
  await writeCase(store, ids.open, [submitted(ids.open, '2019-03-01T08:00:00Z', 'yol-cukur')])
  return ids
}

async function withPrivacy<T>(settings: PrivacySettings, dataDir: string, work: (p: Awaited<ReturnType<typeof openConfiguredPrivacy>>) => Promise<T>): Promise<T> {
  const privacy = await openConfiguredPrivacy(settings, { dataDir })
  try {
    return await work(privacy)
  } finally {
    await privacy.close()
  }
}

void t.test('privacy:destroy-due on a SQLite data folder: --dry-run writes nothing, the run writes one entry and the events', async (t) => {
  const dir = tempDir(t)
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const ids = await seedCases(store)
  await store.close()
  const masterKey = newMasterKeyText()
  await withPrivacy({ masterKey }, dir, async (p) => {
    for (const id of Object.values(ids)) await p.keys.keyFor(id)
  })
  const filesBefore = readdirSync(dir).sort()
  const logOf = async () => {
    const s = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
    try {
      return (await s.readAll()).map((e) => `${e.position} ${e.streamId} ${e.type} ${e.id}`)
    } finally {
      await s.close()
    }
  }
  const eventsBefore = await logOf()
  t.equal(eventsBefore.length, 7)

  const dry = await run('destroy-due-cli.ts', ['--dry-run', '--data-dir', dir], { CIVIC_MASTER_KEY: masterKey })
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /DRY RUN/)
  t.match(dry.stdout, /3 vaka tarandı/)
  t.match(dry.stdout, /1 vakanın kişisel verileri imha edilecek/)
  t.ok(dry.stdout.includes(ids.due), 'the case due is listed')
  t.notOk(dry.stdout.includes(ids.recent) || dry.stdout.includes(ids.open), 'the others are not')
  t.same(readdirSync(dir).sort(), filesBefore, 'no file made')
  t.same(await logOf(), eventsBefore, 'no event appended')
  await withPrivacy({ masterKey }, dir, async (p) => {
    t.same(await p.log.list(), [], 'no destruction entry')
    t.equal((await p.keys.lookup(ids.due)).state, 'active')
  })

  const real = await run('destroy-due-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: masterKey })
  t.equal(real.code, 0, real.stderr)
  t.match(real.stdout, /1 vakanın kişisel verileri imha edildi/)
  const entries = await withPrivacy({ masterKey }, dir, async (p) => {
    t.equal((await p.keys.lookup(ids.due)).state, 'destroyed')
    t.equal((await p.keys.lookup(ids.recent)).state, 'active')
    t.equal((await p.keys.lookup(ids.open)).state, 'active')
    return p.log.list()
  })
  t.equal(entries.length, 1, 'one destruction entry')
  const [entry] = entries
  t.match(entry, { reason: 'retention-expired', requestReference: null, actor: { id: 'periodic-destruction', role: 'system' }, caseIds: [ids.due], completedAt: String })
  t.ok(real.stdout.includes(entry?.id ?? 'none'), 'the entry id is printed')
  t.equal((await logOf()).length, eventsBefore.length + 1, 'one event appended')
  const reopened = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  t.teardown(() => reopened.close())
  const erased = (await reopened.readStream(caseStreamId(ids.due))).filter((e) => e.type === 'PersonalDataErased')
  t.match(erased, [{ data: { destructionId: entry?.id, reason: 'retention-expired' } }])
  for (const id of [ids.recent, ids.open]) t.same((await reopened.readStream(caseStreamId(id))).filter((e) => e.type === 'PersonalDataErased'), [])

  const again = await run('destroy-due-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: masterKey })
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /nothing due; no destruction entry written/)
})

void t.test('privacy:destroy-due fails clearly: no event store, a wrong master key, a bad option', async (t) => {
  const dir = tempDir(t)
  const missing = await run('destroy-due-cli.ts', ['--data-dir', join(dir, 'nowhere')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /no event store at/)
  t.notOk(existsSync(join(dir, 'nowhere')), 'a wrong folder is not created')

  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  await seedCases(store)
  await store.close()
  await withPrivacy({ masterKey: newMasterKeyText() }, dir, async () => undefined)
  const wrongKey = await run('destroy-due-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: newMasterKeyText() })
  t.equal(wrongKey.code, 1)
  t.match(wrongKey.stderr, /belongs to master key/)
  const noKey = await run('destroy-due-cli.ts', ['--data-dir', dir])
  t.equal(noKey.code, 2, 'keys.sqlite without its master key: refused before a new master.key is made')
  t.notOk(existsSync(masterKeyFile(dir)))
  const bad = await run('destroy-due-cli.ts', ['--dry-run', '--days', '3'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /usage: pnpm privacy:destroy-due/)
})

void t.test('privacy:rotate-master-key with the data folder\'s master.key: rewraps every key, then replaces the file', async (t) => {
  const dir = tempDir(t)
  const ids = [randomUUID(), randomUUID(), randomUUID()]
  const keysBefore = await withPrivacy({}, dir, async (p) => Promise.all(ids.map((id) => p.keys.keyFor(id))))
  const oldText = readFileSync(masterKeyFile(dir), 'utf8')
  const result = await run('rotate-master-key-cli.ts', ['--data-dir', dir])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /rotation committed: 3 veri anahtarı/)
  const newText = readFileSync(masterKeyFile(dir), 'utf8')
  t.not(newText.trim(), oldText.trim(), 'the file holds a new key')
  t.notOk(result.stdout.includes(newText.trim()), 'a key kept in the file is not printed')
  t.notOk(existsSync(`${masterKeyFile(dir)}.next`))
  t.match(result.stdout, new RegExp(parseMasterKey(newText).fingerprint))
  await withPrivacy({ masterKey: newText }, dir, async (p) => {
    for (const [i, id] of ids.entries()) t.same(await p.keys.lookup(id), { state: 'active', key: keysBefore[i] }, 'the same data key, under the new master key')
  })
  await t.rejects(withPrivacy({ masterKey: oldText }, dir, async () => undefined), /belongs to master key/, 'the old key no longer opens the store')
})

void t.test('privacy:rotate-master-key with CIVIC_MASTER_KEY: a generated key is printed once; a given one is used', async (t) => {
  const dir = tempDir(t)
  const oldKey = newMasterKeyText()
  const id = randomUUID()
  const dataKey = await withPrivacy({ masterKey: oldKey }, dir, async (p) => p.keys.keyFor(id))
  const generated = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: oldKey })
  t.equal(generated.code, 0, generated.stderr)
  const printed = [...generated.stdout.matchAll(/^\s+([0-9a-f]{64})$/gm)].map((m) => m[1])
  t.equal(printed.length, 1, 'the new key is printed exactly once')
  const newKey = printed[0] ?? ''
  t.match(generated.stdout, /CIVIC_MASTER_KEY/)
  t.notOk(existsSync(masterKeyFile(dir)), 'no key file is written for a key from the environment')
  t.same(await withPrivacy({ masterKey: newKey }, dir, async (p) => p.keys.lookup(id)), { state: 'active', key: dataKey })

  const given = newMasterKeyText()
  const rotated = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: newKey, CIVIC_NEW_MASTER_KEY: given })
  t.equal(rotated.code, 0, rotated.stderr)
  t.notOk(rotated.stdout.includes(given), 'a given key is not printed')
  t.same(await withPrivacy({ masterKey: given }, dir, async (p) => p.keys.lookup(id)), { state: 'active', key: dataKey })

  const wrong = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: oldKey })
  t.equal(wrong.code, 1, 'the old key is refused')
  t.match(wrong.stderr, /belongs to master key/)
  const same = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: given, CIVIC_NEW_MASTER_KEY: given })
  t.equal(same.code, 2)
  const invalid = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { CIVIC_MASTER_KEY: given, CIVIC_NEW_MASTER_KEY: 'short' })
  t.equal(invalid.code, 2)
  t.match(invalid.stderr, /CIVIC_NEW_MASTER_KEY/)
  t.same(await withPrivacy({ masterKey: given }, dir, async (p) => p.keys.lookup(id)), { state: 'active', key: dataKey }, 'refused runs changed nothing')
})

const url = await postgresTestUrl(t)
if (url !== undefined) {
  const connectionString = url
  void t.test('postgres: privacy:destroy-due and privacy:rotate-master-key against CIVIC_PG_URL', async (t) => {
    const schema = testSchema(t, connectionString)
    t.teardown(() => dropSchema(connectionString, `${schema}_privacy`))
    const dir = tempDir(t)
    const store = await openPostgresEventStore({ connectionString, schema })
    const ids = await seedCases(store)
    await store.close()
    const masterKey = newMasterKeyText()
    const pg = { pgUrl: connectionString, pgSchema: schema }
    await withPrivacy({ masterKey, ...pg }, dir, async (p) => {
      for (const id of Object.values(ids)) await p.keys.keyFor(id)
    })
    const env = { CIVIC_EVENT_STORE: 'postgres', CIVIC_PG_URL: connectionString, CIVIC_PG_SCHEMA: schema, CIVIC_MASTER_KEY: masterKey }
    const dry = await run('destroy-due-cli.ts', ['--dry-run', '--data-dir', dir], env)
    t.equal(dry.code, 0, dry.stderr)
    t.ok(dry.stdout.includes(ids.due))
    await withPrivacy({ masterKey, ...pg }, dir, async (p) => t.same(await p.log.list(), [], 'the dry run wrote no entry'))
    const real = await run('destroy-due-cli.ts', ['--data-dir', dir], env)
    t.equal(real.code, 0, real.stderr)
    await withPrivacy({ masterKey, ...pg }, dir, async (p) => {
      t.match(await p.log.list(), [{ reason: 'retention-expired', caseIds: [ids.due] }])
      t.equal((await p.keys.lookup(ids.due)).state, 'destroyed')
    })
    const check = await openPostgresEventStore({ connectionString, schema })
    t.teardown(() => check.close())
    t.equal((await check.readStream(caseStreamId(ids.due))).filter((e) => e.type === 'PersonalDataErased').length, 1)

    const next = newMasterKeyText()
    const rotated = await run('rotate-master-key-cli.ts', ['--data-dir', dir], { ...env, CIVIC_NEW_MASTER_KEY: next })
    t.equal(rotated.code, 0, rotated.stderr)
    t.match(rotated.stdout, /rotation committed: 2 veri anahtarı/, 'the two active keys (the destroyed one has nothing to rewrap)')
    await withPrivacy({ masterKey: next, ...pg }, dir, async (p) => t.equal((await p.keys.lookup(ids.open)).state, 'active'))
  })
}
