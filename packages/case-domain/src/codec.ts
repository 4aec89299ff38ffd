import { CaseEvent } from '@civic-desk/contracts'

/** The shape the event store takes (structurally the port's EventToAppend; no dependency on the store). */
export interface StoredEventInput {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
}

/** The shape the event store returns, as far as decoding needs it. */
export interface StoredEventOutput {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
}

/** Splits an event into the store's data (the event's own data) and metadata (everything else). */
export function encodeCaseEvent(event: CaseEvent): StoredEventInput {
  const { eventId, type, data, ...metadata } = event
  return { id: eventId, type, data, metadata }
}

/**
 * Rebuilds and validates a case event read from the store. Throws a ZodError for a record that is
 * not a known case event (a bug or a foreign writer, never the citizen's fault).
 */
export function decodeCaseEvent(stored: StoredEventOutput): CaseEvent {
  const metadata = typeof stored.metadata === 'object' && stored.metadata !== null ? stored.metadata : {}
  return CaseEvent.parse({ ...metadata, eventId: stored.id, type: stored.type, data: stored.data })
}
