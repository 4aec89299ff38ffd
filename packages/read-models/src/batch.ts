// The change a batch of events makes to every read model (documents, counters, queues, samples,
// minutes), as deltas a store applies in one transaction with the new checkpoint.
import { evolveCase, evolveOwned, queuePlacement, type CaseDoc, type PositionedEvent, type WorkingDoc } from './case-document.ts'
import { PartTally, diffCounters, sameCounted } from './counters.ts'
import { parseInstant } from './instants.ts'

const ms = parseInstant

/** How far behind the newest event a submission minute is still counted (the view shows one hour). */
export const MINUTE_WINDOW_MS = 2 * 3600_000

/** A response-time sample: kept per department and per department+category, scored by when it happened. */
export interface Sample {
  readonly metric: 'first' | 'resolution'
  readonly department: string
  readonly category: string | null
  readonly caseId: string
  readonly atMs: number
  readonly durationMs: number
}

/**
 * Everything a batch of events changes, as deltas: what a store applies in one transaction with
 * the new checkpoint. Built by diffing each touched case's document before and after the batch,
 * so a case with five events in one batch costs one write per read model, not five.
 */
export interface ChangeSet {
  /** New or changed case documents. */
  readonly cases: CaseDoc[]
  /** Ids of the cases among `cases` that are new (for the tracking-code and receipt indexes). */
  readonly created: Set<string>
  /** Counter deltas: scope → field → delta (zeros left out). */
  readonly counters: Map<string, Map<string, number>>
  readonly queueRemove: Array<{ readonly department: string; readonly caseId: string }>
  readonly queueAdd: Array<{ readonly department: string; readonly caseId: string; readonly score: number }>
  readonly samples: Sample[]
  /** Submissions per minute (epoch ms of the minute's start) → delta. */
  readonly minutes: Map<number, number>
  /** Highest position in the batch (the store keeps the max as its checkpoint). */
  readonly position: number
  /** Latest event time in the batch: trims samples and minutes relative to the events, not a clock. */
  readonly latestEventMs: number
  readonly applied: number
  readonly skipped: number
}

/**
 * Folds a batch of events over the documents the store already holds (`loaded`, by caseId; a
 * missing one is a new case) and returns the change. Pure: the same inputs give the same change
 * (as folding `evolveCase` over the events would). Each touched case gets one working copy for
 * the batch, evolved in place: the documents in `loaded` are never modified.
 */
export function projectBatch(events: readonly PositionedEvent[], loaded: ReadonlyMap<string, CaseDoc>): ChangeSet {
  const before = new Map<string, CaseDoc | null>()
  /** The batch's own copy of each case changed so far (absent: unchanged, or still no case). */
  const after = new Map<string, WorkingDoc>()
  let position = 0
  let latestEventMs = 0
  let applied = 0
  let skipped = 0
  for (const p of events) {
    if (p.position > position) position = p.position
    const caseId = p.caseId
    let current: WorkingDoc | undefined = after.get(caseId)
    let changed: boolean
    if (current !== undefined) changed = evolveOwned(current, p)
    else {
      let prev = before.get(caseId)
      if (prev === undefined) {
        prev = loaded.get(caseId) ?? null
        before.set(caseId, prev)
      }
      if (prev === null) {
        const created = evolveCase(null, p)
        changed = created !== null
        if (created !== null) after.set(caseId, created)
      } else {
        if (p.position <= prev.position) changed = false
        else {
          current = { ...prev, timeline: prev.timeline.slice() }
          changed = evolveOwned(current, p)
          after.set(caseId, current)
        }
      }
    }
    if (!changed) {
      skipped++
      continue
    }
    applied++
    const at = ms(p.event.occurredAt)
    // (Math.max semantics: a NaN time makes the latest time NaN, as before.)
    latestEventMs = Math.max(latestEventMs, at)
  }
  const change: ChangeSet = { cases: [], created: new Set(), counters: new Map(), queueRemove: [], queueAdd: [], samples: [], minutes: new Map(), position, latestEventMs, applied, skipped }
  const tally = new PartTally()
  // In the order the cases first appear in the batch, as the documents, samples and indexes always came.
  for (const [caseId, prev] of before) {
    const next = after.get(caseId)
    if (next === undefined) continue
    change.cases.push(next)
    if (prev === null || !sameCounted(prev, next)) diffCounters(tally, prev, next)
    const was = queuePlacement(prev)
    const is = queuePlacement(next)
    if (was !== null && (is === null || is.department !== was.department)) change.queueRemove.push({ department: was.department, caseId })
    if (is !== null && (was === null || was.department !== is.department || was.score !== is.score)) change.queueAdd.push({ department: is.department, caseId, score: is.score })
    if (prev === null) {
      change.created.add(caseId)
      const minute = Math.floor(ms(next.receivedAt) / 60_000) * 60_000
      // Minutes more than two hours older than the newest event of the batch can never be in the
      // last hour again: a rebuild of months of history writes none of them.
      if (minute >= latestEventMs - MINUTE_WINDOW_MS) change.minutes.set(minute, (change.minutes.get(minute) ?? 0) + 1)
    }
    const department = next.department
    if (department !== null) {
      const firstNew = next.firstResponseAt !== null && (prev === null || prev.firstResponseAt === null)
      const resolvedNew = next.resolvedAt !== null && (prev === null || prev.resolvedAt === null)
      if (firstNew || resolvedNew) {
        const submittedMs = ms(next.submittedAt)
        if (firstNew) {
          const at = ms(next.firstResponseAt!)
          change.samples.push({ metric: 'first', department, category: next.category, caseId, atMs: at, durationMs: Math.max(0, at - submittedMs) })
        }
        if (resolvedNew) {
          const at = ms(next.resolvedAt!)
          change.samples.push({ metric: 'resolution', department, category: next.category, caseId, atMs: at, durationMs: Math.max(0, at - submittedMs) })
        }
      }
    }
  }
  tally.into(change.counters)
  return change
}
