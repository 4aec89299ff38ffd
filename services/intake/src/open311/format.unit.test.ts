import t from 'tap'
import { escapeXml, istanbulDateTime, toJson, toXml } from './format.ts'

t.test('XML text is escaped and cleared of what XML 1.0 cannot carry', async (t) => {
  t.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;')
  t.equal(escapeXml('zil\u0007 sesi\u0000'), 'zil sesi', 'control characters are dropped')
  t.equal(escapeXml('tab\tsatır\nsonu\r'), 'tab\tsatır\nsonu\r', 'tab, LF and CR stay')
  t.equal(escapeXml('kedi 🐈'), 'kedi 🐈', 'a surrogate pair stays')
  t.equal(escapeXml('yarım \uD83D'), 'yarım ', 'a lone surrogate goes')
  t.equal(escapeXml('Çukur ığdır'), 'Çukur ığdır')
})

t.test('one document model, two formats: element order, nested lists, empty values', async (t) => {
  const doc = { root: 'service_requests', item: 'request', items: [{ service_request_id: 'K7MA', status: 'open', expected_datetime: null, notes: [{ datetime: 'x', type: 'opened' }], skipped: undefined }] }
  t.equal(toXml(doc), '<?xml version="1.0" encoding="UTF-8"?><service_requests><request><service_request_id>K7MA</service_request_id><status>open</status><expected_datetime/><notes><note><datetime>x</datetime><type>opened</type></note></notes></request></service_requests>')
  t.equal(toJson(doc), '[{"service_request_id":"K7MA","status":"open","expected_datetime":null,"notes":[{"datetime":"x","type":"opened"}]}]')
  t.equal(toXml({ root: 'discovery', record: { formats: ['text/xml'], flag: true, n: 2 } }), '<?xml version="1.0" encoding="UTF-8"?><discovery><formats><format>text/xml</format></formats><flag>true</flag><n>2</n></discovery>')
})

t.test('instants in Istanbul time with the offset of their day', async (t) => {
  t.equal(istanbulDateTime(Date.parse('2026-11-20T09:15:00.750Z')), '2026-11-20T12:15:00+03:00', 'seconds, no fraction')
  t.equal(istanbulDateTime(Date.parse('2026-12-31T22:30:00Z')), '2027-01-01T01:30:00+03:00', 'across midnight and the year')
  t.equal(istanbulDateTime(Date.parse('2015-01-10T10:00:00Z')), '2015-01-10T12:00:00+02:00', 'winter time before 2016')
  t.equal(istanbulDateTime(Date.parse('2015-07-10T10:00:00Z')), '2015-07-10T13:00:00+03:00', 'summer time before 2016')
})
