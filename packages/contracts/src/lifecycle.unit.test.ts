// The status rule the decider and the read models share: the status after each event type.
import t from 'tap'
import { CASE_EVENT_TYPES, type CaseEventType } from './events.ts'
import { SUBMITTED_LIFECYCLE, lifecycleAfter, type CaseLifecycle } from './lifecycle.ts'

const after = (types: readonly CaseEventType[], from: CaseLifecycle = SUBMITTED_LIFECYCLE): CaseLifecycle => types.reduce<CaseLifecycle>(lifecycleAfter, from)

t.test('a reply returns the case to where the question found it', async (t) => {
  t.same(after(['CaseRouted', 'CitizenInfoRequested']), { status: 'waiting_for_citizen', statusBeforeWait: 'routed' })
  t.same(after(['CaseRouted', 'CitizenInfoRequested', 'CitizenReplied']), { status: 'routed', statusBeforeWait: null }, 'never accepted: still to be accepted')
  t.same(after(['CaseRouted', 'CaseAccepted', 'CitizenInfoRequested', 'CitizenReplied']), { status: 'in_progress', statusBeforeWait: null })
})

t.test('answers, reopening, transfers', async (t) => {
  t.same(after(['CaseRouted', 'CitizenInfoRequested', 'CaseResolved']), { status: 'resolved', statusBeforeWait: null }, 'an answer ends the wait')
  t.same(after(['CaseRouted', 'CaseRejected', 'CaseClosed', 'CaseReopened']), { status: 'routed', statusBeforeWait: null })
  t.same(after(['CaseMarkedDuplicate', 'CaseAccepted', 'CaseTransferred']), { status: 'routed', statusBeforeWait: null })
  t.same(after(['CaseRejected']), { status: 'rejected', statusBeforeWait: null }, 'refused at the desk, before routing')
})

t.test('events that leave the status alone return the very same object', async (t) => {
  const working: CaseLifecycle = { status: 'in_progress', statusBeforeWait: null }
  const unchanged: CaseEventType[] = ['CaseSubmitted', 'CaseWorkStarted', 'CaseNoteAdded', 'CaseDuplicateUnlinked', 'WorkflowStepRecorded', 'SlaWarningRaised', 'SlaBreached', 'CaseEscalated', 'CitizenNotified', 'NotificationFailed', 'PersonalDataErased']
  for (const type of unchanged) t.equal(lifecycleAfter(working, type), working, type)
  const changing = [...CASE_EVENT_TYPES].filter((type) => !unchanged.includes(type))
  for (const type of changing) t.not(lifecycleAfter(working, type), working, `${type} makes a new lifecycle`)
})
