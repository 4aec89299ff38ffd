import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { eventStoreContract, openPostgresEventStore, type EventStore, type RecordedEvent } from './index.ts'
import { EventStoreSchemaError } from './postgres.ts'
import { postgresTestUrl, testSchema } from './testing.ts'

const url = await postgresTestUrl(t)
// The concurrency runs below take a minute or more on a busy 2-core machine.
t.setTimeout(600_000)

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

if (url !== undefined) {
  const connectionString = url

  void t.test('postgres event store: the contract', async (t) => {
    eventStoreContract(t, async () => {
      const schema = `civic_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`
      const opened: EventStore[] = []
      const open = async (): Promise<EventStore> => {
        const store = await openPostgresEventStore({ connectionString, schema, pollIntervalMs: 200 })
        opened.push(store)
        return store
      }
      const store = await open()
      return {
        store,
        reopen: open,
        cleanup: async () => {
          await Promise.all(opened.map((s) => s.close()))
          const client = new pg.Client({ connectionString })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
          await client.end()
        },
      }
    })
  })

  void t.test('20 appenders on their own connections × 500 events, and a live subscriber on another: every event once, in order, no gap — two runs', async (t) => {
    for (let run = 1; run <= 2; run++) {
      const schema = testSchema(t, connectionString)
      const subscriberStore = await openPostgresEventStore({ connectionString, schema, pollIntervalMs: 5000 })
      const appenders = await Promise.all(Array.from({ length: 20 }, () => openPostgresEventStore({ connectionString, schema, maxConnections: 1 })))
      const seen: RecordedEvent[] = []
      const errors: unknown[] = []
      const subscription = subscriberStore.subscribeToAll({ onError: (e) => errors.push(e) }, (e) => void seen.push(e))
      await Promise.all(
        appenders.map(async (store, a) => {
          for (let i = 0; i < 500; i++) await store.append(`appender-${a}`, [{ id: randomUUID(), type: 'Counted', data: { a, i } }], { expectedRevision: i === 0 ? 'no_stream' : i - 1 })
        }),
      )
      await until(() => seen.length >= 10_000, `the subscriber to see 10,000 events (run ${run})`)
      await subscription.close()
      t.equal(seen.length, 10_000, `run ${run}: every event once`)
      t.ok(
        seen.every((e, i) => e.position === i + 1),
        `run ${run}: positions 1…10,000 in order, none skipped`,
      )
      const perAppender = new Map<number, number[]>()
      for (const e of seen) {
        const { a, i } = e.data as { a: number; i: number }
        perAppender.set(a, [...(perAppender.get(a) ?? []), i])
      }
      t.ok(
        [...perAppender.values()].every((is) => is.length === 500 && is.every((v, k) => v === k)),
        `run ${run}: each appender's events in its own order`,
      )
      t.same(errors, [])
      await Promise.all([subscriberStore, ...appenders].map((s) => s.close()))
    }
  })

  void t.test('the server drops every connection mid-way: the failed appends wrote nothing, retried ones land once, the subscriber misses nothing', async (t) => {
    const schema = testSchema(t, connectionString)
    const appName = `civic-test-${randomUUID().slice(0, 8)}`
    const withApp = `${connectionString}${connectionString.includes('?') ? '&' : '?'}application_name=${appName}`
    const store = await openPostgresEventStore({ connectionString: withApp, schema, pollIntervalMs: 100 })
    t.teardown(() => store.close())
    const seen: RecordedEvent[] = []
    const errors: unknown[] = []
    // Like the case feed's tail: a subscription the store failed is taken up again from where it was.
    let subscription: { close(): Promise<void> } | undefined
    const follow = (): void => {
      subscription = store.subscribeToAll(
        {
          after: seen.at(-1)?.position ?? 0,
          onError: (e) => {
            errors.push(e)
            setTimeout(follow, 50)
          },
        },
        (e) => void seen.push(e),
      )
    }
    follow()
    t.teardown(() => subscription?.close())
    const admin = new pg.Client({ connectionString })
    await admin.connect()
    t.teardown(() => admin.end())
    let failures = 0
    const appendAll = async (): Promise<void> => {
      for (let i = 0; i < 300; i++) {
        const event = { id: randomUUID(), type: 'Counted', data: { i } }
        // The caller's retry with the same event id: idempotent, so a lost answer never duplicates.
        for (;;) {
          try {
            await store.append('resilient', [event], { expectedRevision: 'any' })
            break
          } catch {
            failures += 1
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        }
      }
    }
    const appending = appendAll()
    await until(() => seen.length >= 50, 'some events before the outage')
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName])
    await until(() => seen.length >= 120, 'events after the outage')
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName])
    await appending
    await until(() => seen.length >= 300, 'all 300 events', 30_000)
    t.equal(seen.length, 300, 'each event once')
    t.same(seen.map((e) => (e.data as { i: number }).i), Array.from({ length: 300 }, (_, i) => i), 'in order')
    t.equal(await store.headPosition(), 300, 'nothing stored twice')
    t.comment(`appends that failed during the outages and were retried: ${failures}; subscription errors: ${errors.length}`)
  })

  void t.test('a schema of a newer version stops the opening with what to do; a bad schema name never reaches SQL', async (t) => {
    const schema = testSchema(t, connectionString)
    const store = await openPostgresEventStore({ connectionString, schema })
    await store.close()
    const admin = new pg.Client({ connectionString })
    await admin.connect()
    await admin.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES (99)`)
    await admin.end()
    await t.rejects(openPostgresEventStore({ connectionString, schema }), EventStoreSchemaError)
    await t.rejects(openPostgresEventStore({ connectionString, schema }), /version 99.*Upgrade civic-desk/)
    await t.rejects(openPostgresEventStore({ connectionString, schema: 'x; DROP TABLE y' }), RangeError)
    await t.rejects(openPostgresEventStore({ connectionString: 'postgres://nobody:secret@127.0.0.1:1/none' }), /CIVIC_PG_URL/)
    const refused = await openPostgresEventStore({ connectionString: 'postgres://nobody:secret@127.0.0.1:1/none' }).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    )
    t.ok(refused !== undefined && !refused.includes('secret') && refused.includes('***'), 'the password is not in the message')
  })
}
