/**
 * Group-commit throughput: N concurrent appenders, each appending one ~1 KB event to a fresh
 * stream, again and again, for a fixed duration. Prints appends/s and the mean batch size.
 *   npx tsx packages/event-store/bench/append.ts [appenders=50] [seconds=5]
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteEventStore } from '../src/index.ts'

const appenders = Number(process.argv[2] ?? 50)
const seconds = Number(process.argv[3] ?? 5)
const dir = mkdtempSync(join(tmpdir(), 'civic-desk-bench-'))
let batches = 0
let batchedAppends = 0
const store = openSqliteEventStore({
  file: join(dir, 'events.sqlite'),
  onBatchCommitted: ({ appends }) => {
    batches += 1
    batchedAppends += appends
  },
})
const payload = { description: 'x'.repeat(900), district: 'Kadıköy', category: 'road', location: { lat: 40.99, lon: 29.03 } }

let appended = 0
const deadline = performance.now() + seconds * 1000
const started = performance.now()
await Promise.all(
  Array.from({ length: appenders }, async () => {
    while (performance.now() < deadline) {
      await store.append(`case-${randomUUID()}`, [{ id: randomUUID(), type: 'CaseOpened', data: payload }], { expectedRevision: 'no_stream' })
      appended += 1
    }
  }),
)
const elapsed = (performance.now() - started) / 1000
await store.close()
rmSync(dir, { recursive: true, force: true })
process.stdout.write(
  `${appenders} appenders, ${appended} appends in ${elapsed.toFixed(2)} s: ${Math.round(appended / elapsed)} appends/s, ` +
    `${batches} commits, mean batch ${(batchedAppends / batches).toFixed(1)} appends\n`,
)
