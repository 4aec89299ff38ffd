import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdirSync } from 'node:fs'
import t from 'tap'
import { deriveEventId } from '@civic-desk/case-domain'
import { caseEventMessage, caseStreamId, encodeCaseEvent, loadCase } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { TOPICS } from '@civic-desk/messaging'
import { waitFor } from '@civic-desk/messaging/testing'
import { messageIdFor } from './providers.ts'
import { decodeBody, decodeHeader, header, startSmtpFixture } from './smtp-server.testing.ts'
import type { SupervisorWebhookDocument } from './supervisor-delivery.ts'
import { SUPERVISOR_LEDGER_FILE } from './supervisor-service.ts'
import { CITIZEN, DESCRIPTION, catalogueWith, checkSla, meta, newCase, rig, startService, submitAndRoute } from './supervisors.testing.ts'

async function escalationOf(store: EventStore, caseId: string) {
  const records = await store.readStream(caseStreamId(caseId))
  const escalated = records.find((r) => r.type === 'CaseEscalated')
  const breached = records.find((r) => r.type === 'SlaBreached')
  if (escalated === undefined || breached === undefined) throw new Error('not escalated')
  return { escalated, breached }
}

t.test('an escalation reaches the supervisors’ mailbox once: redelivered, and again after a restart', async (t) => {
  const smtp = await startSmtpFixture(t)
  const r = rig(t)
  const catalogue = catalogueWith({ 'fen-isleri': { email: 'fen-amirler@kadikoy.example.bel.tr' } })
  const env = { CIVIC_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, CIVIC_SMTP_FROM: 'Beyaz Masa <beyazmasa@kadikoy.example.bel.tr>', CIVIC_CONSOLE_URL: 'https://konsol.kadikoy.example.bel.tr/' }
  const first = await startService(t, r, catalogue, env)
  const s = newCase()
  await submitAndRoute(r.store, s)
  await checkSla(r.store, s.caseId, '2026-11-23T06:00:00.000Z')
  await waitFor(() => smtp.received().length === 1, 10_000, 'the supervisors’ e-mail')

  const { escalated, breached } = await escalationOf(r.store, s.caseId)
  const id = deriveEventId(escalated.id, 'supervisors:email')
  const [mail] = smtp.received()
  if (mail === undefined) throw new Error('no mail')
  t.same(mail.envelope.rcptTo, ['fen-amirler@kadikoy.example.bel.tr'])
  t.equal(header(mail, 'message-id'), messageIdFor(id), 'the Message-ID is derived from the escalation event')
  t.equal(decodeHeader(header(mail, 'subject') ?? ''), `Amirlere yükseltilen başvuru: ${s.trackingCode} (süre aşıldı)`)
  const body = decodeBody(mail)
  t.match(body, `${s.trackingCode} takip kodlu başvurunun yanıt süresi doldu ve başvuru müdürlüğün amirlerine yükseltildi.`)
  t.match(body, 'Müdürlük: Fen İşleri Müdürlüğü')
  t.match(body, 'Kategori: Yol çukuru ve yol hasarı')
  t.match(body, 'Son yanıt tarihi: 22 Kasım 2026 Pazar 09:00 (İstanbul saati)')
  t.match(body, `Konsolda aç: https://konsol.kadikoy.example.bel.tr/#/basvuru/${s.trackingCode}`)
  t.match(body, 'Kadıköy Belediyesi')
  for (const personal of [CITIZEN.name, CITIZEN.phone, CITIZEN.email, 'Ayşe', '532', DESCRIPTION]) t.notMatch(mail.raw + body, personal, `no citizen data: ${personal}`)
  // The ledger records the send once the SMTP server accepted it: a moment after the mail arrived.
  await waitFor(() => (first.ledger?.list().length ?? 0) > 0, 5000, 'the send in the ledger')
  t.same(
    first.ledger?.list().map((e) => [e.id, e.kind, e.target, e.outcome, e.caseId]),
    [[id, 'escalation', 'email', 'sent', s.caseId]],
  )

  // Kafka may deliver the breach and the escalation again (a rebalance before the commit).
  await r.bus.publish(TOPICS.caseEvents, [caseEventMessage(escalated), caseEventMessage(breached)])
  await waitFor(() => (first.notices?.status().skipped ?? 0) >= 3, 5000, 'the redelivered events to be handled')
  t.equal(smtp.received().length, 1, 'redelivery sends nothing')

  // A restart: a new process on the same data folder, which is handed the escalation once more.
  await first.stop()
  const second = await startService(t, r, catalogue, env)
  await r.bus.publish(TOPICS.caseEvents, [caseEventMessage(escalated)])
  await waitFor(() => (second.notices?.status().skipped ?? 0) >= 1, 5000, 'the restarted service to see the escalation')
  t.equal(smtp.received().length, 1, 'still one e-mail after the restart')
  t.equal(second.notices?.status().sent, 0)
  t.equal(second.ledger?.list().length, 1)
})

t.test('the webhook gets one JSON document, retried on the retry policy with one idempotency key', async (t) => {
  const requests: Array<{ headers: IncomingMessage['headers']; body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    req.on('end', () => {
      requests.push({ headers: req.headers, body })
      // The first try finds the gateway down; the second gets through.
      res.writeHead(requests.length === 1 ? 503 : 202, { 'content-type': 'application/json' })
      res.end(requests.length === 1 ? '{"error":"bakımda"}' : '{"ok":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  const r = rig(t)
  const catalogue = catalogueWith({ 'fen-isleri': { webhook: `http://127.0.0.1:${port}/hooks/fen?key=gizli` } })
  const service = await startService(t, r, catalogue, { CIVIC_SUPERVISOR_WEBHOOK_TOKEN: 'amir-token' })
  const s = newCase()
  await submitAndRoute(r.store, s)
  await checkSla(r.store, s.caseId, '2026-11-23T06:00:00.000Z')
  await waitFor(() => (service.ledger?.list().length ?? 0) === 1, 10_000, 'the webhook message to be recorded')

  const { escalated } = await escalationOf(r.store, s.caseId)
  const id = deriveEventId(escalated.id, 'supervisors:webhook')
  t.equal(requests.length, 2, 'one failed try, one that got through')
  t.same(requests.map((q) => q.headers['idempotency-key']), [id, id])
  t.same(requests.map((q) => q.headers['authorization']), ['Bearer amir-token', 'Bearer amir-token'])
  const document = JSON.parse(requests[1]?.body ?? '{}') as SupervisorWebhookDocument
  t.same(
    { ...document, text: typeof document.text },
    {
      id,
      kind: 'escalation',
      department: { code: 'fen-isleri', nameTr: 'Fen İşleri Müdürlüğü' },
      subject: `Amirlere yükseltilen başvuru: ${s.trackingCode} (süre aşıldı)`,
      text: 'string',
      cases: [{ trackingCode: s.trackingCode, category: 'yol-cukur', categoryNameTr: 'Yol çukuru ve yol hasarı', dueAt: '2026-11-22T06:00:00.000Z', escalated: true, consoleUrl: null }],
      digestDate: null,
    },
  )
  for (const personal of [CITIZEN.name, CITIZEN.phone, CITIZEN.email, DESCRIPTION]) t.notMatch(requests[1]?.body, personal)
  const [entry] = service.ledger?.list() ?? []
  t.match(entry, { id, target: 'webhook', outcome: 'sent', attempts: 2, recipient: `127.0.0.1:${port}` })
  t.notMatch(JSON.stringify(entry), 'gizli', 'the ledger does not keep the webhook URL’s key')

  await r.bus.publish(TOPICS.caseEvents, [caseEventMessage(escalated)])
  await waitFor(() => (service.notices?.status().skipped ?? 0) >= 2, 5000, 'the redelivered escalation')
  t.equal(requests.length, 2, 'redelivery posts nothing')
})

t.test('a gateway that refuses for good is recorded as failed once; other directorates and no contact are left alone', async (t) => {
  let calls = 0
  const server = createServer((req, res) => {
    calls++
    req.resume()
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'text/plain' })
      res.end('unknown channel')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const port = (server.address() as AddressInfo).port
  const r = rig(t)
  // No SMTP server: the e-mail is kept in the ledger; the webhook refuses (400: not retried).
  const catalogue = catalogueWith({ 'fen-isleri': { email: 'fen@kadikoy.example.bel.tr', webhook: `http://127.0.0.1:${port}/hooks` } })
  const service = await startService(t, r, catalogue, {})
  const s = newCase()
  await submitAndRoute(r.store, s)
  const parks = newCase()
  await submitAndRoute(r.store, parks, { department: 'park-bahce', category: 'park-bakim', dueAt: '2026-11-22T06:00:00.000Z' })
  await checkSla(r.store, parks.caseId, '2026-11-23T06:00:00.000Z')
  await checkSla(r.store, s.caseId, '2026-11-23T06:00:00.000Z')
  await waitFor(() => (service.ledger?.list().length ?? 0) === 2, 10_000, 'both contacts to be handled')
  t.equal(calls, 1, 'a 400 is not retried')
  t.same(
    service.ledger?.list().map((e) => [e.target, e.outcome, e.department]),
    [
      ['email', 'kept', 'fen-isleri'],
      ['webhook', 'failed', 'fen-isleri'],
    ],
  )
  t.match(service.ledger?.list()[1]?.error, /answered 400: unknown channel/)
  t.equal(service.ledger?.list({ department: 'park-bahce' }).length, 0, 'a directorate without contacts gets nothing')
  t.equal(service.notices?.status().failed, 1)
})

t.test('a breach without an escalation is announced on its own', async (t) => {
  const r = rig(t)
  const catalogue = catalogueWith({ 'fen-isleri': { email: 'fen@kadikoy.example.bel.tr' } })
  const service = await startService(t, r, catalogue, {})
  const s = newCase()
  await submitAndRoute(r.store, s)
  // What an older scheduler (or another writer) may have recorded: the breach alone.
  const loaded = await loadCase(r.store, s.caseId)
  const breach = { ...meta(), type: 'SlaBreached' as const, schemaVersion: 1 as const, actor: { kind: 'system' as const, id: 'sla-scheduler' }, data: { clock: 1, department: 'fen-isleri', dueAt: '2026-11-22T06:00:00.000Z' } }
  await r.store.append(caseStreamId(s.caseId), [encodeCaseEvent(breach)], { expectedRevision: loaded.revision })
  await waitFor(() => (service.ledger?.list().length ?? 0) === 1, 5000, 'the breach notice')
  const [entry] = service.ledger?.list() ?? []
  t.match(entry, { id: deriveEventId(breach.eventId, 'supervisors:email'), kind: 'breach', outcome: 'kept', subject: `Süresi aşılan başvuru: ${s.trackingCode}` })
  t.match(entry?.text, `${s.trackingCode} takip kodlu başvurunun yanıt süresi doldu. Başvuru henüz sonuçlandırılmadı.`)
})

t.test('nothing starts when no directorate has a supervisor contact', async (t) => {
  const r = rig(t)
  const service = await startService(t, r, catalogueWith({}), {})
  t.equal(service.notices, null)
  t.equal(service.digest, null)
  t.same(r.feed.readers(), [], 'no consumer group, no projection')
  t.notOk(readdirSync(r.dataDir).includes(SUPERVISOR_LEDGER_FILE), 'no ledger file')
})
