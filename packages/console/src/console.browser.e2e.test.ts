// The operator console in a real browser against a real standalone process (memory read models,
// no REDIS_URL): log in, watch the overview change without a reload while requests come in,
// open a directorate's queue, a problem shown in Turkish, a case's timeline by tracking code, the
// streams page, the neighbourhoods page changing without a reload, and check that a tablet
// (768 px) shows every page without horizontal scrolling.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import t from 'tap'
import type { Test } from 'tap'
import { freePort } from '@civic-desk/service-kit/testing'
import { launchTestBrowser } from './browser.ts'

// The few browser globals the page functions below use: the repo compiles for Node (no DOM lib),
// and these declarations stay local to this module.
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null
  querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null }>
  readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number }
}
declare const window: unknown
declare const location: { hash: string }
declare const sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void }

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const entry = join(repoRoot, 'services/standalone/src/main.ts')

interface Standalone {
  readonly base: string
  readonly output: () => string
}

/** Starts `pnpm start`'s entry point on a free port and a fresh data folder, without Redis. */
async function startStandalone(t: Test): Promise<Standalone> {
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-console-'))
  const port = await freePort()
  // Memory read models: no REDIS_URL. CIVIC_CHROMIUM is the tests' variable, not the product's.
  const { REDIS_URL: _redis, CIVIC_CHROMIUM: _chromium, ...inherited } = process.env
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...inherited, PORT: String(port), HOST: '127.0.0.1', CIVIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dataDir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`standalone exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { base, output: () => output }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`standalone not ready after 30 s:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface Receipt {
  caseId: string
  trackingCode: string
}

async function submit(base: string, body: Record<string, unknown>): Promise<Receipt> {
  const response = await fetch(`${base}/v1/requests`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-channel', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (response.status !== 201) throw new Error(`POST /v1/requests answered ${response.status}: ${await response.text()}`)
  return (await response.json()) as Receipt
}

const requests = [
  {
    channel: 'call-center',
    externalId: 'console-e2e-1',
    kind: 'complaint',
    category: 'yol-cukur',
    description: 'Şehit Öğretmen Sokağı’nda büyük bir çukur var; araçlar zarar görüyor.',
    location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4', lat: 38.4682, lon: 27.2097 },
    citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
  },
  {
    channel: 'whatsapp',
    externalId: 'console-e2e-2',
    kind: 'request',
    category: 'cop-toplama',
    description: 'Gençlik Caddesi’nde çöpler üç gündür alınmadı, koku var.',
    location: { neighbourhood: 'Erzene', address: 'Gençlik Cd. No:12' },
  },
  {
    channel: 'web',
    externalId: 'console-e2e-3',
    kind: 'complaint',
    category: 'park-bakim',
    description: 'Ankara Caddesi yanındaki parkta salıncak kırık, çocuklar için tehlikeli. <script>alert(1)</script>',
    location: { neighbourhood: 'Atatürk <b>Mahallesi</b>', address: 'Ankara Cd.' },
  },
]

/** One more request, in Kazımdirik typed without Turkish letters: the same place on the dashboards. */
const laterRequest = {
  channel: 'web',
  externalId: 'console-e2e-4',
  kind: 'request',
  category: 'park-bakim',
  description: 'Mahalle parkındaki çimler uzadı, biçilmesini ve bankların boyanmasını rica ediyoruz.',
  location: { neighbourhood: 'KAZIMDIRIK MAH.' },
}

/** The counts of a row of the neighbourhoods table, from the cells' `data-value`s. */
async function neighbourhoodRow(page: Page, name: string): Promise<{ total: number; open: number; done: number }> {
  const row = page.locator(`[data-testid="neighbourhoods"] tr[data-neighbourhood="${name}"]`)
  const value = async (column: string) => Number(await row.locator(`td[data-col="${column}"]`).getAttribute('data-value'))
  return { total: await value('total'), open: await value('open'), done: await value('done') }
}

async function neighbourhoodNames(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="neighbourhoods"] tbody tr[data-neighbourhood]'), (row) => row.getAttribute('data-neighbourhood') ?? ''))
}

/** The number a `data-testid` element shows, from its `data-value`. */
async function valueOf(page: Page, testId: string): Promise<number> {
  return Number(await page.getAttribute(`[data-testid="${testId}"]`, 'data-value'))
}

async function noHorizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
}

t.test('operator console against the standalone', async (t) => {
  const browser = await launchTestBrowser(t)
  if (browser === undefined) return
  const standalone = await startStandalone(t)
  const { base } = standalone

  const probe = await fetch(`${base}/v1/dashboards/overview`, { headers: { authorization: 'Bearer dev-operator' } })
  if (probe.status === 404) {
    // The dashboard routes are not wired into the standalone yet: nothing real to test against.
    await t.test('console e2e', { skip: 'GET /v1/dashboards/overview answers 404 on the standalone: the dashboard service is not wired into it yet' }, async () => undefined)
    return
  }
  t.equal(probe.status, 200, 'the overview answers the operator')
  const { statuses } = probe.status === 200 ? ((await probe.json()) as { statuses: Array<{ code: string; open: boolean }> }) : { statuses: [] }
  const shell = await fetch(`${base}/`)
  t.equal(shell.status, 200, 'the standalone serves the console at / (registerConsole)')
  t.match(await shell.text(), /Operatör konsolu/)
  if (probe.status !== 200 || shell.status !== 200) return

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'tr-TR', timezoneId: 'Europe/Istanbul' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(20_000)
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  let documentLoads = 0
  page.on('load', () => documentLoads++)

  await page.goto(`${base}/`)
  await page.waitForSelector('#token')
  t.equal(new URL(page.url()).hash, '#/giris', 'without a token the console asks for one')

  await t.test('a wrong token gets a clear Turkish message', async (t) => {
    await page.fill('#token', 'yanlis-belirtec')
    await page.click('form.login button[type=submit]')
    await page.waitForSelector('[data-testid="login-message"] .problem')
    t.match(await page.textContent('[data-testid="login-message"]'), /Belirteç geçersiz/)
    await page.fill('#token', 'dev-channel')
    await page.click('form.login button[type=submit]')
    await page.waitForSelector('[data-testid="login-message"] .problem:has-text("yetkisi yok")')
    t.equal(await page.evaluate(() => sessionStorage.getItem('civic-desk.console.token')), null, 'a refused token is not kept')
  })

  await page.fill('#token', 'dev-operator')
  await page.click('form.login button[type=submit]')
  await page.waitForFunction(() => location.hash === '#/genel-bakis')
  await page.waitForSelector('[data-testid="live-state"]:has-text("Canlı")')
  t.equal(await page.evaluate(() => sessionStorage.getItem('civic-desk.console.token')), 'dev-operator', 'the token is kept for the tab')

  const submitted: Receipt[] = []
  await t.test('the overview changes without a reload', async (t) => {
    const before = {
      total: await valueOf(page, 'totals-total'),
      today: await valueOf(page, 'totals-today'),
      open: await valueOf(page, 'sla-open'),
      position: Number(await page.getAttribute('[data-testid="position"]', 'data-value')),
    }
    t.equal(before.total, 0, 'a fresh store')
    // Marks this document and its chart: both must survive the updates if nothing reloads.
    await page.evaluate(() => {
      const w = window as unknown as { consoleMarker: string; channelsChart: unknown; Chart: { getChart(id: string): unknown } }
      w.consoleMarker = 'same-document'
      w.channelsChart = w.Chart.getChart('chart-channels')
    })
    const loadsBefore = documentLoads

    for (const body of requests) submitted.push(await submit(base, body))

    await page.waitForFunction((expected) => document.querySelector('[data-testid="totals-total"]')?.getAttribute('data-value') === String(expected), before.total + requests.length)
    t.equal(await valueOf(page, 'totals-today'), before.today + requests.length, 'submitted today')
    // Routing runs behind intake: wait until all three are routed and counted as open.
    await page.waitForFunction(() => document.querySelector('[data-testid="status-routed"]')?.getAttribute('data-value') === '3')
    await page.waitForFunction((expected) => Number(document.querySelector('[data-testid="sla-open"]')?.getAttribute('data-value')) >= expected, before.open + requests.length)
    t.equal(await page.textContent('[data-testid="status-routed"]'), '3')
    t.same(
      await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="status-totals"] dd'), (dd) => dd.getAttribute('data-testid'))),
      statuses.map((s) => `status-${s.code}`),
      'the statuses listed as the API states them, in its order',
    )
    t.equal(await valueOf(page, 'totals-active'), 3, 'the routed cases count as ongoing: the API states routed is open')
    t.equal(await valueOf(page, 'totals-done'), 0, 'none answered yet')
    t.ok(Number(await page.getAttribute('[data-testid="position"]', 'data-value')) > before.position, 'the position moved on')
    t.match(await page.textContent('[data-testid="last-updated"]'), /^\d{2}:\d{2}:\d{2}$/)

    const charts = await page.evaluate(() => {
      const w = window as unknown as { consoleMarker?: string; channelsChart: unknown; Chart: { getChart(id: string): { data: { labels: string[]; datasets: { data: number[] }[] } } | undefined } }
      const channels = w.Chart.getChart('chart-channels')
      const departments = w.Chart.getChart('chart-departments')
      return {
        marker: w.consoleMarker,
        sameChart: channels === w.channelsChart,
        channelLabels: channels?.data.labels,
        channelCounts: channels?.data.datasets[0]?.data,
        departmentLabels: departments?.data.labels,
      }
    })
    t.equal(charts.marker, 'same-document', 'no reload: the page kept its state')
    t.ok(charts.sameChart, 'the chart was updated in place, not rebuilt')
    t.same([...(charts.channelLabels ?? [])].sort(), ['Alo 153 çağrı merkezi', 'Web', 'WhatsApp'])
    t.same(charts.channelCounts, [1, 1, 1])
    t.ok(charts.departmentLabels?.includes('Fen İşleri'), `directorates named in Turkish: ${JSON.stringify(charts.departmentLabels)}`)
    t.equal(documentLoads, loadsBefore, 'no navigation happened')
    t.match(await page.textContent('[data-testid="sla-by-department"]'), /Fen İşleri Müdürlüğü/)
  })

  await t.test('a directorate’s queue', async (t) => {
    await page.click('[data-testid="sla-by-department"] a:has-text("Fen İşleri")')
    await page.waitForFunction(() => location.hash === '#/mudurluk/fen-isleri')
    const row = page.locator(`[data-testid="queue"] tr[data-case-id="${submitted[0]!.caseId}"]`)
    await row.waitFor()
    const text = await row.textContent()
    t.match(text, submitted[0]!.trackingCode)
    t.match(text, /Yönlendirildi/)
    t.match(text, /Yol çukuru ve yol hasarı/, 'the category by its Turkish name, not its code')
    t.match(text, /kaldı/, 'time left before the due time')
    t.match(await page.textContent('h1'), /Fen İşleri Müdürlüğü/)
    t.equal(await page.locator('[data-testid="queue"] tbody tr[data-case-id]').count(), 1, 'only this directorate’s case')
    t.same(
      await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="dept-status"] dd'), (dd) => dd.getAttribute('data-testid'))),
      statuses.map((s) => `dept-status-${s.code}`),
      'the directorate’s statuses as the API states them',
    )
  })

  await t.test('a problem from the API is shown in Turkish, with the server’s detail kept', async (t) => {
    await page.evaluate(() => (location.hash = '#/mudurluk/yok-boyle'))
    await page.waitForSelector('[data-testid="problem"][data-status="404"]')
    const box = await page.textContent('[data-testid="problem"]')
    t.match(box, /^Müdürlük bulunamadı/, 'a Turkish summary first')
    t.match(box, /“yok-boyle” adında bir müdürlük yok\. Listeden bir müdürlük seçin\./, 'and what to do, in Turkish')
    t.match(await page.textContent('[data-testid="problem-detail"]'), /HTTP 404 — Not found — No department yok-boyle in the catalogue\./, 'the problem’s own title and detail stay available')
    t.equal(await page.isVisible('[data-testid="problem-detail"]'), false, 'folded away until asked for')
    t.match(await page.textContent('[data-testid="live-state"]'), /Güncellenemedi: Bulunamadı/)

    await page.evaluate(() => (location.hash = '#/mudurluk/Not_A_Code'))
    await page.waitForSelector('[data-testid="problem"][data-status="400"]')
    t.match(await page.textContent('[data-testid="problem"]'), /^Müdürlük bulunamadı/)
    t.match(await page.textContent('[data-testid="problem-detail"]'), /HTTP 400 — Request validation failed/)

    // A problem the page has no words of its own for: the status's Turkish summary and hint.
    await page.evaluate(() => (location.hash = `#/basvuru/${'X'.repeat(101)}`))
    await page.waitForSelector('[data-testid="problem"][data-status="414"]')
    const generic = await page.textContent('[data-testid="problem"]')
    t.match(generic, /^Adres çok uzun/)
    t.match(generic, /takip kodunu ya da değeri kontrol edin/)
    t.match(await page.textContent('[data-testid="problem-detail"]'), /HTTP 414 — URI Too Long — .*max param length/)

    // Leave the case page, so the next test starts from an empty search form.
    await page.evaluate(() => (location.hash = '#/genel-bakis'))
    await page.waitForSelector('body[data-page="genel-bakis"] [data-testid="totals-total"]')
  })

  await t.test('a case’s timeline by tracking code', async (t) => {
    await page.click('nav a[data-route="basvuru"]')
    await page.fill('#case-ref', submitted[2]!.trackingCode)
    await page.click('form[role="search"] button[type=submit]')
    await page.waitForSelector('[data-testid="timeline"] li[data-type="CaseRouted"]')
    t.equal(await page.textContent('[data-testid="case-tracking-code"]'), submitted[2]!.trackingCode)
    t.equal(await page.textContent('[data-testid="case-status"]'), 'Yönlendirildi')
    const timeline = await page.textContent('[data-testid="timeline"]')
    t.match(timeline, /Başvuru alındı/)
    t.match(timeline, /Birime yönlendirildi/)
    await page.waitForSelector('[data-testid="as-of-forbidden"]')
    t.match(await page.textContent('[data-testid="as-of"]'), /yalnızca yöneticiler ve denetçiler/, 'an operator is told the earlier states are not theirs to see')
    const facts = await page.textContent('[data-testid="case-facts"]')
    t.match(facts, 'Atatürk <b>Mahallesi</b>', 'markup from a citizen is shown as text')
    t.equal(await page.locator('[data-testid="case-facts"] b').count(), 0, 'and never parsed')

    await page.fill('#case-ref', '00000000-0000-4000-8000-000000000000')
    await page.click('form[role="search"] button[type=submit]')
    await page.waitForSelector('[data-testid="problem"]')
    t.match(await page.textContent('[data-testid="problem"]'), /Başvuru bulunamadı/)
    t.match(await page.textContent('[data-testid="problem-detail"]'), /HTTP 404 — Not found/, 'the server’s detail is kept')
  })

  await t.test('the streams page', async (t) => {
    await page.click('nav a[data-route="akislar"]')
    await page.waitForSelector('[data-testid="consumers"] tbody tr[data-consumer]')
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="streams-head"]')?.getAttribute('data-value')) >= 6)
    t.ok((await page.locator('[data-testid="consumers"] tbody tr[data-consumer]').count()) >= 1, 'consumers are listed')
    t.equal(await valueOf(page, 'streams-deadLetters'), 0, 'no dead letters')
  })

  await t.test('the neighbourhoods page counts per neighbourhood and follows new requests without a reload', async (t) => {
    await page.click('nav a[data-route="mahalleler"]')
    await page.waitForFunction(() => location.hash === '#/mahalleler')
    await page.waitForSelector('[data-testid="neighbourhoods"] tr[data-neighbourhood="Kazımdirik"]')
    t.equal(await page.getAttribute('nav a[data-route="mahalleler"]', 'aria-current'), 'page', 'reachable from the navigation')
    t.match(await page.textContent('h1'), 'Mahalleler')

    // The three requests above went to three neighbourhoods, one each, none resolved yet.
    t.same(await neighbourhoodRow(page, 'Kazımdirik'), { total: 1, open: 1, done: 0 })
    t.same(await neighbourhoodRow(page, 'Erzene'), { total: 1, open: 1, done: 0 })
    t.same(await neighbourhoodRow(page, 'Atatürk <b>mahallesi</b>'), { total: 1, open: 1, done: 0 }, 'a citizen’s markup is a name like any other')
    t.equal(await page.locator('[data-testid="neighbourhoods"] b').count(), 0, 'and never parsed')
    t.same(await neighbourhoodNames(page), ['Atatürk <b>mahallesi</b>', 'Erzene', 'Kazımdirik'], 'equal totals by name')
    t.equal(await valueOf(page, 'nb-neighbourhoods'), 3)
    t.equal(await valueOf(page, 'nb-total'), submitted.length)
    t.equal(await valueOf(page, 'nb-withoutNeighbourhood'), 0)
    t.match(await page.textContent('[data-testid="neighbourhoods"] tr[data-neighbourhood="Kazımdirik"]'), /Yol çukuru ve yol hasarı/, 'the top category by its Turkish name')
    t.notMatch(await page.textContent('main'), /Ayşe|532/, 'no citizen data')

    // Sorting by name, both ways, and back to the busiest first.
    await page.click('[data-testid="neighbourhoods"] button[data-sort="name"]')
    t.equal(await page.getAttribute('[data-testid="neighbourhoods"] th:has(button[data-sort="name"])', 'aria-sort'), 'ascending')
    await page.click('[data-testid="neighbourhoods"] button[data-sort="name"]')
    t.same(await neighbourhoodNames(page), ['Kazımdirik', 'Erzene', 'Atatürk <b>mahallesi</b>'])
    await page.click('[data-testid="neighbourhoods"] button[data-sort="total"]')
    t.equal(await page.getAttribute('[data-testid="neighbourhoods"] th:has(button[data-sort="total"])', 'aria-sort'), 'descending')

    await page.evaluate(() => {
      const w = window as unknown as { neighbourhoodMarker: string; neighbourhoodChart: unknown; Chart: { getChart(id: string): unknown } }
      w.neighbourhoodMarker = 'same-document'
      w.neighbourhoodChart = w.Chart.getChart('chart-neighbourhoods')
    })
    const loadsBefore = documentLoads
    submitted.push(await submit(base, laterRequest))

    await page.waitForFunction(() => document.querySelector('[data-testid="neighbourhoods"] tr[data-neighbourhood="Kazımdirik"] td[data-col="total"]')?.getAttribute('data-value') === '2')
    t.same(await neighbourhoodRow(page, 'Kazımdirik'), { total: 2, open: 2, done: 0 }, '“KAZIMDIRIK MAH.” counts for Kazımdirik')
    t.same(await neighbourhoodRow(page, 'Erzene'), { total: 1, open: 1, done: 0 }, 'the others unchanged')
    t.equal((await neighbourhoodNames(page))[0], 'Kazımdirik', 'the busiest first')
    t.equal(await valueOf(page, 'nb-neighbourhoods'), 3, 'still three places')
    t.equal(await valueOf(page, 'nb-total'), submitted.length)
    t.match(await page.textContent('[data-testid="neighbourhoods"] tr[data-neighbourhood="Kazımdirik"]'), /Yazımlar: KAZIMDIRIK MAH\., Kazımdirik/, 'the merged spellings are shown')

    const chart = await page.evaluate(() => {
      const w = window as unknown as { neighbourhoodMarker?: string; neighbourhoodChart: unknown; Chart: { getChart(id: string): { data: { labels: string[]; datasets: { data: number[] }[] } } | undefined } }
      const current = w.Chart.getChart('chart-neighbourhoods')
      return { marker: w.neighbourhoodMarker, same: current === w.neighbourhoodChart, labels: current?.data.labels, open: current?.data.datasets[0]?.data }
    })
    t.equal(chart.marker, 'same-document', 'no reload: the page kept its state')
    t.ok(chart.same, 'the chart was updated in place')
    t.same(chart.labels, ['Kazımdirik', 'Atatürk <b>mahallesi</b>', 'Erzene'])
    t.same(chart.open, [2, 1, 1])
    t.equal(documentLoads, loadsBefore, 'no navigation happened')

    // Search ignores case the Turkish way: "KAZIM" is "kazım", not "kazim".
    await page.fill('#neighbourhood-filter', 'KAZIM')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="neighbourhoods"] tbody tr[data-neighbourhood]').length === 1)
    t.same(await neighbourhoodNames(page), ['Kazımdirik'])
    await page.fill('#neighbourhood-filter', '')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="neighbourhoods"] tbody tr[data-neighbourhood]').length === 3)
  })

  await t.test('a tablet (768 × 1024) shows every page without horizontal scrolling', async (t) => {
    await page.setViewportSize({ width: 768, height: 1024 })
    const pages: ReadonlyArray<readonly [string, string, string]> = [
      ['#/genel-bakis', 'genel-bakis', `[data-testid="status-routed"][data-value="${submitted.length}"]`],
      ['#/mahalleler', 'mahalleler', '[data-testid="neighbourhoods"] tr[data-neighbourhood="Kazımdirik"]'],
      ['#/mudurluk/fen-isleri', 'mudurluk', '[data-testid="queue"] tr[data-case-id]'],
      [`#/basvuru/${submitted[0]!.trackingCode}`, 'basvuru', '[data-testid="timeline"] li[data-type="CaseRouted"]'],
      ['#/akislar', 'akislar', '[data-testid="consumers"] tr[data-consumer]'],
    ]
    for (const [hash, name, loaded] of pages) {
      await page.evaluate((target) => (location.hash = target), hash)
      // body[data-page] switches in the same task that clears the previous page's view.
      await page.waitForSelector(`body[data-page="${name}"] ${loaded}`)
      t.equal(await noHorizontalOverflow(page), 0, `${hash} fits 768 px`)
    }
  })

  await t.test('a supervisor steps through a case’s states on the Başvuru page (as-of replay)', async (t) => {
    await page.setViewportSize({ width: 1366, height: 900 })
    const mine = submitted[1]!
    const supervisor = { authorization: 'Bearer dev-supervisor', 'content-type': 'application/json' }
    const act = async (action: string, body: Record<string, unknown>): Promise<void> => {
      const response = await fetch(`${base}/v1/cases/${mine.caseId}/${action}`, { method: 'POST', headers: supervisor, body: JSON.stringify(body) })
      t.equal(response.status, 200, `${action}: ${response.status === 200 ? 'done' : await response.text()}`)
      // Each step recorded at an instant of its own.
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
    await act('accept', {})
    await act('transfer', { department: 'fen-isleri', category: 'yol-cukur', reason: 'Çöp değil, yol çökmesi.' })
    await act('accept', {})
    await act('request-info', { question: 'Çökme hangi evin önünde?' })
    await act('citizen-reply', { text: '12 numaranın önünde.' })
    await act('resolve', { resolution: 'Yol onarıldı.' })
    const latest = await fetch(`${base}/v1/cases/${mine.caseId}?asOf=${encodeURIComponent(new Date().toISOString())}`, { headers: supervisor })
    t.equal(latest.status, 200)
    const changes = ((await latest.json()) as { changes: Array<{ revision: number; type: string }> }).changes
    t.same(changes.map((c) => c.type).slice(-6), ['CaseAccepted', 'CaseTransferred', 'CaseAccepted', 'CitizenInfoRequested', 'CitizenReplied', 'CaseResolved'])

    await page.evaluate(() => sessionStorage.setItem('civic-desk.console.token', 'dev-supervisor'))
    await page.evaluate((target) => (location.hash = target), `#/basvuru/${mine.trackingCode}`)
    const shown = async (revision: number) => {
      await page.waitForSelector(`[data-testid="as-of"][data-state="shown"][data-revision="${revision}"]`)
      return {
        status: await page.textContent('[data-testid="as-of-status"]'),
        department: await page.textContent('[data-testid="as-of-department"]'),
        clock: await page.textContent('[data-testid="as-of-clock"]'),
        left: await page.textContent('[data-testid="as-of-left"]'),
      }
    }
    const states = [await shown(changes.at(-1)!.revision)]
    t.equal(states[0]!.status, 'Çözüldü', 'the newest state first')
    for (let i = changes.length - 2; i >= 0; i--) {
      await page.click('[data-testid="as-of-previous"]')
      states.unshift(await shown(changes[i]!.revision))
    }
    t.equal(await page.isDisabled('[data-testid="as-of-previous"]'), true, 'nothing before the first change')
    const at = (type: string, nth = 0) => states[changes.map((c, i) => [c.type, i] as const).filter(([kind]) => kind === type)[nth]![1]]!
    t.match(at('CaseRouted'), { status: 'Yönlendirildi', department: /Temizlik/, clock: 'İşliyor' }, 'routed to Temizlik')
    t.match(at('CaseTransferred'), { status: 'Yönlendirildi', department: /Fen İşleri/, clock: 'İşliyor' }, 'transferred to Fen İşleri')
    t.match(at('CitizenInfoRequested'), { status: 'Vatandaştan bilgi bekleniyor', department: /Fen İşleri/, clock: /Durduruldu/ }, 'waiting for the citizen: the clock paused')
    t.match(at('CaseResolved'), { status: 'Çözüldü' })
    t.match(at('CaseTransferred').left, /kaldı/, 'time left as of then')

    await page.click('[data-testid="as-of-next"]')
    t.match(await shown(changes[1]!.revision), states[1]!, 'next steps forward')
    await page.locator('[data-testid="as-of-range"]').fill(String(changes.length - 1))
    t.match(await shown(changes.at(-1)!.revision), { status: 'Çözüldü' }, 'the slider jumps')
    t.equal(await page.isDisabled('[data-testid="as-of-next"]'), true, 'nothing after the newest change')

    await page.evaluate(() => sessionStorage.setItem('civic-desk.console.token', 'dev-operator'))
  })

  t.equal(documentLoads, 1, 'one document load for the whole session: hash routing only')
  t.same(pageErrors, [], 'no script errors')
})
