/**
 * The auditor's terminal timeline (`pnpm audit:replay`): a case's recorded events as Turkish
 * sentences — when (Istanbul time), who, what, and where its SLA clock stood after each — cut at an
 * instant when asked, with a closing paragraph on the state at the end. Pure: the loaded case, the
 * instant and the catalogue's names come in; the text goes out.
 *
 * - **When** is the store's `recordedAt`, the instant as-of replay cuts by (see `as-of.ts`); the
 *   sender's `occurredAt` is added when it differs by a second or more.
 * - **The SLA clock after each step** is the state folded up to that event, evaluated at its
 *   `recordedAt`: what the queue showed right then. A case that was answered shows its clock as it
 *   stood at the answer.
 * - **Personal data**: the CLI reads through the sealing store when it has the master key and the
 *   key store; without them each sealed field reads `NO_KEY_TEXT`. An erased case reads
 *   "kişisel veri silindi" in every personal field, also before its erasure (as-of replay never
 *   undoes an erasure).
 */
import { CALENDAR_ZONE } from '@civic-desk/calendar'
import { evolve, initialState, type CaseState, type CatalogueNames, type OpenCase } from '@civic-desk/case-domain'
import type { CaseRecord, LoadedCase } from '@civic-desk/case-feed'
import {
  ERASED_PERSONAL_TEXT,
  UNAVAILABLE_PERSONAL_TEXT,
  isOpenStatus,
  type Actor,
  type CaseEvent,
  type CaseStatus,
  type Channel,
  type DeadlineTerms,
  type NotificationTemplate,
  type RejectionReason,
  type RequestKind,
} from '@civic-desk/contracts'
import { erasedEventData } from '@civic-desk/privacy'
import { caseAsOf } from './as-of.ts'
import { slaPositionAt } from './sla-view.ts'

/** What a sealed personal field reads as when the CLI has no master key or key store to open it. */
export const NO_KEY_TEXT = '[kişisel veri: anahtar olmadan okunamaz]'

/** Whether the personal fields were opened (keys at hand) or left sealed (no keys). */
export type PersonalDataAccess = 'opened' | 'no-key'

// ---------------------------------------------------------------------------------------------
// Words

/** Statuses as the console names them. */
export const STATUS_TR: { readonly [S in CaseStatus]: string } = {
  submitted: 'Alındı',
  routed: 'Yönlendirildi',
  in_progress: 'Üzerinde çalışılıyor',
  waiting_for_citizen: 'Vatandaştan bilgi bekleniyor',
  resolved: 'Çözüldü',
  rejected: 'Reddedildi',
  closed: 'Kapatıldı',
}

const CHANNEL_TR: { readonly [C in Channel]: string } = {
  'call-center': 'Alo 153 çağrı merkezi',
  whatsapp: 'WhatsApp',
  web: 'web',
  email: 'e-posta',
  'walk-in': 'Beyaz Masa (yüz yüze)',
  'mobile-team': 'saha ekibi',
  'social-media': 'sosyal medya',
  cimer: 'CİMER',
  petition: 'dilekçe',
  'mobile-app': 'mobil uygulama',
}

const KIND_TR: { readonly [K in RequestKind]: string } = {
  request: 'talep',
  complaint: 'şikâyet',
  suggestion: 'öneri',
  tip: 'ihbar',
  information: 'bilgi edinme',
  appreciation: 'teşekkür',
}

const REJECTION_TR: { readonly [R in RejectionReason]: string } = {
  'out-of-jurisdiction': 'belediyenin yetki alanı dışında',
  'not-municipal': 'belediye hizmeti değil',
  'insufficient-information': 'yetersiz bilgi',
  duplicate: 'mükerrer başvuru',
  other: 'diğer',
}

const TEMPLATE_TR: { readonly [T in NotificationTemplate]: string } = {
  acknowledgement: 'başvuru alındı bildirimi',
  'duplicate-linked': 'başvuru birleştirildi bildirimi',
  'info-requested': 'bilgi talebi',
  resolved: 'sonuç bildirimi',
  rejected: 'ret bildirimi',
  escalated: 'üst makama iletildi bildirimi',
}

const NOTIFICATION_CHANNEL_TR = { sms: 'SMS', email: 'e-posta', whatsapp: 'WhatsApp' } as const

const ACTOR_KIND_TR: { readonly [K in Actor['kind']]: string } = {
  staff: 'personel',
  channel: 'kanal',
  citizen: 'vatandaş',
  service: 'servis',
  system: 'sistem',
}

/** Our own services and jobs, by the actor id they write. */
const KNOWN_ACTORS: Readonly<Record<string, string>> = {
  routing: 'yönlendirme servisi',
  'sla-scheduler': 'SLA zamanlayıcısı',
  notification: 'bildirim servisi',
  intake: 'başvuru kabul servisi',
  'periodic-destruction': 'periyodik imha işi',
}

/** Who caused an event, in Turkish words: `personel ayse.fen`, `kanal alo153`, `sistem: SLA zamanlayıcısı`. */
export function actorTr(actor: Actor): string {
  const known = actor.kind === 'service' || actor.kind === 'system' ? KNOWN_ACTORS[actor.id] : undefined
  return known === undefined ? `${ACTOR_KIND_TR[actor.kind]} ${actor.id}` : `${ACTOR_KIND_TR[actor.kind]}: ${known}`
}

// Turkey keeps UTC+3 all year since 2016; the zone is named anyway so that old records come out right.
const ISTANBUL = new Intl.DateTimeFormat('tr-TR', {
  timeZone: CALENDAR_ZONE,
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

/** An instant in Istanbul local time, `05.12.2026 14:05:12`. */
export function istanbulTime(instant: Date | string): string {
  const parts = Object.fromEntries(ISTANBUL.formatToParts(typeof instant === 'string' ? new Date(instant) : instant).map((p) => [p.type, p.value]))
  return `${parts['day']}.${parts['month']}.${parts['year']} ${parts['hour']}:${parts['minute']}:${parts['second']}`
}

/** A length of time in words, to the minute (to the second under a minute): `2 gün 3 saat 5 dakika`. */
export function durationTr(ms: number): string {
  const total = Math.abs(ms)
  if (total < 60_000) return `${Math.floor(total / 1000)} saniye`
  const minutes = Math.floor(total / 60_000)
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  return [days > 0 ? `${days} gün` : '', hours > 0 ? `${hours} saat` : '', rest > 0 ? `${rest} dakika` : ''].filter((s) => s !== '').join(' ')
}

function deadlineTr(deadline: DeadlineTerms): string {
  if ('hours' in deadline) return `${deadline.hours} saat`
  if ('workingDays' in deadline) return `${deadline.workingDays} iş günü`
  return `${deadline.calendarDays} takvim günü`
}

const BASIS_TR = { category: 'kategori süresi', 'municipal-promise': 'belediye taahhüdü', 'information-law': 'Bilgi Edinme Kanunu', cimer: 'CİMER' } as const

/** The directorate's Turkish name, with its code. */
function departmentTr(code: string, names: CatalogueNames): string {
  return `${names.department(code)?.nameTr ?? code} (${code})`
}

/** "… müdürlüğüne": the directorate's name in the dative, for "…ne yönlendirildi". */
function departmentDativeTr(code: string, names: CatalogueNames): string {
  const name = names.department(code)?.nameTr ?? code
  // Catalogue names end in a possessive compound (Müdürlüğü, Birimi): its dative adds -ne.
  const dative = /(Müdürlüğü|Birimi|Başkanlığı)$/u.test(name) ? `${name}ne` : `${name} birimine`
  return `${dative} (${code})`
}

function categoryTr(code: string | null | undefined, names: CatalogueNames): string {
  if (code === null || code === undefined) return 'kategorisiz'
  return `${names.category(code)?.nameTr ?? code} (${code})`
}

// ---------------------------------------------------------------------------------------------
// Sentences

/** How a step reads its texts: the catalogue's names, and what personal fields read as. */
export interface SentenceContext {
  readonly names: CatalogueNames
  readonly personalData: PersonalDataAccess
}

const MAX_TEXT = 300

/** A free text of the record, quoted; a field that could not be opened without keys says so. */
function quoted(text: string, context: SentenceContext): string {
  if (text === UNAVAILABLE_PERSONAL_TEXT && context.personalData === 'no-key') return NO_KEY_TEXT
  if (text === ERASED_PERSONAL_TEXT || text === UNAVAILABLE_PERSONAL_TEXT) return `[${text}]`
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return `“${oneLine.length > MAX_TEXT ? `${oneLine.slice(0, MAX_TEXT)}…` : oneLine}”`
}

function newClockTr(sla: { readonly clock: number; readonly deadline: DeadlineTerms; readonly basis: keyof typeof BASIS_TR; readonly dueAt: string }): string {
  return `${sla.clock}. SLA süresi başladı: ${deadlineTr(sla.deadline)} (${BASIS_TR[sla.basis]}), son tarih ${istanbulTime(sla.dueAt)}`
}

/** A quotation that ends its own sentence takes no second full stop: `“Onarıldı.”`, not `“Onarıldı.”.`. */
const tidy = (text: string): string => text.replace(/([.?!…])”\./g, '$1”')

/** What happened, as one Turkish sentence per event type. */
export function eventSentence(event: CaseEvent, context: SentenceContext): string {
  return tidy(sentenceOf(event, context))
}

function sentenceOf(event: CaseEvent, context: SentenceContext): string {
  const { names } = context
  const q = (text: string): string => quoted(text, context)
  switch (event.type) {
    case 'CaseSubmitted': {
      const d = event.data
      const place = [d.location?.neighbourhood, d.location?.address === undefined ? undefined : quoted(d.location.address, context)].filter((p) => p !== undefined)
      const applicant = d.citizen === undefined ? 'anonim' : d.citizen.name === undefined ? 'adı verilmedi' : quoted(d.citizen.name, context)
      return [
        `Başvuru alındı: ${KIND_TR[d.kind]}, ${CHANNEL_TR[d.channel]} kanalından, takip kodu ${d.trackingCode}, ${categoryTr(d.category, names)}.`,
        `Konu: ${q(d.description)}.`,
        place.length === 0 ? '' : `Yer: ${place.join(', ')}.`,
        `Başvuran: ${applicant}.`,
        d.submittedAt === undefined ? '' : `Kanalın bildirdiği başvuru zamanı: ${istanbulTime(d.submittedAt)}.`,
      ]
        .filter((s) => s !== '')
        .join(' ')
    }
    case 'CaseRouted': {
      const d = event.data
      const how = d.routedBy === 'category' ? 'kategoriye göre' : d.routedBy === 'keywords' ? `anahtar kelimelere göre (${d.matchedKeywords.join(', ')})` : 'varsayılan birime'
      const legal = d.legalDueAt === null ? '' : `; yasal süre sonu ${istanbulTime(d.legalDueAt)}`
      return `${departmentDativeTr(d.department, names)} yönlendirildi (${how}, ${categoryTr(d.category, names)}); ${newClockTr(d.sla)}${legal}.`
    }
    case 'CaseMarkedDuplicate': {
      const d = event.data
      const match =
        d.match === 'location'
          ? `konumu ${d.distanceMeters === null ? 'yakın' : `${Math.round(d.distanceMeters)} m uzakta`}`
          : `aynı mahallede, metni benzer${d.similarity === null ? '' : ` (%${Math.round(d.similarity * 100)})`}`
      return `Mükerrer işaretlendi: önceki başvuru ${d.duplicateOfTrackingCode} (vaka ${d.duplicateOf}) ile ilişkilendirildi, ${match}; ${departmentDativeTr(d.department, names)} yönlendirildi; ${newClockTr(d.sla)}.`
    }
    case 'CaseDuplicateUnlinked': {
      const d = event.data
      return `Mükerrer bağlantısı kaldırıldı: önceki başvuru ${d.duplicateOfTrackingCode} ile ilişkisi kesildi, gerekçe ${q(d.reason)}; ${departmentTr(d.department, names)} ayrı başvuru olarak ele alacak; ${newClockTr(d.sla)}.`
    }
    case 'CaseAccepted':
      return `${departmentTr(event.data.department, names)} adına ${event.data.assignee} tarafından kabul edildi (üstlenildi).`
    case 'CaseWorkStarted':
      return `Çalışmaya başlandı${event.data.note === null ? '' : `; not: ${q(event.data.note)}`}.`
    case 'CaseNoteAdded':
      return `İç not eklendi: ${q(event.data.text)}.`
    case 'CitizenInfoRequested':
      return `Vatandaştan bilgi istendi: ${q(event.data.question)}; yanıt gelene kadar SLA süresi durdu.`
    case 'CitizenReplied':
      return `Vatandaş yanıt verdi${event.data.channel === null ? '' : ` (${CHANNEL_TR[event.data.channel]})`}: ${q(event.data.text)}; SLA süresi yeniden işliyor.`
    case 'CaseTransferred': {
      const d = event.data
      return `${departmentTr(d.fromDepartment, names)} tarafından ${departmentDativeTr(d.toDepartment, names)} devredildi (${categoryTr(d.category, names)}); gerekçe ${q(d.reason)}; ${newClockTr(d.sla)}.`
    }
    case 'CaseResolved':
      return `Çözüldü; vatandaşa verilen yanıt: ${q(event.data.resolution)}.`
    case 'CaseRejected':
      return `Reddedildi (gerekçe: ${REJECTION_TR[event.data.reasonCode]}): ${q(event.data.reason)}.`
    case 'CaseClosed':
      return `Kapatıldı${event.data.reason === null ? '' : `; gerekçe ${q(event.data.reason)}`}.`
    case 'CaseReopened': {
      const d = event.data
      const beyond = d.beyondLimit === undefined ? '' : `; yeniden açma sınırı (${d.beyondLimit.limit}) aşılarak, yönetici gerekçesi ${q(d.beyondLimit.reason)}`
      return `Yeniden açıldı; gerekçe ${q(d.reason)}${beyond}; ${newClockTr(d.sla)}.`
    }
    case 'SlaWarningRaised': {
      const d = event.data
      return `SLA uyarısı: ${d.clock}. sürenin %75'i ${istanbulTime(d.at)} itibarıyla doldu (${departmentTr(d.department, names)}); son tarih ${istanbulTime(d.dueAt)}.`
    }
    case 'SlaBreached': {
      const d = event.data
      return `SLA ihlali: ${d.clock}. süre ${istanbulTime(d.dueAt)} itibarıyla doldu (${departmentTr(d.department, names)}).`
    }
    case 'CaseEscalated': {
      const d = event.data
      return `Üst makama iletildi: ${departmentTr(d.department, names)} yöneticilerine (${d.clock}. süre aşıldığı için); gerekçe ${q(d.reason)}.`
    }
    case 'CitizenNotified': {
      const d = event.data
      return `Vatandaş bilgilendirildi: ${TEMPLATE_TR[d.template]}, ${NOTIFICATION_CHANNEL_TR[d.channel]} ile ${q(d.to)} adresine (${d.provider}, ${d.attempts}. denemede).`
    }
    case 'NotificationFailed': {
      const d = event.data
      return `Vatandaş bilgilendirilemedi: ${TEMPLATE_TR[d.template]}, ${NOTIFICATION_CHANNEL_TR[d.channel]} ile ${q(d.to)} adresine ${d.attempts} denemede gönderilemedi (${d.error.code}); personel vatandaşa başka yoldan ulaşmalı.`
    }
    case 'WorkflowStepRecorded': {
      const d = event.data
      const fields = Object.entries(d.fields).map(([k, v]) => `${k}: ${typeof v === 'string' ? q(v) : typeof v === 'boolean' ? (v ? 'evet' : 'hayır') : String(v)}`)
      return `İş akışı adımı kaydedildi: ${d.stepNameTr} (${d.workflow}/${d.step})${fields.length === 0 ? '' : `; ${fields.join(', ')}`}.`
    }
    case 'PersonalDataErased': {
      const d = event.data
      const why = d.reason === 'erasure-request' ? 'ilgili kişinin silme talebi üzerine' : 'saklama süresi dolduğu için'
      return `Kişisel veriler silindi (KVKK): ${why}; yasal dayanak: ${d.legalBasis}${d.requestReference === null ? '' : `; talep: ${d.requestReference}`}; silinen veriler: ${d.fields.length === 0 ? '-' : d.fields.join(', ')}; imha kaydı ${d.destructionId}.`
    }
    default: {
      const unknown: never = event
      return unknown
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The SLA clock

/** Where the case's SLA clock stood at `at`, as one Turkish line. */
export function slaLineTr(state: CaseState, at: Date): string {
  if (state.status === 'none' || state.sla === null) return 'SLA: süre henüz başlamadı (birime yönlendirilmedi).'
  const sla = state.sla
  if (!isOpenStatus(state.status)) {
    // An answered case: its clock as it stood when the answer (or the closing) was recorded.
    const endedAt = state.resolvedAt ?? state.closedAt
    const position = slaPositionAt(sla, endedAt === null ? at : new Date(endedAt))
    const how = position.msLeft >= 0 ? `son tarihten ${durationTr(position.msLeft)} önce` : `son tarihten ${durationTr(position.msLeft)} sonra`
    return `SLA: ${sla.terms.clock}. süre durdu (başvuru sonuçlandı): son tarih ${istanbulTime(position.dueAt)}, ${how} sonuçlandı${flagsTr(sla)}.`
  }
  const position = slaPositionAt(sla, at)
  const left = position.msLeft >= 0 ? `kalan ${durationTr(position.msLeft)}` : `${durationTr(position.msLeft)} gecikmede`
  const running = position.paused ? 'DURDURULDU (vatandaştan bilgi bekleniyor)' : 'işliyor'
  const due = position.paused ? `son tarih ${istanbulTime(position.dueAt)} (bekleme o an bitse)` : `son tarih ${istanbulTime(position.dueAt)}`
  const level = position.level === 'breached' ? ', SÜRE AŞILDI' : position.level === 'warning' ? ', uyarı düzeyinde (%75 geçti)' : ''
  return `SLA: ${sla.terms.clock}. süre, ${due}, ${left}, ${running}${level}${flagsTr(sla)}.`
}

function flagsTr(sla: NonNullable<OpenCase['sla']>): string {
  const flags = [sla.warned ? 'uyarı kaydedildi' : '', sla.breached ? 'ihlal kaydedildi' : '', sla.escalated ? 'üst makama iletildi' : ''].filter((f) => f !== '')
  return flags.length === 0 ? '' : ` [${flags.join(', ')}]`
}

// ---------------------------------------------------------------------------------------------
// The timeline

export interface AuditTimelineInput {
  readonly loaded: LoadedCase
  /** `--as-of`: the instant to stop at; undefined = everything recorded. */
  readonly asOf?: Date
  /** The clock's now: the instant the closing paragraph is evaluated at when there is no `asOf`. */
  readonly now: Date
  readonly names: CatalogueNames
  readonly personalData: PersonalDataAccess
}

/** One step of the timeline, ready to print. */
export interface TimelineStep {
  readonly revision: number
  readonly recordedAt: string
  readonly when: string
  readonly who: string
  readonly what: string
  readonly sla: string
}

export type AuditTimeline =
  | {
      readonly kind: 'timeline'
      readonly steps: readonly TimelineStep[]
      /** The closing paragraph: the state at the end. */
      readonly summary: string
      /** The whole text as printed. */
      readonly text: string
    }
  /** Nothing of the case was recorded by `asOf`. */
  | { readonly kind: 'not-yet-recorded'; readonly firstRecordedAt: string | null }

/** The case's timeline up to `asOf` (or all of it), with the closing paragraph. */
export function auditTimeline(input: AuditTimelineInput): AuditTimeline {
  const { loaded, names, personalData } = input
  const at = input.asOf ?? input.now
  const then = caseAsOf(loaded, at)
  if (then === undefined || then.state.status === 'none') return { kind: 'not-yet-recorded', firstRecordedAt: loaded.records[0]?.recordedAt ?? null }
  // An erasure is never undone: a case erased later reads erased before it too.
  const erased = loaded.records.some((r) => r.event.type === 'PersonalDataErased')
  const context: SentenceContext = { names, personalData }
  const steps: TimelineStep[] = []
  let state: CaseState = initialState()
  for (const record of then.records) {
    state = evolve(state, record.event)
    steps.push(stepOf(record, state, erased, context))
  }
  const summary = summaryTr(then.state, at, input.asOf !== undefined, then.revision, then.changeRevision, names, personalData)
  const header = headerTr(then.state, loaded, input, erased)
  const body = steps.map((s) => `#${s.revision}  ${s.when}  ${s.who}\n    ${s.what}\n    ${s.sla}`)
  return { kind: 'timeline', steps, summary, text: [...header, '', ...body, '', summary, ''].join('\n') }
}

function stepOf(record: CaseRecord, state: CaseState, erased: boolean, context: SentenceContext): TimelineStep {
  const event = erased ? ({ ...record.event, data: erasedEventData(record.event.type, record.event.data) } as CaseEvent) : record.event
  const occurredApart = Math.abs(Date.parse(record.event.occurredAt) - Date.parse(record.recordedAt)) >= 1000
  return {
    revision: record.revision,
    recordedAt: record.recordedAt,
    when: `${istanbulTime(record.recordedAt)}${occurredApart ? ` (olay zamanı ${istanbulTime(record.event.occurredAt)})` : ''}`,
    who: actorTr(record.event.actor),
    what: eventSentence(event, context),
    sla: slaLineTr(state, new Date(record.recordedAt)),
  }
}

function headerTr(state: OpenCase, loaded: LoadedCase, input: AuditTimelineInput, erased: boolean): string[] {
  return [
    `Başvuru ${state.trackingCode} — vaka ${loaded.caseId}`,
    `Zaman dilimi: ${CALENDAR_ZONE} (zaman = olay deposunun kayıt zamanı)`,
    input.asOf === undefined
      ? `Kayıtlı olayların tamamı (${loaded.records.length} olay)`
      : `${istanbulTime(input.asOf)} itibarıyla (${input.asOf.toISOString()}); o ana kadar kaydedilen olaylar`,
    erased
      ? `Kişisel veriler: silindi (KVKK); kişisel alanlar "${ERASED_PERSONAL_TEXT}" okunur`
      : input.personalData === 'opened'
        ? 'Kişisel veriler: anahtarla açıldı'
        : `Kişisel veriler: ana anahtar veya anahtar deposu yok; şifreli alanlar "${NO_KEY_TEXT}" okunur`,
  ]
}

function summaryTr(
  state: OpenCase,
  at: Date,
  asOf: boolean,
  revision: number,
  changeRevision: number,
  names: CatalogueNames,
  personalData: PersonalDataAccess,
): string {
  const when = `${asOf ? '' : 'şimdi, '}${istanbulTime(at)} itibarıyla`
  const department = state.department === null ? 'henüz bir birime yönlendirilmedi' : `sorumlu birim ${departmentTr(state.department, names)}`
  const holder =
    state.assignee !== null ? `üzerinde çalışan ${state.assignee}` : isOpenStatus(state.status) ? 'henüz kimse üstlenmedi' : 'üstlenen kimse yok'
  const question = state.openQuestion === null ? '' : ` Açık soru: ${quoted(state.openQuestion, { names, personalData })}.`
  const duplicate = state.duplicateOf === null ? '' : ` Önceki başvuru ${state.duplicateOf.trackingCode} ile ilişkili (mükerrer).`
  const erasure = state.personalDataErasedAt === null ? '' : ` Kişisel veriler ${istanbulTime(state.personalDataErasedAt)} tarihinde silindi (KVKK).`
  return tidy(
    `Özet (${when}): ${state.trackingCode} takip kodlu başvurunun durumu "${STATUS_TR[state.status]}"; ${department}; ${holder}.` +
    `${question}${duplicate} ${slaLineTr(state, at)}` +
    ` Revizyon ${changeRevision} (akıştaki son olay #${revision}, ${revision + 1} olay).${erasure}`
  )
}
