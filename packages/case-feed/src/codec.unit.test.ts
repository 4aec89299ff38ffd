import t from 'tap'
import { decide, initialState } from '@civic-desk/case-domain'
import { exampleMeta, exampleSubmission } from '@civic-desk/case-domain/testing'
import { CaseEvent, CaseEventMessage, type CaseEventType } from '@civic-desk/contracts'
import type { RecordedEvent } from '@civic-desk/event-store'
import {
  CASE_EVENT_TYPES,
  CaseEventDecodeError,
  caseEventMessage,
  caseEventShapeDecoder,
  decodeCaseEvent,
  encodeCaseEvent,
  feedEventFromMessage,
  feedEventFromRecorded,
} from './codec.ts'
import { caseIdOfStream, caseStreamId } from './stream.ts'

const meta = exampleMeta
const submission = exampleSubmission

const [submitted] = decide({ type: 'SubmitCase', meta, data: submission }, initialState())
if (submitted === undefined) throw new Error('expected an event')

/** The event as the store would give it back: through JSON, with its place in the log. */
function recorded(event: CaseEvent, position = 7, revision = 0): RecordedEvent {
  const stored = JSON.parse(JSON.stringify(encodeCaseEvent(event))) as { id: string; type: string; data: unknown; metadata: unknown }
  return { ...stored, streamId: caseStreamId(submission.caseId), revision, position, recordedAt: '2026-11-20T09:15:00.010Z' }
}

t.test('stream ids: the prefix is added and taken off, other streams are not cases', async (t) => {
  t.equal(caseStreamId('42'), 'case-42')
  t.equal(caseIdOfStream('case-42'), '42')
  t.equal(caseIdOfStream('$settings'), null)
})

t.test('codec: an event survives encode → store shape → decode unchanged', async (t) => {
  const stored = recorded(submitted)
  t.equal(stored.id, meta.eventId)
  t.notOk('data' in (stored.metadata as object), 'metadata does not repeat the data')
  t.same(decodeCaseEvent(stored), submitted)
  t.throws(() => decodeCaseEvent({ ...stored, id: '5d1b0c1e-0000-4000-8000-000000000001', type: 'Nonsense' }), CaseEventDecodeError)
  t.ok(Object.isFrozen(decodeCaseEvent(stored)), 'decoded events are shared, so frozen')
})

t.test('a record that breaks the contract does not decode, and says where', async (t) => {
  const stored = recorded(submitted)
  const broken = { ...stored, id: '5d1b0c1e-0000-4000-8000-000000000002', data: { ...(stored.data as object), caseId: 'not-a-uuid' } }
  const error = t.throws(() => decodeCaseEvent(broken)) as CaseEventDecodeError
  t.type(error, CaseEventDecodeError)
  t.match(error.reason, /caseId/)
})

t.test('the relay message carries the event in its envelope form; a consumer gets the same event back', async (t) => {
  const stored = recorded(submitted)
  const message = caseEventMessage(stored)
  t.equal(message.key, submission.caseId)
  t.same(message.headers, { 'event-type': 'CaseSubmitted', 'event-id': meta.eventId, 'correlation-id': 'req-1' })
  const value = CaseEventMessage.parse(JSON.parse(JSON.stringify(message.value)))
  const fromMessage = feedEventFromMessage(value)
  const fromStore = feedEventFromRecorded(stored)
  t.same(fromMessage, fromStore)
  t.same(fromStore, { caseId: submission.caseId, streamId: `case-${submission.caseId}`, revision: 0, position: 7, recordedAt: '2026-11-20T09:15:00.010Z', event: submitted })
})

t.test('a CaseSubmitted on the topic that names another case than its stream is refused', async (t) => {
  const value = CaseEventMessage.parse(JSON.parse(JSON.stringify(caseEventMessage({ ...recorded(submitted), streamId: 'case-00000000-0000-4000-8000-000000000000' }).value)))
  t.throws(() => feedEventFromMessage(value), CaseEventDecodeError)
})

t.test('shape decoding: the contract reduced to its shape, with the data of chosen types only', async (t) => {
  const decodeShape = caseEventShapeDecoder(new Set<CaseEventType>(['CaseSubmitted', 'CaseRouted']))
  const stored = recorded(submitted)
  t.same(decodeShape(stored.id, stored.type, stored.data, stored.metadata), submitted, 'a stored event comes back whole')
  t.equal(CASE_EVENT_TYPES.size, CaseEvent.options.length, 'every type of the contract')

  const note = { id: 'n1', type: 'CaseNoteAdded', metadata: { ...(stored.metadata as object) } }
  t.same(decodeShape(note.id, note.type, undefined, note.metadata), { ...(stored.metadata as object), eventId: 'n1', type: 'CaseNoteAdded' }, 'a type whose data is not read comes back without it')

  const data = stored.data as Record<string, unknown>
  const odd: Array<[string, unknown, unknown]> = [
    ['CaseSubmitted', { ...data, caseId: 12 }, stored.metadata],
    ['CaseSubmitted', { ...data, location: 'Erzene' }, stored.metadata],
    ['CaseSubmitted', { ...data, location: { neighbourhood: 7 } }, stored.metadata],
    ['CaseSubmitted', { ...data, kind: 'praise' }, stored.metadata],
    ['CaseSubmitted', { ...data, receivedAt: undefined }, stored.metadata],
    ['CaseSubmitted', null, stored.metadata],
    ['CaseSubmitted', data, { ...(stored.metadata as object), actor: { kind: 'staff' } }],
    ['CaseSubmitted', data, { ...(stored.metadata as object), schemaVersion: 3 }],
    ['CaseSubmitted', data, null],
    ['CaseRouted', { department: 'fen-isleri', category: null, sla: { startedAt: 'x' } }, stored.metadata],
    ['CaseFlewAway', {}, stored.metadata],
  ]
  for (const [type, d, m] of odd) t.equal(decodeShape('x', type, d, m), null, `${type} ${JSON.stringify(d)?.slice(0, 50)} is skipped`)
  t.not(decodeShape('x', 'CaseSubmitted', { ...data, location: {} }, stored.metadata), null, 'an optional field may be absent')
  t.not(decodeShape('x', 'CaseSubmitted', { ...data, caseId: 'not-a-uuid' }, stored.metadata), null, 'formats are not checked: the event passed them when written')
})
