// KVKK in the distributed stack over a real Kafka broker: a request with distinctive personal data
// goes in through intake, is routed by the words of its description, acknowledged, worked,
// answered and erased; then every message of civic.case-events.v1, civic.dead-letter.v1 and
// civic.assignments.v1 is read from the beginning, byte by byte: the case events carry the
// personal fields only as `pd1.` values and the person is found in no key, value or header. The
// assignment messages (format 2) carry none of it: a directorate's system reads the description
// and address at the message's `details` path with its token, and after the erasure reads there
// "kişisel veri silindi".
//
// Runs when KAFKA_BROKERS is set or CIVIC_REQUIRE_KAFKA=1 (CI), like distributed.e2e.test.ts: the
// broker of that setting only proves Kafka is wanted; the test starts its own.
import { join } from 'node:path'
import { readFileSync, readdirSync } from 'node:fs'
import t from 'tap'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { AssignmentMessage } from '@civic-desk/department-workflow'
import { TOPICS } from '@civic-desk/messaging'
import { kafkaTestBrokers, readTopicsRaw, type RawTopicMessage } from '@civic-desk/messaging/testing'
import { exclusiveHeavyTest } from '@civic-desk/service-kit/testing'
import { SERVICES, createTestStack, eventually, getJson, postJson, startTestBroker, type TestBroker, type TestStack } from './stack.ts'

const NAME = 'Nurhayat Çevikbilek-Sözeri'
const PHONE = '0533 764 19 82'
const EMAIL = 'nurhayat.cevikbilek@ornek-eposta.com.tr'
const TEXTS = {
  description: 'Karabiberli Sokağı’nda oğlum Alparslan’ın okul yolunda derin bir çukur var, dün bisikletten düştü (NCS-ACIKLAMA-5087).',
  address: 'Karabiberli Sk. No:19/Ğ (NCS-ADRES-6624)',
  note: 'Vatandaşın eşi Muammer Bey aradı (NCS-NOT-1172).',
  question: 'Çukur okul kapısına ne kadar uzak? (NCS-SORU-3398)',
  reply: 'Okulun arka kapısının tam karşısı (NCS-YANIT-4419).',
  resolution: 'Karabiberli Sokağı 19 önündeki çukur kapatıldı (NCS-COZUM-7763).',
}
const LAT = 38.4391846
const LON = 27.1527391
const NEEDLES = [
  NAME,
  'Çevikbilek',
  'Cevikbilek',
  PHONE,
  '+905337641982',
  '5337641982',
  '764 19 82',
  EMAIL,
  String(LAT),
  String(LON),
  ...Object.values(TEXTS),
  ...Object.values(TEXTS).map((text) => /NCS-[A-Z]+-\d+/.exec(text)?.[0] as string),
  'Karabiberli',
  'Alparslan',
  'Muammer',
]

/** Needles in some bytes: UTF-8 (also NFD), UTF-16LE and JSON's \u escapes. */
function found(bytes: Buffer | null): string[] {
  if (bytes === null) return []
  return NEEDLES.filter((needle) => {
    const escaped = JSON.stringify(needle).slice(1, -1).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    return [needle, needle.normalize('NFD'), escaped].some((p) => bytes.includes(Buffer.from(p, 'utf8'))) || bytes.includes(Buffer.from(needle, 'utf16le'))
  })
}

const hitsOf = (messages: readonly RawTopicMessage[]): string[] =>
  messages.flatMap((m) => [...found(m.key), ...found(m.value), ...m.headers.flatMap(([name, v]) => [...found(Buffer.from(name)), ...found(v)])].map((n) => `${m.topic}/${m.partition}@${m.offset}: ${n}`))

// Five service processes and a broker of its own.
const RUN_MS = 10 * 60_000
t.setTimeout(RUN_MS)
const wanted = await kafkaTestBrokers(t)
if (wanted !== undefined) {
  let broker: TestBroker | undefined
  let stack: TestStack | undefined
  t.teardown(async () => {
    await stack?.cleanup()
    broker?.destroy()
  })

  t.test('distributed: the topics never carry the person in clear; routing still read the description', async (t) => {
    const started = Date.now()
    // One stack of processes with its broker at a time on this machine (see exclusiveHeavyTest).
    await exclusiveHeavyTest(t, 'privacy.e2e', RUN_MS)
    broker = await startTestBroker()
    stack = await createTestStack({ brokers: broker.brokers, services: SERVICES, env: { CIVIC_SLA_TICK_MS: '500' } })
    const s = stack
    await s.startAll()
    t.comment(`broker and five services up in ${Date.now() - started} ms`)
    t.afterEach(async (t) => {
      if (!t.passing()) t.comment(s.logs().slice(-20_000))
    })
    const store = openSqliteEventStore({ file: join(s.dataDir, 'events.sqlite'), pollIntervalMs: 50 })
    t.teardown(() => store.close())

    const submitted = await postJson(s.url('intake', '/v1/requests'), 'dev-channel', {
      channel: 'call-center',
      externalId: `alo153-${Date.now()}`,
      kind: 'complaint',
      description: TEXTS.description,
      location: { neighbourhood: 'Kazımdirik', address: TEXTS.address, lat: LAT, lon: LON },
      citizen: { name: NAME, phone: PHONE, email: EMAIL, preferredChannel: 'sms' },
    })
    t.equal(submitted.status, 201, 'submitted through intake')
    const { caseId, trackingCode } = submitted.body as { caseId: string; trackingCode: string }
    const stream = `case-${caseId}`
    const eventsOf = async () => (await store.readAll({ streamPrefix: 'case-' })).filter((e) => e.streamId === stream)
    await eventually(eventsOf, (es) => es.some((e) => e.type === 'CitizenNotified'), 'routed and acknowledged', 60_000)
    const routed = (await eventsOf()).find((e) => e.type === 'CaseRouted')?.data as { department: string; routedBy: string; matchedKeywords: string[] }
    t.equal(routed.department, 'fen-isleri')
    t.equal(routed.routedBy, 'keywords', 'routing read the (opened) description')
    t.ok(routed.matchedKeywords.includes('çukur'), `matched ${routed.matchedKeywords.join(', ')}`)

    const workflow = (path: string) => s.url('department-workflow', path)
    const staff = 'dev-staff-fen-isleri'
    await eventually(() => getJson<{ status: string }>(workflow(`/v1/cases/${caseId}`), staff).catch(() => ({ status: 'unknown' })), (c) => c.status === 'routed', 'the workflow sees the case', 30_000)
    for (const [command, body] of [
      ['accept', {}],
      ['note', { text: TEXTS.note }],
      ['request-info', { question: TEXTS.question }],
      ['citizen-reply', { text: TEXTS.reply, channel: 'call-center' }],
      ['resolve', { resolution: TEXTS.resolution }],
    ] as const) {
      t.equal((await postJson(workflow(`/v1/cases/${caseId}/${command}`), staff, body)).status, 200, command)
    }
    const outbox = () => getJson<{ entries: { template: string; to: string }[] }>(s.url('notification', `/v1/notifications/outbox?caseId=${caseId}`), 'dev-operator')
    await eventually(outbox, (o) => o.entries.length >= 3, 'acknowledgement, info request and resolution sent', 60_000)
    // What the directorate's system got: the case's `details` path, where its token reads the request.
    const brokers = broker.brokers
    const assignmentsOfCase = async (): Promise<AssignmentMessage[]> =>
      (await readTopicsRaw({ brokers, topics: [TOPICS.assignments] }))
        .map((m) => AssignmentMessage.parse(JSON.parse(m.value?.toString('utf8') ?? 'null')))
        .filter((a) => a.caseId === caseId)
    const published = await eventually(assignmentsOfCase, (list) => list.some((a) => a.type === 'CaseResolved'), `CaseAssigned and CaseResolved on ${TOPICS.assignments}`, 60_000)
    const assignedMessage = published.find((a) => a.type === 'CaseAssigned')
    t.match(assignedMessage, { v: 2, department: 'fen-isleri', neighbourhood: 'Kazımdirik', details: `/v1/cases/${caseId}` }, 'CaseAssigned: the neighbourhood and the details path')
    type Details = { submission: { description: string; location?: { address?: string; lat?: number } }; resolution: string | null }
    const held = await getJson<Details>(workflow(assignedMessage?.details ?? '/v1/cases/none'), staff)
    t.equal(held.submission.description, TEXTS.description, 'the directorate reads the description at `details` with its token')
    t.equal(held.submission.location?.address, TEXTS.address, '… and the address')
    t.equal(held.resolution, TEXTS.resolution, '… and the resolution')
    // The KVKK application and the erasure, through the department-workflow service.
    const application = await postJson(s.url('intake', '/v1/requests'), 'dev-channel', { channel: 'petition', kind: 'request', category: 'kvkk-basvurusu', description: 'KVKK m.11 uyarınca verilerimin silinmesini istiyorum.' })
    t.equal(application.status, 201)
    const erased = await postJson(workflow('/v1/privacy/erasures'), 'dev-privacy', { phone: PHONE, requestReference: application.body.trackingCode, legalBasis: 'KVKK m.7, m.11/1-e' })
    t.equal(erased.status, 201, 'erased through the distributed department-workflow')
    await eventually(outbox, (o) => o.entries.every((e) => e.to === 'kişisel veri silindi'), 'the notification service forgot the messages', 60_000)
    await eventually(eventsOf, (es) => es.some((e) => e.type === 'PersonalDataErased'), 'PersonalDataErased in the log', 30_000)
    const view = await getJson<Record<string, unknown>>(workflow(`/v1/cases/${caseId}`), staff)
    t.same(found(Buffer.from(JSON.stringify(view))), [], 'the staff view holds nothing of the person')
    t.match(JSON.stringify(view), 'kişisel veri silindi')
    const erasedDetails = await getJson<Details>(workflow(assignedMessage?.details ?? '/v1/cases/none'), staff)
    t.equal(erasedDetails.submission.description, 'kişisel veri silindi', 'after the erasure `details` reads "kişisel veri silindi"')
    const head = await store.headPosition()
    t.comment(`flow done in ${Date.now() - started} ms; log head ${head}`)

    // Every case event relayed: the relay has published up to the head.
    await eventually(() => getJson<{ position: number; buffered: number }>(s.url('event-relay', '/v1/relay/status'), 'dev-operator'), (r) => r.buffered === 0 && r.position >= head, 'the relay at the head', 60_000)
    const caseTopic = await readTopicsRaw({ brokers: broker.brokers, topics: [TOPICS.caseEvents] })
    const mine = caseTopic.filter((m) => m.key?.toString() === caseId)
    t.ok(mine.length >= 10, `${mine.length} messages of the case on ${TOPICS.caseEvents} (${caseTopic.length} in all)`)
    t.same(hitsOf(caseTopic), [], `${TOPICS.caseEvents}: no key, value or header holds the person`)
    const envelopes = mine.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { event: { type: string; schemaVersion: number; data: Record<string, unknown> } }).event)
    const submittedEnvelope = envelopes.find((e) => e.type === 'CaseSubmitted')
    const data = submittedEnvelope?.data as { description: string; citizen: Record<string, string>; location: Record<string, string> }
    t.equal(submittedEnvelope?.schemaVersion, 2, 'schema version 2')
    for (const [field, value] of Object.entries({ description: data.description, 'citizen.name': data.citizen.name, 'citizen.phone': data.citizen.phone, 'citizen.email': data.citizen.email, 'location.address': data.location.address, 'location.point': data.location.point })) {
      t.match(value, /^pd1\./, `CaseSubmitted ${field} is sealed on the topic`)
    }
    t.equal(data.location.neighbourhood, 'Kazımdirik', 'the neighbourhood is clear')
    for (const [type, field] of [['CaseNoteAdded', 'text'], ['CitizenInfoRequested', 'question'], ['CitizenReplied', 'text'], ['CaseResolved', 'resolution'], ['CitizenNotified', 'to']] as const) {
      const e = envelopes.find((x) => x.type === type)
      t.match(e?.data[field], /^pd1\./, `${type}.${field} is sealed on the topic`)
    }
    t.ok(envelopes.some((e) => e.type === 'PersonalDataErased'), 'PersonalDataErased relayed')

    const deadLetters = await readTopicsRaw({ brokers: broker.brokers, topics: [TOPICS.deadLetter] })
    t.same(hitsOf(deadLetters), [], `${TOPICS.deadLetter} (${deadLetters.length} messages): nothing of the person`)

    // The assignment topic is for the directorates' own systems, and Kafka keeps it after the
    // erasure: format 2 carries the neighbourhood and the `details` path, never the request's text.
    const assignments = await readTopicsRaw({ brokers: broker.brokers, topics: [TOPICS.assignments] })
    const ofCase = assignments.filter((m) => m.value?.toString().includes(caseId))
    // (A redelivery would repeat a message with the same content: compare the kinds.)
    t.same(
      [...new Set(ofCase.map((m) => (JSON.parse(m.value?.toString('utf8') ?? 'null') as { type: string }).type))],
      ['CaseAssigned', 'CaseResolved'],
      `the case was published to ${TOPICS.assignments}: assigned, resolved`,
    )
    t.same(hitsOf(assignments), [], `${TOPICS.assignments} (${assignments.length} messages): no key, value or header holds the person`)

    // The shared data folder: the log, the bus and the checkpoints (not the key store).
    for (const name of readdirSync(s.dataDir)) {
      if (/^keys\.sqlite/.test(name) || name === 'master.key') continue
      const path = join(s.dataDir, name)
      let bytes: Buffer
      try {
        bytes = readFileSync(path)
      } catch {
        continue // a folder
      }
      t.same(found(bytes), [], `${name}: nothing of the person in clear`)
    }
    const printed = [...s.running.values()].map((p) => p.output()).join('\n')
    t.equal(s.running.size, SERVICES.length, 'every service still running (its whole output is searched)')
    t.same(found(Buffer.from(printed)), [], `no line any service printed holds the person (${printed.split('\n').length} lines)`)
    t.comment(`done in ${Date.now() - started} ms (trackingCode ${trackingCode})`)
  })
}
