/**
 * What a directorate's supervisors are told: one message when a case of theirs is escalated (or its
 * deadline passes without an escalation), and a daily list of their overdue cases. Turkish, like
 * everything staff read. A supervisor sees what the queue shows and nothing of the citizen: the
 * case reference, its category, its deadline and a link to the console; never a name, a phone
 * number, an address or the citizen's words. Sentences are phrased so that no suffix attaches to a
 * directorate or category name (see templates.ts).
 */
import { formatInstant } from './templates.ts'

/** What a supervisors' message is about. */
export const SUPERVISOR_NOTICE_KINDS = ['escalation', 'breach', 'digest'] as const

/** `escalation`: a case was handed up; `breach`: its deadline passed (no escalation recorded); `digest`: the daily list. */
export type SupervisorNoticeKind = (typeof SUPERVISOR_NOTICE_KINDS)[number]

/** A case as a supervisor may see it in a message. */
export interface SupervisorCaseLine {
  readonly caseId: string
  readonly trackingCode: string
  /** Catalogue code of the category, if the case has one. */
  readonly category?: string
  /** Turkish name of the category, when the catalogue knows the code. */
  readonly categoryNameTr?: string
  /** ISO instant the answer was due (pauses included). */
  readonly dueAt: string
  /** Whether the case has been escalated to the supervisors. */
  readonly escalated: boolean
  /** Link to the case in the operator console, when the console's address is configured. */
  readonly consoleUrl?: string
}

/** A rendered supervisors' message. */
export interface SupervisorMessage {
  readonly subject: string
  readonly text: string
}

/** Most cases one digest lists; the rest are counted, and the queue has them all. */
export const DIGEST_MAX_LINES = 200

/** The console page of a case, from the console's base address (`https://host/` or `https://host/konsol/`). */
export function caseConsoleUrl(consoleUrl: string, trackingCode: string): string {
  return `${consoleUrl.replace(/#.*$/u, '')}#/basvuru/${encodeURIComponent(trackingCode)}`
}

/** The console page of a directorate's queue. */
export function queueConsoleUrl(consoleUrl: string, department: string): string {
  return `${consoleUrl.replace(/#.*$/u, '')}#/mudurluk/${encodeURIComponent(department)}`
}

const closing = (municipalityName: string): string => `${municipalityName}\nBu ileti civic-desk tarafından otomatik olarak gönderilmiştir, lütfen yanıtlamayınız.`

/** The message about one escalated or breached case. */
export function renderCaseNotice(input: {
  readonly kind: 'escalation' | 'breach'
  readonly departmentNameTr: string
  readonly line: SupervisorCaseLine
  readonly municipalityName: string
}): SupervisorMessage {
  const { line } = input
  const due = formatInstant(line.dueAt, 'tr')
  const facts = [
    `Takip kodu: ${line.trackingCode}`,
    `Müdürlük: ${input.departmentNameTr}`,
    line.categoryNameTr !== undefined ? `Kategori: ${line.categoryNameTr}` : undefined,
    `Son yanıt tarihi: ${due} (İstanbul saati)`,
    line.consoleUrl !== undefined ? `Konsolda aç: ${line.consoleUrl}` : undefined,
  ].filter((l): l is string => l !== undefined)
  const lead =
    input.kind === 'escalation'
      ? `${line.trackingCode} takip kodlu başvurunun yanıt süresi doldu ve başvuru müdürlüğün amirlerine yükseltildi. Lütfen başvuruyu inceleyip sorumlusunu belirleyiniz.`
      : `${line.trackingCode} takip kodlu başvurunun yanıt süresi doldu. Başvuru henüz sonuçlandırılmadı.`
  return {
    subject: input.kind === 'escalation' ? `Amirlere yükseltilen başvuru: ${line.trackingCode} (süre aşıldı)` : `Süresi aşılan başvuru: ${line.trackingCode}`,
    text: ['Sayın yetkili,', lead, facts.join('\n'), closing(input.municipalityName)].join('\n\n'),
  }
}

/** The daily list of a directorate's overdue open cases, most overdue first. */
export function renderDigest(input: {
  readonly departmentNameTr: string
  /** The instant the list was drawn up. */
  readonly at: string
  /** Istanbul date of the digest, `YYYY-MM-DD`. */
  readonly localDate: string
  readonly lines: readonly SupervisorCaseLine[]
  /** The directorate's queue in the console, when the console's address is configured. */
  readonly queueUrl?: string
  readonly municipalityName: string
}): SupervisorMessage {
  const { lines } = input
  const [year, month, day] = input.localDate.split('-')
  const shown = lines.slice(0, DIGEST_MAX_LINES)
  const list = shown.map((l, i) =>
    [
      `${i + 1}. ${l.trackingCode}`,
      l.categoryNameTr ?? l.category,
      `son tarih ${formatInstant(l.dueAt, 'tr')}`,
      l.escalated ? 'amirlere yükseltildi' : undefined,
      l.consoleUrl,
    ]
      .filter((p): p is string => p !== undefined)
      .join(' · '),
  )
  if (lines.length > shown.length) list.push(`… ve ${lines.length - shown.length} başvuru daha (tamamı müdürlük kuyruğunda).`)
  return {
    subject: `Süresi geçmiş başvurular: ${input.departmentNameTr}, ${day}.${month}.${year} (${lines.length})`,
    text: [
      'Sayın yetkili,',
      `Aşağıdaki ${lines.length} açık başvurunun yanıt süresi geçmiştir (${formatInstant(input.at, 'tr')} itibarıyla, İstanbul saati). Müdürlük: ${input.departmentNameTr}.`,
      list.join('\n'),
      input.queueUrl !== undefined ? `Müdürlük kuyruğu: ${input.queueUrl}` : undefined,
      closing(input.municipalityName),
    ]
      .filter((p): p is string => p !== undefined)
      .join('\n\n'),
  }
}
