import type { CaseEventType, PublicCaseView, PublicTimelineEntry } from '@civic-desk/contracts'
import type { OpenCase, PublicStep, TimelineRecord } from './case.ts'
import { STATUS_TEXT } from './status-machine.ts'

export interface NamedCode {
  readonly code: string
  readonly nameTr: string
  readonly nameEn: string
}

/** Name look-ups the views need (from the catalogue); unknown codes are shown by code. */
export interface CatalogueNames {
  category(code: string): NamedCode | undefined
  department(code: string): NamedCode | undefined
}

const STEP_TEXT: { readonly [S in PublicStep]: (dep: NamedCode | null, tr: string, en: string) => { tr: string; en: string } } = {
  submitted: () => STATUS_TEXT.submitted,
  routed: (d) => ({ tr: `Başvurunuz ilgili birime yönlendirildi: ${d?.nameTr ?? '-'}`, en: `Forwarded to: ${d?.nameEn ?? '-'}` }),
  // The earlier application belongs to another citizen: its tracking code opens their status page,
  // so the text says that the two were joined, never which one (the record keeps it for staff).
  'duplicate-linked': (d) => ({
    tr: `Başvurunuz aynı konudaki önceki bir başvuruyla birleştirildi; birlikte ele alınmak üzere birime iletildi: ${d?.nameTr ?? '-'}`,
    en: `Your application was joined to an earlier one on the same matter and forwarded with it to: ${d?.nameEn ?? '-'}`,
  }),
  accepted: () => ({ tr: 'Başvurunuz birim tarafından ele alındı', en: 'The directorate has taken up your application' }),
  'work-started': () => ({ tr: 'Çalışma başladı', en: 'Work has started' }),
  'info-requested': () => ({ tr: 'Sizden ek bilgi istendi', en: 'Further information was requested from you' }),
  'citizen-replied': () => ({ tr: 'Ek bilginiz alındı, çalışma sürüyor', en: 'Your information was received; work continues' }),
  transferred: (d) => ({ tr: `Başvurunuz başka bir birime aktarıldı: ${d?.nameTr ?? '-'}`, en: `Transferred to: ${d?.nameEn ?? '-'}` }),
  'workflow-step': (_d, tr, en) => ({ tr, en }),
  resolved: (_d, tr, en) => ({ tr: `Başvurunuz sonuçlandı: ${tr}`, en: `Your application was answered: ${en}` }),
  rejected: (_d, tr, en) => ({ tr: `Başvurunuz reddedildi: ${tr}`, en: `Your application was rejected: ${en}` }),
  closed: () => STATUS_TEXT.closed,
  reopened: () => ({ tr: 'Başvurunuz yeniden açıldı', en: 'Your application was reopened' }),
  'duplicate-unlinked': (d) => ({
    tr: `Başvurunuz, ilişkilendirildiği başvurudan ayrıldı ve ayrı bir başvuru olarak ele alınacak: ${d?.nameTr ?? '-'}`,
    en: `Your application was separated from the one it had been linked to and will be handled on its own: ${d?.nameEn ?? '-'}`,
  }),
  escalated: () => ({
    tr: 'Yanıt süresi aşıldığı için başvurunuz müdürlük yöneticilerine iletildi',
    en: 'The answer is overdue; your application was passed to the directorate’s management',
  }),
}

const named = (code: string, found: NamedCode | undefined): NamedCode => {
  const n = found ?? { code, nameTr: code, nameEn: code }
  return { code: n.code, nameTr: n.nameTr, nameEn: n.nameEn }
}

/** One timeline record as the citizen reads it. */
export function timelineEntry(record: TimelineRecord, names: CatalogueNames): PublicTimelineEntry {
  const department = record.department === undefined ? null : named(record.department, names.department(record.department))
  const text = STEP_TEXT[record.step](department, record.detailTr ?? '', record.detailEn ?? '')
  return { at: record.at, step: record.step, textTr: text.tr, textEn: text.en }
}

/**
 * Event types the public view does not need: internal notes (never shown to the citizen) and the
 * records of messages sent to them. A look-up reads the case without them (the store's
 * `excludeTypes`), so its cost does not grow with the notes staff write; the view's `updatedAt` is
 * then the last step of the case itself, never an internal note.
 */
export const NOT_IN_PUBLIC_VIEW: readonly CaseEventType[] = ['CaseNoteAdded', 'CitizenNotified', 'NotificationFailed']

/** What the holder of a tracking code may see: status, what and where it is, never who applied. */
export function toPublicView(state: OpenCase, names: CatalogueNames): PublicCaseView {
  const category = state.category
  return {
    trackingCode: state.trackingCode,
    status: state.status,
    statusTextTr: STATUS_TEXT[state.status].tr,
    kind: state.submission.kind,
    category: category === null ? null : named(category, names.category(category)),
    department: state.department === null ? null : named(state.department, names.department(state.department)),
    submittedAt: state.submittedAt,
    updatedAt: state.updatedAt,
    expectedBy: state.status === 'waiting_for_citizen' || !['routed', 'in_progress'].includes(state.status) ? null : state.expectedBy,
    timeline: state.timeline.map((r) => timelineEntry(r, names)),
  }
}
