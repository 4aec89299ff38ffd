import t from 'tap'
import type { CaseEvent } from '@civic-desk/contracts'
import { createRequestTable, expectedMs } from './request-index.ts'

const T0 = Date.parse('2026-11-20T09:00:00Z')
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString()
let n = 0
const event = (type: CaseEvent['type'], minutes: number, data: unknown): CaseEvent =>
  ({ eventId: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type, schemaVersion: 1, occurredAt: at(minutes), actor: { kind: 'service', id: 'test' }, correlationId: 'c', causationId: null, data }) as CaseEvent
const sla = (startMinutes: number, hours: number) => ({ clock: 1, startedAt: at(startMinutes), deadline: { hours }, basis: 'category', dueAt: at(startMinutes + hours * 60) })

function submit(table: ReturnType<typeof createRequestTable>, caseId: string, code: string, minutes: number, category?: string): void {
  table.apply({ caseId, event: event('CaseSubmitted', minutes, { caseId, trackingCode: code, channel: 'web', kind: 'request', description: 'x', receivedAt: at(minutes), ...(category === undefined ? {} : { category }) }) })
}

t.test('a transfer moves a request to its new service list; a pause moves its due time; a reopening opens it again', async (t) => {
  const table = createRequestTable()
  const id = '11111111-1111-4111-8111-111111111111'
  submit(table, id, 'AAAA', 0, 'yol-cukur')
  submit(table, '22222222-2222-4222-8222-222222222222', 'BBBB', 1)
  const window = { fromMs: T0 - 3600_000, toMs: T0 + 3600_000, offset: 0, limit: 10 }
  t.same(table.query({ ...window, serviceCodes: ['yol-cukur'] }).map((r) => r.trackingCode), ['AAAA'])
  t.same(table.query(window).map((r) => r.trackingCode), ['BBBB', 'AAAA'], 'newest first')

  table.apply({ caseId: id, event: event('CaseRouted', 2, { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: sla(2, 48), legalDueAt: null }) })
  table.apply({ caseId: id, event: event('CaseTransferred', 3, { fromDepartment: 'fen-isleri', toDepartment: 'su-kanalizasyon', category: 'rogar-kapagi', reason: 'x', sla: sla(3, 12) }) })
  const r = table.byTrackingCode('AAAA')!
  t.equal(r.department, 'su-kanalizasyon')
  t.same(table.query({ ...window, serviceCodes: ['yol-cukur'] }), [], 'no longer a pothole')
  t.same(table.query({ ...window, serviceCodes: ['rogar-kapagi'] }).map((x) => x.trackingCode), ['AAAA'])
  t.equal(expectedMs(r), T0 + (3 + 720) * 60_000)

  table.apply({ caseId: id, event: event('CitizenInfoRequested', 10, { question: 'x' }) })
  t.equal(expectedMs(r), null, 'paused while waiting on the citizen')
  table.apply({ caseId: id, event: event('CitizenReplied', 70, { text: 'x', channel: null }) })
  t.equal(r.status, 'routed')
  t.equal(expectedMs(r), T0 + (3 + 720 + 60) * 60_000, 'an hour later')

  table.apply({ caseId: id, event: event('CaseNoteAdded', 80, { text: 'iç not' }) })
  t.equal(r.updatedMs, T0 + 70 * 60_000, 'an internal note is no step of the case')
  table.apply({ caseId: id, event: event('CaseRejected', 90, { reasonCode: 'not-municipal', reason: 'x' }) })
  t.equal(r.status, 'rejected')
  t.equal(expectedMs(r), null)
  table.apply({ caseId: id, event: event('CaseReopened', 100, { reason: 'x', sla: sla(100, 12) }) })
  t.equal(r.status, 'routed')
  t.equal(expectedMs(r), T0 + (100 + 720) * 60_000)
  t.same(r.steps.map((s) => s.step), ['submitted', 'routed', 'transferred', 'info-requested', 'citizen-replied', 'rejected', 'reopened'])
  t.same(table.updates(T0, T0 + 3600_000 * 3, 100).map((u) => `${u.request.trackingCode}.${u.index}:${u.step.status}`), ['AAAA.1:routed', 'AAAA.2:routed', 'AAAA.3:waiting_for_citizen', 'AAAA.4:routed', 'AAAA.5:rejected', 'AAAA.6:routed'])
  t.same(table.updates(T0 + 80 * 60_000, T0 + 95 * 60_000, 100).map((u) => u.index), [5], 'by the time of the step')
})
