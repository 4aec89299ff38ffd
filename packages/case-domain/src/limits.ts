/**
 * How big a case may grow through what staff write on it. Without a bound, one case could hold
 * thousands of notes (2,000 notes of 4,000 characters made its file 8 MB), and every read of it,
 * every command on it, would carry them. The limits come in as arguments (configuration), like
 * every other lookup of the decider; the rule is pure.
 *
 * Only staff's own free text counts against the limits: notes (also the note of starting work),
 * questions to the citizen and their recorded replies. Answering, refusing, closing, transferring
 * and reopening are never refused for size, so a full case can always be finished; and nothing
 * the services record (routing, SLA thresholds, notifications) is ever refused.
 */
import type { CaseEvent, CaseEventType } from '@civic-desk/contracts'
import { CaseRuleViolation } from './violation.ts'

export interface CaseLimits {
  /** Most internal notes one case may hold. */
  readonly maxNotes: number
  /** Most bytes the case's events may take (the UTF-8 JSON of their data, as stored). */
  readonly maxCaseBytes: number
}

/** Room for hundreds of notes of ordinary length; far below what slows a case down. */
export const DEFAULT_CASE_LIMITS: CaseLimits = { maxNotes: 500, maxCaseBytes: 1024 * 1024 }

/** How big a case is, as far as its limits go. */
export interface CaseSize {
  readonly notes: number
  readonly bytes: number
}

/** The events that grow a case with staff's free text: refused once the case is full. */
const GROWING: ReadonlySet<CaseEventType> = new Set<CaseEventType>(['CaseNoteAdded', 'CaseWorkStarted', 'CitizenInfoRequested', 'CitizenReplied'])

/** Bytes an event's data takes as stored (UTF-8 JSON). */
export function eventBytes(event: CaseEvent): number {
  return Buffer.byteLength(JSON.stringify(event.data), 'utf8')
}

/** The size of a case from its events. */
export function caseSizeOf(events: readonly CaseEvent[]): CaseSize {
  let notes = 0
  let bytes = 0
  for (const event of events) {
    if (event.type === 'CaseNoteAdded') notes++
    bytes += eventBytes(event)
  }
  return { notes, bytes }
}

const number = (n: number): string => n.toLocaleString('tr-TR')

/**
 * Refuses `decided` (the events a command would add to a case of `size`) when they would take the
 * case past its limits: `note_limit_reached` (a note more than `maxNotes`), `case_too_large` (free
 * text past `maxCaseBytes`). The messages are for the member of staff, in Turkish.
 */
export function checkCaseLimits(size: CaseSize, decided: readonly CaseEvent[], limits: CaseLimits): void {
  const growing = decided.filter((e) => GROWING.has(e.type))
  if (growing.length === 0) return
  const newNotes = growing.filter((e) => e.type === 'CaseNoteAdded').length
  if (newNotes > 0 && size.notes + newNotes > limits.maxNotes) {
    throw new CaseRuleViolation(
      'note_limit_reached',
      `Bu başvuruya en fazla ${number(limits.maxNotes)} not eklenebilir ve bu sayıya ulaşıldı; yeni not eklenemez. Gerekli bilgiyi sonuç yazısında verin.`,
    )
  }
  const after = size.bytes + decided.reduce((sum, e) => sum + eventBytes(e), 0)
  if (after > limits.maxCaseBytes) {
    throw new CaseRuleViolation(
      'case_too_large',
      `Başvurunun kaydı en fazla ${number(limits.maxCaseBytes)} bayt olabilir; bu işlemle ${number(after)} bayta çıkacaktı (şu an ${number(size.bytes)} bayt). Daha kısa yazın ya da başvuruyu sonuçlandırın: yanıtlamak, reddetmek ve kapatmak her zaman mümkündür.`,
    )
  }
}
