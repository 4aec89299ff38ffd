// The history of an erased case: every event's personal fields read as erased, whatever form they
// were stored in — also the clear text of an event written before sealing (schema version 1).
import t from 'tap'
import { replay } from '@civic-desk/case-domain'
import { exampleMeta, exampleSubmission } from '@civic-desk/case-domain/testing'
import { ERASED_PERSONAL_TEXT, type CaseEvent } from '@civic-desk/contracts'
import { historyEntries } from './views.ts'

const submitted: CaseEvent = { ...exampleMeta, schemaVersion: 1, type: 'CaseSubmitted', data: { ...exampleSubmission, location: { neighbourhood: 'Kazımdirik', address: 'Atatürk Cd. No:12', lat: 38.4, lon: 27.2 } } }
const note: CaseEvent = { ...exampleMeta, eventId: '1b8f7f4e-7d1a-4c55-9a43-2f1f3c9d8e11', schemaVersion: 1, type: 'CaseNoteAdded', data: { text: 'Ayşe Hanım aradı, annesi hasta.' } }
const erased: CaseEvent = {
  ...exampleMeta,
  eventId: '2b8f7f4e-7d1a-4c55-9a43-2f1f3c9d8e12',
  schemaVersion: 1,
  type: 'PersonalDataErased',
  actor: { kind: 'staff', id: 'dev-privacy' },
  data: { destructionId: '3b8f7f4e-7d1a-4c55-9a43-2f1f3c9d8e13', reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: 'KVKK-1', fields: ['başvuru metni'] },
}
const records = (events: CaseEvent[]) => events.map((event, i) => ({ event, revision: i, position: i + 1, recordedAt: event.occurredAt }))

t.test('before an erasure the history shows what was written; after it, nothing personal in any form', async (t) => {
  const before = JSON.stringify(historyEntries(records([submitted, note]), 'full'))
  t.match(before, /Ayşe Yılmaz/)
  t.match(before, /annesi hasta/)

  const entries = historyEntries(records([submitted, note, erased]), 'full')
  const text = JSON.stringify(entries)
  for (const value of ['Ayşe', '532 111', 'Atatürk', 'çukur', '38.4', 'call-778812', 'annesi']) t.notMatch(text, value, `no ${value}`)
  t.same(entries[0]?.data, {
    caseId: exampleSubmission.caseId,
    trackingCode: exampleSubmission.trackingCode,
    channel: 'call-center',
    kind: 'complaint',
    category: 'yol-cukur',
    description: ERASED_PERSONAL_TEXT,
    location: { neighbourhood: 'Kazımdirik', address: ERASED_PERSONAL_TEXT },
    citizen: { name: ERASED_PERSONAL_TEXT, preferredChannel: 'sms' },
    receivedAt: exampleSubmission.receivedAt,
  })
  t.same(entries[0]?.erased, ['description', 'externalId', 'citizen.name', 'citizen.phone', 'citizen.email', 'location.address', 'answers.*'])
  t.same(entries[1]?.data, { text: ERASED_PERSONAL_TEXT })
  t.equal(entries[2]?.erased, undefined, 'the erasure event itself holds nothing personal')

  // The case fold agrees: the state holds nothing personal either, and its course is unchanged.
  const state = replay([submitted, note, erased])
  const beforeState = replay([submitted, note])
  t.notMatch(JSON.stringify({ ...state, notifications: [] }), /Ayşe|annesi|Atatürk/)
  t.equal(state.status, beforeState.status)
  t.equal(state.status !== 'none' && state.personalDataErasedAt, erased.occurredAt)
  t.equal(state.status !== 'none' && state.updatedAt, beforeState.status !== 'none' && beforeState.updatedAt, 'not a step of the case')
})
