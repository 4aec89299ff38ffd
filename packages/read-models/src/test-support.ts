// Builders of case events for this package's tests (not exported from the package): every event
// is parsed with the contracts' schema, so a test cannot feed the projection an impossible event.
import { randomUUID } from 'node:crypto'
import { CaseEvent, type Actor } from '@civic-desk/contracts'
import type { PositionedEvent } from './projection.ts'

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
}
