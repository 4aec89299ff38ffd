// The operator console: hash routes, one page at a time, each page polling its API every 2 s and
// updating its DOM and charts in place (no reloads). Every value from the server goes in as text.
import { ApiError, clearToken, getJson, getToken, pageError, setToken } from './api.js'
import { append, formatDateTime, formatDateTimeSeconds, formatDecimal, formatDuration, formatInteger, formatPercent, formatTime, formatTimeLeft, h, lastHourSeries } from './format.js'
import { ACTOR_KIND, CHANNEL, CONSUMER_KIND, DEAD_LETTER_KIND, EVENT_TYPE, KIND, SLA_FIELD, SLA_LEVEL, STATUS, label } from './labels.js'
import { defaultDirection, filterRows, neighbourhoodRows, sortRows, topRows } from './neighbourhoods.js'
import { countByOpen, statusCodes } from './statuses.js'

const POLL_MS = 2_000
const SLA_KEYS = /** @type {const} */ (['open', 'dueWithin24h', 'breached', 'escalated'])

/** Chart.js, loaded as its UMD browser build by index.html before this module runs. */
const Chart = /** @type {any} */ (globalThis).Chart

const view = /** @type {HTMLElement} */ (document.getElementById('view'))
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'))
const liveBar = /** @type {HTMLElement} */ (document.getElementById('live'))
const lastUpdated = /** @type {HTMLElement} */ (document.getElementById('last-updated'))
const positionText = /** @type {HTMLElement} */ (document.getElementById('position'))
const liveState = /** @type {HTMLElement} */ (document.getElementById('live-state'))

/** Set by a page when the server refused the token, shown on the login page. */
let loginMessage = ''

/** Directorates' names from the last overview (the case API answers with codes only). */
/** @type {Record<string, { nameTr?: string }> | undefined} */
let departmentsCache
/** Category names, from the overview or a directorate's page. */
/** @type {Record<string, { nameTr?: string }> | undefined} */
let categoriesCache

/** @param {string | null | undefined} code */
function categoryName(code) {
  if (!code) return '—'
  return categoriesCache?.[code]?.nameTr ?? code
}

/**
 * @param {PageContext} ctx
 * @returns {Promise<Record<string, { nameTr?: string }>>}
 */
async function loadDepartments(ctx) {
  if (departmentsCache) return departmentsCache
  const overview = await getJson('/v1/dashboards/overview', { signal: ctx.signal })
  const departments = overview.departments ?? {}
  departmentsCache = departments
  categoriesCache = overview.categories ?? categoriesCache
  return departments
}

// ---------------------------------------------------------------------------------------------
// Routing

/** @typedef {{ signal: AbortSignal }} PageContext */

/** @type {AbortController | undefined} */
let current

function route() {
  current?.abort()
  current = new AbortController()
  const ctx = { signal: current.signal }
  const [name = '', ...rest] = location.hash.replace(/^#\/?/, '').split('/')
  const param = rest.length > 0 ? decodeURIComponent(rest.join('/')) : ''
  if (name === 'cikis') {
    clearToken()
    location.hash = '#/giris'
    return
  }
  if (!getToken() && name !== 'giris') {
    sessionStorage.setItem('civic-desk.console.returnTo', location.hash || '#/genel-bakis')
    location.hash = '#/giris'
    return
  }
  document.body.dataset.page = name || 'genel-bakis'
  for (const link of nav.querySelectorAll('a[data-route]')) {
    if (link.getAttribute('data-route') === (name || 'genel-bakis')) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  nav.hidden = name === 'giris'
  liveBar.hidden = name === 'giris' || name === 'basvuru'
  setLive('idle')
  document.title = 'Operatör konsolu — Beyaz Masa'
  view.replaceChildren()
  window.scrollTo(0, 0)
  switch (name) {
    case 'giris':
      return loginPage(ctx)
    case '':
    case 'genel-bakis':
      return overviewPage(ctx)
    case 'mudurluk':
      return departmentPage(ctx, param)
    case 'basvuru':
      return casePage(ctx, param)
    case 'mahalleler':
      return neighbourhoodsPage(ctx)
    case 'akislar':
      return streamsPage(ctx)
    default:
      view.append(h('section', { class: 'panel' }, h('h1', null, 'Sayfa bulunamadı'), h('p', null, h('a', { href: '#/genel-bakis' }, 'Genel bakışa dön'))))
  }
}

window.addEventListener('hashchange', route)

// ---------------------------------------------------------------------------------------------
// Live updates

/**
 * Loads `path` now and every 2 s after the previous answer, until the page is left.
 * @param {PageContext} ctx
 * @param {() => string} path
 * @param {(data: any) => void} render
 * @param {(error: ApiError) => void} [onError] page-specific handling; auth errors always log out
 */
function poll(ctx, path, render, onError) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  const tick = async () => {
    try {
      const data = await getJson(path(), { signal: ctx.signal })
      if (ctx.signal.aborted) return
      render(data)
      setLive('ok', data)
    } catch (error) {
      if (ctx.signal.aborted) return
      if (error instanceof ApiError) {
        if (error.isAuth) return sessionExpired(error)
        setLive('error', undefined, error)
        onError?.(error)
      } else {
        setLive('error', undefined, pageError(error))
      }
    }
    if (!ctx.signal.aborted) timer = setTimeout(tick, POLL_MS)
  }
  ctx.signal.addEventListener('abort', () => clearTimeout(timer))
  void tick()
}

/**
 * @param {'idle' | 'ok' | 'error'} state
 * @param {{ generatedAt?: string, position?: number, head?: number }} [data]
 * @param {ApiError} [error]
 */
function setLive(state, data, error) {
  liveBar.dataset.state = state
  if (state === 'ok' && data) {
    lastUpdated.textContent = formatTime(data.generatedAt ?? new Date())
    lastUpdated.setAttribute('datetime', String(data.generatedAt ?? new Date().toISOString()))
    const position = data.position ?? data.head
    positionText.textContent = typeof position === 'number' ? formatInteger(position) : '—'
    positionText.dataset.value = String(position ?? '')
    liveState.textContent = 'Canlı'
  } else if (state === 'error' && error) {
    liveState.textContent = `Güncellenemedi: ${error.summary}`
  } else if (state === 'idle') {
    lastUpdated.textContent = '—'
    positionText.textContent = '—'
    liveState.textContent = 'Yükleniyor…'
  }
}

/** @param {ApiError} error */
function sessionExpired(error) {
  clearToken()
  loginMessage = authMessage(error)
  sessionStorage.setItem('civic-desk.console.returnTo', location.hash)
  location.hash = '#/giris'
}

/** @param {ApiError} error */
function authMessage(error) {
  return error.status === 401
    ? 'Belirteç geçersiz ya da süresi dolmuş. Lütfen geçerli bir operatör belirteci girin.'
    : 'Bu belirtecin gösterge panellerini görme yetkisi yok. Operatör ya da amir belirteci kullanın.'
}

/**
 * A page-level error box (replaced on the next error, removed on success by the caller): the
 * Turkish summary and hint first (a page may say it in its own words); the server's own (English)
 * title and detail folded away below.
 * @param {ApiError} error
 * @param {{ summary?: string, hint?: string }} [words]
 */
function problemBox(error, words = {}) {
  const technical = error.serverText
  return h(
    'div',
    { class: 'problem', role: 'alert', 'data-testid': 'problem', 'data-status': error.status },
    h('strong', null, words.summary ?? error.summary),
    h('p', null, words.hint ?? error.hint),
    technical
      ? h('details', { class: 'server-says' }, h('summary', null, error.status > 0 ? 'Sunucunun yanıtı (teknik ayrıntı)' : 'Teknik ayrıntı'), h('p', { 'data-testid': 'problem-detail' }, technical))
      : null,
  )
}

// ---------------------------------------------------------------------------------------------
// Giriş

/** @param {PageContext} ctx */
function loginPage(ctx) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'ör. dev-operator' })
  )
  const message = h('div', { class: 'login-message', role: 'alert', 'aria-live': 'polite', 'data-testid': 'login-message' })
  if (loginMessage) {
    message.append(h('p', { class: 'problem' }, loginMessage))
    loginMessage = ''
  }
  const button = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit' }, 'Giriş yap'))
  const form = h(
    'form',
    {
      class: 'panel login',
      onsubmit: async (/** @type {Event} */ event) => {
        event.preventDefault()
        const token = input.value.trim()
        if (!token) return
        button.disabled = true
        message.replaceChildren(h('p', null, 'Belirteç kontrol ediliyor…'))
        try {
          await getJson('/v1/dashboards/overview', { token, signal: ctx.signal })
          setToken(token)
          const returnTo = sessionStorage.getItem('civic-desk.console.returnTo')
          sessionStorage.removeItem('civic-desk.console.returnTo')
          location.hash = returnTo && !returnTo.startsWith('#/giris') ? returnTo : '#/genel-bakis'
        } catch (error) {
          if (ctx.signal.aborted) return
          const problem = pageError(error)
          message.replaceChildren(problem.isAuth ? h('p', { class: 'problem' }, authMessage(problem)) : problemBox(problem))
        } finally {
          button.disabled = false
        }
      },
    },
    h('h1', null, 'Operatör konsolu'),
    h('p', { class: 'muted' }, 'Beyaz Masa başvurularının canlı görünümü. Size verilen erişim belirtecini yapıştırın; belirteç yalnızca bu sekmede saklanır.'),
    h('label', { for: 'token' }, 'Erişim belirteci'),
    input,
    button,
    message,
  )
  view.append(form)
  input.focus()
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/**
 * A row of number cards; returns a setter that updates them in place.
 * @param {HTMLElement} parent
 * @param {ReadonlyArray<{ key: string, label: string, tone?: string }>} items
 * @param {string} testIdPrefix
 */
function cards(parent, items, testIdPrefix) {
  /** @type {Map<string, HTMLElement>} */
  const values = new Map()
  const row = h('div', { class: 'cards' })
  for (const item of items) {
    const value = h('div', { class: 'card-value', 'data-testid': `${testIdPrefix}-${item.key}` }, '—')
    values.set(item.key, value)
    row.append(h('div', { class: `card ${item.tone ?? ''}` }, h('div', { class: 'card-label' }, item.label), value))
  }
  parent.append(row)
  /** @param {Record<string, number | string | null | undefined>} data */
  return (data) => {
    for (const [key, element] of values) {
      const value = data[key]
      element.textContent = typeof value === 'number' ? formatInteger(value) : (value ?? '—')
      element.dataset.value = String(value ?? '')
    }
  }
}

/**
 * A table inside a horizontally scrolling wrapper (wide tables never widen the page).
 * @param {ReadonlyArray<string>} headers
 * @param {string} testId
 * @param {ReadonlySet<number>} [optional] columns hidden on narrow screens (their cells get class `opt`)
 */
function table(headers, testId, optional = new Set()) {
  const body = h('tbody')
  const wrapper = h(
    'div',
    { class: 'table-wrap' },
    h('table', { 'data-testid': testId }, h('thead', null, h('tr', null, ...headers.map((text, index) => h('th', { scope: 'col', class: optional.has(index) ? 'opt' : null }, text)))), body),
  )
  return { wrapper, body }
}

/** @param {Record<string, { nameTr?: string }> | undefined} departments @param {string} code */
function departmentName(departments, code) {
  return departments?.[code]?.nameTr ?? code
}

/** Short form for chart axes: "Fen İşleri" rather than "Fen İşleri Müdürlüğü". @param {string} name */
function shortName(name) {
  return name.replace(/\s+Müdürlüğü$/u, '')
}

/** Entries of a code → count map, largest first. @param {Record<string, number> | undefined} counts */
function sortedCounts(counts) {
  return Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], 'tr'))
}

/**
 * A bar chart whose data is replaced in place on each update.
 * @param {HTMLElement} parent @param {string} title @param {string} id @param {string} color
 */
function barChart(parent, title, id, color) {
  const canvas = h('canvas', { id, role: 'img', 'aria-label': title })
  parent.append(h('section', { class: 'panel' }, h('h2', null, title), h('div', { class: 'chart' }, canvas)))
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'Başvuru', data: [], backgroundColor: color, borderRadius: 3 }] },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      locale: 'tr-TR',
    },
  })
  /** @param {string[]} labels @param {number[]} values */
  return (labels, values) => {
    chart.data.labels = labels
    chart.data.datasets[0].data = values
    chart.update('none')
  }
}

// ---------------------------------------------------------------------------------------------
// Genel bakış

/** @param {PageContext} ctx */
function overviewPage(ctx) {
  const problem = h('div')
  view.append(h('h1', null, 'Genel bakış'), problem)

  const slaSection = h('section', { class: 'panel' }, h('h2', null, 'SLA durumu (tüm müdürlükler)'))
  view.append(slaSection)
  const setSla = cards(slaSection, [
    { key: 'open', label: SLA_FIELD.open ?? 'Açık' },
    { key: 'dueWithin24h', label: SLA_FIELD.dueWithin24h ?? '', tone: 'warn' },
    { key: 'breached', label: SLA_FIELD.breached ?? '', tone: 'bad' },
    { key: 'escalated', label: SLA_FIELD.escalated ?? '', tone: 'bad' },
  ], 'sla')

  const totalsSection = h('section', { class: 'panel' }, h('h2', null, 'Başvurular'))
  view.append(totalsSection)
  const setTotals = cards(totalsSection, [
    { key: 'total', label: 'Toplam başvuru' },
    { key: 'today', label: 'Bugün alınan' },
    { key: 'active', label: 'Süren (alındı … bilgi bekleniyor)' },
    { key: 'done', label: 'Sonuçlanan' },
  ], 'totals')

  const charts = h('div', { class: 'grid-2' })
  view.append(charts)
  const setDepartments = barChart(charts, 'Müdürlüklere göre', 'chart-departments', '#1f6f8b')
  const setChannels = barChart(charts, 'Kanallara göre', 'chart-channels', '#d17a22')

  const lineCanvas = h('canvas', { id: 'chart-per-minute', role: 'img', 'aria-label': 'Son bir saatte dakika başına başvuru' })
  view.append(h('section', { class: 'panel' }, h('h2', null, 'Son bir saatte dakika başına başvuru'), h('div', { class: 'chart' }, lineCanvas)))
  const lineChart = new Chart(lineCanvas, {
    type: 'line',
    data: { labels: [], datasets: [{ label: 'Başvuru / dk', data: [], borderColor: '#1f6f8b', backgroundColor: 'rgba(31,111,139,0.15)', fill: true, tension: 0.25, pointRadius: 0 }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxTicksLimit: 12 } } },
      locale: 'tr-TR',
    },
  })

  const lower = h('div', { class: 'grid-2' })
  view.append(lower)
  const statusList = h('dl', { class: 'status-list', 'data-testid': 'status-totals' })
  lower.append(h('section', { class: 'panel' }, h('h2', null, 'Durumlara göre'), statusList))
  const slaTable = table(['Müdürlük', 'Açık', '24 sa içinde', 'Aşıldı', 'Üst yöneticide'], 'sla-by-department')
  lower.append(h('section', { class: 'panel' }, h('h2', null, 'Müdürlüklere göre SLA'), slaTable.wrapper))

  poll(
    ctx,
    () => '/v1/dashboards/overview',
    (data) => {
      problem.replaceChildren()
      departmentsCache = data.departments ?? departmentsCache
      categoriesCache = data.categories ?? categoriesCache
      const totals = data.totals ?? {}
      const sla = data.sla?.totals ?? {}
      setSla(sla)
      const byStatus = totals.byStatus ?? {}
      const { open: active, answered: done } = countByOpen(data.statuses, byStatus)
      setTotals({
        total: Object.values(byStatus).reduce((acc, n) => acc + (typeof n === 'number' ? n : 0), 0),
        today: data.today?.submitted,
        active,
        done,
      })

      const byDepartment = sortedCounts(totals.byDepartment)
      setDepartments(byDepartment.map(([code]) => shortName(departmentName(data.departments, code))), byDepartment.map(([, n]) => n))
      const byChannel = sortedCounts(totals.byChannel)
      setChannels(byChannel.map(([code]) => label(CHANNEL, code)), byChannel.map(([, n]) => n))

      const series = lastHourSeries(data.submissionsPerMinute ?? [], data.generatedAt ?? new Date())
      lineChart.data.labels = series.labels
      lineChart.data.datasets[0].data = series.counts
      lineChart.update('none')

      statusList.replaceChildren(
        ...statusCodes(data.statuses, totals.byStatus).flatMap((code) => [
          h('dt', null, label(STATUS, code)),
          h('dd', { 'data-testid': `status-${code}`, 'data-value': totals.byStatus?.[code] ?? 0 }, formatInteger(totals.byStatus?.[code] ?? 0)),
        ]),
      )

      const slaRows = Object.entries(data.sla?.byDepartment ?? {}).sort((a, b) => departmentName(data.departments, a[0]).localeCompare(departmentName(data.departments, b[0]), 'tr'))
      slaTable.body.replaceChildren(
        ...slaRows.map(([code, row]) =>
          h(
            'tr',
            { 'data-department': code },
            h('th', { scope: 'row' }, h('a', { href: `#/mudurluk/${encodeURIComponent(code)}` }, departmentName(data.departments, code))),
            ...SLA_KEYS.map((key) => h('td', { class: `num ${(key === 'breached' || key === 'escalated') && row[key] > 0 ? 'bad-text' : ''}` }, formatInteger(row[key]))),
          ),
        ),
      )
      if (slaRows.length === 0) slaTable.body.append(h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'Henüz açık başvuru yok.')))
    },
    (error) => problem.replaceChildren(problemBox(error)),
  )
}

// ---------------------------------------------------------------------------------------------
// Müdürlük

/** @param {PageContext} ctx @param {string} code */
function departmentPage(ctx, code) {
  const select = /** @type {HTMLSelectElement} */ (
    h('select', { id: 'department-select', onchange: () => (location.hash = `#/mudurluk/${encodeURIComponent(select.value)}`) }, h('option', { value: '' }, 'Müdürlük seçin…'))
  )
  const heading = h('h1', null, 'Müdürlük')
  view.append(heading, h('div', { class: 'toolbar' }, h('label', { for: 'department-select' }, 'Müdürlük: '), select))

  // The list of directorates comes with the overview; one load is enough for the selector.
  loadDepartments(ctx)
    .then((departments) => {
      const entries = Object.entries(departments).sort((a, b) => String(a[1]?.nameTr ?? a[0]).localeCompare(String(b[1]?.nameTr ?? b[0]), 'tr'))
      for (const [value, names] of entries) select.append(h('option', { value, selected: value === code }, names?.nameTr ?? value))
      if (!code && entries.length > 0) location.hash = `#/mudurluk/${encodeURIComponent(entries[0]?.[0] ?? '')}`
    })
    .catch((error) => {
      if (ctx.signal.aborted) return
      if (error instanceof ApiError && error.isAuth) sessionExpired(error)
    })
  if (!code) {
    liveBar.hidden = true
    return
  }

  const problem = h('div')
  view.append(problem)
  const slaSection = h('section', { class: 'panel' }, h('h2', null, 'SLA durumu'))
  const setSla = cards(slaSection, SLA_KEYS.map((key) => ({ key, label: SLA_FIELD[key] ?? key, ...(key === 'breached' || key === 'escalated' ? { tone: 'bad' } : key === 'dueWithin24h' ? { tone: 'warn' } : {}) })), 'dept-sla')
  const timesSection = h('section', { class: 'panel' }, h('h2', null, 'Yanıt süreleri'))
  const setTimes = cards(timesSection, [
    { key: 'firstMedian', label: 'İlk yanıt — medyan' },
    { key: 'firstP90', label: 'İlk yanıt — %90' },
    { key: 'resolutionMedian', label: 'Çözüm — medyan' },
    { key: 'resolutionP90', label: 'Çözüm — %90' },
  ], 'dept-times')
  const timesNote = h('p', { class: 'muted' })
  timesSection.append(timesNote)
  const statusList = h('dl', { class: 'status-list', 'data-testid': 'dept-status' })
  const statusSection = h('section', { class: 'panel' }, h('h2', null, 'Durumlara göre'), statusList)
  const queue = table(['Takip kodu', 'Durum', 'Kategori', 'Tür', 'Kanal', 'Mahalle', 'Başvuru', 'Son tarih', 'Kalan süre', 'SLA'], 'queue', new Set([3, 4, 6]))
  const queueCount = h('span', { class: 'muted' })
  view.append(h('div', { class: 'grid-2' }, slaSection, timesSection), statusSection, h('section', { class: 'panel' }, h('h2', null, 'İş kuyruğu (son tarihe göre) ', queueCount), queue.wrapper))

  poll(
    ctx,
    () => `/v1/dashboards/departments/${encodeURIComponent(code)}`,
    (data) => {
      problem.replaceChildren()
      heading.textContent = data.department?.nameTr ?? code
      categoriesCache = data.categories ?? categoriesCache
      document.title = `${heading.textContent} — Operatör konsolu`
      setSla(data.sla ?? {})
      const rt = data.responseTimes ?? {}
      setTimes({
        firstMedian: formatDuration(rt.firstResponse?.medianMs),
        firstP90: formatDuration(rt.firstResponse?.p90Ms),
        resolutionMedian: formatDuration(rt.resolution?.medianMs),
        resolutionP90: formatDuration(rt.resolution?.p90Ms),
      })
      timesNote.textContent = `İlk yanıt: ${formatInteger(rt.firstResponse?.count ?? 0)} başvuru · Çözüm: ${formatInteger(rt.resolution?.count ?? 0)} başvuru`
      const byStatus = data.counts?.byStatus ?? {}
      statusList.replaceChildren(...statusCodes(data.statuses, byStatus).flatMap((status) => [h('dt', null, label(STATUS, status)), h('dd', { 'data-testid': `dept-status-${status}` }, formatInteger(byStatus[status] ?? 0))]))

      const rows = [...(data.queue ?? [])].sort((a, b) => (Date.parse(a.dueAt) || Infinity) - (Date.parse(b.dueAt) || Infinity))
      queueCount.textContent = `(${formatInteger(rows.length)})`
      queue.body.replaceChildren(
        ...rows.map((row) => {
          const left = formatTimeLeft(row.msLeft)
          return h(
            'tr',
            { class: left.overdue ? 'overdue' : '', 'data-case-id': row.caseId },
            h('td', null, h('a', { href: `#/basvuru/${encodeURIComponent(row.trackingCode ?? row.caseId)}`, class: 'code' }, row.trackingCode ?? row.caseId)),
            h('td', null, label(STATUS, row.status)),
            h('td', null, categoryName(row.category)),
            h('td', { class: 'opt' }, label(KIND, row.kind)),
            h('td', { class: 'opt' }, label(CHANNEL, row.channel)),
            h('td', null, row.neighbourhood ?? '—'),
            h('td', { class: 'nowrap opt' }, formatDateTime(row.submittedAt)),
            h('td', { class: 'nowrap' }, formatDateTime(row.dueAt)),
            h('td', { class: `nowrap ${left.overdue ? 'bad-text' : ''}`, 'data-ms-left': row.msLeft }, left.text),
            h('td', null, h('span', { class: `badge sla-${row.slaLevel ?? 'none'}` }, row.slaLevel && row.slaLevel !== 'none' ? label(SLA_LEVEL, row.slaLevel) : '—'), row.escalated ? h('span', { class: 'badge sla-breached' }, 'Üst yöneticide') : null),
          )
        }),
      )
      if (rows.length === 0) queue.body.append(h('tr', null, h('td', { colspan: 10, class: 'muted' }, 'Kuyrukta açık başvuru yok.')))
    },
    (error) =>
      problem.replaceChildren(
        error.status === 404 || error.status === 400 ? problemBox(error, { summary: 'Müdürlük bulunamadı', hint: `“${code}” adında bir müdürlük yok. Listeden bir müdürlük seçin.` }) : problemBox(error),
      ),
  )
}

// ---------------------------------------------------------------------------------------------
// Başvuru

/** @param {PageContext} ctx @param {string} ref */
function casePage(ctx, ref) {
  const input = /** @type {HTMLInputElement} */ (h('input', { id: 'case-ref', name: 'ref', type: 'search', value: ref, placeholder: 'ör. K7MA-4PXR-9TK', autocomplete: 'off', spellcheck: 'false', required: true }))
  view.append(
    h('h1', null, 'Başvuru'),
    h(
      'form',
      {
        class: 'toolbar',
        role: 'search',
        onsubmit: (/** @type {Event} */ event) => {
          event.preventDefault()
          const value = input.value.trim()
          if (value) location.hash = `#/basvuru/${encodeURIComponent(value)}`
        },
      },
      h('label', { for: 'case-ref' }, 'Takip kodu veya başvuru numarası: '),
      input,
      h('button', { type: 'submit' }, 'Göster'),
    ),
  )
  const result = h('div', { 'data-testid': 'case-result' })
  view.append(result)
  if (!ref) return
  result.append(h('p', { class: 'muted' }, 'Yükleniyor…'))
  liveBar.hidden = false

  let shown = ''
  /** The time control, made once the case is known (it keeps its position while the page polls). */
  let travel = /** @type {HTMLElement | undefined} */ (undefined)
  loadDepartments(ctx).catch(() => undefined)
  poll(
    ctx,
    () => `/v1/dashboards/cases/${encodeURIComponent(ref)}`,
    (data) => {
      const item = data.case ?? {}
      if (travel === undefined && typeof item.caseId === 'string') {
        travel = timeControl(ctx, item.caseId, new Date().toISOString())
        view.append(travel)
      }
      // Rebuild only when something changed, so reading and selecting text is not disturbed.
      const key = JSON.stringify([data.position, item.status, item.timeline?.length, departmentsCache !== undefined])
      if (key === shown) return
      shown = key
      result.replaceChildren(renderCase(item))
    },
    (error) => {
      shown = ''
      result.replaceChildren(
        error.status === 404
          ? problemBox(error, { summary: 'Başvuru bulunamadı', hint: `“${ref}” ile eşleşen bir başvuru yok. Takip kodunu kontrol edin.` })
          : problemBox(error),
      )
    },
  )
}

/** @param {any} item */
function renderCase(item) {
  const facts = h('dl', { class: 'facts', 'data-testid': 'case-facts' })
  /** @param {string} term @param {string} value @param {string} [testId] */
  const fact = (term, value, testId) => append(facts, [h('dt', null, term), h('dd', testId ? { 'data-testid': testId } : null, value)])
  fact('Takip kodu', item.trackingCode ?? '—', 'case-tracking-code')
  fact('Başvuru numarası', item.caseId ?? '—')
  fact('Durum', label(STATUS, item.status), 'case-status')
  fact('Tür', label(KIND, item.kind))
  fact('Kanal', label(CHANNEL, item.channel))
  fact('Müdürlük', item.department ? departmentName(departmentsCache, item.department) : '—')
  fact('Kategori', categoryName(item.category))
  fact('Mahalle', item.neighbourhood ?? '—')
  fact('Başvuru zamanı', formatDateTime(item.submittedAt))
  fact('Son tarih', formatDateTime(item.dueAt))
  fact('Çözüm zamanı', formatDateTime(item.resolvedAt))
  fact('Üst yöneticiye iletildi', item.escalated ? 'Evet' : 'Hayır')
  if (item.duplicateOf) append(facts, [h('dt', null, 'Mükerrer olduğu başvuru'), h('dd', null, h('a', { href: `#/basvuru/${encodeURIComponent(item.duplicateOf)}` }, item.duplicateOf))])

  const timeline = h('ol', { class: 'timeline', 'data-testid': 'timeline' })
  for (const entry of item.timeline ?? []) {
    timeline.append(
      h(
        'li',
        { 'data-type': entry.type },
        h('time', { datetime: entry.at }, formatDateTimeSeconds(entry.at)),
        h('span', { class: 'event' }, label(EVENT_TYPE, entry.type)),
        h('span', { class: 'actor muted' }, describeActor(entry.actor)),
      ),
    )
  }
  return h('div', { class: 'grid-case' }, h('section', { class: 'panel' }, h('h2', null, 'Bilgiler'), facts), h('section', { class: 'panel' }, h('h2', null, 'Zaman çizelgesi'), timeline))
}

/**
 * "Geçmişteki durumu": steps through the states a case passed through, one recorded change at a
 * time, asking the case API for the case as of that instant (`?asOf=`: supervisors and auditors).
 * The list of changes comes from the case as of `now` (the browser's clock; when it runs
 * ahead of the server's, the server's 400 says its time and the list is asked for again at that).
 * @param {PageContext} ctx @param {string} caseId @param {string} now the browser's clock
 */
function timeControl(ctx, caseId, now) {
  const section = h('section', { class: 'panel', 'data-testid': 'as-of' }, h('h2', null, 'Geçmişteki durumu'))
  const body = h('div', null, h('p', { class: 'muted' }, 'Yükleniyor…'))
  section.append(body)
  const path = (/** @type {string} */ at) => `/v1/cases/${encodeURIComponent(caseId)}?asOf=${encodeURIComponent(at)}`
  /** @param {unknown} error */
  const failed = (error) => {
    if (ctx.signal.aborted) return
    const problem = error instanceof ApiError ? error : pageError(error)
    body.replaceChildren(
      problem.status === 403 || problem.status === 401
        ? h('p', { class: 'muted', 'data-testid': 'as-of-forbidden' }, 'Başvurunun geçmişteki durumlarını yalnızca yöneticiler ve denetçiler görebilir.')
        : problemBox(problem),
    )
  }
  // A browser clock ahead of the server's asks for the future (400): ask again at the server's time.
  const first = getJson(path(now), { signal: ctx.signal }).catch((/** @type {unknown} */ error) => {
    const serverTime = error instanceof ApiError && error.status === 400 ? error.problem?.serverTime : undefined
    if (typeof serverTime !== 'string') throw error
    return getJson(path(serverTime), { signal: ctx.signal })
  })
  first.then((latest) => {
    if (ctx.signal.aborted) return
    /** @type {Array<{ revision: number, recordedAt: string, type: string }>} */
    const changes = Array.isArray(latest.changes) ? latest.changes : []
    if (changes.length === 0) return body.replaceChildren(h('p', { class: 'muted' }, 'Kayıtlı değişiklik yok.'))
    const range = /** @type {HTMLInputElement} */ (h('input', { id: 'as-of-range', type: 'range', min: '0', max: String(changes.length - 1), step: '1', value: String(changes.length - 1), 'data-testid': 'as-of-range', 'aria-label': 'Değişiklik' }))
    const previous = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', 'data-testid': 'as-of-previous' }, '◀ Önceki'))
    const next = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', 'data-testid': 'as-of-next' }, 'Sonraki ▶'))
    const caption = h('p', { 'data-testid': 'as-of-caption' })
    const facts = h('dl', { class: 'facts', 'data-testid': 'as-of-facts' })
    let asked = 0
    const show = (/** @type {number} */ index) => {
      const change = changes[index]
      if (change === undefined) return
      range.value = String(index)
      previous.disabled = index === 0
      next.disabled = index === changes.length - 1
      caption.textContent = `${index + 1} / ${changes.length}: ${formatDateTimeSeconds(change.recordedAt)} — ${label(EVENT_TYPE, change.type)}`
      const mine = ++asked
      section.dataset.state = 'loading'
      getJson(path(change.recordedAt), { signal: ctx.signal }).then((then) => {
        if (ctx.signal.aborted || mine !== asked) return
        facts.replaceChildren()
        /** @param {string} term @param {string} value @param {string} testId */
        const fact = (term, value, testId) => append(facts, [h('dt', null, term), h('dd', { 'data-testid': testId }, value)])
        const sla = then.sla
        const left = sla ? formatTimeLeft(sla.msLeft) : undefined
        fact('An', formatDateTimeSeconds(then.asOf), 'as-of-at')
        fact('Durum', label(STATUS, then.status), 'as-of-status')
        fact('Müdürlük', then.department ? then.department.nameTr ?? then.department.code : '—', 'as-of-department')
        fact('Sorumlu personel', then.assignee ?? '—', 'as-of-assignee')
        fact('Son tarih', sla ? formatDateTime(sla.dueAt) : '—', 'as-of-due')
        fact('Kalan süre', left ? left.text : '—', 'as-of-left')
        fact('SLA saati', sla ? (sla.paused ? 'Durduruldu (vatandaş bekleniyor)' : 'İşliyor') : '—', 'as-of-clock')
        fact('SLA durumu', sla ? label(SLA_LEVEL, sla.level) : '—', 'as-of-level')
        fact('Notlar', formatInteger(then.notesPage?.total ?? 0), 'as-of-notes')
        fact('Sürüm', String(then.revision), 'as-of-revision')
        section.dataset.revision = String(change.revision)
        section.dataset.state = 'shown'
      }, failed)
    }
    range.addEventListener('input', () => show(Number(range.value)))
    previous.addEventListener('click', () => show(Number(range.value) - 1))
    next.addEventListener('click', () => show(Number(range.value) + 1))
    body.replaceChildren(h('div', { class: 'toolbar' }, previous, range, next), caption, facts)
    show(changes.length - 1)
  }, failed)
  return section
}

/** @param {unknown} actor */
function describeActor(actor) {
  if (actor && typeof actor === 'object') {
    const { kind, id } = /** @type {{ kind?: string, id?: string }} */ (actor)
    return [kind ? label(ACTOR_KIND, kind) : '', id ?? ''].filter(Boolean).join(': ')
  }
  return typeof actor === 'string' ? actor : ''
}

// ---------------------------------------------------------------------------------------------
// Mahalleler

/** How many neighbourhoods the chart shows; the table lists them all. */
const TOP_NEIGHBOURHOODS = 10

/** @type {ReadonlyArray<{ key: import('./neighbourhoods.js').SortKey, label: string }>} */
const NEIGHBOURHOOD_COLUMNS = [
  { key: 'name', label: 'Mahalle' },
  { key: 'total', label: 'Toplam' },
  { key: 'open', label: 'Açık' },
  { key: 'done', label: 'Sonuçlanan' },
  { key: 'openShare', label: 'Açık oranı' },
]

/** @param {PageContext} ctx */
function neighbourhoodsPage(ctx) {
  document.title = 'Mahalleler — Operatör konsolu'
  const problem = h('div')
  view.append(h('h1', null, 'Mahalleler'), problem)

  const summary = h('section', { class: 'panel' }, h('h2', null, 'Özet'))
  view.append(summary)
  const setSummary = cards(summary, [
    { key: 'neighbourhoods', label: 'Mahalle sayısı' },
    { key: 'total', label: 'Toplam başvuru' },
    { key: 'open', label: 'Açık başvuru', tone: 'warn' },
    { key: 'withoutNeighbourhood', label: 'Mahallesi belirtilmemiş' },
  ], 'nb')

  const canvas = h('canvas', { id: 'chart-neighbourhoods', role: 'img', 'aria-label': `En çok başvuru gelen ${TOP_NEIGHBOURHOODS} mahalle: açık ve sonuçlanan başvurular` })
  view.append(h('section', { class: 'panel' }, h('h2', null, `En çok başvuru gelen ${TOP_NEIGHBOURHOODS} mahalle`), h('div', { class: 'chart' }, canvas)))
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: 'Açık', data: [], backgroundColor: '#d17a22', borderRadius: 3 },
        { label: 'Sonuçlanan', data: [], backgroundColor: '#1f6f8b', borderRadius: 3 },
      ],
    },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: true, position: 'bottom' } },
      scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, ticks: { autoSkip: false } } },
      locale: 'tr-TR',
    },
  })

  /** @type {{ key: import('./neighbourhoods.js').SortKey, direction: import('./neighbourhoods.js').SortDirection }} */
  const sort = { key: 'total', direction: 'descending' }
  /** @type {Map<string, HTMLElement>} */
  const headers = new Map()
  const headRow = h('tr')
  for (const column of NEIGHBOURHOOD_COLUMNS) {
    const mark = h('span', { class: 'sort-mark', 'aria-hidden': 'true' })
    const th = h(
      'th',
      { scope: 'col', class: column.key === 'name' ? null : 'num' },
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          'data-sort': column.key,
          onclick: () => {
            sort.direction = sort.key === column.key ? (sort.direction === 'ascending' ? 'descending' : 'ascending') : defaultDirection(column.key)
            sort.key = column.key
            renderRows()
          },
        },
        column.label,
        mark,
      ),
    )
    headers.set(column.key, th)
    headRow.append(th)
  }
  headRow.append(h('th', { scope: 'col' }, 'En sık kategori'))
  const body = h('tbody')
  const tableElement = h('table', { 'data-testid': 'neighbourhoods', class: 'neighbourhoods' }, h('caption', { class: 'visually-hidden' }, 'Mahallelere göre başvurular; sütun başlıklarına tıklayarak sıralayın'), h('thead', null, headRow), body)
  const filter = /** @type {HTMLInputElement} */ (h('input', { id: 'neighbourhood-filter', type: 'search', autocomplete: 'off', spellcheck: 'false', placeholder: 'ör. Kazımdirik', oninput: () => renderRows() }))
  const shownCount = h('span', { class: 'muted', 'data-testid': 'neighbourhood-count' })
  view.append(
    h(
      'section',
      { class: 'panel' },
      h('h2', null, 'Mahallelere göre başvurular ', shownCount),
      h('div', { class: 'toolbar' }, h('label', { for: 'neighbourhood-filter' }, 'Mahalle ara: '), filter),
      h('div', { class: 'table-wrap' }, tableElement),
      h('p', { class: 'muted' }, 'Aynı mahallenin farklı yazımları (büyük/küçük harf, “Mahallesi”, “Mah.”) tek satırda toplanır. Sonuçlanan: çözülen, reddedilen ya da kapatılan başvurular.'),
    ),
  )

  /** @type {import('./neighbourhoods.js').NeighbourhoodRow[]} */
  let rows = []
  let shown = ''
  function renderRows() {
    for (const [key, th] of headers) {
      const active = key === sort.key
      th.setAttribute('aria-sort', active ? sort.direction : 'none')
      const mark = th.querySelector('.sort-mark')
      if (mark) mark.textContent = active ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ''
    }
    const visible = sortRows(filterRows(rows, filter.value), sort.key, sort.direction)
    // Rebuild only when something changed, so reading and selecting text is not disturbed.
    const key = JSON.stringify([visible, categoriesCache !== undefined])
    if (key === shown) return
    shown = key
    shownCount.textContent = visible.length === rows.length ? `(${formatInteger(rows.length)})` : `(${formatInteger(visible.length)} / ${formatInteger(rows.length)})`
    body.replaceChildren(
      ...visible.map((row) =>
        h(
          'tr',
          { 'data-neighbourhood': row.name },
          h('th', { scope: 'row', class: 'place' }, row.name, row.spellings.length > 1 ? h('span', { class: 'spellings muted' }, `Yazımlar: ${row.spellings.join(', ')}`) : null),
          h('td', { class: 'num', 'data-col': 'total', 'data-value': row.total }, formatInteger(row.total)),
          h('td', { class: `num ${row.open > 0 ? 'warn-text' : ''}`, 'data-col': 'open', 'data-value': row.open }, formatInteger(row.open)),
          h('td', { class: 'num', 'data-col': 'done', 'data-value': row.done }, formatInteger(row.done)),
          h('td', { class: 'num', 'data-col': 'openShare', 'data-value': row.openShare }, formatPercent(row.openShare)),
          h('td', { 'data-col': 'topCategory' }, row.topCategory ? `${categoryName(row.topCategory)} (${formatInteger(row.topCategoryCount)})` : '—'),
        ),
      ),
    )
    if (visible.length === 0) {
      body.append(h('tr', null, h('td', { colspan: 6, class: 'muted' }, rows.length === 0 ? 'Henüz mahallesi belirtilmiş başvuru yok.' : `“${filter.value.trim()}” ile eşleşen mahalle yok.`)))
    }
  }

  poll(
    ctx,
    () => '/v1/dashboards/neighbourhoods',
    (data) => {
      problem.replaceChildren()
      categoriesCache = data.categories ?? categoriesCache
      rows = neighbourhoodRows(data.neighbourhoods)
      setSummary({
        neighbourhoods: rows.length,
        total: data.totals?.total,
        open: data.totals?.open,
        withoutNeighbourhood: data.withoutNeighbourhood?.total,
      })
      const top = topRows(rows, TOP_NEIGHBOURHOODS)
      chart.data.labels = top.map((row) => row.name)
      chart.data.datasets[0].data = top.map((row) => row.open)
      chart.data.datasets[1].data = top.map((row) => row.done)
      chart.update('none')
      renderRows()
    },
    (error) => problem.replaceChildren(problemBox(error)),
  )
}

// ---------------------------------------------------------------------------------------------
// Akışlar

/** @param {PageContext} ctx */
function streamsPage(ctx) {
  const problem = h('div')
  view.append(h('h1', null, 'Akışlar'), problem)
  const summary = h('section', { class: 'panel' }, h('h2', null, 'Olay deposu'))
  const setSummary = cards(summary, [
    { key: 'head', label: 'Deponun başı (son konum)' },
    { key: 'eventsPerSecond', label: 'Olay / saniye' },
    { key: 'deadLetters', label: 'Ölü mektuplar', tone: 'bad' },
    { key: 'maxLag', label: 'En büyük gecikme' },
  ], 'streams')
  const consumers = table(['Tüketici', 'Tür', 'Konu', 'Konum', 'Gecikme (olay)'], 'consumers')
  const deadLetters = table(['Zaman', 'Konu', 'Grup', 'Tür', 'Mesaj'], 'dead-letters')
  view.append(summary, h('section', { class: 'panel' }, h('h2', null, 'Tüketiciler'), consumers.wrapper), h('section', { class: 'panel' }, h('h2', null, 'Son ölü mektuplar'), deadLetters.wrapper))

  poll(
    ctx,
    () => '/v1/ops/streams',
    (data) => {
      problem.replaceChildren()
      /** @type {Array<{ name: string, kind?: string, topic?: string, position?: number, lag: number | null, problem?: string }>} */
      const list = data.consumers ?? []
      const maxLag = list.reduce((max, consumer) => Math.max(max, typeof consumer.lag === 'number' ? consumer.lag : 0), 0)
      setSummary({ head: data.head, eventsPerSecond: formatDecimal(data.eventsPerSecond), deadLetters: data.deadLetters?.count ?? 0, maxLag })
      consumers.body.replaceChildren(
        ...list.map((consumer) =>
          h(
            'tr',
            { 'data-consumer': consumer.name },
            h('th', { scope: 'row' }, consumer.name),
            h('td', null, label(CONSUMER_KIND, consumer.kind)),
            h('td', null, consumer.topic ?? '—'),
            h('td', { class: 'num' }, formatInteger(consumer.position)),
            // null: not known now (the relay does not answer); `problem` says why, on hover.
            consumer.lag === null
              ? h('td', { class: 'num warn-text', title: consumer.problem }, 'bilinmiyor')
              : h('td', { class: `num ${consumer.lag > 0 ? 'warn-text' : ''}`, title: consumer.problem }, formatInteger(consumer.lag)),
          ),
        ),
      )
      if (list.length === 0) consumers.body.append(h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'Tüketici yok.')))
      /** @type {Array<{ at: string, topic?: string, groupId?: string, kind?: string, message?: string }>} */
      const latest = data.deadLetters?.latest ?? []
      deadLetters.body.replaceChildren(
        ...latest.map((entry) => h('tr', null, h('td', { class: 'nowrap' }, formatDateTimeSeconds(entry.at)), h('td', null, entry.topic ?? '—'), h('td', null, entry.groupId ?? '—'), h('td', null, label(DEAD_LETTER_KIND, entry.kind)), h('td', { class: 'message' }, entry.message ?? ''))),
      )
      if (latest.length === 0) deadLetters.body.append(h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'Ölü mektup yok.')))
    },
    (error) => problem.replaceChildren(problemBox(error)),
  )
}

if (typeof Chart !== 'function') {
  view.replaceChildren(h('div', { class: 'problem', role: 'alert' }, h('strong', null, 'Grafik kitaplığı yüklenemedi'), h('p', null, 'Sayfayı yenileyin; sorun sürerse sistem yöneticisine bildirin.')))
} else {
  route()
}
