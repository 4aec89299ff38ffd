/**
 * Records SLA thresholds (75 % warning, 100 % breach and escalation) as they are reached.
 *
 * The thresholds are instants derived from the case's own events (clock start, nominal due,
 * pauses), so the scheduler holds no state worth persisting: after a restart it rebuilds its
 * agenda from the projection and, at its first tick, fires whatever came due while it was down.
 * Event ids are derived from (case, clock, threshold), so two replicas, or a retry after a
 * crash, can never record a threshold twice: the store skips an id it already holds, and the
 * expected revision turns any other overlap into a re-read that finds the threshold recorded.
 *
 * Strategy: a min-heap of (next threshold instant, case), updated for one case whenever the
 * projection applies an event of it; a tick pops only what is due. Nothing is rescanned and
 * nothing spins: an idle tick costs one comparison.
 */
import { deriveEventId, nextSlaThreshold, type CaseCommand, type PendingThreshold } from '@civic-desk/case-domain'
import { executeOnCase, retryDelayMs } from '@civic-desk/case-feed'
import { inSpan } from '@civic-desk/tracing'
import type { Actor } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { isQueueStatus } from '@civic-desk/contracts'
import { processMetrics, type Logger } from '@civic-desk/service-kit'
import { MinHeap } from './heap.ts'
import type { OpenCases } from './open-cases.ts'
import { slaPositionAt } from './sla-view.ts'

/** Who records SLA events. */
export const SLA_SCHEDULER_ACTOR: Actor = Object.freeze({ kind: 'system', id: 'sla-scheduler' })

/** Default time between ticks. */
export const DEFAULT_SLA_TICK_MS = 1000

// The rule of which threshold comes next lives beside the decider's CheckSla, which records it.
export { nextSlaThreshold, type PendingThreshold }

/** Options of `startSlaScheduler`. */
export interface SlaSchedulerOptions {
  readonly store: EventStore
  readonly openCases: OpenCases
  /** The clock; injected so tests (and replays) decide what "now" is. */
  readonly now: () => Date
  /** Time between ticks in ms (default 1000). */
  readonly intervalMs?: number
  readonly logger: Logger
}

/** A running scheduler. */
export interface SlaScheduler {
  /** Ticks completed so far. */
  readonly ticks: number
  /** Events this instance appended. */
  readonly recorded: number
  /** Cases with a threshold on the agenda. */
  readonly scheduled: number
  /** Stops ticking; resolves once the tick in flight (if any) is done. */
  stop(): Promise<void>
}

const MAX_RETRY_BACKOFF_MS = 5 * 60_000

/** Starts the scheduler; its first tick runs at once. */
export function startSlaScheduler(options: SlaSchedulerOptions): SlaScheduler {
  const { store, openCases, now } = options
  const intervalMs = options.intervalMs ?? DEFAULT_SLA_TICK_MS
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`)
  const log = options.logger.child({ component: 'sla-scheduler' })

  const heap = new MinHeap<string>()
  /** caseId → the instant it is scheduled for; heap entries that disagree are stale and skipped. */
  const agenda = new Map<string, number>()
  const failures = new Map<string, number>()
  let ticks = 0
  let recorded = 0
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> = Promise.resolve()

  const schedule = (caseId: string, at: number): void => {
    if (agenda.get(caseId) === at) return
    agenda.set(caseId, at)
    heap.push(at, caseId)
    // Rescheduling leaves stale entries behind; rebuild before they outnumber the live ones.
    if (heap.size > 2 * agenda.size + 1024) {
      while (heap.pop() !== undefined);
      for (const [id, when] of agenda) heap.push(when, id)
    }
  }

  const reschedule = (caseId: string): void => {
    const projected = openCases.get(caseId)
    let next: PendingThreshold | null = null
    try {
      next = projected === undefined ? null : nextSlaThreshold(projected.state)
    } catch (error) {
      log.error({ err: error, caseId }, 'cannot compute the SLA clock of this case; it is not scheduled')
    }
    if (next === null) agenda.delete(caseId)
    else schedule(caseId, next.at.getTime())
  }

  const fire = async (caseId: string, at: Date): Promise<void> => {
    const nowIso = at.toISOString()
    try {
      // Each check is the root of a trace of its own: the thresholds it records, and the notices
      // and escalations they lead to in other services, can be followed like a citizen's request.
      await inSpan('sla check', { kind: 'internal', parent: null, attributes: { 'civic.component': 'sla-scheduler' } }, async () => {
        const result = await executeOnCase(store, caseId, (loaded): CaseCommand | null => {
          if (loaded.state.status === 'none') return null
          // Decided on the stream as stored, not on the projection, which may lag behind.
          const next = nextSlaThreshold(loaded.state)
          if (next === null || next.at.getTime() > at.getTime()) return null
          const eventId = deriveEventId(caseId, `sla:${next.clock}:${next.threshold}`)
          return {
            type: 'CheckSla',
            meta: { eventId, occurredAt: nowIso, actor: SLA_SCHEDULER_ACTOR, correlationId: eventId, causationId: null },
            data: { now: nowIso },
          }
        })
        failures.delete(caseId)
        if (result.events.length > 0) {
          recorded += result.events.length
          countSlaEvents(result.events)
          log.info({ caseId, events: result.events.map((e) => e.type), eventIds: result.events.map((e) => e.eventId), revision: result.revision }, 'SLA thresholds recorded')
        }
      })
      // The projection reschedules the case when it sees the new events; a no-op leaves it
      // unscheduled until its next event, which is right: nothing is due for it.
    } catch (error) {
      const attempt = (failures.get(caseId) ?? 0) + 1
      failures.set(caseId, attempt)
      const backoff = retryDelayMs(attempt, { minMs: intervalMs * 2, maxMs: MAX_RETRY_BACKOFF_MS })
      log.warn({ err: error, caseId, attempt, retryInMs: backoff }, 'could not record SLA thresholds; will retry')
      if (!agenda.has(caseId)) schedule(caseId, at.getTime() + backoff)
    }
  }

  const tick = async (): Promise<void> => {
    const at = now()
    const nowMs = at.getTime()
    for (let top = heap.peek(); !stopped && top !== undefined && top.key <= nowMs; top = heap.peek()) {
      heap.pop()
      const caseId = top.value
      if (agenda.get(caseId) !== top.key) continue
      agenda.delete(caseId)
      await fire(caseId, at)
    }
  }

  const run = (): void => {
    timer = undefined
    inFlight = tick()
      .catch((error: unknown) => log.error({ err: error }, 'SLA tick failed'))
      .then(() => {
        ticks++
        if (!stopped) {
          timer = setTimeout(run, intervalMs)
          timer.unref()
        }
      })
  }

  // Listen first, then seed: a case changed in between is rescheduled twice, never missed.
  const unsubscribe = openCases.onChange(reschedule)
  // civic_open_cases: counted from the projection when Prometheus scrapes, never kept up to date in between.
  const removeOpenCases = processMetrics()?.addScrapeSource('openCases', () => openCaseCounts(openCases, now()))
  for (const projected of openCases.all()) reschedule(projected.state.caseId)
  timer = setTimeout(run, 0)
  timer.unref()
  log.info({ intervalMs, scheduled: agenda.size }, 'SLA scheduler started')

  return {
    get ticks() {
      return ticks
    },
    get recorded() {
      return recorded
    },
    get scheduled() {
      return agenda.size
    },
    async stop() {
      stopped = true
      unsubscribe()
      removeOpenCases?.()
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await inFlight
    },
  }
}

/** Counts the thresholds a tick recorded (civic_sla_warnings_total, _breaches_total, _escalations_total) by directorate. */
function countSlaEvents(events: readonly { readonly type: string; readonly data?: unknown }[]): void {
  const metrics = processMetrics()
  if (metrics === undefined) return
  for (const event of events) {
    const directorate = (event.data as { readonly department?: unknown } | undefined)?.department
    if (typeof directorate !== 'string') continue
    if (event.type === 'SlaWarningRaised') metrics.slaWarnings.inc({ directorate })
    else if (event.type === 'SlaBreached') metrics.slaBreaches.inc({ directorate })
    else if (event.type === 'CaseEscalated') metrics.slaEscalations.inc({ directorate })
  }
}

/** Open cases (in a queue status) by directorate and SLA level at `now`: `none` for a case without a clock. */
export function openCaseCounts(openCases: Pick<OpenCases, 'all'>, now: Date): Array<readonly [{ readonly directorate: string; readonly sla_level: string }, number]> {
  const counts = new Map<string, { directorate: string; sla_level: string; n: number }>()
  for (const { state } of openCases.all()) {
    if (!isQueueStatus(state.status) || state.department === null) continue
    const level = state.sla === null ? 'none' : slaPositionAt(state.sla, now).level
    const key = `${state.department}\n${level}`
    const entry = counts.get(key)
    if (entry === undefined) counts.set(key, { directorate: state.department, sla_level: level, n: 1 })
    else entry.n++
  }
  return [...counts.values()].map(({ directorate, sla_level, n }) => [{ directorate, sla_level }, n] as const)
}
