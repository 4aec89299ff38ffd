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
  const cached = decoded.get(stored.id)
  if (cached !== undefined && cached.type === stored.type) return cached
  const metadata = typeof stored.metadata === 'object' && stored.metadata !== null ? stored.metadata : {}
  const event = deepFreeze(CaseEvent.parse({ ...metadata, eventId: stored.id, type: stored.type, data: stored.data }))
  if (decoded.size >= DECODE_CACHE_SIZE) decoded.delete(decoded.keys().next().value!)
  decoded.set(stored.id, event)
  return event
}

/**
 * Recently decoded events by id. A stored event never changes (ids are unique and appends of a
 * known id are skipped), and every service folds the same young streams again and again (routing,
 * notification, workflow, the projections), so validating each record once instead of on every
 * read takes most of the schema work off the busy path. Frozen, so no caller can alter a shared one.
 */
const decoded = new Map<string, CaseEvent>()
const DECODE_CACHE_SIZE = 50_000

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
