// pnpm bench:flow — the whole case flow in standalone mode at a steady submission rate:
// submit → routed (CaseRouted recorded) and submit → acknowledgement (CitizenNotified recorded),
// p50/p99, measured from the store's own recordedAt times of each case's events.
// Options (env): BENCH_RATE (500 submissions/s), BENCH_SECONDS (20), BENCH_CONNECTIONS (50).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSqliteEventStore } from '@civic-desk/event-store'
import type autocannon from 'autocannon'
import { freePort, load, startTs, stop, waitForOk } from './lib.ts'
import { createWorkload } from './workload.ts'

const rate = Number(process.env.BENCH_RATE ?? 500)
const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const root = fileURLToPath(new URL('..', import.meta.url))

const runId = `flow-${process.pid}-${Date.now().toString(36)}`
// Realistic requests (bench/workload.ts): many streets, neighbourhoods and categories, so duplicates
// are found as often as the traffic makes them, not on every request.
const workload = createWorkload({ runId, seed: Number(process.env.BENCH_SEED ?? 153) })
const nextBody = (): string => JSON.stringify(workload.next())

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN }
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-flow-'))
  const port = await freePort()
  const server = startTs(join(root, 'services/standalone/src/main.ts'), { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' })
  try {
    await waitForOk(`http://127.0.0.1:${port}/readyz`)
    const base = {
      url: `http://127.0.0.1:${port}/v1/requests`,
      connections,
      method: 'POST' as const,
      headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' },
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: nextBody() }) }],
    }
    process.stderr.write(`warm-up 3 s at ${Math.min(rate, 200)}/s…\n`)
    await load({ ...base, duration: 3, overallRate: Math.min(rate, 200) })
    const skip = workload.count
    process.stderr.write(`flow: ${rate} submissions/s for ${seconds} s…\n`)
    const result = await load({ ...base, duration: seconds, overallRate: rate })
    const submitted = result['2xx']
    // Give the pipeline time to drain, then read what the store recorded.
    const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite') })
    const drainDeadline = Date.now() + 60_000
    let acknowledged = 0
    let routedLatencies: number[] = []
    let ackLatencies: number[] = []
    let cases = 0
    const duplicateIds = new Set<string>()
    let markedDuplicate = 0
    let expecting = 0
    let firstSubmit = Number.POSITIVE_INFINITY
    let lastRouted = 0
    let lastAck = 0
    for (;;) {
      const submittedAt = new Map<string, number>()
      const routedAt = new Map<string, number>()
      const ackAt = new Map<string, number>()
      duplicateIds.clear()
      const silentIds = new Set<string>()
      let after = 0
      for (;;) {
        const batch = await store.readAll({ after, maxCount: 10_000, streamPrefix: 'case-' })
        if (batch.length === 0) break
        for (const e of batch) {
          const at = Date.parse(e.recordedAt)
          if (e.type === 'CaseSubmitted') {
            const externalId = (e.data as { externalId?: string }).externalId ?? ''
            const n = Number(externalId.split('-').at(-1))
            if (n > skip) {
              submittedAt.set(e.streamId, at)
              const citizen = (e.data as { citizen?: { preferredChannel?: string } }).citizen
              if (citizen !== undefined && citizen.preferredChannel !== 'none') silentIds.delete(e.streamId)
              else silentIds.add(e.streamId)
            }
          } else if (e.type === 'CaseRouted' || e.type === 'CaseMarkedDuplicate') {
            routedAt.set(e.streamId, at)
            if (e.type === 'CaseMarkedDuplicate') duplicateIds.add(e.streamId)
          }
          else if (e.type === 'CitizenNotified' && ['acknowledgement', 'duplicate-linked'].includes((e.data as { template: string }).template)) ackAt.set(e.streamId, at)
        }
        after = batch.at(-1)!.position
      }
      cases = submittedAt.size
      firstSubmit = Math.min(...submittedAt.values())
      lastRouted = Math.max(0, ...[...submittedAt.keys()].map((id) => routedAt.get(id) ?? 0))
      lastAck = Math.max(0, ...[...submittedAt.keys()].map((id) => ackAt.get(id) ?? 0))
      routedLatencies = [...submittedAt].flatMap(([id, t0]) => (routedAt.has(id) ? [routedAt.get(id)! - t0] : []))
      ackLatencies = [...submittedAt].flatMap(([id, t0]) => (ackAt.has(id) ? [ackAt.get(id)! - t0] : []))
      acknowledged = ackLatencies.length
      markedDuplicate = [...submittedAt.keys()].filter((id) => duplicateIds.has(id)).length
      expecting = cases - [...submittedAt.keys()].filter((id) => silentIds.has(id)).length
      if ((acknowledged >= expecting && routedLatencies.length >= cases) || Date.now() > drainDeadline) break
      await new Promise((r) => setTimeout(r, 500))
    }
    await store.close()
    const routed = stats(routedLatencies)
    const ack = stats(ackLatencies)
    const report = {
      targetRate: rate,
      seconds,
      submittedPerSecond: Math.round(submitted / result.duration),
      submitHttp: { p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts },
      cases,
      markedDuplicate,
      // Anonymous requests and preferredChannel "none" get no message, so no acknowledgement.
      expectingAcknowledgement: expecting,
      submitToRoutedMs: routed,
      submitToAcknowledgementMs: ack,
      // What the pipeline really sustained: cases over the time from the first submission to the last one handled.
      routedPerSecond: Math.round((routed.count / Math.max(1, lastRouted - firstSubmit)) * 1000),
      acknowledgedPerSecond: Math.round((ack.count / Math.max(1, lastAck - firstSubmit)) * 1000),
      targets: { routedP99Ms: 50, acknowledgementP99Ms: 100 },
    }
    console.log(JSON.stringify(report, null, 2))
    console.log(
      `\nsubmit→routed p50 ${routed.p50} ms, p99 ${routed.p99} ms (target ≤ 50); submit→acknowledgement p50 ${ack.p50} ms, p99 ${ack.p99} ms (target ≤ 100); ` +
        `${report.submittedPerSecond}/s submitted, ${routed.count}/${cases} routed (${report.routedPerSecond}/s), ${ack.count}/${expecting} acknowledged (${report.acknowledgedPerSecond}/s); ${markedDuplicate} marked duplicate`,
    )
  } finally {
    await stop(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
