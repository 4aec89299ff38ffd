import { z } from 'zod'
import { EventMeta } from './envelope.ts'

/**
 * Header names of every message on `civic.case-events.v1`: lets a consumer route, trace and
 * skip a message without parsing its value.
 */
export const CASE_EVENT_HEADERS = {
  /** The event's `type`, e.g. `CaseSubmitted`. */
  eventType: 'event-type',
  /** The event's `eventId` (UUID); the key consumers de-duplicate on. */
  eventId: 'event-id',
  /** The event's `correlationId`, to follow one request across services. */
  correlationId: 'correlation-id',
  /** W3C `traceparent` of the relay's publish span, a child of the event's own `traceparent`. */
  traceparent: 'traceparent',
} as const

/**
 * A case event as it travels on the topic, validated loosely: the envelope is checked, `type`
 * is any string and `data` is not looked at, so a consumer built before a new event type (or
 * version) existed still reads the message and can skip it instead of dead-lettering it.
 * Decode known types with `CaseEvent` itself (`CaseEvent.safeParse(message.event)`).
 */
export const CaseEventEnvelope = z.looseObject({
  ...EventMeta.shape,
  type: z.string().min(1),
  data: z.unknown(),
})
export type CaseEventEnvelope = z.infer<typeof CaseEventEnvelope>

/**
 * The value of every message on `civic.case-events.v1` (TOPICS.caseEvents), published by
 * event-relay for each event of a `case-<caseId>` stream, in the store's global order.
 *
 * - **key** = caseId (the stream id without `case-`), so one case's events stay in order;
 * - **headers**: `event-type`, `event-id`, `correlation-id`, and `traceparent` when the event has one
 *   (see `CASE_EVENT_HEADERS`);
 * - **value** = `{ streamId, revision, position, recordedAt, event }`, where `event` is the
 *   case event with its envelope (`eventId, type, schemaVersion, occurredAt, actor,
 *   correlationId, causationId, data`), exactly the object `decodeCaseEvent` rebuilds.
 *
 * Delivery is at-least-once: after a relay crash the last batch is published again, so
 * consumers de-duplicate on `event.eventId` (or on `position`, which is strictly increasing
 * per case). Unknown extra fields are stripped, so adding one is a compatible change.
 */
export const CaseEventMessage = z.object({
  /** `case-<caseId>`. */
  streamId: z.string().startsWith('case-'),
  /** 0-based position of the event inside its case stream: the case's expected revision after it. */
  revision: z.number().int().nonnegative(),
  /** 1-based position in the event store's global log; strictly increasing, never reused. */
  position: z.number().int().positive(),
  /** When the store recorded the event (ISO-8601 UTC). */
  recordedAt: z.iso.datetime({ offset: true }),
  event: CaseEventEnvelope,
})
export type CaseEventMessage = z.infer<typeof CaseEventMessage>
