/**
 * When the personal data of a case is due for destruction: the catalogue says how long it is kept
 * after the case ended (per category, else catalogue-wide, else 2 years), and the event log
 * says which category each case has, when it was closed and whether it was erased already.
 *
 * The facts come from one pass over the case streams of the log (`scanRetentionFacts`, pages of
 * `readAll`), reading clear fields only: the categories of CaseSubmitted / CaseRouted /
 * CaseMarkedDuplicate / CaseTransferred, the status every event leads to (`lifecycleAfter`, the
 * rule every read model uses), when the case ended (resolved, rejected or closed, whichever came
 * first since its last reopening), and PersonalDataErased. No sealed
 * field is opened, so the scan needs no key.
 */
import { CASE_EVENT_TYPES, lifecycleAfter, personalDataRetentionOf, SUBMITTED_LIFECYCLE, type Catalogue, type CaseEventType, type CaseLifecycle, type Retention } from '@civic-desk/contracts'
import type { EventStore, RecordedEvent } from '@civic-desk/event-store'

const CASE_PREFIX = 'case-'


/** Statuses in which a case has ended: its retention period runs from the first of them. */
const ENDED: ReadonlySet<string> = new Set(['resolved', 'rejected', 'closed'])
/** What retention needs to know of one case. */
export interface CaseRetentionFacts {
  readonly caseId: string
  /** The last category routing or a transfer named, else the one the citizen chose; null when none. */
  readonly category: string | null
  /** When the case was last closed; null while it is open (never closed, or reopened since). */
  readonly closedAt: string | null
  /** A PersonalDataErased event was seen: nothing left to destroy. */
  readonly erased: boolean
}

/** A case whose personal data is due for destruction. */
export interface DueCase extends CaseRetentionFacts {
  readonly closedAt: string
  readonly retention: Retention
  /** closedAt + retention: from this instant on the data must go. */
  readonly dueAt: string
}

interface MutableFacts {
  submittedCategory: string | null
  routedCategory: string | null
  lifecycle: CaseLifecycle
  closedAt: string | null
  erased: boolean
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const isCaseEventType = (type: string): type is CaseEventType => CASE_EVENT_TYPES.has(type as CaseEventType)

function occurredAtOf(event: RecordedEvent): string {
  const at = isRecord(event.metadata) ? event.metadata['occurredAt'] : undefined
  return typeof at === 'string' && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : event.recordedAt
}

function categoryOf(event: RecordedEvent): string | null {
  const category = isRecord(event.data) ? event.data['category'] : undefined
  return typeof category === 'string' && category !== '' ? category : null
}

/** Folds case events, in log order, into each case's retention facts (pure; no store). */
export class RetentionFactsFold {
  readonly #cases = new Map<string, MutableFacts>()

  /** Takes one recorded event; events of other streams and of types this code does not know are skipped. */
  add(event: RecordedEvent): void {
    if (!event.streamId.startsWith(CASE_PREFIX) || !isCaseEventType(event.type)) return
    const caseId = event.streamId.slice(CASE_PREFIX.length)
    let facts = this.#cases.get(caseId)
    if (facts === undefined) {
      facts = { submittedCategory: null, routedCategory: null, lifecycle: SUBMITTED_LIFECYCLE, closedAt: null, erased: false }
      this.#cases.set(caseId, facts)
    }
    switch (event.type) {
      case 'CaseSubmitted':
        facts.submittedCategory ??= categoryOf(event)
        break
      case 'CaseRouted':
      case 'CaseMarkedDuplicate':
      case 'CaseTransferred':
        facts.routedCategory = categoryOf(event) ?? facts.routedCategory
        break
      case 'PersonalDataErased':
        facts.erased = true
        break
      default:
        break
    }
    facts.lifecycle = lifecycleAfter(facts.lifecycle, event.type)
    // The case ended when it was answered, refused or closed, whichever came first; a reopening
    // starts it again. (A resolved case nobody closes must not keep its data for ever.)
    if (!ENDED.has(facts.lifecycle.status)) facts.closedAt = null
    else facts.closedAt ??= occurredAtOf(event)
  }

  /** How many cases were seen. */
  get size(): number {
    return this.#cases.size
  }

  /** The facts of every case seen, in the order their streams first appeared. */
  facts(): CaseRetentionFacts[] {
    return [...this.#cases].map(([caseId, f]) => ({ caseId, category: f.routedCategory ?? f.submittedCategory, closedAt: f.closedAt, erased: f.erased }))
  }
}

/** Progress of a scan: events read so far, and the log's head position when the scan began. */
export interface ScanProgress {
  readonly events: number
  readonly position: number
  readonly head: number
}

/** Reads every case stream of the log, page by page, into retention facts. */
export async function scanRetentionFacts(
  store: EventStore,
  options: { readonly pageSize?: number; readonly onProgress?: (progress: ScanProgress) => void } = {},
): Promise<CaseRetentionFacts[]> {
  const pageSize = options.pageSize ?? 2000
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a whole number ≥ 1, got ${pageSize}`)
  const head = await store.headPosition()
  const fold = new RetentionFactsFold()
  let after = 0
  let events = 0
  for (;;) {
    const page = await store.readAll({ after, maxCount: pageSize, streamPrefix: CASE_PREFIX })
    if (page.length === 0) break
    for (const event of page) fold.add(event)
    events += page.length
    after = page[page.length - 1]?.position ?? after
    options.onProgress?.({ events, position: after, head })
    if (page.length < pageSize) break
  }
  return fold.facts()
}

/**
 * `at` + the retention period, in UTC calendar months: a day the target month lacks becomes its
 * last day (closed on 29 February 2024, kept 2 years: due on 28 February 2026).
 */
export function retentionEnds(at: Date, retention: Retention): Date {
  const months = 'years' in retention ? retention.years * 12 : retention.months
  const end = new Date(at.getTime())
  const day = end.getUTCDate()
  end.setUTCDate(1)
  end.setUTCMonth(end.getUTCMonth() + months)
  const lastDay = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate()
  end.setUTCDate(Math.min(day, lastDay))
  return end
}

/** The cases whose personal data must go at `now`: closed, not erased, and closedAt + retention ≤ now; oldest due first. */
export function dueCases(facts: Iterable<CaseRetentionFacts>, catalogue: Catalogue, now: Date): DueCase[] {
  const due: DueCase[] = []
  for (const f of facts) {
    if (f.closedAt === null || f.erased) continue
    const retention = personalDataRetentionOf(catalogue, f.category)
    const dueAt = retentionEnds(new Date(f.closedAt), retention)
    if (dueAt.getTime() <= now.getTime()) due.push({ ...f, closedAt: f.closedAt, retention, dueAt: dueAt.toISOString() })
  }
  return due.sort((a, b) => (a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0))
}
