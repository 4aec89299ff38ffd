/**
 * A verifier thread: reads one range of the global log as stored, checks it (range-check.ts) and
 * sends its pages to the thread that builds the Merkle tree, at most a few pages ahead of it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openBulkLog } from '@civic-desk/event-store/bulk-log'
import { RangeChecker } from './range-check.ts'

const { location, defaultSchema, after, until, pageSize } = workerData as { location: string; defaultSchema: string | undefined; after: number; until: number; pageSize: number }
const port = parentPort!
// Pages not yet taken by the tree thread: enough for a later range to read all of its range meanwhile
// (a page of 5,000 events is some 250 KB here), a bound should that thread stall.
const AHEAD = 512
let inFlight = 0
let wake: (() => void) | undefined
port.on('message', () => {
  inFlight -= 1
  wake?.()
})

const log = await openBulkLog(location, { role: 'source', ...(defaultSchema === undefined ? {} : { defaultSchema }) })
try {
  const checker = new RangeChecker(after)
  for (let from = after; ; ) {
    const rows = await log.readRows(from, until, pageSize)
    if (rows.length === 0) break
    const { page, problem } = checker.page(rows)
    while (inFlight >= AHEAD) await new Promise<void>((resolve) => (wake = resolve))
    inFlight += 1
    port.postMessage({ kind: 'page', page }, [page.positions.buffer, page.leaves.buffer, page.recorded.buffer] as ArrayBuffer[])
    if (problem !== undefined) {
      port.postMessage({ kind: 'problem', problem, summary: checker.summary() })
      break
    }
    from = rows.at(-1)![0]
    if (rows.length < pageSize && from >= until) break
  }
  port.postMessage({ kind: 'done', summary: checker.summary() })
} finally {
  await log.close()
}
