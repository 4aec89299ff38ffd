// The dashboards' JSON views, computed from the active read-model version at query time: what
// depends on "now" (time left, due within 24 h, breached, the last hour, the last 30 days) is
// derived here from stored instants, never stored.
import { stringify } from 'csv-stringify/sync'
import { DateTime } from 'luxon'
import { normalizeNeighbourhood } from '@civic-desk/case-domain'
import { CaseStatus, isOpenStatus, type Catalogue } from '@civic-desk/contracts'
import { ALL_SCOPE, ZONE, dayScope, istanbulDay, percentiles, type CaseDoc, type VersionReader } from '@civic-desk/read-models'

const DAY_MS = 24 * 3600_000
const WINDOW_MS = 30 * DAY_MS

type Counts = Record<string, number>

/** The counters whose field starts with `prefix`, keyed by the rest. */
function pick(counters: Counts, prefix: string): Counts {
  const out: Counts = {}
  for (const [field, n] of Object.entries(counters)) if (field.startsWith(prefix) && !field.slice(prefix.length).includes('|')) out[field.slice(prefix.length)] = n
  return out
}

export interface SlaHealth {
  readonly open: number
  readonly dueWithin24h: number
  readonly breached: number
  readonly escalated: number
}

async function slaOf(reader: VersionReader, all: Counts, department: string, nowMs: number): Promise<SlaHealth> {
  const [dueWithin24h, breached] = await Promise.all([reader.queueCount(department, nowMs, nowMs + DAY_MS), reader.queueCount(department, Number.NEGATIVE_INFINITY, nowMs)])
  return { open: all[`dept:${department}|open`] ?? 0, dueWithin24h, breached, escalated: all[`dept:${department}|escalated`] ?? 0 }
}

function departmentNames(catalogue: Catalogue): Record<string, { nameTr: string; nameEn: string }> {
  return Object.fromEntries(catalogue.departments.map((d) => [d.code, { nameTr: d.nameTr, nameEn: d.nameEn }]))
}

/** Category names for screens that show codes (the read models keep codes only). */
function categoryNames(catalogue: Catalogue): Record<string, { nameTr: string; nameEn: string; department: string }> {
  return Object.fromEntries(catalogue.categories.map((c) => [c.code, { nameTr: c.nameTr, nameEn: c.nameEn, department: c.department }]))
}

/**
 * Every status in lifecycle order and whether the municipality still owes an answer in it: the
 * console lists and sums the counts by these instead of keeping its own copy of the rules.
 */
export const STATUSES: ReadonlyArray<{ readonly code: CaseStatus; readonly open: boolean }> = CaseStatus.options.map((code) => ({ code, open: isOpenStatus(code) }))

/** `GET /v1/dashboards/overview`. */
export async function overview(reader: VersionReader, catalogue: Catalogue, now: Date) {
  const nowMs = now.getTime()
  const today = istanbulDay(nowMs)
  const firstMinute = Math.floor(nowMs / 60_000) * 60_000 - 59 * 60_000
  const [all, day, minutes] = await Promise.all([reader.counters(ALL_SCOPE), reader.counters(dayScope(today)), reader.minutes(firstMinute, 60)])
  const byDepartment: Record<string, SlaHealth> = {}
  const slas = await Promise.all(catalogue.departments.map((d) => slaOf(reader, all, d.code, nowMs)))
  catalogue.departments.forEach((d, i) => (byDepartment[d.code] = slas[i]!))
  const totals = { open: 0, dueWithin24h: 0, breached: 0, escalated: 0 }
  for (const s of slas) {
    totals.open += s.open
    totals.dueWithin24h += s.dueWithin24h
    totals.breached += s.breached
    totals.escalated += s.escalated
  }
  return {
    position: reader.position,
    generatedAt: now.toISOString(),
    totals: {
      total: all.total ?? 0,
      open: all.open ?? 0,
      byStatus: pick(all, 'status:'),
      byChannel: pick(all, 'channel:'),
      byKind: pick(all, 'kind:'),
      byDepartment: pick(all, 'department:'),
      byCategory: pick(all, 'category:'),
      byNeighbourhood: pick(all, 'neighbourhood:'),
    },
    today: {
      date: today,
      submitted: day.submitted ?? 0,
      byChannel: pick(day, 'channel:'),
      byDepartment: pick(day, 'department:'),
      byKind: pick(day, 'kind:'),
      byCategory: pick(day, 'category:'),
      byStatus: pick(day, 'status:'),
    },
    sla: { totals, byDepartment },
    statuses: STATUSES,
    submissionsPerMinute: minutes.map((count, i) => ({ minute: new Date(firstMinute + i * 60_000).toISOString(), count })),
    departments: departmentNames(catalogue),
    categories: categoryNames(catalogue),
  }
}

/** Time left, and the level the department-workflow queue uses ('paused' while the clock waits on the citizen). */
function slaOfCase(doc: CaseDoc, nowMs: number): { msLeft: number | null; slaLevel: 'on-track' | 'warning' | 'breached' | 'paused' | 'none' } {
  if (doc.nominalDueMs === null) return { msLeft: null, slaLevel: 'none' }
  if (doc.dueAt === null) return { msLeft: null, slaLevel: 'paused' }
  const due = Date.parse(doc.dueAt)
  const msLeft = due - nowMs
  if (msLeft < 0) return { msLeft, slaLevel: 'breached' }
  const start = doc.clockStartMs ?? nowMs
  const budget = doc.nominalDueMs - start
  const used = nowMs - start - doc.pauseShiftMs
  return { msLeft, slaLevel: budget > 0 && used >= budget * 0.75 ? 'warning' : 'on-track' }
}

/** The stored case as the dashboards show it. */
export function caseView(doc: CaseDoc) {
  return {
    caseId: doc.caseId,
    trackingCode: doc.trackingCode,
    status: doc.status,
    kind: doc.kind,
    channel: doc.channel,
    department: doc.department,
    category: doc.category,
    neighbourhood: doc.neighbourhood,
    submittedAt: doc.submittedAt,
    receivedAt: doc.receivedAt,
    dueAt: doc.dueAt,
    firstResponseAt: doc.firstResponseAt,
    resolvedAt: doc.resolvedAt,
    escalated: doc.escalated,
    breached: doc.breached,
    duplicateOf: doc.duplicateOf,
    timeline: doc.timeline.map((t) => ({ at: t.at, type: t.type, actor: t.actor })),
  }
}

async function responseTimes(reader: VersionReader, department: string, category: string | null, sinceMs: number) {
  const [first, resolution] = await Promise.all([reader.samples('first', department, category, sinceMs), reader.samples('resolution', department, category, sinceMs)])
  return { firstResponse: percentiles(first), resolution: percentiles(resolution) }
}

/** `GET /v1/dashboards/departments/:code`. */
export async function departmentView(reader: VersionReader, catalogue: Catalogue, code: string, now: Date, queueLimit: number) {
  const department = catalogue.departments.find((d) => d.code === code)
  if (department === undefined) return null
  const nowMs = now.getTime()
  const all = await reader.counters(ALL_SCOPE)
  const [sla, queued, overall] = await Promise.all([slaOf(reader, all, code, nowMs), reader.queue(code, queueLimit), responseTimes(reader, code, null, nowMs - WINDOW_MS)])
  const docs = new Map((await reader.getCases(queued.map((q) => q.caseId))).map((d) => [d.caseId, d]))
  const queue = queued.flatMap(({ caseId }) => {
    const doc = docs.get(caseId)
    if (doc === undefined) return []
    return [
      {
        caseId,
        trackingCode: doc.trackingCode,
        status: doc.status,
        category: doc.category,
        kind: doc.kind,
        channel: doc.channel,
        neighbourhood: doc.neighbourhood,
        submittedAt: doc.submittedAt,
        dueAt: doc.dueAt,
        ...slaOfCase(doc, nowMs),
        escalated: doc.escalated,
      },
    ]
  })
  const byCategory = pick(all, `dept:${code}|category:`)
  const categories = [...new Set([...catalogue.categories.filter((c) => c.department === code).map((c) => c.code), ...Object.keys(byCategory)])]
  const perCategory = await Promise.all(categories.map((c) => responseTimes(reader, code, c, nowMs - WINDOW_MS)))
  return {
    position: reader.position,
    generatedAt: now.toISOString(),
    department: { code, nameTr: department.nameTr, nameEn: department.nameEn },
    categories: categoryNames(catalogue),
    sla,
    statuses: STATUSES,
    counts: { byStatus: pick(all, `dept:${code}|status:`), byCategory },
    queue,
    responseTimes: { ...overall, windowDays: 30, byCategory: Object.fromEntries(categories.map((c, i) => [c, perCategory[i]!])) },
  }
}

/** A trailing "Mahallesi" / "Mah." / "Mh." as typed, dropped from the name shown. */
const DISPLAY_SUFFIX = /\s+(?:mahallesi|mah\.?|mh\.?)$/u

/**
 * Which place a free-text neighbourhood names, by the rule routing's duplicate detection uses
 * (`normalizeNeighbourhood`): Turkish lower case, Turkish letters folded, punctuation gone, no
 * trailing "Mahallesi"/"Mah."; so "KAZIMDİRİK MAH." and "Kazimdirik" are the same place on the
 * dashboards as they are for duplicates. A name with nothing left keeps a key of its own.
 */
export function neighbourhoodKey(name: string): string {
  const key = normalizeNeighbourhood(name)
  return key === '' ? `=${name}` : key
}

/**
 * How one spelling is shown: single spaces, no trailing "Mahallesi"/"Mah.", each word with a
 * Turkish capital ("KAZIMDİRİK MAH." → "Kazımdirik", "ismet inönü" → "İsmet İnönü").
 */
export function neighbourhoodDisplayName(spelling: string): string {
  const lower = spelling.normalize('NFC').replace(/\s+/gu, ' ').trim().toLocaleLowerCase('tr')
  return (lower.replace(DISPLAY_SUFFIX, '') || lower)
    .split(' ')
    .map((word) => {
      const [first = '', ...rest] = Array.from(word)
      return first.toLocaleUpperCase('tr') + rest.join('')
    })
    .join(' ')
}

/** Letters outside ASCII: of two ways of showing a place, the one with its Turkish letters wins a tie. */
const turkishLetters = (text: string): number => text.replace(/[\x00-\x7f]/g, '').length

/**
 * Whether a spelling says how its letters are written: capitals only do not ("KAZIMDIRIK" from a
 * keyboard without İ lower-cases to "kazımdırık" by Turkish rules), so it loses a tie.
 */
const mixedCase = (text: string): boolean => text !== text.toLocaleUpperCase('tr')

/** The order in which ways of showing a place are preferred: most cases, then as described above. */
function byPreference(a: { readonly name: string; readonly cases: number; readonly mixed: boolean }, b: typeof a): number {
  return b.cases - a.cases || Number(b.mixed) - Number(a.mixed) || turkishLetters(b.name) - turkishLetters(a.name) || a.name.localeCompare(b.name, 'tr')
}

/** One place's counters, summed over its spellings (spelling → its cases). */
interface Place {
  total: number
  open: number
  byCategory: Counts
  spellings: Map<string, number>
}

/**
 * `GET /v1/dashboards/neighbourhoods`: per place (spellings merged, see `neighbourhoodKey`) its
 * cases, the open ones and the cases per category, shown by its most used spelling; the totals
 * and the cases without a neighbourhood, so the rows add up; category names for the codes.
 */
export async function neighbourhoodsView(reader: VersionReader, catalogue: Catalogue, now: Date) {
  const all = await reader.counters(ALL_SCOPE)
  const places = new Map<string, Place>()
  const place = (spelling: string): Place => {
    const key = neighbourhoodKey(spelling)
    let p = places.get(key)
    if (p === undefined) places.set(key, (p = { total: 0, open: 0, byCategory: {}, spellings: new Map() }))
    if (!p.spellings.has(spelling)) p.spellings.set(spelling, 0)
    return p
  }
  for (const [field, n] of Object.entries(all)) {
    if (!field.startsWith('nb:')) continue
    const bar = field.lastIndexOf('|')
    const spelling = field.slice(3, bar)
    const what = field.slice(bar + 1)
    const p = place(spelling)
    if (what === 'total') {
      p.total += n
      p.spellings.set(spelling, n)
    } else if (what === 'open') p.open += n
    else if (what.startsWith('category:')) {
      const category = what.slice('category:'.length)
      p.byCategory[category] = (p.byCategory[category] ?? 0) + n
    }
  }
  // A counter a store keeps at zero (no case left) is no place.
  const neighbourhoods = [...places.values()].filter((p) => p.total > 0).map(({ total, open, byCategory, spellings }) => {
    const shown = new Map<string, { name: string; cases: number; mixed: boolean }>()
    for (const [spelling, n] of spellings) {
      if (n <= 0) continue
      const name = neighbourhoodDisplayName(spelling)
      const way = shown.get(name) ?? { name, cases: 0, mixed: false }
      shown.set(name, { name, cases: way.cases + n, mixed: way.mixed || mixedCase(spelling) })
    }
    const [{ name } = { name: '' }] = [...shown.values()].sort(byPreference)
    const used = [...spellings].filter(([, n]) => n > 0).map(([spelling]) => spelling)
    return { name, total, open, byCategory, spellings: used.sort((a, b) => a.localeCompare(b, 'tr')) }
  })
  neighbourhoods.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name, 'tr'))
  const total = all.total ?? 0
  const open = all.open ?? 0
  const located = neighbourhoods.reduce((sum, n) => ({ total: sum.total + n.total, open: sum.open + n.open }), { total: 0, open: 0 })
  return {
    position: reader.position,
    generatedAt: now.toISOString(),
    totals: { total, open },
    withoutNeighbourhood: { total: Math.max(0, total - located.total), open: Math.max(0, open - located.open) },
    neighbourhoods,
    categories: categoryNames(catalogue),
  }
}

/** Istanbul days [from, to] as epoch ms [start of from, start of the day after to). */
export function istanbulRange(from: string, to: string): { fromMs: number; toMs: number } {
  const start = DateTime.fromISO(from, { zone: ZONE }).startOf('day')
  const end = DateTime.fromISO(to, { zone: ZONE }).startOf('day').plus({ days: 1 })
  return { fromMs: start.toMillis(), toMs: end.toMillis() }
}

const CSV_COLUMNS = [
  'caseId',
  'trackingCode',
  'receivedAt',
  'submittedAt',
  'status',
  'kind',
  'channel',
  'department',
  'category',
  'neighbourhood',
  'dueAt',
  'firstResponseAt',
  'resolvedAt',
  'escalated',
  'breached',
  'duplicateOf',
] as const

/** The CSV export of a department's cases received in the range: BOM, header, one row per case. */
export async function departmentCsv(reader: VersionReader, code: string, fromMs: number, toMs: number): Promise<string> {
  const ids = await reader.receivedBetween(fromMs, toMs)
  const docs: CaseDoc[] = []
  for (let i = 0; i < ids.length; i += 2000) for (const doc of await reader.getCases(ids.slice(i, i + 2000))) if (doc.department === code) docs.push(doc)
  return stringify(docs, {
    bom: true,
    header: true,
    columns: [...CSV_COLUMNS],
    record_delimiter: '\r\n',
    // A cell starting with = + - @ (or tab, CR) gets a leading ' so a spreadsheet shows it as text.
    escape_formulas: true,
    // Spreadsheets set to a Turkish locale split on ';': keep such text in one cell.
    quoted_match: ';',
    cast: { boolean: (value) => String(value) },
  })
}
