/**
 * The business calendar: which days in Istanbul are working days, and when a deadline falls.
 * Public holidays are data (`infra/calendar/holidays-tr.json`) because Ramazan and Kurban
 * Bayramı move every year; this module validates that data and does the date maths with
 * luxon, so time-zone rules come from the IANA database rather than from us.
 *
 * Rules (the reasons are in `infra/calendar/README.md`):
 * - A working day is an office weekday (Mon–Fri by default) that is not a full public holiday.
 *   A half day (an arife, 28 October) IS a working day; its office closes at 13:00.
 * - `addWorkingDays`: the day of receipt is not counted; the deadline is the close of office
 *   on the n-th working day after it (13:00 when that day is a half day).
 * - `addCalendarDays`: the deadline is the end (23:59:59.999) of the n-th calendar day after
 *   the day of receipt; when that day is not a working day it moves to the end of the next one.
 * - `addHours`: plain elapsed time; weekends and holidays do not stop it.
 * - Any question about a day outside the data's years throws `CalendarCoverageError` instead
 *   of silently treating unknown holidays as working days.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { LRUCache } from 'lru-cache'
import { DateTime } from 'luxon'
import { z } from 'zod'
import type { Sla } from '@civic-desk/contracts'

/** The only zone civic-desk computes deadlines in. */
export const CALENDAR_ZONE = 'Europe/Istanbul'

/** Absolute path of the default holiday file, `infra/calendar/holidays-tr.json` in the repository. */
export const defaultHolidayFile: string = fileURLToPath(new URL('../../../infra/calendar/holidays-tr.json', import.meta.url))

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/

/** A calendar date in Istanbul, `YYYY-MM-DD`. */
export type LocalDate = string

function isRealDate(value: string): boolean {
  return LOCAL_DATE.test(value) && DateTime.fromISO(value, { zone: 'utc' }).isValid
}

const LocalDateSchema = z.string().refine(isRealDate, {
  error: (issue) =>
    typeof issue.input === 'string' && LOCAL_DATE.test(issue.input)
      ? `${issue.input} is not a real calendar date`
      : 'must be a date written YYYY-MM-DD',
})

const NameSchema = z.string().trim().min(1, { error: 'must not be empty' })
const YearSchema = z.number().int({ error: 'must be a whole number' }).min(2000).max(2200)

/** One public holiday; `half: true` means the office works until the half-day close (13:00). */
export const HolidaySchema = z
  .strictObject({
    date: LocalDateSchema,
    nameTr: NameSchema,
    nameEn: NameSchema,
    half: z.literal(true, { error: 'must be true, or left out for a full holiday' }).optional(),
  })
  .readonly()

/** The whole holiday file; `years` is the range the list is complete for. */
export const HolidayFileSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1 (the only holiday file format so far)' }),
    country: z.literal('TR'),
    zone: z.literal(CALENDAR_ZONE),
    years: z.strictObject({ first: YearSchema, last: YearSchema }).readonly(),
    holidays: z.array(HolidaySchema).min(1, { error: 'list at least one holiday' }).readonly(),
  })
  .readonly()

/** One public holiday as written in the file. */
export type Holiday = z.infer<typeof HolidaySchema>

/** Validated holiday data: complete for `firstYear`..`lastYear`, indexed by date. */
export interface HolidayData {
  /** Where the data came from (a file path), named in every coverage error. */
  readonly source: string
  readonly firstYear: number
  readonly lastYear: number
  readonly holidays: ReadonlyMap<LocalDate, Holiday>
}

/** One thing wrong with a holiday file, at a path such as `holidays[3].date`. */
export interface HolidayProblem {
  readonly path: string
  readonly message: string
}

/** Thrown when holiday data is invalid; the message lists every problem with its path. */
export class HolidayDataError extends Error {
  override readonly name = 'HolidayDataError'
  readonly code = 'holiday_data_invalid'
  readonly problems: readonly HolidayProblem[]
  readonly source: string

  constructor(problems: readonly HolidayProblem[], source: string) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    super(
      `Invalid public-holiday data in ${source} (${count}):\n` +
        problems.map((p) => `  - ${p.path === '' ? '(root)' : p.path}: ${p.message}`).join('\n'),
    )
    this.problems = problems
    this.source = source
  }
}

/** Thrown when a computation needs a day outside the years the holiday data covers. */
export class CalendarCoverageError extends Error {
  override readonly name = 'CalendarCoverageError'
  readonly code = 'calendar_not_covered'
  readonly year: number
  readonly source: string

  constructor(year: number, data: HolidayData) {
    super(
      `No public-holiday data for ${year}: ${data.source} covers ${data.firstYear}–${data.lastYear} only. ` +
        `Add ${year}'s holidays (Ramazan and Kurban Bayramı from the official Diyanet calendar) ` +
        `and extend "years" before computing deadlines that reach ${year}; see infra/calendar/README.md.`,
    )
    this.year = year
    this.source = data.source
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`
  return out
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Validates raw holiday data: shape, real dates, no date listed twice, every date inside
 * `years`. Throws a `HolidayDataError` listing every problem; `source` is named in errors.
 */
export function parseHolidays(raw: unknown, source = 'holiday data'): HolidayData {
  const problems: HolidayProblem[] = []
  const parsed = HolidayFileSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) problems.push({ path: formatPath([...issue.path, key]), message: 'unknown field (check the spelling)' })
      } else {
        problems.push({ path: formatPath(issue.path), message: issue.message })
      }
    }
  }
  // Checked on the raw input so that one bad date does not hide a duplicate elsewhere.
  problems.push(...crossProblems(raw))
  if (problems.length > 0 || !parsed.success) throw new HolidayDataError(problems, source)
  const { years, holidays } = parsed.data
  return {
    source,
    firstYear: years.first,
    lastYear: years.last,
    holidays: new Map(holidays.map((h) => [h.date, h])),
  }
}

function crossProblems(raw: unknown): HolidayProblem[] {
  if (!isRecord(raw)) return []
  const problems: HolidayProblem[] = []
  const years = isRecord(raw['years']) ? raw['years'] : {}
  const first = typeof years['first'] === 'number' ? years['first'] : undefined
  const last = typeof years['last'] === 'number' ? years['last'] : undefined
  if (first !== undefined && last !== undefined && last < first) {
    problems.push({ path: 'years.last', message: `must not be before years.first (${first})` })
  }
  const holidays = Array.isArray(raw['holidays']) ? (raw['holidays'] as unknown[]) : []
  const seen = new Map<string, number>()
  holidays.forEach((h, i) => {
    const date = isRecord(h) ? h['date'] : undefined
    if (typeof date !== 'string') return
    const before = seen.get(date)
    if (before === undefined) seen.set(date, i)
    else problems.push({ path: `holidays[${i}].date`, message: `duplicate date ${date} (first listed at holidays[${before}]); merge the names into one entry` })
    const year = Number(date.slice(0, 4))
    if (isRealDate(date) && first !== undefined && last !== undefined && (year < first || year > last)) {
      problems.push({ path: `holidays[${i}].date`, message: `${date} is outside years ${first}–${last}` })
    }
  })
  return problems
}

/** Reads and validates a holiday file (default: `infra/calendar/holidays-tr.json`); errors name the file. */
export function loadHolidayData(file: string = defaultHolidayFile): HolidayData {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new Error(`Cannot read the public-holiday file ${file}: ${code ?? String(error)}`, { cause: error })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new HolidayDataError([{ path: '', message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` }], file)
  }
  return parseHolidays(raw, file)
}

/** Office hours as `HH:mm` in Istanbul; `weekdays` are ISO numbers, 1 = Monday … 7 = Sunday. */
export const OfficeHoursSchema = z
  .strictObject({
    open: z.string().regex(TIME_OF_DAY, { error: 'must be HH:mm' }).default('08:30'),
    close: z.string().regex(TIME_OF_DAY, { error: 'must be HH:mm' }).default('17:30'),
    halfDayClose: z.string().regex(TIME_OF_DAY, { error: 'must be HH:mm' }).default('13:00'),
    weekdays: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]).readonly(),
  })
  .refine((h) => h.open < h.close, { error: 'open must be before close', path: ['close'] })
  .refine((h) => h.open < h.halfDayClose && h.halfDayClose <= h.close, {
    error: 'halfDayClose must be after open and not after close',
    path: ['halfDayClose'],
  })
  .readonly()

/** Validated office hours. */
export type OfficeHours = z.output<typeof OfficeHoursSchema>
/** Office hours as a caller may give them; every field has a default. */
export type OfficeHoursInput = z.input<typeof OfficeHoursSchema>

/** A deadline: a category `Sla` (`{ hours }` or `{ workingDays }`) or `{ calendarDays }` (CİMER, KVKK). */
export type Deadline = Sla | { readonly calendarDays: number }

/** What kind of day a date is in the calendar. */
export type DayKind = 'working' | 'half-day' | 'weekend' | 'holiday'

/** A day's kind and the holiday listed for it, if any (also on weekends). */
export interface DayInfo {
  readonly date: LocalDate
  readonly kind: DayKind
  readonly holiday: Holiday | undefined
}

/** Working days, deadlines and local formatting over one set of holiday data and office hours. */
export interface BusinessCalendar {
  readonly zone: typeof CALENDAR_ZONE
  readonly officeHours: OfficeHours
  readonly data: HolidayData
  /** The kind of a day (a local date, or the Istanbul date of an instant). */
  dayInfo(day: LocalDate | Date): DayInfo
  /** True on office weekdays that are not full holidays; half days are working days. */
  isWorkingDay(day: LocalDate | Date): boolean
  /** The Istanbul calendar date of an instant. */
  localDate(instant: Date): LocalDate
  /** The instant ISO-formatted in Istanbul time, e.g. `2026-12-11T17:30:00.000+03:00`. */
  toLocalIso(instant: Date): string
  /** Close of office on the n-th working day after the day of receipt (n ≥ 1). */
  addWorkingDays(start: Date, n: number): Date
  /** End of the n-th calendar day after the day of receipt, moved to the end of the next working day if needed. */
  addCalendarDays(start: Date, n: number): Date
  /** `start` plus `h` elapsed hours. */
  addHours(start: Date, h: number): Date
  /** The due instant of a deadline started at `start`. */
  dueAt(start: Date, deadline: Deadline): Date
}

function requireInstant(value: Date, what: string): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new RangeError(`${what} must be a valid Date`)
}

function requireCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a whole number ≥ 1, got ${n}`)
}

/** Builds a calendar from validated holiday data and office hours (default Mon–Fri 08:30–17:30, half days until 13:00). */
export function createBusinessCalendar(data: HolidayData, officeHours: OfficeHoursInput = {}): BusinessCalendar {
  const hours = OfficeHoursSchema.parse(officeHours)
  const weekdays = new Set(hours.weekdays)
  const zone = CALENDAR_ZONE

  const toDay = (day: LocalDate | Date): DateTime => {
    if (day instanceof Date) {
      requireInstant(day, 'day')
      return DateTime.fromJSDate(day, { zone }).startOf('day')
    }
    if (!isRealDate(day)) throw new RangeError(`"${day}" is not a date written YYYY-MM-DD`)
    return DateTime.fromISO(day, { zone })
  }

  const info = (d: DateTime): DayInfo => {
    if (d.year < data.firstYear || d.year > data.lastYear) throw new CalendarCoverageError(d.year, data)
    const date = d.toISODate() as LocalDate
    const holiday = data.holidays.get(date)
    if (!weekdays.has(d.weekday)) return { date, kind: 'weekend', holiday }
    if (holiday === undefined) return { date, kind: 'working', holiday }
    return { date, kind: holiday.half === true ? 'half-day' : 'holiday', holiday }
  }
  const working = (kind: DayKind): boolean => kind === 'working' || kind === 'half-day'

  const atTime = (d: DateTime, hhmm: string): DateTime => {
    const [h, m] = hhmm.split(':').map(Number) as [number, number]
    return d.set({ hour: h, minute: m, second: 0, millisecond: 0 })
  }

  const nextWorkingDay = (d: DateTime): DateTime => {
    let day = d
    while (!working(info(day).kind)) day = day.plus({ days: 1 })
    return day
  }

  // Due instants depend only on the local start date and the count, and every case of a day asks
  // the same few questions: remembered per (kind, date, n), so the day walk runs once per day.
  // Failures (CalendarCoverageError) are not remembered. Bounded: the least recently asked go first.
  const memo = new LRUCache<string, number>({ max: 10_000 })
  const localDateFormat = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })
  const remembered = (kind: string, start: Date, n: number, compute: () => Date): Date => {
    const key = `${kind}|${localDateFormat.format(start)}|${n}`
    const hit = memo.get(key)
    if (hit !== undefined) return new Date(hit)
    const due = compute()
    memo.set(key, due.getTime())
    return due
  }

  const calendar: BusinessCalendar = {
    zone,
    officeHours: hours,
    data,
    dayInfo: (day) => info(toDay(day)),
    isWorkingDay: (day) => working(info(toDay(day)).kind),
    localDate: (instant) => toDay(instant).toISODate() as LocalDate,
    toLocalIso: (instant) => {
      requireInstant(instant, 'instant')
      return DateTime.fromJSDate(instant, { zone }).toISO() as string
    },
    addWorkingDays(start, n) {
      requireInstant(start, 'start')
      requireCount(n, 'workingDays')
      return remembered('w', start, n, () => {
        let day = toDay(start)
        let counted = 0
        let kind: DayKind = 'weekend'
        while (counted < n) {
          day = day.plus({ days: 1 })
          kind = info(day).kind
          if (working(kind)) counted++
        }
        return atTime(day, kind === 'half-day' ? hours.halfDayClose : hours.close).toJSDate()
      })
    },
    addCalendarDays(start, n) {
      requireInstant(start, 'start')
      requireCount(n, 'calendarDays')
      return remembered('c', start, n, () => nextWorkingDay(toDay(start).plus({ days: n })).endOf('day').toJSDate())
    },
    addHours(start, h) {
      requireInstant(start, 'start')
      if (!Number.isFinite(h) || h <= 0) throw new RangeError(`hours must be a number > 0, got ${h}`)
      return new Date(start.getTime() + h * 3_600_000)
    },
    dueAt(start, deadline) {
      if ('hours' in deadline) return calendar.addHours(start, deadline.hours)
      if ('workingDays' in deadline) return calendar.addWorkingDays(start, deadline.workingDays)
      if ('calendarDays' in deadline) return calendar.addCalendarDays(start, deadline.calendarDays)
      const unknown: never = deadline
      throw new RangeError(`unknown deadline ${JSON.stringify(unknown)}`)
    },
  }
  return calendar
}
