// The sealing store over a real SQLite key store and an event store: what the log holds (never a
// personal value in clear), what services read (the values as written), what an erasure leaves
// (the erased text, no address to write to), and what leaves the process (the stored form).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { caseEventMessage, caseIdOfStream, caseStreamId, decodeCaseEvent } from '@civic-desk/case-feed'
import { ERASED_PERSONAL_TEXT, UNAVAILABLE_PERSONAL_TEXT } from '@civic-desk/contracts'
import { createMemoryEventStore, recordVariantOf, storedFormOf, type EventStore, type RecordedEvent } from '@civic-desk/event-store'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'
import { caseEventOpener, sealingEventStore } from './sealing.ts'
import { openSqliteKeyStore } from './sqlite-key-store.ts'

const CASE = '3f1c2d4e-5a6b-5c7d-8e9f-0a1b2c3d4e5f'
const OTHER = '7a8b9c0d-1e2f-5a3b-8c4d-5e6f7a8b9c0d'
const NAME = 'Zerrin Karakoçlu-Eşref'
const PHONE = '+905329871234'
const EMAIL = 'zerrin.karakoclu@örnek.com.tr'
const DESCRIPTION = 'Kapımın önündeki çukur yüzünden annem düştü, kalçası kırıldı'

const meta = (_eventId: string) => ({
  schemaVersion: 1,
  occurredAt: '2026-12-04T09:00:00.000Z',
  actor: { kind: 'channel', id: 'alo153' },
  correlationId: 'corr-1',
  causationId: null,
})

const submitted = (caseId: string, eventId = '11111111-1111-4111-8111-111111111111') => ({
  id: eventId,
  type: 'CaseSubmitted',
  data: {
    caseId,
    trackingCode: 'GRK5-69XA-KF6',
    channel: 'call-center',
    externalId: 'alo153-call-778812',
    kind: 'complaint',
    description: DESCRIPTION,
    location: { neighbourhood: 'Kızılay', address: 'Gül Sokak No 7 Daire 3', lat: 39.92071, lon: 32.85411 },
    citizen: { name: NAME, phone: PHONE, email: EMAIL, preferredChannel: 'sms' },
    receivedAt: '2026-12-04T09:00:00.000Z',
  },
  metadata: meta(eventId),
})

const note = (eventId: string, text: string) => ({ id: eventId, type: 'CaseNoteAdded', data: { text }, metadata: meta(eventId) })
const routed = (eventId: string) => ({
  id: eventId,
  type: 'CaseRouted',
  data: {
    department: 'fen-isleri',
    category: 'yol-bakim',
    routedBy: 'keywords',
    matchedKeywords: ['çukur'],
    sla: { clock: 1, startedAt: '2026-12-04T09:00:00.000Z', deadline: { hours: 48 }, basis: 'category', dueAt: '2026-12-06T09:00:00.000Z' },
    legalDueAt: null,
  },
  metadata: { ...meta(eventId), actor: { kind: 'service', id: 'routing' } },
})

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'civic-sealing-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keys = openSqliteKeyStore({ file: join(dir, 'keys.sqlite'), masterKey: parseMasterKey(newMasterKeyText()) })
  t.teardown(() => keys.close())
  const log: EventStore = createMemoryEventStore()
  const store = sealingEventStore(log, keys, { caseIdOf: caseIdOfStream })
  return { keys, log, store }
}

const PERSONAL = [NAME, '5329871234', 'zerrin', 'karakoclu', DESCRIPTION.slice(0, 20), 'Gül Sokak', '39.92071', '32.85411', 'alo153-call-778812', 'annem düştü']
const clearIn = (records: readonly RecordedEvent[]): string[] => {
  const text = JSON.stringify(records.map((r) => ({ data: r.data, metadata: r.metadata })))
  return PERSONAL.filter((p) => text.includes(p))
}

t.test('the log holds personal fields only sealed; services read them as written; the subject index finds the case', async (t) => {
  const { keys, log, store } = setup(t)
  await store.append(caseStreamId(CASE), [submitted(CASE), routed('22222222-2222-4222-8222-222222222222'), note('33333333-3333-4333-8333-333333333333', 'Annesiyle görüşüldü, 0532 987 12 34')], {
    expectedRevision: 'no_stream',
  })
  const raw = await log.readStream(caseStreamId(CASE))
  t.same(clearIn(raw), [], 'no personal value in clear in the stored records')
  t.equal((raw[0]?.metadata as { schemaVersion: number }).schemaVersion, 2, 'a sealed event is stored at version 2')
  t.equal((raw[1]?.metadata as { schemaVersion: number }).schemaVersion, 1, 'an event without personal fields stays at version 1')
  t.same(raw[1]?.data, routed('x').data, 'clear fields stay clear (routing, statistics)')
  const stored = raw[0]?.data as { location: Record<string, unknown>; citizen: Record<string, unknown>; kind: string }
  t.same(Object.keys(stored.location).sort(), ['address', 'neighbourhood', 'point'], 'the coordinates are sealed together as location.point')
  t.equal(stored.location['neighbourhood'], 'Kızılay', 'the neighbourhood is clear')
  t.equal(stored.citizen['preferredChannel'], 'sms')
  t.match(stored.citizen['phone'], /^pd1\./)

  const read = await store.readStream(caseStreamId(CASE))
  t.same(read[0]?.data, submitted(CASE).data, 'read back as written, coordinates included')
  t.equal(recordVariantOf(read[0] as RecordedEvent), 'open')
  t.same(storedFormOf(read[0] as RecordedEvent), raw[0], 'the stored form travels with the opened record')
  t.same(read[2]?.data, { text: 'Annesiyle görüşüldü, 0532 987 12 34' })
  t.same(await keys.casesOf({ kind: 'phone', value: '0532 987 12 34' }), [CASE], 'found by the phone number as typed')
  t.same(await keys.casesOf({ kind: 'email', value: EMAIL.toUpperCase() }), [CASE], 'and by the e-mail address')

  const message = caseEventMessage(read[0] as RecordedEvent)
  t.same(clearIn([{ ...(read[0] as RecordedEvent), data: (message.value as { event: { data: unknown } }).event.data, metadata: {} }]), [], 'the relayed message carries the stored (sealed) form')

  // Appending the same event again (a retried submission) is skipped, and does not seal twice.
  await store.append(caseStreamId(CASE), [submitted(CASE)], { expectedRevision: 'any' })
  t.equal((await log.readStream(caseStreamId(CASE))).length, 3)
})

t.test('after the key is destroyed every copy reads as erased; nothing is left to write to; new text is not kept', async (t) => {
  const { keys, log, store } = setup(t)
  await store.append(caseStreamId(CASE), [submitted(CASE), note('33333333-3333-4333-8333-333333333333', 'gizli not')], { expectedRevision: 'no_stream' })
  const opened = decodeCaseEvent((await store.readStream(caseStreamId(CASE)))[0] as RecordedEvent)
  t.equal(opened.type === 'CaseSubmitted' && opened.data.description, DESCRIPTION, 'decoded and cached opened')

  await keys.destroy([CASE], 'dest-1', new Date('2026-12-05T10:00:00Z'))
  const read = await store.readStream(caseStreamId(CASE))
  t.equal(recordVariantOf(read[0] as RecordedEvent), 'erased')
  const { externalId: _externalId, ...kept } = submitted(CASE).data
  t.same(
    read[0]?.data,
    { ...kept, description: ERASED_PERSONAL_TEXT, location: { neighbourhood: 'Kızılay', address: ERASED_PERSONAL_TEXT }, citizen: { name: ERASED_PERSONAL_TEXT, preferredChannel: 'sms' } },
    'the phone, e-mail, coordinates and channel reference are gone; the rest reads as erased',
  )
  t.same(read[1]?.data, { text: ERASED_PERSONAL_TEXT })
  const decoded = decodeCaseEvent(read[0] as RecordedEvent)
  t.equal(decoded.type === 'CaseSubmitted' && decoded.data.description, ERASED_PERSONAL_TEXT, 'the decoded-event cache does not serve the opened event for an erased one')

  await store.append(caseStreamId(CASE), [note('44444444-4444-4444-8444-444444444444', 'Zerrin Hanım tekrar aradı')], { expectedRevision: 'any' })
  const raw = await log.readStream(caseStreamId(CASE))
  t.same(raw[2]?.data, { text: ERASED_PERSONAL_TEXT }, 'text written after the erasure is not kept, in clear or otherwise')
  t.same(clearIn(raw), [])
  t.same(await keys.casesOf({ kind: 'phone', value: PHONE }), [], 'the erased case leaves the subject index')
})

t.test('a value that does not open reads as unavailable; records of version 1 pass as they are; subscriptions and bus messages open too', async (t) => {
  const { keys, log, store } = setup(t)
  await store.append(caseStreamId(CASE), [submitted(CASE)], { expectedRevision: 'no_stream' })
  await store.append(caseStreamId(OTHER), [submitted(OTHER, '55555555-5555-4555-8555-555555555555')], { expectedRevision: 'no_stream' })
  // A sealed value copied from another case does not open under this case's key (associated data).
  const [mine] = await log.readStream(caseStreamId(CASE))
  const [theirs] = await log.readStream(caseStreamId(OTHER))
  const moved = { ...(mine as RecordedEvent), data: { ...((mine as RecordedEvent).data as object), description: ((theirs as RecordedEvent).data as { description: string }).description } }
  const opener = caseEventOpener(keys)
  const envelope = { ...(moved.metadata as object), eventId: moved.id, type: moved.type, data: moved.data }
  const opened = await opener(CASE, envelope)
  t.equal(opened.variant, 'unavailable')
  t.equal((opened.envelope['data'] as { description: string }).description, UNAVAILABLE_PERSONAL_TEXT, 'the moved value reads as unavailable')
  t.equal(((opened.envelope['data'] as { citizen: { name: string } }).citizen).name, NAME, 'the case’s own values still open')

  // A clear-text event of version 1 (written before sealing) reads unchanged: it cannot be shredded.
  const legacy = { ...submitted('9d8c7b6a-5f4e-5d3c-8b2a-1f0e9d8c7b6a', '66666666-6666-4666-8666-666666666666') }
  await log.append(caseStreamId(legacy.data.caseId), [legacy], { expectedRevision: 'no_stream' })
  const [legacyRead] = await store.readStream(caseStreamId(legacy.data.caseId))
  t.same(legacyRead?.data, legacy.data)
  t.equal(recordVariantOf(legacyRead as RecordedEvent), undefined)

  const seen: RecordedEvent[] = []
  const subscription = store.subscribeToAll({ streamPrefix: 'case-' }, (r) => void seen.push(r))
  t.teardown(() => subscription.close())
  for (let i = 0; i < 100 && seen.length < 3; i += 1) await new Promise((r) => setTimeout(r, 10))
  t.same(seen.map((r) => (r.data as { description: string }).description), [DESCRIPTION, DESCRIPTION, DESCRIPTION], 'the subscription delivers opened records, in order')

  // Without the key store (the dashboards), a sealed record decodes with the personal fields unavailable.
  const [sealed] = await log.readStream(caseStreamId(OTHER))
  const event = decodeCaseEvent(sealed as RecordedEvent)
  t.equal(event.type === 'CaseSubmitted' && event.data.description, UNAVAILABLE_PERSONAL_TEXT)
  t.equal(event.type === 'CaseSubmitted' && event.data.location?.neighbourhood, 'Kızılay')
  t.notMatch(JSON.stringify(event), /pd1\./, 'no ciphertext travels further either')
})
