// The auditor's timeline as text: a Turkish sentence for every case event type, Istanbul time,
// durations, the SLA line, the cut at an instant, erased and unopened personal data.
import t from 'tap'
import type { CaseRecord, LoadedCase } from '@civic-desk/case-feed'
import { CASE_EVENT_TYPES, ERASED_PERSONAL_TEXT, UNAVAILABLE_PERSONAL_TEXT, type CaseEvent } from '@civic-desk/contracts'
import { NO_KEY_TEXT, actorTr, auditTimeline, durationTr, eventSentence, istanbulTime, type SentenceContext } from './audit-timeline.ts'
import { catalogueNames } from './views.ts'
import { catalogue } from './test-support.ts'

const names = catalogueNames(catalogue)
const opened: SentenceContext = { names, personalData: 'opened' }
const caseId = '9f0d6a3e-5b7c-5d1e-8f2a-3b4c5d6e7f80'
const sla = (clock: number, startedAt: string, dueAt: string) => ({ clock, startedAt, deadline: { hours: 48 }, basis: 'category' as const, dueAt })

let n = 0
/** An event of `type` at `occurredAt` by `actor`, with its data. */
function ev<E extends CaseEvent>(type: E['type'], occurredAt: string, data: E['data'], actor: CaseEvent['actor'] = { kind: 'staff', id: 'ayse.fen' }): E {
  n += 1
  const eventId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
  return { eventId, type, schemaVersion: 1, occurredAt, actor, correlationId: 'c', causationId: null, data } as E
}

const submitted = ev('CaseSubmitted', '2026-11-23T06:00:00.000Z', {
  caseId,
  trackingCode: 'K7MA-4PXR-9TK',
  channel: 'whatsapp',
  kind: 'request',
  category: 'yol-cukur',
  description: 'Çukur var.',
  location: { neighbourhood: 'Kazımdirik', address: 'Atatürk Cd. No:12' },
  citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33' },
  receivedAt: '2026-11-23T06:00:00.000Z',
}, { kind: 'channel', id: 'whatsapp-gateway' })
const routed = ev('CaseRouted', '2026-11-23T06:00:00.000Z', { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'keywords', matchedKeywords: ['çukur'], sla: sla(1, '2026-11-23T06:00:00.000Z', '2026-11-25T06:00:00.000Z'), legalDueAt: null }, { kind: 'service', id: 'routing' })

/** One event of every type, each with what its sentence must say. */
const EVERY_TYPE: ReadonlyArray<readonly [CaseEvent, string]> = [
  [submitted, 'Başvuru alındı: talep, WhatsApp kanalından, takip kodu K7MA-4PXR-9TK, Yol çukuru ve yol hasarı (yol-cukur). Konu: “Çukur var.” Yer: Kazımdirik, “Atatürk Cd. No:12”. Başvuran: “Ayşe Yılmaz”.'],
  [routed, 'Fen İşleri Müdürlüğüne (fen-isleri) yönlendirildi (anahtar kelimelere göre (çukur), Yol çukuru ve yol hasarı (yol-cukur)); 1. SLA süresi başladı: 48 saat (kategori süresi), son tarih 25.11.2026 09:00:00.'],
  [
    ev('CaseMarkedDuplicate', '2026-11-23T06:00:00.000Z', { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: sla(1, '2026-11-23T06:00:00.000Z', '2026-11-25T06:00:00.000Z'), legalDueAt: null, duplicateOf: caseId, duplicateOfTrackingCode: 'ABCD-EFGH-JKM', match: 'location', distanceMeters: 34.6, similarity: null }),
    'Mükerrer işaretlendi: önceki başvuru ABCD-EFGH-JKM',
  ],
  [ev('CaseAccepted', '2026-11-23T07:00:00.000Z', { department: 'fen-isleri', assignee: 'ayse.fen' }), 'Fen İşleri Müdürlüğü (fen-isleri) adına ayse.fen tarafından kabul edildi'],
  [ev('CaseWorkStarted', '2026-11-23T08:00:00.000Z', { note: 'Ekip yolda.' }), 'Çalışmaya başlandı; not: “Ekip yolda.”'],
  [ev('CaseNoteAdded', '2026-11-23T08:00:00.000Z', { text: 'Asfalt ekibi çağrıldı.' }), 'İç not eklendi: “Asfalt ekibi çağrıldı.”'],
  [ev('CitizenInfoRequested', '2026-11-23T08:00:00.000Z', { question: 'Tam adres?' }), 'Vatandaştan bilgi istendi: “Tam adres?”; yanıt gelene kadar SLA süresi durdu.'],
  [ev('CitizenReplied', '2026-11-23T09:00:00.000Z', { text: 'No:12', channel: null }), 'Vatandaş yanıt verdi: “No:12”; SLA süresi yeniden işliyor.'],
  [
    ev('CaseTransferred', '2026-11-23T09:00:00.000Z', { fromDepartment: 'fen-isleri', toDepartment: 'su-kanalizasyon', category: null, reason: 'Su borusu.', sla: sla(2, '2026-11-23T09:00:00.000Z', '2026-11-25T09:00:00.000Z') }),
    'Fen İşleri Müdürlüğü (fen-isleri) tarafından Su ve Kanalizasyon birimine (su-kanalizasyon) devredildi (kategorisiz); gerekçe “Su borusu.”; 2. SLA süresi başladı',
  ],
  [ev('CaseResolved', '2026-11-23T10:00:00.000Z', { resolution: 'Onarıldı.' }), 'Çözüldü; vatandaşa verilen yanıt: “Onarıldı.”'],
  [ev('CaseRejected', '2026-11-23T10:00:00.000Z', { reasonCode: 'not-municipal', reason: 'Karayolları yolu.' }), 'Reddedildi (gerekçe: belediye hizmeti değil): “Karayolları yolu.”'],
  [ev('CaseClosed', '2026-11-23T10:00:00.000Z', { reason: null }), 'Kapatıldı.'],
  [
    ev('CaseReopened', '2026-11-23T11:00:00.000Z', { reason: 'Yine çöktü.', sla: sla(3, '2026-11-23T11:00:00.000Z', '2026-11-25T11:00:00.000Z'), beyondLimit: { limit: 2, reason: 'Tehlikeli.' } }),
    'Yeniden açıldı; gerekçe “Yine çöktü.”; yeniden açma sınırı (2) aşılarak, yönetici gerekçesi “Tehlikeli.”; 3. SLA süresi başladı',
  ],
  [
    ev('SlaWarningRaised', '2026-11-24T18:00:00.000Z', { clock: 1, department: 'fen-isleri', at: '2026-11-24T18:00:00.000Z', dueAt: '2026-11-25T06:00:00.000Z' }, { kind: 'system', id: 'sla-scheduler' }),
    "SLA uyarısı: 1. sürenin %75'i 24.11.2026 21:00:00 itibarıyla doldu (Fen İşleri Müdürlüğü (fen-isleri)); son tarih 25.11.2026 09:00:00.",
  ],
  [ev('SlaBreached', '2026-11-25T06:00:01.000Z', { clock: 1, department: 'fen-isleri', dueAt: '2026-11-25T06:00:00.000Z' }), 'SLA ihlali: 1. süre 25.11.2026 09:00:00 itibarıyla doldu (Fen İşleri Müdürlüğü (fen-isleri)).'],
  [ev('CaseEscalated', '2026-11-25T06:00:01.000Z', { clock: 1, department: 'fen-isleri', to: 'supervisors', reason: 'Süre aşıldı' }), 'Üst makama iletildi: Fen İşleri Müdürlüğü (fen-isleri) yöneticilerine (1. süre aşıldığı için)'],
  [
    ev('CitizenNotified', '2026-11-23T06:00:05.000Z', { notificationId: caseId, sourceEventId: caseId, template: 'acknowledgement', channel: 'sms', provider: 'netgsm', to: '+90 5** *** ** 33', providerMessageId: 'm1', attempts: 1 }),
    'Vatandaş bilgilendirildi: başvuru alındı bildirimi, SMS ile “+90 5** *** ** 33” adresine (netgsm, 1. denemede).',
  ],
  [
    ev('NotificationFailed', '2026-11-23T06:00:05.000Z', { notificationId: caseId, sourceEventId: caseId, template: 'resolved', channel: 'email', provider: 'smtp', to: 'a***@example.com', attempts: 5, error: { code: 'bounced', message: 'no such mailbox' } }),
    'Vatandaş bilgilendirilemedi: sonuç bildirimi, e-posta ile “a***@example.com” adresine 5 denemede gönderilemedi (bounced)',
  ],
  [
    ev('WorkflowStepRecorded', '2026-11-23T12:00:00.000Z', { workflow: 'sosyal-yardim', step: 'ev-ziyareti', stepNameTr: 'Ev ziyareti', stepNameEn: 'Home visit', fields: { bulgular: 'Yaşlı, yalnız.', hane: 1, uygun: true } }),
    'İş akışı adımı kaydedildi: Ev ziyareti (sosyal-yardim/ev-ziyareti); bulgular: “Yaşlı, yalnız.”, hane: 1, uygun: evet.',
  ],
  [
    ev('CaseDuplicateUnlinked', '2026-11-23T12:00:00.000Z', { duplicateOf: caseId, duplicateOfTrackingCode: 'ABCD-EFGH-JKM', department: 'fen-isleri', reason: 'Başka sokak.', sla: sla(2, '2026-11-23T12:00:00.000Z', '2026-11-25T12:00:00.000Z') }),
    'Mükerrer bağlantısı kaldırıldı: önceki başvuru ABCD-EFGH-JKM ile ilişkisi kesildi, gerekçe “Başka sokak.”',
  ],
  [
    ev('PersonalDataErased', '2026-11-30T12:00:00.000Z', { destructionId: caseId, reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: 'K7MA-4PXR-9TK', fields: ['ad', 'telefon'] }, { kind: 'staff', id: 'kvkk.sorumlusu' }),
    'Kişisel veriler silindi (KVKK): ilgili kişinin silme talebi üzerine; yasal dayanak: KVKK m.7; talep: K7MA-4PXR-9TK; silinen veriler: ad, telefon',
  ],
]

t.test('a Turkish sentence for every case event type of the contract', async (t) => {
  t.same(new Set(EVERY_TYPE.map(([e]) => e.type)), CASE_EVENT_TYPES, 'every type is covered here')
  for (const [event, expected] of EVERY_TYPE) t.match(eventSentence(event, opened), expected, event.type)
})

t.test('sealed, erased and unreadable fields', async (t) => {
  const note = ev('CaseNoteAdded', '2026-11-23T08:00:00.000Z', { text: UNAVAILABLE_PERSONAL_TEXT })
  t.equal(eventSentence(note, { names, personalData: 'no-key' }), `İç not eklendi: ${NO_KEY_TEXT}.`, 'no key: said so')
  t.equal(eventSentence(note, opened), `İç not eklendi: [${UNAVAILABLE_PERSONAL_TEXT}].`, 'with keys, a field that would not open: the store’s own words')
  const erased = ev('CaseNoteAdded', '2026-11-23T08:00:00.000Z', { text: ERASED_PERSONAL_TEXT })
  t.equal(eventSentence(erased, { names, personalData: 'no-key' }), `İç not eklendi: [${ERASED_PERSONAL_TEXT}].`)
})

t.test('times, durations and actors in Turkish', async (t) => {
  t.equal(istanbulTime('2026-12-05T11:05:12.345Z'), '05.12.2026 14:05:12')
  t.equal(istanbulTime(new Date('2026-12-31T21:00:00Z')), '01.01.2027 00:00:00', 'the Istanbul date, not the UTC one')
  t.equal(durationTr(2 * 86_400_000 + 3 * 3_600_000 + 5 * 60_000 + 59_000), '2 gün 3 saat 5 dakika')
  t.equal(durationTr(-3 * 3_600_000), '3 saat', 'the sign is the sentence’s')
  t.equal(durationTr(42_000), '42 saniye')
  t.equal(actorTr({ kind: 'staff', id: 'ayse.fen' }), 'personel ayse.fen')
  t.equal(actorTr({ kind: 'system', id: 'sla-scheduler' }), 'sistem: SLA zamanlayıcısı')
  t.equal(actorTr({ kind: 'citizen', id: 'citizen-42' }), 'vatandaş citizen-42')
})

/** The case as loaded from a store that recorded each event at `recordedAt`. */
function loadedOf(records: ReadonlyArray<readonly [CaseEvent, string]>): LoadedCase {
  const list: CaseRecord[] = records.map(([event, recordedAt], revision) => ({ event, revision, position: revision + 1, recordedAt }))
  return { caseId, state: { status: 'none' }, revision: list.length - 1, changeRevision: list.length - 1, records: list }
}

t.test('the timeline: cut at an instant, the SLA clock at each step, overdue, erasure not undone', async (t) => {
  const asked = ev('CitizenInfoRequested', '2026-11-24T06:00:00.000Z', { question: 'Tam adres?' })
  const breached = ev('SlaBreached', '2026-11-25T06:00:01.000Z', { clock: 1, department: 'fen-isleri', dueAt: '2026-11-25T06:00:00.000Z' }, { kind: 'system', id: 'sla-scheduler' })
  const erasure = ev('PersonalDataErased', '2026-11-30T12:00:00.000Z', { destructionId: caseId, reason: 'erasure-request', legalBasis: 'KVKK m.7', requestReference: null, fields: ['ad'] }, { kind: 'staff', id: 'kvkk.sorumlusu' })
  const replied = ev('CitizenReplied', '2026-11-25T06:00:00.000Z', { text: 'No:12', channel: null })
  const loaded = loadedOf([
    [submitted, '2026-11-23T06:00:00.000Z'],
    [routed, '2026-11-23T06:00:00.000Z'],
    [asked, '2026-11-24T06:00:00.000Z'],
    [replied, '2026-11-25T06:00:00.000Z'],
    [breached, '2026-11-27T06:00:00.000Z'],
    [erasure, '2026-11-30T12:00:00.000Z'],
  ])

  const before = auditTimeline({ loaded, asOf: new Date('2026-11-23T05:59:59.999Z'), now: new Date('2026-12-01T00:00:00Z'), names, personalData: 'opened' })
  t.same(before, { kind: 'not-yet-recorded', firstRecordedAt: '2026-11-23T06:00:00.000Z' })

  const waiting = auditTimeline({ loaded, asOf: new Date('2026-11-24T12:00:00Z'), now: new Date('2026-12-01T00:00:00Z'), names, personalData: 'opened' })
  if (waiting.kind !== 'timeline') throw new Error('expected a timeline')
  t.same(waiting.steps.map((s) => s.revision), [0, 1, 2], 'the events recorded by the instant')
  t.match(waiting.steps[1]?.sla, 'SLA: 1. süre, son tarih 25.11.2026 09:00:00, kalan 2 gün, işliyor.', 'the clock as routed: 48 hours left')
  t.match(waiting.steps[2]?.sla, 'kalan 1 gün, DURDURULDU', 'a day used up, then paused')
  t.match(waiting.summary, 'Özet (24.11.2026 15:00:00 itibarıyla): K7MA-4PXR-9TK takip kodlu başvurunun durumu "Vatandaştan bilgi bekleniyor"; sorumlu birim Fen İşleri Müdürlüğü (fen-isleri); henüz kimse üstlenmedi.')
  t.match(waiting.summary, `Açık soru: [${ERASED_PERSONAL_TEXT}].`, 'erased after the instant: still erased')
  t.match(waiting.steps[0]?.what, `Başvuran: [${ERASED_PERSONAL_TEXT}]`)
  t.notOk(waiting.text.includes('Ayşe'), 'no erased name anywhere')
  t.match(waiting.text, 'Kişisel veriler: silindi (KVKK)')

  const all = auditTimeline({ loaded, now: new Date('2026-12-01T00:00:00Z'), names, personalData: 'opened' })
  if (all.kind !== 'timeline') throw new Error('expected a timeline')
  t.equal(all.steps.length, 6)
  t.match(all.steps[3]?.sla, 'son tarih 26.11.2026 09:00:00, kalan 1 gün, işliyor', 'the pause moved the due time a day later')
  t.match(all.steps[4]?.what, 'SLA ihlali')
  t.match(all.steps[4]?.sla, '1 gün gecikmede', 'recorded a day after the due time the pause had moved')
  t.match(all.steps[5]?.who, 'personel kvkk.sorumlusu')
  t.match(all.summary, 'Özet (şimdi, 01.12.2026 03:00:00 itibarıyla)')
  t.match(all.summary, 'SÜRE AŞILDI [ihlal kaydedildi]')
  t.match(all.summary, 'Kişisel veriler 30.11.2026 15:00:00 tarihinde silindi (KVKK).')
  t.match(all.summary, 'Revizyon 5 (akıştaki son olay #5, 6 olay)')
})
