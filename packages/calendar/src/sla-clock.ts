/**
 * The SLA clock of a case, as pure functions over recorded facts: when it started, its
 * deadline, and the intervals it was paused (waiting on the citizen).
 *
 * Pause semantics, chosen for being predictable and monotonic:
 * - The clock's budget is the nominal deadline minus the start, in elapsed milliseconds
 *   (the calendar decides the nominal deadline: working days, calendar days or hours).
 * - Paused time is measured as plain elapsed time, for every kind of deadline. A two-day
 *   pause moves the due instant two days (48 h) later, even for a working-day SLA and even
 *   when the pause spans a weekend. Re-counting working days would need a policy for partial
 *   days and would make the elapsed fraction jump; this keeps fraction = active time / budget.
 * - A threshold (75 % warning, 100 % breach) is the first instant the active time reaches
 *   that share of the budget. A pause that begins after a threshold was reached does not
 *   undo it, so the instants are stable facts a scheduler can set timers for and, after a
 *   restart, compare with the time it was down.
 * - While a pause is open (`resumedAt` absent) the clock is frozen: thresholds not reached
 *   before the pause began have no instant (`null`) and the fraction stops growing.
 */
import type { BusinessCalendar, Deadline } from './calendar.ts'

/** The share of the budget at which a warning is due. */
export const SLA_WARNING_FRACTION = 0.75
/** The share of the budget at which the SLA is breached. */
export const SLA_BREACH_FRACTION = 1

/** One interval the clock stood still; `resumedAt` absent means it is still paused. */
export interface SlaPause {
  readonly pausedAt: Date
  readonly resumedAt?: Date | undefined
}

/** The facts an SLA clock is computed from. */
export interface SlaClockInput {
  readonly start: Date
  readonly deadline: Deadline
  /** In time order, not overlapping, none before `start`; only the last may be open. */
  readonly pauses?: readonly SlaPause[]
}

/** A computed SLA clock; all instants are derived, none is read from a clock. */
export interface SlaClock {
  readonly start: Date
  /** The deadline as if the clock had never paused. */
  readonly nominalDue: Date
  /** Active time allowed, in milliseconds (`nominalDue - start`). */
  readonly budgetMs: number
  readonly pauses: readonly SlaPause[]
  /** When 75 % is (or was) reached; `null` while an open pause holds the clock before it. */
  readonly warningAt: Date | null
  /** The effective due instant (100 %); `null` while an open pause holds the clock before it. */
  readonly dueAt: Date | null
}

/** Where a clock stands at some instant. */
export interface SlaStatus {
  /** Active time over budget; 1 or more means breached. Frozen while paused. */
  readonly fraction: number
  readonly level: 'on-track' | 'warning' | 'breached'
  readonly paused: boolean
  readonly activeMs: number
  readonly pausedMs: number
}

/** A threshold instant, for schedulers. */
export interface SlaThreshold {
  readonly threshold: 'warning' | 'breach'
  readonly at: Date
}

function validatePauses(start: Date, pauses: readonly SlaPause[]): void {
  let previousEnd = start.getTime()
  pauses.forEach((p, i) => {
    const from = p.pausedAt.getTime()
    if (Number.isNaN(from)) throw new RangeError(`pauses[${i}].pausedAt is not a valid Date`)
    if (from < previousEnd) {
      throw new RangeError(
        i === 0 ? `pauses[0] begins before the clock started` : `pauses[${i}] begins before pauses[${i - 1}] ended (pauses must be in order and not overlap)`,
      )
    }
    if (p.resumedAt === undefined) {
      if (i !== pauses.length - 1) throw new RangeError(`pauses[${i}] is still open but is not the last pause`)
      return
    }
    const to = p.resumedAt.getTime()
    if (Number.isNaN(to) || to < from) throw new RangeError(`pauses[${i}].resumedAt must be a valid Date not before pausedAt`)
    previousEnd = to
  })
}

// The first instant the active (unpaused) time reaches `targetMs`, or null if an open pause
// holds the clock before that.
function instantAtActive(start: Date, pauses: readonly SlaPause[], targetMs: number): Date | null {
  let cursor = start.getTime()
  let remaining = targetMs
  for (const p of pauses) {
    const activeBefore = p.pausedAt.getTime() - cursor
    if (remaining <= activeBefore) return new Date(cursor + remaining)
    remaining -= activeBefore
    if (p.resumedAt === undefined) return null
    cursor = p.resumedAt.getTime()
  }
  return new Date(cursor + remaining)
}

/** Computes the clock: nominal and effective due instants and the 75 % warning instant. */
export function slaClock(calendar: BusinessCalendar, input: SlaClockInput): SlaClock {
  return slaClockFromDue({ start: input.start, nominalDue: calendar.dueAt(input.start, input.deadline), pauses: input.pauses ?? [] })
}

/**
 * The same clock when the nominal due instant is already known (recorded in an event when the
 * clock started): no calendar needed, so later holiday-data edits never move a running clock.
 */
export function slaClockFromDue(input: { readonly start: Date; readonly nominalDue: Date; readonly pauses?: readonly SlaPause[] }): SlaClock {
  const pauses = input.pauses ?? []
  validatePauses(input.start, pauses)
  const nominalDue = input.nominalDue
  const budgetMs = nominalDue.getTime() - input.start.getTime()
  if (!(budgetMs > 0)) throw new RangeError('the nominal due instant must be after the start')
  return {
    start: input.start,
    nominalDue,
    budgetMs,
    pauses,
    warningAt: instantAtActive(input.start, pauses, budgetMs * SLA_WARNING_FRACTION),
    dueAt: instantAtActive(input.start, pauses, budgetMs * SLA_BREACH_FRACTION),
  }
}

/** The first instant the clock reaches `fraction` of its budget (e.g. 0.5), or `null` if an open pause prevents it. */
export function instantAtFraction(clock: SlaClock, fraction: number): Date | null {
  if (!Number.isFinite(fraction) || fraction < 0) throw new RangeError(`fraction must be a number ≥ 0, got ${fraction}`)
  return instantAtActive(clock.start, clock.pauses, clock.budgetMs * fraction)
}

/** Active and paused milliseconds between the start and `now` (0 and 0 before the start). */
function timesAt(clock: SlaClock, now: Date): { activeMs: number; pausedMs: number; paused: boolean } {
  const end = now.getTime()
  let cursor = clock.start.getTime()
  if (end <= cursor) return { activeMs: 0, pausedMs: 0, paused: false }
  let activeMs = 0
  let pausedMs = 0
  for (const p of clock.pauses) {
    const from = p.pausedAt.getTime()
    // A pause covers [pausedAt, resumedAt): paused from the instant it begins, running again from the instant it ends.
    if (end < from) break
    activeMs += from - cursor
    const to = p.resumedAt?.getTime() ?? Number.POSITIVE_INFINITY
    if (end < to) return { activeMs, pausedMs: pausedMs + (end - from), paused: true }
    pausedMs += to - from
    cursor = to
  }
  return { activeMs: activeMs + (end - cursor), pausedMs, paused: false }
}

/** Active time over budget at `now`: 0.75 is the warning, 1 the breach; can exceed 1. */
export function elapsedFraction(clock: SlaClock, now: Date): number {
  return timesAt(clock, now).activeMs / clock.budgetMs
}

/** Where the clock stands at `now`. */
export function slaStatusAt(clock: SlaClock, now: Date): SlaStatus {
  const { activeMs, pausedMs, paused } = timesAt(clock, now)
  const fraction = activeMs / clock.budgetMs
  const level = fraction >= SLA_BREACH_FRACTION ? 'breached' : fraction >= SLA_WARNING_FRACTION ? 'warning' : 'on-track'
  return { fraction, level, paused, activeMs, pausedMs }
}

/**
 * The thresholds reached in `(after, until]`: what a scheduler must fire when it wakes up at
 * `until` having last looked at `after` (e.g. after a restart), in time order.
 */
export function thresholdsReachedBetween(clock: SlaClock, after: Date, until: Date): SlaThreshold[] {
  const reached: SlaThreshold[] = []
  const inWindow = (at: Date | null): at is Date => at !== null && at.getTime() > after.getTime() && at.getTime() <= until.getTime()
  if (inWindow(clock.warningAt)) reached.push({ threshold: 'warning', at: clock.warningAt })
  if (inWindow(clock.dueAt)) reached.push({ threshold: 'breach', at: clock.dueAt })
  return reached
}
