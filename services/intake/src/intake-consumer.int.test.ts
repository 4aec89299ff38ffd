import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { caseStreamId, decodeCaseEvent } from '@civic-desk/case-feed'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, TOPICS, openSqliteBus, type BusMessage, type SqliteBus } from '@civic-desk/messaging'
import { waitFor } from '@civic-desk/messaging/testing'
import { createAccessControl, createLogger, defaultCatalogueFile, devAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { buildIntakeApp } from './app.ts'
import { IntakeRejection, startIntakeConsumer, type IntakeConsumer, type IntakeConsumerOptions } from './intake-consumer.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)
const logger = createLogger({ level: 'silent', name: 'intake-consumer-test' })
const trackingKey = Buffer.alloc(32, 7)
const NOW = new Date('2026-11-20T09:15:00.000Z')

/** A WhatsApp adapter's message: the HTTP body, with channel and externalId required. */
const pothole = {
  channel: 'whatsapp',
  externalId: 'wamid.HBgMOTA1MzIxMTEyMjMzFQIAEhgg',
  kind: 'complaint',
  category: 'yol-cukur',
  description: "Kazımdirik Mahallesi 128 Sokak'ta çukur var, akşamları araçlar içine düşüyor.",
  location: { neighbourhood: 'Kazımdirik', address: '128 Sk. No:7, Bornova', lat: 38.4655, lon: 27.2201 },
  citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', preferredChannel: 'whatsapp' },
}
const keyOf = (body: { channel: string; externalId: string }): string => `${body.channel}:${body.externalId}`

/** Wraps a store: `append` throws the first `failures` times, before (`lost: false`) or after (`lost: true`) writing. */
function flakyStore(store: EventStore, failures: number, lost = false): EventStore {
  let calls = 0
  return {
    async append(streamId, events, options) {
      calls++
      if (calls > failures) return store.append(streamId, events, options)
      if (lost) await store.append(streamId, events, options)
      throw new Error(lost ? 'connection reset after the write (the answer was lost)' : 'SQLITE_IOERR: disk I/O error')
    },
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options, handler) => store.subscribeToAll(options, handler),
    headPosition: () => store.headPosition(),
    close: () => store.close(),
  }
}

interface Env {
  readonly bus: SqliteBus
  readonly store: EventStore
  readonly consumer: IntakeConsumer
  readonly rejections: BusMessage[]
  readonly deadLetters: BusMessage[]
  /** Stops the consumer (its in-flight message is committed), then counts what the topic holds. */
  messagesOn(topic: string): Promise<number>
  /** Every CaseSubmitted in the store. */
  cases(): Promise<ReturnType<typeof decodeCaseEvent>[]>
  start(overrides?: Partial<IntakeConsumerOptions>): Promise<IntakeConsumer>
}

/** A fresh sqlite bus and sqlite event store in a temp folder; the consumer starts unless `start: false`. */
async function setup(t: Test, options: { start?: boolean; store?: (store: EventStore) => EventStore } = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-intake-consumer-'))
  const bus = openSqliteBus({ file: join(dir, 'bus.sqlite'), partitions: 6, pollIntervalMs: 20 })
  const realStore = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const store = options.store?.(realStore) ?? realStore
  const consumers: IntakeConsumer[] = []
  t.teardown(async () => {
    for (const c of consumers) await c.stop()
    await bus.close()
    await realStore.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const rejections: BusMessage[] = []
  const deadLetters: BusMessage[] = []
  await bus.subscribe({ topic: TOPICS.intakeRejected, groupId: 'test-rejections', fromBeginning: true, handler: async (m) => void rejections.push(m) })
  await bus.subscribe({ topic: TOPICS.deadLetter, groupId: 'test-dead-letters', fromBeginning: true, handler: async (m) => void deadLetters.push(m) })
  const start = async (overrides: Partial<IntakeConsumerOptions> = {}): Promise<IntakeConsumer> => {
    const consumer = await startIntakeConsumer({ bus, store, catalogue, logger, trackingKey, now: () => NOW, retryBackoffMs: 1, ...overrides })
    consumers.push(consumer)
    return consumer
  }
  const consumer = options.start === false ? (undefined as unknown as IntakeConsumer) : await start()
  return {
    bus,
    store: realStore,
    consumer,
    rejections,
    deadLetters,
    start,
    async messagesOn(topic) {
      for (const c of consumers) await c.stop()
      return Object.values(await bus.endOffsets(topic)).reduce((sum, offset) => sum + Number(offset), 0)
    },
    async cases() {
      return (await realStore.readAll({ streamPrefix: 'case-' })).map(decodeCaseEvent)
    },
  }
}

t.test('a valid message becomes a case, recorded like an HTTP submission', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole, headers: { 'correlation-id': 'wa-webhook-7f3a', 'adapter-id': 'whatsapp-adapter' } }])
  await waitFor(() => env.consumer.status().created === 1, 10_000, 'the case')

  const cases = await env.cases()
  t.equal(cases.length, 1)
  const submitted = cases[0]
  if (submitted?.type !== 'CaseSubmitted') throw new Error('expected a CaseSubmitted')
  const { receivedAt: _receivedAt, caseId, trackingCode, ...request } = submitted.data
  t.same(request, { ...pothole, citizen: { ...pothole.citizen, phone: '+905321112233' } }, 'the request as sent, the phone in E.164 as on the HTTP path')
  t.equal(submitted.data.receivedAt, NOW.toISOString())
  t.match(submitted, { actor: { kind: 'channel', id: 'whatsapp-adapter' }, correlationId: 'wa-webhook-7f3a', causationId: null })
  t.equal((await env.store.readStream(caseStreamId(caseId))).length, 1, 'in its own stream')
  t.match(trackingCode, /^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3}$/)
  t.match(env.consumer.status(), { running: true, received: 1, created: 1, duplicates: 0, rejected: 0, failures: 0 })
  t.equal(await env.messagesOn(TOPICS.intakeRejected), 0, 'nothing rejected')
})

t.test('without headers: the correlation id names the message, the actor the topic', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().created === 1, 10_000, 'the case')
  const [submitted] = await env.cases()
  t.match(submitted, { actor: { kind: 'channel', id: 'civic.intake.v1' }, correlationId: /^civic\.intake\.v1:\d:0$/ })

  // A header that is not a sane id is ignored rather than written into the event.
  await env.bus.publish(TOPICS.intake, [{ key: 'k', value: { ...pothole, externalId: 'wa-2' }, headers: { 'correlation-id': 'bad id with spaces', 'adapter-id': '' } }])
  await waitFor(() => env.consumer.status().created === 2, 10_000, 'the second case')
  t.match((await env.cases())[1], { actor: { id: 'civic.intake.v1' }, correlationId: /^civic\.intake\.v1:\d:\d+$/ })
})

t.test('messages published before intake first started are not lost', async (t) => {
  const env = await setup(t, { start: false })
  await env.bus.publish(TOPICS.intake, [
    { key: 'whatsapp:wa-1', value: { ...pothole, externalId: 'wa-1' } },
    { key: 'whatsapp:wa-2', value: { ...pothole, externalId: 'wa-2', description: 'Parkta bank kırık.' } },
  ])
  const consumer = await env.start()
  await waitFor(() => consumer.status().created === 2, 10_000, 'both cases')
  t.equal((await env.cases()).length, 2)
})

t.test('the same message handled twice (a second replica group, a redelivery) stores one case', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().created === 1, 10_000, 'the case')
  // Another group gets the very same message again, as after a crash before the commit.
  const again = await env.start({ groupId: 'intake-replay' })
  await waitFor(() => again.status().duplicates === 1, 10_000, 'the duplicate')
  t.equal((await env.cases()).length, 1)
  t.equal(await env.store.headPosition(), 1)
  t.equal(await env.messagesOn(TOPICS.intakeRejected), 0)
})

t.test('the store wrote the case but its answer was lost: the retry finds the case, nothing more is stored', async (t) => {
  const env = await setup(t, { store: (store) => flakyStore(store, 1, true) })
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().duplicates === 1, 10_000, 'the retried message')
  t.match(env.consumer.status(), { received: 2, created: 0, duplicates: 1, failures: 1, lastError: /answer was lost/ })
  t.equal((await env.cases()).length, 1)
})

t.test('the same channel + externalId published again is one case; HTTP and the topic share it', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().received === 2, 10_000, 'both messages')
  await waitFor(() => env.consumer.status().duplicates === 1, 10_000, 'the duplicate')
  t.match(env.consumer.status(), { created: 1, duplicates: 1, rejected: 0 })

  const app = await buildIntakeApp({
    store: env.store,
    catalogue,
    access: createAccessControl(devAccessConfig(catalogue.departments.map((d) => d.code))),
    logger,
    trackingKey,
    now: () => NOW,
  })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: pothole })
  t.equal(res.statusCode, 200, 'HTTP answers from the case the topic created')
  const [submitted] = await env.cases()
  t.equal(res.json().caseId, submitted?.type === 'CaseSubmitted' ? submitted.data.caseId : undefined)
  t.equal(await env.store.headPosition(), 1)
})

const { externalId: _externalId, ...withoutExternalId } = pothole
const { channel: _channel, ...withoutChannel } = pothole
const invalid: Array<{ name: string; value: unknown; code: string; path: string; key?: string; expectedKey?: string }> = [
  { name: 'missing externalId', value: withoutExternalId, code: 'validation_failed', path: 'externalId' },
  { name: 'blank externalId', value: { ...pothole, externalId: '  ' }, code: 'validation_failed', path: 'externalId' },
  { name: 'missing channel', value: withoutChannel, code: 'validation_failed', path: 'channel' },
  { name: 'unknown channel', value: { ...pothole, channel: 'güvercin' }, code: 'validation_failed', path: 'channel' },
  { name: 'unknown kind', value: { ...pothole, kind: 'praise' }, code: 'validation_failed', path: 'kind' },
  { name: 'empty description', value: { ...pothole, description: '' }, code: 'validation_failed', path: 'description' },
  { name: 'wrong type', value: { ...pothole, kind: 5 }, code: 'validation_failed', path: 'kind' },
  { name: 'wrong type of externalId', value: { ...pothole, externalId: 42 }, code: 'validation_failed', path: 'externalId' },
  { name: 'unknown field', value: { ...pothole, priority: 'acil' }, code: 'validation_failed', path: 'priority' },
  { name: 'bad lat', value: { ...pothole, location: { lat: 123, lon: 27 } }, code: 'validation_failed', path: 'location.lat' },
  { name: 'unknown category', value: { ...pothole, category: 'uzay-gemisi' }, code: 'validation_failed', path: 'category' },
  { name: 'submittedAt in the future', value: { ...pothole, submittedAt: '2026-11-21T09:15:00+03:00' }, code: 'validation_failed', path: 'submittedAt' },
  { name: 'phone that is not a number', value: { ...pothole, citizen: { phone: '-------', preferredChannel: 'sms' } }, code: 'validation_failed', path: 'citizen.phone' },
  { name: 'empty citizen', value: { ...pothole, citizen: {} }, code: 'validation_failed', path: 'citizen' },
  { name: 'description of zero-width spaces', value: { ...pothole, description: '\u200b\u200b' }, code: 'validation_failed', path: 'description' },
  { name: 'not an object', value: 'çukur var', code: 'validation_failed', path: 'body', key: '', expectedKey: '' },
  { name: 'empty key: the rejection is keyed by channel and externalId', value: { ...pothole, kind: 'praise' }, code: 'validation_failed', path: 'kind', key: '', expectedKey: keyOf(pothole) },
]

for (const bad of invalid) {
  t.test(`invalid message: ${bad.name} → one ${bad.code} rejection naming ${bad.path}, nothing stored`, async (t) => {
    const env = await setup(t)
    const key = bad.key ?? 'adapter-key-1'
    await env.bus.publish(TOPICS.intake, [{ key, value: bad.value, headers: { 'correlation-id': 'corr-1', 'x-adapter-trace': 'abc' } }])
    await waitFor(() => env.rejections.length === 1, 10_000, 'the rejection')
    const [message] = env.rejections
    const rejection = IntakeRejection.parse(message?.value)
    t.equal(rejection.reason.code, bad.code)
    t.equal(rejection.reason.title, 'Request validation failed', 'the HTTP problem title')
    t.ok(rejection.reason.errors.some((e) => e.path === bad.path), `names ${bad.path}: ${JSON.stringify(rejection.reason.errors)}`)
    t.match(rejection.reason.detail, /\S/)
    t.same(rejection.value, bad.value, 'carries the value as received')
    t.match(rejection.source, { topic: TOPICS.intake, key, offset: '0' })
    t.equal(rejection.rejectedAt, NOW.toISOString())
    t.equal(message?.key, bad.expectedKey ?? key)
    t.match(message?.headers, { 'correlation-id': 'corr-1', 'rejection-code': bad.code, 'x-adapter-trace': 'abc' })
    t.equal(await env.store.headPosition(), 0, 'the store holds no trace')
    t.match(env.consumer.status(), { received: 1, created: 0, rejected: 1, failures: 0 })
    t.equal(await env.messagesOn(TOPICS.intakeRejected), 1, 'exactly one rejection')
    t.equal(env.deadLetters.length, 0, 'not dead-lettered')
  })
}

t.test('a different request under a used externalId is rejected as a conflict', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: { ...pothole, description: 'Aynı mesaj kimliğiyle başka bir şikâyet.' } }])
  await waitFor(() => env.rejections.length === 1, 10_000, 'the rejection')
  const rejection = IntakeRejection.parse(env.rejections[0]?.value)
  t.match(rejection.reason, { code: 'conflict', title: 'Conflict', detail: /whatsapp with externalId 'wamid\.HBgMOTA1MzIxMTEyMjMzFQIAEhgg'.*tracking code/, errors: [{ path: 'externalId' }] })
  t.match(rejection.source, { offset: '1', key: keyOf(pothole) })
  t.equal(await env.store.headPosition(), 1, 'only the first request is stored')
  t.match(env.consumer.status(), { created: 1, rejected: 1 })
})

t.test('a value over the size limit is rejected without being copied', async (t) => {
  const env = await setup(t)
  const consumer = await env.start({ groupId: 'intake-small', maxValueBytes: 512 })
  await env.consumer.stop()
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: { ...pothole, citizen: { name: 'x'.repeat(600) } } }])
  await waitFor(() => env.rejections.length === 1, 10_000, 'the rejection')
  const rejection = IntakeRejection.parse(env.rejections[0]?.value)
  t.match(rejection.reason, { code: 'payload_too_large', title: 'Payload too large', detail: /at most 512/ })
  t.equal(rejection.value, null)
  t.equal(consumer.status().rejected, 1)
  t.equal(await env.store.headPosition(), 0)
})

t.test('a value that is not JSON is dead-lettered by the bus; intake keeps going', async (t) => {
  const env = await setup(t)
  await env.bus.publishRaw(TOPICS.intake, [{ key: 'whatsapp:wa-9', value: '{"channel": "whatsapp", "kind": ' }])
  await env.bus.publish(TOPICS.intake, [{ key: 'whatsapp:wa-9', value: pothole }])
  await waitFor(() => env.deadLetters.length === 1 && env.consumer.status().created === 1, 10_000, 'the dead letter and the next case')
  const record = DeadLetterRecord.parse(env.deadLetters[0]?.value)
  t.match(record, { error: { kind: 'invalid' }, source: { topic: TOPICS.intake, groupId: 'intake' }, rawValue: '{"channel": "whatsapp", "kind": ' })
  t.equal(await env.messagesOn(TOPICS.intakeRejected), 0)
  t.equal(await env.store.headPosition(), 1)
})

t.test('a failing store: the message is retried and stored once, nothing is rejected', async (t) => {
  const env = await setup(t, { store: (store) => flakyStore(store, 3) })
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().created === 1, 10_000, 'the stored case')
  t.match(env.consumer.status(), { received: 4, created: 1, duplicates: 0, rejected: 0, failures: 3, lastError: /disk I\/O error/ })
  t.equal((await env.cases()).length, 1)
  t.equal(env.deadLetters.length, 0)
  t.equal(await env.messagesOn(TOPICS.intakeRejected), 0)
})

t.test('stop leaves the group; a restart continues after the committed messages', async (t) => {
  const env = await setup(t)
  await env.bus.publish(TOPICS.intake, [{ key: keyOf(pothole), value: pothole }])
  await waitFor(() => env.consumer.status().created === 1, 10_000, 'the case')
  await env.consumer.stop()
  await env.consumer.stop()
  t.equal(env.consumer.status().running, false)
  await env.bus.publish(TOPICS.intake, [{ key: 'whatsapp:wa-2', value: { ...pothole, externalId: 'wa-2' } }])
  const restarted = await env.start()
  await waitFor(() => restarted.status().created === 1, 10_000, 'the new case')
  t.match(restarted.status(), { received: 1, duplicates: 0 }, 'the committed message is not handled again')
})
