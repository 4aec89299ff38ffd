import { z } from 'zod'
import { eventSchema } from './envelope.ts'
import { Channel, Citizen, Location, RequestKind } from './request.ts'

/**
 * v1 of the first event of every case stream. `citizen` holds the applicant's personal data and is
 * absent for anonymous requests.
 */
export const CaseSubmittedV1 = eventSchema(
  'CaseSubmitted',
  1,
  z.strictObject({
    caseId: z.uuid(),
    trackingCode: z.string(),
    channel: Channel,
    externalId: z.string().optional(),
    kind: RequestKind,
    category: z.string().optional(),
    description: z.string(),
    location: Location.optional(),
    citizen: Citizen.optional(),
    /** When the citizen applied, as the channel reported it; absent when the channel did not say. */
    submittedAt: z.iso.datetime({ offset: true }).optional(),
    /** When intake accepted the request. */
    receivedAt: z.iso.datetime({ offset: true }),
  }),
)
export type CaseSubmittedV1 = z.infer<typeof CaseSubmittedV1>

/** Every case event the system knows, discriminated by `type`. Grows one schema per event type/version. */
export const CaseEvent = z.discriminatedUnion('type', [CaseSubmittedV1])
export type CaseEvent = z.infer<typeof CaseEvent>
export type CaseEventType = CaseEvent['type']
