import t from 'tap'
import { WorkflowSchema, type Workflow } from '@civic-desk/contracts'
import { CaseRuleViolation } from './violation.ts'
import { checkStep } from './workflow.ts'

const workflow: Workflow = WorkflowSchema.parse({
  code: 'randevu',
  department: 'sosyal-hizmetler',
  nameTr: 'Randevu',
  nameEn: 'Appointment',
  steps: [
    {
      code: 'randevu-verildi',
      nameTr: 'Randevu verildi',
      nameEn: 'Appointment given',
      after: null,
      fields: [
        { name: 'visitDate', labelTr: 'Ziyaret tarihi', labelEn: 'Visit date', type: 'date', required: true },
        { name: 'callAt', labelTr: 'Arama zamanı', labelEn: 'Call time', type: 'datetime' },
        { name: 'note', labelTr: 'Not', labelEn: 'Note', type: 'text' },
      ],
      resolves: {
        resolutionTr: 'Ziyaretiniz {visitDate} tarihinde yapılacaktır. Arama: {callAt}.',
        resolutionEn: 'Your visit will take place on {visitDate}. Call: {callAt}.',
      },
    },
  ],
})

function fieldErrors(raw: Record<string, unknown>): unknown {
  try {
    checkStep(workflow, 'randevu-verildi', raw, [])
  } catch (error) {
    if (error instanceof CaseRuleViolation) return error.fieldErrors
    throw error
  }
  return []
}

t.test('dates and times inside a message read as words, in Istanbul time', async (t) => {
  const checked = checkStep(workflow, 'randevu-verildi', { visitDate: '2026-12-12', callAt: '2026-12-11T07:30:00Z' }, [])
  t.same(checked.fields, { visitDate: '2026-12-12', callAt: '2026-12-11T07:30:00Z' }, 'recorded as given')
  t.equal(checked.resolution?.tr, 'Ziyaretiniz 12 Aralık 2026 tarihinde yapılacaktır. Arama: 11 Aralık 2026 10:30.')
  t.equal(checked.resolution?.en, 'Your visit will take place on 12 December 2026. Call: 11 December 2026 at 10:30.')
  // A date field is a day: it must not shift with a zone (1 January stays 1 January).
  t.match(checkStep(workflow, 'randevu-verildi', { visitDate: '2027-01-01' }, []).resolution?.tr, /^Ziyaretiniz 1 Ocak 2027 tarihinde/)
})

t.test('dates must exist on the calendar; leap days only in leap years', async (t) => {
  for (const visitDate of ['2026-02-30', '2026-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-1-5', '24.11.2026']) {
    t.match(fieldErrors({ visitDate }), [{ field: 'visitDate', message: /date that exists/ }], visitDate)
  }
  t.same(fieldErrors({ visitDate: '2028-02-29' }), [], '2028 is a leap year')
  t.match(fieldErrors({ visitDate: '2026-11-24', callAt: '2026-02-30T10:00:00+03:00' }), [{ field: 'callAt' }], 'a datetime on a day that does not exist')
  t.match(fieldErrors({ visitDate: '2026-11-24', callAt: '2026-11-24T10:00:00' }), [{ field: 'callAt' }], 'a datetime without an offset')
})

t.test('text fields need a visible character and no control characters', async (t) => {
  for (const note of ['\u200b\u200b', '\u0000', 'iyi\u0000', '\u2060\ufeff']) {
    t.match(fieldErrors({ visitDate: '2026-11-24', note }), [{ field: 'note' }], JSON.stringify(note))
  }
  t.same(fieldErrors({ visitDate: '2026-11-24', note: 'Kapıda görüşüldü 👍' }), [])
})
