// Test support: case events as the services store them (type, data, the rest of the envelope as
// metadata), written straight to an event store with the times a test needs. Never imported by
// production code.
import { randomUUID } from 'node:crypto'
import { caseStreamId } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'

export interface TestCaseEvent {
  readonly type: string
  readonly occurredAt: string
  readonly data?: Record<string, unknown>
}

const meta = (occurredAt: string) => ({ schemaVersion: 1, occurredAt, actor: { kind: 'service', id: 'test' }, correlationId: randomUUID(), causationId: null })

/** A CaseSubmitted record of a case (no personal data: an anonymous tip with a neutral text). */
export function submitted(caseId: string, occurredAt: string, category?: string): TestCaseEvent {
  return {
    type: 'CaseSubmitted',
    occurredAt,
    data: { caseId, trackingCode: 'K7MA-4PXR-9TK', channel: 'web', kind: 'complaint', ...(category === undefined ? {} : { category }), description: 'test', receivedAt: occurredAt },
  }
}

export const routed = (occurredAt: string, category: string | null): TestCaseEvent => ({ type: 'CaseRouted', occurredAt, data: { department: 'fen-isleri', category } })
export const transferred = (occurredAt: string, category: string | null): TestCaseEvent => ({ type: 'CaseTransferred', occurredAt, data: { fromDepartment: 'fen-isleri', toDepartment: 'bilgi-edinme', category } })
export const closed = (occurredAt: string): TestCaseEvent => ({ type: 'CaseClosed', occurredAt, data: { reason: null } })
export const reopened = (occurredAt: string): TestCaseEvent => ({ type: 'CaseReopened', occurredAt, data: { reason: 'test' } })

/** Appends the events to the case's stream as the services record them. */
export async function writeCase(store: EventStore, caseId: string, events: readonly TestCaseEvent[]): Promise<void> {
  await store.append(
    caseStreamId(caseId),
    events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data ?? {}, metadata: meta(e.occurredAt) })),
    { expectedRevision: 'any' },
  )
}
