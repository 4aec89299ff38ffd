// The EventStoreDB adapter against a real server: the contract suite, run when EVENTSTORE_URL is set
// (`docker compose up -d eventstoredb` gives esdb://127.0.0.1:2113?tls=false); skipped with a hint
// otherwise, failed with CIVIC_REQUIRE_EVENTSTORE=1. The streams it writes have unique names and
// stay in the server: use a throwaway one. The gate itself is tested without a server below.
import t from 'tap'
import { eventStoreContract, openEventStoreDbStore, type EventStore } from './index.ts'
import { checkEventStoreUrl, eventStoreTestUrl } from './testing.ts'

void t.test('the EventStoreDB gate', async (t) => {
  t.match(await checkEventStoreUrl({}), { skip: /EVENTSTORE_URL/ }, 'unset: skipped, with the variable to set')
  t.match(await checkEventStoreUrl({ CIVIC_REQUIRE_EVENTSTORE: '1' }), { fail: /CIVIC_REQUIRE_EVENTSTORE=1 but EVENTSTORE_URL is not set/ }, 'unset but required: a failure')
  // Nothing listens on port 9 of this machine: the adapter's connection check must give up with
  // a message that says what to do, within the reconnect budget.
  const started = Date.now()
  const gate = await checkEventStoreUrl({ EVENTSTORE_URL: 'esdb://127.0.0.1:9?tls=false' }, 1500)
  t.match(gate, { fail: /EVENTSTORE_URL=esdb:\/\/127\.0\.0\.1:9\?tls=false is set but EventStoreDB does not answer \(Cannot read \$all from EventStoreDB at esdb:\/\/127\.0\.0\.1:9\?tls=false: .*unavailable.*docker compose up -d eventstoredb/ })
  t.ok(Date.now() - started < 15_000, 'and gives up in bounded time')
})

void t.test('openEventStoreDbStore without a server: clear errors, no password in them', async (t) => {
  await t.rejects(openEventStoreDbStore({ connectionString: 'http://127.0.0.1:2113' }), /The EventStoreDB connection string http:\/\/127\.0\.0\.1:2113 is invalid: .*esdb:\/\/127\.0\.0\.1:2113\?tls=false/)
  const refused = await openEventStoreDbStore({ connectionString: 'esdb://admin:s3cret@127.0.0.1:9?tls=false', reconnectTimeoutMs: 300 }).then(
    () => new Error('opened'),
    (error: unknown) => error,
  )
  t.match(refused, { message: /^Cannot read \$all from EventStoreDB at esdb:\/\/admin:\*\*\*@127\.0\.0\.1:9\?tls=false: / })
  t.notMatch(refused instanceof Error ? refused.message : '', /s3cret/, 'the password is masked')
})

const url = await eventStoreTestUrl(t)

if (url !== undefined) {
  const connectionString = url
  void t.test('eventstoredb event store: the contract', async (t) => {
    eventStoreContract(t, async () => {
      const opened: EventStore[] = []
      const open = async (): Promise<EventStore> => {
        const store = await openEventStoreDbStore({ connectionString })
        opened.push(store)
        return store
      }
      const store = await open()
      return { store, reopen: open, cleanup: async () => void (await Promise.all(opened.map((s) => s.close()))) }
    })
  })
}
