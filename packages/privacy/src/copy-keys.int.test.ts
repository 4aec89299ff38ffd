// Moving a standalone installation onto PostgreSQL: its key store and destruction log copied with
// `copyKeysToPostgres` (real SQLite files, real PostgreSQL), after which the copied log's sealed
// events open with the PostgreSQL key store, an erased case stays erased, and the person is found
// by their phone; a copy run again completes nothing new; another installation's schema is refused.
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { caseIdOfStream, caseStreamId } from '@civic-desk/case-feed'
import { ERASED_PERSONAL_TEXT } from '@civic-desk/contracts'
import { openSqliteEventStore, type RecordedEvent } from '@civic-desk/event-store'
import { postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'
import { copyKeysToPostgres } from './copy-keys.ts'
import { openSqliteDestructionLog } from './destruction-log.ts'
import { erasePersonalData } from './erasure.ts'
import { KeyStoreError } from './key-store.ts'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'
import { openPostgresDestructionLog, openPostgresKeyStore } from './postgres.ts'
import { sealingEventStore } from './sealing.ts'
import { openSqliteKeyStore } from './sqlite-key-store.ts'

const url = await postgresTestUrl(t)
const PHONE = '+905321239876'

if (url !== undefined) {
  const connectionString = url
  void t.test('the keys and the destruction log of a data folder move into PostgreSQL; the copied events open there', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'civic-copy-keys-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const masterKey = parseMasterKey(newMasterKeyText())
    const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey })
    const log = openSqliteDestructionLog(join(dir, 'destructions.sqlite'))
    const events = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
    const store = sealingEventStore(events, keys, { caseIdOf: caseIdOfStream })
    const cases = [randomUUID(), randomUUID(), randomUUID()]
    for (const [i, caseId] of cases.entries()) {
      const id = randomUUID()
      await store.append(
        caseStreamId(caseId),
        [
          {
            id,
            type: 'CaseSubmitted',
            data: { caseId, trackingCode: `COPY-000${i}-XXX`, channel: 'web', kind: 'complaint', description: `Açıklama ${i}: kapımın önü`, citizen: { name: 'Taşınan Kişi', phone: PHONE }, receivedAt: '2026-12-01T09:00:00.000Z' },
            metadata: { schemaVersion: 1, occurredAt: '2026-12-01T09:00:00.000Z', actor: { kind: 'channel', id: 'web' }, correlationId: id, causationId: null },
          },
        ],
        { expectedRevision: 'no_stream' },
      )
    }
    const erased = await erasePersonalData(
      { keys, log, store },
      { reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: 'KVKK-9', actor: { id: 'officer', role: 'privacy-officer' }, caseIds: [cases[2] as string], fields: ['açıklama'] },
      { correlationId: 'c' },
    )
    const recorded: RecordedEvent[] = await events.readAll({ streamPrefix: 'case-' })
    await Promise.all([keys.close(), log.close(), events.close()])

    const schema = testSchema(t, connectionString)
    const progress: number[] = []
    const copied = await copyKeysToPostgres({ keysFile: join(dir, 'keys.sqlite'), destructionsFile: join(dir, 'destructions.sqlite'), connectionString, schema }, (done) => progress.push(done))
    t.same(copied, { dataKeys: 2, destroyedKeys: 1, subjects: 2, destructions: 1 }, 'two live keys, one tombstone, the phone of the two live cases, one entry')
    t.ok(progress.length > 0, 'progress was reported')
    t.same(await copyKeysToPostgres({ keysFile: join(dir, 'keys.sqlite'), destructionsFile: join(dir, 'destructions.sqlite'), connectionString, schema }), copied, 'run again (after an interrupt): the same, nothing twice')

    const pgKeys = await openPostgresKeyStore({ connectionString, schema, masterKey })
    const pgLog = await openPostgresDestructionLog({ connectionString, schema })
    t.teardown(async () => {
      await pgKeys.close()
      await pgLog.close()
    })
    t.same((await pgKeys.casesOf({ kind: 'phone', value: '0532 123 98 76' })).sort(), cases.slice(0, 2).sort(), 'the person is found by phone in the copy')
    t.match(await pgKeys.lookup(cases[2] as string), { state: 'destroyed', destructionId: erased.entry.id }, 'the erased case stays erased')
    t.same((await pgLog.list()).map((e) => e.id), [erased.entry.id], 'the destruction log came along')

    // The events as `pnpm store:copy` would have copied them open with the PostgreSQL keys.
    const { createMemoryEventStore } = await import('@civic-desk/event-store')
    const copiedLog = createMemoryEventStore()
    for (const r of recorded) await copiedLog.append(r.streamId, [{ id: r.id, type: r.type, data: r.data, metadata: r.metadata }], { expectedRevision: 'any' })
    const opened = sealingEventStore(copiedLog, pgKeys, { caseIdOf: caseIdOfStream })
    const descriptions = await Promise.all(cases.map(async (c) => ((await opened.readStream(caseStreamId(c)))[0]?.data as { description: string }).description))
    t.same(descriptions, ['Açıklama 0: kapımın önü', 'Açıklama 1: kapımın önü', ERASED_PERSONAL_TEXT])

    // Another installation's key store in the target: refused, nothing changed.
    const other = testSchema(t, connectionString)
    const otherKeys = await openPostgresKeyStore({ connectionString, schema: other, masterKey: parseMasterKey(newMasterKeyText()) })
    await otherKeys.close()
    await t.rejects(copyKeysToPostgres({ keysFile: join(dir, 'keys.sqlite'), connectionString, schema: other }), KeyStoreError)
    const check = await openPostgresKeyStore({ connectionString, schema: other, masterKey: parseMasterKey(newMasterKeyText()) }).catch((error: unknown) => error)
    t.type(check, KeyStoreError, 'the other installation keeps its own master key (the copy wrote nothing)')

    // The script, as a user runs it.
    const cliSchema = testSchema(t, connectionString)
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./copy-keys-cli.ts', import.meta.url)), '--data-dir', dir, '--to', connectionString, '--schema', cliSchema], {
      encoding: 'utf8',
      env: { ...process.env, CIVIC_PG_SCHEMA: '' },
    })
    t.match(out, /data keys\s+2 \(\+ 1 destroyed/)
    t.match(out, /CIVIC_MASTER_KEY=\$\(cat /)
    await import('pg').then(async ({ default: pg }) => {
      const client = new pg.Client({ connectionString })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${cliSchema}_privacy CASCADE`)
      await client.end()
    })
  })
}
