// KVKK erasure on `pnpm start`'s process, end to end (issue 12's "done when"): one person's
// requests on three channels, worked and notified; their KVKK application; the privacy officer's
// data-subject answer and erasure; afterwards every view shows "kişisel veri silindi", the
// dashboards are unchanged (also after the read models are rebuilt), the person's data is found
// in no byte of the data folder (the key store aside), no line the processes printed and no Redis
// key or value; a key store restored from before the erasure brings nobody back; a wrong master
// key stops the start and changes no file.
//
// Read models in Redis when REDIS_URL is set (a prefix of this test's own, deleted afterwards),
// else in memory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Test } from 'tap'
import { eventually, freePort } from '@civic-desk/service-kit/testing'
import { deleteRedisPrefix } from '@civic-desk/read-models'
import { dumpRedisPrefix } from '@civic-desk/read-models/testing'

// Five starts of the whole system, a rebuild and a refused start: minutes on a busy machine.
t.setTimeout(600_000)

const entry = fileURLToPath(new URL('./main.ts', import.meta.url))
const rebuildEntry = fileURLToPath(new URL('../../dashboard/src/rebuild.ts', import.meta.url))
const MARKER = 'kişisel veri silindi'

const { REDIS_URL: redisUrlSetting, ...inherited } = process.env
const redisUrl = redisUrlSetting?.trim() === '' ? undefined : redisUrlSetting?.trim()

// ---- The person, and everything about them that must go --------------------------------------
const NAME = 'Zerrin Karakoçlu-Eşref'
const PHONE_TYPED = ['0532 987 65 43', '+90 (532) 987-6543', '05329876543'] as const
const PHONE_E164 = '+905329876543'
const EMAIL = 'zerrin.karakoclu-esref@ornek-posta.com.tr'
const LAT = 38.4719371
const LON = 27.2264813
const TEXTS = {
  pothole: 'Fesleğenli Çıkmazı’nda evimin önünde büyük bir çukur var, annem Nazmiye Hanım düşüp bileğini kırdı (ZKE-ACIKLAMA-7731).',
  garbage: 'Gülbahçe Yokuşu’ndaki çöpler dört gündür alınmadı, kızım Ebrar astım krizi geçirdi (ZKE-ACIKLAMA-8842).',
  tree: 'Kumrulu Bahçe parkındaki ağaç dalları yatak odamın camına vuruyor, geceleri uyuyamıyorum (ZKE-ACIKLAMA-9953).',
  address: 'Fesleğenli Çıkmazı No:77/Ç Daire 3 (ZKE-ADRES-4410)',
  note: 'Vatandaş bilek kırığı raporunu getirecek; komşusu Tahsin Bey tanık (ZKE-NOT-2208).',
  question: 'Çukur tam olarak hangi kapının önünde, Karakoçlu hanım? (ZKE-SORU-5519)',
  reply: 'Yeşil demir kapılı 77 numaranın önü, eczane karşısı (ZKE-YANIT-6620).',
  resolution: 'Fesleğenli Çıkmazı 77 önündeki çukur asfaltla kapatıldı, Zerrin hanıma bilgi verildi (ZKE-COZUM-9042).',
  resolution2: 'Gülbahçe Yokuşu çöpleri alındı, konteyner yıkandı (ZKE-COZUM-3131).',
}
/** Every string that names or quotes the person: none may be found in clear after the erasure. */
const NEEDLES: string[] = [
  NAME,
  'Karakoçlu',
  'Karakoclu',
  ...PHONE_TYPED,
  PHONE_E164,
  '5329876543',
  '987 65 43',
  '9876543',
  EMAIL,
  'ornek-posta',
  String(LAT),
  String(LON),
  ...Object.values(TEXTS),
  // The ASCII tags: found however a text is escaped.
  ...Object.values(TEXTS).map((text) => /ZKE-[A-Z]+-\d+/.exec(text)?.[0] as string),
  'Fesleğenli',
  'Nazmiye',
  'Tahsin',
]

/** Needles as byte patterns: UTF-8 (also NFD), UTF-16LE, and JSON's \u escapes. */
function patterns(needle: string): Buffer[] {
  const out = [Buffer.from(needle, 'utf8'), Buffer.from(needle.normalize('NFD'), 'utf8'), Buffer.from(needle, 'utf16le')]
  const escaped = JSON.stringify(needle).slice(1, -1).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  if (escaped !== needle) out.push(Buffer.from(escaped, 'utf8'))
  return out
}

/** The needles found in some bytes. */
function found(bytes: Buffer): string[] {
  return NEEDLES.filter((needle) => patterns(needle).some((p) => bytes.includes(p)))
}

const gone = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT'

/** The bytes of a file, or null when it went meanwhile (a running process renames its temporary files). */
function bytesOf(path: string): Buffer | null {
  try {
    return readFileSync(path)
  } catch (error) {
    if (gone(error)) return null
    throw error
  }
}

/** Every file under a folder, recursively (relative path → absolute path). */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      let directory: boolean
      try {
        directory = statSync(path).isDirectory()
      } catch (error) {
        if (gone(error)) continue
        throw error
      }
      if (directory) walk(path)
      else out.set(relative(dir, path), path)
    }
  }
  walk(dir)
  return out
}

/** The key store: its bytes are ciphertext and HMACs, and it is what the erasure destroys. Not searched. */
const isKeyStore = (file: string): boolean => /^keys\.sqlite(-wal|-shm|-journal)?$/.test(file)

/** Needles in clear per file of the data folder (key store and master key left out). */
function searchDataDir(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [rel, path] of filesUnder(dir)) {
    if (isKeyStore(rel) || rel === 'master.key') continue
    const bytes = bytesOf(path)
    const hits = bytes === null ? [] : found(bytes)
    if (hits.length > 0) out[rel] = hits
  }
  return out
}

function hashes(dir: string): Record<string, string> {
  return Object.fromEntries([...filesUnder(dir)].map(([rel, path]) => [rel, createHash('sha256').update(readFileSync(path)).digest('hex')]))
}

// ---- The process --------------------------------------------------------------------------------
interface Running {
  readonly base: string
  readonly child: ChildProcess
  output(): string
  get<T>(path: string, token?: string): Promise<T>
  getRaw(path: string, token?: string): Promise<{ status: number; text: string }>
  post(path: string, token: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>
  stop(): Promise<number | null>
}

const json = { 'content-type': 'application/json' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function harness(t: Test) {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-privacy-e2e-'))
  const prefix = `civic-privacy-e2e:${randomUUID()}:`
  const children = new Set<ChildProcess>()
  /** Everything every process printed, in order. */
  let allOutput = ''
  t.teardown(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (redisUrl !== undefined) await deleteRedisPrefix(redisUrl, prefix)
    rmSync(dataDir, { recursive: true, force: true })
  })
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...inherited,
    CIVIC_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    CIVIC_SLA_TICK_MS: '200',
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, CIVIC_REDIS_PREFIX: prefix }),
    ...extra,
  })

  const spawnMain = (extra: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let output = ''
    const collect = (d: Buffer) => {
      output += d.toString()
      allOutput += d.toString()
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    return { child, output: () => output }
  }

  const start = async (): Promise<Running> => {
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const { child, output } = spawnMain({ PORT: String(port) })
    const deadline = Date.now() + 60_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output()}`)
      try {
        if ((await fetch(`${base}/readyz`)).ok) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`standalone not ready after 60 s:\n${output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const getRaw = async (path: string, token?: string) => {
      const res = await fetch(`${base}${path}`, { headers: token === undefined ? {} : bearer(token) })
      return { status: res.status, text: await res.text() }
    }
    return {
      base,
      child,
      output,
      getRaw,
      async get<T>(path: string, token?: string): Promise<T> {
        const res = await getRaw(path, token)
        if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`)
        return JSON.parse(res.text) as T
      },
      async post(path: string, token: string, body: unknown) {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...json, ...bearer(token) }, body: JSON.stringify(body) })
        return { status: res.status, body: (await res.json()) as Record<string, unknown> }
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
        child.kill('SIGTERM')
        return exited
      },
    }
  }

  /** A start that must fail: its exit code and output. */
  const startFailing = async (extra: Record<string, string>): Promise<{ code: number | null; output: string }> => {
    const port = await freePort()
    const { child, output } = spawnMain({ PORT: String(port), ...extra })
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve(-1)
      }, 60_000)
      child.once('exit', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    return { code, output: output() }
  }

  /** `pnpm rebuild-read-models` (Redis only). */
  const rebuild = (): { status: number | null; output: string } => {
    const result = spawnSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', rebuildEntry], { env: env(), encoding: 'utf8', timeout: 120_000 })
    allOutput += result.stdout + result.stderr
    return { status: result.status, output: result.stdout + result.stderr }
  }

  return { dataDir, prefix, start, startFailing, rebuild, allOutput: () => allOutput }
}

// ---- Dashboards ---------------------------------------------------------------------------------
/**
 * What may differ between two reads of an unchanged dashboard: the read models' position (the
 * erasure appends PersonalDataErased events, which count no case), the clock of the answer and
 * what the clock derives (time left; the sliding hour of submissions, compared by its non-empty
 * minutes), and the order of an object's keys. Everything else must be equal byte for byte (the
 * CSV exports are compared as they are).
 */
function normalizeDashboard(text: string): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip)
    if (typeof value !== 'object' || value === null) return value
    const out: Record<string, unknown> = {}
    // Keys sorted: Redis hands a hash's fields back in the order they were first written, which a
    // rebuild does not repeat; the order of a JSON object's keys carries nothing.
    for (const [k, v] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (k === 'position' || k === 'generatedAt' || k === 'msLeft') continue
      if (k === 'submissionsPerMinute' && Array.isArray(v)) out[k] = v.filter((m: { count: number }) => m.count > 0)
      else out[k] = strip(v)
    }
    return out
  }
  return JSON.stringify(strip(JSON.parse(text)))
}

async function dashboards(app: Running, caseRefs: readonly string[], departments: readonly string[]): Promise<Record<string, string>> {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Istanbul' }).format(new Date())
  const paths = [
    '/v1/dashboards/overview',
    '/v1/dashboards/neighbourhoods',
    ...departments.map((d) => `/v1/dashboards/departments/${d}`),
    ...departments.map((d) => `/v1/dashboards/departments/${d}/cases.csv?from=${day}&to=${day}`),
    ...caseRefs.map((ref) => `/v1/dashboards/cases/${ref}`),
  ]
  const out: Record<string, string> = {}
  for (const path of paths) {
    const res = await app.getRaw(path, 'dev-operator')
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`)
    out[path] = path.includes('.csv') ? res.text : normalizeDashboard(res.text)
  }
  return out
}

/**
 * The dashboards' case summaries ignore the erasure (it is not a step of the case, and they hold no
 * personal data): checked here, so that every summary is then compared with the snapshot as it is.
 */
function withoutErasure(t: Test, views: Record<string, string>, erasedCases: readonly string[]): Record<string, string> {
  for (const [path, text] of Object.entries(views)) {
    if (!path.startsWith('/v1/dashboards/cases/')) continue
    const view = JSON.parse(text) as { case: { caseId: string; timeline: { type: string }[] } }
    const erased = erasedCases.includes(view.case.caseId)
    t.equal(view.case.timeline.filter((e) => e.type === 'PersonalDataErased').length, 0, `${path}: ${erased ? 'erased, and' : ''} no erasure in the summary's timeline`)
  }
  return views
}

interface CaseView {
  caseId: string
  status: string
  citizen?: unknown
  [k: string]: unknown
}
interface History {
  events: { type: string; data: Record<string, unknown> }[]
}
interface Outbox {
  total: number
  entries: { caseId: string; template: string; channel: string; to: string; subject?: string | null; text: string }[]
}

t.test('KVKK: a person erased from a running standalone is found nowhere, the statistics stay, a restored key store brings nobody back', async (t) => {
  const h = harness(t)
  t.comment(`read models: ${redisUrl === undefined ? 'memory' : `Redis ${h.prefix}`}`)
  const timings: Record<string, number> = {}
  let mark = Date.now()
  const lap = (name: string) => {
    timings[name] = Date.now() - mark
    mark = Date.now()
  }
  let app = await h.start()
  t.afterEach(async (t) => {
    if (!t.passing()) t.comment(h.allOutput().slice(-20_000))
  })

  // ---- Submit: one phone on three channels, one with coordinates + address, one with the e-mail.
  const submit = async (body: Record<string, unknown>) => {
    const r = await app.post('/v1/requests', 'dev-channel', body)
    t.equal(r.status, 201, `submitted on ${String(body.channel)}`)
    return r.body as { caseId: string; trackingCode: string }
  }
  const pothole = await submit({
    channel: 'call-center',
    externalId: `alo153-${randomUUID()}`,
    kind: 'complaint',
    description: TEXTS.pothole,
    location: { neighbourhood: 'Kazımdirik', address: TEXTS.address, lat: LAT, lon: LON },
    citizen: { name: NAME, phone: PHONE_TYPED[0], preferredChannel: 'sms' },
  })
  const garbage = await submit({
    channel: 'whatsapp',
    kind: 'complaint',
    description: TEXTS.garbage,
    location: { neighbourhood: 'Erzene' },
    citizen: { name: NAME, phone: PHONE_TYPED[1], preferredChannel: 'whatsapp' },
  })
  const tree = await submit({
    channel: 'web',
    kind: 'request',
    description: TEXTS.tree,
    location: { neighbourhood: 'Kazımdirik' },
    citizen: { name: NAME, phone: PHONE_TYPED[2], email: EMAIL, preferredChannel: 'email' },
  })
  // Someone else, so the dashboards count more than the erased person.
  const other = await submit({ channel: 'walk-in', kind: 'complaint', category: 'yol-cukur', description: 'Okul önündeki rögar çukuru derin.', location: { neighbourhood: 'Erzene' }, citizen: { phone: '0555 111 22 33' } })
  // The person's KVKK application, on paper: its tracking code is the request reference.
  const application = await submit({
    channel: 'petition',
    kind: 'request',
    category: 'kvkk-basvurusu',
    description: 'KVKK m.11 uyarınca belediyenizde tutulan kişisel verilerimin silinmesini talep ediyorum.',
    citizen: { name: NAME },
  })
  const personCases = [pothole, garbage, tree]
  const allCases = [...personCases, other, application]

  // ---- Work the cases.
  const routedTo = async (c: { trackingCode: string }) =>
    (await eventually(() => app.get<{ status: string; department: { code: string } | null }>(`/v1/requests/${c.trackingCode}`), (v) => v.status === 'routed', `routing of ${c.trackingCode}`, 10_000)).department?.code
  t.equal(await routedTo(pothole), 'fen-isleri', 'the pothole by its keywords')
  t.equal(await routedTo(garbage), 'temizlik', 'the garbage by its keywords')
  t.equal(await routedTo(tree), 'park-bahce', 'the tree by its keywords')
  t.equal(await routedTo(other), 'fen-isleri')
  t.equal(await routedTo(application), 'bilgi-edinme')
  const fen = 'dev-staff-fen-isleri'
  const step = async (caseId: string, token: string, command: string, body: unknown) => t.equal((await app.post(`/v1/cases/${caseId}/${command}`, token, body)).status, 200, `${command}`)
  await step(pothole.caseId, fen, 'accept', {})
  await step(pothole.caseId, fen, 'note', { text: TEXTS.note })
  await step(pothole.caseId, fen, 'request-info', { question: TEXTS.question })
  await step(pothole.caseId, fen, 'citizen-reply', { text: TEXTS.reply, channel: 'call-center' })
  await step(pothole.caseId, fen, 'resolve', { resolution: TEXTS.resolution })
  await step(garbage.caseId, 'dev-staff-temizlik', 'accept', {})
  await step(garbage.caseId, 'dev-staff-temizlik', 'resolve', { resolution: TEXTS.resolution2 })
  await step(application.caseId, 'dev-staff-bilgi-edinme', 'accept', {})
  const outbox = (caseId: string) => app.get<Outbox>(`/v1/notifications/outbox?caseId=${caseId}`, 'dev-operator')
  const potholeMessages = await eventually(() => outbox(pothole.caseId), (o) => o.entries.length >= 3, 'pothole messages', 15_000)
  t.same(potholeMessages.entries.map((e) => e.template), ['acknowledgement', 'info-requested', 'resolved'])
  t.match(potholeMessages.entries[2]?.text, /ZKE-COZUM-9042/, 'the resolution went out to the citizen (before the erasure)')
  await eventually(() => outbox(garbage.caseId), (o) => o.entries.length >= 2, 'garbage messages', 15_000)
  const treeMessages = await eventually(() => outbox(tree.caseId), (o) => o.entries.length >= 1, 'tree acknowledgement', 15_000)
  t.equal(treeMessages.entries[0]?.to, EMAIL, 'the tree case was acknowledged by e-mail')
  // Every reader caught up, so the dashboards are final.
  const settled = async (a: Running) =>
    eventually(
      async () => {
        const streams = await a.get<{ head: number; consumers: { name: string; lag: number }[] }>('/v1/ops/streams', 'dev-operator')
        const readModels = await a.get<{ position: number }>('/v1/ops/read-models', 'dev-operator')
        return streams.consumers.every((c) => c.lag === 0) && readModels.position === streams.head
      },
      (ok) => ok,
      'every reader at the head',
      20_000,
    )
  await settled(app)
  lap('submit and work five cases, notifications')

  // ---- Before the erasure: the log never held the person in clear.
  {
    // While running most of the log is still in events.sqlite-wal: every file of the log and the bus.
    const hits = Object.entries(searchDataDir(h.dataDir)).filter(([file]) => !file.startsWith('outbox.sqlite'))
    t.same(hits, [], 'events.sqlite*, bus.sqlite*, consumers/…: nothing in clear while running')
    const log = ['events.sqlite', 'events.sqlite-wal'].map((f) => bytesOf(join(h.dataDir, f)) ?? Buffer.alloc(0))
    t.ok(log.some((b) => b.includes(Buffer.from('"pd1.'))), 'sealed values (pd1.) are in the log')
  }
  const departments = ['fen-isleri', 'temizlik', 'park-bahce', 'bilgi-edinme']
  const refs = allCases.flatMap((c) => [c.caseId, c.trackingCode])
  const erasedIds = personCases.map((c) => c.caseId)

  // Stop cleanly and keep the key store as a backup from before the erasure would.
  t.equal(await app.stop(), 0, 'stopped cleanly')
  {
    const hits = searchDataDir(h.dataDir)
    for (const [file, needles] of Object.entries(hits)) if (!file.startsWith('outbox.sqlite')) t.fail(`${file} holds ${needles.join(', ')} in clear before the erasure`)
    t.ok(hits['outbox.sqlite'] !== undefined, 'before the erasure the outbox holds the messages as sent (the check below can fail)')
  }
  const backup = join(h.dataDir, '..', `${h.dataDir.split('/').pop()}-keys-backup`)
  mkdirSync(backup)
  t.teardown(() => rmSync(backup, { recursive: true, force: true }))
  for (const f of ['keys.sqlite', 'keys.sqlite-wal', 'keys.sqlite-shm']) if (existsSync(join(h.dataDir, f))) copyFileSync(join(h.dataDir, f), join(backup, f))
  app = await h.start()
  await settled(app)
  const before = await dashboards(app, refs, departments)
  const searchRedis = async (when: string) => {
    if (redisUrl === undefined) return
    const keys = await dumpRedisPrefix(redisUrl, h.prefix)
    t.ok(keys.length > 0, `${when}: Redis holds ${keys.length} keys under the prefix`)
    const hits = keys.flatMap((k) => [...found(k.key), ...k.values.flatMap((v) => found(v))].map((n) => `${k.key.toString()}: ${n}`))
    t.same(hits, [], `${when}: no Redis key or value holds the person`)
  }
  // The read models never held the person: they need nothing personal.
  await searchRedis('before the erasure')
  lap('stop, back up keys.sqlite, start, snapshot dashboards')

  // ---- Data-subject access (KVKK m.11).
  {
    const subject = await app.get<{ purposes: string[]; cases: { caseId: string; personalData: { field: string; value: unknown }[] }[] }>(`/v1/privacy/subjects?phone=${encodeURIComponent('0532 987 65 43')}`, 'dev-privacy')
    t.same(subject.cases.map((c) => c.caseId).sort(), personCases.map((c) => c.caseId).sort(), 'the three cases of the phone number, not the paper application')
    t.ok(subject.purposes.length > 0, 'with the purposes of processing')
    const held = JSON.stringify(subject.cases.flatMap((c) => c.personalData))
    for (const value of [NAME, PHONE_E164, EMAIL, TEXTS.pothole, TEXTS.address, TEXTS.note, TEXTS.question, TEXTS.reply, TEXTS.resolution]) t.ok(held.includes(JSON.stringify(value).slice(1, -1)), `holds ${value.slice(0, 30)}`)
    t.match(held, /location\.point/, 'and the coordinates')
    t.equal((await app.getRaw('/v1/privacy/subjects?phone=05329876543', 'dev-operator')).status, 403, 'operators may not ask')
  }

  // ---- The erasure.
  const erasure = { phone: '0532 987 65 43', requestReference: application.trackingCode, legalBasis: 'KVKK m.7, m.11/1-e' }
  const erased = await app.post('/v1/privacy/erasures', 'dev-privacy', erasure)
  t.equal(erased.status, 201, 'erased')
  const destruction = erased.body.destruction as { id: string; caseIds: string[]; requestReference: string; completedAt: string | null; legalBasis: string }
  t.same([...destruction.caseIds].sort(), personCases.map((c) => c.caseId).sort(), 'the destruction names the three cases')
  t.equal(destruction.requestReference, application.trackingCode)
  t.ok(destruction.completedAt !== null, 'completed')
  t.equal(erased.body.keptApplication, null, 'the application (no phone) was not among the cases found')
  lap('subject access and erasure')

  // Staff, supervisor and auditor views.
  const staffOf: Record<string, string> = { [pothole.caseId]: fen, [garbage.caseId]: 'dev-staff-temizlik', [tree.caseId]: 'dev-staff-park-bahce' }
  for (const c of personCases) {
    const staff = await app.getRaw(`/v1/cases/${c.caseId}`, staffOf[c.caseId])
    const supervisor = await app.getRaw(`/v1/cases/${c.caseId}`, 'dev-supervisor')
    const history = await app.getRaw(`/v1/cases/${c.caseId}/history`, 'dev-auditor')
    const supervisorHistory = await app.getRaw(`/v1/cases/${c.caseId}/history`, 'dev-supervisor')
    const pub = await app.getRaw(`/v1/requests/${c.trackingCode}`)
    for (const [who, res] of Object.entries({ staff, supervisor, history, supervisorHistory, public: pub })) {
      t.equal(res.status, 200, `${who} reads ${c.trackingCode}`)
      t.same(found(Buffer.from(res.text)), [], `${who} view of ${c.trackingCode}: no trace of the person`)
    }
    t.match(staff.text, MARKER, 'staff read the marker')
    t.match(supervisor.text, MARKER, 'supervisors read the marker')
    t.match(supervisorHistory.text, MARKER, 'the history shows the marker')
    const events = (JSON.parse(supervisorHistory.text) as History).events
    t.equal(events.filter((e) => e.type === 'PersonalDataErased').length, 1, 'one PersonalDataErased on the case')
    const submittedEvent = events.find((e) => e.type === 'CaseSubmitted')?.data as { citizen?: Record<string, unknown>; location?: Record<string, unknown> }
    t.notOk(submittedEvent.citizen?.phone ?? submittedEvent.citizen?.email, 'no phone or e-mail in the opened event')
    t.notOk(submittedEvent.location?.lat ?? submittedEvent.location?.lon ?? submittedEvent.location?.point, 'no coordinates in the opened event')
    t.equal(JSON.parse(pub.text).status, c === tree ? 'routed' : 'resolved', 'the citizen view still tells the status')
  }
  // The outbox forgot the messages.
  for (const c of personCases) {
    const messages = await eventually(() => outbox(c.caseId), (o) => o.entries.every((e) => e.to === MARKER), `outbox of ${c.trackingCode} forgotten`, 15_000)
    t.ok(messages.entries.length > 0, 'the rows stay (counts)')
    for (const e of messages.entries) {
      t.equal(e.text, MARKER)
      if (e.subject !== undefined && e.subject !== null) t.equal(e.subject, MARKER)
    }
    t.same(found(Buffer.from(JSON.stringify(messages))), [], 'no trace in the outbox page')
  }
  // The application is kept as evidence.
  {
    const kept = await app.get<CaseView>(`/v1/cases/${application.caseId}`, 'dev-staff-bilgi-edinme')
    t.match(JSON.stringify(kept), NAME, 'the application case keeps its applicant')
    t.notMatch(JSON.stringify(kept), MARKER)
    const otherView = await app.get<CaseView>(`/v1/cases/${other.caseId}`, fen)
    t.match(JSON.stringify(otherView), /\+905551112233/, 'another citizen keeps their data')
  }
  // Again: already erased; subject access: gone.
  {
    for (const ref of [pothole.trackingCode, tree.caseId]) {
      const again = await app.post('/v1/privacy/erasures', 'dev-privacy', { trackingCode: ref, requestReference: application.trackingCode, legalBasis: erasure.legalBasis })
      t.equal(again.status, 200, `a second erasure of ${ref}: 200`)
      t.equal(again.body.status, 'already-erased', 'already-erased')
      t.match(again.body.cases, [{ destructionId: destruction.id }], 'naming the first destruction')
    }
    // The subject index forgets the phone number with the keys: asked again by phone, nothing is
    // found, and the answer says it may have been erased before.
    const byPhone = await app.post('/v1/privacy/erasures', 'dev-privacy', erasure)
    t.equal(byPhone.status, 404, 'a second erasure by phone: 404 (the index no longer knows the number)')
    t.match(byPhone.body.detail, /daha önce silinmiş olabilir/, 'saying it may have been erased before')
    t.same((await app.get<{ entries: unknown[] }>('/v1/privacy/destructions', 'dev-privacy')).entries.length, 1, 'no second destruction entry')
    for (const q of ['phone=05329876543', `phone=${encodeURIComponent(PHONE_E164)}`, `email=${encodeURIComponent(EMAIL)}`]) t.equal((await app.getRaw(`/v1/privacy/subjects?${q}`, 'dev-privacy')).status, 404, `subject access by ${q.split('=')[0]}: 404`)
  }
  // The destruction log.
  {
    for (const token of ['dev-privacy', 'dev-auditor']) {
      const list = await app.get<{ entries: { id: string; caseIds: string[] }[] }>('/v1/privacy/destructions', token)
      t.same(list.entries.map((e) => e.id), [destruction.id], `${token} reads the entry`)
      const csv = await app.getRaw('/v1/privacy/destructions?format=csv', token)
      t.equal(csv.status, 200)
      t.match(csv.text, destruction.id, 'the CSV has the entry')
      for (const c of personCases) t.match(csv.text, c.caseId)
      t.same(found(Buffer.from(csv.text)), [], 'and nothing of the person')
    }
    t.equal((await app.getRaw('/v1/privacy/destructions', fen)).status, 403, 'staff may not read it')
    t.equal((await app.getRaw('/v1/privacy/destructions', 'dev-operator')).status, 403, 'operators may not read it')
  }
  await settled(app)
  // The statistics stay.
  t.same(withoutErasure(t, await dashboards(app, refs, departments), erasedIds), before, 'dashboards as before the erasure')
  await searchRedis('after the erasure')
  lap('views, outbox, destruction log, dashboards after the erasure')

  // Nothing in clear while running (SQLite's pages and WAL included) …
  t.same(searchDataDir(h.dataDir), {}, 'data folder, running: the person is nowhere in clear')
  t.equal(await app.stop(), 0, 'stopped cleanly')
  // … nor once stopped.
  t.same(searchDataDir(h.dataDir), {}, 'data folder, stopped: the person is nowhere in clear')

  // ---- Read models rebuilt from the log.
  if (redisUrl !== undefined) {
    const rebuilt = h.rebuild()
    t.equal(rebuilt.status, 0, `rebuild-read-models: ${rebuilt.output.slice(-500)}`)
  }
  app = await h.start()
  await settled(app)
  t.same(withoutErasure(t, await dashboards(app, refs, departments), erasedIds), before, `dashboards as before the erasure after ${redisUrl === undefined ? 'a start (memory read models rebuilt)' : 'the Redis rebuild'}`)
  await searchRedis('after the rebuild')
  t.equal(await app.stop(), 0)
  lap('rebuild and compare')

  // ---- A key store restored from before the erasure brings nobody back.
  for (const f of ['keys.sqlite', 'keys.sqlite-wal', 'keys.sqlite-shm']) rmSync(join(h.dataDir, f), { force: true })
  for (const f of readdirSync(backup)) copyFileSync(join(backup, f), join(h.dataDir, f))
  app = await h.start()
  t.match(app.output(), /keys destroyed again/, 'the start says it destroyed keys again')
  t.match(app.output(), /"keysDestroyedAgain":3/, 'the three keys')
  for (const c of personCases) {
    const view = await app.getRaw(`/v1/cases/${c.caseId}`, 'dev-supervisor')
    t.match(view.text, MARKER, `${c.trackingCode} stays erased`)
    t.same(found(Buffer.from(view.text)), [], 'no trace')
  }
  t.equal((await app.getRaw('/v1/privacy/subjects?phone=05329876543', 'dev-privacy')).status, 404, 'subject access still 404')
  await settled(app)
  t.same(withoutErasure(t, await dashboards(app, refs, departments), erasedIds), before, 'dashboards still as before')
  t.equal(await app.stop(), 0)
  t.same(searchDataDir(h.dataDir), {}, 'data folder after the restore: nowhere in clear')
  lap('restore the old key store')

  // ---- A wrong master key stops the start and changes nothing.
  {
    const filesBefore = hashes(h.dataDir)
    const refused = await h.startFailing({ CIVIC_MASTER_KEY: randomBytes(32).toString('hex') })
    t.not(refused.code, 0, `refused (exit ${refused.code})`)
    t.not(refused.code, -1, 'and promptly')
    t.match(refused.output, /master key/i, `a clear message: ${refused.output.split('\n').find((l) => /fatal|master key/i.test(l))?.slice(0, 400) ?? refused.output.slice(-400)}`)
    const filesAfter = hashes(h.dataDir)
    t.equal(filesAfter['keys.sqlite'], filesBefore['keys.sqlite'], 'keys.sqlite unchanged')
    t.same(filesAfter, filesBefore, 'no file of the data folder changed or appeared')
  }
  lap('wrong master key')

  // ---- Everything every process printed.
  t.same(found(Buffer.from(h.allOutput())), [], `process output (${h.allOutput().split('\n').length} lines): nothing of the person`)
  t.comment(`timings (ms): ${JSON.stringify(timings)}`)
})
