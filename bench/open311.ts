// pnpm bench:open311 — Open311 `GET requests.json` and `.xml` answering 1,000 requests each, from
// an intake process (services/intake/src/main.ts, its own data folder, SQLite log) over a store of
// 100,000 cases spread over the last 120 days (routed; most accepted, many resolved). The same
// lists again and again (what polling clients ask: answered from cached bytes), a filtered one,
// and lists of random 89-day windows (every answer a new one). Prints requests/s, p50 and p99 of
// each; the target is p99 ≤ 50 ms on the 2-core reference machine.
//
// The generated store is cached in .bench/ (delete it or change BENCH_CASES to regenerate).
// Options (env): BENCH_CASES (100000), BENCH_CONNECTIONS (4), BENCH_SECONDS (10), BENCH_SEED (311).
import { randomUUID } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CaseEvent } from '@civic-desk/contracts'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { caseIdForTrackingCode, trackingCodeFromBytes } from '../packages/case-domain/src/index.ts'
import { encodeCaseEvent } from '../packages/case-feed/src/index.ts'
import { createLogger, defaultCatalogueFile, loadCatalogue } from '../packages/service-kit/src/index.ts'
import type autocannon from 'autocannon'
import { freePort, load, startTs, stop, waitForOk } from './lib.ts'
import { seededRandom } from './workload.ts'

const VERSION = 'open311-v1'
const cases = Number(process.env.BENCH_CASES ?? 100_000)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 4)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const seed = Number(process.env.BENCH_SEED ?? 311)
const root = fileURLToPath(new URL('..', import.meta.url))
const cacheFile = join(root, '.bench', `${VERSION}-${cases}-${seed}.sqlite`)
const say = (line: string): void => void process.stderr.write(`${line}\n`)
const fmt = (n: number): string => Math.round(n).toLocaleString('en')
const NEIGHBOURHOODS = ['Kazımdirik', 'Erzene', 'Evka 3', 'Altındağ', 'Mevlana', 'Doğanlar', 'Çamdibi', 'Kızılay', 'Yeşilova', 'Naldöken']

/** One case as the services would have recorded it: submitted, routed, then maybe accepted and resolved. */
function caseEvents(atMs: number, random: () => number, category: { readonly code: string; readonly department: string }): CaseEvent[] {
  const trackingCode = trackingCodeFromBytes(Buffer.from(Array.from({ length: 16 }, () => Math.floor(random() * 256))))
  const caseId = caseIdForTrackingCode(trackingCode)
  let t = atMs
  const meta = (actor: CaseEvent['actor']) => ({ eventId: randomUUID(), schemaVersion: 1 as const, occurredAt: new Date(t).toISOString(), actor, correlationId: caseId, causationId: null })
  const at = new Date(t).toISOString()
  const events: CaseEvent[] = [
    {
      ...meta({ kind: 'channel', id: 'web-adapter' }),
      type: 'CaseSubmitted',
      data: { caseId, trackingCode, channel: 'web', kind: 'complaint', category: category.code, description: 'Sokağımızda sorun var.', location: { neighbourhood: NEIGHBOURHOODS[Math.floor(random() * NEIGHBOURHOODS.length)]! }, receivedAt: at },
    },
  ]
  t += 1000 + random() * 60_000
  const hours = 24 + Math.floor(random() * 3) * 24
  const sla = { clock: 1, startedAt: new Date(t).toISOString(), deadline: { hours }, basis: 'category' as const, dueAt: new Date(t + hours * 3600_000).toISOString() }
  events.push({ ...meta({ kind: 'service', id: 'routing' }), type: 'CaseRouted', data: { department: category.department, category: category.code, routedBy: 'category', matchedKeywords: [], sla, legalDueAt: null } })
  if (random() < 0.8) {
    t += random() * 8 * 3600_000
    events.push({ ...meta({ kind: 'staff', id: 'ekip' }), type: 'CaseAccepted', data: { department: category.department, assignee: 'ekip' } })
    if (random() < 0.7) {
      t += random() * 48 * 3600_000
      events.push({ ...meta({ kind: 'staff', id: 'ekip' }), type: 'CaseResolved', data: { resolution: 'Ekiplerimiz sorunu giderdi.' } })
    }
  }
  return events
}

async function generate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-bench-open311-'))
  const file = join(dir, 'events.sqlite')
  const store = openSqliteEventStore({ file, logger: createLogger({ level: 'warn', name: 'bench-open311' }) })
  const categories = loadCatalogue(defaultCatalogueFile).categories
  const random = seededRandom(seed)
  const spanMs = 120 * 24 * 3600_000
  const started = Date.now()
  for (let n = 0; n < cases; ) {
    const chunk: CaseEvent[][] = []
    for (let i = 0; i < 1000 && n < cases; i++, n++) chunk.push(caseEvents(started - spanMs + (n / cases) * spanMs, random, categories[Math.floor(random() * categories.length)]!))
    await Promise.all(chunk.map((events) => store.append(`case-${(events[0] as Extract<CaseEvent, { type: 'CaseSubmitted' }>).data.caseId}`, events.map(encodeCaseEvent), { expectedRevision: 'no_stream' })))
    process.stderr.write(`\rgenerating ${fmt(n)}/${fmt(cases)} cases`)
  }
  process.stderr.write('\n')
  await store.close()
  mkdirSync(join(root, '.bench'), { recursive: true })
  renameSync(file, cacheFile)
  rmSync(dir, { recursive: true, force: true })
  say(`store of ${fmt(cases)} cases generated in ${((Date.now() - started) / 1000).toFixed(1)} s → ${cacheFile}`)
}

async function indexPosition(origin: string): Promise<{ position: number; head: number; requests: number }> {
  const res = await fetch(`${origin}/readyz`, { headers: { authorization: 'Bearer dev-operator' } })
  const body = (await res.json()) as { details?: { eventStoreHead?: number; open311Index?: { position: number; requests: number } } }
  return { position: body.details?.open311Index?.position ?? 0, head: body.details?.eventStoreHead ?? -1, requests: body.details?.open311Index?.requests ?? 0 }
}

async function main(): Promise<void> {
  if (!existsSync(cacheFile)) await generate()
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-bench-open311-run-'))
  copyFileSync(cacheFile, join(dataDir, 'events.sqlite'))
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const server = startTs(join(root, 'services/intake/src/main.ts'), { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn', CIVIC_LOOKUPS_PER_MINUTE: '100000000' })
  try {
    await waitForOk(`${origin}/healthz`, 60_000)
    const started = Date.now()
    for (let s = await indexPosition(origin); s.position < s.head; s = await indexPosition(origin)) await new Promise((r) => setTimeout(r, 200))
    const ready = await indexPosition(origin)
    say(`intake up; its Open311 index holds ${fmt(ready.requests)} requests (caught up with ${fmt(ready.head)} events in ${((Date.now() - started) / 1000).toFixed(1)} s)`)
    const rows: Array<{ target: string; perSecond: number; p50: number; p99: number; bytes: number; errors: number }> = []
    // A window ending at a random minute of the last 30 days: every answer another list of 1,000,
    // so the cached answers never serve it (the worst case for a public list; the fixed paths
    // above it are what polling clients ask again and again).
    const random = seededRandom(seed + 1)
    const randomWindow = (format: 'json' | 'xml') => (): string => {
      const end = started - Math.floor(random() * 30 * 24 * 60) * 60_000
      return `/open311/v2/requests.${format}?start_date=${encodeURIComponent(new Date(end - 89 * 24 * 3600_000).toISOString())}&end_date=${encodeURIComponent(new Date(end).toISOString())}`
    }
    const targets: Array<{ readonly label: string; readonly path: () => string }> = [
      { label: '/open311/v2/requests.json', path: () => '/open311/v2/requests.json' },
      { label: '/open311/v2/requests.xml', path: () => '/open311/v2/requests.xml' },
      { label: '/open311/v2/requests.json?service_code=yol-cukur&status=open', path: () => '/open311/v2/requests.json?service_code=yol-cukur&status=open' },
      { label: '/open311/v2/requests.json, a random 89-day window', path: randomWindow('json') },
      { label: '/open311/v2/requests.xml, a random 89-day window', path: randomWindow('xml') },
    ]
    for (const { label, path } of targets) {
      const probe = await fetch(`${origin}${path()}`)
      const body = await probe.text()
      const count = label.includes('.json') ? (JSON.parse(body) as unknown[]).length : (body.match(/<request>/g) ?? []).length
      say(`${label}: ${count} requests, ${fmt(body.length / 1024)} KiB`)
      const requests = [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) }]
      await load({ url: origin, connections, duration: 2, requests })
      const r = await load({ url: origin, connections, duration: seconds, requests })
      rows.push({ target: `GET ${label} (${count})`, perSecond: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, bytes: body.length, errors: r.errors + r.non2xx + r.timeouts })
    }
    say('')
    say(`Open311 reads: ${fmt(cases)} cases, ${connections} connections, ${seconds} s each`)
    for (const row of rows) say(`  ${row.target.padEnd(84)} ${fmt(row.perSecond).padStart(6)} req/s  p50 ${String(row.p50).padStart(3)} ms  p99 ${String(row.p99).padStart(3)} ms${row.errors > 0 ? `  ${row.errors} errors` : ''}  ${row.p99 <= 50 ? 'ok (p99 ≤ 50 ms)' : 'OVER TARGET (p99 > 50 ms)'}`)
    if (rows.some((r) => r.errors > 0 || r.p99 > 50)) process.exitCode = 1
  } finally {
    await stop(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
