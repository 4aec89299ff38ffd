import { join } from 'node:path'
import t from 'tap'
import { waitFor } from '@civic-desk/messaging/testing'
import { digestMessageId } from './digest.ts'
import { messageIdFor } from './providers.ts'
import { openSqliteLedger } from './supervisor-ledger.ts'
import { SUPERVISOR_LEDGER_FILE } from './supervisor-service.ts'
import { decodeBody, decodeHeader, header, startSmtpFixture, type ReceivedMail } from './smtp-server.testing.ts'
import { CITIZEN, DESCRIPTION, catalogueWith, checkSla, exec, newCase, rig, startService, submitAndRoute } from './supervisors.testing.ts'

t.test('the daily digest: at the Istanbul time, once a day across restarts, only directorates with overdue cases', async (t) => {
  const smtp = await startSmtpFixture(t)
  const r = rig(t)
  const catalogue = catalogueWith({
    'fen-isleri': { email: 'fen-amirler@kadikoy.example.bel.tr' },
    temizlik: { email: 'temizlik-amirler@kadikoy.example.bel.tr' },
  })
  const env = { CIVIC_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, CIVIC_CONSOLE_URL: 'https://konsol.kadikoy.example.bel.tr/', CIVIC_SUPERVISOR_DIGEST_AT: '08:30' }
  let clock = new Date('2026-11-24T05:00:00.000Z') // 08:00 in Istanbul (UTC+3)
  const now = () => clock

  // Fen İşleri: two overdue (one escalated, one not yet checked), one not due yet, one overdue but answered.
  const escalated = newCase()
  await submitAndRoute(r.store, escalated, { department: 'fen-isleri', category: 'yol-cukur', dueAt: '2026-11-22T06:00:00.000Z' })
  await checkSla(r.store, escalated.caseId, '2026-11-23T06:00:00.000Z')
  const overdue = newCase()
  await submitAndRoute(r.store, overdue, { department: 'fen-isleri', category: 'kaldirim', dueAt: '2026-11-23T12:00:00.000Z' })
  const notYet = newCase()
  await submitAndRoute(r.store, notYet, { department: 'fen-isleri', category: 'yol-cukur', dueAt: '2026-11-30T06:00:00.000Z' })
  const answered = newCase()
  await submitAndRoute(r.store, answered, { department: 'fen-isleri', category: 'yol-cukur', dueAt: '2026-11-21T06:00:00.000Z' })
  await exec(r.store, answered.caseId, (m) => ({ type: 'RejectCase', meta: m, data: { reasonCode: 'not-municipal', reason: 'Karayollarının sorumluluğunda' } }))
  // Temizlik: nothing overdue.
  const clean = newCase()
  await submitAndRoute(r.store, clean, { department: 'temizlik', category: 'cop-toplama', dueAt: '2026-11-29T06:00:00.000Z' })

  const first = await startService(t, r, catalogue, env, now)
  // The escalated case's own notice goes out as usual; the digests are the other messages.
  const escalation = (m: ReceivedMail) => decodeHeader(header(m, 'subject') ?? '').startsWith('Amirlere yükseltilen')
  const digests = () => smtp.received().filter((m) => !escalation(m))
  await waitFor(() => smtp.received().some(escalation), 10_000, 'the escalation notice')
  const digest = first.digest
  if (digest === null) throw new Error('digest not started')
  t.equal(await digest.tick(), null, '08:00: too early')
  clock = new Date('2026-11-24T05:29:59.000Z')
  t.equal(await digest.tick(), null, '08:29:59: too early')
  t.equal(digests().length, 0)

  clock = new Date('2026-11-24T05:30:00.000Z')
  t.same(await digest.tick(), { localDate: '2026-11-24', departments: ['fen-isleri'], empty: ['temizlik'] }, '08:30: the digest')
  t.equal(digests().length, 1, 'one message: Temizlik has nothing overdue')
  const [mail] = digests()
  if (mail === undefined) throw new Error('no mail')
  t.same(mail.envelope.rcptTo, ['fen-amirler@kadikoy.example.bel.tr'])
  t.equal(header(mail, 'message-id'), messageIdFor(digestMessageId('fen-isleri', '2026-11-24', 'email')))
  t.equal(decodeHeader(header(mail, 'subject') ?? ''), 'Süresi geçmiş başvurular: Fen İşleri Müdürlüğü, 24.11.2026 (2)')
  const body = decodeBody(mail)
  t.match(body, 'Aşağıdaki 2 açık başvurunun yanıt süresi geçmiştir (24 Kasım 2026 Salı 08:30 itibarıyla, İstanbul saati). Müdürlük: Fen İşleri Müdürlüğü.')
  const lines = body.split('\n').filter((l) => /^\d+\. /.test(l))
  t.same(lines, [
    `1. ${escalated.trackingCode} · Yol çukuru ve yol hasarı · son tarih 22 Kasım 2026 Pazar 09:00 · amirlere yükseltildi · https://konsol.kadikoy.example.bel.tr/#/basvuru/${escalated.trackingCode}`,
    `2. ${overdue.trackingCode} · Kaldırım onarımı · son tarih 23 Kasım 2026 Pazartesi 15:00 · https://konsol.kadikoy.example.bel.tr/#/basvuru/${overdue.trackingCode}`,
  ], 'most overdue first; not the case due later nor the answered one')
  t.match(body, 'Müdürlük kuyruğu: https://konsol.kadikoy.example.bel.tr/#/mudurluk/fen-isleri')
  for (const personal of [CITIZEN.name, CITIZEN.phone, CITIZEN.email, DESCRIPTION]) t.notMatch(mail.raw + body, personal, `no citizen data: ${personal}`)

  clock = new Date('2026-11-24T09:00:00.000Z')
  t.equal(await digest.tick(), null, 'later the same day: done already')

  // A restart the same day: the ledger remembers the digest.
  await first.stop()
  const second = await startService(t, r, catalogue, env, now)
  t.equal(await second.digest?.tick(), null, 'after a restart the same day: nothing')
  t.equal(digests().length, 1)

  // The next morning: a new digest, with what is overdue then.
  clock = new Date('2026-11-25T05:31:00.000Z')
  t.same(await second.digest?.tick(), { localDate: '2026-11-25', departments: ['fen-isleri'], empty: ['temizlik'] })
  await waitFor(() => digests().length === 2, 5000, 'the second day’s digest')
  t.equal(header(digests()[1]!, 'message-id'), messageIdFor(digestMessageId('fen-isleri', '2026-11-25', 'email')))
  t.same(
    second.ledger?.list().map((e) => [e.kind, e.department, e.digestDate, e.outcome]),
    [
      ['escalation', 'fen-isleri', null, 'sent'],
      ['digest', 'fen-isleri', '2026-11-24', 'sent'],
      ['digest', 'fen-isleri', '2026-11-25', 'sent'],
    ],
  )
})

t.test('a digest interrupted after one directorate finishes after the restart without repeating it', async (t) => {
  const smtp = await startSmtpFixture(t)
  const r = rig(t)
  const catalogue = catalogueWith({ 'fen-isleri': { email: 'fen@kadikoy.example.bel.tr' }, temizlik: { email: 'temizlik@kadikoy.example.bel.tr' } })
  const fen = newCase()
  await submitAndRoute(r.store, fen, { department: 'fen-isleri', category: 'yol-cukur', dueAt: '2026-11-22T06:00:00.000Z' })
  const cleaning = newCase()
  await submitAndRoute(r.store, cleaning, { department: 'temizlik', category: 'cop-toplama', dueAt: '2026-11-22T06:00:00.000Z' })
  // As if the last process died after Fen İşleri's digest went out and before the day was marked done.
  const before = openSqliteLedger(join(r.dataDir, SUPERVISOR_LEDGER_FILE))
  const fenId = digestMessageId('fen-isleri', '2026-11-24', 'email')
  before.record({
    id: fenId,
    kind: 'digest',
    department: 'fen-isleri',
    target: 'email',
    recipient: 'fen@kadikoy.example.bel.tr',
    subject: 'Süresi geçmiş başvurular: Fen İşleri Müdürlüğü, 24.11.2026 (1)',
    text: '…',
    caseId: null,
    digestDate: '2026-11-24',
    outcome: 'sent',
    attempts: 1,
    providerMessageId: fenId,
    error: null,
    recordedAt: '2026-11-24T05:30:01.000Z',
  })
  before.close()

  const service = await startService(t, r, catalogue, { CIVIC_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }, () => new Date('2026-11-24T06:00:00.000Z'))
  // The first look at the clock runs at start; this one joins it or finds the day done.
  await service.digest?.tick()
  await waitFor(() => service.ledger?.digestDone('2026-11-24') === true, 5000, 'the day to be done')
  t.same(smtp.received().map((m) => m.envelope.rcptTo), [['temizlik@kadikoy.example.bel.tr']], 'only the directorate still owed its digest')
  t.same(service.ledger?.list().map((e) => [e.department, e.recordedAt === '2026-11-24T05:30:01.000Z']), [
    ['fen-isleri', true],
    ['temizlik', false],
  ])
})
