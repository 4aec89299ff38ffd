import { z } from 'zod'

/** Who caused an event: a channel adapter, a member of staff, a citizen, or one of our services. */
export const Actor = z.strictObject({
  kind: z.enum(['channel', 'staff', 'citizen', 'service', 'system']),
  id: z.string().min(1).max(200),
})
export type Actor = z.infer<typeof Actor>

/** Metadata every case event carries, whatever its type. */
export const EventMeta = z.strictObject({
  eventId: z.uuid(),
  schemaVersion: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  actor: Actor,
  /** Chosen by the server that took the request in (never by the caller): joins every event one request led to. */
  correlationId: z.string().min(1).max(200),
  /**
   * The id the caller sent with its request (HTTP `x-request-id`), kept as it came: UNTRUSTED, for
   * matching the caller's own logs only, never for audit decisions. Absent when none was sent
   * (and in events stored before it existed).
   */
  clientRequestId: z.string().min(1).max(200).optional(),
  /**
   * W3C `traceparent` (version 00) of the span that appended the event: the trace of the request
   * or message being handled, so one request's events, logs and spans share a trace id. Absent
   * with `CIVIC_TRACING=off` and in events stored before it existed.
   */
  traceparent: z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
  /** The event or request that caused this one; null for a request from outside. */
  causationId: z.string().min(1).max(200).nullable(),
})
export type EventMeta = z.infer<typeof EventMeta>

/** Builds the schema of one event type and version: the metadata plus a literal type and its data. */
export function eventSchema<const T extends string, const V extends number, D extends z.ZodType>(type: T, schemaVersion: V, data: D) {
  return z.strictObject({
    ...EventMeta.shape,
    type: z.literal(type),
    // An event type whose data holds personal fields is stored at version 2 once they are sealed
    // (see @civic-desk/privacy); opened, it reads like version 1, and the version tells the two apart.
    schemaVersion: schemaVersion === 1 ? z.union([z.literal(1), z.literal(2)]) : z.literal(schemaVersion),
    data,
  })
}
