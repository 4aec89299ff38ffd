// The dashboard projections as pure code: a compact case document folded from case events, and
// the change a batch of events makes to every read model (counters, queues, samples, minutes).
// No I/O and no clock: every instant comes from the events; "now" is an argument of the queries.
import { DateTime } from 'luxon'
import { z } from 'zod'
import type { CaseEvent } from '@civic-desk/contracts'

const Instant = z.string().min(1)
const Meta = { occurredAt: Instant, actor: z.object({ kind: z.string(), id: z.string() }) }
const SlaPart = z.object({ startedAt: Instant, dueAt: Instant })
const Code = z.string().min(1)
const routedData = { department: Code, category: Code.nullable(), sla: SlaPart }
const withoutData = <const T extends string>(type: T) => z.object({ type: z.literal(type), ...Meta })

/**
 * The part of each case event the projection reads, as zod schemas by type: a rebuild checks
 * every stored event against these (cheap: a few fields) instead of the full contract (the store
 * only ever holds events that passed it on the way in). Every `CaseEvent` fits its type's schema.
 */
export const PROJECTED_EVENT_SCHEMAS = {
  CaseSubmitted: z.object({
    type: z.literal('CaseSubmitted'),
    ...Meta,
    data: z.object({
      caseId: Code,
      trackingCode: Code,
      channel: Code,
      kind: Code,
      category: Code.optional(),
      location: z.object({ neighbourhood: z.string().optional() }).optional(),
      submittedAt: Instant.optional(),
      receivedAt: Instant,
    }),
  }),
  CaseRouted: z.object({ type: z.literal('CaseRouted'), ...Meta, data: z.object(routedData) }),
  CaseMarkedDuplicate: z.object({ type: z.literal('CaseMarkedDuplicate'), ...Meta, data: z.object({ ...routedData, duplicateOf: Code }) }),
  CaseTransferred: z.object({ type: z.literal('CaseTransferred'), ...Meta, data: z.object({ toDepartment: Code, category: Code.nullable(), sla: SlaPart }) }),
  CaseReopened: z.object({ type: z.literal('CaseReopened'), ...Meta, data: z.object({ sla: SlaPart }) }),
  CaseAccepted: withoutData('CaseAccepted'),
  CaseWorkStarted: withoutData('CaseWorkStarted'),
  CaseNoteAdded: withoutData('CaseNoteAdded'),
  CitizenInfoRequested: withoutData('CitizenInfoRequested'),
  CitizenReplied: withoutData('CitizenReplied'),
  CaseResolved: withoutData('CaseResolved'),
  CaseRejected: withoutData('CaseRejected'),
  CaseClosed: withoutData('CaseClosed'),
  SlaWarningRaised: withoutData('SlaWarningRaised'),
  SlaBreached: withoutData('SlaBreached'),
  CaseEscalated: withoutData('CaseEscalated'),
  CitizenNotified: withoutData('CitizenNotified'),
  NotificationFailed: withoutData('NotificationFailed'),
  WorkflowStepRecorded: withoutData('WorkflowStepRecorded'),
} as const satisfies { readonly [T in CaseEvent['type']]: z.ZodType }

/** A case event as far as the projection reads it. */
export type ProjectedEvent = { [T in keyof typeof PROJECTED_EVENT_SCHEMAS]: z.infer<(typeof PROJECTED_EVENT_SCHEMAS)[T]> }[keyof typeof PROJECTED_EVENT_SCHEMAS]

/**
 * A stored event (the store's type, data and metadata) as the projection reads it, or null when
 * its type is unknown or it lacks what the projection needs (skipped, never a failure).
 */
export function projectedEventFromStore(type: string, data: unknown, metadata: unknown): ProjectedEvent | null {
  const schema = (PROJECTED_EVENT_SCHEMAS as Record<string, z.ZodType<ProjectedEvent>>)[type]
  if (schema === undefined) return null
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {}
  const parsed = schema.safeParse({ type, occurredAt: meta.occurredAt, actor: meta.actor, data })
  return parsed.success ? parsed.data : null
}

/** Time zone of the municipality: days of the counters and of the CSV export. */
export const ZONE = 'Europe/Istanbul'

/** Statuses in which the municipality still owes an answer (the domain's OPEN_STATUSES). */
export const OPEN_STATUSES = ['submitted', 'routed', 'in_progress', 'waiting_for_citizen'] as const

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
  status: z.enum(['submitted', 'routed', 'in_progress', 'waiting_for_citizen', 'resolved', 'rejected', 'closed']),
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

/**
 * Days by UTC hour. Istanbul's offset has always been whole hours and changed only on the hour,
 * so every instant of one UTC hour falls on the same Istanbul day: one zone conversion per hour
 * instead of one per event (luxon's zone maths dominated the rebuild otherwise).
 */
const dayOfHour = new Map<number, string>()

/** Europe/Istanbul day (YYYY-MM-DD) of an instant. */
export function istanbulDay(iso: string | number): string {
  const ms = typeof iso === 'number' ? iso : Date.parse(iso)
  if (!Number.isFinite(ms)) return 'invalid'
  const hour = Math.floor(ms / 3600_000)
  let day = dayOfHour.get(hour)
  if (day === undefined) {
    day = DateTime.fromMillis(hour * 3600_000, { zone: ZONE }).toISODate() ?? 'invalid'
    if (dayOfHour.size > 100_000) dayOfHour.clear()
    dayOfHour.set(hour, day)
  }
  return day
}

export function isOpen(status: CaseDoc['status']): boolean {
  return (OPEN_STATUSES as readonly string[]).includes(status)
}

const ms = (iso: string): number => Date.parse(iso)

function effectiveDue(doc: Pick<CaseDoc, 'nominalDueMs' | 'pauseShiftMs' | 'pausedAtMs'>): string | null {
  if (doc.nominalDueMs === null || doc.pausedAtMs !== null) return null
  return new Date(doc.nominalDueMs + doc.pauseShiftMs).toISOString()
}

function withClock(doc: CaseDoc, sla: { readonly startedAt: string; readonly dueAt: string }): CaseDoc {
  const next = { ...doc, nominalDueMs: ms(sla.dueAt), clockStartMs: ms(sla.startedAt), pauseShiftMs: 0, pausedAtMs: null, breached: false, escalated: false }
  return { ...next, dueAt: effectiveDue(next) }
}

function timelineOf(doc: CaseDoc, event: ProjectedEvent): TimelineItem[] {
  // A citizen actor's id could identify the person; the dashboards only need to know it was the citizen.
  const actor = event.actor.kind === 'citizen' ? { kind: 'citizen', id: 'citizen' } : { kind: event.actor.kind, id: event.actor.id }
  const item = { at: event.occurredAt, type: event.type, actor }
  return doc.timeline.length >= MAX_TIMELINE ? [...doc.timeline.slice(1), item] : [...doc.timeline, item]
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
      status: 'submitted',
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
  const base: CaseDoc = { ...doc, position, timeline: timelineOf(doc, event) }
  switch (event.type) {
    case 'CaseSubmitted':
      return base
    case 'CaseRouted':
      return withClock({ ...base, status: 'routed', department: event.data.department, category: event.data.category ?? doc.category }, event.data.sla)
    case 'CaseMarkedDuplicate':
      return withClock(
        { ...base, status: 'routed', department: event.data.department, category: event.data.category ?? doc.category, duplicateOf: event.data.duplicateOf },
        event.data.sla,
      )
    case 'CaseAccepted':
      return { ...base, status: 'in_progress', firstResponseAt: doc.firstResponseAt ?? event.occurredAt }
    case 'CaseWorkStarted':
      return { ...base, status: 'in_progress', firstResponseAt: doc.firstResponseAt ?? event.occurredAt }
    case 'CitizenInfoRequested': {
      const next = { ...base, status: 'waiting_for_citizen' as const, pausedAtMs: doc.pausedAtMs ?? ms(event.occurredAt), firstResponseAt: doc.firstResponseAt ?? event.occurredAt }
      return { ...next, dueAt: effectiveDue(next) }
    }
    case 'CitizenReplied': {
      if (doc.pausedAtMs === null) return base
      // The domain returns the case to where it was; without that bookkeeping here, accepted cases
      // go back to work and unaccepted ones to the queue.
      const resumed = ms(event.occurredAt)
      const from = Math.max(doc.pausedAtMs, doc.clockStartMs ?? doc.pausedAtMs)
      const next = { ...base, status: doc.firstResponseAt !== null && doc.status === 'waiting_for_citizen' ? ('in_progress' as const) : doc.status, pausedAtMs: null, pauseShiftMs: doc.pauseShiftMs + Math.max(0, resumed - from) }
      return { ...next, dueAt: effectiveDue(next) }
    }
    case 'CaseTransferred':
      return withClock({ ...base, status: 'routed', department: event.data.toDepartment, category: event.data.category ?? doc.category }, event.data.sla)
    case 'CaseResolved':
      return { ...base, status: 'resolved', resolvedAt: doc.resolvedAt ?? event.occurredAt, pausedAtMs: null, dueAt: null }
    case 'CaseRejected':
      return { ...base, status: 'rejected', pausedAtMs: null, dueAt: null }
    case 'CaseClosed':
      return { ...base, status: 'closed', pausedAtMs: null, dueAt: null }
    case 'CaseReopened':
      return withClock({ ...base, status: 'routed' }, event.data.sla)
    case 'SlaWarningRaised':
      return base
    case 'SlaBreached':
      return { ...base, breached: true }
    case 'CaseEscalated':
      return { ...base, escalated: true }
    case 'CitizenNotified':
    case 'NotificationFailed':
    case 'CaseNoteAdded':
    case 'WorkflowStepRecorded':
      return base
    default: {
      const unknownEvent: never = event
      return unknownEvent
    }
  }
}

/** Counter scope of all cases, and of the cases received on one Istanbul day. */
export const ALL_SCOPE = 'all'
export const dayScope = (day: string): string => `day:${day}`

/**
 * The counter fields a case contributes 1 to, per scope. Counting is then a set difference:
 * whatever a change removes from this set is decremented, whatever it adds is incremented, so
 * every counter stays the number of cases with that property whatever order statuses come in.
 */
export function countersOf(doc: CaseDoc): Map<string, string[]> {
  const open = isOpen(doc.status)
  const all = ['total', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
  const day = ['submitted', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
  if (doc.department !== null) {
    const d = doc.department
    all.push(`department:${d}`, `dept:${d}|status:${doc.status}`)
    day.push(`department:${d}`)
    if (doc.category !== null) all.push(`dept:${d}|category:${doc.category}`)
    if (open) {
      all.push(`dept:${d}|open`)
      if (doc.escalated) all.push(`dept:${d}|escalated`)
      if (doc.breached) all.push(`dept:${d}|breached`)
    }
  }
  if (doc.category !== null) {
    all.push(`category:${doc.category}`)
    day.push(`category:${doc.category}`)
  }
  if (doc.neighbourhood !== null) {
    const n = doc.neighbourhood
    all.push(`neighbourhood:${n}`, `nb:${n}|total`)
    day.push(`neighbourhood:${n}`)
    if (open) all.push(`nb:${n}|open`)
    if (doc.category !== null) all.push(`nb:${n}|category:${doc.category}`)
  }
  if (open) all.push('open')
  if (open && doc.escalated) all.push('escalated')
  return new Map([
    [ALL_SCOPE, all],
    [dayScope(doc.day), day],
  ])
}

/** The open queue of a department holds a case with this score: its due time, or +∞ while paused. */
export interface QueuePlacement {
  readonly department: string
  readonly score: number
}

export function queuePlacement(doc: CaseDoc | null): QueuePlacement | null {
  if (doc === null || doc.department === null || !isOpen(doc.status)) return null
  return { department: doc.department, score: doc.dueAt === null ? Number.POSITIVE_INFINITY : ms(doc.dueAt) }
}

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

function addDelta(counters: Map<string, Map<string, number>>, scope: string, field: string, delta: number): void {
  let fields = counters.get(scope)
  if (fields === undefined) counters.set(scope, (fields = new Map()))
  const next = (fields.get(field) ?? 0) + delta
  if (next === 0) fields.delete(field)
  else fields.set(field, next)
}

function diffCounters(counters: Map<string, Map<string, number>>, before: CaseDoc | null, after: CaseDoc): void {
  const was = before === null ? new Map<string, string[]>() : countersOf(before)
  const is = countersOf(after)
  // A case has about fifteen fields per scope: scanning arrays beats building sets.
  for (const [scope, fields] of was) {
    const now = is.get(scope) ?? []
    for (const f of fields) if (!now.includes(f)) addDelta(counters, scope, f, -1)
  }
  for (const [scope, fields] of is) {
    const then = was.get(scope) ?? []
    for (const f of fields) if (!then.includes(f)) addDelta(counters, scope, f, 1)
  }
}

/**
 * Folds a batch of events over the documents the store already holds (`loaded`, by caseId; a
 * missing one is a new case) and returns the change. Pure: the same inputs give the same change.
 */
export function projectBatch(events: readonly PositionedEvent[], loaded: ReadonlyMap<string, CaseDoc>): ChangeSet {
  const before = new Map<string, CaseDoc | null>()
  const after = new Map<string, CaseDoc | null>()
  let position = 0
  let latestEventMs = 0
  let applied = 0
  let skipped = 0
  for (const p of events) {
    position = Math.max(position, p.position)
    const caseId = p.caseId
    if (!after.has(caseId)) {
      const doc = loaded.get(caseId) ?? null
      before.set(caseId, doc)
      after.set(caseId, doc)
    }
    const current = after.get(caseId) ?? null
    const next = evolveCase(current, p)
    if (next === current) {
      skipped++
      continue
    }
    applied++
    latestEventMs = Math.max(latestEventMs, ms(p.event.occurredAt))
    after.set(caseId, next)
  }
  const change: ChangeSet = { cases: [], created: new Set(), counters: new Map(), queueRemove: [], queueAdd: [], samples: [], minutes: new Map(), position, latestEventMs, applied, skipped }
  for (const [caseId, next] of after) {
    const prev = before.get(caseId) ?? null
    if (next === null || next === prev) continue
    change.cases.push(next)
    diffCounters(change.counters, prev, next)
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
      const submittedMs = ms(next.submittedAt)
      if (next.firstResponseAt !== null && (prev === null || prev.firstResponseAt === null)) {
        const at = ms(next.firstResponseAt)
        change.samples.push({ metric: 'first', department, category: next.category, caseId, atMs: at, durationMs: Math.max(0, at - submittedMs) })
      }
      if (next.resolvedAt !== null && (prev === null || prev.resolvedAt === null)) {
        const at = ms(next.resolvedAt)
        change.samples.push({ metric: 'resolution', department, category: next.category, caseId, atMs: at, durationMs: Math.max(0, at - submittedMs) })
      }
    }
  }
  return change
}

/** Median and 90th percentile of durations (nearest-rank), or nulls when there are none. */
export function percentiles(durations: readonly number[]): { count: number; medianMs: number | null; p90Ms: number | null } {
  if (durations.length === 0) return { count: 0, medianMs: null, p90Ms: null }
  const sorted = [...durations].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return { count: sorted.length, medianMs: rank(0.5), p90Ms: rank(0.9) }
}
