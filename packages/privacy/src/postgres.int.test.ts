import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { keyStoreContract } from './contract.ts'
import { DESTRUCTION_METHOD, destroyPersonalData, reconcileDestructions } from './destruction-log.ts'
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
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    for (const caseId of [a, b, c]) await keys.keyFor(caseId)
    const request = { reason: 'erasure-request' as const, legalBasis: 'KVKK m.7', requestReference: 'K7MA-4PXR-9TK', actor: { id: 'officer', role: 'privacy-officer' }, fields: ['iletişim bilgileri'] }

    // A backup of the key table before anything is destroyed.
    const db = new pg.Client({ connectionString })
    await db.connect()
    t.teardown(() => db.end())
    const backup = (await db.query<{ case_id: string; wrapped: Buffer }>(`SELECT case_id, wrapped FROM ${schema}.data_keys`)).rows

    const { entry, outcome } = await destroyPersonalData({ keys, log, newId: randomUUID }, { ...request, caseIds: [a] })
    t.same(outcome.destroyed, [a])
    t.same(await log.get(entry.id), entry, 'the entry reads back as written')
    t.equal((await keys.lookup(a)).state, 'destroyed')

    // A crash right after the entry of a second destruction was written.
    await log.begin({ ...request, caseIds: [b], id: 'dest-crash', method: DESTRUCTION_METHOD, startedAt: new Date().toISOString() })
    t.same((await log.pending()).map((e) => e.id), ['dest-crash'])

    // The key table restored from the backup: a is back.
    for (const row of backup) {
      await db.query(`UPDATE ${schema}.data_keys SET wrapped = $1, destroyed_at = NULL, destruction_id = NULL WHERE case_id = $2`, [row.wrapped, row.case_id])
    }
    t.equal((await keys.lookup(a)).state, 'active', 'the restore brought a back…')
    t.same(await reconcileDestructions({ keys, log }), { entries: 2, keysDestroyedAgain: 1, completed: 1 })
    t.equal((await keys.lookup(a)).state, 'destroyed', '…and the start destroyed it again')
    t.equal((await keys.lookup(b)).state, 'destroyed', 'the interrupted destruction is done')
    t.equal((await keys.lookup(c)).state, 'active')
    t.same(await log.pending(), [])
    t.equal((await log.list()).length, 2)
  })

  void t.test('postgres: an unreachable server is a clear KeyStoreError', async (t) => {
    await t.rejects(openPostgresKeyStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none', masterKey: parseMasterKey(newMasterKeyText()) }), KeyStoreError)
    await t.rejects(openPostgresKeyStore({ connectionString, schema: 'Robert"; DROP', masterKey: parseMasterKey(newMasterKeyText()) }), RangeError, 'a schema name is never pasted into SQL unchecked')
  })
}
