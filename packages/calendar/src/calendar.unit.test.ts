import { readFileSync } from 'node:fs'
import t from 'tap'
import {
  CalendarCoverageError,
  HolidayDataError,
  createBusinessCalendar,
  defaultHolidayFile,
  loadHolidayData,
  parseHolidays,
} from './calendar.ts'

const data = loadHolidayData()
const calendar = createBusinessCalendar(data)
const at = (iso: string): Date => new Date(iso)
const iso = (d: Date): string => calendar.toLocalIso(d)

t.test('the shipped holiday file covers 2024–2027 with every fixed holiday each year', async (t) => {
  t.equal(data.firstYear, 2024)
  t.equal(data.lastYear, 2027)
  for (let year = 2024; year <= 2027; year++) {
    for (const md of ['01-01', '04-23', '05-01', '05-19', '07-15', '08-30', '10-29']) {
      t.equal(data.holidays.get(`${year}-${md}`)?.half, undefined, `${year}-${md} is a full holiday`)
    }
    t.equal(data.holidays.get(`${year}-10-28`)?.half, true, `${year}-10-28 is a half day`)
  }
  // 2027: Kurban Bayramı's 4th day is also 19 May, listed once with both names.
  t.match(data.holidays.get('2027-05-19')?.nameTr, /Atatürk.*Kurban Bayramı 4\. gün/)
  const halves = [...data.holidays.values()].filter((h) => h.half === true).map((h) => h.date)
  t.same(halves, [
    '2024-04-09', '2024-06-15', '2024-10-28',
    '2025-03-29', '2025-06-05', '2025-10-28',
    '2026-03-19', '2026-05-26', '2026-10-28',
    '2027-03-08', '2027-05-15', '2027-10-28',
  ])
})

t.test('day kinds: weekend, full holiday, half day (a working day), ordinary day', async (t) => {
  t.equal(calendar.dayInfo('2026-11-21').kind, 'weekend')
  t.equal(calendar.dayInfo('2026-03-20').kind, 'holiday')
  t.equal(calendar.dayInfo('2026-03-19').kind, 'half-day')
  t.equal(calendar.dayInfo('2026-03-18').kind, 'working')
  t.equal(calendar.isWorkingDay('2026-03-19'), true, 'arife counts as a working day')
  t.equal(calendar.isWorkingDay('2026-10-29'), false)
  t.equal(calendar.isWorkingDay('2026-10-28'), true)
  // 21:30 UTC on the 28th is already the 29th in Istanbul.
  t.equal(calendar.localDate(at('2026-10-28T21:30:00Z')), '2026-10-29')
  t.equal(calendar.isWorkingDay(at('2026-10-28T21:30:00Z')), false)
})

t.test('15 working days from Friday 2026-11-20 16:00 end at close of office on Friday 11 December', async (t) => {
  const due = calendar.addWorkingDays(at('2026-11-20T16:00:00+03:00'), 15)
  t.equal(iso(due), '2026-12-11T17:30:00.000+03:00')
  t.equal(iso(calendar.dueAt(at('2026-11-20T16:00:00+03:00'), { workingDays: 15 })), '2026-12-11T17:30:00.000+03:00')
  // Received after hours or on Saturday: the day of receipt still does not count.
  t.equal(iso(calendar.addWorkingDays(at('2026-11-20T23:00:00+03:00'), 1)), '2026-11-23T17:30:00.000+03:00')
  t.equal(iso(calendar.addWorkingDays(at('2026-11-21T10:00:00+03:00'), 1)), '2026-11-23T17:30:00.000+03:00')
})

t.test('around Ramazan Bayramı 2026: arife counts (until 13:00), the 3 bayram days and the weekend do not', async (t) => {
  const received = at('2026-03-18T10:00:00+03:00')
  t.equal(iso(calendar.addWorkingDays(received, 1)), '2026-03-19T13:00:00.000+03:00', 'day 1 is the arife half day, due at 13:00')
  t.equal(iso(calendar.addWorkingDays(received, 2)), '2026-03-23T17:30:00.000+03:00', 'Fri 20 (bayram), Sat 21, Sun 22 skipped')
  t.equal(iso(calendar.addWorkingDays(received, 15)), '2026-04-09T17:30:00.000+03:00')
})

t.test('29 October is a holiday, 28 October a working day until 13:00', async (t) => {
  const received = at('2026-10-27T09:00:00+03:00')
  t.equal(iso(calendar.addWorkingDays(received, 1)), '2026-10-28T13:00:00.000+03:00')
  t.equal(iso(calendar.addWorkingDays(received, 2)), '2026-10-30T17:30:00.000+03:00')
  // A calendar-day deadline landing on 29 October moves to the end of the 30th.
  t.equal(iso(calendar.addCalendarDays(at('2026-09-29T12:00:00+03:00'), 30)), '2026-10-30T23:59:59.999+03:00')
})

t.test('calendar-day deadlines end at midnight Istanbul time; a Saturday moves to Monday', async (t) => {
  t.equal(iso(calendar.addCalendarDays(at('2026-11-18T15:00:00+03:00'), 30)), '2026-12-18T23:59:59.999+03:00', 'a Friday stays')
  t.equal(iso(calendar.addCalendarDays(at('2026-11-19T15:00:00+03:00'), 30)), '2026-12-21T23:59:59.999+03:00', 'Saturday → Monday')
  t.equal(iso(calendar.dueAt(at('2026-11-19T15:00:00+03:00'), { calendarDays: 30 })), '2026-12-21T23:59:59.999+03:00')
  // Received at 01:00 Istanbul time = the previous day in UTC; the Istanbul date is what counts.
  t.equal(iso(calendar.addCalendarDays(at('2026-11-18T22:30:00Z'), 30)), '2026-12-21T23:59:59.999+03:00')
})

t.test('48 hours across a weekend is plain elapsed time', async (t) => {
  t.equal(iso(calendar.addHours(at('2026-11-20T16:00:00+03:00'), 48)), '2026-11-22T16:00:00.000+03:00')
  t.equal(iso(calendar.dueAt(at('2026-11-20T16:00:00+03:00'), { hours: 48 })), '2026-11-22T16:00:00.000+03:00')
})

t.test('office hours are configurable and validated', async (t) => {
  const early = createBusinessCalendar(data, { close: '17:00', halfDayClose: '12:30' })
  t.equal(early.toLocalIso(early.addWorkingDays(at('2026-11-20T16:00:00+03:00'), 15)), '2026-12-11T17:00:00.000+03:00')
  t.equal(early.toLocalIso(early.addWorkingDays(at('2026-03-18T10:00:00+03:00'), 1)), '2026-03-19T12:30:00.000+03:00')
  t.throws(() => createBusinessCalendar(data, { open: '18:00' }), /open must be before close/)
})

t.test('bad counts are refused', async (t) => {
  t.throws(() => calendar.addWorkingDays(at('2026-11-20T16:00:00+03:00'), 0), RangeError)
  t.throws(() => calendar.addCalendarDays(at('2026-11-20T16:00:00+03:00'), 1.5), RangeError)
  t.throws(() => calendar.addHours(new Date(Number.NaN), 48), RangeError)
})

t.test('a deadline beyond the data refuses with an error naming the file', async (t) => {
  const error = t.throws(() => calendar.addWorkingDays(at('2027-12-20T10:00:00+03:00'), 15)) as CalendarCoverageError
  t.type(error, CalendarCoverageError)
  t.equal(error.code, 'calendar_not_covered')
  t.equal(error.year, 2028)
  t.equal(error.source, defaultHolidayFile)
  t.match(error.message, /No public-holiday data for 2028/)
  t.ok(error.message.includes(defaultHolidayFile), 'names the file')
  t.match(error.message, /covers 2024–2027/)
  t.throws(() => calendar.addCalendarDays(at('2027-12-15T10:00:00+03:00'), 30), CalendarCoverageError)
  t.throws(() => calendar.isWorkingDay('2023-12-29'), CalendarCoverageError)
  // Within the data right up to its last day.
  t.equal(iso(calendar.addWorkingDays(at('2027-12-20T10:00:00+03:00'), 9)), '2027-12-31T17:30:00.000+03:00')
  // Plain hours do not depend on holidays, so they may cross the end of the data.
  t.equal(iso(calendar.addHours(at('2027-12-31T12:00:00+03:00'), 48)), '2028-01-02T12:00:00.000+03:00')
})

t.test('a broken holiday file is refused with every problem listed', async (t) => {
  const raw = JSON.parse(readFileSync(defaultHolidayFile, 'utf8')) as { holidays: Record<string, unknown>[] }
  raw.holidays[1] = { ...raw.holidays[1], date: '2024-02-30' }
  raw.holidays.push({ ...raw.holidays[2] })
  raw.holidays.push({ date: '2031-01-01', nameTr: 'Yılbaşı', nameEn: "New Year's Day" })
  const error = t.throws(() => parseHolidays(raw, 'broken.json')) as HolidayDataError
  t.type(error, HolidayDataError)
  t.equal(error.source, 'broken.json')
  const last = raw.holidays.length - 1
  t.same(
    error.problems.map((p) => p.path).sort(),
    ['holidays[1].date', `holidays[${last - 1}].date`, `holidays[${last}].date`].sort(),
  )
  t.match(error.problems.find((p) => p.path === 'holidays[1].date')?.message, /2024-02-30 is not a real calendar date/)
  t.match(error.problems.find((p) => p.path === `holidays[${last - 1}].date`)?.message, /duplicate date 2024-04-10 \(first listed at holidays\[2\]\)/)
  t.match(error.problems.find((p) => p.path === `holidays[${last}].date`)?.message, /outside years 2024–2027/)
  t.match(error.message, /Invalid public-holiday data in broken\.json \(3 problems\)/)
})

t.test('shape errors: unknown fields, bad half flag, badly written dates', async (t) => {
  const error = t.throws(() =>
    parseHolidays({
      version: 1,
      country: 'TR',
      zone: 'Europe/Istanbul',
      years: { first: 2026, last: 2025 },
      holidays: [{ date: '2026-1-1', nameTr: 'Yılbaşı', nameEn: 'New Year', half: false, extra: 1 }],
    }),
  ) as HolidayDataError
  t.same(error.problems.map((p) => p.path).sort(), ['holidays[0].date', 'holidays[0].extra', 'holidays[0].half', 'years.last'])
})

t.test('a badly written date says how to write it', async (t) => {
  const error = t.throws(() =>
    parseHolidays({ version: 1, country: 'TR', zone: 'Europe/Istanbul', years: { first: 2026, last: 2026 }, holidays: [{ date: '2026-1-1', nameTr: 'Yılbaşı', nameEn: 'New Year' }] }),
  ) as HolidayDataError
  t.same(error.problems, [{ path: 'holidays[0].date', message: 'must be a date written YYYY-MM-DD' }])
})

t.test('remembered due dates: any time of the same Istanbul day gives the same answer, a new day a new one, and callers get their own Date', async (t) => {
  const fresh = createBusinessCalendar(data)
  // 20 November 2026 in Istanbul runs from 19 Nov 21:00Z to 20 Nov 21:00Z.
  const morning = fresh.addWorkingDays(at('2026-11-19T21:30:00Z'), 15)
  const evening = fresh.addWorkingDays(at('2026-11-20T20:59:00Z'), 15)
  t.equal(morning.toISOString(), evening.toISOString())
  t.equal(iso(morning), '2026-12-11T17:30:00.000+03:00')
  const nextDay = fresh.addWorkingDays(at('2026-11-20T21:00:00Z'), 15)
  t.equal(iso(nextDay), '2026-12-11T17:30:00.000+03:00', 'Saturday the 21st counts from Monday too')
  const monday = fresh.addWorkingDays(at('2026-11-23T06:00:00Z'), 15)
  t.equal(iso(monday), '2026-12-14T17:30:00.000+03:00')
  morning.setTime(0)
  t.equal(iso(fresh.addWorkingDays(at('2026-11-20T08:00:00Z'), 15)), '2026-12-11T17:30:00.000+03:00', 'mutating a returned Date changes nothing')
  t.equal(iso(fresh.addCalendarDays(at('2026-11-20T08:00:00Z'), 30)), iso(fresh.addCalendarDays(at('2026-11-20T20:00:00Z'), 30)))
  t.not(iso(fresh.addCalendarDays(at('2026-11-20T08:00:00Z'), 30)), iso(fresh.addCalendarDays(at('2026-11-22T08:00:00Z'), 30)))
})
