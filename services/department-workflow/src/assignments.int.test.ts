import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { caseIdForTrackingCode, deriveEventId, trackingCodeFromBytes } from '@civic-desk/case-domain'
import { caseEventMessage, caseStreamId, createCaseFeed, encodeCaseEvent } from '@civic-desk/case-feed'
import type { CaseEvent } from '@civic-desk/contracts'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, TOPICS, createKafkaBus, openSqliteBus, type BusMessage, type SqliteBus } from '@civic-desk/messaging'
import { kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { AssignmentMessage, startAssignmentPublisher, type AssignmentPublisher } from './assignments.ts'
import { T0, act, at, ayse, catalogue, iso, logger, seedCase, waitFor } from './test-support.ts'

interface Env {
  readonly store: EventStore
  readonly bus: SqliteBus
  readonly publisher: AssignmentPublisher
  readonly assignments: BusMessage<AssignmentMessage>[]
  readonly deadLetters: BusMessage<DeadLetterRecord>[]
  /** Publishes a stored case event to the case-events topic once more, as a relay does after a crash. */
  relayAgain(eventId: string): Promise<void>
  /** Resolves once the publisher's group has committed every case event published so far. */
  caughtUp(): Promise<void>
  /** Messages the assignments topic holds. */
  published(): Promise<number>
}

/**
 * A memory event store whose case events are relayed (with the relay's message, `caseEventMessage`)
 * to a fresh sqlite bus, and the publisher under test reading it through a case feed.
 */
async function setup(t: Test, options: { maxAttempts?: number } = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-assignments-'))
  const store = createMemoryEventStore()
  const bus = openSqliteBus({ file: join(dir, 'bus.sqlite'), partitions: 6, pollIntervalMs: 20 })
  const relay = store.subscribeToAll({ streamPrefix: 'case-' }, (recorded) => bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)]))
  const assignments: BusMessage<AssignmentMessage>[] = []
  const deadLetters: BusMessage<DeadLetterRecord>[] = []
  await bus.subscribe({ topic: TOPICS.assignments, groupId: 'test-assignments', fromBeginning: true, schema: AssignmentMessage, handler: async (m) => void assignments.push(m) })
  await bus.subscribe({ topic: TOPICS.deadLetter, groupId: 'test-dead-letters', fromBeginning: true, schema: DeadLetterRecord, handler: async (m) => void deadLetters.push(m) })
  const groupId = 'department-workflow-assignments'
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' } })
  const publisher = await startAssignmentPublisher({ feed, bus, store, logger, catalogue, retryBackoffMs: 1, ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }) })
  t.teardown(async () => {
    await relay.close()
    await publisher.stop()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const sum = (offsets: Record<number, string>): number => Object.values(offsets).reduce((total, offset) => total + Number(offset), 0)
  return {
    store,
    bus,
    publisher,
    assignments,
    deadLetters,
    async relayAgain(eventId) {
      const recorded = (await store.readAll({ streamPrefix: 'case-' })).find((r) => r.id === eventId)
      if (recorded === undefined) throw new Error(`no event ${eventId}`)
      await bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)])
    },
    async caughtUp() {
      const head = await store.headPosition()
      await waitFor('the relay', () => relay.position === head)
      await waitFor('the publisher', async () => sum(await bus.committedOffsets(TOPICS.caseEvents, groupId)) === sum(await bus.endOffsets(TOPICS.caseEvents)))
    },
    async published() {
      return sum(await bus.endOffsets(TOPICS.assignments))
    },
  }
}

/** Keys anywhere in a JSON value. */
function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf)
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)])
  return []
}

// Format 2 has none of these: the contact, the description, the street address and coordinates,
// and no staff free text (a reason of any kind); they are behind `details`.
const PERSONAL_KEYS = ['citizen', 'name', 'phone', 'email', 'preferredChannel', 'description', 'location', 'address', 'lat', 'lon', 'reason', 'resolution', 'externalId']
// Whole values: a bare '532' would also match random ids now and then.
const PERSONAL_VALUES = ['Ayşe', 'Yılmaz', '+90 532 111 22 33', '532 111', 'ayse@example.com']
/** What `seedCase` submits: the citizen's description and street address. */
const SEED_TEXTS = ['Sokağımızda büyük bir çukur var', 'Şehit Öğretmen Sk']

/**
 * No personal-data key, no contact, and none of `texts` (the description, address, coordinates and
 * reasons the test wrote into the case) in the message's value or headers.
 */
function assertNoPersonalData(t: Test, message: BusMessage<AssignmentMessage> | undefined, texts: readonly string[] = []): void {
  t.ok(message, 'a message to check')
  const text = JSON.stringify(message?.value) + JSON.stringify(message?.headers) + (message?.key ?? '')
  t.same(keysOf(message?.value).filter((k) => PERSONAL_KEYS.includes(k)), [], 'no personal-data keys')
  for (const value of [...PERSONAL_VALUES, ...SEED_TEXTS, ...texts]) t.notOk(text.includes(value), `no ${value}`)
}

t.test('format 2: the schema refuses a message that carries the description, location or a reason (format 1)', async (t) => {
  const caseId = randomUUID()
  const assigned = {
    v: 2,
    type: 'CaseAssigned',
    assignmentId: randomUUID(),
    caseId,
    details: `/v1/cases/${caseId}`,
    trackingCode: 'K7MA-4PXR-9TK',
    department: 'fen-isleri',
    category: 'yol-cukur',
    kind: 'complaint',
    channel: 'whatsapp',
    submittedAt: iso(0),
    dueAt: iso(48),
    legalDueAt: null,
    neighbourhood: 'Kazımdirik',
    occurredAt: iso(0),
    sourceEventId: randomUUID(),
    position: 2,
  }
  t.ok(AssignmentMessage.safeParse(assigned).success, 'the format-2 message')
  t.notOk(AssignmentMessage.safeParse({ ...assigned, description: 'Sokağımızda çukur var.' }).success, 'no description')
  t.notOk(AssignmentMessage.safeParse({ ...assigned, location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4' } }).success, 'no location')
  t.notOk(AssignmentMessage.safeParse({ ...assigned, type: 'CaseTransferred', fromDepartment: 'park-bahce', reason: 'Ağaç kökü' }).success, 'no transfer reason')
  t.ok(AssignmentMessage.safeParse({ ...assigned, type: 'CaseTransferred', fromDepartment: 'park-bahce' }).success, 'a transfer without it')
  t.notOk(AssignmentMessage.safeParse({ ...assigned, v: 1 }).success, 'format 1 is no longer what the topic carries')
  t.notOk(AssignmentMessage.safeParse({ ...assigned, details: 'https://example.com/x' }).success, 'details is the staff API path of the case')
})

t.test('a routed case: one CaseAssigned keyed by its directorate, without personal data', async (t) => {
  const env = await setup(t)
  const { caseId, trackingCode, dueAt } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse, channel: 'whatsapp' })
  await waitFor('the assignment', () => env.assignments.length === 1)
  const [message] = env.assignments
  const [submitted, routed] = await env.store.readStream(caseStreamId(caseId))
  t.equal(message?.key, 'fen-isleri')
  t.same(message?.value, {
    v: 2,
    type: 'CaseAssigned',
    assignmentId: deriveEventId(routed?.id ?? '', 'assignments'),
    caseId,
    details: `/v1/cases/${caseId}`,
    trackingCode,
    department: 'fen-isleri',
    departmentNameTr: 'Fen İşleri Müdürlüğü',
    category: 'yol-cukur',
    categoryNameTr: catalogue.categories.find((c) => c.code === 'yol-cukur')?.nameTr,
    kind: 'complaint',
    channel: 'whatsapp',
    submittedAt: new Date(T0.getTime() - 60_000).toISOString(),
    dueAt: dueAt.toISOString(),
    legalDueAt: null,
    neighbourhood: 'Kazımdirik',
    occurredAt: T0.toISOString(),
    sourceEventId: routed?.id,
    position: routed?.position,
  })
  t.same(message?.headers, { 'correlation-id': `seed-${trackingCode}`, 'case-id': caseId, 'event-type': 'CaseAssigned', 'assignment-id': message?.value.assignmentId, traceparent: message?.headers['traceparent'] })
  t.match(message?.headers['traceparent'], /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the trace of its handling (a new one: the seeded events carry none)')
  t.ok(submitted, 'the submission it was built from')
  assertNoPersonalData(t, message)
  await env.caughtUp()
  t.equal(await env.published(), 1, 'CaseSubmitted itself assigns nothing')
  t.match(env.publisher.status(), { running: true, published: 1, skipped: 0 })
})

t.test('a transfer: CaseTransferred keyed by the new directorate, naming the old one', async (t) => {
  const env = await setup(t)
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })
  await act(env.store, caseId, at(1), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  await act(env.store, caseId, at(2), (meta) => ({ type: 'AddNote', meta, data: { text: 'Yerinde bakıldı: ağaç kökü kaldırımı kaldırmış.' } }))
  const transfer = await act(env.store, caseId, at(3), (meta) => ({
    type: 'TransferCase',
    meta,
    data: { toDepartment: 'park-bahce', category: 'agac-budama', reason: 'Ağaç kökü sorunu: Park ve Bahçeler', sla: { startedAt: iso(3), deadline: { hours: 48 }, basis: 'category', dueAt: iso(51) } },
  }))
  await waitFor('both assignments', () => env.assignments.length === 2)
  const [assigned, transferred] = env.assignments
  t.match(assigned, { key: 'fen-isleri', value: { type: 'CaseAssigned', department: 'fen-isleri' } })
  t.equal(transferred?.key, 'park-bahce')
  t.match(transferred?.value, {
    type: 'CaseTransferred',
    department: 'park-bahce',
    departmentNameTr: 'Park ve Bahçeler Müdürlüğü',
    fromDepartment: 'fen-isleri',
    category: 'agac-budama',
    dueAt: iso(51),
    occurredAt: iso(3),
    sourceEventId: transfer.events[0]?.eventId,
    details: `/v1/cases/${caseId}`,
    neighbourhood: 'Kazımdirik',
  })
  t.equal(transferred?.headers['event-type'], 'CaseTransferred')
  assertNoPersonalData(t, assigned)
  assertNoPersonalData(t, transferred, ['Ağaç kökü sorunu', 'kaldırımı kaldırmış'])
  await env.caughtUp()
  t.equal(await env.published(), 2, 'accepting and notes assign nothing')
})

t.test('a redelivered case event publishes the same assignment again, even after the case moved on', async (t) => {
  const env = await setup(t)
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  await waitFor('the assignment', () => env.assignments.length === 1)
  await act(env.store, caseId, at(3), (meta) => ({
    type: 'TransferCase',
    meta,
    data: { toDepartment: 'temizlik', category: null, reason: 'Moloz yığını', sla: { startedAt: iso(3), deadline: { hours: 48 }, basis: 'municipal-promise', dueAt: iso(51) } },
  }))
  await waitFor('the transfer', () => env.assignments.length === 2)
  await env.relayAgain(env.assignments[0]?.value.sourceEventId ?? '')
  await waitFor('the repeat', () => env.assignments.length === 3)
  const [first, , again] = env.assignments
  t.equal(again?.value.assignmentId, first?.value.assignmentId, 'same assignmentId')
  t.same(again?.value, first?.value, 'same content: the case is read as of the source event')
  t.equal(again?.key, 'fen-isleri')
})

t.test('a likely duplicate is assigned with a link to the earlier case', async (t) => {
  const env = await setup(t)
  const earlier = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  const trackingCode = trackingCodeFromBytes(Buffer.from('duplicate-case-1'))
  const caseId = caseIdForTrackingCode(trackingCode)
  const submittedId = randomUUID()
  const meta = { schemaVersion: 1, actor: { kind: 'channel', id: 'whatsapp-adapter' }, correlationId: 'wa-1', causationId: null } as const
  const events: CaseEvent[] = [
    {
      ...meta,
      eventId: submittedId,
      type: 'CaseSubmitted',
      occurredAt: iso(1),
      data: {
        caseId,
        trackingCode,
        channel: 'whatsapp',
        externalId: 'wamid.1',
        kind: 'complaint',
        description: "Kazımdirik Mahallesi 128 Sokak'ta çukur var.",
        location: { neighbourhood: 'Kazımdirik', lat: 38.4655, lon: 27.2201 },
        citizen: { phone: '+90 532 111 22 33', email: 'ayse@example.com' },
        receivedAt: iso(1),
      },
    },
    {
      ...meta,
      actor: { kind: 'service', id: 'routing' },
      eventId: deriveEventId(submittedId, 'routing'),
      type: 'CaseMarkedDuplicate',
      occurredAt: iso(1),
      causationId: submittedId,
      data: {
        department: 'fen-isleri',
        category: 'yol-cukur',
        routedBy: 'keywords',
        matchedKeywords: ['çukur'],
        sla: { clock: 1, startedAt: iso(1), deadline: { hours: 48 }, basis: 'category', dueAt: iso(49) },
        legalDueAt: null,
        duplicateOf: earlier.caseId,
        duplicateOfTrackingCode: earlier.trackingCode,
        match: 'location',
        distanceMeters: 12,
        similarity: null,
      },
    },
  ]
  await env.store.append(caseStreamId(caseId), events.map(encodeCaseEvent), { expectedRevision: 'no_stream' })
  await waitFor('both assignments', () => env.assignments.length === 2)
  const duplicate = env.assignments.find((m) => m.value.caseId === caseId)
  t.match(duplicate, {
    key: 'fen-isleri',
    value: { type: 'CaseAssigned', duplicateOf: { caseId: earlier.caseId, trackingCode: earlier.trackingCode }, neighbourhood: 'Kazımdirik', details: `/v1/cases/${caseId}`, dueAt: iso(49) },
  })
  t.equal(duplicate?.headers['correlation-id'], 'wa-1')
  assertNoPersonalData(t, duplicate, ["128 Sokak'ta çukur var", '38.4655', '27.2201'])
  t.notOk(JSON.stringify(duplicate?.value).includes('wamid'), 'the channel’s message id stays in civic-desk too')

  // Staff find it is not the same pothole: the directorate hears that it stands on its own, with its own deadline.
  const unlinked = await act(env.store, caseId, at(2), (meta) => ({
    type: 'UnlinkDuplicate',
    meta,
    data: { reason: 'Farklı bir çukur: 200 m ileride.', sla: { startedAt: iso(2), deadline: { hours: 48 }, basis: 'category', dueAt: iso(50) } },
  }))
  await waitFor('the unlinking', () => env.assignments.length === 3)
  const update = env.assignments[2]
  t.equal(update?.key, 'fen-isleri')
  t.match(update?.value, {
    type: 'CaseDuplicateUnlinked',
    caseId,
    department: 'fen-isleri',
    status: 'routed',
    reasonCode: null,
    dueAt: iso(50),
    details: `/v1/cases/${caseId}`,
    sourceEventId: unlinked.events[0]?.eventId,
  })
  t.equal(update?.headers['event-type'], 'CaseDuplicateUnlinked')
  assertNoPersonalData(t, update, ['Farklı bir çukur', "128 Sokak'ta çukur var", '38.4655', '27.2201'])
})

t.test('a reopened case goes back to its directorate; a case never routed has none to go to', async (t) => {
  const env = await setup(t)
  const { caseId } = await seedCase(env.store, { category: 'cop-toplama', routedAt: T0 })
  await act(env.store, caseId, at(2), (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Çöpler toplandı.' } }))
  const reopened = await act(env.store, caseId, at(30), (meta) => ({
    type: 'ReopenCase',
    meta,
    data: { reason: 'Vatandaş çöplerin hâlâ orada olduğunu bildirdi.', sla: { startedAt: iso(30), deadline: { hours: 24 }, basis: 'category', dueAt: iso(54) } },
  }))
  // Routed, resolved (a case update, see below), reopened.
  await waitFor('the three messages', () => env.assignments.length === 3)
  t.match(env.assignments[1], { key: 'temizlik', value: { type: 'CaseResolved' } })
  t.match(env.assignments[2], {
    key: 'temizlik',
    value: { type: 'CaseReopened', department: 'temizlik', dueAt: iso(54), sourceEventId: reopened.events[0]?.eventId, details: `/v1/cases/${caseId}` },
  })
  for (const message of env.assignments) assertNoPersonalData(t, message, ['Çöpler toplandı', 'çöplerin hâlâ orada'])

  // Rejected before routing (e.g. out of jurisdiction at the desk), then reopened: no directorate yet.
  const trackingCode = trackingCodeFromBytes(Buffer.from('never-routed-123'))
  const neverRouted = caseIdForTrackingCode(trackingCode)
  await act(env.store, neverRouted, at(1), (meta) => ({
    type: 'SubmitCase',
    meta,
    data: { caseId: neverRouted, trackingCode, channel: 'walk-in', kind: 'request', description: 'Komşu ilçenin sokak lambası.', receivedAt: iso(1) },
  }))
  await act(env.store, neverRouted, at(2), (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'out-of-jurisdiction', reason: 'Bornova Belediyesi sorumluluğunda.' } }))
  await act(env.store, neverRouted, at(3), (meta) => ({
    type: 'ReopenCase',
    meta,
    data: { reason: 'Yanlış ilçe yazılmış.', sla: { startedAt: iso(3), deadline: { hours: 48 }, basis: 'municipal-promise', dueAt: iso(51) } },
  }))
  await env.caughtUp()
  // The rejection at the desk and the reopening: no directorate to tell.
  t.match(env.publisher.status(), { published: 3, skipped: 2 })
  t.equal(await env.published(), 3)
})

t.test('invalid case-event messages are dead-lettered; the publisher keeps going', async (t) => {
  const env = await setup(t, { maxAttempts: 2 })
  const ghost = randomUUID()
  await env.bus.publishRaw(TOPICS.caseEvents, [{ key: ghost, value: '{ not json' }])
  await env.bus.publish(TOPICS.caseEvents, [
    // Fails the CaseEventMessage schema: the bus dead-letters it before the handler.
    { key: ghost, value: { event: { type: 'CaseRouted' }, position: 'x' } },
    // A valid envelope, but not a valid CaseRouted.
    {
      key: ghost,
      value: {
        streamId: caseStreamId(ghost),
        revision: 1,
        position: 999,
        recordedAt: T0.toISOString(),
        event: { eventId: randomUUID(), type: 'CaseRouted', schemaVersion: 1, occurredAt: T0.toISOString(), actor: { kind: 'service', id: 'routing' }, correlationId: 'c', causationId: null, data: { department: 'Fen İşleri' } },
      },
    },
  ])
  await waitFor('three dead letters', () => env.deadLetters.length === 3)
  t.same(
    env.deadLetters.map((d) => [d.value.error.kind, d.value.source.groupId, d.value.source.topic]),
    [
      ['invalid', 'department-workflow-assignments', TOPICS.caseEvents],
      ['invalid', 'department-workflow-assignments', TOPICS.caseEvents],
      ['failed', 'department-workflow-assignments', TOPICS.caseEvents],
    ],
  )
  t.match(env.deadLetters[2]?.value, { error: { message: /data\.department/ }, attempts: 1 }, 'not retried: retrying cannot mend it')
  t.match(env.publisher.status(), { lastError: /invalid/ })

  const { caseId } = await seedCase(env.store, { category: 'park-bakim', routedAt: T0 })
  await waitFor('the assignment after the poison', () => env.assignments.length === 1)
  t.match(env.assignments[0], { key: 'park-bahce', value: { caseId, type: 'CaseAssigned' } })
})

t.test('a case event from another store is dead-lettered at once', async (t) => {
  const env = await setup(t)
  const { caseId } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  await waitFor('the assignment', () => env.assignments.length === 1)
  const routed = (await env.store.readStream(caseStreamId(caseId)))[1]
  if (routed === undefined) throw new Error('no CaseRouted')
  // The same event under another case id, at a position our store has passed: not ours.
  const stranger = randomUUID()
  await env.bus.publish(TOPICS.caseEvents, [caseEventMessage({ ...routed, streamId: caseStreamId(stranger) })])
  await waitFor('the dead letter', () => env.deadLetters.length === 1)
  t.match(env.deadLetters[0]?.value, { error: { kind: 'failed', message: /is not in the store, which is at position 2/ }, attempts: 1, source: { key: stranger } })
  await env.caughtUp()
  t.equal(await env.published(), 1, 'nothing published for it')
})

t.test('a case event the store has not caught up with yet is retried until the store has it', async (t) => {
  const env = await setup(t)
  const { caseId, trackingCode } = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0 })
  await waitFor('the assignment', () => env.assignments.length === 1)
  // As from a relay reading a store replica ahead of ours: the transfer arrives before our store has it.
  const transfer: CaseEvent = {
    eventId: randomUUID(),
    type: 'CaseTransferred',
    schemaVersion: 1,
    occurredAt: iso(3),
    actor: { kind: 'staff', id: 'ayse.fen' },
    correlationId: `seed-${trackingCode}`,
    causationId: null,
    data: { fromDepartment: 'fen-isleri', toDepartment: 'park-bahce', category: 'agac-budama', reason: 'Ağaç kökü', sla: { clock: 2, startedAt: iso(3), deadline: { hours: 48 }, basis: 'category', dueAt: iso(51) } },
  }
  const stored = encodeCaseEvent(transfer)
  const early = caseEventMessage({ ...stored, streamId: caseStreamId(caseId), revision: 2, position: 3, recordedAt: iso(3), metadata: stored.metadata })
  await env.bus.publish(TOPICS.caseEvents, [early])
  await waitFor('a failed attempt', () => /not in the store yet/.test(env.publisher.status().lastError ?? ''))
  t.equal(env.assignments.length, 1, 'nothing published while the store lacks the event')
  await env.store.append(caseStreamId(caseId), [stored], { expectedRevision: 1 })
  // The early message (retried) and the relay's own: the same assignment twice.
  await waitFor('the transfer, twice', () => env.assignments.length === 3)
  const [, first, second] = env.assignments
  t.match(first, { key: 'park-bahce', value: { type: 'CaseTransferred', sourceEventId: transfer.eventId, position: 3 } })
  t.same(second?.value, first?.value)
  t.equal(env.deadLetters.length, 0)
})

t.test('a case that ends tells its directorate: CaseResolved, CaseRejected, CaseClosed, keyed like the assignment, without personal data', async (t) => {
  const env = await setup(t)
  const resolvedCase = await seedCase(env.store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })
  await act(env.store, resolvedCase.caseId, at(1), (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'ayse.fen' } }))
  const resolved = await act(env.store, resolvedCase.caseId, at(2), (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Çukur asfaltla kapatıldı.' } }))
  const closed = await act(env.store, resolvedCase.caseId, at(3), (meta) => ({ type: 'CloseCase', meta, data: { reason: null } }))
  const rejectedCase = await seedCase(env.store, { category: 'park-bakim', routedAt: T0, citizen: ayse })
  const rejected = await act(env.store, rejectedCase.caseId, at(4), (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'not-municipal', reason: 'Site yönetiminin sorumluluğunda.' } }), 'elif.park')
  await waitFor('five messages', () => env.assignments.length === 5)

  const of = (caseId: string) => env.assignments.filter((m) => m.value.caseId === caseId)
  t.same(of(resolvedCase.caseId).map((m) => [m.key, m.value.type]), [['fen-isleri', 'CaseAssigned'], ['fen-isleri', 'CaseResolved'], ['fen-isleri', 'CaseClosed']])
  const [, resolvedMessage, closedMessage] = of(resolvedCase.caseId)
  const resolvedEvent = resolved.events[0]
  t.same(resolvedMessage?.value, {
    v: 2,
    type: 'CaseResolved',
    assignmentId: deriveEventId(resolvedEvent?.eventId ?? '', 'assignments'),
    caseId: resolvedCase.caseId,
    details: `/v1/cases/${resolvedCase.caseId}`,
    trackingCode: resolvedCase.trackingCode,
    department: 'fen-isleri',
    departmentNameTr: 'Fen İşleri Müdürlüğü',
    category: 'yol-cukur',
    categoryNameTr: catalogue.categories.find((c) => c.code === 'yol-cukur')?.nameTr,
    status: 'resolved',
    reasonCode: null,
    dueAt: null,
    occurredAt: iso(2),
    sourceEventId: resolvedEvent?.eventId,
    position: (await env.store.readStream(caseStreamId(resolvedCase.caseId)))[3]?.position,
  })
  t.same(
    resolvedMessage?.headers,
    { 'correlation-id': 'test', 'case-id': resolvedCase.caseId, 'event-type': 'CaseResolved', 'assignment-id': resolvedMessage?.value.assignmentId, traceparent: resolvedMessage?.headers['traceparent'] },
    'the same headers as every assignment',
  )
  t.match(resolvedMessage?.headers['traceparent'], /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  t.match(closedMessage?.value, { type: 'CaseClosed', status: 'closed', reasonCode: null, sourceEventId: closed.events[0]?.eventId })
  t.ok((closedMessage?.value.position ?? 0) > (resolvedMessage?.value.position ?? 0), 'positions order them')
  const [, rejectedMessage] = of(rejectedCase.caseId)
  t.equal(rejectedMessage?.key, 'park-bahce')
  t.match(rejectedMessage?.value, { type: 'CaseRejected', department: 'park-bahce', status: 'rejected', reasonCode: 'not-municipal', sourceEventId: rejected.events[0]?.eventId })
  for (const message of [resolvedMessage, closedMessage, rejectedMessage]) {
    assertNoPersonalData(t, message, ['Çukur asfaltla kapatıldı', 'Site yönetiminin sorumluluğunda'])
    t.notOk(JSON.stringify(message?.value).includes('çukur var'), 'the request itself is not repeated')
  }

  // Redelivered: the same message again.
  await env.relayAgain(resolvedEvent?.eventId ?? '')
  await waitFor('the repeat', () => env.assignments.length === 6)
  t.same(env.assignments[5]?.value, resolvedMessage?.value)

  // Refused at the desk, never routed: no directorate to tell.
  const trackingCode = trackingCodeFromBytes(Buffer.from('desk-refusal-001'))
  const deskCase = caseIdForTrackingCode(trackingCode)
  await act(env.store, deskCase, at(5), (meta) => ({ type: 'SubmitCase', meta, data: { caseId: deskCase, trackingCode, channel: 'walk-in', kind: 'request', description: 'Komşu ilçenin parkı.', receivedAt: iso(5) } }))
  await act(env.store, deskCase, at(6), (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'out-of-jurisdiction', reason: 'Komşu ilçe.' } }))
  await env.caughtUp()
  t.equal(of(deskCase).length, 0)
  t.match(env.publisher.status(), { published: 6, skipped: 1 })
})

t.test('against a real Kafka broker: every message kind on civic.assignments.v1, with its key and headers', async (t) => {
  const brokers = await kafkaTestBrokers(t)
  if (brokers === undefined) return
  const dir = mkdtempSync(join(tmpdir(), 'civic-assignments-kafka-'))
  const store = createMemoryEventStore()
  const bus = createKafkaBus({ brokers, clientId: `assignments-test-${randomUUID().slice(0, 8)}`, logger })
  // The case events straight from this test's store (as standalone reads them): the shared broker's
  // civic.case-events.v1 holds other stores' events. The assignments and dead letters go to Kafka.
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'store', checkpointDir: join(dir, 'consumers') } })
  const mine = new Set<string>()
  const received: BusMessage<AssignmentMessage>[] = []
  // A fresh group from the topic's end: only what is published from now on, ours filtered by case.
  const reader = await bus.subscribe({
    topic: TOPICS.assignments,
    groupId: `test-assignments-${randomUUID()}`,
    schema: AssignmentMessage,
    handler: async (m) => {
      if (mine.has(m.value.caseId)) received.push(m)
    },
  })
  const publisher = await startAssignmentPublisher({ feed, bus, store, logger, catalogue, groupId: `department-workflow-assignments-${randomUUID()}`, retryBackoffMs: 1 })
  t.teardown(async () => {
    await publisher.stop()
    await reader.close()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const { caseId, trackingCode } = await seedCase(store, { category: 'yol-cukur', routedAt: T0, citizen: ayse })
  mine.add(caseId)
  await act(store, caseId, at(1), (meta) => ({
    type: 'TransferCase',
    meta,
    data: { toDepartment: 'park-bahce', category: 'agac-budama', reason: 'Ağaç kökü', sla: { startedAt: iso(1), deadline: { hours: 48 }, basis: 'category', dueAt: iso(49) } },
  }))
  await act(store, caseId, at(2), (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Kök budandı, kaldırım onarıldı.' } }), 'elif.park')
  await act(store, caseId, at(3), (meta) => ({ type: 'CloseCase', meta, data: { reason: 'Vatandaş teşekkür etti.' } }), 'elif.park')
  await act(store, caseId, at(4), (meta) => ({ type: 'ReopenCase', meta, data: { reason: 'Kaldırım yine kalktı.', sla: { startedAt: iso(4), deadline: { hours: 48 }, basis: 'category', dueAt: iso(52) } } }), 'elif.park')
  await act(store, caseId, at(5), (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'duplicate', reason: 'Aynı konu başka başvuruda.' } }), 'elif.park')
  await waitFor('six messages from Kafka', () => received.length === 6, 60_000)

  // One case's messages under two keys: ordered by key on the broker, by position for the reader.
  const byPosition = received.slice().sort((a, b) => a.value.position - b.value.position)
  t.same(
    byPosition.map((m) => [m.key, m.value.type, m.headers['event-type'], m.headers['case-id'], m.headers['correlation-id'], m.headers['assignment-id'] === m.value.assignmentId]),
    [
      ['fen-isleri', 'CaseAssigned', 'CaseAssigned', caseId, `seed-${trackingCode}`, true],
      ['park-bahce', 'CaseTransferred', 'CaseTransferred', caseId, 'test', true],
      ['park-bahce', 'CaseResolved', 'CaseResolved', caseId, 'test', true],
      ['park-bahce', 'CaseClosed', 'CaseClosed', caseId, 'test', true],
      ['park-bahce', 'CaseReopened', 'CaseReopened', caseId, 'test', true],
      ['park-bahce', 'CaseRejected', 'CaseRejected', caseId, 'test', true],
    ],
  )
  t.match(byPosition[2]?.value, { status: 'resolved', reasonCode: null, category: 'agac-budama' })
  t.match(byPosition[3]?.value, { status: 'closed' })
  t.match(byPosition[5]?.value, { status: 'rejected', reasonCode: 'duplicate' })
  for (const message of received) {
    t.match(message.value, { v: 2, details: `/v1/cases/${caseId}` })
    assertNoPersonalData(t, message, ['Ağaç kökü', 'Kök budandı', 'Vatandaş teşekkür etti', 'Kaldırım yine kalktı', 'Aynı konu başka başvuruda'])
  }
})
