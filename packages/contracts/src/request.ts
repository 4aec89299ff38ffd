import { z } from 'zod'

/** Channels through which a citizen request reaches the municipality. */
export const Channel = z.enum([
  'call-center', // Alo 153
  'whatsapp',
  'web',
  'email',
  'walk-in', // Beyaz Masa, Açık Kapı, kiosks, Halk Günü
  'mobile-team', // gezici ekipler, neighbourhood visits
  'social-media',
  'cimer', // the presidency's national petition system
  'petition', // written dilekçe
  'mobile-app',
])
export type Channel = z.infer<typeof Channel>

/** What the citizen is doing: asking, complaining, suggesting, tipping off, asking for information, thanking. */
export const RequestKind = z.enum(['request', 'complaint', 'suggestion', 'tip', 'information', 'appreciation'])
export type RequestKind = z.infer<typeof RequestKind>

export const PreferredContact = z.enum(['sms', 'email', 'whatsapp', 'none'])
export type PreferredContact = z.infer<typeof PreferredContact>

export const Location = z.strictObject({
  neighbourhood: z.string().trim().min(1).max(120).optional(),
  address: z.string().trim().min(1).max(500).optional(),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
}).refine((l) => (l.lat === undefined) === (l.lon === undefined), {
  message: 'lat and lon must be given together',
  path: ['lat'],
})
export type Location = z.infer<typeof Location>

/** Turkish numbers written the way people type them: +90 5xx…, 05xx…, with spaces, dashes or parentheses. */
const phone = z.string().trim().max(40).regex(/^\+?[0-9 ()-]{7,}$/, 'must be a phone number, e.g. +90 532 123 45 67')

/** Personal data of the person who applied. Absent means an anonymous request. */
export const Citizen = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  phone: phone.optional(),
  email: z.email().max(254).optional(),
  preferredChannel: PreferredContact.optional(),
})
export type Citizen = z.infer<typeof Citizen>

export const ExternalId = z.string().trim().min(1).max(200)

/** Body of `POST /v1/requests`: what a channel adapter hands in for one citizen request. */
export const SubmissionBody = z.strictObject({
  channel: Channel,
  externalId: ExternalId.optional(),
  kind: RequestKind,
  category: z.string().trim().min(1).max(80).optional(),
  description: z.string().trim().min(1, 'must not be empty').max(4000),
  location: Location.optional(),
  citizen: Citizen.optional(),
  /** When the citizen applied, if earlier than it reached us (e.g. a petition scanned later). */
  submittedAt: z.iso.datetime({ offset: true }).optional(),
})
export type SubmissionBody = z.infer<typeof SubmissionBody>

/** Answer to an accepted submission (201 when new, 200 when the same externalId was seen before). */
export const SubmissionReceipt = z.strictObject({
  caseId: z.uuid(),
  trackingCode: z.string(),
  status: z.literal('submitted'),
})
export type SubmissionReceipt = z.infer<typeof SubmissionReceipt>
