// A city's worth of citizen requests against a running civic-desk, for demos and for watching the
// dashboards move: realistic Turkish requests from bench/workload.ts (catalogue categories, every
// channel, Bornova's neighbourhoods) POSTed to intake at a steady rate until enough are accepted.
// A few are sent twice, as a channel adapter retrying would, and must be answered 200 with the
// same case. With SIMULATE_WORK=1 a supervisor also accepts and resolves (or rejects) some of the
// routed cases through the workflow API.
//
//   pnpm start                                   # in another terminal
//   tsx bench/simulate.ts                        # SIMULATE_URL, SIMULATE_TOKEN, SIMULATE_RATE, SIMULATE_COUNT, SIMULATE_WORK
import { setTimeout as sleep } from 'node:timers/promises'
import type { SubmissionBody } from '@civic-desk/contracts'
import { createWorkload, seededRandom } from './workload.ts'

interface Settings {
  readonly url: string
  readonly token: string
  readonly rate: number
  readonly count: number
  readonly work: boolean
  readonly workToken: string
  readonly seed: number
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const problems: string[] = []
  const positive = (name: string, fallback: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value <= 0 || value > max) {
      problems.push(`${name}=${raw}: 0 ile ${max} arasında bir sayı olmalı / must be a number above 0 and at most ${max}`)
      return fallback
    }
    return value
  }
  const url = (env.SIMULATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '')
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)')
  } catch {
    problems.push(`SIMULATE_URL=${url}: http(s) adresi olmalı / must be an http(s) URL, e.g. http://127.0.0.1:3000`)
  }
  const work = env.SIMULATE_WORK ?? '0'
  if (work !== '0' && work !== '1') problems.push(`SIMULATE_WORK=${work}: 0 ya da 1 olmalı / must be 0 or 1`)
  const settings: Settings = {
    url,
    token: env.SIMULATE_TOKEN ?? 'dev-channel',
    rate: positive('SIMULATE_RATE', 20, 5_000),
    count: Math.floor(positive('SIMULATE_COUNT', 300, 10_000_000)),
    work: work === '1',
    workToken: env.SIMULATE_WORK_TOKEN ?? 'dev-supervisor',
    seed: Math.floor(positive('SIMULATE_SEED', Date.now() % 1_000_000_007, Number.MAX_SAFE_INTEGER)),
  }
  if (problems.length > 0) {
    process.stderr.write(`simulate: geçersiz ayar / invalid setting:\n  ${problems.join('\n  ')}\n`)
    process.exit(2)
  }
  return settings
}

const settings = readSettings(process.env)
const random = seededRandom(settings.seed)
const runId = `sim-${Date.now().toString(36)}`
const workload = createWorkload({ runId, seed: settings.seed })

/** Network failures carry their reason in `cause` (ECONNREFUSED, ENOTFOUND…). */
function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : undefined
  const message = cause instanceof Error ? cause.message : String(cause)
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
}

async function preflight(): Promise<void> {
  try {
    const response = await fetch(`${settings.url}/healthz`, { signal: AbortSignal.timeout(5_000) })
    if (!response.ok) throw new Error(`/healthz answered ${response.status}`)
  } catch (error) {
    process.stderr.write(
      [
        `simulate: ${settings.url} adresinde çalışan bir civic-desk yok / no civic-desk is running at ${settings.url} (${networkReason(error)}).`,
        `  Başlatın / start it: pnpm start   — ya da SIMULATE_URL ile adresi verin / or point SIMULATE_URL at it.`,
        '',
      ].join('\n'),
    )
    process.exit(1)
  }
}

// ---------------------------------------------------------------------------------------------
// Counters

const started = Date.now()
/** When the last submission was answered; the rate is over the sending phase, not the staff work after it. */
let sendingEndedAt: number | undefined
const sendingSeconds = (): number => ((sendingEndedAt ?? Date.now()) - started) / 1000
let sent = 0
let accepted = 0
let retriedSame = 0
let inFlight = 0
const errors = new Map<string, number>()
const byChannel = new Map<string, number>()
const byCategory = new Map<string, number>()
const work = { accepted: 0, resolved: 0, rejected: 0, skipped: 0, failed: 0 }
const acceptedBodies: SubmissionBody[] = []
let stopping = false
let fatal: string | undefined
let failuresInARow = 0

const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1)
const errorCount = (): number => [...errors.values()].reduce((a, b) => a + b, 0)

async function post(path: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${settings.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
}

/** One submission: a new request, or (now and then) a repeat of an accepted one, which must answer 200. */
async function submitOne(): Promise<void> {
  const repeat = acceptedBodies.length > 0 && random() < 0.03
  const body = repeat ? acceptedBodies[Math.floor(random() * acceptedBodies.length)]! : workload.next()
  sent++
  inFlight++
  try {
    const response = await post('/v1/requests', settings.token, body)
    failuresInARow = 0
    if (response.status === 201 && !repeat) {
      const receipt = (await response.json()) as { caseId: string; trackingCode: string }
      accepted++
      acceptedBodies.push(body)
      bump(byChannel, body.channel)
      bump(byCategory, body.category ?? '(kategorisiz / uncategorised)')
      if (settings.work && random() < 0.5) scheduleWork(receipt.caseId)
    } else if (response.status === 200 && repeat) {
      retriedSame++
      await response.arrayBuffer()
    } else {
      const problem = await response.text()
      bump(errors, `HTTP ${response.status}`)
      if (response.status === 401 || response.status === 403) {
        fatal = `intake refused the token (HTTP ${response.status}) / belirteç reddedildi: set SIMULATE_TOKEN to a channel token. ${problem.slice(0, 300)}`
      } else if (errorCount() <= 3) {
        process.stderr.write(`\nsimulate: HTTP ${response.status} ${problem.slice(0, 500)}\n`)
      }
    }
  } catch (error) {
    bump(errors, networkReason(error).split(':')[0] ?? 'network')
    if (++failuresInARow >= 20) fatal = `${settings.url} stopped answering / yanıt vermiyor: ${networkReason(error)}`
  } finally {
    inFlight--
  }
}

// ---------------------------------------------------------------------------------------------
// Staff work (SIMULATE_WORK=1): accept routed cases, later resolve most and reject a few.

const pendingWork = new Set<Promise<void>>()

function scheduleWork(caseId: string): void {
  const job = doWork(caseId).finally(() => pendingWork.delete(job))
  pendingWork.add(job)
}

async function doWork(caseId: string): Promise<void> {
  // Routing runs behind intake; wait for the case to reach its directorate.
  let revision: string | undefined
  for (let attempt = 0; attempt < 40 && revision === undefined; attempt++) {
    await sleep(250 + random() * 500)
    const response = await fetch(`${settings.url}/v1/cases/${caseId}`, { headers: { authorization: `Bearer ${settings.workToken}` }, signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
    if (response === undefined) continue
    if (response.status === 401 || response.status === 403) {
      work.failed++
      return
    }
    if (!response.ok) continue
    const view = (await response.json()) as { status?: string }
    if (view.status === 'routed') revision = response.headers.get('etag') ?? undefined
    else if (view.status !== 'submitted') {
      work.skipped++ // a likely duplicate, or already taken: nothing to do
      return
    }
  }
  if (revision === undefined) {
    work.skipped++
    return
  }
  const accept = await post(`/v1/cases/${caseId}/accept`, settings.workToken, {}, { 'if-match': revision }).catch(() => undefined)
  if (accept?.status !== 200 && accept?.status !== 201) {
    if (accept?.status === 409 || accept?.status === 412) work.skipped++
    else work.failed++
    return
  }
  work.accepted++
  // Some time on the street before the answer; leave a third of them open.
  if (random() < 0.33) return
  await sleep(1_000 + random() * 6_000)
  const reject = random() < 0.1
  const response = reject
    ? await post(`/v1/cases/${caseId}/reject`, settings.workToken, { reasonCode: 'not-municipal', reason: 'Talep belediyenin görev alanında değil; ilgili kuruma yönlendirildi.' }).catch(() => undefined)
    : await post(`/v1/cases/${caseId}/resolve`, settings.workToken, { resolution: 'Ekip yerinde inceledi, sorun giderildi.' }).catch(() => undefined)
  if (response?.ok) {
    if (reject) work.rejected++
    else work.resolved++
  } else if (response?.status === 409 || response?.status === 412) {
    work.skipped++
  } else {
    work.failed++
  }
}

// ---------------------------------------------------------------------------------------------
// Progress and summary

function progressLine(): string {
  const seconds = sendingSeconds()
  const rate = seconds > 0 ? accepted / seconds : 0
  const workText = settings.work ? `  iş/work: ${work.accepted} üstlenildi/accepted, ${work.resolved} çözüldü/resolved` : ''
  return `simulate: ${accepted}/${settings.count} kabul/accepted  ${rate.toFixed(1)}/s  hata/errors ${errorCount()}  tekrar/retries ${retriedSame}${workText}`
}

const tty = process.stderr.isTTY === true
let lastLogged = 0
function showProgress(force = false): void {
  if (tty) process.stderr.write(`\r${progressLine()}\x1b[K`)
  else if (force || Date.now() - lastLogged >= 2_000) {
    lastLogged = Date.now()
    process.stderr.write(`${progressLine()}\n`)
  }
}

function table(title: string, counts: Map<string, number>): string {
  const rows = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'tr'))
  const width = Math.max(10, ...rows.map(([key]) => key.length))
  return [title, ...rows.map(([key, n]) => `  ${key.padEnd(width)} ${String(n).padStart(6)}`)].join('\n')
}

const row = (name: string, value: string): string => `  ${`${name}:`.padEnd(44)} ${value}`

function summary(): string {
  const seconds = sendingSeconds()
  const lines = [
    '',
    `civic-desk simulate — ${settings.url} (run ${runId}, seed ${settings.seed})`,
    row('kabul edilen / accepted (201)', String(accepted)),
    row('yinelenen → 200 / duplicates answered 200', `${retriedSame} (same channel + externalId, same case)`),
    row('gönderilen / requests sent', String(sent)),
    row('hatalar / errors', `${errorCount()}${errors.size > 0 ? `  (${[...errors.entries()].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`),
    row('süre / duration', `${seconds.toFixed(1)} s, ${(accepted / Math.max(seconds, 0.001)).toFixed(1)} accepted/s`),
    '',
    table('Kanala göre / by channel', byChannel),
    '',
    table('Kategoriye göre / by category', byCategory),
  ]
  if (settings.work) {
    lines.push('', `Personel işi / staff work: ${work.accepted} accepted, ${work.resolved} resolved, ${work.rejected} rejected, ${work.skipped} skipped (not routed in time, duplicate, or changed), ${work.failed} failed`)
  }
  return `${lines.join('\n')}\n`
}

// ---------------------------------------------------------------------------------------------
// Main: a fixed-rate schedule (request i goes out at start + i / rate), never more than
// `maxInFlight` at once so a slow server slows the run instead of piling up sockets.

process.once('SIGINT', () => {
  stopping = true
  process.stderr.write('\nsimulate: durduruluyor / stopping…\n')
})

await preflight()
process.stderr.write(`simulate: ${settings.url}, ${settings.rate}/s, ${settings.count} başvuru/requests${settings.work ? ', personel işi/staff work on' : ''}\n`)

const maxInFlight = Math.max(8, Math.ceil(settings.rate))
const inFlightSubmissions = new Set<Promise<void>>()
let next = 0
const progressTimer = setInterval(() => showProgress(), 250)
while (!stopping && fatal === undefined && accepted < settings.count) {
  // Full, or enough on the way to reach the count: wait for one to finish (a failed one is replaced).
  if (inFlight >= maxInFlight || accepted + inFlight >= settings.count) {
    await Promise.race(inFlightSubmissions)
    continue
  }
  const wait = started + (next * 1000) / settings.rate - Date.now()
  if (wait > 0) await sleep(wait)
  if (stopping) break
  next++
  const job = submitOne().finally(() => inFlightSubmissions.delete(job))
  inFlightSubmissions.add(job)
}
await Promise.all(inFlightSubmissions)
sendingEndedAt = Date.now()
if (pendingWork.size > 0 && fatal === undefined) {
  process.stderr.write(`\nsimulate: ${pendingWork.size} personel işi bitiriliyor / finishing staff work…\n`)
  await Promise.race([Promise.all(pendingWork), sleep(30_000)])
}
clearInterval(progressTimer)
showProgress(true)
if (tty) process.stderr.write('\n')
process.stdout.write(summary())
if (fatal !== undefined) {
  process.stderr.write(`simulate: ${fatal}\n`)
  process.exit(1)
}
process.exit(0)
