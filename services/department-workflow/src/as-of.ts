/**
 * As-of replay: a case as it stood at an instant, folded from the events the store had recorded by
 * then. Pure: the loaded case and the instant come in.
 *
 * - **Cut by `recordedAt`, not `occurredAt`.** `recordedAt` is set by the event store when it
 *   appends; `occurredAt` is written by whoever sends the event (a channel may hand in a request
 *   received hours earlier, a client's clock may be wrong). "What the system knew at 14:05" is what
 *   it had recorded by 14:05, so that is the cut an auditor can rely on. The cut is a prefix of the
 *   stream: the events up to the first one recorded after the instant (a stream's events are
 *   recorded in revision order), so the answer is always a state the case really passed through.
 *   Events appended together share their `recordedAt` and are taken or left together.
 * - **Erasure is not undone.** When the case's personal data was erased (KVKK) after the instant,
 *   the as-of state still reads "kişisel veri silindi" in every personal field, and
 *   `personalDataErasedAt` names the (later) erasure: the erasure destroyed the case's data key, and
 *   as-of replay shows the record, not data the municipality no longer holds.
 */
import { evolve, initialState, type CaseState } from '@civic-desk/case-domain'
import { changeRevisionOf, type CaseRecord, type LoadedCase } from '@civic-desk/case-feed'
import { z } from 'zod'

/**
 * An ISO-8601 instant with a UTC offset (`Z` or `±hh:mm`), e.g. `2026-03-03T14:05:00+03:00`. A `+`
 * typed unencoded in a URL arrives as a space (form encoding): read back as the `+` it was.
 */
export const Instant = z.preprocess(
  (value) => (typeof value === 'string' ? value.replace(/^(\d{4}-\d{2}-\d{2}T[\d:.]+) (\d{2}:\d{2})$/, '$1+$2') : value),
  z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant with a UTC offset, e.g. 2026-03-03T14:05:00+03:00' }),
)

/** One recorded change of a case: an instant the console's time control can step to. */
export interface RecordedChange {
  readonly revision: number
  readonly recordedAt: string
  readonly occurredAt: string
  readonly type: string
}

/** A case as it stood at an instant. */
export interface CaseAsOf {
  /** The instant asked for, as UTC. */
  readonly at: string
  readonly state: CaseState
  /** The events recorded by then (a prefix of the stream). */
  readonly records: readonly CaseRecord[]
  /** Revision of the last event recorded by then. */
  readonly revision: number
  /** The case's ETag as it was then: revision of the last event that changed it for its staff. */
  readonly changeRevision: number
  /** The instants at which the case changed, up to and including the cut. */
  readonly changes: readonly RecordedChange[]
}

/** The stream's events recorded at or before `at` (a prefix: up to the first one recorded later). */
export function recordsAsOf(records: readonly CaseRecord[], at: Date): CaseRecord[] {
  const limit = at.getTime()
  const taken: CaseRecord[] = []
  for (const record of records) {
    if (Date.parse(record.recordedAt) > limit) break
    taken.push(record)
  }
  return taken
}

/**
 * The case as it stood at `at`; undefined when nothing of it was recorded by then. When the case's
 * personal data has been erased since, the state is erased too (see the module comment).
 */
export function caseAsOf(loaded: LoadedCase, at: Date): CaseAsOf | undefined {
  const records = recordsAsOf(loaded.records, at)
  if (records.length === 0) return undefined
  let state = records.reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
  if (state.status === 'none') return undefined
  const erasure = loaded.records.find((r) => r.event.type === 'PersonalDataErased')
  if (erasure !== undefined && !records.includes(erasure)) state = evolve(state, erasure.event)
  const changeRevision = changeRevisionOf(records)
  return {
    at: at.toISOString(),
    state,
    records,
    revision: records.at(-1)?.revision ?? -1,
    changeRevision,
    changes: changesOf(records),
  }
}

/** The events of `records` that changed the case (not messages to the citizen), as instants. */
export function changesOf(records: readonly CaseRecord[]): RecordedChange[] {
  return records
    .filter((r) => r.event.type !== 'CitizenNotified' && r.event.type !== 'NotificationFailed')
    .map((r) => ({ revision: r.revision, recordedAt: r.recordedAt, occurredAt: r.event.occurredAt, type: r.event.type }))
}
