import t from 'tap'
import {
  LANGUAGES,
  NOTIFICATION_CHANNELS,
  SMS_MAX_LENGTH,
  TEMPLATE_NAMES,
  TemplateError,
  formatInstant,
  renderMessage,
  truncateText,
  type TemplateContext,
  type TemplateName,
} from './templates.ts'

const full: TemplateContext = {
  trackingCode: '7K3M-Q9PX',
  citizenName: 'Ayşe Yılmaz',
  departmentNameTr: 'Fen İşleri Müdürlüğü',
  departmentNameEn: 'Directorate of Public Works',
  categoryNameTr: 'Yol çukuru ve yol hasarı',
  categoryNameEn: 'Pothole and road damage',
  expectedBy: '2026-11-24T14:30:00Z',
  question: 'Çukurun tam adresini paylaşabilir misiniz?',
  resolution: 'Çukur asfaltla kapatıldı.',
  reason: 'Söz konusu yol Karayolları sorumluluğundadır.',
  statusUrl: 'https://beyazmasa.example.bel.tr/b/7K3M-Q9PX',
}

// Only what the type requires: every optional phrase must disappear cleanly.
const minimal: TemplateContext = {
  trackingCode: '7K3M-Q9PX',
  departmentNameTr: 'Fen İşleri Müdürlüğü',
  departmentNameEn: 'Directorate of Public Works',
}

const FREE_FIELD: Partial<Record<TemplateName, 'question' | 'resolution' | 'reason'>> = {
  'info-requested': 'question',
  resolved: 'resolution',
  rejected: 'reason',
}

/** Things a sloppy template produces: unset values, empty quotes or labels, doubled punctuation or spaces. */
function defects(text: string): string[] {
  const found: string[] = []
  // A label may end an e-mail line ("Gerekçe:" above the text), but never stand before a blank line or the end.
  for (const bad of [/undefined/, /\bnull\b/, /NaN/, /Invalid Date/, /""/, /\(\s*\)/, /:\s*\./, /:[ \t]*(?:\n[ \t]*\n|$(?![\s\S]))/, /:[ \t]+$/m, /\.\./, / {2}/, / [.,]/]) {
    if (bad.test(text)) found.push(String(bad))
  }
  return found
}

t.test('every template renders on every channel in both languages, with the tracking code and nothing broken', async (t) => {
  for (const template of TEMPLATE_NAMES) {
    for (const channel of NOTIFICATION_CHANNELS) {
      for (const language of LANGUAGES) {
        for (const [label, context] of [
          ['full', full],
          ['minimal', minimal],
        ] as const) {
          const m = renderMessage(template, context, { channel, language })
          const where = `${template}/${channel}/${language}/${label}`
          t.equal(m.language, language, `${where}: language`)
          t.ok(m.text.includes('7K3M-Q9PX'), `${where}: tracking code in text`)
          t.ok(m.subject.includes('7K3M-Q9PX'), `${where}: tracking code in subject`)
          t.same(defects(m.text), [], `${where}: text has no defects`)
          t.same(defects(m.subject), [], `${where}: subject has no defects`)
          t.ok(m.text.includes(language === 'tr' ? 'Fen İşleri Müdürlüğü' : 'Directorate of Public Works'), `${where}: department named`)
          if (channel === 'sms') t.ok(m.text.length <= SMS_MAX_LENGTH, `${where}: SMS is ${m.text.length} ≤ ${SMS_MAX_LENGTH}`)
          if (channel !== 'email') t.notOk(m.text.includes('\n'), `${where}: short message is one line`)
          if (label === 'full') {
            t.ok(m.text.includes(full.statusUrl ?? '-'), `${where}: status link`)
            const field = FREE_FIELD[template]
            if (field !== undefined) t.ok(m.text.includes((full[field] ?? '-').replace(/\.$/, '')), `${where}: ${field} included`)
          } else {
            t.notOk(m.text.includes('http'), `${where}: no status link when none given`)
          }
        }
      }
    }
  }
})

t.test('the acknowledgement SMS reads as specified, without a suffix on the department name', async (t) => {
  const { categoryNameTr: _category, ...withoutCategory } = full
  const tr = renderMessage('acknowledgement', withoutCategory, { channel: 'sms', language: 'tr' })
  t.equal(
    tr.text,
    'Sayın Ayşe Yılmaz, başvurunuz alındı ve Fen İşleri Müdürlüğü tarafından incelenecektir. Takip kodunuz: 7K3M-Q9PX. ' +
      'Tahmini yanıt: 24 Kasım 2026 Salı 17:30. Durum: https://beyazmasa.example.bel.tr/b/7K3M-Q9PX',
  )
  t.notMatch(tr.text, /Müdürlüğü'/, 'no apostrophe suffix after the name')
  const withCategory = renderMessage('acknowledgement', full, { channel: 'sms', language: 'tr' })
  t.match(withCategory.text, /^Sayın Ayşe Yılmaz, "Yol çukuru ve yol hasarı" konulu başvurunuz alındı/)
  const noUrl = renderMessage('acknowledgement', minimal, { channel: 'sms', language: 'tr' })
  t.equal(noUrl.text, 'Sayın başvuru sahibi, başvurunuz alındı ve Fen İşleri Müdürlüğü tarafından incelenecektir. Takip kodunuz: 7K3M-Q9PX.')
  const en = renderMessage('acknowledgement', minimal, { channel: 'sms', language: 'en' })
  t.equal(en.text, 'Dear applicant, we have received your request and passed it to the responsible unit (Directorate of Public Works). Your tracking code: 7K3M-Q9PX.')
})

t.test('dates are shown in Istanbul time whatever the machine zone', async (t) => {
  const zone = process.env['TZ']
  t.teardown(() => {
    if (zone === undefined) delete process.env['TZ']
    else process.env['TZ'] = zone
  })
  // Node applies a changed TZ at once: the machine now believes it is in California.
  process.env['TZ'] = 'America/Los_Angeles'
  t.equal(new Date('2026-11-24T14:30:00Z').getHours(), 6, 'the process zone really changed')
  t.equal(formatInstant('2026-11-24T14:30:00Z', 'tr'), '24 Kasım 2026 Salı 17:30')
  t.equal(formatInstant('2026-11-24T14:30:00Z', 'en'), 'Tuesday, 24 November 2026 at 17:30')
  // Just before midnight UTC is already the next day in Istanbul (UTC+3 all year).
  t.equal(formatInstant('2026-12-31T21:15:00Z', 'tr'), '1 Ocak 2027 Cuma 00:15')
  t.equal(formatInstant('2026-11-24T17:30:00+03:00', 'tr'), '24 Kasım 2026 Salı 17:30', 'an offset instant is the same moment')
  const sms = renderMessage('acknowledgement', full, { channel: 'sms', language: 'tr' })
  t.match(sms.text, /Tahmini yanıt: 24 Kasım 2026 Salı 17:30\./)
  t.notMatch(sms.text, /14:30/)
  const email = renderMessage('acknowledgement', full, { channel: 'email', language: 'en' })
  t.match(email.text, /Expected response by: Tuesday, 24 November 2026 at 17:30 \(Istanbul time\)/)
})

t.test('a 3,000-character text is shortened with an ellipsis for SMS only; e-mail keeps all of it', async (t) => {
  const long = `Ekiplerimiz ${'yolu kazıp altyapıyı yeniledikten sonra asfaltı serdi ve sıkıştırdı, '.repeat(45)}iş tamamlandı SON`
  t.ok(long.length >= 3000, `resolution is ${long.length} characters`)
  for (const [template, field] of Object.entries(FREE_FIELD) as Array<[TemplateName, 'question' | 'resolution' | 'reason']>) {
    for (const language of LANGUAGES) {
      const context = { ...full, [field]: long }
      const sms = renderMessage(template, context, { channel: 'sms', language })
      t.ok(sms.text.length <= SMS_MAX_LENGTH, `${template}/${language}: SMS ${sms.text.length} ≤ ${SMS_MAX_LENGTH}`)
      t.match(sms.text, /…/, `${template}/${language}: ellipsis marks the cut`)
      t.notMatch(sms.text, /SON/, `${template}/${language}: the end of the text is cut`)
      t.match(sms.text, /Ekiplerimiz yolu kazıp/, `${template}/${language}: the start of the text stays`)
      t.ok(sms.text.includes('7K3M-Q9PX'), `${template}/${language}: tracking code survives`)
      const email = renderMessage(template, context, { channel: 'email', language })
      t.ok(email.text.includes(long), `${template}/${language}: e-mail has the whole text`)
      t.notMatch(email.text, /…/, `${template}/${language}: e-mail is not shortened`)
      const whatsapp = renderMessage(template, context, { channel: 'whatsapp', language })
      t.ok(whatsapp.text.includes(long), `${template}/${language}: WhatsApp has room for the whole text`)
    }
  }
})

t.test('long names and free text with line breaks still make a one-line SMS within the bound', async (t) => {
  const context: TemplateContext = {
    ...full,
    citizenName: 'Ayşe Gülşen Nur Yılmaz-Karaosmanoğlu Çelikkaya Öztürkmen Şahinbaşoğlu',
    departmentNameTr: 'Basın Yayın ve Halkla İlişkiler Müdürlüğü ile Bilgi İşlem ve Kurumsal İletişim Koordinasyon Birimi Başkanlığı',
    question: 'Birinci satır.\n\nİkinci   satır\r\nüçüncü satır',
  }
  for (const template of TEMPLATE_NAMES) {
    const sms = renderMessage(template, context, { channel: 'sms', language: 'tr' })
    t.ok(sms.text.length <= SMS_MAX_LENGTH, `${template}: ${sms.text.length}`)
    t.notMatch(sms.text, /\n| {2}/, `${template}: one line`)
    t.ok(sms.text.includes('7K3M-Q9PX'), `${template}: tracking code kept`)
  }
  const info = renderMessage('info-requested', { ...full, question: context.question ?? '' }, { channel: 'sms', language: 'tr' })
  t.match(info.text, /İstenen bilgi: Birinci satır\. İkinci satır üçüncü satır\./)
  const email = renderMessage('info-requested', context, { channel: 'email', language: 'tr' })
  t.match(email.text, /İstenen bilgi:\nBirinci satır\.\n\nİkinci {3}satır\nüçüncü satır/, 'e-mail keeps the line breaks')
})

t.test('e-mail has a subject, a closing with the municipality name, and Turkish characters intact', async (t) => {
  const tr = renderMessage('resolved', full, { channel: 'email', language: 'tr', municipalityName: 'Kadıköy Belediyesi' })
  t.equal(tr.subject, 'Başvurunuz sonuçlandırıldı (takip kodu: 7K3M-Q9PX)')
  t.match(tr.text, /^Sayın Ayşe Yılmaz,\n\n7K3M-Q9PX takip kodlu başvurunuz Fen İşleri Müdürlüğü tarafından sonuçlandırılmıştır\./)
  t.match(tr.text, /Yapılan işlem:\nÇukur asfaltla kapatıldı\./)
  t.match(tr.text, /Saygılarımızla,\nKadıköy Belediyesi Beyaz Masa\n/)
  const byDefault = renderMessage('resolved', minimal, { channel: 'email', language: 'tr' })
  t.match(byDefault.text, /Saygılarımızla,\nBelediye Beyaz Masa\n/)
  t.match(byDefault.text, /^Sayın başvuru sahibi,\n/)
  const en = renderMessage('rejected', full, { channel: 'email', language: 'en', municipalityName: 'Kadıköy Belediyesi' })
  t.equal(en.subject, 'About your request (tracking code 7K3M-Q9PX)')
  t.match(en.text, /Reason:\nSöz konusu yol Karayolları sorumluluğundadır\./)
  t.match(en.text, /Kind regards,\nKadıköy Belediyesi Beyaz Masa/)
  const enDefault = renderMessage('rejected', minimal, { channel: 'email', language: 'en' })
  t.match(enDefault.text, /Kind regards,\nMunicipality Beyaz Masa/)
})

t.test('each template says what happened', async (t) => {
  const sms = (template: TemplateName, context: TemplateContext = full) => renderMessage(template, context, { channel: 'sms', language: 'tr' }).text
  t.match(sms('duplicate-linked'), /7K3M-Q9PX takip kodlu başvurunuz, aynı konudaki önceki bir başvuruyla birleştirilmiştir/)
  t.match(sms('duplicate-linked', minimal), /aynı konudaki önceki bir başvuruyla birleştirilmiştir/)
  t.match(sms('info-requested'), /ek bilgi istenmektedir\. İstenen bilgi: Çukurun tam adresini paylaşabilir misiniz\?/)
  t.match(sms('info-requested', minimal), /ek bilgi istenmektedir\. Lütfen/)
  t.match(sms('resolved'), /sonuçlandırılmıştır\. Sonuç: Çukur asfaltla kapatıldı\. Bizi/)
  t.match(sms('rejected'), /olumlu sonuçlandırılamamıştır\. Gerekçe: Söz konusu yol Karayolları sorumluluğundadır\. Ayrıntılı/)
  t.match(sms('rejected', minimal), /olumlu sonuçlandırılamamıştır\. Ayrıntılı bilgi için Alo 153'ü arayabilirsiniz\.$/)
  t.match(sms('escalated'), /öngörülen sürede sonuçlandırılamadığından Fen İşleri Müdürlüğü bünyesinde üst yönetime iletilmiş/)
  t.match(renderMessage('escalated', full, { channel: 'sms', language: 'en' }).text, /escalated to the management of the responsible unit \(Directorate of Public Works\)/)
})

t.test('blank optional fields count as absent', async (t) => {
  const context: TemplateContext = { ...minimal, citizenName: '   ', categoryNameTr: '', question: ' \n ', statusUrl: '' }
  const m = renderMessage('info-requested', context, { channel: 'sms', language: 'tr' })
  t.match(m.text, /^Sayın başvuru sahibi, 7K3M-Q9PX takip kodlu/)
  t.notMatch(m.text, /İstenen bilgi/)
  t.notMatch(m.text, /Durum:/)
})

t.test('a broken context is a TemplateError, not a broken message', async (t) => {
  t.throws(() => renderMessage('acknowledgement', { ...minimal, trackingCode: ' ' }, { channel: 'sms', language: 'tr' }), TemplateError)
  t.throws(() => renderMessage('acknowledgement', { ...minimal, departmentNameEn: '' }, { channel: 'email', language: 'en' }), TemplateError)
  t.throws(() => renderMessage('acknowledgement', { ...minimal, expectedBy: 'next Tuesday' }, { channel: 'sms', language: 'tr' }), TemplateError)
  t.throws(() => renderMessage('acknowledgement', { ...minimal, expectedBy: '2026-11-24' }, { channel: 'sms', language: 'tr' }), /ISO instant/)
})

t.test('truncateText', async (t) => {
  t.equal(truncateText('kısa', 10), 'kısa')
  t.equal(truncateText('abcdefghij', 5), 'abcd…')
  t.equal(truncateText('Çukur asfaltla kapatıldı ve yol açıldı', 30), 'Çukur asfaltla kapatıldı ve…')
  t.ok(truncateText('x'.repeat(500), 40).length <= 40)
  const emoji = truncateText(`ab${'😀'.repeat(10)}`, 4)
  t.notMatch(emoji, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/, 'no lone high surrogate')
  t.ok(emoji.length <= 4)
})
