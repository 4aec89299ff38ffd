/**
 * Where a case's SLA clock stands at an instant, as the queue and the case view show it. Pure:
 * the instant comes in, everything else is derived from the recorded clock.
 */
import { slaStatusAt } from '@civic-desk/calendar'
import { clockOf, type SlaState } from '@civic-desk/case-domain'

/** The running clock of a case at `now`. */
export interface SlaPosition {
  /**
   * The effective due instant. While the clock is paused before its due time it is not fixed yet:
   * it is then `now` plus the time left, i.e. when the clock would run out if it resumed now, so
   * it keeps moving later for as long as the municipality waits on the citizen.
   */
  readonly dueAt: Date
  /** Active time left; negative once overdue. */
  readonly msLeft: number
  readonly paused: boolean
  readonly level: 'on-track' | 'warning' | 'breached'
  /** When 75 % is (or was) reached; null while a pause holds the clock before it. */
  readonly warningAt: Date | null
  readonly nominalDueAt: Date
  readonly budgetMs: number
  /** Time spent paused so far. */
  readonly pausedMs: number
}

/** Derives the clock's position at `now` from the recorded SLA state. */
export function slaPositionAt(sla: SlaState, now: Date): SlaPosition {
  const clock = clockOf(sla)
  const status = slaStatusAt(clock, now)
  // budget - active equals dueAt - now while the clock runs, and stays put while it is paused.
  const msLeft = clock.budgetMs - status.activeMs
  return {
    dueAt: clock.dueAt ?? new Date(now.getTime() + msLeft),
    msLeft,
    paused: status.paused,
    level: status.level,
    warningAt: clock.warningAt,
    nominalDueAt: clock.nominalDue,
    budgetMs: clock.budgetMs,
    pausedMs: status.pausedMs,
  }
}
