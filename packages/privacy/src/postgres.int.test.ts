import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { keyStoreContract } from './contract.ts'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { submitted, writeCase } from './case-events.testing.ts'
import { DESTRUCTION_METHOD } from './destruction-log.ts'
import { completePendingErasures, erasePersonalData } from './erasure.ts'
import { KeyStoreError } from './key-store.ts'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'
import { openPostgresDestructionLog, openPostgresKeyStore } from './postgres.ts'
import { postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'

const url = await postgresTestUrl(t)
if (url !== undefined) {
  const connectionString = url
  void t.test('postgres key store', async (t) => {
    keyStoreContract(t, async (t) => {
      const schema = testSchema(t, connectionString)
      return { open: (masterKey) => openPostgresKeyStore({ connectionString, schema, masterKey }) }
    })
  })

  void t.test('postgres: a destruction, a crash before the keys went, and a restored key table, all reconciled at start', async (t) => {
    const schema = testSchema(t, connectionString)
    const masterKey = parseMasterKey(newMasterKeyText())
    const keys = await openPostgresKeyStore({ connectionString, schema, masterKey })
    const log = await openPostgresDestructionLog({ connectionString, schema })
    t.teardown(async () => {
      await keys.close()
      await log.close()
    })
    const store = createMemoryEventStore()
    t.teardown(() => store.close())
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    for (const caseId of [a, b, c]) {
      await keys.keyFor(caseId)
      await writeCase(store, caseId, [submitted(caseId, '2026-12-01T09:00:00.000Z')])
    }
    const request = { reason: 'erasure-request' as const, legalBasis: 'KVKK m.7', requestReference: 'K7MA-4PXR-9TK', actor: { id: 'officer', role: 'privacy-officer' }, fields: ['iletişim bilgileri'] }

    // A backup of the key table before anything is destroyed.
    const db = new pg.Client({ connectionString })
    await db.connect()
    t.teardown(() => db.end())
    const backup = (await db.query<{ case_id: string; wrapped: Buffer }>(`SELECT case_id, wrapped FROM ${schema}.data_keys`)).rows

    const { entry, outcome } = await erasePersonalData({ keys, log, store }, { ...request, caseIds: [a] }, { correlationId: 'test' })
    t.same(outcome.destroyed, [a])
    t.same(await log.get(entry.id), entry, 'the entry reads back as written')
    t.equal((await keys.lookup(a)).state, 'destroyed')

    // A crash right after the entry of a second destruction was written.
    const crashed = randomUUID()
    await log.begin({ ...request, caseIds: [b], id: crashed, method: DESTRUCTION_METHOD, startedAt: new Date().toISOString() })
    t.same((await log.pending()).map((e) => e.id), [crashed])

    // The key table restored from the backup: a is back.
    for (const row of backup) {
      await db.query(`UPDATE ${schema}.data_keys SET wrapped = $1, destroyed_at = NULL, destruction_id = NULL WHERE case_id = $2`, [row.wrapped, row.case_id])
    }
    t.equal((await keys.lookup(a)).state, 'active', 'the restore brought a back…')
    t.same(await completePendingErasures({ keys, log, store }), { entries: 2, keysDestroyedAgain: 1, completed: 1 })
    t.equal((await keys.lookup(a)).state, 'destroyed', '…and the start destroyed it again')
    t.equal((await keys.lookup(b)).state, 'destroyed', 'the interrupted destruction is done')
    t.equal((await keys.lookup(c)).state, 'active')
    t.same(await log.pending(), [])
    t.equal((await log.list()).length, 2)
    for (const [caseId, count] of [[a, 1], [b, 1], [c, 0]] as const) {
      t.equal((await store.readStream(`case-${caseId}`)).filter((e) => e.type === 'PersonalDataErased').length, count, `case ${caseId === c ? 'c has no' : 'has its'} erasure event`)
    }
  })

  void t.test('postgres: an unreachable server is a clear KeyStoreError', async (t) => {
    await t.rejects(openPostgresKeyStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none', masterKey: parseMasterKey(newMasterKeyText()) }), KeyStoreError)
    await t.rejects(openPostgresKeyStore({ connectionString, schema: 'Robert"; DROP', masterKey: parseMasterKey(newMasterKeyText()) }), RangeError, 'a schema name is never pasted into SQL unchecked')
  })
}
