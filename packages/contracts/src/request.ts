import { z } from 'zod'
import { EmailAddress, PhoneNumber, VisibleText } from './fields.ts'
import { Answers } from './questions.ts'

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

const bothOrNeither = (l: { lat?: number | undefined; lon?: number | undefined }) => (l.lat === undefined) === (l.lon === undefined)
const latLon = { message: 'lat and lon must be given together', path: ['lat'] }

/** Where the matter is, as a channel hands it in. */
export const Location = z.strictObject({
  neighbourhood: VisibleText(120).optional(),
  address: VisibleText(500).optional(),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
}).refine(bothOrNeither, latLon)
export type Location = z.infer<typeof Location>

/**
 * A location as `CaseSubmitted` records it: the rules it was accepted under when it was written
 * (older events were not checked for visible text), so every stored event still reads.
 */
export const RecordedLocation = z.strictObject({
  neighbourhood: z.string().trim().min(1).max(120).optional(),
  address: z.string().trim().min(1).max(500).optional(),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
  /**
   * Schema v2 stores the coordinates sealed, as one personal field (`lat`/`lon` left out); opening
   * the event restores `lat` and `lon`. A reader without the case's key sees this in their place.
   */
  point: z.string().max(300).optional(),
}).refine(bothOrNeither, latLon)

/**
 * Personal data of the person who applied, as a channel hands it in. Absent means an anonymous
 * request; present, it names the person or gives a way to reach them (`{}` is refused). Phone
 * numbers are stored in E.164 ("+905321234567"), e-mail addresses in Unicode NFC.
 */
export const Citizen = z
  .strictObject({
    name: VisibleText(200).optional(),
    phone: PhoneNumber.optional(),
    email: EmailAddress.optional(),
    preferredChannel: PreferredContact.optional(),
  })
  .refine((c) => c.name !== undefined || c.phone !== undefined || c.email !== undefined, {
    message: 'must give at least a name, a phone number or an e-mail address; leave citizen out for an anonymous request',
  })
export type Citizen = z.infer<typeof Citizen>

/**
 * The citizen as `CaseSubmitted` records it. Looser than `Citizen` on purpose: events written under
 * older rules (numbers as typed, ASCII-only e-mail) and under today's must all still read.
 */
export const RecordedCitizen = z.strictObject({
  name: z.string().max(200).optional(),
  phone: z.string().max(40).optional(),
  email: z.string().max(254).optional(),
  preferredChannel: PreferredContact.optional(),
})

export const ExternalId = VisibleText(200)

/** Body of `POST /v1/requests`: what a channel adapter hands in for one citizen request. */
export const SubmissionBody = z.strictObject({
  channel: Channel,
  externalId: ExternalId.optional(),
  kind: RequestKind,
  category: z.string().trim().min(1).max(80).optional(),
  description: VisibleText(4000),
  location: Location.optional(),
  citizen: Citizen.optional(),
  /** When the citizen applied, if earlier than it reached us (e.g. a petition scanned later). */
  submittedAt: z.iso.datetime({ offset: true }).optional(),
  /** Answers to the category's questions, by question code (checked against the catalogue). */
  answers: Answers.optional(),
})
export type SubmissionBody = z.infer<typeof SubmissionBody>
