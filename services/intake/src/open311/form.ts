/**
 * `POST requests` form fields → the intake's `SubmissionBody`, checked with Turkish descriptions a
 * client can show as they are. What the form cannot say (the request kind) follows from the service.
 */
import { createHash } from 'node:crypto'
import { EmailAddress, PhoneNumber, SubmissionBody, checkAnswers, type AnswerValue, type Category, type Channel, type Question, type RequestKind } from '@civic-desk/contracts'
import { Open311Error, badRequest } from './errors.ts'

/** The kind of a request filed under a service: Open311 has no kind, the service implies one. */
const KIND_OF_SERVICE: Readonly<Record<string, RequestKind>> = {
  tesekkur: 'appreciation',
  'genel-oneri': 'suggestion',
  'genel-sikayet': 'complaint',
  'bilgi-edinme-basvurusu': 'information',
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/
const ATTRIBUTE = /^attribute\[([^\]]+)\](\[\])?$/

/** One value of a single-valued field: absent, or its only value (a field given twice is refused). */
export function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name)
  if (values.length > 1) throw badRequest(`${name} parametresi bir kez verilmeli (${values.length} kez verildi).`)
  const value = values[0]?.trim()
  return value === undefined || value === '' ? undefined : value
}

function coordinate(params: URLSearchParams, name: 'lat' | 'long', limit: number): number | undefined {
  const text = single(params, name)
  if (text === undefined) return undefined
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN
  if (!Number.isFinite(value) || Math.abs(value) > limit) throw badRequest(`${name} geçersiz: -${limit} ile ${limit} arasında ondalık bir sayı olmalı (WGS84), '${text}' verildi.`)
  return value
}

/** `attribute[code]` and `attribute[code][]` as answers, each read as its question's datatype wants. */
function answersOf(params: URLSearchParams, questions: readonly Question[]): Record<string, AnswerValue> {
  const byCode = new Map(questions.map((q) => [q.code, q]))
  const raw = new Map<string, string[]>()
  for (const [name, value] of params) {
    const match = ATTRIBUTE.exec(name)
    if (match === null) continue
    const code = match[1]!
    raw.set(code, [...(raw.get(code) ?? []), value.trim()])
  }
  const answers: Record<string, AnswerValue> = {}
  for (const [code, values] of raw) {
    const question = byCode.get(code)
    if (question?.datatype === 'multivaluelist') {
      answers[code] = values.filter((v) => v !== '')
      continue
    }
    if (values.length > 1) throw badRequest(`attribute[${code}] bir kez verilmeli: bu soru tek bir yanıt alır.`)
    const value = values[0] ?? ''
    answers[code] = question?.datatype === 'number' && DECIMAL.test(value) ? Number(value) : value
  }
  return answers
}

/**
 * The external id of a request, from which its tracking code follows (see submit.ts): who sent it
 * (the api_key's id), the `device_id` and the client's reference — its `client_reference`, or
 * without one the request's own content — hashed into one value. The same request sent again
 * from the same device therefore finds its case instead of making a second one. Without a
 * `device_id` every request is a new one.
 */
export function externalIdOf(keyId: string, params: URLSearchParams): string | undefined {
  const device = single(params, 'device_id')
  if (device === undefined) return undefined
  const reference =
    single(params, 'client_reference') ??
    `content:${JSON.stringify([...params].filter(([name]) => name !== 'api_key' && name !== 'jurisdiction_id' && name !== 'account_id').sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y)))}`
  return `open311:${createHash('sha256').update(JSON.stringify([keyId, device, reference])).digest('hex')}`
}

/** The form as a submission of `channel`, or an `Open311Error` (400) naming every bad field. */
export function submissionOf(params: URLSearchParams, category: Category, channel: Channel, keyId: string): SubmissionBody {
  const problems: string[] = []
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read()
    } catch (error) {
      if (!(error instanceof Open311Error)) throw error
      problems.push(...error.descriptions)
      return undefined
    }
  }
  const lat = attempt(() => coordinate(params, 'lat', 90))
  const lon = attempt(() => coordinate(params, 'long', 180))
  const addressString = attempt(() => single(params, 'address_string'))
  const addressId = attempt(() => single(params, 'address_id'))
  if ((lat === undefined) !== (lon === undefined) && !problems.some((p) => p.startsWith('lat') || p.startsWith('long'))) problems.push('lat ve long birlikte verilmeli.')
  // A bad coordinate was given (and named above): no second error for a missing location.
  const located = lat !== undefined || lon !== undefined || problems.some((p) => p.startsWith('lat') || p.startsWith('long'))
  if (!located && addressString === undefined && addressId === undefined) {
    problems.push('Konum eksik: lat ve long, address_string ya da address_id parametrelerinden biri verilmeli.')
  }
  const answers = attempt(() => answersOf(params, category.questions ?? [])) ?? {}
  for (const p of checkAnswers(category.questions ?? [], answers)) problems.push(`attribute[${p.code}] geçersiz: ${p.messageTr}.`)

  const phoneText = attempt(() => single(params, 'phone'))
  const phone = phoneText === undefined ? undefined : PhoneNumber.safeParse(phoneText)
  if (phone !== undefined && !phone.success) problems.push(`phone geçersiz: '${phoneText}' bir telefon numarası değil (ör. +90 532 123 45 67).`)
  const emailText = attempt(() => single(params, 'email'))
  const email = emailText === undefined ? undefined : EmailAddress.safeParse(emailText)
  if (email !== undefined && !email.success) problems.push(`email geçersiz: '${emailText}' bir e-posta adresi değil.`)
  const name = [attempt(() => single(params, 'first_name')), attempt(() => single(params, 'last_name'))].filter((n) => n !== undefined).join(' ')
  const mediaUrl = attempt(() => single(params, 'media_url'))
  if (mediaUrl !== undefined && !/^https?:\/\/\S+$/i.test(mediaUrl)) problems.push(`media_url geçersiz: http(s) ile başlayan bir adres olmalı.`)
  const text = attempt(() => single(params, 'description'))
  const externalId = attempt(() => externalIdOf(keyId, params))
  if (problems.length > 0) throw badRequest(...problems)

  const description = [text ?? category.nameTr, mediaUrl === undefined ? undefined : `Fotoğraf: ${mediaUrl}`].filter((p) => p !== undefined).join('\n')
  const address = [addressString, addressId === undefined ? undefined : `Adres kodu: ${addressId}`].filter((p) => p !== undefined).join(' / ')
  const citizen = {
    ...(name === '' ? {} : { name }),
    ...(phone?.success === true ? { phone: phone.data } : {}),
    ...(email?.success === true ? { email: email.data } : {}),
  }
  const candidate = {
    channel,
    ...(externalId === undefined ? {} : { externalId }),
    kind: KIND_OF_SERVICE[category.code] ?? 'request',
    category: category.code,
    description,
    location: { ...(address === '' ? {} : { address }), ...(lat === undefined || lon === undefined ? {} : { lat, lon }) },
    ...(Object.keys(citizen).length === 0 ? {} : { citizen }),
    ...(Object.keys(answers).length === 0 ? {} : { answers }),
  }
  const parsed = SubmissionBody.safeParse(candidate)
  if (!parsed.success) {
    const FIELD: Readonly<Record<string, string>> = { description: 'description', 'location.address': 'address_string', 'citizen.name': 'first_name/last_name', 'location.lat': 'lat', 'location.lon': 'long' }
    throw badRequest(
      ...parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join('.')
        return `${FIELD[path] ?? path} geçersiz: ${issue.code === 'too_big' ? 'çok uzun' : 'okunabilir bir metin olmalı'}.`
      }),
    )
  }
  return parsed.data
}
