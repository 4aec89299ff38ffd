// pnpm bench:store — the event store adapters side by side, through the port: durable single-event
// appends/s with 50 concurrent appenders (each writing cases of 20 events, one after the other, with
// the exact expected revision), batched appends (100 events per append, each a new stream, 50
// appenders), readAll in pages of 1,000, and a catch-up subscription from the start, each over the
// log the earlier phases wrote.
//
// Adapters: SQLite always (a temporary file); PostgreSQL when CIVIC_PG_URL or
// CIVIC_TEST_POSTGRES_URL is set (a schema of its own, dropped afterwards). Options (env):
// BENCH_SECONDS (per append phase, default 5), BENCH_APPENDERS (default 50), BENCH_CASE_LENGTH
// (events per stream in the single-event phase, default 20).
// Targets (issue 13): PostgreSQL ≥ 5,000 single-event appends/s and ≥ 150,000 events/s read.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPostgresEventStore, openSqliteEventStore, type EventStore } from '../packages/event-store/src/index.ts'
import { dropSchema } from '../packages/event-store/src/testing.ts'

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const appenders = Number(process.env.BENCH_APPENDERS ?? 50)
const BATCH = 100
/** Single-event appends per stream before an appender moves to a new one (a case's events). */
const CASE_LENGTH = Number(process.env.BENCH_CASE_LENGTH ?? 20)
const PAGE = 1000
const say = (line = ''): void => void process.stdout.write(`${line}\n`)
const progress = (line: string): void => void process.stderr.write(`${line}\n`)
const rate = (n: number, ms: number): number => Math.round((n * 1000) / ms)
const fmt = (n: number): string => n.toLocaleString('en-US')

/** A realistic event body: a case note of a few hundred bytes. */
const body = (i: number): unknown => ({
  caseId: randomUUID(),
  text: `Mahallemizde ${i}. sokakta su kesintisi var, üç gündür düzelmedi; ilgili birimin bakmasını rica ederiz.`,
  channel: 'web',
  at: new Date().toISOString(),
})

interface Result {
  readonly adapter: string
  readonly singleAppendsPerSecond: number
  readonly batchedAppendsPerSecond: number
  readonly batchedEventsPerSecond: number
  readonly readEventsPerSecond: number
  readonly catchUpEventsPerSecond: number
  readonly events: number
}

/**
 * `appenders` loops appending for `seconds`. Each appender writes a case's life: `caseLength`
 * appends (of `eventsPerAppend` events) to one stream with the exact expected revision, then moves
 * on to a new stream. Case streams are short; a benchmark on a few ever-growing streams would
 * measure the idempotency check (every event id of the stream is looked at) rather than the store.
 */
async function appendFor(store: EventStore, run: string, eventsPerAppend: number, caseLength: number): Promise<{ appends: number; events: number; ms: number }> {
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  let appends = 0
  await Promise.all(
    Array.from({ length: appenders }, async (_, a) => {
      for (let stream = 0; performance.now() < deadline; stream++) {
        let revision = -1
        for (let k = 0; k < caseLength && performance.now() < deadline; k++) {
          const events = Array.from({ length: eventsPerAppend }, (_, i) => ({ id: randomUUID(), type: 'NoteAdded', data: body(i), metadata: { correlationId: randomUUID() } }))
          const result = await store.append(`case-${run}-${a}-${stream}`, events, { expectedRevision: revision === -1 ? 'no_stream' : revision })
          revision = result.nextRevision
          appends += 1
        }
      }
    }),
  )
  return { appends, events: appends * eventsPerAppend, ms: performance.now() - started }
}

async function measure(adapter: string, store: EventStore): Promise<Result> {
  progress(`${adapter}: single-event appends, ${appenders} appenders, ${seconds} s…`)
  const single = await appendFor(store, 'single', 1, CASE_LENGTH)
  progress(`${adapter}: batched appends (${BATCH} events each), ${appenders} appenders, ${seconds} s…`)
  const batched = await appendFor(store, 'batched', BATCH, 1)
  const head = await store.headPosition()

  progress(`${adapter}: readAll of ${fmt(head)} events in pages of ${fmt(PAGE)}…`)
  let read = 0
  let after = 0
  const readStarted = performance.now()
  for (;;) {
    const page = await store.readAll({ after, maxCount: PAGE })
    if (page.length === 0) break
    read += page.length
    after = page.at(-1)!.position
  }
  const readMs = performance.now() - readStarted

  progress(`${adapter}: a catch-up subscription over ${fmt(head)} events…`)
  const catchUpStarted = performance.now()
  let seen = 0
  await new Promise<void>((resolve, reject) => {
    const subscription = store.subscribeToAll({ onError: reject }, (event) => {
      seen += 1
      if (event.position >= head) void subscription.close().then(resolve, reject)
    })
  })
  const catchUpMs = performance.now() - catchUpStarted

  return {
    adapter,
    singleAppendsPerSecond: rate(single.appends, single.ms),
    batchedAppendsPerSecond: rate(batched.appends, batched.ms),
    batchedEventsPerSecond: rate(batched.events, batched.ms),
    readEventsPerSecond: rate(read, readMs),
    catchUpEventsPerSecond: rate(seen, catchUpMs),
    events: head,
  }
}

const results: Result[] = []

{
  const dir = mkdtempSync(join(tmpdir(), 'civic-bench-store-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  try {
    results.push(await measure('sqlite', store))
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const pgUrl = process.env.CIVIC_PG_URL?.trim() || process.env.CIVIC_TEST_POSTGRES_URL?.trim() || undefined
if (pgUrl === undefined) {
  progress('postgres: skipped (set CIVIC_PG_URL or CIVIC_TEST_POSTGRES_URL to measure it)')
} else {
  const schema = `civic_bench_store_${process.pid}`
  const store = await openPostgresEventStore({ connectionString: pgUrl, schema })
  try {
    results.push(await measure('postgres', store))
  } finally {
    await store.close()
    await dropSchema(pgUrl, schema)
  }
}
// EventStoreDB: no adapter in this code base yet; it joins the table when one exists.

say()
say(`event store adapters: ${appenders} concurrent appenders, ${seconds} s per append phase, streams of ${CASE_LENGTH} single events; readAll pages of ${fmt(PAGE)}`)
const header = ['adapter', 'single appends/s', `batched appends/s (×${BATCH})`, 'batched events/s', 'readAll events/s', 'catch-up events/s', 'log size']
const rows = results.map((r) => [
  r.adapter,
  fmt(r.singleAppendsPerSecond),
  fmt(r.batchedAppendsPerSecond),
  fmt(r.batchedEventsPerSecond),
  fmt(r.readEventsPerSecond),
  fmt(r.catchUpEventsPerSecond),
  fmt(r.events),
])
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
say(header.map((h, i) => h.padStart(widths[i]!)).join('  '))
for (const row of rows) say(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '))
const postgres = results.find((r) => r.adapter === 'postgres')
if (postgres !== undefined) {
  say()
  say(`PostgreSQL targets: single appends ${fmt(postgres.singleAppendsPerSecond)}/s (≥ 5,000: ${postgres.singleAppendsPerSecond >= 5000 ? 'met' : 'MISSED'}), readAll ${fmt(postgres.readEventsPerSecond)} events/s (≥ 150,000: ${postgres.readEventsPerSecond >= 150_000 ? 'met' : 'MISSED'})`)
}
