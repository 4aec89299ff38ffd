// The read-model store port: what the projector writes through and the dashboards read from,
// whichever adapter (memory, Redis) sits behind it. Read models live in numbered versions: a
// rebuild fills a new version while the active one keeps answering, then the pointer moves.
import { MINUTE_WINDOW_MS, type ChangeSet } from './batch.ts'
import type { CaseDoc } from './case-document.ts'

/** Which event store a version was built from, and how far. */
export interface VersionInfo {
  readonly version: number
  /** Identity of the event store the version was projected from (see `storeIdentity`). */
  readonly storeIdentity: string
  /** Highest global position applied. */
  readonly position: number
}

/** Writes one version. One writer per version at a time (the projector, or a rebuild). */
export interface VersionWriter {
  readonly version: number
  /** Documents of the given cases that exist in this version. */
  load(caseIds: readonly string[]): Promise<Map<string, CaseDoc>>
  /** Applies a batch's change and the new checkpoint atomically. */
  commit(change: ChangeSet): Promise<void>
  /** Highest position applied so far. */
  position(): Promise<number>
}

/** A dead-letter record as the operators' stream view shows it. */
export interface DeadLetterEntry {
  readonly at: string
  readonly topic: string
  readonly groupId: string
  readonly kind: string
  readonly message: string
  /** Where it came from (`topic/partition/offset/group`): the same record delivered twice counts once. */
  readonly id: string
}

/** Reads the active version. Every method answers from the version the reader was opened on. */
export interface VersionReader {
  readonly version: number
  readonly position: number
  getCase(caseId: string): Promise<CaseDoc | null>
  getCases(caseIds: readonly string[]): Promise<CaseDoc[]>
  caseIdForTrackingCode(code: string): Promise<string | null>
  /** Counters of a scope (`all` or `day:YYYY-MM-DD`): field → count. */
  counters(scope: string): Promise<Record<string, number>>
  /** Open cases of a department by due time (+∞ = paused, last). */
  queue(department: string, limit: number): Promise<Array<{ readonly caseId: string; readonly dueMs: number }>>
  /** How many open cases of a department are due in [fromMs, toMs) (−∞/+∞ allowed). */
  queueCount(department: string, fromMs: number, toMs: number): Promise<number>
  /** Durations of the response-time samples taken at or after `sinceMs`. */
  samples(metric: 'first' | 'resolution', department: string, category: string | null, sinceMs: number): Promise<number[]>
  /** Submissions in each of `count` minutes starting at `fromMinuteMs`. */
  minutes(fromMinuteMs: number, count: number): Promise<number[]>
  /** Ids of the cases received in [fromMs, toMs), oldest first. */
  receivedBetween(fromMs: number, toMs: number): Promise<string[]>
}

export interface ReadModelStore {
  readonly kind: 'memory' | 'redis'
  /** The active version, or null before the first build. */
  active(): Promise<VersionInfo | null>
  /** A new, empty, inactive version for `storeIdentity`. */
  createVersion(storeIdentity: string): Promise<VersionWriter>
  /** A writer of an existing version (the active one, to continue projecting). */
  writer(version: number): VersionWriter
  /** Makes `version` the active one in one step and deletes every other version. */
  activate(version: number): Promise<void>
  /** Deletes an inactive version (an abandoned rebuild). */
  dropVersion(version: number): Promise<void>
  /** A reader of the active version, or null before the first build. */
  reader(): Promise<VersionReader | null>
  /** Records a dead letter (kept outside the versions: it is not derived from the event store). */
  recordDeadLetter(entry: DeadLetterEntry): Promise<void>
  deadLetters(latest: number): Promise<{ count: number; latest: DeadLetterEntry[] }>
  close(): Promise<void>
}

/** Samples older than this (relative to the newest event) are trimmed; the views use 30 days. */
export const SAMPLE_RETENTION_MS = 31 * 24 * 3600_000
/** At most this many samples per key, the newest kept: bounds memory whatever the volume. */
export const MAX_SAMPLES_PER_KEY = 5_000
/** Per-minute submission counts are kept this long after their minute (the view shows one hour). */
export const MINUTE_RETENTION_MS = MINUTE_WINDOW_MS
/** Dead letters kept for the operators' view (the count covers all). */
export const MAX_DEAD_LETTERS = 200

/** Key of a response-time sample series. */
export function sampleKey(metric: 'first' | 'resolution', department: string, category: string | null): string {
  return category === null ? `${metric}:${department}` : `${metric}:${department}|${category}`
}

/** The series a sample belongs to: its department's, and its department and category's. */
export function sampleKeysOf(s: { readonly metric: 'first' | 'resolution'; readonly department: string; readonly category: string | null }): string[] {
  return s.category === null ? [sampleKey(s.metric, s.department, null)] : [sampleKey(s.metric, s.department, null), sampleKey(s.metric, s.department, s.category)]
}

/** Thrown by a store adapter when its backend fails; the vendor's error is only the cause. */
export class ReadModelStoreError extends Error {
  override readonly name = 'ReadModelStoreError'
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options)
  }
}
