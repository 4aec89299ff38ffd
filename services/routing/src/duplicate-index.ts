/**
 * The duplicate index: the recent open cases per comparison scope (a category's directorate or
 * configured group, see `duplicateScopes`) that a new case could duplicate,
 * folded in memory from the log (a catch-up projection from position 0 at every start). Nothing
 * is persisted, so a restart can never find it stale: it is rebuilt from the only source of truth.
 * The log also gives a total order, which is what keeps two simultaneous reports from marking
 * each other: a case's candidates are only the cases whose CaseSubmitted came before its own.
 */
import type { Submission } from '@civic-desk/case-domain'
import { normalizeNeighbourhood } from '@civic-desk/case-domain'
import { ProjectionNotReadyError, type CaseFeed, type CaseFeedEvent, type CatchUpProjection } from '@civic-desk/case-feed'
import type { CaseEventType } from '@civic-desk/contracts'
import { comparableText, submittedAtOf, trigramsOfComparable, type DuplicateCandidate } from './plan.ts'

/** Name of the index among the readers of the log (operators' stream view). */
export const DUPLICATE_INDEX_NAME = 'routing-duplicate-index'

/** Default of `DuplicateIndexOptions.waitTimeoutMs`. */
export const DEFAULT_INDEX_WAIT_TIMEOUT_MS = 10_000
/** Sweep out old entries once the log's clock moved this far since the last sweep. */
const PRUNE_EVERY_MS = 10 * 60_000

/** Only these event types change what the index knows; the rest just advance its position. */
const FOLDED_TYPES: ReadonlySet<CaseEventType> = new Set<CaseEventType>([
  'CaseSubmitted',
  'CaseRouted',
  'CaseMarkedDuplicate',
  'CaseTransferred',
  'CaseResolved',
  'CaseRejected',
  'CaseClosed',
  'CaseReopened',
  'CaseDuplicateUnlinked',
])

export interface DuplicateIndexOptions {
  readonly feed: CaseFeed
  /**
   * The category a just-submitted case will be routed to (routing's own rule). Used until the
   * case's CaseRouted arrives, so a case whose routing is still in flight is already a candidate.
   */
  readonly categoryOf: (submission: Submission) => string | null
  /**
   * The comparison scope of a category (`duplicateScopes`): cases are filed, and `candidates`
   * answers, per scope. Default: the category itself.
   */
  readonly scopeOf?: (category: string) => string
  /** Entries older than this (by the log's own clock, see `prune`) are dropped. */
  readonly windowHours: number
  /** Longest `waitUntil` waits before it rejects (the index is stuck: an infrastructure error). Default 10 s. */
  readonly waitTimeoutMs?: number
}

/** The index of recent open cases. */
export interface DuplicateIndex {
  /** The projection that keeps it: position, status, close. */
  readonly projection: CatchUpProjection
  /** Global position of the last case event applied. */
  readonly position: number
  /** Cases held (open or closed, within the window). */
  readonly size: number
  /** Resolves once every case event up to `position` is applied; rejects after the wait timeout or on close. */
  waitUntil(position: number): Promise<void>
  /**
   * Open cases of `category`'s scope whose CaseSubmitted lies before `before` (a global position). With
   * `near`, only those that could match it (`findDuplicate`'s rule): the same neighbourhood, or
   * located within the radius's bounding box; a superset of the matches, never missing one.
   */
  candidates(query: CandidateQuery): DuplicateCandidate[]
  /** The trigrams of an indexed case's description (computed when it was indexed), if it is in the index. */
  gramsOf(caseId: string): ReadonlySet<string> | undefined
  /** Stops following the log; pending waits reject. Idempotent. */
  close(): Promise<void>
}

/** Thrown by `waitUntil` when the index does not get there in time, or is closed. */
export { ProjectionNotReadyError as IndexNotReadyError }

/** What `candidates` is asked. */
export interface CandidateQuery {
  readonly category: string
  readonly before: number
  readonly near?: {
    /** As written by the citizen (normalised here); absent or empty: no neighbourhood match. */
    readonly neighbourhood?: string | undefined
    readonly lat?: number | undefined
    readonly lon?: number | undefined
    readonly radiusMeters: number
  }
}

/**
 * Side of the grid cells that located entries are filed under, in degrees (≈ 220 m of latitude):
 * a little more than the usual duplicate radius (150 m), so a query's box touches 2×2 to 3×3
 * cells and a busy district's other streets are never looked at. A query looks at the cells its
 * radius's bounding box touches.
 */
const CELL_DEGREES = 0.002
/** A query's box spanning more cells than this scans the whole category instead. */
const MAX_CELLS_PER_QUERY = 400

const cellKey = (latCell: number, lonCell: number): string => `${latCell}:${lonCell}`

/** One scope's open-case entries, also by neighbourhood and by grid cell. */
interface Bucket {
  readonly all: Map<string, Entry>
  readonly byNeighbourhood: Map<string, Set<Entry>>
  readonly byCell: Map<string, Set<Entry>>
}

function addTo<K>(map: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  let set = map.get(key)
  if (set === undefined) map.set(key, (set = new Set()))
  set.add(entry)
}

function removeFrom<K>(map: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  const set = map.get(key)
  if (set === undefined) return
  set.delete(entry)
  if (set.size === 0) map.delete(key)
}

const cellOf = (entry: Entry): string | null =>
  entry.lat === null || entry.lon === null ? null : cellKey(Math.floor(entry.lat / CELL_DEGREES), Math.floor(entry.lon / CELL_DEGREES))


interface Entry {
  caseId: string
  trackingCode: string
  category: string | null
  neighbourhood: string | null
  lat: number | null
  lon: number | null
  text: string
  /** What `findDuplicate` compares, computed once here rather than per search. */
  prepared: NonNullable<DuplicateCandidate['prepared']>
  submittedAt: string
  receivedAtMs: number
  position: number
  open: boolean
  duplicateOf: { readonly caseId: string; readonly trackingCode: string } | null
  /** What `candidates` hands out, made once and again only after the entry changed. */
  candidate: DuplicateCandidate | undefined
}

const candidateOf = (e: Entry): DuplicateCandidate => ({
  caseId: e.caseId,
  trackingCode: e.trackingCode,
  category: e.category,
  submittedAt: e.submittedAt,
  position: e.position,
  neighbourhood: e.neighbourhood,
  lat: e.lat,
  lon: e.lon,
  text: e.text,
  duplicateOf: e.duplicateOf,
  prepared: e.prepared,
})


/** Starts folding the log into a new index from position 0; `waitUntil` tells when it got somewhere. */
export function startDuplicateIndex(options: DuplicateIndexOptions): DuplicateIndex {
  const { categoryOf } = options
  const scopeOf = options.scopeOf ?? ((category: string) => category)
  const windowMs = options.windowHours * 3_600_000

  const entries = new Map<string, Entry>()
  /** scope → its entries. */
  const byScope = new Map<string, Bucket>()
  /** Latest receivedAt seen: intake's clock, which channels cannot set into the future. */
  let watermark = Number.NEGATIVE_INFINITY
  let prunedAt = Number.NEGATIVE_INFINITY

  const file = (entry: Entry): void => {
    if (entry.category === null) return
    const scope = scopeOf(entry.category)
    let bucket = byScope.get(scope)
    if (bucket === undefined) byScope.set(scope, (bucket = { all: new Map(), byNeighbourhood: new Map(), byCell: new Map() }))
    bucket.all.set(entry.caseId, entry)
    if (entry.neighbourhood !== null) addTo(bucket.byNeighbourhood, entry.neighbourhood, entry)
    const cell = cellOf(entry)
    if (cell !== null) addTo(bucket.byCell, cell, entry)
  }
  const unfile = (entry: Entry): void => {
    if (entry.category === null) return
    const scope = scopeOf(entry.category)
    const bucket = byScope.get(scope)
    if (bucket === undefined) return
    bucket.all.delete(entry.caseId)
    if (entry.neighbourhood !== null) removeFrom(bucket.byNeighbourhood, entry.neighbourhood, entry)
    const cell = cellOf(entry)
    if (cell !== null) removeFrom(bucket.byCell, cell, entry)
    if (bucket.all.size === 0) byScope.delete(scope)
  }

  /** The entries of a bucket a `near` query could match: its neighbourhood's and its box's cells'. */
  const nearby = (bucket: Bucket, near: NonNullable<CandidateQuery['near']>): Iterable<Entry> => {
    const found = new Set<Entry>()
    const neighbourhood = near.neighbourhood === undefined ? '' : normalizeNeighbourhood(near.neighbourhood)
    if (neighbourhood !== '') for (const e of bucket.byNeighbourhood.get(neighbourhood) ?? []) found.add(e)
    const { lat, lon } = near
    if (lat === undefined || lon === undefined) return found
    // The same box findDuplicate tests, with its margin.
    const latSpan = (near.radiusMeters / 111_000) * 1.01 + 1e-9
    const lonSpan = latSpan / Math.max(0.01, Math.cos((lat * Math.PI) / 180))
    const [lat0, lat1] = [Math.floor((lat - latSpan) / CELL_DEGREES), Math.floor((lat + latSpan) / CELL_DEGREES)]
    const [lon0, lon1] = [Math.floor((lon - lonSpan) / CELL_DEGREES), Math.floor((lon + lonSpan) / CELL_DEGREES)]
    if ((lat1 - lat0 + 1) * (lon1 - lon0 + 1) > MAX_CELLS_PER_QUERY) return bucket.all.values()
    for (let i = lat0; i <= lat1; i++) {
      for (let j = lon0; j <= lon1; j++) for (const e of bucket.byCell.get(cellKey(i, j)) ?? []) found.add(e)
    }
    return found
  }
  const recategorise = (entry: Entry, category: string | null): void => {
    if (entry.category === category) return
    unfile(entry)
    entry.category = category
    entry.candidate = undefined
    file(entry)
  }

  /** Drops entries submitted more than the window before the newest receipt: no new case can match them. */
  const prune = (): void => {
    if (watermark - prunedAt < PRUNE_EVERY_MS) return
    prunedAt = watermark
    const oldest = watermark - windowMs
    for (const entry of entries.values()) {
      if (entry.prepared.submittedAtMs >= oldest) continue
      entries.delete(entry.caseId)
      unfile(entry)
    }
  }

  const submitted = (data: Submission, at: number): void => {
    if (entries.has(data.caseId)) return
    const submittedAt = submittedAtOf(data)
    const receivedAtMs = Date.parse(data.receivedAt)
    const neighbourhood = data.location?.neighbourhood === undefined ? '' : normalizeNeighbourhood(data.location.neighbourhood)
    const text = comparableText(data.description)
    const entry: Entry = {
      caseId: data.caseId,
      trackingCode: data.trackingCode,
      category: categoryOf(data),
      neighbourhood: neighbourhood === '' ? null : neighbourhood,
      lat: data.location?.lat ?? null,
      lon: data.location?.lon ?? null,
      text,
      prepared: { neighbourhoodKey: neighbourhood, grams: trigramsOfComparable(text), submittedAtMs: Date.parse(submittedAt) },
      submittedAt,
      receivedAtMs,
      position: at,
      open: true,
      duplicateOf: null,
      candidate: undefined,
    }
    entries.set(entry.caseId, entry)
    file(entry)
    if (receivedAtMs > watermark) watermark = receivedAtMs
    prune()
  }

  const apply = ({ caseId, position, event }: CaseFeedEvent): void => {
    if (event.type === 'CaseSubmitted') return submitted(event.data, position)
    const entry = entries.get(caseId)
    if (entry === undefined) return // older than the window, or a stream without its CaseSubmitted
    switch (event.type) {
      case 'CaseRouted':
        return recategorise(entry, event.data.category)
      case 'CaseMarkedDuplicate':
        entry.duplicateOf = { caseId: event.data.duplicateOf, trackingCode: event.data.duplicateOfTrackingCode }
        entry.candidate = undefined
        return recategorise(entry, event.data.category)
      case 'CaseTransferred':
        // The link does not follow the case into another directorate (nor into a later match as its original).
        entry.duplicateOf = null
        entry.candidate = undefined
        return recategorise(entry, event.data.category)
      case 'CaseDuplicateUnlinked':
        // Its own case again: a later report that matches it is linked to it, not to the case it was wrongly tied to.
        entry.duplicateOf = null
        entry.candidate = undefined
        return
      case 'CaseResolved':
      case 'CaseRejected':
      case 'CaseClosed':
        entry.open = false
        return
      case 'CaseReopened':
        entry.open = true
        return
      default:
        return
    }
  }

  // A record that does not decode is skipped (logged by the kernel): routing dead-letters it
  // visibly, the index just cannot use it and must not stop for it.
  const projection = options.feed.project({
    name: DUPLICATE_INDEX_NAME,
    types: FOLDED_TYPES,
    apply,
    waitTimeoutMs: options.waitTimeoutMs ?? DEFAULT_INDEX_WAIT_TIMEOUT_MS,
  })

  return {
    projection,
    get position() {
      return projection.position
    },
    get size() {
      return entries.size
    },
    waitUntil: (target) => projection.waitUntil(target),
    gramsOf: (caseId) => entries.get(caseId)?.prepared.grams,
    candidates({ category, before, near }) {
      const bucket = byScope.get(scopeOf(category))
      if (bucket === undefined) return []
      const out: DuplicateCandidate[] = []
      for (const e of near === undefined ? bucket.all.values() : nearby(bucket, near)) if (e.open && e.position < before) out.push((e.candidate ??= candidateOf(e)))
      return out
    },
    close: () => projection.close(),
  }
}
