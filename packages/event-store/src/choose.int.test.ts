import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { EventStoreChoiceError, openConfiguredEventStore, type EventStoreSettings } from './choose.ts'
import { postgresTestUrl, testSchema } from './testing.ts'

const settings = (over: Partial<EventStoreSettings>): EventStoreSettings => ({ eventStore: 'sqlite', pgSchema: 'civic', storePollMs: 25, ...over })

void t.test('sqlite: events.sqlite in the data folder', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-choose-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const opened = await openConfiguredEventStore(settings({}), { dataDir })
  t.teardown(() => opened.store.close())
  t.equal(opened.kind, 'sqlite')
  t.equal(opened.target, join(dataDir, 'events.sqlite'))
  await opened.store.append('case-1', [{ id: randomUUID(), type: 'Opened', data: {} }], { expectedRevision: 'no_stream' })
  t.ok(existsSync(join(dataDir, 'events.sqlite')))
})

void t.test('a store named without its address stops with what to set', async (t) => {
  await t.rejects(openConfiguredEventStore(settings({ eventStore: 'postgres' }), { dataDir: tmpdir() }), EventStoreChoiceError)
  await t.rejects(openConfiguredEventStore(settings({ eventStore: 'postgres' }), { dataDir: tmpdir() }), /needs CIVIC_PG_URL/)
  await t.rejects(openConfiguredEventStore(settings({ eventStore: 'eventstoredb' }), { dataDir: tmpdir() }), /needs EVENTSTORE_URL/)
  // EventStoreDB named with an address where nothing answers: the adapter's own message, no password.
  const refused = await openConfiguredEventStore(settings({ eventStore: 'eventstoredb', eventStoreDbUrl: 'esdb://admin:secret@127.0.0.1:1?tls=false' }), { dataDir: tmpdir() }).then(
    () => 'opened',
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  )
  t.match(refused, /EventStoreDB/)
  t.notMatch(refused, /secret/)
})

const url = await postgresTestUrl(t)
if (url !== undefined) {
  const pgUrl = url
  void t.test('postgres: the server and schema, shown without a password', async (t) => {
    const schema = testSchema(t, pgUrl)
    const opened = await openConfiguredEventStore(settings({ eventStore: 'postgres', pgUrl, pgSchema: schema }), { dataDir: tmpdir() })
    t.teardown(() => opened.store.close())
    t.equal(opened.kind, 'postgres')
    t.match(opened.target, new RegExp(`schema ${schema}`))
    await opened.store.append('case-1', [{ id: randomUUID(), type: 'Opened', data: {} }], { expectedRevision: 'no_stream' })
    t.equal(await opened.store.headPosition(), 1)
  })
}
