// Turkish names of the codes the APIs answer with. A unit test checks that every status,
// channel, request kind and case event type of @civic-desk/contracts has one here.

/** @type {Readonly<Record<string, string>>} */
export const STATUS = Object.freeze({
  submitted: 'Alındı',
  routed: 'Yönlendirildi',
  in_progress: 'Üzerinde çalışılıyor',
  waiting_for_citizen: 'Vatandaştan bilgi bekleniyor',
  resolved: 'Çözüldü',
  rejected: 'Reddedildi',
  closed: 'Kapatıldı',
})

/** @type {Readonly<Record<string, string>>} */
export const CHANNEL = Object.freeze({
  'call-center': 'Alo 153 çağrı merkezi',
  whatsapp: 'WhatsApp',
  web: 'Web',
  email: 'E-posta',
  'walk-in': 'Beyaz Masa (yüz yüze)',
  'mobile-team': 'Saha ekibi',
  'social-media': 'Sosyal medya',
  cimer: 'CİMER',
  petition: 'Dilekçe',
  'mobile-app': 'Mobil uygulama',
})

/** @type {Readonly<Record<string, string>>} */
export const KIND = Object.freeze({
  request: 'Talep',
  complaint: 'Şikâyet',
  suggestion: 'Öneri',
  tip: 'İhbar',
  information: 'Bilgi edinme',
  appreciation: 'Teşekkür',
})

/** @type {Readonly<Record<string, string>>} */
export const EVENT_TYPE = Object.freeze({
  CaseSubmitted: 'Başvuru alındı',
  CaseRouted: 'Birime yönlendirildi',
  CaseMarkedDuplicate: 'Mükerrer başvuru olarak işaretlendi',
  CaseAccepted: 'Birim tarafından üstlenildi',
  CaseWorkStarted: 'Çalışmaya başlandı',
  CaseNoteAdded: 'Not eklendi',
  CitizenInfoRequested: 'Vatandaştan bilgi istendi',
  CitizenReplied: 'Vatandaş yanıt verdi',
  CaseTransferred: 'Başka birime aktarıldı',
  CaseResolved: 'Çözüldü',
  CaseRejected: 'Reddedildi',
  CaseClosed: 'Kapatıldı',
  CaseReopened: 'Yeniden açıldı',
  SlaWarningRaised: 'Süre uyarısı (%75)',
  SlaBreached: 'Süre aşıldı',
  CaseEscalated: 'Üst yöneticiye iletildi',
  CitizenNotified: 'Vatandaşa bildirim gönderildi',
  NotificationFailed: 'Bildirim gönderilemedi',
  WorkflowStepRecorded: 'İş akışı adımı kaydedildi',
  CaseDuplicateUnlinked: 'Mükerrer bağlantısı kaldırıldı',
  PersonalDataErased: 'Kişisel veriler silindi (KVKK)',
})

/** @type {Readonly<Record<string, string>>} */
export const SLA_LEVEL = Object.freeze({
  'on-track': 'Zamanında',
  warning: 'Uyarı',
  breached: 'Süresi aşıldı',
  paused: 'Süre durduruldu',
  none: 'Süre tanımsız',
})

/** Who reads the case events (`/v1/ops/streams`). @type {Readonly<Record<string, string>>} */
export const CONSUMER_KIND = Object.freeze({
  store: 'Olay deposu',
  kafka: 'Kafka',
})

/** Why a message was dead-lettered. @type {Readonly<Record<string, string>>} */
export const DEAD_LETTER_KIND = Object.freeze({
  invalid: 'Geçersiz ileti',
  failed: 'İşlenemedi',
})

/** @type {Readonly<Record<string, string>>} */
export const ACTOR_KIND = Object.freeze({
  channel: 'Kanal',
  staff: 'Personel',
  citizen: 'Vatandaş',
  service: 'Sistem servisi',
  system: 'Sistem',
})

/** @type {Readonly<Record<string, string>>} */
export const SLA_FIELD = Object.freeze({
  open: 'Açık',
  dueWithin24h: '24 saat içinde dolacak',
  breached: 'Süresi aşıldı',
  escalated: 'Üst yöneticiye iletildi',
})

/**
 * The Turkish name of `code` in `table`, else the code itself (a newer server may know more codes).
 * @param {Readonly<Record<string, string>>} table
 * @param {string | null | undefined} code
 * @returns {string}
 */
export function label(table, code) {
  if (code === null || code === undefined || code === '') return '—'
  return Object.hasOwn(table, code) ? /** @type {string} */ (table[code]) : code
}
