// How big staff's text may make a case: the rule, on plain events.
import t from 'tap'
import type { CaseEvent } from '@civic-desk/contracts'
import { CaseRuleViolation } from './violation.ts'
import { caseSizeOf, checkCaseLimits, eventBytes } from './limits.ts'

const meta = { schemaVersion: 1, occurredAt: '2026-11-20T09:00:00.000Z', actor: { kind: 'staff', id: 'ayse.fen' }, correlationId: 'c', causationId: null } as const
let n = 0
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`
const note = (text: string): CaseEvent => ({ ...meta, eventId: id(), type: 'CaseNoteAdded', data: { text } })
const question = (text: string): CaseEvent => ({ ...meta, eventId: id(), type: 'CitizenInfoRequested', data: { question: text } })
const resolved = (text: string): CaseEvent => ({ ...meta, eventId: id(), type: 'CaseResolved', data: { resolution: text } })

t.test('sizes: notes counted, bytes as UTF-8 JSON of the data', async (t) => {
  t.equal(eventBytes(note('çğ')), Buffer.byteLength('{"text":"çğ"}'))
  t.same(caseSizeOf([note('a'), question('b'), note('c')]), { notes: 2, bytes: 2 * Buffer.byteLength('{"text":"a"}') + Buffer.byteLength('{"question":"b"}') })
})

t.test('a note past maxNotes is refused with note_limit_reached, in Turkish', async (t) => {
  const limits = { maxNotes: 2, maxCaseBytes: 10_000 }
  t.doesNotThrow(() => checkCaseLimits({ notes: 1, bytes: 100 }, [note('ikinci')], limits))
  const error = t.throws(() => checkCaseLimits({ notes: 2, bytes: 100 }, [note('üçüncü')], limits)) as CaseRuleViolation
  t.equal(error.code, 'note_limit_reached')
  t.match(error.message, /en fazla 2 not eklenebilir/)
})

t.test('text past maxCaseBytes is refused with case_too_large; answering never is', async (t) => {
  const limits = { maxNotes: 100, maxCaseBytes: 1000 }
  const long = 'x'.repeat(600)
  const error = t.throws(() => checkCaseLimits({ notes: 0, bytes: 500 }, [question(long)], limits)) as CaseRuleViolation
  t.equal(error.code, 'case_too_large')
  t.match(error.message, /en fazla 1\.000 bayt/)
  t.throws(() => checkCaseLimits({ notes: 0, bytes: 500 }, [note(long)], limits), { code: 'case_too_large' })
  t.doesNotThrow(() => checkCaseLimits({ notes: 100, bytes: 5000 }, [resolved(long)], limits), 'a full case can still be answered')
  t.doesNotThrow(() => checkCaseLimits({ notes: 0, bytes: 300 }, [note(long)], limits), 'what fits, fits')
})
