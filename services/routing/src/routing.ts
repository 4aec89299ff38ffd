/**
 * The routing service's consumer: every CaseSubmitted on `civic.case-events.v1` becomes a
 * CaseRouted (or CaseMarkedDuplicate) in the case's own stream. The handler only loads,
 * decides and appends; the decision is `planRouting`'s, and the event id is derived from the
 * CaseSubmitted's, so a redelivered message, a second replica or a restart routes a case once.
 */
import { LRUCache } from 'lru-cache'
import type { BusinessCalendar } from '@civic-desk/calendar'
import { deriveEventId, type CaseCommand, type CommandMeta, type Submission } from '@civic-desk/case-domain'
import { executeOnCase, loadCaseFrom, type CaseFeed, type CaseFeedEvent, type Consumer } from '@civic-desk/case-feed'
import { departmentByCode, type Catalogue } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { processMetrics, type Logger } from '@civic-desk/service-kit'
import { createClassifier } from './classify.ts'
import { startDuplicateIndex } from './duplicate-index.ts'
import { duplicateScopes, planRouting, resolveRoute, resolveRoutingOptions, type Route, type RoutingOptionsInput } from './plan.ts'

/** Name the handler uses when deriving its event ids; changing it would route every case again. */
const HANDLER = 'routing'

/** Who routing's events are by. */
export const ROUTING_ACTOR = { kind: 'service', id: 'routing' } as const

export interface StartRoutingOptions {
  /** Where routing reads new cases and its duplicate index from. */
  readonly feed: CaseFeed
  /** Where it appends its decisions. */
  readonly store: EventStore
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
  /** Global position the duplicate index has applied. */
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


/**
 * Builds the duplicate index from the log and joins the routing consumer group. Throws at once
 * when the options are out of range or name a directorate the catalogue does not have.
 */
export async function startRouting(options: StartRoutingOptions): Promise<RoutingService> {
  const { store, feed, catalogue, calendar } = options
  const routingOptions = resolveRoutingOptions(options.options)
  for (const [name, code] of [
    ['fallbackDepartment', routingOptions.fallbackDepartment],
    ['informationDepartment', routingOptions.informationDepartment],
  ] as const) {
    if (departmentByCode(catalogue, code) === undefined) {
      throw new RangeError(`routing: ${name} "${code}" is not a department of the catalogue (known: ${catalogue.departments.map((d) => d.code).join(', ')})`)
    }
  }
  const known = new Set(catalogue.categories.map((c) => c.code))
  for (const code of routingOptions.duplicateGroups.flat()) {
    if (!known.has(code)) throw new RangeError(`routing: duplicateGroups names "${code}", which is not a category of the catalogue`)
  }
  const scopeOf = duplicateScopes(catalogue, routingOptions)
  const groupId = options.groupId ?? 'routing'
  const now = options.now ?? (() => new Date())
  const log = options.logger.child({ component: 'routing' })
  const classifier = createClassifier(catalogue)

  // The route of a new case is needed twice, by the index (before the case is routed) and by the
  // handler: classified once, kept for the cases in flight.
  const routes = new LRUCache<string, Route>({ max: 10_000 })
  const routeOf = (submission: Submission): Route => {
    let route = routes.get(submission.caseId)
    if (route === undefined) routes.set(submission.caseId, (route = resolveRoute(submission, catalogue, classifier, routingOptions)))
    return route
  }

  const index = startDuplicateIndex({
    feed,
    windowHours: routingOptions.duplicateWindowHours,
    categoryOf: (submission) => routeOf(submission).category?.code ?? null,
    scopeOf,
    ...(options.indexWaitTimeoutMs === undefined ? {} : { waitTimeoutMs: options.indexWaitTimeoutMs }),
  })

  // A degraded decision (routed on plain elapsed time) is not a failure of the message: noted here.
  let degraded: string | undefined
  let consumer: Consumer | undefined

  /** Every CaseSubmitted becomes a CaseRouted or CaseMarkedDuplicate; a case already routed needs nothing. */
  const handle = async (delivered: CaseFeedEvent): Promise<'routed' | 'duplicate' | 'skipped'> => {
    const { caseId, position, event: source } = delivered
    if (source.type !== 'CaseSubmitted') return 'skipped'
    // Every case submitted before this one must be in the index, or a just-reported duplicate is missed.
    await index.waitUntil(position)
    const route = routeOf(source.data)
    const { location } = source.data
    const candidates =
      route.category === null
        ? []
        : index.candidates({
            category: route.category.code,
            before: position,
            near: { neighbourhood: location?.neighbourhood, lat: location?.lat, lon: location?.lon, radiusMeters: routingOptions.duplicateRadiusMeters },
          })
    const grams = index.gramsOf(caseId)
    const plan = planRouting({ submission: source.data, catalogue, classifier, calendar, candidates, options: routingOptions, route, scopeOf, ...(grams === undefined ? {} : { submissionGrams: grams }) })
    const eventId = deriveEventId(source.eventId, HANDLER)
    const caseLog = log.child({ caseId, eventId, department: plan.data.department, sourceEventId: source.eventId, correlationId: source.correlationId })
    if (plan.calendarCoverageError !== null) {
      degraded = plan.calendarCoverageError.message
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
    // A case our store does not hold is refused by the decider: the skeleton dead-letters it. The
    // handed CaseSubmitted opens the stream, so only what follows it is read (usually nothing).
    const result = await executeOnCase(store, caseId, () => command, { loaded: await loadCaseFrom(store, caseId, [delivered]) })
    if (result.events.length === 0) {
      caseLog.debug('case already routed; nothing to do')
      return 'skipped'
    }
    // The flow's latency: from the request being stored to its routing being stored (clock of this host).
    processMetrics()?.flowRoutingDelay.observe(Math.max(0, Date.now() - Date.parse(delivered.recordedAt)) / 1000)
    if (plan.kind === 'routed') {
      caseLog.info({ category: plan.data.category, routedBy: plan.data.routedBy, dueAt: plan.data.sla.dueAt, basis: plan.data.sla.basis }, 'case routed')
      return 'routed'
    }
    caseLog.info(
      { category: plan.data.category, duplicateOf: plan.data.duplicateOf, match: plan.data.match, distanceMeters: plan.data.distanceMeters, similarity: plan.data.similarity, dueAt: plan.data.sla.dueAt },
      'case routed as a likely duplicate',
    )
    return 'duplicate'
  }

  try {
    consumer = await feed.consume({
      groupId,
      types: new Set(['CaseSubmitted']),
      handle,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
    })
  } catch (error) {
    await index.close()
    throw error
  }
  log.info({ groupId, source: feed.source, ...routingOptions }, 'routing started')
  const group = consumer

  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopped ??= (async () => {
        // Together: closing the index releases a handler waiting on it, which the group awaits.
        await Promise.all([group.stop(), index.close()])
        const { outcomes } = group.status()
        log.info({ ...outcomes, indexPosition: index.position }, 'routing stopped')
      })()
      return stopped
    },
    status() {
      const { running, outcomes, lastError } = group.status()
      const last = lastError ?? degraded
      return {
        running,
        routed: outcomes['routed'] ?? 0,
        duplicates: outcomes['duplicate'] ?? 0,
        skipped: outcomes['skipped'] ?? 0,
        indexPosition: index.position,
        ...(last === undefined ? {} : { lastError: last }),
      }
    },
  }
}
