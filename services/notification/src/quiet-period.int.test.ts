import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand, type Submission } from '@civic-desk/case-domain'
import { caseEventMessage, caseStreamId, createCaseFeed, decodeCaseEvent, executeOnCase } from '@civic-desk/case-feed'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { TOPICS, createMemoryBus } from '@civic-desk/messaging'
import { waitFor } from '@civic-desk/messaging/testing'
import { createLogger, defaultCatalogueFile, loadCatalogue } from '@civic-desk/service-kit'
import { notifierSettings, notificationConfig } from './config.ts'
import { contentHashOf, startNotifier, type Notifier } from './notifier.ts'
import { createMemoryOutbox, type Outbox } from './outbox.ts'
import { createOutboxProvider, createProviderRouter } from './providers.ts'

const logger = createLogger({ level: 'silent', name: 'notification-quiet-test' })
const catalogue = loadCatalogue(defaultCatalogueFile)

/** The notifier's clock: where the quiet period is measured. */
let clock = new Date('2026-11-20T08:00:00.000Z')

async function rig(t: Test, quietPeriodMs?: number): Promise<{ store: EventStore; outbox: Outbox; notifier: Notifier }> {
  const store = createMemoryEventStore()
  const bus = createMemoryBus()
  const outbox = createMemoryOutbox()
  const router = createProviderRouter([], { fallback: createOutboxProvider(outbox) })
  const relay = store.subscribeToAll({ streamPrefix: 'case-' }, (recorded) => bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)]))
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' } })
  const notifier = await startNotifier({ feed, store, catalogue, router, logger, backoffMs: 10, now: () => clock, ...(quietPeriodMs === undefined ? {} : { quietPeriodMs }) })
  t.teardown(async () => {
    await notifier.stop()
    await relay.close()
    await feed.close()
    await bus.close()
    await router.close()
    await store.close()
  })
  return { store, outbox, notifier }
}

function newCase(): Submission {
  const trackingCode = trackingCodeFromBytes(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'))
  return {
    caseId: caseIdForTrackingCode(trackingCode),
    trackingCode,
    channel: 'call-center',
    kind: 'complaint',
    category: 'konteyner',
    description: 'Konteynerler taştı',
    citizen: { name: 'Ali Demir', phone: '+90 533 222 33 44', preferredChannel: 'sms' },
    receivedAt: '2026-11-20T06:00:00.000Z',
  }
}

async function exec(store: EventStore, caseId: string, command: (meta: CaseCommand['meta']) => CaseCommand): Promise<void> {
  const meta = { eventId: randomUUID(), occurredAt: clock.toISOString(), actor: { kind: 'staff' as const, id: 'mehmet.temizlik' }, correlationId: 'test', causationId: null }
  await executeOnCase(store, caseId, () => command(meta))
}

const sla = () => ({ startedAt: clock.toISOString(), deadline: { hours: 24 }, basis: 'category' as const, dueAt: new Date(clock.getTime() + 24 * 3_600_000).toISOString() })

async function submitAndRoute(store: EventStore, s: Submission): Promise<void> {
  await exec(store, s.caseId, (meta) => ({ type: 'SubmitCase', meta, data: s }))
  await exec(store, s.caseId, (meta) => ({
    type: 'RouteCase',
    meta,
    data: { department: 'temizlik', category: 'konteyner', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, ...sla() }, legalDueAt: null },
  }))
}

const resolve = (store: EventStore, caseId: string, resolution: string) => exec(store, caseId, (meta) => ({ type: 'ResolveCase', meta, data: { resolution } }))
const reopen = (store: EventStore, caseId: string) => exec(store, caseId, (meta) => ({ type: 'ReopenCase', meta, data: { reason: 'Yine taştı', sla: sla() } }))
const templates = (outbox: Outbox, caseId: string) => outbox.list({ caseId }).map((e) => e.template)

t.test('the quiet period holds back an identical message and lets a different one through', async (t) => {
  clock = new Date('2026-11-20T08:00:00.000Z')
  const { store, outbox, notifier } = await rig(t) // default: 24 h
  const s = newCase()
  await submitAndRoute(store, s)
  await resolve(store, s.caseId, 'Konteyner boşaltıldı.')
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 2, 5000, 'acknowledgement and resolution')

  clock = new Date('2026-11-20T10:00:00.000Z')
  await reopen(store, s.caseId)
  await resolve(store, s.caseId, 'Konteyner boşaltıldı.')
  await waitFor(() => notifier.status().skipped === 1, 5000, 'the same resolution held back')
  t.same(templates(outbox, s.caseId), ['acknowledgement', 'resolved'], 'the same "resolved" message is not sent twice within the quiet period')

  await reopen(store, s.caseId)
  await resolve(store, s.caseId, 'Konteyner yıkandı ve yerine yenisi kondu.')
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 3, 5000, 'the different resolution')
  const last = outbox.list({ caseId: s.caseId }).at(-1)
  t.equal(last?.template, 'resolved')
  t.match(last?.text, /yenisi kondu/)

  // Recorded with the hash of what was sent: what the next comparison reads.
  const notified = (await store.readStream(caseStreamId(s.caseId))).map(decodeCaseEvent).filter((e) => e.type === 'CitizenNotified')
  t.same(
    notified.map((e) => (e.type === 'CitizenNotified' ? e.data.contentHash : undefined)),
    outbox.list({ caseId: s.caseId }).map((e) => contentHashOf(e)),
  )

  // Once the quiet period is over, the same message may go out again.
  clock = new Date('2026-11-21T11:00:00.000Z')
  await reopen(store, s.caseId)
  await resolve(store, s.caseId, 'Konteyner boşaltıldı.')
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 4, 5000, 'the old message after the quiet period')
  t.equal(notifier.status().skipped, 1)
})

t.test('a quiet period of 0 turns the check off; the setting comes from CIVIC_NOTIFY_QUIET_MINUTES', async (t) => {
  t.equal(notifierSettings(notificationConfig.parse({})).quietPeriodMs, 24 * 3_600_000)
  const settings = notifierSettings(notificationConfig.parse({ CIVIC_NOTIFY_QUIET_MINUTES: '0' }))
  t.equal(settings.quietPeriodMs, 0)
  clock = new Date('2026-11-20T08:00:00.000Z')
  const { store, outbox, notifier } = await rig(t, settings.quietPeriodMs)
  const s = newCase()
  await submitAndRoute(store, s)
  await resolve(store, s.caseId, 'Konteyner boşaltıldı.')
  await reopen(store, s.caseId)
  await resolve(store, s.caseId, 'Konteyner boşaltıldı.')
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 3, 5000, 'every message')
  t.same(templates(outbox, s.caseId), ['acknowledgement', 'resolved', 'resolved'])
  t.equal(notifier.status().skipped, 0)
})

t.test('an unlinked duplicate gets the acknowledgement it never received', async (t) => {
  clock = new Date('2026-11-20T08:00:00.000Z')
  const { store, outbox } = await rig(t)
  const s = newCase()
  const original = { caseId: randomUUID(), trackingCode: 'H9WE-3NDL-5VB' }
  await exec(store, s.caseId, (meta) => ({ type: 'SubmitCase', meta, data: s }))
  await exec(store, s.caseId, (meta) => ({
    type: 'MarkDuplicate',
    meta,
    data: {
      department: 'temizlik',
      category: 'konteyner',
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, ...sla() },
      legalDueAt: null,
      duplicateOf: original.caseId,
      duplicateOfTrackingCode: original.trackingCode,
      match: 'location',
      distanceMeters: 30,
      similarity: 0.5,
    },
  }))
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 1, 5000, 'duplicate-linked')
  clock = new Date('2026-11-20T09:00:00.000Z')
  await exec(store, s.caseId, (meta) => ({ type: 'UnlinkDuplicate', meta, data: { reason: 'Başka konteyner', sla: sla() } }))
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 2, 5000, 'acknowledgement')
  t.same(templates(outbox, s.caseId), ['duplicate-linked', 'acknowledgement'])
  t.match(outbox.list({ caseId: s.caseId })[1]?.text, /Temizlik İşleri/)
})
