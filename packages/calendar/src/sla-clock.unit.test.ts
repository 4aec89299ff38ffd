import t from 'tap'
import { createBusinessCalendar, loadHolidayData } from './calendar.ts'
import { elapsedFraction, instantAtFraction, slaClock, slaStatusAt, thresholdsReachedBetween } from './sla-clock.ts'

const calendar = createBusinessCalendar(loadHolidayData())
const at = (iso: string): Date => new Date(iso)
const iso = (d: Date | null): string | null => (d === null ? null : calendar.toLocalIso(d))

const start = at('2026-11-23T09:00:00+03:00') // Monday

t.test('without pauses: due = nominal, warning at 75 % of the budget', async (t) => {
  const clock = slaClock(calendar, { start, deadline: { hours: 48 } })
  t.equal(clock.budgetMs, 48 * 3_600_000)
  t.equal(iso(clock.dueAt), '2026-11-25T09:00:00.000+03:00')
  t.equal(iso(clock.warningAt), '2026-11-24T21:00:00.000+03:00')
  t.equal(elapsedFraction(clock, at('2026-11-24T09:00:00+03:00')), 0.5)
  t.equal(elapsedFraction(clock, at('2026-11-22T09:00:00+03:00')), 0, 'before the start')
  t.equal(slaStatusAt(clock, at('2026-11-24T22:00:00+03:00')).level, 'warning')
  t.equal(slaStatusAt(clock, at('2026-11-25T09:00:00+03:00')).level, 'breached')
  t.equal(iso(instantAtFraction(clock, 0.5)), '2026-11-24T09:00:00.000+03:00')
})

t.test('a 2-day pause moves the due instant 2 days later', async (t) => {
  const pauses = [{ pausedAt: at('2026-11-23T12:00:00+03:00'), resumedAt: at('2026-11-25T12:00:00+03:00') }]
  const clock = slaClock(calendar, { start, deadline: { hours: 48 }, pauses })
  t.equal(iso(clock.nominalDue), '2026-11-25T09:00:00.000+03:00')
  t.equal(iso(clock.dueAt), '2026-11-27T09:00:00.000+03:00')
  t.equal(iso(clock.warningAt), '2026-11-26T21:00:00.000+03:00')
  const during = slaStatusAt(clock, at('2026-11-24T12:00:00+03:00'))
  t.same(during, { fraction: 3 / 48, level: 'on-track', paused: true, activeMs: 3 * 3_600_000, pausedMs: 24 * 3_600_000 })
  t.equal(slaStatusAt(clock, at('2026-11-26T09:00:00+03:00')).fraction, 0.5)
})

t.test('working-day SLA: the pause is counted as elapsed time (documented rule)', async (t) => {
  const received = at('2026-11-20T16:00:00+03:00')
  const pauses = [{ pausedAt: at('2026-11-24T10:00:00+03:00'), resumedAt: at('2026-11-26T10:00:00+03:00') }]
  const clock = slaClock(calendar, { start: received, deadline: { workingDays: 15 }, pauses })
  t.equal(iso(clock.nominalDue), '2026-12-11T17:30:00.000+03:00')
  t.equal(iso(clock.dueAt), '2026-12-13T17:30:00.000+03:00')
})

t.test('a still-paused clock never reaches 100 %', async (t) => {
  const pauses = [{ pausedAt: at('2026-11-24T09:00:00+03:00') }]
  const clock = slaClock(calendar, { start, deadline: { hours: 48 }, pauses })
  t.equal(clock.dueAt, null)
  t.equal(clock.warningAt, null)
  const muchLater = slaStatusAt(clock, at('2027-06-01T00:00:00+03:00'))
  t.equal(muchLater.fraction, 0.5, 'frozen at the active half')
  t.equal(muchLater.level, 'on-track')
  t.equal(muchLater.paused, true)
  t.same(thresholdsReachedBetween(clock, start, at('2027-06-01T00:00:00+03:00')), [])
})

t.test('paused after the warning: the warning stands, the breach waits', async (t) => {
  const pauses = [{ pausedAt: at('2026-11-25T00:00:00+03:00') }]
  const clock = slaClock(calendar, { start, deadline: { hours: 48 }, pauses })
  t.equal(iso(clock.warningAt), '2026-11-24T21:00:00.000+03:00')
  t.equal(clock.dueAt, null)
  t.equal(slaStatusAt(clock, at('2026-12-01T00:00:00+03:00')).level, 'warning')
})

t.test('a pause that begins after the breach does not undo it', async (t) => {
  const pauses = [{ pausedAt: at('2026-11-26T00:00:00+03:00'), resumedAt: at('2026-11-28T00:00:00+03:00') }]
  const clock = slaClock(calendar, { start, deadline: { hours: 48 }, pauses })
  t.equal(iso(clock.dueAt), '2026-11-25T09:00:00.000+03:00')
})

t.test('after a restart: the thresholds passed while down, in order', async (t) => {
  const clock = slaClock(calendar, { start, deadline: { hours: 48 } })
  const missed = thresholdsReachedBetween(clock, at('2026-11-24T20:00:00+03:00'), at('2026-11-25T10:00:00+03:00'))
  t.same(missed.map((m) => [m.threshold, iso(m.at)]), [
    ['warning', '2026-11-24T21:00:00.000+03:00'],
    ['breach', '2026-11-25T09:00:00.000+03:00'],
  ])
  t.same(thresholdsReachedBetween(clock, at('2026-11-24T21:00:00+03:00'), at('2026-11-25T08:59:59+03:00')), [], 'the lower bound is exclusive')
})

t.test('inconsistent pauses are refused', async (t) => {
  t.throws(() => slaClock(calendar, { start, deadline: { hours: 48 }, pauses: [{ pausedAt: at('2026-11-22T09:00:00+03:00') }] }), /before the clock started/)
  t.throws(
    () =>
      slaClock(calendar, {
        start,
        deadline: { hours: 48 },
        pauses: [{ pausedAt: at('2026-11-23T12:00:00+03:00') }, { pausedAt: at('2026-11-24T12:00:00+03:00'), resumedAt: at('2026-11-24T13:00:00+03:00') }],
      }),
    /still open but is not the last/,
  )
  t.throws(
    () =>
      slaClock(calendar, {
        start,
        deadline: { hours: 48 },
        pauses: [
          { pausedAt: at('2026-11-23T12:00:00+03:00'), resumedAt: at('2026-11-23T15:00:00+03:00') },
          { pausedAt: at('2026-11-23T14:00:00+03:00'), resumedAt: at('2026-11-23T16:00:00+03:00') },
        ],
      }),
    /pauses\[1\] begins before pauses\[0\] ended/,
  )
})
