/**
 * The routing service's consumer: every CaseSubmitted on `civic.case-events.v1` becomes a
 * CaseRouted (or CaseMarkedDuplicate) in the case's own stream. The handler only loads,
 * decides and appends; the decision is `planRouting`'s, and the event id is derived from the
 * CaseSubmitted's, so a redelivered message, a second replica or a restart routes a case once.
 */
import type { BusinessCalendar } from '@civic-desk/calendar'
import { CaseRuleViolation, caseStreamId, deriveEventId, executeOnCase, type CaseCommand, type CommandMeta } from '@civic-desk/case-domain'
import { CaseEvent, CaseEventMessage, departmentByCode, type Catalogue } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { NonRetriableError, TOPICS, type Bus, type BusMessage, type BusSubscription } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { createClassifier } from './classify.ts'
import { startOpenCaseIndex } from './open-cases.ts'
import { planRouting, resolveRoute, resolveRoutingOptions, type RoutingOptionsInput } from './plan.ts'

/** Name the handler uses when deriving its event ids; changing it would route every case again. */
const HANDLER = 'routing'

/** Who routing's events are by. */
export const ROUTING_ACTOR = { kind: 'service', id: 'routing' } as const

export interface StartRoutingOptions {
  readonly store: EventStore
  readonly bus: Bus
  readonly catalogue: Catalogue
  readonly calendar: BusinessCalendar
  readonly logger: Logger
  readonly options?: RoutingOptionsInput
  /** Consumer group on the case-events topic. Default `routing`. */
  readonly groupId?: string
  /** The clock for `occurredAt` of routing's events. Default `() => new Date()`. */
  readonly now?: () => Date
  /** Longest a message waits for the open-case index to reach it before it is retried. Default 10 s. */
  readonly indexWaitTimeoutMs?: number
  /** Handler attempts per message before the bus dead-letters it. Default: the bus's (5). */
  readonly maxAttempts?: number
  /** Bus back-off before the 2nd attempt, doubling. Default: the bus's (100 ms). */
  readonly retryBackoffMs?: number
}

/** What routing has done since it started; served at `GET /v1/routing/status`. */
export interface RoutingStatus {
  /** False once `stop` was called. */
  readonly running: boolean
  /**
   * CaseRouted decisions this process appended. A decision the store skipped because it already
   * held the derived event id (another replica won the race) counts too: the store cannot say.
   */
  readonly routed: number
  /** CaseMarkedDuplicate decisions this process appended (same caveat). */
  readonly duplicates: number
  /** CaseSubmitted messages that needed nothing: the case was already routed (redelivery, another replica). */
  readonly skipped: number
  /** Global position the open-case index has applied. */
  readonly indexPosition: number
  /** The last failure or degraded decision (retried handler, dead letter, calendar coverage), if any. */
  readonly lastError?: string
}

/** A running routing consumer. */
export interface RoutingService {
  /** Leaves the consumer group (the message in flight finishes or stays uncommitted) and stops the index. Idempotent. */
  stop(): Promise<void>
  status(): RoutingStatus
}

function issuesText(issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}

/**
 * Builds the open-case index from the store and joins the routing consumer group. Throws at once
 * when the options are out of range or name a directorate the catalogue does not have.
 */
export async function startRouting(options: StartRoutingOptions): Promise<RoutingService> {
  const { store, bus, catalogue, calendar } = options
  const routingOptions = resolveRoutingOptions(options.options)
  for (const [name, code] of [
    ['fallbackDepartment', routingOptions.fallbackDepartment],
    ['informationDepartment', routingOptions.informationDepartment],
  ] as const) {
    if (departmentByCode(catalogue, code) === undefined) {
      throw new RangeError(`routing: ${name} "${code}" is not a department of the catalogue (known: ${catalogue.departments.map((d) => d.code).join(', ')})`)
    }
  }
  const groupId = options.groupId ?? 'routing'
  const now = options.now ?? (() => new Date())
  const log = options.logger.child({ component: 'routing' })
  const classifier = createClassifier(catalogue)

  const index = startOpenCaseIndex({
    store,
    logger: options.logger,
    windowHours: routingOptions.duplicateWindowHours,
    categoryOf: (submission) => resolveRoute(submission, catalogue, classifier, routingOptions).category?.code ?? null,
    ...(options.indexWaitTimeoutMs === undefined ? {} : { waitTimeoutMs: options.indexWaitTimeoutMs }),
  })

  let routed = 0
  let duplicates = 0
  let skipped = 0
  let lastError: string | undefined
  let running = true

  const handle = async (message: BusMessage<CaseEventMessage>): Promise<void> => {
    const { event: envelope, position, streamId } = message.value
    if (envelope.type !== 'CaseSubmitted') return
    const decoded = CaseEvent.safeParse(envelope)
    if (!decoded.success || decoded.data.type !== 'CaseSubmitted') {
      const reason = decoded.success ? 'not a CaseSubmitted' : issuesText(decoded.error.issues)
      lastError = `CaseSubmitted ${envelope.eventId} at position ${position} is invalid: ${reason}`
      throw new NonRetriableError(lastError)
    }
    const source = decoded.data
    const { caseId } = source.data
    if (streamId !== caseStreamId(caseId)) {
      lastError = `CaseSubmitted ${source.eventId} of case ${caseId} arrived from stream ${streamId}`
      throw new NonRetriableError(lastError)
    }

    try {
      // Every case submitted before this one must be in the index, or a just-reported duplicate is missed.
      await index.waitUntil(position)
      const route = resolveRoute(source.data, catalogue, classifier, routingOptions)
      const { location } = source.data
      const candidates =
        route.category === null
          ? []
          : index.candidates({
              category: route.category.code,
              before: position,
              near: { neighbourhood: location?.neighbourhood, lat: location?.lat, lon: location?.lon, radiusMeters: routingOptions.duplicateRadiusMeters },
            })
      const plan = planRouting({ submission: source.data, catalogue, classifier, calendar, candidates, options: routingOptions })
      const eventId = deriveEventId(source.eventId, HANDLER)
      const caseLog = log.child({ caseId, eventId, department: plan.data.department, sourceEventId: source.eventId, correlationId: source.correlationId })
      if (plan.calendarCoverageError !== null) {
        lastError = plan.calendarCoverageError.message
        caseLog.error(
          { err: plan.calendarCoverageError, sla: plan.data.sla, legalDueAt: plan.data.legalDueAt },
          'holiday data does not cover this deadline: applied as plain elapsed time (a day = 24 h); extend the holiday file',
        )
      }
      const meta: CommandMeta = {
        eventId,
        occurredAt: now().toISOString(),
        actor: ROUTING_ACTOR,
        correlationId: source.correlationId,
        causationId: source.eventId,
      }
      const command: CaseCommand = plan.kind === 'routed' ? { type: 'RouteCase', meta, data: plan.data } : { type: 'MarkDuplicate', meta, data: plan.data }
      const result = await executeOnCase(store, caseId, () => command)
      if (result.events.length === 0) {
        skipped++
        caseLog.debug('case already routed; nothing to do')
        return
      }
      if (plan.kind === 'routed') {
        routed++
        caseLog.info({ category: plan.data.category, routedBy: plan.data.routedBy, dueAt: plan.data.sla.dueAt, basis: plan.data.sla.basis }, 'case routed')
      } else {
        duplicates++
        caseLog.info(
          { category: plan.data.category, duplicateOf: plan.data.duplicateOf, match: plan.data.match, distanceMeters: plan.data.distanceMeters, similarity: plan.data.similarity, dueAt: plan.data.sla.dueAt },
          'case routed as a likely duplicate',
        )
      }
    } catch (error) {
      if (error instanceof CaseRuleViolation) {
        // The message names a case our store does not hold: retrying cannot make it appear.
        lastError = `case ${caseId}: ${error.message}`
        throw new NonRetriableError(lastError, { cause: error })
      }
      lastError = `case ${caseId}: ${error instanceof Error ? error.message : String(error)}`
      throw error // infrastructure: the bus retries with back-off
    }
  }

  let subscription: BusSubscription
  try {
    subscription = await bus.subscribe({
      topic: TOPICS.caseEvents,
      groupId,
      fromBeginning: true,
      schema: CaseEventMessage,
      handler: handle,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
    })
  } catch (error) {
    await index.close()
    throw error
  }
  log.info({ groupId, topic: TOPICS.caseEvents, ...routingOptions }, 'routing started')

  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopped ??= (async () => {
        running = false
        // Together: closing the index releases a handler waiting on it, which the bus awaits.
        await Promise.all([subscription.close(), index.close()])
        log.info({ routed, duplicates, skipped, indexPosition: index.position }, 'routing stopped')
      })()
      return stopped
    },
    status() {
      return {
        running,
        routed,
        duplicates,
        skipped,
        indexPosition: index.position,
        ...(lastError === undefined ? {} : { lastError }),
      }
    },
  }
}
