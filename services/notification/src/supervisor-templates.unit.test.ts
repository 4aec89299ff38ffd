import t from 'tap'
import { evolve, initialState, type CaseState } from '@civic-desk/case-domain'
import type { CaseEvent } from '@civic-desk/contracts'
import { istanbulClock, overdueByDepartment } from './digest.ts'
import { DIGEST_MAX_LINES, caseConsoleUrl, queueConsoleUrl, renderCaseNotice, renderDigest, type SupervisorCaseLine } from './supervisor-templates.ts'

const line = (n: number, extra: Partial<SupervisorCaseLine> = {}): SupervisorCaseLine => ({
  caseId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  trackingCode: `K7MA-4PXR-${String(n).padStart(3, '0')}`,
  category: 'yol-cukur',
  categoryNameTr: 'Yol çukuru ve yol hasarı',
  dueAt: '2026-11-22T06:00:00.000Z',
  escalated: false,
  ...extra,
})

t.test('console links keep the console’s base and replace any fragment', async (t) => {
  t.equal(caseConsoleUrl('https://konsol.example/', 'K7MA-4PXR-9TK'), 'https://konsol.example/#/basvuru/K7MA-4PXR-9TK')
  t.equal(caseConsoleUrl('https://host.example/konsol/#/genel-bakis', 'K7MA-4PXR-9TK'), 'https://host.example/konsol/#/basvuru/K7MA-4PXR-9TK')
  t.equal(queueConsoleUrl('https://konsol.example/', 'fen-isleri'), 'https://konsol.example/#/mudurluk/fen-isleri')
})

t.test('escalation and breach notices: reference, directorate, category, deadline in Istanbul time; optional parts left out', async (t) => {
  const escalation = renderCaseNotice({ kind: 'escalation', departmentNameTr: 'Fen İşleri Müdürlüğü', line: line(1, { consoleUrl: 'https://k.example/#/basvuru/K7MA-4PXR-001' }), municipalityName: 'Kadıköy Belediyesi' })
  t.equal(escalation.subject, 'Amirlere yükseltilen başvuru: K7MA-4PXR-001 (süre aşıldı)')
  t.equal(
    escalation.text,
    [
      'Sayın yetkili,',
      'K7MA-4PXR-001 takip kodlu başvurunun yanıt süresi doldu ve başvuru müdürlüğün amirlerine yükseltildi. Lütfen başvuruyu inceleyip sorumlusunu belirleyiniz.',
      'Takip kodu: K7MA-4PXR-001\nMüdürlük: Fen İşleri Müdürlüğü\nKategori: Yol çukuru ve yol hasarı\nSon yanıt tarihi: 22 Kasım 2026 Pazar 09:00 (İstanbul saati)\nKonsolda aç: https://k.example/#/basvuru/K7MA-4PXR-001',
      'Kadıköy Belediyesi\nBu ileti civic-desk tarafından otomatik olarak gönderilmiştir, lütfen yanıtlamayınız.',
    ].join('\n\n'),
  )
  const breach = renderCaseNotice({ kind: 'breach', departmentNameTr: 'Zabıta Müdürlüğü', line: { caseId: 'x', trackingCode: 'K7MA-4PXR-002', dueAt: '2026-12-31T21:30:00.000Z', escalated: false }, municipalityName: 'Belediye' })
  t.equal(breach.subject, 'Süresi aşılan başvuru: K7MA-4PXR-002')
  t.match(breach.text, 'Son yanıt tarihi: 1 Ocak 2027 Cuma 00:30 (İstanbul saati)')
  t.notMatch(breach.text, 'Kategori:')
  t.notMatch(breach.text, 'Konsolda aç')
})

t.test('the digest lists every case up to a limit, then counts the rest', async (t) => {
  const few = renderDigest({ departmentNameTr: 'Temizlik İşleri Müdürlüğü', at: '2026-11-24T05:30:00.000Z', localDate: '2026-11-24', lines: [line(1, { escalated: true }), { caseId: 'c2', trackingCode: 'K7MA-4PXR-002', category: 'moloz', dueAt: '2026-11-22T06:00:00.000Z', escalated: false }], municipalityName: 'Belediye' })
  t.equal(few.subject, 'Süresi geçmiş başvurular: Temizlik İşleri Müdürlüğü, 24.11.2026 (2)')
  t.match(few.text, '1. K7MA-4PXR-001 · Yol çukuru ve yol hasarı · son tarih 22 Kasım 2026 Pazar 09:00 · amirlere yükseltildi\n2. K7MA-4PXR-002 · moloz · son tarih 22 Kasım 2026 Pazar 09:00\n')
  t.notMatch(few.text, 'Müdürlük kuyruğu')

  const many = renderDigest({ departmentNameTr: 'Fen İşleri Müdürlüğü', at: '2026-11-24T05:30:00.000Z', localDate: '2026-11-24', lines: Array.from({ length: DIGEST_MAX_LINES + 5 }, (_, i) => line(i + 1)), queueUrl: 'https://k.example/#/mudurluk/fen-isleri', municipalityName: 'Belediye' })
  t.equal(many.text.split('\n').filter((l) => /^\d+\. /.test(l)).length, DIGEST_MAX_LINES)
  t.match(many.text, '… ve 5 başvuru daha (tamamı müdürlük kuyruğunda).')
  t.match(many.text, 'Müdürlük kuyruğu: https://k.example/#/mudurluk/fen-isleri')
  t.match(many.subject, `(${DIGEST_MAX_LINES + 5})`)
})

t.test('Istanbul clock: date and minute of the day at UTC+3, across midnight', async (t) => {
  t.same(istanbulClock(new Date('2026-11-24T05:30:00.000Z')), { localDate: '2026-11-24', minuteOfDay: 8 * 60 + 30 })
  t.same(istanbulClock(new Date('2026-11-24T21:15:00.000Z')), { localDate: '2026-11-25', minuteOfDay: 15 })
  t.same(istanbulClock(new Date('2026-12-31T20:59:00.000Z')), { localDate: '2026-12-31', minuteOfDay: 23 * 60 + 59 })
})

t.test('overdue: open cases of a directorate whose effective due instant has passed, pauses included, most overdue first', async (t) => {
  let seq = 0
  const meta = (at: string) => ({ eventId: `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`, schemaVersion: 1 as const, occurredAt: at, actor: { kind: 'system' as const, id: 'test' }, correlationId: 'c', causationId: null })
  const build = (code: string, dueAt: string, more: (at: string) => CaseEvent[] = () => []): CaseState => {
    const caseId = `10000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`
    const events = [
      { ...meta('2026-11-20T06:00:00.000Z'), type: 'CaseSubmitted', data: { caseId, trackingCode: code, channel: 'web', kind: 'complaint', description: 'x', receivedAt: '2026-11-20T06:00:00.000Z' } },
      {
        ...meta('2026-11-20T06:00:00.000Z'),
        type: 'CaseRouted',
        data: { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: '2026-11-20T06:00:00.000Z', deadline: { hours: 48 }, basis: 'category', dueAt }, legalDueAt: null },
      },
      ...more('2026-11-21T06:00:00.000Z'),
    ] as CaseEvent[]
    return events.reduce<CaseState>((s, e) => evolve(s, e), initialState())
  }
  const now = new Date('2026-11-24T05:30:00.000Z')
  const cases = [
    build('LATER', '2026-11-23T06:00:00.000Z'),
    build('FIRST', '2026-11-22T06:00:00.000Z'),
    build('NOTYET', '2026-11-25T06:00:00.000Z'),
    // Waiting on the citizen since before the deadline: the clock is held, not overdue.
    build('PAUSED', '2026-11-22T06:00:00.000Z', (at) => [
      { ...meta(at), type: 'CaseAccepted', data: { assignee: 'fen.ahmet' } },
      { ...meta(at), type: 'CitizenInfoRequested', data: { question: 'Adres?' } },
    ] as CaseEvent[]),
    build('ANSWERED', '2026-11-22T06:00:00.000Z', (at) => [{ ...meta(at), type: 'CaseResolved', data: { resolution: 'Yapıldı' } }] as CaseEvent[]),
  ]
  const overdue = overdueByDepartment(cases, now)
  t.same([...overdue.keys()], ['fen-isleri'])
  t.same(overdue.get('fen-isleri')?.map((c) => [c.trackingCode, c.dueAt.toISOString()]), [
    ['FIRST', '2026-11-22T06:00:00.000Z'],
    ['LATER', '2026-11-23T06:00:00.000Z'],
  ])
})
