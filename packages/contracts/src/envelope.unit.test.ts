import t from 'tap'
import { CaseEvent } from './events.ts'

// An event as stored before `clientRequestId` existed.
const stored = {
  eventId: '5b0a3c1e-2f4d-4a6b-8c9d-0e1f2a3b4c5d',
  type: 'CaseNoteAdded',
  schemaVersion: 1,
  occurredAt: '2026-11-20T09:15:00.000+03:00',
  actor: { kind: 'staff', id: 'ayse.fen' },
  correlationId: '0b7c9d8e-1a2b-4c3d-9e8f-7a6b5c4d3e2f',
  causationId: null,
  data: { text: 'Ekip yarın bakacak.' },
}

t.test('an event stored without clientRequestId still decodes, and one with it keeps it apart', async (t) => {
  t.same(CaseEvent.parse(stored), stored)
  const withClientId = { ...stored, clientRequestId: 'AUDIT-FORGED-ID' }
  t.same(CaseEvent.parse(withClientId), withClientId)
  t.equal(CaseEvent.parse(withClientId).correlationId, stored.correlationId)
  t.notOk(CaseEvent.safeParse({ ...stored, clientRequestId: '' }).success, 'an empty one is refused')
  t.notOk(CaseEvent.safeParse({ ...stored, clientRequestId: 'x'.repeat(201) }).success, 'so is one over 200 characters')
})
