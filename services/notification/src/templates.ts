/**
 * Citizen messages: one text per template, channel kind (short for SMS and WhatsApp, long for
 * e-mail) and language. Turkish is the default; English serves foreign residents and is the
 * fallback when a Turkish text is missing. Sentences are phrased so that no case suffix ever
 * attaches to a department or category name ("… Fen İşleri Müdürlüğü tarafından …"): Turkish
 * vowel harmony after an arbitrary proper noun cannot be generated reliably.
 */
import { CALENDAR_ZONE } from '@civic-desk/calendar'
import type { PreferredContact } from '@civic-desk/contracts'

/** The messages a citizen can receive about a case. */
export const TEMPLATE_NAMES = ['acknowledgement', 'duplicate-linked', 'info-requested', 'resolved', 'rejected', 'escalated'] as const

/** Name of a citizen message template. */
export type TemplateName = (typeof TEMPLATE_NAMES)[number]

/** Channels a notification can go out on: the citizen's preferred contact, except "none". */
export type NotificationChannel = Exclude<PreferredContact, 'none'>

/** Every notification channel, in a fixed order. */
export const NOTIFICATION_CHANNELS: readonly NotificationChannel[] = ['sms', 'email', 'whatsapp']

/** Languages messages are written in. */
export const LANGUAGES = ['tr', 'en'] as const

/** A message language. */
export type Language = (typeof LANGUAGES)[number]

/** Upper bound of an SMS body in UTF-16 code units: Turkish letters force UCS-2, so this is five concatenated segments. */
export const SMS_MAX_LENGTH = 320

/** WhatsApp's limit for a text message body. */
export const WHATSAPP_MAX_LENGTH = 4096

/** Municipality name used in e-mail closings when none is configured. */
export const DEFAULT_MUNICIPALITY_NAME = 'Belediye'

/**
 * The facts a message is rendered from; every optional field may be absent and is then left out of
 * the text. Nothing here belongs to another citizen: a duplicate notice says the request was joined
 * to an earlier one, never that one's tracking code (which would open its owner's status page).
 */
export interface TemplateContext {
  readonly trackingCode: string
  readonly citizenName?: string
  readonly departmentNameTr: string
  readonly departmentNameEn: string
  readonly categoryNameTr?: string
  readonly categoryNameEn?: string
  /** ISO instant the municipality expects to answer by; shown in the acknowledgement, in Istanbul time. */
  readonly expectedBy?: string
  /** What the municipality asks the citizen (info-requested). */
  readonly question?: string
  /** What was done (resolved). */
  readonly resolution?: string
  /** Why the request was turned down (rejected). */
  readonly reason?: string
  /** Public status page of the case. */
  readonly statusUrl?: string
}

/** How and in which language to render. */
export interface RenderOptions {
  readonly channel: NotificationChannel
  readonly language: Language
  /** Full name of the municipality for e-mail closings, e.g. "Kadıköy Belediyesi". Default "Belediye". */
  readonly municipalityName?: string
  /** The municipality's name in English closings; default `municipalityName`, else "Municipality". */
  readonly municipalityNameEn?: string
}

/** A rendered message; `language` is the one actually used (English when Turkish was missing). */
export interface RenderedMessage {
  readonly subject: string
  readonly text: string
  readonly language: Language
}

/** The context cannot make a correct message (empty tracking code, unreadable date, …): a bug in the caller. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError'
}

/**
 * What a template text is built from, prepared for one channel: free text already collapsed (short
 * channels), optional parts `undefined` when absent. `free` is the template's one free-text field
 * (question, resolution or reason), so the SMS fitting below can shorten it without knowing which.
 */
interface View {
  readonly greeting: string
  readonly code: string
  readonly department: string
  readonly category: string | undefined
  readonly expected: string | undefined
  readonly free: string | undefined
  readonly statusUrl: string | undefined
  readonly closing: string
}

interface TemplateText {
  subject(v: View): string
  short(v: View): string
  email(v: View): string
}

type Catalogue = Readonly<Record<TemplateName, TemplateText>>

const FREE_TEXT: Readonly<Record<TemplateName, 'question' | 'resolution' | 'reason' | undefined>> = {
  acknowledgement: undefined,
  'duplicate-linked': undefined,
  'info-requested': 'question',
  resolved: 'resolution',
  rejected: 'reason',
  escalated: undefined,
}

/** Adds a full stop unless the text already ends a sentence (so "Sonuç: Onarıldı." never gets "..") */
function sentence(text: string): string {
  return /[.!?…]["'”)]*$/u.test(text) ? text : `${text}.`
}

/** Joins the non-empty paragraphs of an e-mail body with blank lines. */
function paragraphs(...parts: ReadonlyArray<string | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join('\n\n')
}

/** Joins the present parts of a short message with single spaces. */
function words(...parts: ReadonlyArray<string | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ')
}

const TR: Catalogue = {
  acknowledgement: {
    subject: (v) => `Başvurunuz alındı (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.category === undefined ? '' : `"${v.category}" konulu `}başvurunuz alındı ve ${v.department} tarafından incelenecektir.`,
        `Takip kodunuz: ${v.code}.`,
        v.expected !== undefined && `Tahmini yanıt: ${v.expected}.`,
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.category === undefined ? 'Başvurunuz' : `"${v.category}" konulu başvurunuz`} alınmış olup ${v.department} tarafından incelenecektir.`,
        [`Takip kodunuz: ${v.code}`, v.expected !== undefined ? `Tahmini yanıt tarihi: ${v.expected}` : undefined].filter((l) => l !== undefined).join('\n'),
        v.statusUrl !== undefined
          ? `Başvurunuzun durumunu ${v.statusUrl} adresinden izleyebilirsiniz.`
          : 'Başvurunuzla ilgili bilgi almak için Alo 153 hattını arayarak takip kodunuzu belirtebilirsiniz.',
        v.closing,
      ),
  },
  'duplicate-linked': {
    subject: (v) => `Başvurunuz benzer bir başvuruyla birleştirildi (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.code} takip kodlu başvurunuz, aynı konudaki önceki bir başvuruyla birleştirilmiştir.`,
        `Başvurular ${v.department} tarafından birlikte ele alınacaktır.`,
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.code} takip kodlu başvurunuz, aynı konuda daha önce yapılmış bir başvuruyla birleştirilmiştir. Başvurular ${v.department} tarafından birlikte ele alınacak ve sonuç size ayrıca bildirilecektir.`,
        'Başvurunuzun farklı bir konuyla ilgili olduğunu düşünüyorsanız, takip kodunuzu belirterek Alo 153 üzerinden bize bildirebilirsiniz.',
        v.statusUrl !== undefined && `Başvurunuzun durumunu ${v.statusUrl} adresinden izleyebilirsiniz.`,
        v.closing,
      ),
  },
  'info-requested': {
    subject: (v) => `Başvurunuz için ek bilgi gerekiyor (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.code} takip kodlu başvurunuzun değerlendirilebilmesi için ${v.department} tarafından ek bilgi istenmektedir.`,
        v.free !== undefined && `İstenen bilgi: ${sentence(v.free)}`,
        "Lütfen yanıtınızı takip kodunuzla birlikte Alo 153'e iletiniz.",
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.code} takip kodlu başvurunuzun değerlendirilebilmesi için ${v.department} tarafından ek bilgi istenmektedir.`,
        v.free !== undefined && `İstenen bilgi:\n${v.free}`,
        'İstenen bilgiyi, takip kodunuzu belirterek Alo 153 üzerinden iletebilirsiniz.',
        v.statusUrl !== undefined && `Başvurunuzun durumunu ${v.statusUrl} adresinden izleyebilirsiniz.`,
        v.closing,
      ),
  },
  resolved: {
    subject: (v) => `Başvurunuz sonuçlandırıldı (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.code} takip kodlu başvurunuz ${v.department} tarafından sonuçlandırılmıştır.`,
        v.free !== undefined && `Sonuç: ${sentence(v.free)}`,
        'Bizi bilgilendirdiğiniz için teşekkür ederiz.',
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.code} takip kodlu başvurunuz ${v.department} tarafından sonuçlandırılmıştır.`,
        v.free !== undefined && `Yapılan işlem:\n${v.free}`,
        'Bizi bilgilendirdiğiniz için teşekkür ederiz.',
        v.statusUrl !== undefined && `Başvurunuzun ayrıntılarını ${v.statusUrl} adresinden görebilirsiniz.`,
        v.closing,
      ),
  },
  rejected: {
    subject: (v) => `Başvurunuz hakkında bilgilendirme (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.code} takip kodlu başvurunuz ${v.department} tarafından incelenmiş, ancak olumlu sonuçlandırılamamıştır.`,
        v.free !== undefined && `Gerekçe: ${sentence(v.free)}`,
        "Ayrıntılı bilgi için Alo 153'ü arayabilirsiniz.",
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.code} takip kodlu başvurunuz ${v.department} tarafından incelenmiş, ancak olumlu sonuçlandırılamamıştır.`,
        v.free !== undefined && `Gerekçe:\n${v.free}`,
        "Ayrıntılı bilgi almak için takip kodunuzu belirterek Alo 153'ü arayabilirsiniz.",
        v.statusUrl !== undefined && `Başvurunuzun ayrıntılarını ${v.statusUrl} adresinden görebilirsiniz.`,
        v.closing,
      ),
  },
  escalated: {
    subject: (v) => `Başvurunuz üst yönetime iletildi (takip kodu: ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `${v.code} takip kodlu başvurunuz öngörülen sürede sonuçlandırılamadığından ${v.department} bünyesinde üst yönetime iletilmiş olup öncelikli olarak ele alınacaktır.`,
        'Yaşanan gecikme için özür dileriz.',
        v.statusUrl !== undefined && `Durum: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `${v.code} takip kodlu başvurunuz öngörülen sürede sonuçlandırılamadığından ${v.department} bünyesinde üst yönetime iletilmiştir. Başvurunuz öncelikli olarak ele alınacak ve sonuç size bildirilecektir.`,
        'Yaşanan gecikme için özür dileriz.',
        v.statusUrl !== undefined && `Başvurunuzun durumunu ${v.statusUrl} adresinden izleyebilirsiniz.`,
        v.closing,
      ),
  },
}

// Department names go in parentheses after "the responsible unit": English needs an article
// before most of them ("the Directorate of …") but not all ("Water and Sewerage").
const EN: Catalogue = {
  acknowledgement: {
    subject: (v) => `We have received your request (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `we have received your request${v.category === undefined ? '' : ` about "${v.category}"`} and passed it to the responsible unit (${v.department}).`,
        `Your tracking code: ${v.code}.`,
        v.expected !== undefined && `Expected response by: ${v.expected}.`,
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `We have received your request${v.category === undefined ? '' : ` about "${v.category}"`}. It will be reviewed by the responsible unit (${v.department}).`,
        [`Your tracking code: ${v.code}`, v.expected !== undefined ? `Expected response by: ${v.expected} (Istanbul time)` : undefined]
          .filter((l) => l !== undefined)
          .join('\n'),
        v.statusUrl !== undefined
          ? `You can follow your request at ${v.statusUrl}.`
          : 'For information about your request, call Alo 153 and quote your tracking code.',
        v.closing,
      ),
  },
  'duplicate-linked': {
    subject: (v) => `Your request has been joined to a similar request (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `your request ${v.code} has been joined to an earlier request about the same matter.`,
        `The responsible unit (${v.department}) will handle them together.`,
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `Your request ${v.code} has been joined to an earlier request about the same matter. The responsible unit (${v.department}) will handle them together and let you know the outcome.`,
        'If you believe your request is about a different matter, please tell us through Alo 153, quoting your tracking code.',
        v.statusUrl !== undefined && `You can follow your request at ${v.statusUrl}.`,
        v.closing,
      ),
  },
  'info-requested': {
    subject: (v) => `More information needed for your request (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `to assess your request ${v.code}, the responsible unit (${v.department}) needs more information.`,
        v.free !== undefined && `Requested: ${sentence(v.free)}`,
        'Please reply through Alo 153, quoting your tracking code.',
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `To assess your request ${v.code}, the responsible unit (${v.department}) needs more information from you.`,
        v.free !== undefined && `Information requested:\n${v.free}`,
        'You can provide it through Alo 153, quoting your tracking code.',
        v.statusUrl !== undefined && `You can follow your request at ${v.statusUrl}.`,
        v.closing,
      ),
  },
  resolved: {
    subject: (v) => `Your request has been resolved (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `your request ${v.code} has been resolved by the responsible unit (${v.department}).`,
        v.free !== undefined && `Outcome: ${sentence(v.free)}`,
        'Thank you for letting us know.',
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `Your request ${v.code} has been resolved by the responsible unit (${v.department}).`,
        v.free !== undefined && `What was done:\n${v.free}`,
        'Thank you for letting us know.',
        v.statusUrl !== undefined && `You can see the details at ${v.statusUrl}.`,
        v.closing,
      ),
  },
  rejected: {
    subject: (v) => `About your request (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `your request ${v.code} has been reviewed by the responsible unit (${v.department}); unfortunately it cannot be taken forward.`,
        v.free !== undefined && `Reason: ${sentence(v.free)}`,
        'For details, please call Alo 153.',
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `Your request ${v.code} has been reviewed by the responsible unit (${v.department}). Unfortunately it cannot be taken forward.`,
        v.free !== undefined && `Reason:\n${v.free}`,
        'For more details, please call Alo 153 and quote your tracking code.',
        v.statusUrl !== undefined && `You can see the details at ${v.statusUrl}.`,
        v.closing,
      ),
  },
  escalated: {
    subject: (v) => `Your request has been escalated (tracking code ${v.code})`,
    short: (v) =>
      words(
        v.greeting,
        `your request ${v.code} could not be completed in the expected time, so it has been escalated to the management of the responsible unit (${v.department}) for priority handling.`,
        'We apologise for the delay.',
        v.statusUrl !== undefined && `Status: ${v.statusUrl}`,
      ),
    email: (v) =>
      paragraphs(
        v.greeting,
        `Your request ${v.code} could not be completed in the expected time, so it has been escalated to the management of the responsible unit (${v.department}). It will be handled with priority and we will let you know the outcome.`,
        'We apologise for the delay.',
        v.statusUrl !== undefined && `You can follow your request at ${v.statusUrl}.`,
        v.closing,
      ),
  },
}

// Partial on purpose: a Turkish text that is missing falls back to English rather than to nothing.
const CATALOGUES: Readonly<Record<Language, Partial<Catalogue>>> = { tr: TR, en: EN }

const FOOTER: Readonly<Record<Language, string>> = {
  tr: 'Bu e-posta otomatik olarak gönderilmiştir; lütfen yanıtlamayınız.',
  en: 'This e-mail was sent automatically; please do not reply to it.',
}

const DATE_OPTIONS: Intl.DateTimeFormatOptions = {
  timeZone: CALENDAR_ZONE,
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
}

// The zone is fixed in the options, so the machine's TZ never leaks into a citizen's message.
const DATE_FORMATS: Readonly<Record<Language, Intl.DateTimeFormat>> = {
  tr: new Intl.DateTimeFormat('tr-TR', DATE_OPTIONS),
  en: new Intl.DateTimeFormat('en-GB', DATE_OPTIONS),
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/

/** Formats an ISO instant as a date and time in Europe/Istanbul, e.g. "24 Kasım 2026 Salı 17:30". */
export function formatInstant(iso: string, language: Language): string {
  const date = new Date(iso)
  if (!ISO_INSTANT.test(iso) || Number.isNaN(date.getTime())) throw new TemplateError(`expectedBy must be an ISO instant with an offset, got ${JSON.stringify(iso)}`)
  return DATE_FORMATS[language].format(date)
}

/**
 * Shortens text to at most `max` UTF-16 code units, ending in "…"; cuts at a word boundary when
 * one is near, and never inside a surrogate pair.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 1) return '…'.slice(0, Math.max(0, max))
  let cut = text.slice(0, max - 1)
  const lastCode = cut.charCodeAt(cut.length - 1)
  if (lastCode >= 0xd800 && lastCode <= 0xdbff) cut = cut.slice(0, -1)
  const space = cut.lastIndexOf(' ')
  if (space >= cut.length - 15 && space > 0) cut = cut.slice(0, space)
  return `${cut.replace(/[\s,;:.]+$/u, '')}…`
}

/** Collapses line breaks and runs of spaces: a short message is one paragraph. */
function oneLine(text: string): string {
  return text.replace(/\s+/gu, ' ').trim()
}

/** Trims text and unifies line breaks; absent or blank text is `undefined`, so no empty phrase is rendered. */
function present(text: string | undefined, short: boolean): string | undefined {
  if (text === undefined) return undefined
  const cleaned = short ? oneLine(text) : text.replace(/\r\n?/gu, '\n').trim()
  return cleaned === '' ? undefined : cleaned
}

function required(value: string, field: string): string {
  const cleaned = oneLine(value)
  if (cleaned === '') throw new TemplateError(`${field} must not be empty`)
  return cleaned
}

// Caps for fields that are not free text but could still be long, so that in a short message the
// tracking code always stays near the start.
const SHORT_CAPS = { name: 40, department: 80, category: 60 } as const
const MIN_FREE_TEXT = 24

function capShort<T extends string | undefined>(text: T, max: number, short: boolean): T | string {
  return text === undefined || !short ? text : truncateText(text, max)
}

/**
 * Fits a short message into `limit`: first the category goes, then the status link if that
 * saves the whole free text, else the free text is shortened; as a last resort the tail (status link) is cut, which the caps above keep away from the code.
 */
function fitShort(template: TemplateText, view: View, limit: number): string {
  let current = view
  let text = template.short(current)
  if (text.length <= limit) return text
  if (current.category !== undefined) {
    current = { ...current, category: undefined }
    text = template.short(current)
    if (text.length <= limit) return text
  }
  if (current.free !== undefined) {
    // The free text (the question, the outcome) matters more than the link, but only dropping
    // the link is worth it when that lets the whole text through.
    if (current.statusUrl !== undefined) {
      text = template.short({ ...current, statusUrl: undefined })
      if (text.length <= limit) return text
    }
    const room = limit - template.short({ ...current, free: '' }).length
    if (room >= MIN_FREE_TEXT) return template.short({ ...current, free: truncateText(current.free, room) })
    current = { ...current, free: truncateText(current.free, MIN_FREE_TEXT) }
    text = template.short(current)
  }
  return truncateText(text, limit)
}

/**
 * Renders a citizen message for a channel and language. Short channels (SMS, WhatsApp) get one
 * paragraph; SMS stays within `SMS_MAX_LENGTH` by shortening free text with "…". E-mail gets a
 * subject, the full free text, a closing and a footer. Throws `TemplateError` for an empty
 * tracking code or department name, or an unreadable `expectedBy`.
 */
export function renderMessage(template: TemplateName, context: TemplateContext, options: RenderOptions): RenderedMessage {
  const language: Language = CATALOGUES[options.language][template] === undefined ? 'en' : options.language
  const text = CATALOGUES[language][template] ?? EN[template]
  const short = options.channel !== 'email'
  const name = capShort(present(context.citizenName, true), SHORT_CAPS.name, short)
  const freeField = FREE_TEXT[template]
  const municipality = present(options.municipalityName, true)
  const municipalityEn = present(options.municipalityNameEn, true) ?? municipality ?? 'Municipality'
  const view: View = {
    greeting: language === 'tr' ? `Sayın ${name ?? 'başvuru sahibi'},` : `Dear ${name ?? 'applicant'},`,
    code: required(context.trackingCode, 'trackingCode'),
    department: capShort(required(language === 'tr' ? context.departmentNameTr : context.departmentNameEn, 'department name'), SHORT_CAPS.department, short),
    category: capShort(present(language === 'tr' ? context.categoryNameTr : context.categoryNameEn, true), SHORT_CAPS.category, short),
    expected: context.expectedBy === undefined ? undefined : formatInstant(context.expectedBy, language),
    free: freeField === undefined ? undefined : present(context[freeField], short),
    statusUrl: present(context.statusUrl, true),
    closing:
      language === 'tr'
        ? `Saygılarımızla,\n${municipality ?? DEFAULT_MUNICIPALITY_NAME} Beyaz Masa\n\n${FOOTER.tr}`
        : `Kind regards,\n${municipalityEn} Beyaz Masa (Citizen Services)\n\n${FOOTER.en}`,
  }
  const subject = text.subject(view)
  switch (options.channel) {
    case 'email':
      return { subject, text: text.email(view), language }
    case 'sms':
      return { subject, text: fitShort(text, view, SMS_MAX_LENGTH), language }
    case 'whatsapp':
      return { subject, text: fitShort(text, view, WHATSAPP_MAX_LENGTH), language }
  }
}
