import { randomUUID } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { caseStreamId } from '@civic-desk/case-feed'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { parse } from 'csv-parse/sync'
import t, { type Test } from 'tap'
import { submitted, writeCase } from './case-events.testing.ts'
import { DESTRUCTION_METHOD, destructionLogCsv, openSqliteDestructionLog, type DestructionRequest } from './destruction-log.ts'
import { completePendingErasures, erasePersonalData } from './erasure.ts'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'
import { openSqliteKeyStore } from './sqlite-key-store.ts'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-destruction-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const request = (caseIds: string[]): DestructionRequest => ({
  reason: 'erasure-request',
  legalBasis: 'KVKK m.7 ve m.11/1-e',
  requestReference: 'K7MA-4PXR-9TK',
  actor: { id: 'kvkk-officer-1', role: 'privacy-officer' },
  caseIds,
  fields: ['başvuru sahibinin iletişim bilgileri', 'açıklama'],
})

const erasedEvents = async (store: ReturnType<typeof createMemoryEventStore>, caseId: string) =>
  (await store.readStream(caseStreamId(caseId))).filter((e) => e.type === 'PersonalDataErased')

void t.test('a destruction: the entry first, then the keys, then the events, then the entry completed; kept across restarts', async (t) => {
  const dir = tempDir(t)
  const masterKey = parseMasterKey(newMasterKeyText())
  const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey })
  const log = openSqliteDestructionLog(join(dir, 'destruction-log.sqlite'))
  const store = createMemoryEventStore()
  t.teardown(async () => {
    await keys.close()
    await log.close()
    await store.close()
  })
  const caseIds = [randomUUID(), randomUUID()]
  for (const caseId of caseIds) {
    await keys.keyFor(caseId)
    await writeCase(store, caseId, [submitted(caseId, '2026-12-01T09:00:00.000Z')])
  }
  const neverLanded = randomUUID()
  let clock = Date.parse('2026-12-04T09:00:00.000Z')
  const now = () => new Date((clock += 1000))
  const id = randomUUID()
  const { entry, outcome, recorded, withoutStream } = await erasePersonalData({ keys, log, store, now, newId: () => id }, request([...caseIds, neverLanded]), { correlationId: 'test' })
  t.same(outcome.destroyed, caseIds)
  t.same(recorded, caseIds, 'each case got its PersonalDataErased event')
  t.same(withoutStream, [neverLanded], 'a case without a stream gets no stream')
  t.same(entry, { ...request([...caseIds, neverLanded]), id, method: DESTRUCTION_METHOD, startedAt: '2026-12-04T09:00:01.000Z', completedAt: '2026-12-04T09:00:02.000Z' })
  t.same(await log.get(id), entry)
  t.same(await log.pending(), [])
  for (const caseId of caseIds) {
    t.same(await keys.lookup(caseId), { state: 'destroyed', destroyedAt: '2026-12-04T09:00:01.000Z', destructionId: id })
    const events = await erasedEvents(store, caseId)
    t.equal(events.length, 1)
    t.match(events[0]?.data, { destructionId: id, reason: 'erasure-request', requestReference: 'K7MA-4PXR-9TK', fields: request([]).fields })
  }
  await log.close()
  const reopened = openSqliteDestructionLog(join(dir, 'destruction-log.sqlite'))
  t.teardown(() => reopened.close())
  t.same(await reopened.list(), [entry])
  t.same(await reopened.list({ from: new Date('2026-12-05T00:00:00.000Z') }), [], 'range filter')
  t.same(await reopened.list({ from: new Date('2026-12-04T00:00:00.000Z'), to: new Date('2026-12-05T00:00:00.000Z') }), [entry])
})

void t.test('a crash between the entry and the keys: the next start destroys the keys, writes the events and completes the entry', async (t) => {
  const dir = tempDir(t)
  const masterKey = parseMasterKey(newMasterKeyText())
  const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey })
  const log = openSqliteDestructionLog(join(dir, 'destruction-log.sqlite'))
  const store = createMemoryEventStore()
  t.teardown(async () => {
    await keys.close()
    await log.close()
    await store.close()
  })
  const caseId = randomUUID()
  await keys.keyFor(caseId)
  await writeCase(store, caseId, [submitted(caseId, '2026-12-01T09:00:00.000Z')])
  const id = randomUUID()
  // The process died right after writing the entry.
  await log.begin({ ...request([caseId]), id, method: DESTRUCTION_METHOD, startedAt: '2026-12-04T09:00:00.000Z' })
  t.equal((await log.pending()).length, 1)
  t.equal((await keys.lookup(caseId)).state, 'active', 'the key is still there: the destruction is pending, not half-done')
  t.same(await erasedEvents(store, caseId), [])
  t.same(await completePendingErasures({ keys, log, store, now: () => new Date('2026-12-04T09:05:00.000Z') }), { entries: 1, keysDestroyedAgain: 0, completed: 1 })
  t.same(await keys.lookup(caseId), { state: 'destroyed', destroyedAt: '2026-12-04T09:00:00.000Z', destructionId: id })
  t.equal((await log.get(id))?.completedAt, '2026-12-04T09:05:00.000Z')
  t.equal((await erasedEvents(store, caseId)).length, 1, 'the missing event is written')
  t.same(await completePendingErasures({ keys, log, store }), { entries: 1, keysDestroyedAgain: 0, completed: 0 }, 'a second start finds nothing to do')
  t.equal((await erasedEvents(store, caseId)).length, 1, 'and writes no second event')
})

void t.test('a crash after the keys and some events: the next start writes only the missing events', async (t) => {
  const dir = tempDir(t)
  const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey: parseMasterKey(newMasterKeyText()) })
  const log = openSqliteDestructionLog(join(dir, 'destruction-log.sqlite'))
  const store = createMemoryEventStore()
  t.teardown(async () => {
    await keys.close()
    await log.close()
    await store.close()
  })
  const [a, b] = [randomUUID(), randomUUID()]
  for (const caseId of [a, b]) await writeCase(store, caseId, [submitted(caseId, '2026-12-01T09:00:00.000Z')])
  // An erasure whose completion fails: the log cannot be written when the entry is to be completed.
  const failing = { ...log, complete: async () => Promise.reject(new Error('disk full')) }
  await t.rejects(erasePersonalData({ keys, log: failing, store }, request([a, b]), { correlationId: 'test' }), /disk full/)
  const [pending] = await log.pending()
  t.ok(pending, 'the entry is pending')
  t.equal((await erasedEvents(store, a)).length, 1)
  t.same(await completePendingErasures({ keys, log, store }), { entries: 1, keysDestroyedAgain: 0, completed: 1 })
  t.equal((await erasedEvents(store, a)).length, 1, 'no event twice')
  t.equal((await erasedEvents(store, b)).length, 1)
  t.same(await log.pending(), [])
})

void t.test('a key store restored from a backup made before an erasure does not bring the person back', async (t) => {
  const dir = tempDir(t)
  const masterKey = parseMasterKey(newMasterKeyText())
  const file = join(dir, 'keys.sqlite')
  const keys = openSqliteKeyStore({ file, masterKey })
  const log = openSqliteDestructionLog(join(dir, 'destruction-log.sqlite'))
  const store = createMemoryEventStore()
  t.teardown(async () => {
    await log.close()
    await store.close()
  })
  const [erased, kept] = [randomUUID(), randomUUID()]
  for (const caseId of [erased, kept]) await writeCase(store, caseId, [submitted(caseId, '2026-12-01T09:00:00.000Z')])
  await keys.keyFor(erased)
  await keys.addSubjects(erased, [{ kind: 'phone', value: '05321234567' }])
  const keptKey = await keys.keyFor(kept)
  await keys.close()
  copyFileSync(file, join(dir, 'backup.sqlite'))
  const live = openSqliteKeyStore({ file, masterKey })
  await erasePersonalData({ keys: live, log, store }, request([erased]), { correlationId: 'test' })
  await live.close()
  // The operator restores last night's backup over the key store.
  copyFileSync(join(dir, 'backup.sqlite'), file)
  const restored = openSqliteKeyStore({ file, masterKey })
  t.teardown(() => restored.close())
  t.equal((await restored.lookup(erased)).state, 'active', 'the backup holds the key again…')
  const progress: number[] = []
  t.same(await completePendingErasures({ keys: restored, log, store }, (done) => progress.push(done)), { entries: 1, keysDestroyedAgain: 1, completed: 0 })
  t.same(progress, [1])
  t.equal((await restored.lookup(erased)).state, 'destroyed', '…until the start destroys it again')
  t.same(await restored.casesOf({ kind: 'phone', value: '05321234567' }), [], 'and forgets the subject')
  t.same(await restored.lookup(kept), { state: 'active', key: keptKey }, 'other cases keep their keys')
  t.equal((await erasedEvents(store, erased)).length, 1, 'the case has its one erasure event')
  t.same(await erasedEvents(store, kept), [])
})

void t.test('the destruction log as CSV: one row per entry, Turkish column names, formulas escaped', async (t) => {
  const entry = {
    ...request(['a', 'b']),
    legalBasis: '=HYPERLINK("http://x")',
    id: 'dest-1',
    method: DESTRUCTION_METHOD,
    startedAt: '2026-12-04T09:00:00.000Z',
    completedAt: '2026-12-04T09:00:01.000Z',
  }
  const rows = parse(destructionLogCsv([entry]), { columns: true }) as Record<string, string>[]
  t.equal(rows.length, 1)
  t.equal(rows[0]?.['kayit_no'], 'dest-1')
  t.equal(rows[0]?.['vaka_sayisi'], '2')
  t.equal(rows[0]?.['vakalar'], 'a b')
  t.equal(rows[0]?.['hukuki_dayanak'], `'=HYPERLINK("http://x")`, 'a formula is not a formula in a spreadsheet')
  t.equal(rows[0]?.['yontem'], DESTRUCTION_METHOD)
})
