/**
 * Loading a case and running a command against it through the event store port: the one piece
 * of I/O every handler shares (load, decide, append with the expected revision, retry a lost
 * race). The store is passed in; this module holds no connection of its own.
 */
import { decide, evolve, initialState, type CaseCommand, type CaseState } from '@civic-desk/case-domain'
import type { CaseEvent } from '@civic-desk/contracts'
import { ConcurrencyError, type EventStore, type RecordedEvent } from '@civic-desk/event-store'
import { decodeCaseEvent, encodeCaseEvent } from './codec.ts'
import { caseStreamId } from './stream.ts'

/** A stored case event with where the store put it. */
export interface CaseRecord {
  readonly event: CaseEvent
  readonly revision: number
  readonly position: number
  readonly recordedAt: string
}

export interface LoadedCase {
  readonly caseId: string
  readonly state: CaseState
  /** Revision of the stream's last event; -1 when the case does not exist. */
  readonly revision: number
  /**
   * Revision of the last event that changed the case for its staff: the ETag of the case. Records
   * of messages sent to the citizen do not count, so a notification landing between a read and a
   * write never makes a member of staff's `If-Match` stale.
   */
  readonly changeRevision: number
  readonly records: readonly CaseRecord[]
}

/** Events that record what the system told the citizen, not a change of the case. */
const BOOKKEEPING: ReadonlySet<CaseEvent['type']> = new Set(['CitizenNotified', 'NotificationFailed'])

/** The revision of the last event that is not bookkeeping (-1 for no events). */
export function changeRevisionOf(records: readonly CaseRecord[]): number {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!
    if (!BOOKKEEPING.has(r.event.type)) return r.revision
  }
  return -1
}

function toRecord(r: RecordedEvent): CaseRecord {
  return { event: decodeCaseEvent(r), revision: r.revision, position: r.position, recordedAt: r.recordedAt }
}

/** Reads and folds a case stream. */
export async function loadCase(store: EventStore, caseId: string): Promise<LoadedCase> {
  const records = (await store.readStream(caseStreamId(caseId))).map(toRecord)
  const state = records.reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
  return { caseId, state, revision: records.at(-1)?.revision ?? -1, changeRevision: changeRevisionOf(records), records }
}

/**
 * Loads a case whose opening events the caller already holds — a consumer handed the stream's
 * first event, say: reads only what follows them, so the usual answer is one index look-up that
 * finds nothing and no event is parsed again. `known` must be the stream's events from revision 0
 * in order; anything else is read in full.
 */
export async function loadCaseFrom(store: EventStore, caseId: string, known: readonly CaseRecord[]): Promise<LoadedCase> {
  if (known.length === 0 || known.some((r, i) => r.revision !== i)) return loadCase(store, caseId)
  const later = (await store.readStream(caseStreamId(caseId), { fromRevision: known.length })).map(toRecord)
  const records = later.length === 0 ? known : [...known, ...later]
  const state = records.reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
  return { caseId, state, revision: records.at(-1)?.revision ?? -1, changeRevision: changeRevisionOf(records), records }
}

export interface ExecuteOptions {
  /**
   * The revision the caller saw (HTTP `If-Match`): the command runs only against exactly that
   * revision, and a lost race is the caller's `ConcurrencyError` rather than a silent retry.
   */
  readonly expectedRevision?: number
  /** Re-reads and re-decides after a lost race this many times (no `expectedRevision`). Default 5. */
  readonly maxRetries?: number
  /** The case as the caller just loaded it: the first attempt decides on it instead of reading again. */
  readonly loaded?: LoadedCase
  /**
   * A last check of the decided events against the case they would join (e.g. its size limits),
   * on every attempt; throw to refuse them: nothing is appended.
   */
  readonly admit?: (loaded: LoadedCase, events: readonly CaseEvent[]) => void
}

export interface ExecuteResult {
  /** The events appended by this call; empty when the command was already satisfied. */
  readonly events: readonly CaseEvent[]
  readonly state: CaseState
  readonly revision: number
}

/**
 * Loads the case, builds the command from what it finds (return null to do nothing), decides and
 * appends with the loaded revision. Deciding is pure, so retrying after a concurrent append is safe.
 * Throws the decider's `CaseRuleViolation` unchanged.
 */
export async function executeOnCase(
  store: EventStore,
  caseId: string,
  build: (loaded: LoadedCase) => CaseCommand | null,
  options: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const maxRetries = options.expectedRevision === undefined ? (options.maxRetries ?? 5) : 0
  for (let attempt = 0; ; attempt++) {
    const loaded = attempt === 0 && options.loaded !== undefined ? options.loaded : await loadCase(store, caseId)
    if (options.expectedRevision !== undefined && loaded.revision !== options.expectedRevision) {
      throw new ConcurrencyError(caseStreamId(caseId), options.expectedRevision, loaded.revision)
    }
    const command = build(loaded)
    if (command === null) return { events: [], state: loaded.state, revision: loaded.revision }
    const events = decide(command, loaded.state)
    if (events.length === 0) return { events, state: loaded.state, revision: loaded.revision }
    options.admit?.(loaded, events)
    try {
      const result = await store.append(caseStreamId(caseId), events.map(encodeCaseEvent), {
        expectedRevision: loaded.revision === -1 ? 'no_stream' : loaded.revision,
      })
      return { events, state: events.reduce(evolve, loaded.state), revision: result.nextRevision }
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxRetries) throw error
    }
  }
}
