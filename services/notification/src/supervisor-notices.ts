/**
 * Tells a directorate's supervisors, through the contacts the catalogue gives them, when one of
 * their cases is escalated: one message per escalation and contact. A breach is announced on its
 * own only when no escalation of the same clock is recorded: the SLA scheduler records both in one
 * append, and the escalation message already says the deadline passed.
 *
 * Its own consumer group (`notification-supervisors`), beside the citizens' notifier: the two
 * never hold each other up, and each keeps its own position. Exactly once rests on the ledger:
 * message ids are derived from the event id and the contact, and a redelivered event (Kafka after
 * a rebalance, a restart before the offset was committed) finds its messages there.
 */
import { categoryByCode, departmentByCode, type CaseEvent, type Catalogue } from '@civic-desk/contracts'
import { clockOf, deriveEventId, evolve, initialState, type CaseState } from '@civic-desk/case-domain'
import { loadCase, type CaseFeed, type CaseFeedEvent, type Consumer } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { NonRetriableError } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { dispatchToSupervisors, type SupervisorChannels } from './supervisor-delivery.ts'
import type { SupervisorLedger } from './supervisor-ledger.ts'
import { caseConsoleUrl, renderCaseNotice, type SupervisorCaseLine } from './supervisor-templates.ts'

/** Default consumer group of the supervisors' notices. */
export const SUPERVISOR_NOTICES_GROUP = 'notification-supervisors'

export interface SupervisorNoticesOptions {
  readonly feed: CaseFeed
  readonly store: EventStore
  readonly catalogue: Catalogue
  readonly ledger: SupervisorLedger
  readonly channels: SupervisorChannels
  readonly logger: Logger
  readonly now?: () => Date
  readonly groupId?: string
  /** Base address of the operator console; each message links to the case there. */
  readonly consoleUrl?: string
  readonly municipalityName: string
}

export interface SupervisorNoticesStatus {
  readonly sent: number
  readonly failed: number
  readonly skipped: number
  readonly lastError: string | null
}

export interface SupervisorNotices {
  status(): SupervisorNoticesStatus
  /** Stops consuming; a send in flight is abandoned unrecorded (redelivered later; receivers dedupe by id). */
  stop(): Promise<void>
}

/** The case line a supervisor sees: reference, category, deadline, link. Nothing of the citizen. */
export function supervisorCaseLine(state: CaseState, catalogue: Catalogue, dueAt: string, consoleUrl: string | undefined): SupervisorCaseLine {
  if (state.status === 'none') throw new RangeError('a case line needs a case')
  const category = state.category === null ? undefined : categoryByCode(catalogue, state.category)
  return {
    caseId: state.caseId,
    trackingCode: state.trackingCode,
    ...(state.category === null ? {} : { category: state.category }),
    ...(category === undefined ? {} : { categoryNameTr: category.nameTr }),
    dueAt,
    escalated: state.sla?.escalated ?? false,
    ...(consoleUrl === undefined ? {} : { consoleUrl: caseConsoleUrl(consoleUrl, state.trackingCode) }),
  }
}

type Outcome = 'sent' | 'failed' | 'skipped'

/** Starts consuming escalations and breaches. */
export async function startSupervisorNotices(options: SupervisorNoticesOptions): Promise<SupervisorNotices> {
  const { store, feed, catalogue, ledger, channels, logger } = options
  const now = options.now ?? (() => new Date())
  const abort = new AbortController()
  const log = logger.child({ component: 'supervisor-notices' })
  let failure: string | null = null

  async function handle({ caseId, revision, event }: CaseFeedEvent): Promise<Outcome> {
    if (event.type !== 'CaseEscalated' && event.type !== 'SlaBreached') return 'skipped'
    const { department, clock } = event.data
    const directorate = departmentByCode(catalogue, department)
    const contact = directorate?.supervisors
    if (directorate === undefined || contact === undefined) return 'skipped'
    const loaded = await loadCase(store, caseId)
    const events: CaseEvent[] = loaded.records.map((r) => r.event)
    if (event.type === 'SlaBreached' && events.some((e) => e.type === 'CaseEscalated' && e.data.clock === clock)) return 'skipped'
    // As the case stood at the event: a later transfer or answer does not change what happened.
    const atEvent = loaded.records.filter((r) => r.revision <= revision).reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
    if (atEvent.status === 'none') throw new NonRetriableError(`case ${caseId} has no event at revision ${revision}`)
    const breach = events.find((e): e is Extract<CaseEvent, { type: 'SlaBreached' }> => e.type === 'SlaBreached' && e.data.clock === clock)
    const dueAt = event.type === 'SlaBreached' ? event.data.dueAt : (breach?.data.dueAt ?? (atEvent.sla === null ? null : clockOf(atEvent.sla).dueAt?.toISOString()))
    if (dueAt === null || dueAt === undefined) throw new NonRetriableError(`case ${caseId}: escalation without a due instant`)
    const line = supervisorCaseLine(atEvent, catalogue, dueAt, options.consoleUrl)
    const kind = event.type === 'CaseEscalated' ? 'escalation' : 'breach'
    const result = await dispatchToSupervisors(
      {
        kind,
        department,
        departmentNameTr: directorate.nameTr,
        contact,
        message: renderCaseNotice({ kind, departmentNameTr: directorate.nameTr, line, municipalityName: options.municipalityName }),
        lines: [line],
        caseId,
        digestDate: null,
        idFor: (target) => deriveEventId(event.eventId, `supervisors:${target}`),
      },
      { ledger, channels, now, logger: log.child({ caseId, eventId: event.eventId }), signal: abort.signal },
    )
    if (result.failed > 0) {
      failure = `case ${caseId}: ${result.failed} supervisors message(s) failed after the last try`
      return 'failed'
    }
    return result.sent + result.kept > 0 ? 'sent' : 'skipped'
  }

  const consumer: Consumer = await feed.consume({
    groupId: options.groupId ?? SUPERVISOR_NOTICES_GROUP,
    types: new Set(['CaseEscalated', 'SlaBreached']),
    handle,
    // Few events, each with a send: no need for many lanes.
    concurrency: 4,
  })

  return {
    status() {
      const { outcomes, lastError } = consumer.status()
      return { sent: outcomes['sent'] ?? 0, failed: outcomes['failed'] ?? 0, skipped: outcomes['skipped'] ?? 0, lastError: lastError ?? failure }
    },
    async stop() {
      abort.abort(new Error('supervisor notices stopping'))
      await consumer.stop()
    },
  }
}
