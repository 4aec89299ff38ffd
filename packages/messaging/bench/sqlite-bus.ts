// npx tsx packages/messaging/bench/sqlite-bus.ts — throughput of the sqlite bus on a temp file:
// publish (batches, and single-message calls group-committed), consuming a stored backlog, and
// live end-to-end (publish while a group consumes). Options (env): BENCH_MESSAGES (50000).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteBus, type OutgoingMessage } from '../src/index.ts'
import { waitFor } from '../src/testing.ts'

const total = Number(process.env.BENCH_MESSAGES ?? 50_000)
const dir = mkdtempSync(join(tmpdir(), 'civic-desk-bus-bench-'))
const bus = openSqliteBus({ file: join(dir, 'bus.sqlite') })

/** Roughly a case event: ~300 bytes of JSON, keyed by case over 1,000 cases. */
const message = (n: number): OutgoingMessage => ({
  key: `case-${n % 1000}`,
  value: { type: 'CaseRouted', caseId: `case-${n % 1000}`, n, data: { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', sla: { clock: 3, deadline: '2025-01-06T17:00:00.000Z' } } },
  headers: { correlationId: `c-${n}` },
})

const rate = (count: number, started: number): string => `${Math.round(count / ((performance.now() - started) / 1000)).toLocaleString('en')} msgs/s`

try {
  // 1. Batches of 100, one after the other: one transaction (one fsync) per batch.
  let started = performance.now()
  for (let n = 0; n < total; n += 100) await bus.publish('bench.batches', Array.from({ length: Math.min(100, total - n) }, (_, i) => message(n + i)))
  console.log(`publish, batches of 100, sequential:          ${rate(total, started)}`)

  // 2. Single-message calls, 1,000 in flight: group commit puts each turn's calls in one transaction.
  started = performance.now()
  for (let n = 0; n < total; n += 1000) await Promise.all(Array.from({ length: Math.min(1000, total - n) }, (_, i) => bus.publish('bench.singles', [message(n + i)])))
  console.log(`publish, single-message calls, 1000 in flight: ${rate(total, started)}`)

  // 3. A new group consumes the stored backlog of step 1 (handler does nothing; commits included).
  let handled = 0
  started = performance.now()
  const backlog = await bus.subscribe({ topic: 'bench.batches', groupId: 'backlog', fromBeginning: true, handler: async () => void handled++ })
  await waitFor(() => handled === total, 600_000, 'the backlog')
  await backlog.close()
  console.log(`consume a stored backlog (end-to-end, 1 group): ${rate(total, started)}`)

  // 4. Live: the group is subscribed first; time from the first publish to the last message handled.
  let live = 0
  await bus.subscribe({ topic: 'bench.live', groupId: 'live', handler: async () => void live++ })
  started = performance.now()
  for (let n = 0; n < total; n += 100) await bus.publish('bench.live', Array.from({ length: Math.min(100, total - n) }, (_, i) => message(n + i)))
  await waitFor(() => live === total, 600_000, 'live delivery')
  console.log(`live publish → handled (batches of 100):      ${rate(total, started)}`)
} finally {
  await bus.close()
  rmSync(dir, { recursive: true, force: true })
}
