import t from 'tap'
import { validateCatalogue, type Question } from './catalogue.ts'
import { checkAnswers } from './questions.ts'

const q = (question: Partial<Question> & Pick<Question, 'code' | 'datatype'>): Question => ({ required: false, questionTr: 'Soru?', ...question })
const questions: Question[] = [
  q({ code: 'ad', datatype: 'string' }),
  q({ code: 'not', datatype: 'text' }),
  q({ code: 'sayi', datatype: 'number', required: true }),
  q({ code: 'zaman', datatype: 'datetime' }),
  q({ code: 'tek', datatype: 'singlevaluelist', values: [{ key: 'a', nameTr: 'A' }, { key: 'b', nameTr: 'B' }] }),
  q({ code: 'cok', datatype: 'multivaluelist', values: [{ key: 'x', nameTr: 'X' }, { key: 'y', nameTr: 'Y' }] }),
]

t.test('answers of every datatype pass when they fit', async (t) => {
  t.same(checkAnswers(questions, { ad: 'BRN-1', not: 'gece', sayi: 3.5, zaman: '2026-11-20T14:30:00+03:00', tek: 'b', cok: ['x', 'y'] }), [])
})

t.test('each wrong answer is named with its code', async (t) => {
  const problems = checkAnswers(questions, { ad: 12, not: '   ', sayi: '3', zaman: '20.11.2026', tek: 'c', cok: ['x', 'x'], bilinmeyen: 'z' })
  t.same(problems.map((p) => p.code), ['ad', 'not', 'sayi', 'zaman', 'tek', 'cok', 'bilinmeyen'])
  t.match(problems.find((p) => p.code === 'tek')?.message, /one of: a, b/)
  t.match(problems.find((p) => p.code === 'bilinmeyen')?.messageTr, /böyle bir sorusu yok/)
})

t.test('a required question must be answered; a category without questions takes no answers', async (t) => {
  t.same(checkAnswers(questions, {}).map((p) => p.code), ['sayi'])
  t.same(checkAnswers([], { x: '1' }).map((p) => p.code), ['x'])
  t.same(checkAnswers([], undefined), [])
})

t.test('the catalogue refuses list questions without values, values on other types and repeated codes', async (t) => {
  const base = {
    version: 1,
    deadlines: { cimer: { calendarDays: 30 }, information: { workingDays: 15, extendedWorkingDays: 30 }, kvkk: { calendarDays: 30 }, municipalPromise: { hours: 48 } },
    departments: [{ code: 'fen', nameTr: 'Fen', nameEn: 'Works' }],
  }
  const category = (questions: unknown) => ({ ...base, categories: [{ code: 'c', department: 'fen', nameTr: 'C', nameEn: 'C', keywords: ['c'], sla: { hours: 1 }, questions }] })
  t.throws(() => validateCatalogue(category([{ code: 'a', datatype: 'singlevaluelist', questionTr: 'A?' }])), /questions\[0\]\.values: a singlevaluelist question must list its values/)
  t.throws(() => validateCatalogue(category([{ code: 'a', datatype: 'number', questionTr: 'A?', values: [{ key: 'x', nameTr: 'X' }] }])), /only list questions/)
  t.throws(() => validateCatalogue(category([{ code: 'a', datatype: 'number', questionTr: 'A?' }, { code: 'a', datatype: 'text', questionTr: 'B?' }])), /repeated question code "a"/)
  t.equal(validateCatalogue(category([{ code: 'a', datatype: 'number', questionTr: 'A?' }])).categories[0]?.questions?.[0]?.required, false)
})
