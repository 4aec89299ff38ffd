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

const isCode = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSla = (v: unknown): v is { startedAt: string; dueAt: string } => isRecord(v) && isCode(v.startedAt) && isCode(v.dueAt)

/** Event types whose data the projection never reads (their schemas check type and metadata only). */
export const DATA_FREE_EVENT_TYPES: ReadonlySet<string> = new Set(
  Object.entries(PROJECTED_EVENT_SCHEMAS)
    .filter(([, schema]) => !('data' in schema.shape))
    .map(([type]) => type),
)

/** Event actors by kind and id, shared (never mutated): a rebuild meets a few dozen actors a million times. */
const actors = new Map<string, Map<string, { readonly kind: string; readonly id: string }>>()

function sharedActor(kind: string, id: string): { readonly kind: string; readonly id: string } {
  let ids = actors.get(kind)
  if (ids === undefined) {
    if (actors.size > 1000) actors.clear()
    actors.set(kind, (ids = new Map()))
  }
  let actor = ids.get(id)
  if (actor === undefined) {
    if (ids.size > 10_000) ids.clear()
    ids.set(id, (actor = { kind, id }))
  }
  return actor
}

/**
 * The schemas' checks written out by hand for the shapes stored events have: the same event when
 * it fits, null when not sure (then the schemas decide). About ten times cheaper than zod.
 */
function quickProjectedEvent(type: string, data: unknown, metadata: unknown): ProjectedEvent | null {
  if (!isRecord(metadata)) return null
  const occurredAt = metadata.occurredAt
  const a = metadata.actor
  if (!isCode(occurredAt) || !isRecord(a) || typeof a.kind !== 'string' || typeof a.id !== 'string') return null
  const actor = sharedActor(a.kind, a.id)
  if (DATA_FREE_EVENT_TYPES.has(type)) return { type, occurredAt, actor } as ProjectedEvent
  if (!isRecord(data)) return null
  switch (type) {
    case 'CaseSubmitted': {
      const { caseId, trackingCode, channel, kind, category, location, submittedAt, receivedAt } = data
      if (!isCode(caseId) || !isCode(trackingCode) || !isCode(channel) || !isCode(kind) || !isCode(receivedAt)) return null
      if ((category !== undefined && !isCode(category)) || (submittedAt !== undefined && !isCode(submittedAt))) return null
      let loc: { neighbourhood?: string } | undefined
      if (location !== undefined) {
        if (!isRecord(location)) return null
        const neighbourhood = location.neighbourhood
        if (neighbourhood !== undefined && typeof neighbourhood !== 'string') return null
        loc = neighbourhood === undefined ? {} : { neighbourhood }
      }
      const d: Extract<ProjectedEvent, { type: 'CaseSubmitted' }>['data'] = { caseId, trackingCode, channel, kind, receivedAt }
      if (category !== undefined) d.category = category
      if (loc !== undefined) d.location = loc
      if (submittedAt !== undefined) d.submittedAt = submittedAt
      return { type, occurredAt, actor, data: d }
    }
    case 'CaseRouted':
    case 'CaseMarkedDuplicate': {
      const { department, category, sla, duplicateOf } = data
      if (!isCode(department) || !(category === null || isCode(category)) || !isSla(sla)) return null
      const s = { startedAt: sla.startedAt, dueAt: sla.dueAt }
      if (type === 'CaseRouted') return { type, occurredAt, actor, data: { department, category, sla: s } }
      return isCode(duplicateOf) ? { type, occurredAt, actor, data: { department, category, sla: s, duplicateOf } } : null
    }
    case 'CaseTransferred': {
      const { toDepartment, category, sla } = data
      if (!isCode(toDepartment) || !(category === null || isCode(category)) || !isSla(sla)) return null
      return { type, occurredAt, actor, data: { toDepartment, category, sla: { startedAt: sla.startedAt, dueAt: sla.dueAt } } }
    }
    case 'CaseReopened': {
      const { sla } = data
      return isSla(sla) ? { type, occurredAt, actor, data: { sla: { startedAt: sla.startedAt, dueAt: sla.dueAt } } } : null
    }
    default:
      return null
  }
}

/**
 * A stored event (the store's type, data and metadata) as the projection reads it, or null when
 * its type is unknown or it lacks what the projection needs (skipped, never a failure). The data
 * of a type in DATA_FREE_EVENT_TYPES is not looked at (a rebuild need not even parse it).
 */
export function projectedEventFromStore(type: string, data: unknown, metadata: unknown): ProjectedEvent | null {
  const schema = (PROJECTED_EVENT_SCHEMAS as Record<string, z.ZodType<ProjectedEvent>>)[type]
  if (schema === undefined) return null
  const quick = quickProjectedEvent(type, data, metadata)
  if (quick !== null) return quick
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
  const ms = typeof iso === 'number' ? iso : parseInstant(iso)
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

/** Epoch ms of each UTC hour `YYYY-MM-DDTHH` met (as a number YYYYMMDDHH), as Date.parse gives it. */
const hourStarts = new Map<number, number>()

/**
 * `Date.parse(iso)`, faster for the form every stored instant has (`toISOString()`:
 * `YYYY-MM-DDTHH:mm:ss.sssZ`): the hour from a cache, minutes, seconds and milliseconds added.
 * Anything else goes to Date.parse. A rebuild parses several million instants.
 */
export function parseInstant(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(10) !== 84 /* T */) return Date.parse(iso)
  let hourKey = 0
  for (let i = 0; i < 13; i++) {
    if (i === 4 || i === 7) {
      if (iso.charCodeAt(i) !== 45 /* - */) return Date.parse(iso)
      continue
    }
    if (i === 10) continue
    const digit = iso.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return Date.parse(iso)
    hourKey = hourKey * 10 + digit
  }
  if (iso.charCodeAt(13) !== 58 || iso.charCodeAt(16) !== 58 || iso.charCodeAt(19) !== 46) return Date.parse(iso)
  const m1 = iso.charCodeAt(14) - 48
  const m2 = iso.charCodeAt(15) - 48
  const s1 = iso.charCodeAt(17) - 48
  const s2 = iso.charCodeAt(18) - 48
  const f1 = iso.charCodeAt(20) - 48
  const f2 = iso.charCodeAt(21) - 48
  const f3 = iso.charCodeAt(22) - 48
  if (m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9 || s1 < 0 || s1 > 5 || s2 < 0 || s2 > 9 || f1 < 0 || f1 > 9 || f2 < 0 || f2 > 9 || f3 < 0 || f3 > 9) return Date.parse(iso)
  let start = hourStarts.get(hourKey)
  if (start === undefined) {
    start = Date.parse(`${iso.slice(0, 13)}:00:00.000Z`)
    if (hourStarts.size > 100_000) hourStarts.clear()
    hourStarts.set(hourKey, start)
  }
  return start + (m1 * 10 + m2) * 60_000 + (s1 * 10 + s2) * 1000 + f1 * 100 + f2 * 10 + f3
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
  const next: WorkingDoc = { ...doc, timeline: doc.timeline.slice() }
  evolveOwned(next, positioned)
  return next
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

/**
 * The counter fields of `countersOf`, in four disjoint parts that each depend on a few
 * properties, built once per combination and shared: a rebuild would otherwise build and hash
 * some thirty strings per case and batch. Each part holds the fields of both scopes.
 */
interface CounterPart {
  readonly all: readonly string[]
  readonly day: readonly string[]
}
const NO_FIELDS: CounterPart = { all: [], day: [] }

class PartCache {
  private readonly next = new Map<string, PartCache>()
  part: CounterPart | undefined
  at(key: string): PartCache {
    let node = this.next.get(key)
    if (node === undefined) {
      if (this.next.size > 10_000) this.next.clear()
      this.next.set(key, (node = new PartCache()))
    }
    return node
  }
}
const FLAGS = ['--', '-b', 'e-', 'eb'] as const
const flagsOf = (doc: CaseDoc): string => FLAGS[(doc.escalated ? 2 : 0) + (doc.breached ? 1 : 0)]!
const statusParts = new PartCache()
const departmentParts = new PartCache()
const categoryParts = new PartCache()
const neighbourhoodParts = new PartCache()
const dayScopes = new Map<string, string>()

function cachedDayScope(day: string): string {
  let scope = dayScopes.get(day)
  if (scope === undefined) {
    if (dayScopes.size > 100_000) dayScopes.clear()
    dayScopes.set(day, (scope = dayScope(day)))
  }
  return scope
}

/** The fields of `countersOf(doc)` as its four parts (see CounterPart). */
function statusPart(doc: CaseDoc): CounterPart {
  const node = statusParts.at(doc.status).at(doc.channel).at(doc.kind).at(doc.escalated ? 'e' : '-')
  if (node.part === undefined) {
    const open = isOpen(doc.status)
    const all = ['total', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
    if (open) all.push('open')
    if (open && doc.escalated) all.push('escalated')
    node.part = { all, day: ['submitted', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`] }
  }
  return node.part
}

function departmentPart(doc: CaseDoc): CounterPart {
  const d = doc.department
  if (d === null) return NO_FIELDS
  const node = departmentParts.at(d).at(doc.status).at(doc.category ?? '').at(flagsOf(doc))
  if (node.part === undefined) {
    const all = [`department:${d}`, `dept:${d}|status:${doc.status}`]
    if (doc.category !== null) all.push(`dept:${d}|category:${doc.category}`)
    if (isOpen(doc.status)) {
      all.push(`dept:${d}|open`)
      if (doc.escalated) all.push(`dept:${d}|escalated`)
      if (doc.breached) all.push(`dept:${d}|breached`)
    }
    node.part = { all, day: [`department:${d}`] }
  }
  return node.part
}

function categoryPart(doc: CaseDoc): CounterPart {
  if (doc.category === null) return NO_FIELDS
  const node = categoryParts.at(doc.category)
  node.part ??= { all: [`category:${doc.category}`], day: [`category:${doc.category}`] }
  return node.part
}

function neighbourhoodPart(doc: CaseDoc): CounterPart {
  const n = doc.neighbourhood
  if (n === null) return NO_FIELDS
  const open = isOpen(doc.status)
  const node = neighbourhoodParts.at(n).at(open ? 'open' : '-').at(doc.category ?? '')
  if (node.part === undefined) {
    const all = [`neighbourhood:${n}`, `nb:${n}|total`]
    if (open) all.push(`nb:${n}|open`)
    if (doc.category !== null) all.push(`nb:${n}|category:${doc.category}`)
    node.part = { all, day: [`neighbourhood:${n}`] }
  }
  return node.part
}

const COUNTER_PARTS = [statusPart, departmentPart, categoryPart, neighbourhoodPart] as const

/**
 * Counter parts added and removed by a batch, counted per part (and day scope) before any field
 * is touched: the cases of a batch share most parts, so each distinct part's fields are counted
 * once per batch instead of once per case.
 */
class PartTally {
  private readonly all = new Map<CounterPart, number>()
  private readonly days = new Map<string, Map<CounterPart, number>>()

  add(part: CounterPart, dayScopeName: string, delta: number): void {
    if (part.all.length > 0) this.all.set(part, (this.all.get(part) ?? 0) + delta)
    if (part.day.length > 0) {
      let parts = this.days.get(dayScopeName)
      if (parts === undefined) this.days.set(dayScopeName, (parts = new Map()))
      parts.set(part, (parts.get(part) ?? 0) + delta)
    }
  }

  into(counters: Map<string, Map<string, number>>): void {
    for (const [part, n] of this.all) if (n !== 0) for (const f of part.all) addDelta(counters, ALL_SCOPE, f, n)
    for (const [scope, parts] of this.days) for (const [part, n] of parts) if (n !== 0) for (const f of part.day) addDelta(counters, scope, f, n)
  }
}

/**
 * Tallies what changing `before` into `after` does to the counters: the fields of `before` less
 * one, those of `after` plus one — per part, and only for the parts that differ (a field in both
 * nets zero, so the deltas are those of the set difference of `countersOf`).
 */
function diffCounters(tally: PartTally, before: CaseDoc | null, after: CaseDoc): void {
  const afterScope = cachedDayScope(after.day)
  if (before === null) {
    for (const partOf of COUNTER_PARTS) tally.add(partOf(after), afterScope, 1)
    return
  }
  const beforeScope = cachedDayScope(before.day)
  const sameDay = before.day === after.day
  for (const partOf of COUNTER_PARTS) {
    const was = partOf(before)
    const is = partOf(after)
    if (was === is && sameDay) continue
    tally.add(was, beforeScope, -1)
    tally.add(is, afterScope, 1)
  }
}

type WorkingDoc = { -readonly [K in keyof CaseDoc]: CaseDoc[K] }

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
  doc.status = 'routed'
  doc.department = department
  doc.category = category ?? doc.category
  startClock(doc, sla)
}

/**
 * The fold of `evolveCase` on a document this batch owns (a copy made at the case's first event of the
 * batch): the same result, written into `doc` instead of a new document per event. Returns false
 * when the event changes nothing (at or below the document's position).
 */
function evolveOwned(doc: WorkingDoc, positioned: PositionedEvent): boolean {
  const { event, position } = positioned
  if (position <= doc.position) return false
  doc.position = position
  const timeline = doc.timeline
  timeline.push({ at: event.occurredAt, type: event.type, actor: event.actor.kind === 'citizen' ? CITIZEN_ACTOR : sharedActor(event.actor.kind, event.actor.id) })
  if (timeline.length > MAX_TIMELINE) timeline.shift()
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
      doc.status = 'in_progress'
      doc.firstResponseAt ??= event.occurredAt
      return true
    case 'CitizenInfoRequested':
      doc.status = 'waiting_for_citizen'
      doc.pausedAtMs ??= ms(event.occurredAt)
      doc.firstResponseAt ??= event.occurredAt
      doc.dueAt = effectiveDue(doc)
      return true
    case 'CitizenReplied': {
      if (doc.pausedAtMs === null) return true
      const resumed = ms(event.occurredAt)
      const from = Math.max(doc.pausedAtMs, doc.clockStartMs ?? doc.pausedAtMs)
      doc.status = doc.firstResponseAt !== null && doc.status === 'waiting_for_citizen' ? 'in_progress' : doc.status
      doc.pausedAtMs = null
      doc.pauseShiftMs = doc.pauseShiftMs + Math.max(0, resumed - from)
      doc.dueAt = effectiveDue(doc)
      return true
    }
    case 'CaseTransferred':
      queueIn(doc, event.data.toDepartment, event.data.category, event.data.sla)
      return true
    case 'CaseResolved':
      doc.status = 'resolved'
      doc.resolvedAt ??= event.occurredAt
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseRejected':
      doc.status = 'rejected'
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseClosed':
      doc.status = 'closed'
      doc.pausedAtMs = null
      doc.dueAt = null
      return true
    case 'CaseReopened':
      doc.status = 'routed'
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

/** The counted properties of two documents are the same (then so are their counter fields). */
function sameCounted(a: CaseDoc, b: CaseDoc): boolean {
  return (
    a.status === b.status &&
    a.channel === b.channel &&
    a.kind === b.kind &&
    a.department === b.department &&
    a.category === b.category &&
    a.neighbourhood === b.neighbourhood &&
    a.escalated === b.escalated &&
    a.breached === b.breached &&
    a.day === b.day
  )
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

/** Median and 90th percentile of durations (nearest-rank), or nulls when there are none. */
export function percentiles(durations: readonly number[]): { count: number; medianMs: number | null; p90Ms: number | null } {
  if (durations.length === 0) return { count: 0, medianMs: null, p90Ms: null }
  const sorted = [...durations].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return { count: sorted.length, medianMs: rank(0.5), p90Ms: rank(0.9) }
}
