// pnpm bench:intake — durable submissions per second against a running standalone with a fresh
// data folder (the whole product: routing, notification, the workflow's queues and the dashboards
// follow in the same process), and in the same run a bare fastify hello-world as the ceiling.
// Every second it reads every reader's lag (/v1/ops/streams): a run in which a reader keeps falling
// behind is reported as not sustained, and after the load the time they need to catch up is shown.
// Options (env): BENCH_CONNECTIONS (50), BENCH_SECONDS (15), BENCH_WARMUP_SECONDS (3).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSqliteEventStore } from '@civic-desk/event-store'
import type autocannon from 'autocannon'
import { freePort, keptUp, load, readLag, startTs, stop, waitForOk, type LagSample, type LoadResult } from './lib.ts'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const seconds = Number(process.env.BENCH_SECONDS ?? 15)
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 3)
const root = fileURLToPath(new URL('..', import.meta.url))

const neighbourhoods = ['Kazımdirik', 'Erzene', 'Atatürk', 'Kemalpaşa', 'Çamdibi', 'Işıklar', 'Doğanlar', 'Gürçeşme']
const texts = [
  ['yol-cukur', 'complaint', 'Sokağımızda derin bir çukur oluştu, araçlar zarar görüyor. Acil müdahale rica ederiz.'],
  ['cop-toplama', 'complaint', 'Çöp konteynerleri üç gündür boşaltılmadı, kötü koku yayılıyor.'],
  ['agac-budama', 'request', 'Parktaki ağaçların dalları elektrik tellerine değiyor, budanmasını istiyoruz.'],
  ['sokak-hayvanlari', 'tip', 'Mahallede yaralı bir köpek var, veteriner ekibinin gelmesi gerekiyor.'],
  [undefined, 'suggestion', 'Işıklar Caddesi’ne bisiklet yolu yapılmasını öneriyorum; çocuklar güvenle okula gidebilir.'],
] as const

/**
 * The load generator shares the machine's two cores with the server, so bodies are prepared once
 * (a few hundred variants) and only the externalId is spliced in per request: the client spends
 * its CPU on sending, not on building JSON.
 */
const variants = Array.from({ length: 240 }, (_, i) => {
  const [category, kind, description] = texts[i % texts.length]!
  const body = JSON.stringify({
    channel: i % 3 === 0 ? 'whatsapp' : 'call-center',
    kind,
    ...(category ? { category } : {}),
    description,
    location: { neighbourhood: neighbourhoods[i % neighbourhoods.length], address: `${(i % 200) + 1}. Sokak No:${(i % 40) + 1}` },
    ...(i % 5 === 0 ? {} : { citizen: { name: 'Şule Çağlayan', phone: '+90 532 000 00 00', preferredChannel: 'sms' } }),
  })
  return body.slice(1) // without the opening brace, so a field can be put in front
})
const runId = `${process.pid}-${Date.now().toString(36)}`

let sequence = 0
function nextBody(): string {
  sequence++
  const rest = variants[sequence % variants.length]!
  // Every other request carries an externalId so both tracking-code paths (random, keyed) are measured.
  return sequence % 2 === 0 ? `{"externalId":"bench-${runId}-${sequence}",${rest}` : `{${rest}`
}

function summary(r: LoadResult, okStatus: number) {
  const ok = okStatus === 201 ? (r.statusCodeStats?.['201']?.count ?? 0) : r['2xx']
  return { ok, perSecond: ok / r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts }
}

async function benchIntake() {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-bench-'))
  const port = await freePort()
  const server = startTs(join(root, 'services/standalone/src/main.ts'), { PORT: String(port), CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' })
  try {
    await waitForOk(`http://127.0.0.1:${port}/readyz`)
    const base = { url: `http://127.0.0.1:${port}/v1/requests`, connections, method: 'POST' as const, headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' } }
    const setupRequest = (req: autocannon.Request) => ({ ...req, body: nextBody() })
    process.stderr.write(`warm-up ${warmupSeconds}s…\n`)
    const warm = await load({ ...base, duration: warmupSeconds, requests: [{ setupRequest }] })
    process.stderr.write(`intake: ${connections} connections for ${seconds}s…\n`)
    const origin = `http://127.0.0.1:${port}`
    const started = Date.now()
    const samples: LagSample[] = []
    const sampler = setInterval(() => {
      readLag(origin, started).then(
        (sample) => void samples.push(sample),
        (error: unknown) => process.stderr.write(`lag sample failed: ${(error as Error).message}\n`),
      )
    }, 1000)
    const headBefore = (await readLag(origin, started)).head
    const result = await load({ ...base, duration: seconds, requests: [{ setupRequest }] })
    clearInterval(sampler)
    const atEnd = await readLag(origin, started)
    const eventsPerSecond = (atEnd.head - headBefore) / seconds
    const verdict = keptUp(samples, seconds * 1000, eventsPerSecond)
    // How long the readers need to work off what is left once the load stops.
    let drainMs = 0
    for (let last = atEnd; last.total > 0; last = await readLag(origin, started)) {
      drainMs = Date.now() - started - seconds * 1000
      if (drainMs > 120_000) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await stop(server)
    // Count what is really on disk: every 201 must be a stored event.
    const store = openSqliteEventStore({ file: join(dataDir, 'events.sqlite') })
    const stored = await store.headPosition()
    await store.close()
    return { ...summary(result, 201), acknowledged: warm['2xx'] + result['2xx'], stored, eventsPerSecond, atEnd, verdict, drainMs }
  } finally {
    await stop(server)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function benchHello() {
  const port = await freePort()
  const server = startTs(join(root, 'bench/hello-server.ts'), { PORT: String(port) })
  try {
    await waitForOk(`http://127.0.0.1:${port}/`)
    await load({ url: `http://127.0.0.1:${port}/`, connections, duration: warmupSeconds })
    process.stderr.write(`hello-world: ${connections} connections for ${seconds}s…\n`)
    return summary(await load({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds }), 200)
  } finally {
    await stop(server)
  }
}

const intake = await benchIntake()
const hello = await benchHello()
const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 })
process.stdout.write(
  [
    '',
    `bench:intake — ${connections} connections, ${seconds}s measured after ${warmupSeconds}s warm-up, load from a separate process`,
    `  durable submissions/s   ${f(intake.perSecond)}   (201 answers: ${f(intake.ok)}, errors: ${intake.errors})`,
    // More on disk than acknowledged is expected: requests in flight when the load stopped were stored
    // but their answers were not counted. Fewer would mean a lost acknowledged request.
    `  acknowledged → on disk   ${f(intake.acknowledged)} → ${f(intake.stored)} events, warm-up included (${intake.stored >= intake.acknowledged ? 'none lost' : '!! ACKNOWLEDGED REQUESTS MISSING'})`,
    `  latency p50 / p99       ${intake.p50} ms / ${intake.p99} ms`,
    `  events stored/s         ${f(intake.eventsPerSecond)}   (${(intake.eventsPerSecond / Math.max(1, intake.perSecond)).toFixed(2)} per submission)`,
    `  consumers kept up       ${intake.verdict.sustained ? 'yes' : `NO — still falling behind: ${intake.verdict.behind.join(', ')}`} (worst lag in the second half ${intake.verdict.worstSeconds} s of events)`,
    `  lag when the load ended ${Object.entries(intake.atEnd.byReader).map(([name, lag]) => `${name} ${f(lag)}`).join(', ')} events; worked off ${(intake.drainMs / 1000).toFixed(1)} s later`,
    `  sustained               ${intake.verdict.sustained ? f(intake.perSecond) : 'not sustained'} durable submissions/s with every consumer keeping up`,
    `  hello-world req/s       ${f(hello.perSecond)}   (p50 ${hello.p50} ms / p99 ${hello.p99} ms)`,
    `  ratio to hello-world    ${(intake.perSecond / hello.perSecond).toFixed(2)}`,
    `  target                  ≥ 2,000/s sustained with every consumer keeping up`,
    '',
  ].join('\n'),
)
