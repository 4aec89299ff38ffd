import type { CaseStatus } from '@civic-desk/contracts'

/**
 * Which status may follow which. The deciders of later steps consult this table; it is the one
 * place the lifecycle is written down.
 *  - routed/in_progress → routed: transfer to another directorate;
 *  - waiting_for_citizen → routed/in_progress: the reply returns the case to where it was;
 *  - resolved/rejected/closed → routed: reopen (back in the queue, to be accepted again).
 */
export const STATUS_TRANSITIONS: { readonly [S in CaseStatus]: readonly CaseStatus[] } = {
  submitted: ['routed', 'rejected', 'closed'],
  routed: ['routed', 'in_progress', 'waiting_for_citizen', 'resolved', 'rejected'],
  in_progress: ['routed', 'waiting_for_citizen', 'resolved', 'rejected'],
  waiting_for_citizen: ['routed', 'in_progress', 'resolved', 'rejected', 'closed'],
  resolved: ['closed', 'routed'],
  rejected: ['closed', 'routed'],
  closed: ['routed'],
}

export function canTransition(from: CaseStatus, to: CaseStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to)
}

/** What the citizen reads for each status. */
export const STATUS_TEXT: { readonly [S in CaseStatus]: { readonly tr: string; readonly en: string } } = {
  submitted: { tr: 'Başvurunuz alındı', en: 'Your application has been received' },
  routed: { tr: 'İlgili müdürlüğe yönlendirildi', en: 'Forwarded to the responsible directorate' },
  in_progress: { tr: 'Üzerinde çalışılıyor', en: 'Being worked on' },
  waiting_for_citizen: { tr: 'Sizden bilgi bekleniyor', en: 'Waiting for information from you' },
  resolved: { tr: 'Çözüldü', en: 'Resolved' },
  rejected: { tr: 'Belediyemizin yetki alanı dışında / reddedildi', en: 'Outside our responsibility / rejected' },
  closed: { tr: 'Kapatıldı', en: 'Closed' },
}
