import t from 'tap'
import type { CaseEvent } from '@civic-desk/contracts'
import { CaseRuleViolation, decide, evolve, initialState, replay, type CaseCommand, type CaseState, type Submission } from './case.ts'
import { exampleMeta, exampleSubmission } from './testing.ts'
import { toPublicView } from './view.ts'
import { STATUS_TRANSITIONS, canTransition } from './status-machine.ts'

const meta = exampleMeta
const submission = exampleSubmission

const submit = (data: Submission = submission): CaseCommand => ({ type: 'SubmitCase', meta, data })

function given(events: CaseEvent[]): CaseState {
  return replay(events)
}

t.test('given no case, when submitted, then CaseSubmitted v1 with the command metadata', async (t) => {
  const events = decide(submit(), initialState())
  t.same(events, [{ ...meta, type: 'CaseSubmitted', schemaVersion: 1, data: submission }])
})

t.test('given a submitted case, when the same request is submitted again, then nothing happens', async (t) => {
  const state = given(decide(submit(), initialState()))
  t.same(decide(submit({ ...submission, receivedAt: '2026-11-20T09:16:00.000Z' }), state), [])
})

t.test('given a submitted case, when the same key comes with another body, then already_submitted', async (t) => {
  const state = given(decide(submit(), initialState()))
  const other = { ...submission, description: 'Başka bir şey' }
  t.throws(() => decide(submit(other), state), new CaseRuleViolation('already_submitted', ''))
  try {
    decide(submit(other), state)
  } catch (error) {
    t.equal((error as CaseRuleViolation).code, 'already_submitted')
  }
})

t.test('given a case, when another request lands on the same tracking code, then tracking_code_taken', async (t) => {
  const state = given(decide(submit(), initialState()))
  for (const other of [{ ...submission, externalId: 'call-999' }, { ...submission, externalId: undefined }]) {
    try {
      decide(submit(other as Submission), state)
      t.fail('should throw')
    } catch (error) {
      t.equal((error as CaseRuleViolation).code, 'tracking_code_taken')
    }
  }
})

t.test('evolve: a submitted case is open with the submission, the citizen time wins', async (t) => {
  const withTime = { ...submission, submittedAt: '2026-11-19T17:00:00+03:00' }
  const state = evolve(initialState(), { ...meta, type: 'CaseSubmitted', schemaVersion: 1, data: withTime })
  if (state.status === 'none') throw new Error('expected an open case')
  t.equal(state.status, 'submitted')
  t.equal(state.submittedAt, '2026-11-19T17:00:00+03:00')
  t.equal(state.department, null)
  t.equal(state.timeline.length, 1)
})

t.test('public view has no personal data and names the category', async (t) => {
  const state = given(decide(submit(), initialState()))
  if (state.status === 'none') throw new Error('expected an open case')
  const view = toPublicView(state, {
    category: (code) => (code === 'yol-cukur' ? { code, nameTr: 'Yol çukuru', nameEn: 'Pothole', extra: 1 } as never : undefined),
    department: () => undefined,
  })
  t.same(view.category, { code: 'yol-cukur', nameTr: 'Yol çukuru', nameEn: 'Pothole' })
  t.equal(view.status, 'submitted')
  t.equal(view.statusTextTr, 'Başvurunuz alındı')
  const text = JSON.stringify(view)
  for (const secret of ['Ayşe', '532', 'Atatürk Cd', 'call-778812', 'çukur var']) t.notOk(text.includes(secret), `no ${secret}`)
})

t.test('status machine: every target is a known status and closed cases can only be reopened', async (t) => {
  const statuses = Object.keys(STATUS_TRANSITIONS)
  for (const targets of Object.values(STATUS_TRANSITIONS)) for (const s of targets) t.ok(statuses.includes(s), s)
  t.ok(canTransition('submitted', 'routed'))
  t.notOk(canTransition('submitted', 'resolved'))
  t.notOk(canTransition('closed', 'resolved'))
})
