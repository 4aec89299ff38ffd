// Test support of case-domain, as `@civic-desk/case-domain/testing` (never imported by production
// code): one citizen request with its command metadata, for tests that need a real case event.
import type { CommandMeta, Submission } from './case.ts'

/** The metadata of the command that submits `exampleSubmission`. */
export const exampleMeta: CommandMeta = {
  eventId: '0b8f7f4e-7d1a-4c55-9a43-2f1f3c9d8e10',
  occurredAt: '2026-11-20T09:15:00.000Z',
  actor: { kind: 'channel', id: 'alo153' },
  correlationId: 'req-1',
  causationId: null,
}

/** A pothole complaint over Alo 153, with the citizen's contact (personal data) and a place. */
export const exampleSubmission: Submission = {
  caseId: '9f0d6a3e-5b7c-5d1e-8f2a-3b4c5d6e7f80',
  trackingCode: 'K7MA-4PXR-9TK',
  channel: 'call-center',
  externalId: 'call-778812',
  kind: 'complaint',
  category: 'yol-cukur',
  description: 'Atatürk Caddesi üzerinde büyük bir çukur var, araçlar zarar görüyor.',
  location: { neighbourhood: 'Kazımdirik', address: 'Atatürk Cd. No:12' },
  citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
  receivedAt: '2026-11-20T09:15:00.000Z',
}
