// The Turkish texts Open311 clients show to citizens: status notes, step notes, the expected
// response time. Step texts come from the case domain's public timeline (the same words as the
// citizen's own look-up); only the answer and the refusal, whose staff-written texts are personal
// data and never leave the log in clear, are said here without them.
import { timelineEntry, type CatalogueNames } from '@civic-desk/case-domain'
import { categoryByCode, departmentByCode, type Catalogue, type Category, type RejectionReason, type Sla } from '@civic-desk/contracts'
import type { RequestStep } from './request-index.ts'

const REJECTION_TR: Readonly<Record<RejectionReason, string>> = {
  'out-of-jurisdiction': 'konu belediyemizin sorumluluk alanı dışında',
  'not-municipal': 'konu belediyenin görevleri arasında değil',
  'insufficient-information': 'başvuruda yeterli bilgi yok',
  duplicate: 'aynı konuda daha önce yapılmış bir başvuru var',
  other: 'ayrıntı için takip kodunuzla başvurunuza bakabilirsiniz',
}

const isRejectionReason = (code: string | undefined): code is RejectionReason => code !== undefined && Object.hasOwn(REJECTION_TR, code)

/** Catalogue names for the public view. */
export function catalogueNames(catalogue: Catalogue): CatalogueNames {
  return { category: (code) => categoryByCode(catalogue, code), department: (code) => departmentByCode(catalogue, code) }
}

/** The Turkish text of a public step, as the citizen's look-up words it (without staff texts). */
export function stepText(step: RequestStep, names: CatalogueNames): string {
  switch (step.step) {
    case 'resolved':
      return 'Başvurunuz sonuçlandı. Yanıtı takip kodunuzla başvurunuza bakarak okuyabilirsiniz.'
    case 'rejected':
      return `Başvurunuz reddedildi: ${isRejectionReason(step.detail) ? REJECTION_TR[step.detail] : REJECTION_TR.other}.`
    default:
      return timelineEntry(
        {
          at: '',
          step: step.step,
          ...(step.department === undefined ? {} : { department: step.department }),
          ...(step.detail === undefined ? {} : { detailTr: step.detail, detailEn: step.detail }),
        },
        names,
      ).textTr
  }
}

/** Open311 note `type`: the request opened, a step on the way, or the request closed. */
export function noteType(step: RequestStep): 'opened' | 'activity' | 'closed' {
  if (step.step === 'submitted') return 'opened'
  return step.step === 'resolved' || step.step === 'rejected' || step.step === 'closed' ? 'closed' : 'activity'
}

/** A deadline in Turkish words: "48 saat", "10 iş günü". */
export function slaWords(sla: Sla): string {
  return 'hours' in sla ? `${sla.hours} saat` : `${sla.workingDays} iş günü`
}

/** `service_notice`: who answers and how soon, e.g. "Fen İşleri Müdürlüğü başvurunuzu en geç 48 saat içinde yanıtlar." */
export function serviceNotice(catalogue: Catalogue, category: Category): string {
  const department = departmentByCode(catalogue, category.department)?.nameTr ?? category.department
  return `${department} başvurunuzu en geç ${slaWords(category.sla)} içinde yanıtlar. Durumunu takip kodunuzla izleyebilirsiniz.`
}
