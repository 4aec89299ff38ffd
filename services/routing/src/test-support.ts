// Helpers shared by this package's tests (not exported from the package).
//
// The tests publish each stored case event at once with the relay's message (`caseEventMessage`;
// `relayCaseEvents`: no batching, so a test controls redelivery exactly), read them through a case
// feed on that bus as distributed mode does, and append
// CaseSubmitted events the way intake does (`submitCase`: the decider, the codec, "no stream").
import { randomBytes, randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { capturingLogger as capturingLoggerAt } from '@civic-desk/service-kit/testing'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdForTrackingCode, decide, initialState, trackingCodeFromBytes, type Submission } from '@civic-desk/case-domain'
import { caseEventMessage, caseStreamId, createCaseFeed, decodeCaseEvent, encodeCaseEvent, type CaseFeed } from '@civic-desk/case-feed'
import type { CaseEvent, SubmissionBody } from '@civic-desk/contracts'

export { caseEventMessage }
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { TOPICS, createMemoryBus, type Bus, type BusMessage, type MemoryBus } from '@civic-desk/messaging'
import { createLogger, defaultCatalogueFile, loadCatalogue, type Logger } from '@civic-desk/service-kit'

export { waitFor } from '@civic-desk/messaging/testing'

export const silentLogger: Logger = createLogger({ level: 'silent', name: 'routing-test' })

/** A logger whose JSON lines are collected in `lines`. */
export const capturingLogger = (): ReturnType<typeof capturingLoggerAt> => capturingLoggerAt('debug', 'routing-test')
export const catalogue = loadCatalogue(defaultCatalogueFile)
export const calendar = createBusinessCalendar(loadHolidayData())

/** Lets pending timers and I/O callbacks run a few rounds: gives a wrong implementation the chance to misbehave. */
export async function settle(rounds = 50): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve))
}

/** The fixed clock of routing in tests. */
export const NOW = new Date('2026-11-20T13:05:00.000Z')

/** Publishes every case event of the store to the case-events topic, in global order: a minimal event relay. */
export function relayCaseEvents(t: Test, store: EventStore, bus: Bus): void {
  const subscription = store.subscribeToAll({ streamPrefix: 'case-' }, (recorded) => bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)]))
  t.teardown(() => subscription.close())
}

/** A fresh memory store and bus; every case event stored is relayed; dead letters and case events are recorded. */
export async function environment(t: Test): Promise<{
  store: EventStore
  bus: MemoryBus
  /** Consumer groups read the bus (as in distributed mode); the duplicate index reads the store. */
  feed: CaseFeed
  deadLetters: BusMessage[]
  /** Every case event stored, decoded, in global order. */
  events: Array<{ readonly streamId: string; readonly position: number; readonly event: CaseEvent }>
}> {
  const store = createMemoryEventStore()
  const bus = createMemoryBus()
  const feed = createCaseFeed({ store, bus, logger: silentLogger, groups: { kind: 'bus' } })
  const deadLetters: BusMessage[] = []
  const events: Array<{ streamId: string; position: number; event: CaseEvent }> = []
  await bus.subscribe({ topic: TOPICS.deadLetter, groupId: `test-dl-${randomUUID()}`, fromBeginning: true, handler: async (m) => void deadLetters.push(m) })
  const recording = store.subscribeToAll({ streamPrefix: 'case-' }, (r) => void events.push({ streamId: r.streamId, position: r.position, event: decodeCaseEvent(r) }))
  relayCaseEvents(t, store, bus)
  // Teardowns run in order: the relay's subscription first (registered above), then these.
  t.teardown(async () => {
    await recording.close()
    await feed.close()
    await bus.close()
    await store.close()
  })
  return { store, bus, feed, deadLetters, events }
}

/** Stores a citizen request as intake does; returns the CaseSubmitted data and its global position. */
export async function submitCase(
  store: EventStore,
  body: Partial<SubmissionBody> & Pick<SubmissionBody, 'description'>,
  receivedAt = '2026-11-20T13:00:00.000Z',
): Promise<{ readonly submission: Submission; readonly eventId: string; readonly correlationId: string; readonly position: number }> {
  const trackingCode = trackingCodeFromBytes(randomBytes(8))
  const caseId = caseIdForTrackingCode(trackingCode)
  const eventId = randomUUID()
  const correlationId = `req-${randomUUID()}`
  const submission: Submission = { caseId, trackingCode, channel: 'web', kind: 'complaint', ...body, receivedAt }
  const events = decide(
    { type: 'SubmitCase', meta: { eventId, occurredAt: receivedAt, actor: { kind: 'channel', id: 'test' }, correlationId, causationId: null }, data: submission },
    initialState(),
  )
  const { position } = await store.append(caseStreamId(caseId), events.map(encodeCaseEvent), { expectedRevision: 'no_stream' })
  return { submission, eventId, correlationId, position }
}

/** The decoded events of one case, from a recorded list. */
export function eventsOf(events: ReadonlyArray<{ readonly streamId: string; readonly event: CaseEvent }>, caseId: string): CaseEvent[] {
  return events.filter((e) => e.streamId === caseStreamId(caseId)).map((e) => e.event)
}
