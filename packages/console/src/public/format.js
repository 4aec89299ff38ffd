// Formatting in Turkish for Europe/Istanbul, and the only way the console builds DOM: elements
// and text nodes, never innerHTML, so no value from the API is ever parsed as markup.

const TIME_ZONE = 'Europe/Istanbul'
const dateTime = new Intl.DateTimeFormat('tr-TR', { timeZone: TIME_ZONE, dateStyle: 'medium', timeStyle: 'short' })
const dateTimeSeconds = new Intl.DateTimeFormat('tr-TR', { timeZone: TIME_ZONE, dateStyle: 'medium', timeStyle: 'medium' })
const timeSeconds = new Intl.DateTimeFormat('tr-TR', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit' })
const hourMinute = new Intl.DateTimeFormat('tr-TR', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' })
const integer = new Intl.NumberFormat('tr-TR', { maximumFractionDigits: 0 })
const decimal = new Intl.NumberFormat('tr-TR', { maximumFractionDigits: 1 })
const percent = new Intl.NumberFormat('tr-TR', { style: 'percent', maximumFractionDigits: 0 })

/** @param {string | number | Date | null | undefined} value */
function toDate(value) {
  if (value === null || value === undefined || value === '') return undefined
  const date = value instanceof Date ? value : new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** "25 Kas 2026 14:05" in Istanbul time, "—" when missing. @param {string | number | Date | null | undefined} value */
export function formatDateTime(value) {
  const date = toDate(value)
  return date === undefined ? '—' : dateTime.format(date)
}

/** With seconds, for the timeline. @param {string | number | Date | null | undefined} value */
export function formatDateTimeSeconds(value) {
  const date = toDate(value)
  return date === undefined ? '—' : dateTimeSeconds.format(date)
}

/** "14:05:09" in Istanbul time. @param {string | number | Date | null | undefined} value */
export function formatTime(value) {
  const date = toDate(value)
  return date === undefined ? '—' : timeSeconds.format(date)
}

/** "14:05" in Istanbul time, for chart axes. @param {string | number | Date | null | undefined} value */
export function formatHourMinute(value) {
  const date = toDate(value)
  return date === undefined ? String(value ?? '') : hourMinute.format(date)
}

/** "1.234" (Turkish grouping). @param {number | null | undefined} value */
export function formatInteger(value) {
  return typeof value === 'number' && Number.isFinite(value) ? integer.format(value) : '—'
}

/** "12,5" (Turkish decimal comma). @param {number | null | undefined} value */
export function formatDecimal(value) {
  return typeof value === 'number' && Number.isFinite(value) ? decimal.format(value) : '—'
}

/** "%45" (Turkish puts the sign first). @param {number | null | undefined} share a fraction, 0.45 */
export function formatPercent(share) {
  return typeof share === 'number' && Number.isFinite(share) ? percent.format(share) : '—'
}

/**
 * A length of time in Turkish, two largest units: "3 gün 4 sa", "2 sa 5 dk", "45 sn".
 * @param {number | null | undefined} ms
 */
export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—'
  const total = Math.round(Math.abs(ms) / 1000)
  const days = Math.floor(total / 86_400)
  const hours = Math.floor((total % 86_400) / 3_600)
  const minutes = Math.floor((total % 3_600) / 60)
  const seconds = total % 60
  /** @type {string[]} */
  const parts = []
  if (days > 0) parts.push(`${days} gün`)
  if (hours > 0) parts.push(`${hours} sa`)
  if (minutes > 0 && days === 0) parts.push(`${minutes} dk`)
  if (parts.length === 0) parts.push(`${seconds} sn`)
  return parts.slice(0, 2).join(' ')
}

/**
 * Time left before a due time: "2 sa 5 dk kaldı", or "1 gün 3 sa gecikti" when overdue.
 * @param {number | null | undefined} msLeft
 * @returns {{ text: string, overdue: boolean }}
 */
export function formatTimeLeft(msLeft) {
  if (typeof msLeft !== 'number' || !Number.isFinite(msLeft)) return { text: '—', overdue: false }
  return msLeft < 0 ? { text: `${formatDuration(msLeft)} gecikti`, overdue: true } : { text: `${formatDuration(msLeft)} kaldı`, overdue: false }
}

/**
 * Creates an element. Attributes are set one by one (`class`, `data-*`, `href`…); `on*` values
 * that are functions become listeners; children are nodes or strings, strings become text nodes.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attributes]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), /** @type {EventListener} */ (value))
    } else {
      element.setAttribute(name, value === true ? '' : String(value))
    }
  }
  append(element, children)
  return element
}

/**
 * Appends children as nodes or text nodes.
 * @param {Node} parent
 * @param {ReadonlyArray<Node | string | number | null | undefined | false>} children
 */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child)
  }
}

/**
 * Minute buckets of the last hour ending at `now`, filled from the API's points (missing minutes
 * count 0), so the line chart always spans an hour even when the city is quiet.
 * @param {ReadonlyArray<{ minute: string, count: number }>} points
 * @param {string | number | Date} now
 * @returns {{ labels: string[], counts: number[] }}
 */
export function lastHourSeries(points, now) {
  const end = toDate(now)
  const parsed = points.map((point) => ({ at: toDate(point.minute), count: point.count }))
  if (end === undefined || parsed.some((point) => point.at === undefined)) {
    return { labels: points.map((point) => formatHourMinute(point.minute)), counts: points.map((point) => point.count) }
  }
  const minute = 60_000
  const last = Math.floor(end.getTime() / minute) * minute
  const counts = new Map()
  for (const point of parsed) {
    const key = Math.floor(/** @type {Date} */ (point.at).getTime() / minute) * minute
    counts.set(key, (counts.get(key) ?? 0) + point.count)
  }
  /** @type {string[]} */
  const labels = []
  /** @type {number[]} */
  const values = []
  for (let at = last - 59 * minute; at <= last; at += minute) {
    labels.push(formatHourMinute(at))
    values.push(counts.get(at) ?? 0)
  }
  return { labels, counts: values }
}
