import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand, type Submission } from '@civic-desk/case-domain'
import { caseEventMessage, caseStreamId, createCaseFeed, decodeCaseEvent, executeOnCase, type CaseFeed } from '@civic-desk/case-feed'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { TOPICS, createMemoryBus, type MemoryBus } from '@civic-desk/messaging'
import { waitFor } from '@civic-desk/messaging/testing'
import { createLogger, defaultCatalogueFile, loadCatalogue } from '@civic-desk/service-kit'
import { createMemoryOutbox, type Outbox } from './outbox.ts'
import { createOutboxProvider, createProviderRouter, createWebhookProvider } from './providers.ts'
import { startNotifier, maskAddress, type Notifier } from './notifier.ts'

const logger = createLogger({ level: 'silent', name: 'notification-test' })
const catalogue = loadCatalogue(defaultCatalogueFile)

interface Rig {
  store: EventStore
  bus: MemoryBus
  feed: CaseFeed
  outbox: Outbox
  notifier: Notifier
}

async function rig(t: Test, options: { webhookUrl?: string; groupId?: string } = {}): Promise<Rig> {
  const store = createMemoryEventStore()
  const bus = createMemoryBus()
  const outbox = createMemoryOutbox()
  const providers = options.webhookUrl === undefined ? [] : [createWebhookProvider({ url: options.webhookUrl, channels: ['sms'], timeoutMs: 2000 })]
  const router = createProviderRouter(providers, { fallback: createOutboxProvider(outbox) })
  // A minimal relay: every stored case event onto civic.case-events.v1, read through a case feed as in distributed mode.
  const relay = store.subscribeToAll({ streamPrefix: 'case-' }, (recorded) => bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)]))
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' } })
  const notifier = await startNotifier({ feed, store, catalogue, router, logger, maxAttempts: 3, backoffMs: 10, statusUrlBase: 'https://beyazmasa.example/takip/' })
  t.teardown(async () => {
    await notifier.stop()
    await relay.close()
    await feed.close()
    await bus.close()
    await router.close()
    await store.close()
  })
  return { store, bus, feed, outbox, notifier }
}

let n = 0
function newCase(citizen: Submission['citizen']): Submission {
  n++
  const trackingCode = trackingCodeFromBytes(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'))
  return {
    caseId: caseIdForTrackingCode(trackingCode),
    trackingCode,
    channel: 'call-center',
    kind: 'complaint',
    category: 'yol-cukur',
    description: `Sokağımızda çukur var (${n})`,
    ...(citizen === undefined ? {} : { citizen }),
    receivedAt: '2026-11-20T06:00:00.000Z',
  }
}

const meta = (actor = { kind: 'staff' as const, id: 'fen.ahmet' }) => ({ eventId: randomUUID(), occurredAt: new Date().toISOString(), actor, correlationId: 'test', causationId: null })

async function exec(store: EventStore, caseId: string, command: (m: ReturnType<typeof meta>) => CaseCommand): Promise<void> {
  await executeOnCase(store, caseId, () => command(meta()))
}

async function submitAndRoute(store: EventStore, s: Submission): Promise<void> {
  await exec(store, s.caseId, (m) => ({ type: 'SubmitCase', meta: m, data: s }))
  await exec(store, s.caseId, (m) => ({
    type: 'RouteCase',
    meta: m,
    data: {
      department: 'fen-isleri',
      category: 'yol-cukur',
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: s.receivedAt, deadline: { hours: 48 }, basis: 'category', dueAt: '2026-11-22T06:00:00.000Z' },
      legalDueAt: null,
    },
  }))
}

/** Polls an async read until `done` holds or 5 s pass; returns the last value read. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    value = await read()
  }
  return value
}

async function caseEvents(store: EventStore, caseId: string) {
  return (await store.readStream(caseStreamId(caseId))).map(decodeCaseEvent)
}

t.test('acknowledgement, info request and resolution: one message each, recorded on the case', async (t) => {
  const { store, outbox } = await rig(t)
  const s = newCase({ name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'sms' })
  await submitAndRoute(store, s)
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 1, 5000, 'acknowledgement')
  await exec(store, s.caseId, (m) => ({ type: 'AcceptCase', meta: m, data: { assignee: 'fen.ahmet' } }))
  await exec(store, s.caseId, (m) => ({ type: 'RequestInfo', meta: m, data: { question: 'Çukurun yanında hangi bina var?' } }))
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 2, 5000, 'info request')
  await exec(store, s.caseId, (m) => ({ type: 'RecordCitizenReply', meta: m, data: { text: 'Eczane', channel: 'call-center' } }))
  await exec(store, s.caseId, (m) => ({ type: 'ResolveCase', meta: m, data: { resolution: 'Çukur asfaltla kapatıldı.' } }))
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 3, 5000, 'resolution')
  const entries = outbox.list({ caseId: s.caseId })
  t.same(entries.map((e) => [e.template, e.channel, e.to]), [
    ['acknowledgement', 'sms', '+90 532 111 22 33'],
    ['info-requested', 'sms', '+90 532 111 22 33'],
    ['resolved', 'sms', '+90 532 111 22 33'],
  ])
  t.match(entries[0]?.text, s.trackingCode)
  t.match(entries[0]?.text, /Fen İşleri/)
  t.match(entries[1]?.text, /hangi bina/)
  t.match(entries[2]?.text, /asfaltla kapatıldı/)
  const notified = await eventually(async () => (await caseEvents(store, s.caseId)).filter((e) => e.type === 'CitizenNotified'), (list) => list.length >= 3)
  t.equal(notified.length, 3, 'three CitizenNotified on the case')
  for (const e of notified) {
    if (e.type !== 'CitizenNotified') continue
    t.equal(e.data.to, maskAddress('+90 532 111 22 33', 'sms'))
    t.notMatch(e.data.to, /111 22/, 'the case record holds a masked address')
    t.equal(e.data.provider, 'outbox')
  }
})

t.test('redelivery and a restarted consumer send nothing twice', async (t) => {
  const { store, bus, feed, outbox } = await rig(t)
  const s = newCase({ email: 'ayse@example.com', preferredChannel: 'email' })
  await submitAndRoute(store, s)
  await waitFor(() => outbox.list({ caseId: s.caseId }).length === 1, 5000, 'acknowledgement')
  // Redeliver the routing event itself, as Kafka may after a rebalance.
  const records = await store.readStream(caseStreamId(s.caseId))
  const routed = records.find((r) => r.type === 'CaseRouted')
  if (routed === undefined) throw new Error('not routed')
  await bus.publish(TOPICS.caseEvents, [caseEventMessage(routed)])
  // A second notifier in a new group (a restart that lost its offsets) replays everything.
  const router = createProviderRouter([], { fallback: createOutboxProvider(outbox) })
  const second = await startNotifier({ store, feed, catalogue, router, logger, groupId: `replay-${randomUUID()}` })
  t.teardown(() => second.stop())
  await waitFor(() => second.status().skipped >= 2, 5000, 'the replaying notifier to see the case')
  t.equal(outbox.list({ caseId: s.caseId }).length, 1, 'still one message')
  const notified = (await caseEvents(store, s.caseId)).filter((e) => e.type === 'CitizenNotified')
  t.equal(notified.length, 1)
  t.equal(outbox.list({ caseId: s.caseId })[0]?.channel, 'email')
})

t.test('anonymous cases and preferredChannel none get no message', async (t) => {
  const { store, outbox, notifier } = await rig(t)
  const anonymous = newCase(undefined)
  const none = newCase({ name: 'Ali', phone: '+90 555 000 00 00', preferredChannel: 'none' })
  const withPhone = newCase({ phone: '+90 555 000 00 01' })
  await submitAndRoute(store, anonymous)
  await submitAndRoute(store, none)
  await submitAndRoute(store, withPhone)
  await waitFor(() => outbox.list({ caseId: withPhone.caseId }).length === 1, 5000, 'the contactable citizen')
  await waitFor(() => notifier.status().skipped >= 2, 5000, 'the two others to be skipped')
  t.equal(outbox.list({ caseId: anonymous.caseId }).length, 0)
  t.equal(outbox.list({ caseId: none.caseId }).length, 0)
  t.equal(outbox.list({ caseId: withPhone.caseId })[0]?.channel, 'sms', 'no preference: phone → SMS')
})

t.test('a recorded phone number that is not a real number never gets an SMS queued', async (t) => {
  const { store, outbox, notifier } = await rig(t)
  // Cases recorded before intake checked numbers: what was typed is on the case as it was.
  const dashes = newCase({ name: 'Ali', phone: '-------', preferredChannel: 'sms' })
  const brackets = newCase({ phone: '+(((((((', email: 'ayşe@örnek.com.tr', preferredChannel: 'sms' })
  const real = newCase({ phone: '0532 123 45 67' })
  for (const s of [dashes, brackets, real]) await submitAndRoute(store, s)
  await waitFor(() => outbox.list({ caseId: real.caseId }).length === 1 && outbox.list({ caseId: brackets.caseId }).length === 1, 5000, 'the reachable citizens')
  await waitFor(() => notifier.status().skipped >= 1, 5000, 'the unreachable one to be skipped')
  t.equal(outbox.list({ caseId: dashes.caseId }).length, 0, 'no SMS to "-------"')
  t.same(outbox.list({ caseId: brackets.caseId }).map((e) => [e.channel, e.to]), [['email', 'ayşe@örnek.com.tr']], 'an unusable number falls back to the e-mail address')
  t.same(outbox.list({ caseId: real.caseId }).map((e) => [e.channel, e.to]), [['sms', '0532 123 45 67']])
  t.notOk(outbox.list({ limit: 1000 }).some((e) => e.channel === 'sms' && /^[^0-9]*$/.test(e.to)), 'no SMS to a text without digits')
})

t.test('a duplicate notice tells the citizen their request was joined, never the other citizen\'s code', async (t) => {
  const { store, outbox } = await rig(t)
  const earlier = newCase({ name: 'Mehmet Kaya', phone: '+90 532 222 33 44' })
  const later = newCase({ name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', email: 'ayse@example.com' })
  await submitAndRoute(store, earlier)
  await exec(store, later.caseId, (m) => ({ type: 'SubmitCase', meta: m, data: later }))
  await exec(store, later.caseId, (m) => ({
    type: 'MarkDuplicate',
    meta: m,
    data: {
      department: 'fen-isleri',
      category: 'yol-cukur',
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: later.receivedAt, deadline: { hours: 48 }, basis: 'category', dueAt: '2026-11-22T06:00:00.000Z' },
      legalDueAt: null,
      duplicateOf: earlier.caseId,
      duplicateOfTrackingCode: earlier.trackingCode,
      match: 'location',
      distanceMeters: 4,
      similarity: null,
    },
  }))
  await waitFor(() => outbox.list({ caseId: later.caseId }).length === 1, 5000, 'the duplicate notice')
  const notice = outbox.list({ caseId: later.caseId })[0]
  t.equal(notice?.template, 'duplicate-linked')
  t.match(notice?.text, /önceki bir başvuruyla birleştirilmiştir/)
  t.match(notice?.text, later.trackingCode, 'names the citizen\'s own code')
  t.notOk(notice?.text.includes(earlier.trackingCode), 'the other citizen\'s code is not in the text')
  t.notOk(notice?.subject.includes(earlier.trackingCode), 'nor in the subject')
})

t.test('a failing gateway is retried, then NotificationFailed is recorded once', async (t) => {
  let calls = 0
  const keys: string[] = []
  const server = createServer((req: IncomingMessage, res) => {
    calls++
    keys.push(String(req.headers['idempotency-key']))
    req.resume()
    req.on('end', () => {
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end('{"error":"gateway down"}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`
  const { store, notifier } = await rig(t, { webhookUrl: url })
  const s = newCase({ phone: '+90 532 000 11 22', preferredChannel: 'sms' })
  await submitAndRoute(store, s)
  await waitFor(() => notifier.status().failed === 1, 5000, 'NotificationFailed')
  t.equal(calls, 3, 'three attempts')
  t.equal(new Set(keys).size, 1, 'the same idempotency key on every attempt')
  const failed = (await caseEvents(store, s.caseId)).filter((e) => e.type === 'NotificationFailed')
  t.equal(failed.length, 1)
  if (failed[0]?.type === 'NotificationFailed') {
    t.equal(failed[0].data.attempts, 3)
    t.equal(failed[0].data.provider, 'webhook')
  }
})
