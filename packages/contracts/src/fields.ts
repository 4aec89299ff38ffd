/**
 * Field rules every input shares, wherever it arrives (HTTP body, intake topic, staff command):
 * text a person can read, phone numbers that can be dialled, e-mail addresses (internationalised
 * ones too), calendar dates and case ids. Only inputs use them: recorded events keep the looser
 * shapes they were written with, so an event stored under older rules still reads.
 */
import { isEmailValid } from '@hapi/address'
import { parsePhoneNumberFromString } from 'libphonenumber-js/max'
import { z } from 'zod'

// Letters, digits, punctuation and symbols: what leaves a mark on screen or paper. Spaces,
// zero-width and other format characters, controls and lone combining marks do not.
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u
// C0/C1 controls other than tab, line feed and carriage return: never part of what a person wrote.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u
// Half of a surrogate pair on its own (JSON can carry one as "\ud800"): no UTF-8 can store it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Whether the text has at least one character that shows (not only spaces, U+200B, NUL, …). */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE.test(text)
}

/**
 * What is wrong with a text a person typed, or undefined when nothing is: control characters (NUL
 * and the like), unpaired UTF-16 surrogates (they cannot be stored as UTF-8) or nothing visible.
 */
export function textProblem(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired surrogate (invalid Unicode)'
  if (CONTROL.test(text)) return 'contains control characters'
  if (!hasVisibleCharacter(text)) return 'must contain a visible character'
  return undefined
}

/** Free text typed by a person: trimmed, 1 … `max` characters, at least one of them visible. */
export function VisibleText(max: number) {
  return z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .check((ctx) => {
      const problem = textProblem(ctx.value)
      if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value })
    })
}

/** Country assumed for numbers written without a country code ("0532 …", "532 …"). */
export const DEFAULT_PHONE_COUNTRY = 'TR'

// The characters people type phone numbers with; letters ("ext", "x") and anything else are refused
// rather than silently dropped by the parser.
const PHONE_CHARACTERS = /^\+?[0-9 ().\-/]+$/

/**
 * A phone number as E.164 ("+905321234567"), or undefined when the text is not a real number:
 * Turkish numbers may be written nationally ("0532 123 45 67", "532 123 45 67", "0090 …"), others
 * need their country code. Validity is libphonenumber's full metadata (number plan and length),
 * so "-------" or "+90 123" never reach an SMS provider.
 */
export function normalizePhone(text: string): string | undefined {
  const trimmed = text.trim()
  if (!PHONE_CHARACTERS.test(trimmed)) return undefined
  const parsed = parsePhoneNumberFromString(trimmed, DEFAULT_PHONE_COUNTRY)
  return parsed !== undefined && parsed.isValid() ? parsed.number : undefined
}

/** A phone number in, E.164 out (see `normalizePhone`). */
export const PhoneNumber = z
  .string()
  .max(40, { error: 'must be at most 40 characters' })
  .transform((text, ctx) => {
    const e164 = normalizePhone(text)
    if (e164 !== undefined) return e164
    ctx.issues.push({ code: 'custom', message: 'must be a real phone number, e.g. +90 532 123 45 67 or 0532 123 45 67', input: text })
    return z.NEVER
  })

/**
 * Whether the text is an e-mail address: RFC 5321/5322 syntax with RFC 6531 internationalised local
 * parts and domains ("ayşe@örnek.com.tr"), checked by @hapi/address. The domain needs a dot; no
 * top-level-domain list is consulted, so new TLDs are never refused.
 */
export function isEmailAddress(text: string): boolean {
  return isEmailValid(text, { minDomainSegments: 2 })
}

/** An e-mail address, trimmed and in Unicode NFC (so "ş" typed two ways is one address). */
export const EmailAddress = z
  .string()
  .trim()
  .max(254, { error: 'must be at most 254 characters' })
  .transform((text, ctx) => {
    const nfc = text.normalize('NFC')
    if (isEmailAddress(nfc)) return nfc
    ctx.issues.push({ code: 'custom', message: 'must be an e-mail address, e.g. ayse@ornek.com.tr', input: text })
    return z.NEVER
  })

const CALENDAR_DATE = z.iso.date()
const INSTANT_WITH_OFFSET = z.iso.datetime({ offset: true })

/** Whether the text is a calendar date `YYYY-MM-DD` that exists (no 30 February, 29 February only in leap years). */
export function isCalendarDate(text: string): boolean {
  return CALENDAR_DATE.safeParse(text).success
}

/** Whether the text is an ISO instant with a `Z` or `±hh:mm` offset on a date that exists. */
export function isInstantWithOffset(text: string): boolean {
  return INSTANT_WITH_OFFSET.safeParse(text).success
}

/**
 * A case id in a URL or query: a UUID in any letter case, read in the lower case every stream and
 * record uses (so `…/B3F1…` finds the same case as `…/b3f1…`). `error` replaces zod's message.
 */
export function caseIdParam(options: { readonly error?: string } = {}) {
  return (options.error === undefined ? z.uuid() : z.uuid({ error: options.error })).transform((id) => id.toLowerCase())
}
