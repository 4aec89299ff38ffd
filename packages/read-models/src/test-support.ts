// Builders of case events for this package's tests (not exported from the package): every event
// is parsed with the contracts' schema, so a test cannot feed the projection an impossible event.
import { randomUUID } from 'node:crypto'
import { CaseEvent, type Actor } from '@civic-desk/contracts'
import type { PositionedEvent } from './case-document.ts'
import { ALL_SCOPE, dayScope } from './counters.ts'
import type { VersionReader } from './store.ts'

const service: Actor = { kind: 'service', id: 'routing' }
const staff: Actor = { kind: 'staff', id: 'fen-isleri-ekip-1' }

/** A case's event sequence under construction; `position` is shared so several cases interleave. */
export class CaseScript {
  readonly caseId = randomUUID()
  readonly trackingCode: string
  constructor(
    private readonly positions: { next: number },
    readonly options: { readonly channel?: string; readonly kind?: string; readonly category?: string; readonly neighbourhood?: string } = {},
  ) {
    this.trackingCode = `T${this.caseId.slice(0, 8).toUpperCase()}`
  }

  private event(type: string, at: string, data: unknown, actor: Actor = service): PositionedEvent {
    const event = CaseEvent.parse({ eventId: randomUUID(), type, schemaVersion: 1, occurredAt: at, actor, correlationId: this.caseId, causationId: null, data })
    return { caseId: this.caseId, position: this.positions.next++, event }
  }

  submitted(at: string): PositionedEvent {
    return this.event(
      'CaseSubmitted',
      at,
      {
        caseId: this.caseId,
        trackingCode: this.trackingCode,
        channel: this.options.channel ?? 'web',
        kind: this.options.kind ?? 'complaint',
        ...(this.options.category === undefined ? {} : { category: this.options.category }),
        description: 'Sokakta büyük bir çukur var',
        ...(this.options.neighbourhood === undefined ? {} : { location: { neighbourhood: this.options.neighbourhood } }),
        citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
        receivedAt: at,
      },
      { kind: 'channel', id: 'alo153' },
    )
  }

  routed(at: string, department: string, dueAt: string, category: string | null = this.options.category ?? null): PositionedEvent {
    return this.event('CaseRouted', at, {
      department,
      category,
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: at, deadline: { hours: 48 }, basis: 'category', dueAt },
      legalDueAt: null,
    })
  }

  accepted(at: string, department: string): PositionedEvent {
    return this.event('CaseAccepted', at, { department, assignee: 'Mehmet Usta' }, staff)
  }

  infoRequested(at: string): PositionedEvent {
    return this.event('CitizenInfoRequested', at, { question: 'Hangi bina?' }, staff)
  }

  replied(at: string): PositionedEvent {
    return this.event('CitizenReplied', at, { text: '12 numara', channel: 'call-center' }, staff)
  }

  resolved(at: string): PositionedEvent {
    return this.event('CaseResolved', at, { resolution: 'Asfaltlandı' }, staff)
  }

  breached(at: string, department: string, dueAt: string): PositionedEvent {
    return this.event('SlaBreached', at, { clock: 1, department, dueAt })
  }

  escalated(at: string, department: string): PositionedEvent {
    return this.event('CaseEscalated', at, { clock: 1, department, to: 'supervisors', reason: 'Süre aşıldı' })
  }

  transferred(at: string, from: string, to: string, dueAt: string): PositionedEvent {
    return this.event('CaseTransferred', at, { fromDepartment: from, toDepartment: to, category: null, reason: 'Yetki', sla: { clock: 2, startedAt: at, deadline: { hours: 48 }, basis: 'category', dueAt } })
  }

  markedDuplicate(at: string, department: string, dueAt: string, duplicateOf: string): PositionedEvent {
    return this.event('CaseMarkedDuplicate', at, {
      department,
      category: this.options.category ?? null,
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: at, deadline: { hours: 48 }, basis: 'category', dueAt },
      legalDueAt: null,
      duplicateOf,
      duplicateOfTrackingCode: 'K7MA-4PXR-9TK',
      match: 'location',
      distanceMeters: 12,
      similarity: null,
    })
  }

  unlinked(at: string, department: string, dueAt: string, duplicateOf: string): PositionedEvent {
    return this.event(
      'CaseDuplicateUnlinked',
      at,
      { duplicateOf, duplicateOfTrackingCode: 'K7MA-4PXR-9TK', department, reason: 'Yanlış bağlantı', sla: { clock: 2, startedAt: at, deadline: { hours: 48 }, basis: 'category', dueAt } },
      { kind: 'staff', id: 'temizlik.zeynep' },
    )
  }
}

/** A case event as an event store holds it (type, data and metadata as stored), on its stream. */
export interface StoredCaseEvent {
  readonly streamId: string
  readonly id: string
  readonly type: string
  readonly data: Record<string, unknown>
  readonly metadata: Record<string, unknown>
}

/** A small seeded generator (mulberry32): the same seed, the same events. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Realistic stored case events of `cases` cases, interleaved in one global order: every type the
 * projection knows in plausible sequences (routing, duplicates, transfers, pauses, reopening,
 * closing, notifications, notes), a few oddities (events before the submission, citizen actors,
 * offsets other than Z, missing optional fields, blank neighbourhoods), around `nowMs`.
 */
export function realisticStoredEvents(cases: number, seed = 153, nowMs = Date.now()): StoredCaseEvent[] {
  const random = seeded(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const departments = ['fen-isleri', 'temizlik', 'imar', 'zabita']
  const categories = ['yol-cukur', 'cop-toplama', 'kaldirim', 'agac-budama']
  const neighbourhoods = ['Kazımdirik', 'Erzene', 'Atatürk', ' Işıklar ', '   ']
  const actors = [
    { kind: 'service', id: 'routing' },
    { kind: 'staff', id: 'staff-1' },
    { kind: 'staff', id: 'staff-2' },
    { kind: 'citizen', id: 'citizen-42' },
    { kind: 'service', id: 'notification' },
  ]
  const perCase: StoredCaseEvent[][] = []
  for (let c = 0; c < cases; c++) {
    const caseId = randomUUID()
    const streamId = `case-${caseId}`
    let t = nowMs - 20 * 24 * 3600_000 + c * 3 * 3600_000 + Math.floor(random() * 3600_000)
    const iso = (): string => {
      const d = new Date(t)
      // Now and then an instant with an offset (stored as the channel sent it).
      return random() < 0.1 ? `${new Date(t + 3 * 3600_000).toISOString().slice(0, 23)}+03:00` : d.toISOString()
    }
    const events: StoredCaseEvent[] = []
    const push = (type: string, data: Record<string, unknown>, actor = pick(actors)): void => {
      t += Math.floor(random() * 6 * 3600_000)
      events.push({ streamId, id: randomUUID(), type, data, metadata: { schemaVersion: 1, occurredAt: iso(), actor, correlationId: caseId, causationId: null } })
    }
    const sla = (): Record<string, unknown> => ({ clock: 1, startedAt: new Date(t).toISOString(), deadline: { hours: 48 }, basis: 'category', dueAt: new Date(t + (random() < 0.5 ? 48 : 2) * 3600_000).toISOString() })
    if (random() < 0.1) push('CaseNoteAdded', { text: 'before the submission' })
    const submitted: Record<string, unknown> = { caseId, trackingCode: `T${caseId.slice(0, 8).toUpperCase()}`, channel: pick(['web', 'call-center', 'whatsapp']), kind: pick(['complaint', 'request']), description: 'Sokakta çukur var', receivedAt: new Date(t).toISOString() }
    if (random() < 0.8) submitted.category = pick(categories)
    if (random() < 0.8) submitted.location = random() < 0.9 ? { neighbourhood: pick(neighbourhoods), address: 'Gül Sokak' } : { address: 'Gül Sokak' }
    if (random() < 0.3) submitted.submittedAt = new Date(t - 3600_000).toISOString()
    push('CaseSubmitted', submitted, { kind: 'channel', id: 'alo153' })
    let department = pick(departments)
    const steps = 1 + Math.floor(random() * 9)
    for (let s = 0; s < steps; s++) {
      const r = random()
      if (r < 0.15) push('CaseRouted', { department: (department = pick(departments)), category: random() < 0.7 ? pick(categories) : null, routedBy: 'category', matchedKeywords: [], sla: sla(), legalDueAt: null })
      else if (r < 0.2)
        push('CaseMarkedDuplicate', {
          department,
          category: null,
          routedBy: 'keywords',
          matchedKeywords: ['çukur'],
          sla: sla(),
          legalDueAt: null,
          duplicateOf: randomUUID(),
          duplicateOfTrackingCode: 'K7MA-4PXR-9TK',
          match: 'neighbourhood-text',
          distanceMeters: null,
          similarity: 0.6,
        })
      else if (r < 0.3) push('CaseAccepted', { department, assignee: 'Mehmet Usta' })
      else if (r < 0.35) push('CaseWorkStarted', { note: null })
      else if (r < 0.42) push('CitizenInfoRequested', { question: 'Hangi bina?' })
      else if (r < 0.49) push('CitizenReplied', { text: '12 numara', channel: 'sms' })
      else if (r < 0.55) push('CaseTransferred', { fromDepartment: department, toDepartment: (department = pick(departments)), category: random() < 0.5 ? pick(categories) : null, reason: 'Yetki', sla: sla() })
      else if (r < 0.63) push('CaseResolved', { resolution: 'Tamam' })
      else if (r < 0.66) push('CaseRejected', { reasonCode: 'out_of_scope', reason: 'Yetki dışı' })
      else if (r < 0.7) push('CaseClosed', { reason: null })
      else if (r < 0.74) push('CaseReopened', { reason: 'Tekrar', sla: sla() })
      else if (r < 0.78) push('SlaWarningRaised', { clock: 1, department, dueAt: new Date(t).toISOString() })
      else if (r < 0.82) push('SlaBreached', { clock: 1, department, dueAt: new Date(t).toISOString() })
      else if (r < 0.86) push('CaseEscalated', { clock: 1, department, to: 'supervisors', reason: 'Süre aşıldı' })
      else if (r < 0.93) push('CitizenNotified', { notificationId: randomUUID(), template: 'acknowledgement', channel: 'sms', to: '+90 5** *** ** 67', attempts: 1 })
      else if (r < 0.95) push('NotificationFailed', { notificationId: randomUUID(), reason: 'timeout' })
      else if (r < 0.97) push('WorkflowStepRecorded', { step: 'inspection' })
      else push('CaseNoteAdded', { text: 'not' })
    }
    perCase.push(events)
  }
  // Interleave: repeatedly take the next event of a random case that still has some.
  const out: StoredCaseEvent[] = []
  const cursors = perCase.map(() => 0)
  let left = perCase.reduce((n, e) => n + e.length, 0)
  while (left > 0) {
    const c = Math.floor(random() * perCase.length)
    const e = perCase[c]![cursors[c]!]
    if (e === undefined) continue
    cursors[c]!++
    out.push(e)
    left--
  }
  return out
}

/**
 * Everything a reader of a version shows about the given cases: documents, tracking codes,
 * counters of every scope they touch, queues, samples, minutes and receipts — to compare two
 * builds of the same events.
 */
export async function readModelSnapshot(reader: VersionReader, events: readonly StoredCaseEvent[]): Promise<unknown> {
  const caseIds = [...new Set(events.map((e) => e.streamId.slice('case-'.length)))]
  const docs = await reader.getCases(caseIds)
  const departments = new Set<string>()
  const categories = new Set<string | null>([null])
  const scopes = new Set<string>([ALL_SCOPE])
  for (const e of events) {
    for (const key of ['department', 'toDepartment']) if (typeof e.data[key] === 'string') departments.add(e.data[key] as string)
    if (typeof e.data.category === 'string') categories.add(e.data.category)
  }
  for (const d of docs) scopes.add(dayScope(d.day))
  const counters: Record<string, unknown> = {}
  for (const scope of [...scopes].sort()) counters[scope] = await reader.counters(scope)
  const queues: Record<string, unknown> = {}
  const samples: Record<string, unknown> = {}
  for (const department of [...departments].sort()) {
    queues[department] = await reader.queue(department, 10_000)
    for (const category of categories) for (const metric of ['first', 'resolution'] as const) samples[`${metric}:${department}|${category}`] = await reader.samples(metric, department, category, 0)
  }
  const times = docs.map((d) => Date.parse(d.receivedAt))
  const from = Math.floor(Math.min(...times, Date.now()) / 60_000) * 60_000 - 3 * 3600_000
  const to = Math.max(...times, Date.now()) + 3 * 3600_000
  return {
    position: reader.position,
    docs: [...docs].sort((a, b) => (a.caseId < b.caseId ? -1 : 1)),
    tracking: await Promise.all(docs.map(async (d) => [d.trackingCode, await reader.caseIdForTrackingCode(d.trackingCode)])),
    counters,
    queues,
    samples,
    minutes: await reader.minutes(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3600_000, 6 * 60),
    received: await reader.receivedBetween(from, to),
  }
}
