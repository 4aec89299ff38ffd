// Test support of the event store package, as `@civic-desk/event-store/testing` (never imported by
// production code): the PostgreSQL gate shared by every PostgreSQL test of the project, and the
// EventStoreDB gate of the EventStoreDB adapter's tests.
import pg from 'pg'
import type { Test } from 'tap'

const HINT = 'set CIVIC_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them'

/**
 * The PostgreSQL gate of the tests: CIVIC_TEST_POSTGRES_URL unset → skipped with a hint, unless
 * CIVIC_REQUIRE_POSTGRES=1 makes that (and a server that does not answer) a failure.
 */
export async function postgresTestUrl(t: Test, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const url = env.CIVIC_TEST_POSTGRES_URL?.trim() ?? ''
  if (url === '') {
    if (env.CIVIC_REQUIRE_POSTGRES === '1') t.fail(`CIVIC_REQUIRE_POSTGRES=1 but CIVIC_TEST_POSTGRES_URL is not set: ${HINT}`)
    else await t.test(`PostgreSQL tests: ${HINT}`, { skip: HINT }, async () => undefined)
    return undefined
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (error) {
    t.fail(`CIVIC_TEST_POSTGRES_URL=${url} is set but PostgreSQL does not answer (${error instanceof Error ? error.message : String(error)})`)
    return undefined
  } finally {
    await client.end().catch(() => undefined)
  }
  return url
}

/** A schema name of this test's own, dropped (with everything in it) when the test ends. */
export function testSchema(t: Test, url: string): string {
  const schema = `civic_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  t.teardown(() => dropSchema(url, schema))
  return schema
}

const EVENTSTORE_HINT = 'set EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false after `docker compose up -d eventstoredb`) to run them'

/** What the EventStoreDB gate decided: run against `url`, skip with a hint, or fail with a message. */
export type EventStoreGate = { readonly run: string } | { readonly skip: string } | { readonly fail: string }

/**
 * The EventStoreDB gate of the tests: EVENTSTORE_URL unset → skip with a hint, unless
 * CIVIC_REQUIRE_EVENTSTORE=1 makes that (and a server that does not answer within
 * `connectTimeoutMs`) a failure. Set → the server must answer, whatever CIVIC_REQUIRE_EVENTSTORE says.
 */
export async function checkEventStoreUrl(env: NodeJS.ProcessEnv = process.env, connectTimeoutMs = 10_000): Promise<EventStoreGate> {
  const url = env.EVENTSTORE_URL?.trim() ?? ''
  if (url === '') {
    return env.CIVIC_REQUIRE_EVENTSTORE === '1' ? { fail: `CIVIC_REQUIRE_EVENTSTORE=1 but EVENTSTORE_URL is not set: ${EVENTSTORE_HINT}` } : { skip: `EventStoreDB tests: ${EVENTSTORE_HINT}` }
  }
  try {
    // Loaded on demand: the PostgreSQL tests importing this module need no gRPC client.
    const { openEventStoreDbStore } = await import('./eventstoredb.ts')
    const store = await openEventStoreDbStore({ connectionString: url, reconnectTimeoutMs: connectTimeoutMs })
    await store.close()
    return { run: url }
  } catch (error) {
    return { fail: `EVENTSTORE_URL=${url} is set but EventStoreDB does not answer (${error instanceof Error ? error.message : String(error)})` }
  }
}

/** Applies the EventStoreDB gate to `t`: the URL to run against, or undefined (skipped or failed). */
export async function eventStoreTestUrl(t: Test, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const gate = await checkEventStoreUrl(env)
  if ('run' in gate) return gate.run
  if ('fail' in gate) t.fail(gate.fail)
  else await t.test(gate.skip, { skip: EVENTSTORE_HINT }, async () => undefined)
  return undefined
}

/** Drops a schema with everything in it (tests' and benchmarks' own schemas only). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await client.end()
  }
}
