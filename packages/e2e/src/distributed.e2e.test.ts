// The distributed stack for real: intake, event-relay, routing, department-workflow,
// notification and dashboard each as its own process, talking over a real Apache Kafka broker
// (started by infra/kafka's scripts for this file alone) and sharing the event store file. Checks
// the whole flow over HTTP and over civic.intake.v1, and the failures operators meet: the broker
// going away in the middle of a stream of submissions, services killed mid-batch, poison messages.
// After each failure the dashboard (read models in memory) must show what the store holds, every
// consumer group must catch up (lag 0 on its stream view) and its dead-letter count must match the
// dead-letter topic.
//
// Runs when KAFKA_BROKERS is set or CIVIC_REQUIRE_KAFKA=1 (CI): the broker of that setting is only
// used to prove Kafka is wanted; the test starts its own so it can stop it.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openSqliteEventStore, type RecordedEvent } from '@civic-desk/event-store'
import { caseIdOfStream } from '@civic-desk/case-feed'
import { openConfiguredPrivacy, sealingEventStore } from '@civic-desk/privacy'
import { AssignmentMessage } from '@civic-desk/department-workflow'
import { IntakeRejection } from '@civic-desk/intake'
import { DeadLetterRecord, TOPICS, createKafkaBus, type Bus, type BusMessage } from '@civic-desk/messaging'
import { createKafkaRawPublisher, kafkaTestBrokers } from '@civic-desk/messaging/testing'
import { exclusiveHeavyTest } from '@civic-desk/service-kit/testing'
import { STACK_SERVICES, createTestStack, eventually, getJson, postJson, startTestBroker, type TestBroker, type TestStack } from './stack.ts'

/** What `GET /v1/ops/streams` answers (the fields checked here). */
interface StreamsView {
  readonly head: number
  readonly consumers: ReadonlyArray<{ readonly name: string; readonly kind: string; readonly topic?: string; readonly lag: number }>
  readonly deadLetters: { readonly count: number }
}

/** What `GET /v1/dashboards/overview` answers (the fields checked here). */
interface OverviewView {
  readonly position: number
  readonly totals: { readonly total: number; readonly byStatus: Record<string, number>; readonly byDepartment: Record<string, number> }
}

/** The consumers every stream view must list once the stack has run: the relay and each Kafka group of the flow. */
const EXPECTED_CONSUMERS = ['event-relay', 'intake', 'routing', 'department-workflow-assignments', 'notification', 'dashboard'] as const

/** The services with Kafka consumers. */
const CONSUMER_SERVICES = ['intake', 'routing', 'department-workflow', 'notification', 'dashboard'] as const

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((total, n) => total + n, 0)

// Six service processes, a broker of its own and its restart: well beyond tap's default per-file limit.
const RUN_MS = 15 * 60_000
t.setTimeout(RUN_MS)
const wanted = await kafkaTestBrokers(t)
if (wanted !== undefined) {
  let broker: TestBroker | undefined
  let stack: TestStack | undefined
  let observer: Bus | undefined
  t.teardown(async () => {
    await observer?.close()
    await stack?.cleanup()
    broker?.destroy()
  })
  // One stack of processes with its broker at a time on this machine (see exclusiveHeavyTest).
  await exclusiveHeavyTest(t, 'distributed.e2e', RUN_MS)
  broker = await startTestBroker()
  // The dashboard keeps its read models in memory (the stack does not pass REDIS_URL on).
  stack = await createTestStack({ brokers: broker.brokers, services: STACK_SERVICES, env: { CIVIC_SLA_TICK_MS: '500' } })
  observer = createKafkaBus({ brokers: broker.brokers, clientId: 'e2e-observer' })
  const s = stack
  const b = broker

  // What an external department system and an operator would see on the topics.
  const assignments: BusMessage<AssignmentMessage>[] = []
  const rejections: BusMessage<IntakeRejection>[] = []
  const deadLetters: DeadLetterRecord[] = []
  await observer.subscribe({ topic: TOPICS.assignments, groupId: `e2e-assignments-${randomUUID()}`, fromBeginning: true, schema: AssignmentMessage, handler: async (m) => void assignments.push(m) })
  await observer.subscribe({ topic: TOPICS.intakeRejected, groupId: `e2e-rejected-${randomUUID()}`, fromBeginning: true, schema: IntakeRejection, handler: async (m) => void rejections.push(m) })
  await observer.subscribe({ topic: TOPICS.deadLetter, groupId: `e2e-dead-${randomUUID()}`, fromBeginning: true, schema: DeadLetterRecord, handler: async (m) => void deadLetters.push(m.value) })

  await s.startAll()
  // Registered before the tests: a failing one shows what the processes logged.
  t.afterEach(async (t) => {
    if (t.passing()) return
    // The processes that exited come first in the logs: keep their part as well as the end.
    const logs = s.logs()
    t.comment(logs.length <= 40_000 ? logs : `${logs.slice(0, 20_000)}\n[…]\n${logs.slice(-20_000)}`)
  })

  // The log as the services read it: personal fields (an adapter's externalId among them) opened
  // with the stack's key store, which the services made in the same data folder.
  const privacy = await openConfiguredPrivacy({}, { dataDir: s.dataDir })
  const store = sealingEventStore(openSqliteEventStore({ file: join(s.dataDir, 'events.sqlite'), pollIntervalMs: 50 }), privacy.keys, { caseIdOf: caseIdOfStream })
  t.teardown(async () => {
    await store.close()
    await privacy.close()
  })
  const caseEvents = async (): Promise<RecordedEvent[]> => store.readAll({ streamPrefix: 'case-' })
  /** Case ids the stack acknowledged (HTTP 201, or found in the store for a channel adapter's message). */
  const acknowledged = new Set<string>()

  const submit = (n: number, runId: string) =>
    postJson(s.url('intake', '/v1/requests'), 'dev-channel', {
      channel: 'call-center',
      externalId: `${runId}-${n}`,
      kind: 'complaint',
      category: 'yol-cukur',
      description: `${n}. Sokak’ta asfaltta derin bir çukur var (${runId}).`,
      // Far apart (≈ 1 km per step), so none is a duplicate of another.
      location: { neighbourhood: `Test ${runId} ${n}`, lat: 38.3 + n * 0.01, lon: 27.1 },
      citizen: { name: 'Deniz Yıldız', phone: '+90 532 111 22 33', preferredChannel: 'sms' },
    })

  /** Every acknowledged case routed exactly once and acknowledged exactly once; no message sent twice. */
  const checkGuarantees = async (t: Test, caseIds: readonly string[], what: string): Promise<void> => {
    const events = await eventually(
      caseEvents,
      (all) => caseIds.every((id) => all.some((e) => e.streamId === `case-${id}` && e.type === 'CitizenNotified')),
      `${what}: every case routed and acknowledged`,
      120_000,
    )
    let routedTwice = 0
    let notifiedTwice = 0
    for (const id of caseIds) {
      const mine = events.filter((e) => e.streamId === `case-${id}`)
      if (mine.filter((e) => e.type === 'CaseRouted' || e.type === 'CaseMarkedDuplicate').length !== 1) routedTwice++
      const notified = mine.filter((e) => e.type === 'CitizenNotified').map((e) => JSON.stringify([(e.data as { template: string }).template, (e.data as { channel: string }).channel]))
      if (new Set(notified).size !== notified.length) notifiedTwice++
    }
    t.equal(routedTwice, 0, `${what}: each of ${caseIds.length} cases routed exactly once`)
    t.equal(notifiedTwice, 0, `${what}: no citizen message recorded twice`)
    const outbox = await getJson<{ total: number }>(s.url('notification', '/v1/notifications/outbox?limit=1'), 'dev-operator')
    const recorded = events.filter((e) => e.type === 'CitizenNotified').length
    t.equal(outbox.total, recorded, `${what}: the outbox holds one message per CitizenNotified (${recorded})`)
  }

  const streams = (): Promise<StreamsView> => getJson<StreamsView>(s.url('dashboard', '/v1/ops/streams'), 'dev-operator')
  const overview = (): Promise<OverviewView> => getJson<OverviewView>(s.url('dashboard', '/v1/dashboards/overview'), 'dev-operator')

  /**
   * Every consumer on the dashboard's stream view caught up: each Kafka group of the flow on its
   * topics, the relay and the dashboard's projector (on the store's head) at lag 0.
   */
  const checkCaughtUp = async (t: Test, what: string, since = Date.now()): Promise<StreamsView> => {
    const view = await eventually(
      streams,
      (v) => EXPECTED_CONSUMERS.every((name) => v.consumers.some((c) => c.name === name)) && v.consumers.every((c) => c.lag === 0),
      `${what}: every consumer group at lag 0 on /v1/ops/streams`,
      60_000,
    )
    t.comment(`${what}: every consumer at lag 0 within ${Date.now() - since} ms`)
    t.same(
      EXPECTED_CONSUMERS.filter((name) => !view.consumers.some((c) => c.name === name)),
      [],
      `${what}: the stream view lists the relay and the groups of routing, workflow, notification, intake and dashboard`,
    )
    t.same(
      view.consumers.filter((c) => c.lag !== 0).map((c) => `${c.name} ${c.topic ?? ''}: ${c.lag}`),
      [],
      `${what}: no consumer behind`,
    )
    return view
  }

  /**
   * The dashboard's overview against the store, once it has caught up: one case per acknowledged
   * submission (a double count after a restart would show here), each in exactly one status, and
   * per directorate the cases routing put there.
   */
  const checkDashboard = async (t: Test, what: string, since?: number): Promise<void> => {
    await checkCaughtUp(t, what, since)
    const head = await store.headPosition()
    const view = await eventually(overview, (v) => v.position >= head, `${what}: the overview at the store's head ${head}`)
    const events = await caseEvents()
    const submitted = new Set(events.filter((e) => e.type === 'CaseSubmitted').map((e) => e.streamId))
    const departmentOf = new Map<string, string>()
    for (const e of events) {
      const data = e.data as { department?: string; toDepartment?: string }
      if ((e.type === 'CaseRouted' || e.type === 'CaseMarkedDuplicate') && data.department !== undefined) departmentOf.set(e.streamId, data.department)
      if (e.type === 'CaseTransferred' && data.toDepartment !== undefined) departmentOf.set(e.streamId, data.toDepartment)
    }
    const routed: Record<string, number> = {}
    for (const department of departmentOf.values()) routed[department] = (routed[department] ?? 0) + 1
    t.equal(view.totals.total, acknowledged.size, `${what}: the overview counts each of the ${acknowledged.size} acknowledged cases once`)
    t.equal(submitted.size, acknowledged.size, `${what}: the store holds exactly the acknowledged cases`)
    t.equal(sum(view.totals.byStatus), view.totals.total, `${what}: byStatus adds up to the total`)
    t.equal(view.totals.byStatus.submitted ?? 0, 0, `${what}: no case left unrouted`)
    t.same(view.totals.byDepartment, routed, `${what}: per directorate, the cases routing put there`)
    t.equal(sum(view.totals.byDepartment), acknowledged.size, `${what}: every case in a directorate`)
  }

  await t.test('the whole flow across processes: HTTP submit → routed → accepted → resolved → citizen told; assignments published', async (t) => {
    const res = await postJson(s.url('intake', '/v1/requests'), 'dev-channel', {
      channel: 'whatsapp',
      externalId: `wa-${randomUUID()}`,
      kind: 'complaint',
      description: 'Kazımdirik Mahallesi 128 Sokak’ta büyük bir ÇUKUR var, araçlar zarar görüyor.',
      location: { neighbourhood: 'Kazımdirik', lat: 38.4605, lon: 27.2105 },
      citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 000 00 01', preferredChannel: 'sms' },
    })
    t.equal(res.status, 201, JSON.stringify(res.body))
    const { caseId, trackingCode } = res.body as { caseId: string; trackingCode: string }
    acknowledged.add(caseId)
    const status = await eventually(
      () => getJson<{ status: string; department: { code: string } | null }>(s.url('intake', `/v1/requests/${trackingCode}`)),
      (v) => v.status === 'routed',
      'routed',
    )
    t.equal(status.department?.code, 'fen-isleri', 'ÇUKUR → public works, decided by the routing process')

    const staff = 'dev-staff-fen-isleri'
    await eventually(() => postJson(s.url('department-workflow', `/v1/cases/${caseId}/accept`), staff, {}), (r) => r.status === 200, 'accepted by roads staff')
    const resolved = await postJson(s.url('department-workflow', `/v1/cases/${caseId}/resolve`), staff, { resolution: 'Çukur asfaltla kapatıldı.' })
    t.equal(resolved.status, 200, JSON.stringify(resolved.body))

    const outbox = await eventually(
      () => getJson<{ entries: { template: string; channel: string }[] }>(s.url('notification', `/v1/notifications/outbox?caseId=${caseId}`), 'dev-operator'),
      (o) => o.entries.some((e) => e.template === 'resolved'),
      'the resolution message',
    )
    t.same(outbox.entries.map((e) => [e.template, e.channel]).sort(), [['acknowledgement', 'sms'], ['resolved', 'sms']], 'one acknowledgement, one resolution, by SMS')
    const assigned = await eventually(async () => assignments.filter((m) => m.value.caseId === caseId), (list) => list.length >= 1, 'the assignment on civic.assignments.v1')
    t.equal(assigned[0]?.key, 'fen-isleri', 'keyed by department')
    t.match(assigned[0]?.value, { v: 2, type: 'CaseAssigned', department: 'fen-isleri', trackingCode, neighbourhood: 'Kazımdirik', details: `/v1/cases/${caseId}` })
    const resolvedMessages = await eventually(async () => assignments.filter((m) => m.value.caseId === caseId && m.value.type === 'CaseResolved'), (list) => list.length >= 1, 'the case update on civic.assignments.v1')
    t.match(resolvedMessages[0], { key: 'fen-isleri', value: { v: 2, status: 'resolved', reasonCode: null, details: `/v1/cases/${caseId}` } })
    for (const message of assignments.filter((m) => m.value.caseId === caseId)) {
      const text = JSON.stringify(message.value) + JSON.stringify(message.headers)
      for (const personal of ['Ayşe', '532 000', 'ÇUKUR var', '38.4605', '27.2105', 'asfaltla kapatıldı']) t.notOk(text.includes(personal), `${message.value.type}: no ${personal} for department systems`)
    }
    // What the message leaves out, the directorate reads at `details` with its token.
    const details = await getJson<{ submission: { description: string }; resolution: string | null }>(s.url('department-workflow', assigned[0]?.value.details ?? '/v1/cases/none'), staff)
    t.match(details, { submission: { description: /ÇUKUR var/ }, resolution: 'Çukur asfaltla kapatıldı.' }, 'the description and resolution at `details`')
  })

  await t.test('channel adapters over civic.intake.v1: a valid message becomes a routed case, an invalid one a rejection and nothing stored', async (t) => {
    const raw = createKafkaRawPublisher({ brokers: b.brokers, clientId: 'e2e-whatsapp-adapter' })
    t.teardown(() => raw.close())
    const externalId = `wa-topic-${randomUUID()}`
    const body = {
      channel: 'whatsapp',
      externalId,
      kind: 'tip',
      description: 'Erzene Mahallesi Ege Sokak’ta yaralı bir köpek var, veteriner gelmeli.',
      location: { neighbourhood: 'Erzene' },
      citizen: { phone: '+90 533 222 33 44', preferredChannel: 'whatsapp' },
    }
    const before = (await caseEvents()).length
    // Sent twice, as an adapter retrying after a timeout would: still one case.
    await raw.publishRaw(TOPICS.intake, [
      { key: `whatsapp:${externalId}`, value: JSON.stringify(body) },
      { key: `whatsapp:${externalId}`, value: JSON.stringify(body) },
      { key: 'whatsapp:broken', value: JSON.stringify({ channel: 'whatsapp', kind: 'tip', description: '' }) },
    ])
    // The log holds externalId and the description sealed (`pd1.`, KVKK): the adapter's case is the
    // one submitted since `before` with this message's clear fields (channel, kind, neighbourhood).
    const isAdapters = (e: RecordedEvent, all: readonly RecordedEvent[]): boolean => {
      if (e.type !== 'CaseSubmitted' || all.indexOf(e) < before) return false
      const data = e.data as { channel?: string; kind?: string; location?: { neighbourhood?: string } }
      return data.channel === body.channel && data.kind === body.kind && data.location?.neighbourhood === body.location.neighbourhood
    }
    const events = await eventually(caseEvents, (all) => all.some((e) => e.type === 'CaseRouted' && all.some((s) => s.streamId === e.streamId && isAdapters(s, all))), 'the adapter’s case routed')
    const submitted = events.filter((e) => isAdapters(e, events))
    t.equal(submitted.length, 1, 'one case for the message sent twice')
    for (const e of submitted) acknowledged.add(e.streamId.slice('case-'.length))
    t.equal(events.filter((e) => e.type === 'CaseSubmitted').length - events.slice(0, before).filter((e) => e.type === 'CaseSubmitted').length, 1, 'the invalid message stored nothing')
    const rejected = await eventually(async () => rejections.filter((r) => r.key === 'whatsapp:broken'), (list) => list.length >= 1, 'the rejection on civic.intake.rejected.v1')
    t.ok(rejected[0]?.value.reason.errors.some((e) => /externalId|description/.test(e.path)), JSON.stringify(rejected[0]?.value.reason))
  })

  await t.test('poison messages on civic.case-events.v1 go to the dead-letter topic and the consumers keep going', async (t) => {
    const raw = createKafkaRawPublisher({ brokers: b.brokers, clientId: 'e2e-poison' })
    t.teardown(() => raw.close())
    const key = randomUUID()
    await raw.publishRaw(TOPICS.caseEvents, [
      { key, value: '{ not json' },
      { key, value: JSON.stringify({ event: { type: 'CaseSubmitted', nonsense: true }, position: 'x' }) },
    ])
    const letters = await eventually(
      async () => deadLetters.filter((d) => d.source.key === key),
      (list) => new Set(list.map((d) => d.source.groupId)).size >= 2 && list.some((d) => 'rawValue' in d),
      'dead letters from the consumer groups',
    )
    t.ok(letters.every((d) => d.source.topic === TOPICS.caseEvents && d.error.kind === 'invalid'), 'each names its source and says invalid')
    const after = await submit(1, `poison-${randomUUID().slice(0, 6)}`)
    t.equal(after.status, 201)
    acknowledged.add((after.body as { caseId: string }).caseId)
    await checkGuarantees(t, [(after.body as { caseId: string }).caseId], 'after poison')

    // The dashboard's own group dead-letters them too, and its count is the topic's: every dead
    // letter once (the id is source topic/partition/offset/group), none missing.
    const dashboardLetters = await eventually(async () => deadLetters.filter((d) => d.source.key === key && d.source.groupId === 'dashboard'), (list) => list.length === 2, 'the dashboard group’s two dead letters')
    t.equal(dashboardLetters.length, 2)
    const distinct = (): number => new Set(deadLetters.map((d) => `${d.source.topic}/${d.source.partition}/${d.source.offset}/${d.source.groupId}`)).size
    const view = await eventually(streams, (v) => v.deadLetters.count === distinct(), 'the stream view’s dead-letter count to match the topic')
    t.equal(view.deadLetters.count, distinct(), `dead letters on /v1/ops/streams = distinct records on ${TOPICS.deadLetter}`)
    t.ok(view.deadLetters.count >= letters.length, `at least the ${letters.length} of this scenario`)
    await checkDashboard(t, 'after poison')
  })

  await t.test('the broker stops and comes back in the middle of a stream of submissions: every acknowledged one routed once, no message twice', async (t) => {
    const runId = `broker-${randomUUID().slice(0, 6)}`
    const caseIds: string[] = []
    let brokerBackAt = Date.now()
    for (let n = 0; n < 40; n++) {
      if (n === 15) await b.stop()
      if (n === 30) {
        // Away long enough for kafkajs to give up on it: every consumer crashes and is restarted
        // under a new member id, while the broker keeps the old members (their leave never got
        // through) until they are removed or their sessions expire.
        await eventually(
          async () => CONSUMER_SERVICES.filter((name) => !(s.running.get(name)?.output().includes('kafka bus: consumer crashed; kafkajs restarts it') ?? false)),
          (waiting) => waiting.length === 0,
          'every consumer to give up on the broker',
          180_000,
        )
        await b.start()
        brokerBackAt = Date.now()
      }
      const res = await submit(n, runId)
      // Intake over HTTP needs only the store: acknowledged while the broker is away.
      t.equal(res.status, 201, `submission ${n} acknowledged`)
      caseIds.push((res.body as { caseId: string }).caseId)
    }
    for (const id of caseIds) acknowledged.add(id)
    await checkGuarantees(t, caseIds, 'broker restart')
    t.same([...s.running.keys()].sort(), [...STACK_SERVICES].sort(), 'every service is still running after the broker came back')
    // Not only the groups the citizen messages went through: the assignment publisher's too.
    await checkDashboard(t, 'broker restart', brokerBackAt)
  })

  await t.test('routing, notification and dashboard killed (SIGKILL) mid-batch and restarted: same guarantees, nothing counted twice', async (t) => {
    const runId = `kill-${randomUUID().slice(0, 6)}`
    const caseIds: string[] = []
    let restartedAt = Date.now()
    let killedAt = Date.now()
    for (let n = 0; n < 30; n++) {
      if (n === 10) {
        killedAt = Date.now()
        await s.stop('routing', 'SIGKILL')
        await s.stop('notification', 'SIGKILL')
        // Mid-stream: the case events of the first ten are still coming in.
        await s.stop('dashboard', 'SIGKILL')
      }
      if (n === 20) {
        // Together: each new member's join waits for the killed one's session (30 s) to expire.
        // The dashboard's memory read models are rebuilt from the store at start; its group then
        // goes on from its committed offsets, behind what the rebuild already counted.
        await Promise.all([s.start('routing'), s.start('notification'), s.start('dashboard')])
        restartedAt = Date.now()
        t.comment(`the three killed services answer /healthz again ${restartedAt - killedAt} ms after the kill`)
      }
      const res = await submit(n, runId)
      t.equal(res.status, 201)
      caseIds.push((res.body as { caseId: string }).caseId)
    }
    for (const id of caseIds) acknowledged.add(id)
    await checkGuarantees(t, caseIds, 'SIGKILL')
    // Recovery: from the restart until every group, the relay and the projector are at lag 0.
    await checkDashboard(t, 'SIGKILL', restartedAt)
  })

  await t.test('SIGTERM stops every service cleanly (exit 0)', async (t) => {
    for (const name of [...s.running.keys()]) t.equal(await s.stop(name, 'SIGTERM'), 0, `${name} exits 0`)
  })

}
