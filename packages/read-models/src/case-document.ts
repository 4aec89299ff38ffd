// The case as the dashboards see it: a compact document folded from case events (`evolveCase`),
// and where it sits in its directorate's queue. No I/O and no clock: every instant comes from the
// events.
import { z } from 'zod'
import { CaseStatus, SUBMITTED_LIFECYCLE, isQueueStatus, lifecycleAfter } from '@civic-desk/contracts'
import { istanbulDay, parseInstant } from './instants.ts'
import { sharedActor, type ProjectedEvent } from './projected-event.ts'

/** Most timeline entries kept per case: a dashboard shows the outline, the audit view has everything. */
export const MAX_TIMELINE = 100

const Iso = z.string().min(1)

/** One line of a case's compact timeline: what happened, when, and who (never the citizen's name). */
export const TimelineItem = z.strictObject({
  at: Iso,
  type: z.string(),
  actor: z.strictObject({ kind: z.string(), id: z.string() }),
})
export type TimelineItem = z.infer<typeof TimelineItem>

/**
 * The case as the dashboards see it: no description, no citizen contact data, no notes — only
 * what counts, queues and timing need. Also the schema of what the Redis store reads back.
 */
export const CaseDoc = z.strictObject({
  caseId: z.string(),
  trackingCode: z.string(),
  status: CaseStatus,
  /**
   * Where a citizen's reply returns the case to (see `lifecycleAfter`); null when no question is
   * open. Documents written before this field read as null.
   */
  statusBeforeWait: CaseStatus.nullable().default(null),
  kind: z.string(),
  channel: z.string(),
  department: z.string().nullable(),
  category: z.string().nullable(),
  neighbourhood: z.string().nullable(),
  /** When the citizen applied (the channel's time, else receipt), as the domain defines it. */
  submittedAt: Iso,
  /** When intake recorded the submission: the instant the day and minute counters use. */
  receivedAt: Iso,
  /** Europe/Istanbul day (YYYY-MM-DD) of `receivedAt`. */
  day: z.string(),
  /** Effective due instant of the running clock (pauses included); null before routing or while paused. */
  dueAt: Iso.nullable(),
  /** Nominal due of the running clock in epoch ms and the pause time added to it so far. */
  nominalDueMs: z.number().nullable(),
  clockStartMs: z.number().nullable(),
  pauseShiftMs: z.number(),
  pausedAtMs: z.number().nullable(),
  firstResponseAt: Iso.nullable(),
  /** The first resolution (a reopened and again resolved case keeps its first for the statistics). */
  resolvedAt: Iso.nullable(),
  breached: z.boolean(),
  escalated: z.boolean(),
  duplicateOf: z.string().nullable(),
  timeline: z.array(TimelineItem),
  /** Global store position of the last event folded in: a redelivered or older event is skipped. */
  position: z.number().int().nonnegative(),
})
export type CaseDoc = z.infer<typeof CaseDoc>

/** A case event with the store's global position, as the projector receives it. */
export interface PositionedEvent {
  /** The case (the stream id without `case-`): only CaseSubmitted names it in its data. */
  readonly caseId: string
  readonly position: number
  readonly event: ProjectedEvent
}

const ms = parseInstant

function effectiveDue(doc: Pick<CaseDoc, 'nominalDueMs' | 'pauseShiftMs' | 'pausedAtMs'>): string | null {
  if (doc.nominalDueMs === null || doc.pausedAtMs !== null) return null
  return new Date(doc.nominalDueMs + doc.pauseShiftMs).toISOString()
}

/**
 * Folds one case event into the case document. `null` = no case yet. Events before
 * `CaseSubmitted` and events at or below the document's position are ignored (idempotent).
 */
export function evolveCase(doc: CaseDoc | null, positioned: PositionedEvent): CaseDoc | null {
  const { event, position } = positioned
  if (doc === null) {
    if (event.type !== 'CaseSubmitted') return null
    const d = event.data
    return {
      caseId: d.caseId,
      trackingCode: d.trackingCode,
      ...SUBMITTED_LIFECYCLE,
      kind: d.kind,
      channel: d.channel,
      department: null,
      category: d.category ?? null,
      neighbourhood: d.location?.neighbourhood?.trim() || null,
      submittedAt: d.submittedAt ?? d.receivedAt,
      receivedAt: event.occurredAt,
      day: istanbulDay(event.occurredAt),
      dueAt: null,
      nominalDueMs: null,
      clockStartMs: null,
      pauseShiftMs: 0,
      pausedAtMs: null,
      firstResponseAt: null,
      resolvedAt: null,
      breached: false,
      escalated: false,
      duplicateOf: null,
      timeline: [{ at: event.occurredAt, type: event.type, actor: { kind: event.actor.kind, id: event.actor.id } }],
      position,
    }
  }
  if (position <= doc.position) return doc
  const next: WorkingDoc = { ...doc, timeline: doc.timeline.slice() }
  evolveOwned(next, positioned)
  return next
}

/** The open queue of a department holds a case with this score: its due time, or +∞ while paused. */
export interface QueuePlacement {
  readonly department: string
  readonly score: number
}

export function queuePlacement(doc: CaseDoc | null): QueuePlacement | null {
  if (doc === null || doc.department === null || !isQueueStatus(doc.status)) return null
  return { department: doc.department, score: doc.dueAt === null ? Number.POSITIVE_INFINITY : ms(doc.dueAt) }
}

/** A case document a batch owns and evolves in place (see `evolveOwned`). */
export type WorkingDoc = { -readonly [K in keyof CaseDoc]: CaseDoc[K] }

const CITIZEN_ACTOR: TimelineItem['actor'] = { kind: 'citizen', id: 'citizen' }

/** Starts the case's SLA clock afresh (routing, transfer, reopening). */
function startClock(doc: WorkingDoc, sla: { readonly startedAt: string; readonly dueAt: string }): void {
  doc.nominalDueMs = ms(sla.dueAt)
  doc.clockStartMs = ms(sla.startedAt)
  doc.pauseShiftMs = 0
  doc.pausedAtMs = null
  doc.breached = false
  doc.escalated = false
  doc.dueAt = effectiveDue(doc)
}

/** The case waits in a directorate's queue with a fresh clock (routed, linked as duplicate, transferred). */
function queueIn(doc: WorkingDoc, department: string, category: string | null | undefined, sla: { readonly startedAt: string; readonly dueAt: string }): void {
  doc.department = department
  doc.category = category ?? doc.category
  startClock(doc, sla)
}

/**
 * The fold of `evolveCase` on a document this batch owns (a copy made at the case's first event of the
 * batch): the same result, written into `doc` instead of a new document per event. Returns false
 * when the event changes nothing (at or below the document's position).
 */
export function evolveOwned(doc: WorkingDoc, positioned: PositionedEvent): boolean {
  const { event, position } = positioned
  // The erasure of the case's personal data is not a step of the case, and the dashboards hold no
  // personal data: they stay byte for byte as they were.
  if (event.type === 'PersonalDataErased') return false
  if (position <= doc.position) return false
  doc.position = position
  const timeline = doc.timeline
  timeline.push({ at: event.occurredAt, type: event.type, actor: event.actor.kind === 'citizen' ? CITIZEN_ACTOR : sharedActor(event.actor.kind, event.actor.id) })
  if (timeline.length > MAX_TIMELINE) timeline.shift()
  // The status from the decider's own rule: the counters can never disagree with the case.
  const lifecycle = lifecycleAfter(doc, event.type)
  doc.status = lifecycle.status
  doc.statusBeforeWait = lifecycle.statusBeforeWait
  switch (event.type) {
    case 'CaseRouted':
      queueIn(doc, event.data.department, event.data.category, event.data.sla)
      return true
    case 'CaseMarkedDuplicate':
      queueIn(doc, event.data.department, event.data.category, event.data.sla)
      doc.duplicateOf = event.data.duplicateOf
      return true
    case 'CaseAccepted':
    case 'CaseWorkStarted':
      doc.firstResponseAt ??= event.occurredAt
      return true
    case 'CitizenInfoRequested':
      doc.pausedAtMs ??= ms(event.occurredAt)
      doc.firstResponseAt ??= event.occurredAt
      doc.dueAt = effectiveDue(doc)
      return true
    case 'CitizenReplied': {
      if (doc.pausedAtMs === null) return true
      const resumed = ms(event.occurredAt)
      const from = Math.max(doc.pausedAtMs, doc.clockStartMs ?? doc.pausedAtMs)
      doc.pausedAtMs = null
      doc.pauseShiftMs = doc.pauseShiftMs + Math.max(0, resumed - from)
      doc.dueAt = effectiveDue(doc)
      return true
    }
    case 'CaseTransferred':
      queueIn(doc, event.data.toDepartment, event.data.category, event.data.sla)
      // A link made in the first directorate means nothing in the next one.
      doc.duplicateOf = null
      return true
    case 'CaseDuplicateUnlinked':
      // Its own case now, on its own clock; the status (routed or in progress) stays.
      doc.duplicateOf = null
      startClock(doc, event.data.sla)
      return true
    case 'CaseResolved':
      doc.resolvedAt ??= event.occurredAt
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseRejected':
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseClosed':
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseReopened':
      startClock(doc, event.data.sla)
      return true
    case 'SlaBreached':
      doc.breached = true
      return true
    case 'CaseEscalated':
      doc.escalated = true
      return true
    case 'CaseSubmitted':
    case 'SlaWarningRaised':
    case 'CitizenNotified':
    case 'NotificationFailed':
    case 'CaseNoteAdded':
    case 'WorkflowStepRecorded':
      return true
    default: {
      const unknownEvent: never = event
      return unknownEvent
    }
  }
}
