/**
 * The one stored-event codec: how a case event is split for the store (its data, and everything
 * else as metadata), how a stored record or a `civic.case-events.v1` message becomes a typed case
 * event again, and the message the relay publishes. Every reader of the log decodes through here.
 *
 * Two ways to decode:
 * - **contract** (`decodeCaseEvent`, `decodeCaseEnvelope`): the full zod contract of
 *   `@civic-desk/contracts`, formats and refinements included. Decoded events are frozen and kept
 *   by id in a bounded cache, because every reader folds the same young streams again and again
 *   and a stored event never changes.
 * - **shape** (`caseEventShapeDecoder`): for bulk readers of our own store (read-model rebuilds).
 *   The same contract, reduced to its shape: every required field present with its JSON type,
 *   without formats, lengths or refinements (the event passed those when it was written). Derived
 *   from the contract's schemas at start, so there is no second schema to keep in step.
 */
import { LRUCache } from 'lru-cache'
import { z } from 'zod'
import { CASE_EVENT_HEADERS, CASE_EVENT_TYPES, CaseEvent, UNAVAILABLE_PERSONAL_TEXT, type CaseEventMessage, type CaseEventReading, type CaseEventType } from '@civic-desk/contracts'
import { recordVariantOf, storedFormOf, type EventToAppend, type RecordedEvent } from '@civic-desk/event-store'
import { TOPICS, type OutgoingMessage } from '@civic-desk/messaging'
import { currentTraceparent, headersOf, parentFrom, startSpan } from '@civic-desk/tracing'
import { caseIdOfStream } from './stream.ts'

/** A record as the store holds it: the id, the type, the event's data and everything else as metadata. */
export interface StoredEvent {
  readonly id: string
  readonly type: string
  readonly data: unknown
  readonly metadata: unknown
}

/** A case event with where the store put it: what every reader of the log receives. */
export interface CaseFeedEvent {
  readonly caseId: string
  readonly streamId: string
  /** 0-based position of the event in its case stream. */
  readonly revision: number
  /** 1-based position in the store's global log. */
  readonly position: number
  /** When the store recorded it (ISO-8601 UTC). */
  readonly recordedAt: string
  readonly event: CaseEvent
}

/** A stored record or message that is not a known, valid case event: a bug or a foreign writer, never a citizen's fault. */
export class CaseEventDecodeError extends Error {
  override readonly name = 'CaseEventDecodeError'
  constructor(
    readonly eventId: string,
    readonly type: string,
    readonly reason: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${type} ${eventId} is invalid: ${reason}`, options)
  }
}

/**
 * Splits a case event into the store's data (the event's own data) and metadata (the rest of the
 * envelope). An event without a `traceparent` gets the running code's (the request or message being
 * handled): deciders know nothing of traces, the append is where the trace is recorded.
 */
export function encodeCaseEvent(event: CaseEvent): EventToAppend {
  const { eventId, type, data, ...metadata } = event
  const traceparent = metadata.traceparent ?? currentTraceparent()
  return { id: eventId, type, data, metadata: traceparent === undefined ? metadata : { ...metadata, traceparent } }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The case event's envelope form (`CaseEvent`'s shape) of a stored record: its metadata with id, type and data. */
function envelopeOf(stored: StoredEvent): Record<string, unknown> {
  return { ...(isRecord(stored.metadata) ? stored.metadata : {}), eventId: stored.id, type: stored.type, data: stored.data }
}

/** Decoded case events by id; a stored event never changes (ids are unique, an append of a known id is skipped). */
const decoded = new LRUCache<string, CaseEvent>({ max: 50_000 })

function issuesText(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** What a sealed personal field starts with (see @civic-desk/privacy). */
const SEALED_PREFIX = 'pd1.'

/**
 * The data of a record read without its case's key (a reader that never needs personal data, or a
 * process without the key store): every sealed field reads as unavailable, so the event still fits
 * the contract and carries no ciphertext further. Undefined when nothing in it is sealed.
 */
function withoutSealedFields(data: unknown): unknown {
  let found = false
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!value.startsWith(SEALED_PREFIX)) return value
      found = true
      return UNAVAILABLE_PERSONAL_TEXT
    }
    if (Array.isArray(value)) return value.map(walk)
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]))
    return value
  }
  const result = walk(data)
  return found ? result : undefined
}

/**
 * A case event in its envelope form (as `civic.case-events.v1` carries it: metadata, `eventId`,
 * `type`, `data`) checked against the full contract. Frozen; shared through the cache, so no
 * caller may alter it. `variant` names what an opener made of its personal fields (`open`,
 * `erased`, `unavailable`): each variant is cached apart, and an unavailable one not at all, so a
 * key that can be read again is read again. Sealed fields nobody opened read as unavailable.
 * Throws `CaseEventDecodeError`.
 */
export function decodeCaseEnvelope(envelope: Readonly<Record<string, unknown>>, variant?: string): CaseEvent {
  const id = typeof envelope['eventId'] === 'string' ? envelope['eventId'] : ''
  const type = typeof envelope['type'] === 'string' ? envelope['type'] : ''
  // A sealed event nobody opened: decoded (and cached) apart from the opened one.
  const unopened = variant === undefined && envelope['schemaVersion'] === 2
  const cacheKey = id === '' || variant === 'unavailable' ? undefined : unopened ? `${id}#sealed` : variant === undefined || variant === 'open' ? id : `${id}#${variant}`
  const cached = cacheKey === undefined ? undefined : decoded.get(cacheKey)
  if (cached !== undefined && cached.type === type) return cached
  const sealedData = unopened ? withoutSealedFields(envelope['data']) : undefined
  const parsed = CaseEvent.safeParse(sealedData === undefined ? envelope : { ...envelope, data: sealedData })
  if (!parsed.success) throw new CaseEventDecodeError(id || '(no id)', type || '(no type)', issuesText(parsed.error.issues), { cause: parsed.error })
  const event = deepFreeze(parsed.data)
  if (cacheKey !== undefined) decoded.set(cacheKey, event)
  return event
}

/** A stored record as a case event, checked against the full contract (see `decodeCaseEnvelope`). */
export function decodeCaseEvent(stored: StoredEvent | RecordedEvent): CaseEvent {
  const variant = 'streamId' in stored ? recordVariantOf(stored) : undefined
  const metadata = stored.metadata as { readonly schemaVersion?: unknown } | null
  if (variant === undefined && metadata?.schemaVersion !== 2) {
    const cached = decoded.get(stored.id)
    if (cached !== undefined && cached.type === stored.type) return cached
  }
  return decodeCaseEnvelope(envelopeOf(stored), variant)
}

/** A stored record of a case stream with where it sits, decoded (contract). Throws `CaseEventDecodeError`; a record of another stream is a bug of the caller. */
export function feedEventFromRecorded(recorded: RecordedEvent): CaseFeedEvent {
  const caseId = caseIdOfStream(recorded.streamId)
  if (caseId === null) throw new Error(`${recorded.streamId} is not a case stream`)
  return { caseId, streamId: recorded.streamId, revision: recorded.revision, position: recorded.position, recordedAt: recorded.recordedAt, event: decodeCaseEvent(recorded) }
}

/**
 * A `civic.case-events.v1` message value (already checked against `CaseEventMessage`) as a feed
 * event. Throws `CaseEventDecodeError` when the event is not a valid case event, or names another
 * case than its stream.
 */
export function feedEventFromMessage(value: CaseEventMessage, opened?: { readonly envelope: Readonly<Record<string, unknown>>; readonly variant: string | undefined }): CaseFeedEvent {
  const caseId = caseIdOfStream(value.streamId)
  const event = opened === undefined ? decodeCaseEnvelope(value.event) : decodeCaseEnvelope(opened.envelope, opened.variant)
  if (caseId === null) throw new CaseEventDecodeError(event.eventId, event.type, `stream ${value.streamId} is not a case stream`)
  if (event.type === 'CaseSubmitted' && event.data.caseId !== caseId) {
    throw new CaseEventDecodeError(event.eventId, event.type, `CaseSubmitted of case ${event.data.caseId} arrived from stream ${value.streamId}`)
  }
  return { caseId, streamId: value.streamId, revision: value.revision, position: value.position, recordedAt: value.recordedAt, event }
}

const PUBLISH_ATTRIBUTES = { 'messaging.system': 'kafka', 'messaging.destination.name': TOPICS.caseEvents, 'messaging.operation.type': 'send' } as const

/**
 * The `civic.case-events.v1` message of a stored case event (see `CaseEventMessage` in contracts):
 * key = caseId, the event in its envelope form, headers for type, id and correlation. Not checked
 * against the known types: the relay passes on what it does not know yet, and each consumer
 * dead-letters it visibly.
 */
export function caseEventMessage(read: RecordedEvent): OutgoingMessage {
  // What leaves the process is the record as stored: sealed fields stay sealed.
  const recorded = storedFormOf(read)
  const envelope = envelopeOf(recorded)
  const correlationId = envelope['correlationId']
  const traceparent = envelope['traceparent']
  // The publish is a span of the event's trace (a producer span, exported when export is on): the
  // consumers' spans hang under it, and the trace stays one tree from the request to the last consumer.
  const span = typeof traceparent === 'string' ? startSpan(`publish ${TOPICS.caseEvents}`, { kind: 'producer', parent: parentFrom(traceparent), attributes: PUBLISH_ATTRIBUTES }) : null
  span?.end()
  return {
    key: caseIdOfStream(recorded.streamId) ?? recorded.streamId,
    value: { streamId: recorded.streamId, revision: recorded.revision, position: recorded.position, recordedAt: recorded.recordedAt, event: envelope },
    headers: {
      [CASE_EVENT_HEADERS.eventType]: recorded.type,
      [CASE_EVENT_HEADERS.eventId]: recorded.id,
      ...(typeof correlationId === 'string' ? { [CASE_EVENT_HEADERS.correlationId]: correlationId } : {}),
      ...headersOf(span?.context),
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The shape path

/** One schema of the contract per case event type. */
const SCHEMA_OF: ReadonlyMap<string, z.ZodObject> = new Map(
  (CaseEvent as unknown as { readonly options: readonly z.ZodObject[] }).options.map((option) => {
    const literal = (option.shape['type'] as z.ZodLiteral<string>).value
    return [literal, option] as const
  }),
)

/** Every case event type the contract knows (re-exported from contracts for the readers of the log). */
export { CASE_EVENT_TYPES }

type Def = Record<string, unknown> & { readonly type: string }
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def

/** What compiled shape checks refer to: sets of allowed values, and checks of array elements. */
interface ShapeConstants {
  readonly sets: Array<ReadonlySet<unknown>>
  readonly elements: Array<(value: unknown) => boolean>
}

/**
 * The shape of a zod schema as a JavaScript expression over `value` (an expression itself): the
 * JSON type of every value and the presence of every required key, recursively; formats, lengths,
 * patterns and refinements are left out. Straight-line code, so V8 runs it at the speed of
 * hand-written checks (the technique zod and ajv use for their own validators).
 */
function shapeExpression(schema: unknown, value: string, constants: ShapeConstants): string {
  const def = defOf(schema)
  const set = (values: Iterable<unknown>): string => `S[${constants.sets.push(new Set(values)) - 1}].has(${value})`
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean':
      return `typeof ${value} === '${def.type}'`
    case 'literal':
      return set(def['values'] as readonly unknown[])
    case 'enum':
      return set(Object.values(def['entries'] as Record<string, unknown>))
    case 'optional':
    case 'default':
    case 'prefault':
      return `(${value} === undefined || ${shapeExpression(def['innerType'], value, constants)})`
    case 'nullable':
      return `(${value} === null || ${shapeExpression(def['innerType'], value, constants)})`
    case 'readonly':
      return shapeExpression(def['innerType'], value, constants)
    case 'pipe':
      return shapeExpression(def['in'], value, constants)
    case 'array': {
      const element = compileShape(def['element'], constants)
      return `(Array.isArray(${value}) && ${value}.every(E[${constants.elements.push(element) - 1}]))`
    }
    case 'record':
      return `(typeof ${value} === 'object' && ${value} !== null && !Array.isArray(${value}))`
    case 'union':
      return `(${(def['options'] as readonly unknown[]).map((option) => shapeExpression(option, value, constants)).join(' || ')})`
    case 'object': {
      const fields = Object.entries(def['shape'] as Record<string, unknown>).map(([key, field]) => shapeExpression(field, `${value}[${JSON.stringify(key)}]`, constants))
      return `(typeof ${value} === 'object' && ${value} !== null && !Array.isArray(${value})${fields.map((f) => ` && ${f}`).join('')})`
    }
    default:
      // unknown, any, json and the like: nothing to check.
      return 'true'
  }
}

function compileShape(schema: unknown, constants: ShapeConstants): (value: unknown) => boolean {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from our own contract at start, never from input
  return new Function('S', 'E', `return (v) => ${shapeExpression(schema, 'v', constants)}`)(constants.sets, constants.elements) as (value: unknown) => boolean
}

/** Per type: a check of the stored metadata (every field but eventId, type and data), of the data, and a builder of the event. */
interface TypeShape {
  readonly envelope: (metadata: unknown) => boolean
  readonly data: (data: unknown) => boolean
  /** The event from its parts, with the contract's fields in the contract's order (one hidden class per type). */
  readonly build: (metadata: Record<string, unknown>, id: string, type: string, data: unknown, withData: boolean) => Record<string, unknown>
}

const SHAPES: ReadonlyMap<string, TypeShape> = new Map(
  [...SCHEMA_OF].map(([type, schema]) => {
    const constants: ShapeConstants = { sets: [], elements: [] }
    const { data, eventId: _eventId, type: _type, ...envelope } = schema.shape
    const keys = Object.keys(envelope)
    const envelopeCheck = compileShape(z.object(envelope), constants)
    const fields = keys.map((key) => `${JSON.stringify(key)}: m[${JSON.stringify(key)}]`).join(', ')
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from our own contract at start
    const build = new Function('m', 'id', 'type', 'data', 'withData', `return withData ? { eventId: id, type, ${fields}, data } : { eventId: id, type, ${fields} }`) as TypeShape['build']
    return [type, { envelope: envelopeCheck, data: compileShape(data, constants), build }] as const
  }),
)

/**
 * A decoder for bulk readers of our own store that checks only the shape (see the module
 * comment) and reads the data of the types in `readData` only: every other type comes back
 * without data, and its `data` argument may be left undefined (no need to even parse it).
 * Returns null for a record of an unknown type or one whose shape does not fit (skip it).
 */
export function caseEventShapeDecoder<R extends CaseEventType>(
  readData: ReadonlySet<R>,
): (id: string, type: string, data: unknown, metadata: unknown) => CaseEventReading<R> | null {
  return (id, type, data, metadata) => {
    const shape = SHAPES.get(type)
    if (shape === undefined || !shape.envelope(metadata)) return null
    const reads = (readData as ReadonlySet<string>).has(type)
    if (reads && !shape.data(data)) return null
    return shape.build(metadata as Record<string, unknown>, id, type, data, reads) as CaseEventReading<R>
  }
}
