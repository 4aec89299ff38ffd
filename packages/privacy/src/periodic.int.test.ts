import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { caseStreamId } from '@civic-desk/case-feed'
import { validateCatalogue } from '@civic-desk/contracts'
import { createMemoryEventStore, openPostgresEventStore, openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { dropSchema, postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'
import t, { type Test } from 'tap'
import { closed, reopened, routed, submitted, writeCase } from './case-events.testing.ts'
import { openConfiguredPrivacy, type OpenedPrivacy } from './configured.ts'
import { DESTRUCTION_METHOD } from './destruction-log.ts'
import { newMasterKeyText } from './master-key.ts'
import {
  MAX_PERIOD_DAYS,
  PeriodicDestructionConfigError,
  RETENTION_FIELDS,
  RETENTION_LEGAL_BASIS,
  destroyDue,
  startPeriodicDestruction,
  type DestroyDueResult,
} from './periodic.ts'

const catalogue = validateCatalogue(JSON.parse(readFileSync(new URL('../../../infra/catalogue/catalogue.json', import.meta.url), 'utf8')))
const NOW = new Date('2026-06-01T00:00:00.000Z')

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-periodic-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Four cases: one due (closed 3 years ago), a KVKK application closed 2.5 years ago (kept 3), one reopened, one open. */
async function seed(store: EventStore, privacy: OpenedPrivacy) {
  const ids = { due: randomUUID(), kvkk: randomUUID(), reopened: randomUUID(), open: randomUUID() }
  await writeCase(store, ids.due, [submitted(ids.due, '2023-05-01T08:00:00Z', 'yol-cukur'), routed('2023-05-01T08:01:00Z', 'yol-cukur'), closed('2023-05-20T10:00:00Z')])
  await writeCase(store, ids.kvkk, [submitted(ids.kvkk, '2023-11-01T08:00:00Z'), routed('2023-11-01T08:01:00Z', 'kvkk-basvurusu'), closed('2023-12-01T10:00:00Z')])
  await writeCase(store, ids.reopened, [submitted(ids.reopened, '2023-01-01T08:00:00Z', 'yol-cukur'), closed('2023-02-01T10:00:00Z'), reopened('2023-03-01T10:00:00Z')])
  await writeCase(store, ids.open, [submitted(ids.open, '2022-01-01T08:00:00Z', 'yol-cukur')])
  for (const id of Object.values(ids)) await privacy.keys.keyFor(id)
  return ids
}

const erasedEvents = async (store: EventStore, caseId: string) => (await store.readStream(caseStreamId(caseId))).filter((e) => e.type === 'PersonalDataErased')

async function destroyDueScenario(t: Test, store: EventStore, privacy: OpenedPrivacy) {
  const ids = await seed(store, privacy)
  const { keys, log } = privacy
  const head = await store.headPosition()

  const progress: string[] = []
  const dry = await destroyDue({ keys, log, store, catalogue, now: () => NOW, dryRun: true, onProgress: (p) => progress.push(p.phase) })
  t.same(dry.due.map((d) => d.caseId), [ids.due], 'the dry run lists the one case due')
  t.match(dry, { dryRun: true, cases: 4, entry: null, outcome: null })
  t.ok(progress.includes('scan'))
  t.same(await log.list(), [], 'the dry run writes no entry…')
  t.equal((await keys.lookup(ids.due)).state, 'active', '…destroys no key…')
  t.equal(await store.headPosition(), head, '…and appends no event')

  let clock = NOW.getTime()
  const id = randomUUID()
  const result = await destroyDue({ keys, log, store, catalogue, now: () => new Date((clock += 1000)), newId: () => id })
  t.same(result.due.map((d) => d.caseId), [ids.due])
  t.same(result.entry, {
    id,
    reason: 'retention-expired',
    legalBasis: RETENTION_LEGAL_BASIS,
    requestReference: null,
    actor: { id: 'periodic-destruction', role: 'system' },
    caseIds: [ids.due],
    fields: RETENTION_FIELDS,
    method: DESTRUCTION_METHOD,
    startedAt: '2026-06-01T00:00:02.000Z',
    completedAt: '2026-06-01T00:00:03.000Z',
  })
  t.same(await log.list(), [result.entry], 'one entry, completed')
  t.equal((await keys.lookup(ids.due)).state, 'destroyed')
  for (const other of [ids.kvkk, ids.reopened, ids.open]) t.equal((await keys.lookup(other)).state, 'active', 'the others keep their keys')
  const [event] = await erasedEvents(store, ids.due)
  t.match(event, { type: 'PersonalDataErased', data: { destructionId: id, reason: 'retention-expired', legalBasis: RETENTION_LEGAL_BASIS, requestReference: null, fields: RETENTION_FIELDS }, metadata: { actor: { kind: 'system', id: 'periodic-destruction' } } })
  t.equal(await store.headPosition(), head + 1, 'one event appended')

  const again = await destroyDue({ keys, log, store, catalogue, now: () => NOW })
  t.match(again, { due: [], entry: null }, 'an erased case is not due again')
  t.equal((await log.list()).length, 1)

  const later = await destroyDue({ keys, log, store, catalogue, now: () => new Date('2026-12-02T00:00:00.000Z') })
  t.same(later.due.map((d) => d.caseId), [ids.kvkk], 'the KVKK application goes once its 3 years are over')
}

void t.test('destroyDue on SQLite files: dry run writes nothing, the run writes one entry, the keys and the events', async (t) => {
  const dir = tempDir(t)
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: dir })
  t.teardown(async () => {
    await privacy.close()
    await store.close()
  })
  await destroyDueScenario(t, store, privacy)
})

void t.test('destroyDue completes an interrupted destruction first instead of destroying its cases a second time', async (t) => {
  const dir = tempDir(t)
  const store = createMemoryEventStore()
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: dir })
  t.teardown(async () => {
    await privacy.close()
    await store.close()
  })
  const ids = await seed(store, privacy)
  const crashed = randomUUID()
  await privacy.log.begin({
    reason: 'retention-expired',
    legalBasis: RETENTION_LEGAL_BASIS,
    requestReference: null,
    actor: { id: 'periodic-destruction', role: 'system' },
    caseIds: [ids.due],
    fields: [...RETENTION_FIELDS],
    id: crashed,
    method: DESTRUCTION_METHOD,
    startedAt: '2026-05-31T23:00:00.000Z',
  })
  const result = await destroyDue({ keys: privacy.keys, log: privacy.log, store, catalogue, now: () => NOW })
  t.equal(result.pendingCompleted, 1)
  t.same(result.due, [], 'the case of the pending entry was erased by its completion')
  t.same((await privacy.log.list()).map((e) => [e.id, e.completedAt !== null]), [[crashed, true]])
  t.equal((await erasedEvents(store, ids.due)).length, 1)
})

void t.test('startPeriodicDestruction refuses a period longer than six months', async (t) => {
  const store = createMemoryEventStore()
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: tempDir(t) })
  t.teardown(async () => {
    await privacy.close()
    await store.close()
  })
  const logger = { info: () => undefined, error: () => undefined }
  for (const periodDays of [MAX_PERIOD_DAYS + 1, 365, 0, -1, Number.NaN]) {
    t.throws(() => startPeriodicDestruction({ keys: privacy.keys, log: privacy.log, store, catalogue, periodDays, logger }), PeriodicDestructionConfigError, String(periodDays))
  }
  t.throws(() => startPeriodicDestruction({ keys: privacy.keys, log: privacy.log, store, catalogue, periodDays: 184, logger }), /6 ayda bir.*six months/)
  const job = startPeriodicDestruction({ keys: privacy.keys, log: privacy.log, store, catalogue, periodDays: MAX_PERIOD_DAYS, logger })
  await job.stop()
})

void t.test('startPeriodicDestruction: first run shortly after start, never two at once, a Turkish summary without personal data, a clean stop', async (t) => {
  const dir = tempDir(t)
  const inner = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: dir })
  t.teardown(async () => {
    await privacy.close()
    await inner.close()
  })
  const ids = await seed(inner, privacy)
  // A store whose reads are slow and counted: two runs at once would show as two scans at once.
  let scanning = 0
  let mostAtOnce = 0
  const store: EventStore = {
    ...inner,
    append: (...args) => inner.append(...args),
    readStream: (...args) => inner.readStream(...args),
    headPosition: () => inner.headPosition(),
    readAll: async (options) => {
      scanning += 1
      mostAtOnce = Math.max(mostAtOnce, scanning)
      try {
        await new Promise((resolve) => setTimeout(resolve, 30))
        return await inner.readAll(options)
      } finally {
        scanning -= 1
      }
    },
  }
  const lines: { level: string; obj: object; msg: string }[] = []
  const logger = { info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }), error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }) }
  const runs: DestroyDueResult[] = []
  let firstRun: () => void = () => undefined
  const ran = new Promise<void>((resolve) => (firstRun = resolve))
  const started = Date.now()
  const job = startPeriodicDestruction({
    keys: privacy.keys,
    log: privacy.log,
    store,
    catalogue,
    now: () => NOW,
    periodDays: 30,
    firstRunDelayMs: 20,
    logger,
    onRun: (result) => {
      runs.push(result)
      firstRun()
    },
  })
  const [a, b] = [job.runNow(), job.runNow()]
  t.equal(a, b, 'a run asked for during a run is that run')
  await ran
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(Date.now() - started >= 20)
  t.equal(mostAtOnce, 1, 'never two runs at once')
  t.equal(runs.length, 1, 'the scheduled first run waited for the one going on, and found nothing new (30-day period not over)')
  const [first] = runs
  t.equal(first?.due.length, 1)
  const entryId = first?.entry?.id ?? 'none'
  t.equal(lines.length, 1)
  t.match(lines[0], { level: 'info', obj: { destructionId: entryId, cases: 1 } })
  t.match(lines[0]?.msg, /^periyodik imha: 1 vakanın kişisel verileri yok edildi, imha kaydı /)
  t.ok(lines[0]?.msg.includes(entryId), 'the entry id is in the line')
  const logged = JSON.stringify(lines)
  for (const id of Object.values(ids)) t.notOk(logged.includes(id), 'no case id in the log')
  t.equal((await privacy.keys.lookup(ids.due)).state, 'destroyed')

  const second = await job.runNow()
  t.same(second?.due, [])
  t.match(lines[1]?.msg, /^periyodik imha: saklama süresi dolan vaka yok/)
  await job.stop()
  t.equal(await job.runNow(), undefined, 'stopped: no more runs')
})

void t.test('a failing run is logged and the job carries on', async (t) => {
  const store = createMemoryEventStore()
  const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText() }, { dataDir: tempDir(t) })
  t.teardown(async () => {
    await privacy.close()
    await store.close()
  })
  const broken: EventStore = { ...store, headPosition: () => store.headPosition(), readAll: async () => Promise.reject(new Error('database is down')) }
  const lines: { level: string; msg: string }[] = []
  const job = startPeriodicDestruction({
    keys: privacy.keys,
    log: privacy.log,
    store: broken,
    catalogue,
    periodDays: 1,
    firstRunDelayMs: 60_000,
    logger: { info: (_o, msg) => lines.push({ level: 'info', msg }), error: (_o, msg) => lines.push({ level: 'error', msg }) },
  })
  t.equal(await job.runNow(), undefined)
  t.match(lines, [{ level: 'error', msg: /periyodik imha başarısız/ }])
  await job.stop()
})

const url = await postgresTestUrl(t)
if (url !== undefined) {
  const connectionString = url
  void t.test('postgres: destroyDue with the key store and destruction log in PostgreSQL and the log in PostgreSQL', async (t) => {
    const schema = testSchema(t, connectionString)
    t.teardown(() => dropSchema(connectionString, `${schema}_privacy`))
    const store = await openPostgresEventStore({ connectionString, schema })
    const privacy = await openConfiguredPrivacy({ masterKey: newMasterKeyText(), pgUrl: connectionString, pgSchema: schema }, { dataDir: tempDir(t) })
    t.teardown(async () => {
      await privacy.close()
      await store.close()
    })
    t.equal(privacy.kind, 'postgres')
    await destroyDueScenario(t, store, privacy)
  })
}
