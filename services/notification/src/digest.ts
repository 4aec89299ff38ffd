/**
 * The daily digest: at a set Istanbul time (08:30 by default), one message per directorate with
 * supervisor contacts, listing its open cases whose deadline has passed, most overdue first.
 * Directorates with nothing overdue get nothing.
 *
 * Where the overdue cases come from: the notification service follows the log itself, through a
 * catch-up projection of the case feed (every case folded with the domain's `evolve`, so "overdue"
 * is the very clock rule the SLA scheduler and the queues apply, pauses included). The workflow
 * service's projection lives in another process in distributed mode; asking it over HTTP would tie
 * the digest to its availability and its access rules. The price is the cases in memory a second
 * time, like the workflow's queue projection (fine for a district municipality).
 *
 * Once a day, across restarts: each message has an id derived from (directorate, date, contact)
 * and the ledger is consulted before each send; the date is marked done once every directorate was
 * handled. A process that was down at 08:30 sends the day's digest when it comes back (the same
 * day); one that comes back on a later day sends that day's only.
 */
import { categoryByCode, isQueueStatus, type Catalogue } from '@civic-desk/contracts'
import { clockOf, evolve, initialState, uuidV5, type CaseState } from '@civic-desk/case-domain'
import type { CaseFeed, CatchUpProjection } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import type { Logger } from '@civic-desk/service-kit'
import { CALENDAR_ZONE } from '@civic-desk/calendar'
import { AbortError } from './delivery.ts'
import { dispatchToSupervisors, type SupervisorChannels } from './supervisor-delivery.ts'
import type { SupervisorLedger } from './supervisor-ledger.ts'
import { supervisorCaseLine } from './supervisor-notices.ts'
import { queueConsoleUrl, renderDigest, type SupervisorCaseLine } from './supervisor-templates.ts'

/** Name of the digest's projection among the readers of the log. */
export const DIGEST_PROJECTION_NAME = 'notification-overdue-digest'

/** Default Istanbul time of the digest. */
export const DEFAULT_DIGEST_TIME = '08:30'

/** Default time between two looks at the clock. */
export const DEFAULT_DIGEST_TICK_MS = 30_000

/** `HH:MM`, 24-hour. */
export const DIGEST_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/

// Namespace of digest message ids (a fixed, random UUID).
const DIGEST_NAMESPACE = Buffer.from('3b0f6f8e2c8d4a51b7e94d2a6c1f0e77', 'hex')

/** The id of a directorate's digest of one Istanbul date, for one contact. */
export function digestMessageId(department: string, localDate: string, target: string): string {
  return uuidV5(DIGEST_NAMESPACE, `${department}\n${localDate}\n${target}`)
}

const ISTANBUL_PARTS = new Intl.DateTimeFormat('en-GB', {
  timeZone: CALENDAR_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/** The Istanbul date (`YYYY-MM-DD`) and minute of the day of an instant. */
export function istanbulClock(instant: Date): { readonly localDate: string; readonly minuteOfDay: number } {
  const parts = Object.fromEntries(ISTANBUL_PARTS.formatToParts(instant).map((p) => [p.type, p.value]))
  return { localDate: `${parts['year']}-${parts['month']}-${parts['day']}`, minuteOfDay: Number(parts['hour']) * 60 + Number(parts['minute']) }
}

/** An open case past its deadline. */
export interface OverdueCase {
  readonly state: CaseState
  readonly trackingCode: string
  readonly dueAt: Date
}

/** The open cases of each directorate whose deadline is at or before `now`, most overdue first. */
export function overdueByDepartment(cases: Iterable<CaseState>, now: Date): Map<string, OverdueCase[]> {
  const result = new Map<string, OverdueCase[]>()
  for (const state of cases) {
    if (state.status === 'none' || !isQueueStatus(state.status) || state.department === null || state.sla === null) continue
    // Null while a pause holds the clock before its due instant: not overdue.
    const dueAt = clockOf(state.sla).dueAt
    if (dueAt === null || dueAt.getTime() > now.getTime()) continue
    const list = result.get(state.department) ?? []
    list.push({ state, trackingCode: state.trackingCode, dueAt })
    result.set(state.department, list)
  }
  // Most overdue first; the tracking code makes the order total, so a resent list reads the same.
  for (const list of result.values()) list.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.trackingCode.localeCompare(b.trackingCode))
  return result
}

export interface OverdueDigestOptions {
  readonly feed: CaseFeed
  readonly store: EventStore
  readonly catalogue: Catalogue
  readonly ledger: SupervisorLedger
  readonly channels: SupervisorChannels
  readonly logger: Logger
  /** The clock; injected so tests decide what "now" is. */
  readonly now: () => Date
  /** Istanbul time of day, `HH:MM`. Default 08:30. */
  readonly at?: string
  /** Time between looks at the clock. Default 30 s. */
  readonly intervalMs?: number
  readonly consoleUrl?: string
  readonly municipalityName: string
  /** How long a digest waits for the projection to reach the head of the log. Default 120 s. */
  readonly catchUpTimeoutMs?: number
}

export interface DigestRun {
  readonly localDate: string
  /** Directorates a digest went to (or was kept for), and those that had nothing overdue. */
  readonly departments: readonly string[]
  readonly empty: readonly string[]
}

export interface OverdueDigest {
  readonly projection: CatchUpProjection
  /** Looks at the clock and sends the day's digest when it is due and not done; resolves with what it did, or null. */
  tick(): Promise<DigestRun | null>
  /** Stops the timer and the projection; resolves once a run in flight has stopped. */
  stop(): Promise<void>
}

/** Starts the projection and the timer; the first look at the clock is at once. */
export function startOverdueDigest(options: OverdueDigestOptions): OverdueDigest {
  const { store, catalogue, ledger, channels, now } = options
  const at = options.at ?? DEFAULT_DIGEST_TIME
  const match = DIGEST_TIME.exec(at)
  if (match === null) throw new RangeError(`digest time must be HH:MM (24-hour), got ${JSON.stringify(at)}`)
  const atMinute = Number(match[1]) * 60 + Number(match[2])
  const intervalMs = options.intervalMs ?? DEFAULT_DIGEST_TICK_MS
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`)
  const log = options.logger.child({ component: 'overdue-digest' })
  const abort = new AbortController()
  const directorates = catalogue.departments.filter((d) => d.supervisors !== undefined)

  const cases = new Map<string, CaseState>()
  const projection = options.feed.project({
    name: DIGEST_PROJECTION_NAME,
    apply: ({ caseId, event }) => {
      cases.set(caseId, evolve(cases.get(caseId) ?? initialState(), event))
    },
  })

  async function run(): Promise<DigestRun | null> {
    const instant = now()
    const { localDate, minuteOfDay } = istanbulClock(instant)
    if (minuteOfDay < atMinute || directorates.length === 0 || ledger.digestDone(localDate)) return null
    // The list must include every case recorded before the digest, not what a lagging fold holds.
    await projection.waitUntil(await store.headPosition(), { timeoutMs: options.catchUpTimeoutMs ?? 120_000 })
    const overdue = overdueByDepartment(cases.values(), instant)
    const sent: string[] = []
    const empty: string[] = []
    for (const d of directorates) {
      const contact = d.supervisors
      const list = overdue.get(d.code) ?? []
      if (contact === undefined || list.length === 0) {
        empty.push(d.code)
        continue
      }
      const lines: SupervisorCaseLine[] = list.map(({ state, dueAt }) => supervisorCaseLine(state, catalogue, dueAt.toISOString(), options.consoleUrl))
      const message = renderDigest({
        departmentNameTr: d.nameTr,
        at: instant.toISOString(),
        localDate,
        lines,
        ...(options.consoleUrl === undefined ? {} : { queueUrl: queueConsoleUrl(options.consoleUrl, d.code) }),
        municipalityName: options.municipalityName,
      })
      await dispatchToSupervisors(
        { kind: 'digest', department: d.code, departmentNameTr: d.nameTr, contact, message, lines, caseId: null, digestDate: localDate, idFor: (target) => digestMessageId(d.code, localDate, target) },
        { ledger, channels, now, logger: log.child({ digestDate: localDate }), signal: abort.signal },
      )
      sent.push(d.code)
    }
    ledger.markDigestDone(localDate, now().toISOString())
    log.info({ digestDate: localDate, departments: sent.length, empty: empty.length }, 'daily digest of overdue cases done')
    return { localDate, departments: sent, empty }
  }

  let inFlight: Promise<DigestRun | null> | undefined
  const tick = (): Promise<DigestRun | null> => {
    // One run at a time: a slow send must not start a second digest beside it.
    inFlight ??= run().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const loop = (): void => {
    tick()
      .catch((error: unknown) => {
        if (error instanceof AbortError || stopped) return
        // Tried again at the next look: messages already sent are in the ledger and are not repeated.
        log.error({ err: error }, 'daily digest failed; trying again at the next look')
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs)
      })
  }
  loop()

  return {
    projection,
    tick,
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      abort.abort(new Error('digest stopping'))
      await inFlight?.catch(() => undefined)
      await projection.close()
    },
  }
}
