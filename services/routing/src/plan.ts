/**
 * The routing decision as a pure function: which directorate answers a new case, when its first
 * SLA clock runs out, and whether it repeats an earlier open case. No I/O and no clock: the
 * catalogue, the classifier, the business calendar and the duplicate candidates come in as
 * arguments, so the same submission always yields the same decision.
 */
import { CalendarCoverageError, type BusinessCalendar, type Deadline } from '@civic-desk/calendar'
import type { Submission } from '@civic-desk/case-domain'
import {
  categoryByCode,
  type Catalogue,
  type CaseMarkedDuplicateV1,
  type CaseRoutedV1,
  type Category,
  type DeadlineBasis,
  type DeadlineTerms,
  type RoutedBy,
  type SlaTerms,
} from '@civic-desk/contracts'
import { normalizeNeighbourhood, words } from '@civic-desk/case-domain'
import type { Classifier } from './classify.ts'

/** Tunables of routing; every one has a default (`DEFAULT_ROUTING_OPTIONS`). */
export interface RoutingOptions {
  /** How far apart (either way) two submissions may be to count as the same problem. Default 72. */
  readonly duplicateWindowHours: number
  /** Two located cases of a category this close are the same problem. Default 150. */
  readonly duplicateRadiusMeters: number
  /** Least description similarity (0..1, see `textSimilarity`) for a same-neighbourhood match. Default 0.45. */
  readonly textSimilarity: number
  /** Directorate of requests nothing else places: the Beyaz Masa itself. Default `halkla-iliskiler`. */
  readonly fallbackDepartment: string
  /** Directorate of information requests (Law 4982) that name no category. Default `bilgi-edinme`. */
  readonly informationDepartment: string
  /**
   * Groups of related categories (codes) whose reports are compared with each other for
   * duplicates; a category in no group is compared within its directorate. Default none.
   */
  readonly duplicateGroups: readonly (readonly string[])[]
}

/** Routing options as callers give them: any subset, the rest from the defaults. */
export type RoutingOptionsInput = Partial<RoutingOptions>

/** The defaults of `RoutingOptions`. */
export const DEFAULT_ROUTING_OPTIONS: RoutingOptions = Object.freeze({
  duplicateWindowHours: 72,
  duplicateRadiusMeters: 150,
  textSimilarity: 0.45,
  fallbackDepartment: 'halkla-iliskiler',
  informationDepartment: 'bilgi-edinme',
  duplicateGroups: Object.freeze([]),
})

/** Merges options with the defaults and checks the ranges; throws a `RangeError` naming the bad one. */
export function resolveRoutingOptions(input: RoutingOptionsInput = {}): RoutingOptions {
  const options = { ...DEFAULT_ROUTING_OPTIONS, ...input }
  const { duplicateWindowHours: window, duplicateRadiusMeters: radius, textSimilarity: similarity } = options
  if (!Number.isFinite(window) || window <= 0) throw new RangeError(`duplicateWindowHours must be a number > 0, got ${window}`)
  if (!Number.isFinite(radius) || radius < 0) throw new RangeError(`duplicateRadiusMeters must be a number >= 0, got ${radius}`)
  if (!Number.isFinite(similarity) || similarity <= 0 || similarity > 1) throw new RangeError(`textSimilarity must be a number in (0, 1], got ${similarity}`)
  const grouped = new Set<string>()
  for (const group of options.duplicateGroups) {
    if (group.length < 2) throw new RangeError(`duplicateGroups: a group needs at least two categories, got [${group.join(', ')}]`)
    for (const code of group) {
      if (grouped.has(code)) throw new RangeError(`duplicateGroups: category "${code}" is in more than one group`)
      grouped.add(code)
    }
  }
  return options
}

/** Where a case goes and why, before deadlines and duplicates. */
export interface Route {
  readonly department: string
  readonly category: Category | null
  readonly routedBy: RoutedBy
  readonly matchedKeywords: readonly string[]
}

/**
 * The directorate for a submission: the citizen's category; an information request without one
 * goes to the information unit; else the classifier's best match on the description; else the
 * fallback directorate with no category.
 */
export function resolveRoute(submission: Submission, catalogue: Catalogue, classifier: Classifier, options: RoutingOptions): Route {
  if (submission.category !== undefined) {
    const category = categoryByCode(catalogue, submission.category)
    // Intake validated the code, but the catalogue may have changed since: then classify the text.
    if (category !== undefined) return { department: category.department, category, routedBy: 'category', matchedKeywords: [] }
  }
  if (submission.kind === 'information') {
    // Law 4982 requests belong to the information unit whatever they are about, so the keywords
    // (which would send "yol çalışmasının ihale belgeleri" to public works) are not asked. The
    // unit's information category carries the 15-working-day terms; `routedBy` says `category`
    // because the request kind fixes it as surely as a chosen category would.
    const category = catalogue.categories.find((c) => c.department === options.informationDepartment && c.legalDeadline === 'information')
    return category === undefined
      ? { department: options.informationDepartment, category: null, routedBy: 'fallback', matchedKeywords: [] }
      : { department: category.department, category, routedBy: 'category', matchedKeywords: [] }
  }
  const best = classifier.classify(submission.description)[0]
  if (best !== undefined) {
    return { department: best.category.department, category: best.category, routedBy: 'keywords', matchedKeywords: best.matched.slice(0, 50) }
  }
  return { department: options.fallbackDepartment, category: null, routedBy: 'fallback', matchedKeywords: [] }
}

/** The instant a case's clocks start from: when the citizen applied, if the channel said, else when intake received it. */
export function submittedAtOf(submission: Submission): string {
  return submission.submittedAt ?? submission.receivedAt
}

/** The first SLA clock and the legal limit of a case. */
export interface Deadlines {
  readonly sla: SlaTerms
  readonly legalDueAt: string | null
  /**
   * Set when the holiday data did not reach a due date: the terms were then applied as plain
   * elapsed time (see `computeDeadlines`), and the caller should log it loudly.
   */
  readonly calendarCoverageError: CalendarCoverageError | null
}

interface Candidate {
  readonly deadline: DeadlineTerms
  readonly basis: DeadlineBasis
  readonly dueAt: Date
}

/** A deadline as plain hours: one day counts 24 h, whether working or calendar. */
function asPlainHours(deadline: Deadline): { readonly hours: number } {
  if ('hours' in deadline) return deadline
  if ('workingDays' in deadline) return { hours: deadline.workingDays * 24 }
  return { hours: deadline.calendarDays * 24 }
}

/**
 * The case's first clock and its legal limit.
 *
 * - Terms: the category's `sla` (basis `category`), or the municipal promise without a category.
 * - Law: information requests → Law 4982's working days (`information-law`); CİMER petitions →
 *   the CİMER calendar days (`cimer`); a category with `legalDeadline` likewise (KVKK's limit
 *   counts as `category`: the contracts have no KVKK basis, and a validated catalogue keeps a
 *   KVKK category's hours inside it anyway). Several laws: the earliest limit is `legalDueAt`.
 * - The clock runs to the earlier of terms and law; on a tie the law is named as the basis,
 *   since it is what cannot be missed.
 *
 * When the holiday data does not cover a date the computation needs (`CalendarCoverageError`),
 * the affected terms are applied as plain elapsed time, a day counting 24 hours, and recorded as
 * such (`deadline: { hours }`), so the stored terms always reproduce the stored due instant.
 * That is never later than the legal limit for calendar days and at most a few hours off for
 * working days (usually much earlier: weekends are not skipped), so staff are warned early
 * rather than late. Retrying would not help (the data only changes with a deployment) and
 * refusing would leave the case unrouted, so this is the least harmful answer; the error is
 * returned for the caller to log.
 */
export function computeDeadlines(submission: Submission, category: Category | null, catalogue: Catalogue, calendar: BusinessCalendar): Deadlines {
  const startedAt = submittedAtOf(submission)
  const start = new Date(startedAt)
  let coverage: CalendarCoverageError | null = null
  const due = (deadline: Deadline, basis: DeadlineBasis): Candidate => {
    try {
      return { deadline, basis, dueAt: calendar.dueAt(start, deadline) }
    } catch (error) {
      if (!(error instanceof CalendarCoverageError)) throw error
      coverage ??= error
      const plain = asPlainHours(deadline)
      return { deadline: plain, basis, dueAt: calendar.addHours(start, plain.hours) }
    }
  }

  const { deadlines } = catalogue
  const terms = category === null ? due(deadlines.municipalPromise, 'municipal-promise') : due(category.sla, 'category')

  const legal: Candidate[] = []
  if (submission.kind === 'information' || category?.legalDeadline === 'information') {
    legal.push(due({ workingDays: deadlines.information.workingDays }, 'information-law'))
  }
  if (submission.channel === 'cimer' || category?.legalDeadline === 'cimer') {
    legal.push(due({ calendarDays: deadlines.cimer.calendarDays }, 'cimer'))
  }
  if (category?.legalDeadline === 'kvkk') legal.push(due({ calendarDays: deadlines.kvkk.calendarDays }, 'category'))

  const earliestLegal = legal.reduce<Candidate | null>((best, c) => (best === null || c.dueAt.getTime() < best.dueAt.getTime() ? c : best), null)
  const clock = earliestLegal !== null && earliestLegal.dueAt.getTime() <= terms.dueAt.getTime() ? earliestLegal : terms
  return {
    sla: { clock: 1, startedAt: start.toISOString(), deadline: clock.deadline, basis: clock.basis, dueAt: clock.dueAt.toISOString() },
    legalDueAt: earliestLegal === null ? null : earliestLegal.dueAt.toISOString(),
    calendarCoverageError: coverage,
  }
}

/**
 * An earlier open case that a new one might repeat, as the open-case index keeps it. The text
 * fields may be raw or already normalised (`normalizeNeighbourhood`, `comparableText` are
 * idempotent).
 */
export interface DuplicateCandidate {
  readonly caseId: string
  readonly trackingCode: string
  /** The category the case was routed to (or will be: the submission's resolved one). */
  readonly category: string | null
  /** When the citizen applied (`submittedAt ?? receivedAt`), ISO-8601. */
  readonly submittedAt: string
  /** Global position of its CaseSubmitted: the order of arrival, for ties. */
  readonly position: number
  readonly neighbourhood: string | null
  readonly lat: number | null
  readonly lon: number | null
  /** The description (or its `comparableText`). */
  readonly text: string
  /** The case this one was itself marked a duplicate of, if any. */
  readonly duplicateOf: { readonly caseId: string; readonly trackingCode: string } | null
  /**
   * Precomputed by the index so a search over thousands of open cases does no string work per
   * candidate: `normalizeNeighbourhood(neighbourhood)`, `trigramsOf(text)`, `Date.parse(submittedAt)`.
   */
  readonly prepared?: { readonly neighbourhoodKey: string; readonly grams: ReadonlySet<string>; readonly submittedAtMs: number }
}

/**
 * Which reports are compared for duplicates: the key of a category's comparison scope, its
 * configured group (`group:<n>`), else its directorate (`department:<code>`). Citizens and the
 * classifier often pick neighbouring categories for one problem (overflowing containers filed as
 * "waste collection" and as "containers"), so comparing within one category alone misses them.
 * A code the catalogue does not know is a scope of its own.
 */
export function duplicateScopes(catalogue: Catalogue, options: Pick<RoutingOptions, 'duplicateGroups'>): (category: string) => string {
  const scopes = new Map<string, string>()
  for (const category of catalogue.categories) scopes.set(category.code, `department:${category.department}`)
  options.duplicateGroups.forEach((group, i) => {
    for (const code of group) scopes.set(code, `group:${i}`)
  })
  return (category) => scopes.get(category) ?? `category:${category}`
}

/** Mean Earth radius (IUGG), metres. */
const EARTH_RADIUS_M = 6_371_008.8

/** Great-circle distance in metres between two WGS84 points (haversine; ample for a few hundred metres). */
export function haversineMeters(a: { readonly lat: number; readonly lon: number }, b: { readonly lat: number; readonly lon: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.lat - a.lat) * rad
  const dLon = (b.lon - a.lon) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** A description reduced to what similarity looks at: folded words, no punctuation, single spaces. */
export function comparableText(text: string): string {
  return words(text).join(' ')
}

/** The character trigrams `textSimilarity` compares (of the folded, padded words). */
export function trigramsOf(text: string): Set<string> {
  return trigrams(text)
}

function trigrams(text: string): Set<string> {
  return trigramsOfComparable(comparableText(text))
}

/** `trigramsOf` of a text already made comparable (`comparableText`): the words are not folded again. */
export function trigramsOfComparable(comparable: string): Set<string> {
  const grams = new Set<string>()
  for (const word of comparable.split(' ')) {
    if (word === '') continue
    // Padded, so word starts and ends count and a two-letter word still yields grams.
    const padded = ` ${word} `
    for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3))
  }
  return grams
}

/**
 * Similarity of two descriptions in [0, 1]: the Dice coefficient of the sets of character
 * trigrams of their folded words. Trigrams rather than words because Turkish glues suffixes on
 * ("çukur", "çukurlar", "çukuru" share most trigrams, no two of them are equal words) and
 * because people type without Turkish letters ("cukur"), which folding already equates.
 */
export function textSimilarity(a: string, b: string): number {
  return gramSimilarity(trigrams(a), trigrams(b))
}

/** `textSimilarity` over trigram sets already computed. */
function gramSimilarity(x: ReadonlySet<string>, y: ReadonlySet<string>): number {
  if (x.size === 0 || y.size === 0) return 0
  let shared = 0
  for (const gram of x) if (y.has(gram)) shared++
  return (2 * shared) / (x.size + y.size)
}

/** The earlier case a submission repeats, how, and how close. */
export interface DuplicateMatch {
  readonly candidate: DuplicateCandidate
  readonly match: 'location' | 'neighbourhood-text'
  readonly distanceMeters: number | null
  readonly similarity: number | null
}

/**
 * The earlier open case a submission most likely repeats, or null. Only candidates of the same
 * (non-null) category, or of its comparison scope when `scopeOf` is given (`duplicateScopes`),
 * submitted within the window count. A match is either both located within the radius, or the
 * same neighbourhood with similar descriptions (so anonymous and unlocated reports still match).
 * A candidate of another category of the scope must have a similar description in either case:
 * two different problems of one directorate (a pothole and a broken kerb) often share a corner.
 * Closest wins: distance, then similarity, then the earliest.
 */
export function findDuplicate(
  submission: Submission,
  category: string | null,
  candidates: readonly DuplicateCandidate[],
  options: RoutingOptions,
  /** The submission's own trigrams when the caller has them already (the duplicate index does). */
  submissionGrams?: ReadonlySet<string>,
  /** The comparison scope of a category (`duplicateScopes`); absent: the category alone. */
  scopeOf?: (category: string) => string,
): DuplicateMatch | null {
  if (category === null) return null
  const scope = scopeOf?.(category)
  const at = Date.parse(submittedAtOf(submission))
  const windowMs = options.duplicateWindowHours * 3_600_000
  const { lat, lon, neighbourhood: rawNeighbourhood } = submission.location ?? {}
  const here = lat !== undefined && lon !== undefined ? { lat, lon } : null
  const neighbourhood = rawNeighbourhood === undefined ? '' : normalizeNeighbourhood(rawNeighbourhood)
  let grams: ReadonlySet<string> | undefined = submissionGrams
  // Degrees of latitude (and, at this latitude, longitude) the radius spans, with a margin: a
  // cheap box test before the haversine, so far-away candidates cost two subtractions.
  const latSpan = (options.duplicateRadiusMeters / 111_000) * 1.01 + 1e-9
  const lonSpan = here === null ? 0 : latSpan / Math.max(0.01, Math.cos((here.lat * Math.PI) / 180))

  // The closest match so far: the nearest (unknown distance last), then the most similar text,
  // then the earliest report. A match object is made only when it beats the best: a busy street has many.
  let best: DuplicateMatch | null = null
  const consider = (candidate: DuplicateCandidate, match: DuplicateMatch['match'], distanceMeters: number | null, similarity: number): void => {
    if (best !== null) {
      const byDistance = (distanceMeters ?? Number.POSITIVE_INFINITY) - (best.distanceMeters ?? Number.POSITIVE_INFINITY)
      if (byDistance > 0 || (!(byDistance < 0) && (similarity < (best.similarity ?? -1) || (similarity === best.similarity && candidate.position > best.candidate.position)))) return
    }
    best = { candidate, match, distanceMeters, similarity }
  }
  // Reports about one problem often share their words exactly (a campaign, a copied text): the
  // similarity of each distinct text is computed once per search.
  const similarityOf = new Map<string, number>()
  for (const candidate of candidates) {
    if (candidate.caseId === submission.caseId || candidate.category === null) continue
    const sameCategory = candidate.category === category
    if (!sameCategory && (scopeOf === undefined || scopeOf(candidate.category) !== scope)) continue
    const prepared = candidate.prepared
    // Either way round: a backdated petition may repeat a report that reached us before it.
    if (Math.abs(at - (prepared?.submittedAtMs ?? Date.parse(candidate.submittedAt))) > windowMs) continue
    const located = here !== null && candidate.lat !== null && candidate.lon !== null
    const boxed = located && Math.abs(candidate.lat! - here.lat) <= latSpan && Math.abs(candidate.lon! - here.lon) <= lonSpan
    const distance = located ? (boxed ? haversineMeters(here, { lat: candidate.lat!, lon: candidate.lon! }) : Number.POSITIVE_INFINITY) : null
    const sameNeighbourhood =
      neighbourhood !== '' && candidate.neighbourhood !== null && (prepared?.neighbourhoodKey ?? normalizeNeighbourhood(candidate.neighbourhood)) === neighbourhood
    const near = distance !== null && distance <= options.duplicateRadiusMeters
    if (!near && !sameNeighbourhood) continue
    grams ??= trigrams(submission.description)
    let similarity = similarityOf.get(candidate.text)
    if (similarity === undefined) similarityOf.set(candidate.text, (similarity = gramSimilarity(grams, prepared?.grams ?? trigrams(candidate.text))))
    const reported = distance === null || Number.isFinite(distance) ? distance : haversineMeters(here!, { lat: candidate.lat!, lon: candidate.lon! })
    if (near && (sameCategory || similarity >= options.textSimilarity)) consider(candidate, 'location', reported, similarity)
    else if (similarity >= options.textSimilarity) consider(candidate, 'neighbourhood-text', reported, similarity)
  }
  return best
}

/** Everything `planRouting` needs. */
export interface PlanInput {
  readonly submission: Submission
  readonly catalogue: Catalogue
  readonly classifier: Classifier
  readonly calendar: BusinessCalendar
  /** Earlier open cases (the duplicate index's answer); the submission itself is ignored if present. */
  readonly candidates: readonly DuplicateCandidate[]
  readonly options?: RoutingOptionsInput
  /** `resolveRoute`'s answer for the submission when the caller has it already (it is not computed again). */
  readonly route?: Route
  /** The submission's trigrams when the caller has them already (the duplicate index does). */
  readonly submissionGrams?: ReadonlySet<string>
  /** `duplicateScopes(catalogue, options)` when the caller made it already (it is not made again). */
  readonly scopeOf?: (category: string) => string
}

/** The decision: route, or route and link to an earlier case. `calendarCoverageError` as in `Deadlines`. */
export type RoutingPlan =
  | { readonly kind: 'routed'; readonly data: CaseRoutedV1['data']; readonly calendarCoverageError: CalendarCoverageError | null }
  | { readonly kind: 'duplicate'; readonly data: CaseMarkedDuplicateV1['data']; readonly calendarCoverageError: CalendarCoverageError | null }

/** Decides directorate, first SLA clock, legal limit and duplicate link of a new case. Pure. */
export function planRouting(input: PlanInput): RoutingPlan {
  const options = resolveRoutingOptions(input.options)
  const { submission, catalogue } = input
  const route = input.route ?? resolveRoute(submission, catalogue, input.classifier, options)
  const deadlines = computeDeadlines(submission, route.category, catalogue, input.calendar)
  const data: CaseRoutedV1['data'] = {
    department: route.department,
    category: route.category?.code ?? null,
    routedBy: route.routedBy,
    matchedKeywords: [...route.matchedKeywords],
    sla: deadlines.sla,
    legalDueAt: deadlines.legalDueAt,
  }
  const { calendarCoverageError } = deadlines
  const duplicate = findDuplicate(submission, data.category, input.candidates, options, input.submissionGrams, input.scopeOf ?? duplicateScopes(catalogue, options))
  if (duplicate === null) return { kind: 'routed', data, calendarCoverageError }
  const original = duplicate.candidate.duplicateOf ?? { caseId: duplicate.candidate.caseId, trackingCode: duplicate.candidate.trackingCode }
  return {
    kind: 'duplicate',
    data: {
      ...data,
      duplicateOf: original.caseId,
      duplicateOfTrackingCode: original.trackingCode,
      match: duplicate.match,
      distanceMeters: duplicate.distanceMeters === null ? null : Math.round(duplicate.distanceMeters * 10) / 10,
      similarity: duplicate.similarity === null ? null : Math.round(duplicate.similarity * 1000) / 1000,
    },
    calendarCoverageError,
  }
}
