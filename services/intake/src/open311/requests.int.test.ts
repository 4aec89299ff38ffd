// Filing and reading requests over Open311 against a real SQLite store: POST as form data with an
// api_key, GET requests (filters, window, pages, one request), the notes extension and the
// FixMyStreet updates feed; every bad parameter answered with a spec-shaped error that stores nothing;
// and the same request seen through the civic-desk API and the dashboards' read model.
import t from 'tap'
import { caseIdForTrackingCode, parseTrackingCode, type CaseCommand } from '@civic-desk/case-domain'
import { caseStreamId, decodeCaseEvent } from '@civic-desk/case-feed'
import { evolveCase, type CaseDoc } from '@civic-desk/read-models'
import { T0, at, childOf, form, names, open311Env, parseXml, textOf, type Open311Env } from './open311.testing.ts'

const REQUEST_ELEMENTS = [
  'service_request_id',
  'status',
  'status_notes',
  'service_name',
  'service_code',
  'agency_responsible',
  'service_notice',
  'requested_datetime',
  'updated_datetime',
  'expected_datetime',
  'address',
]

const ISTANBUL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/

/** An injured cat reported from the municipality's app, with every kind of field. */
const animalForm = (extra: Array<[string, string]> = []): Array<[string, string]> => [
  ['api_key', 'mobil-anahtar-1'],
  ['service_code', 'yarali-hayvan'],
  ['lat', '38.4697'],
  ['long', '27.2160'],
  ['address_string', 'Kazımdirik Mah. 372 Sk. No 5'],
  ['attribute[hayvan-turu]', 'kedi'],
  ['attribute[saldirgan]', 'hayir'],
  ['attribute[goruldugu-an]', '2026-11-20T11:50:00+03:00'],
  ['first_name', 'Ayşe'],
  ['last_name', 'Yılmaz'],
  ['phone', '0532 111 22 33'],
  ['email', 'ayse@example.org'],
  ['description', 'Arabanın çarptığı kedi kaldırımda yatıyor.'],
  ['device_id', 'cihaz-42'],
  ['client_reference', 'rapor-1001'],
  ...extra,
]

async function file(env: Open311Env, pairs: Array<[string, string]>, format: 'xml' | 'json' = 'xml') {
  return env.app.inject({ method: 'POST', url: `/open311/v2/requests.${format}`, ...form(pairs) })
}

const route = (minutes: number) => (meta: CaseCommand['meta']): CaseCommand => ({
  type: 'RouteCase',
  meta,
  data: { department: 'veteriner', category: 'yarali-hayvan', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: at(minutes), deadline: { hours: 6 }, basis: 'category', dueAt: at(minutes + 360) }, legalDueAt: null },
})

t.test('a request filed as form data with attributes and a location gets its tracking code and a notice, and is stored as the app channel', async (t) => {
  const env = await open311Env(t)
  const res = await file(env, animalForm([['account_id', 'hesap-7']]))
  t.equal(res.statusCode, 201)
  t.equal(res.headers['content-type'], 'text/xml; charset=utf-8')
  const root = parseXml(res.body)
  t.equal(root.name, 'service_requests')
  const request = childOf(root, 'request')
  t.same(names(request), ['service_request_id', 'service_notice', 'account_id'])
  const code = textOf(request, 'service_request_id')
  t.ok(parseTrackingCode(code).ok, `${code} is a tracking code`)
  t.equal(textOf(request, 'service_notice'), 'Veteriner İşleri Müdürlüğü başvurunuzu en geç 6 saat içinde yanıtlar. Durumunu takip kodunuzla izleyebilirsiniz.')
  t.equal(textOf(request, 'account_id'), 'hesap-7')

  const stored = (await env.store.readStream(caseStreamId(caseIdForTrackingCode(code)))).map(decodeCaseEvent)
  t.equal(stored.length, 1)
  const submitted = stored[0]!
  if (submitted.type !== 'CaseSubmitted') throw new Error('not a submission')
  t.match(submitted.data, {
    trackingCode: code,
    channel: 'mobile-app',
    kind: 'request',
    category: 'yarali-hayvan',
    description: 'Arabanın çarptığı kedi kaldırımda yatıyor.',
    location: { address: 'Kazımdirik Mah. 372 Sk. No 5', lat: 38.4697, lon: 27.216 },
    citizen: { name: 'Ayşe Yılmaz', phone: '+905321112233', email: 'ayse@example.org' },
    answers: { 'hayvan-turu': 'kedi', saldirgan: 'hayir', 'goruldugu-an': '2026-11-20T11:50:00+03:00' },
  })
  t.match(submitted.data.externalId, /^open311:[0-9a-f]{64}$/)
  t.same(submitted.actor, { kind: 'channel', id: 'belediye-mobil' })

  const json = await file(env, [['api_key', 'dev-channel'], ['service_code', 'gurultu'], ['address_id', 'ADR-1'], ['attribute[kaynak][]', 'insaat'], ['attribute[kaynak][]', 'arac'], ['attribute[saatler]', 'Her gece 23.00’ten sonra']], 'json')
  t.equal(json.statusCode, 201)
  const [receipt] = json.json<Array<{ service_request_id: string; service_notice: string; account_id: null }>>()
  t.same(Object.keys(receipt!), ['service_request_id', 'service_notice', 'account_id'])
  t.equal(receipt!.account_id, null)
  const noise = (await env.store.readStream(caseStreamId(caseIdForTrackingCode(receipt!.service_request_id)))).map(decodeCaseEvent)[0]!
  t.match(noise.data, { channel: 'web', description: 'Gürültü şikâyeti', location: { address: 'Adres kodu: ADR-1' }, answers: { kaynak: ['insaat', 'arac'] } })
  t.notOk('citizen' in noise.data, 'no name, phone or e-mail: an anonymous request')
})

t.test('a retried request (same device_id and client_reference) finds its case; the same reference with another body is refused', async (t) => {
  const env = await open311Env(t)
  const first = await file(env, animalForm())
  const again = await file(env, animalForm())
  t.equal(first.statusCode, 201)
  t.equal(again.statusCode, 200, 'the retry is answered from the existing case')
  t.equal(textOf(childOf(parseXml(again.body), 'request'), 'service_request_id'), textOf(childOf(parseXml(first.body), 'request'), 'service_request_id'))
  t.equal(await env.store.headPosition(), 1, 'one case, one event')

  const changed = await file(env, animalForm().map(([k, v]): [string, string] => (k === 'description' ? [k, 'Başka bir kedi'] : [k, v])))
  t.equal(changed.statusCode, 409)
  t.match(textOf(childOf(parseXml(changed.body), 'error'), 'description'), /daha önce farklı bir başvuru/)

  // Without a client reference, the same content from the same device is the same request (a double tap)…
  const noRef = animalForm().filter(([k]) => k !== 'client_reference')
  t.equal((await file(env, noRef)).statusCode, 201)
  t.equal((await file(env, noRef)).statusCode, 200)
  // …and without a device id every request is a new one.
  const anonymousDevice = noRef.filter(([k]) => k !== 'device_id')
  t.equal((await file(env, anonymousDevice)).statusCode, 201)
  t.equal((await file(env, anonymousDevice)).statusCode, 201)
  t.equal(await env.store.headPosition(), 4)
})

t.test('every bad parameter of POST requests is a spec-shaped error and stores nothing', async (t) => {
  const env = await open311Env(t, { jurisdiction: 'bornova.bel.tr' })
  const without = (name: string) => animalForm().filter(([k]) => k !== name)
  const replace = (name: string, value: string) => animalForm().map(([k, v]): [string, string] => (k === name ? [k, value] : [k, v]))
  const cases: Array<[string, Array<[string, string]>, number, RegExp]> = [
    ['no api_key', without('api_key'), 403, /api_key eksik/],
    ['unknown api_key', replace('api_key', 'tahmin-edilen'), 403, /api_key geçerli değil/],
    ['a key of another role', replace('api_key', 'dev-operator'), 403, /bir başvuru kanalına bağlı değil/],
    ['a channel key without a channel', replace('api_key', 'kanalsiz-anahtar'), 403, /bir başvuru kanalına bağlı değil/],
    ['no service_code', without('service_code'), 400, /service_code eksik/],
    ['an unknown service', replace('service_code', 'yok-boyle'), 404, /service_code 'yok-boyle' bulunamadı/],
    ['no location', without('lat').filter(([k]) => k !== 'long' && k !== 'address_string'), 400, /Konum eksik/],
    ['lat out of range', replace('lat', '91'), 400, /lat geçersiz/],
    ['long not a number', replace('long', '27,21'), 400, /long geçersiz/],
    ['lat without long', without('long'), 400, /lat ve long birlikte verilmeli/],
    ['an unknown attribute', [...animalForm(), ['attribute[renk]', 'sarı']], 400, /attribute\[renk\] geçersiz: bu hizmetin böyle bir sorusu yok/],
    ['a value outside the list', replace('attribute[hayvan-turu]', 'zürafa'), 400, /attribute\[hayvan-turu\] geçersiz: şunlardan biri olmalı: kedi, kopek, kus, diger/],
    ['a datetime that is not one', replace('attribute[goruldugu-an]', 'dün akşam'), 400, /attribute\[goruldugu-an\] geçersiz: saat dilimli ISO 8601/],
    ['a required attribute missing', without('attribute[hayvan-turu]'), 400, /attribute\[hayvan-turu\] geçersiz: zorunlu soru yanıtlanmadı: Hangi hayvan\?/],
    ['a bad phone number', replace('phone', '12'), 400, /phone geçersiz/],
    ['a bad e-mail address', replace('email', 'ayse@'), 400, /email geçersiz/],
    ['a media_url that is no URL', [...animalForm(), ['media_url', 'foto.jpg']], 400, /media_url geçersiz/],
    ['a field given twice', [...animalForm(), ['service_code', 'gurultu']], 400, /service_code parametresi bir kez verilmeli/],
    ['another jurisdiction', [...animalForm(), ['jurisdiction_id', 'konak.bel.tr']], 404, /jurisdiction_id 'konak.bel.tr' bulunamadı/],
  ]
  for (const [label, pairs, status, description] of cases) {
    for (const format of ['xml', 'json'] as const) {
      const res = await file(env, pairs, format)
      t.equal(res.statusCode, status, `${label} (${format})`)
      const errors = format === 'xml' ? childOf(parseXml(res.body), 'error') : undefined
      const first = format === 'json' ? res.json<Array<{ code: number; description: string }>>()[0] : { code: Number(textOf(errors!, 'code')), description: textOf(errors!, 'description') }
      t.equal(first?.code, status, `${label} (${format}): code`)
      t.match(first?.description, description, `${label} (${format}): description`)
    }
  }
  const numberAsText = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', ...form([['api_key', 'dev-channel'], ['service_code', 'yol-cukur'], ['lat', '38.46'], ['long', '27.21'], ['attribute[derinlik-cm]', 'derin']]) })
  t.same(numberAsText.json(), [{ code: 400, description: 'attribute[derinlik-cm] geçersiz: sayı olmalı (ör. 12 veya 3.5).' }])
  const several = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', ...form([['api_key', 'dev-channel'], ['service_code', 'yol-cukur'], ['lat', '95'], ['long', '200']]) })
  t.equal(several.json<unknown[]>().length, 2, 'every bad field is named')
  const jsonBody = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', payload: { api_key: 'dev-channel' } })
  t.equal(jsonBody.statusCode, 400)
  t.match(jsonBody.json(), [{ code: 400, description: /x-www-form-urlencoded/ }])
  const multipart = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', payload: '--x\r\n', headers: { 'content-type': 'multipart/form-data; boundary=x' } })
  t.equal(multipart.statusCode, 415)
  t.same(multipart.json(), [{ code: 415, description: 'İstek gövdesi application/x-www-form-urlencoded olmalı.' }])
  const huge = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.xml', ...form([...animalForm(), ['description', 'ç'.repeat(70_000)]]) })
  t.equal(huge.statusCode, 413)
  t.equal(textOf(childOf(parseXml(huge.body), 'error'), 'code'), '413')
  const wrongSuffix = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.html', ...form(animalForm()) })
  t.equal(wrongSuffix.statusCode, 400)
  t.equal(parseXml(wrongSuffix.body).name, 'errors')
  t.equal(await env.store.headPosition(), 0, 'nothing was stored')
})

t.test('GET requests shows a filed request with its due time, then closed after staff resolve it, with notes and updates; never personal data', async (t) => {
  const env = await open311Env(t)
  const filed = await file(env, animalForm())
  const code = textOf(childOf(parseXml(filed.body), 'request'), 'service_request_id')
  const caseId = caseIdForTrackingCode(code)
  await env.act(caseId, 1, route(1))
  await env.act(caseId, 2, (meta) => ({ type: 'AcceptCase', meta, data: { assignee: 'vet.ekip' } }))
  await env.settle()

  const list = await env.app.inject({ method: 'GET', url: '/open311/v2/requests.xml' })
  t.equal(list.statusCode, 200)
  const root = parseXml(list.body)
  t.equal(root.name, 'service_requests')
  const request = childOf(root, 'request')
  t.same(names(request), REQUEST_ELEMENTS, "elements in the spec's order (description, coordinates, street address and media are never shown)")
  t.equal(textOf(request, 'service_request_id'), code)
  t.equal(textOf(request, 'status'), 'open')
  t.equal(textOf(request, 'status_notes'), 'Başvurunuz birim tarafından ele alındı')
  t.equal(textOf(request, 'service_name'), 'Yaralı veya hasta hayvan')
  t.equal(textOf(request, 'service_code'), 'yarali-hayvan')
  t.equal(textOf(request, 'agency_responsible'), 'Veteriner İşleri Müdürlüğü')
  t.equal(textOf(request, 'requested_datetime'), '2026-11-20T12:15:00+03:00', 'Istanbul time with its offset')
  t.equal(textOf(request, 'updated_datetime'), '2026-11-20T12:17:00+03:00')
  t.equal(textOf(request, 'expected_datetime'), '2026-11-20T18:16:00+03:00', 'routed at +1 min with 6 hours')
  t.equal(textOf(request, 'address'), '', 'no neighbourhood given: no address; the street address is personal')
  for (const personal of ['Ayşe', 'Yılmaz', '532', 'ayse@example.org', '38.4697', '372 Sk', 'Arabanın', 'cihaz-42', 'rapor-1001', 'vet.ekip']) {
    t.notMatch(list.body, personal, `no ${personal}`)
  }

  await env.act(caseId, 30, (meta) => ({ type: 'ResolveCase', meta, data: { resolution: 'Kedi Ayşe Hanım’ın evinden alınıp tedaviye götürüldü.' } }))
  await env.settle()
  const one = await env.app.inject({ method: 'GET', url: `/open311/v2/requests/${code.toLowerCase()}.json?extensions=true` })
  t.equal(one.statusCode, 200)
  const [resolved] = one.json<Array<Record<string, unknown>>>()
  t.same(Object.keys(resolved!), [...REQUEST_ELEMENTS, 'notes'])
  t.equal(resolved!['status'], 'closed')
  t.equal(resolved!['expected_datetime'], null, 'answered: nothing more is expected')
  t.equal(resolved!['updated_datetime'], '2026-11-20T12:45:00+03:00')
  t.same(resolved!['notes'], [
    { datetime: '2026-11-20T12:15:00+03:00', description: 'Başvurunuz alındı', type: 'opened' },
    { datetime: '2026-11-20T12:16:00+03:00', description: 'Başvurunuz ilgili birime yönlendirildi: Veteriner İşleri Müdürlüğü', type: 'activity' },
    { datetime: '2026-11-20T12:17:00+03:00', description: 'Başvurunuz birim tarafından ele alındı', type: 'activity' },
    { datetime: '2026-11-20T12:45:00+03:00', description: 'Başvurunuz sonuçlandı. Yanıtı takip kodunuzla başvurunuza bakarak okuyabilirsiniz.', type: 'closed' },
  ])
  t.notMatch(one.body, 'Ayşe', 'the resolution text (personal) is not shown')

  const xmlNotes = childOf(childOf(parseXml((await env.app.inject({ method: 'GET', url: `/open311/v2/requests/${code}.xml?extensions=true` })).body), 'request'), 'notes')
  t.same(xmlNotes.children.map((n) => [n.name, names(n)]), Array.from({ length: 4 }, () => ['note', ['datetime', 'description', 'type']]))

  env.setNow(new Date(T0.getTime() + 60 * 60_000))
  const updates = await env.app.inject({ method: 'GET', url: '/open311/v2/servicerequestupdates.xml?start_date=2026-11-20T12:00:00%2B03:00&end_date=2026-11-20T13:00:00%2B03:00' })
  t.equal(updates.statusCode, 200)
  const feed = parseXml(updates.body)
  t.equal(feed.name, 'service_request_updates')
  t.same(
    feed.children.map((u) => [u.name, names(u), textOf(u, 'update_id'), textOf(u, 'status'), textOf(u, 'external_status_code'), textOf(u, 'updated_datetime')]),
    [
      ['request_update', ['update_id', 'service_request_id', 'status', 'updated_datetime', 'description', 'media_url', 'external_status_code'], `${code}.1`, 'open', 'routed', '2026-11-20T12:16:00+03:00'],
      ['request_update', ['update_id', 'service_request_id', 'status', 'updated_datetime', 'description', 'media_url', 'external_status_code'], `${code}.2`, 'open', 'in_progress', '2026-11-20T12:17:00+03:00'],
      ['request_update', ['update_id', 'service_request_id', 'status', 'updated_datetime', 'description', 'media_url', 'external_status_code'], `${code}.3`, 'closed', 'resolved', '2026-11-20T12:45:00+03:00'],
    ],
  )
  const later = await env.app.inject({ method: 'GET', url: '/open311/v2/servicerequestupdates.json?start_date=2026-11-20T09:30:00Z' })
  t.same(later.json<Array<{ update_id: string }>>().map((u) => u.update_id), [`${code}.3`], 'only what changed since start_date')
})

t.test('GET requests filters by ids, service, status and window, pages, and refuses bad parameters', async (t) => {
  const env = await open311Env(t)
  const codes: string[] = []
  // Five pothole reports and two noise complaints, one minute apart.
  for (let i = 0; i < 7; i++) {
    env.setNow(new Date(T0.getTime() + i * 60_000))
    const service = i < 5 ? 'yol-cukur' : 'gurultu'
    const res = await file(env, [['api_key', 'dev-channel'], ['service_code', service], ['lat', '38.46'], ['long', '27.21'], ['device_id', 'd'], ['client_reference', String(i)]], 'json')
    codes.push(res.json<Array<{ service_request_id: string }>>()[0]!.service_request_id)
  }
  await env.act(caseIdForTrackingCode(codes[0]!), 10, (meta) => ({
    type: 'RouteCase',
    meta,
    data: { department: 'fen-isleri', category: 'yol-cukur', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: at(10), deadline: { hours: 48 }, basis: 'category', dueAt: at(10 + 2880) }, legalDueAt: null },
  }))
  await env.act(caseIdForTrackingCode(codes[0]!), 11, (meta) => ({ type: 'RejectCase', meta, data: { reasonCode: 'out-of-jurisdiction', reason: 'Karayolları sorumluluğunda' } }))
  await env.settle()
  env.setNow(new Date(T0.getTime() + 3600_000))
  const ids = async (query: string): Promise<string[]> => {
    const res = await env.app.inject({ method: 'GET', url: `/open311/v2/requests.json${query}` })
    t.equal(res.statusCode, 200, query)
    return res.json<Array<{ service_request_id: string }>>().map((r) => r.service_request_id)
  }
  t.same(await ids(''), [...codes].reverse(), 'newest first')
  t.same(await ids('?service_code=gurultu'), [codes[6], codes[5]])
  t.same(await ids('?service_code=gurultu,yol-cukur&page_size=3'), [codes[6], codes[5], codes[4]])
  t.same(await ids('?status=closed'), [codes[0]])
  t.same(await ids('?status=open&service_code=yol-cukur'), [codes[4], codes[3], codes[2], codes[1]])
  t.same(await ids('?status=open,closed&page_size=2&page=2'), [codes[4], codes[3]])
  t.same(await ids('?page_size=5&page=3'), [])
  t.same(await ids(`?start_date=2026-11-20T12:16:00%2B03:00&end_date=2026-11-20T09:18:00Z`), [codes[3], codes[2], codes[1]])
  t.same(await ids(`?service_request_id=${codes[2]},${codes[5]!.toLowerCase()},K7MA-4PXR-9TK&status=closed`), [codes[2], codes[5]], 'ids override the other filters; an unknown one is left out')
  t.same(await ids('?start_date=2026-08-01T00:00:00Z'), [], 'a window of 90 days from start_date, before the requests')
  t.same(await ids('?start_date=2026-11-20T12:16:00+03:00&end_date=2026-11-20T12:18:00+03:00'), [codes[3], codes[2], codes[1]], 'a + typed unencoded reads as the offset')

  const rejected = (await env.app.inject({ method: 'GET', url: `/open311/v2/requests/${codes[0]}.json` })).json<Array<Record<string, unknown>>>()[0]!
  t.equal(rejected['status_notes'], 'Başvurunuz reddedildi: konu belediyemizin sorumluluk alanı dışında.')
  t.notMatch(JSON.stringify(rejected), 'Karayolları', "staff's reason text is personal data")

  const bad: Array<[string, number, RegExp]> = [
    ['?start_date=2026-01-01T00:00:00Z&end_date=2026-11-20T00:00:00Z', 400, /en fazla 90 gün/],
    ['?start_date=20.11.2026', 400, /start_date geçersiz/],
    ['?end_date=2026-11-20', 400, /end_date geçersiz/],
    ['?start_date=2026-11-20T10:00:00Z&end_date=2026-11-20T09:00:00Z', 400, /start_date, end_date tarihinden sonra olamaz/],
    ['?status=pending', 400, /status geçersiz/],
    ['?page_size=1001', 400, /page_size geçersiz/],
    ['?page=0', 400, /page geçersiz/],
    ['?extensions=yes', 400, /extensions geçersiz/],
    ['?service_code=yok-boyle', 404, /service_code 'yok-boyle' bulunamadı/],
    ['?service_request_id=ABC', 400, /service_request_id geçersiz/],
  ]
  for (const [query, status, description] of bad) {
    for (const format of ['xml', 'json'] as const) {
      const res = await env.app.inject({ method: 'GET', url: `/open311/v2/requests.${format}${query}` })
      t.equal(res.statusCode, status, `${query} (${format})`)
      const description_ = format === 'json' ? res.json<Array<{ description: string }>>()[0]?.description : textOf(childOf(parseXml(res.body), 'error'), 'description')
      t.match(description_, description, `${query} (${format})`)
    }
  }
  t.equal((await env.app.inject({ method: 'GET', url: '/open311/v2/requests/K7MA-4PXR-9TK.xml' })).statusCode, 404, 'a valid code nobody has')
  t.equal((await env.app.inject({ method: 'GET', url: '/open311/v2/requests/K7MA-4PXR-9TX.xml' })).statusCode, 400, 'a mistyped code')
  t.equal((await env.app.inject({ method: 'GET', url: '/open311/v2/servicerequestupdates.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-20T00:00:00Z' })).statusCode, 400)
})

t.test('a request filed over Open311 shows up the same in the civic-desk API and in the dashboards read model', async (t) => {
  const env = await open311Env(t)
  const filed = await file(env, animalForm(), 'json')
  const code = filed.json<Array<{ service_request_id: string }>>()[0]!.service_request_id
  const caseId = caseIdForTrackingCode(code)
  await env.act(caseId, 1, route(1))
  await env.act(caseId, 5, (meta) => ({ type: 'RequestInfo', meta, data: { question: 'Kedi hangi sokakta?' } }))
  await env.act(caseId, 65, (meta) => ({ type: 'RecordCitizenReply', meta, data: { text: '372. sokak', channel: 'mobile-app' } }))
  await env.settle()

  const open311 = (await env.app.inject({ method: 'GET', url: `/open311/v2/requests/${code}.json` })).json<Array<Record<string, string | null>>>()[0]!
  const view = (await env.app.inject({ method: 'GET', url: `/v1/requests/${code}` })).json<{ status: string; category: { code: string; nameTr: string }; department: { nameTr: string }; submittedAt: string; updatedAt: string; expectedBy: string | null; timeline: Array<{ textTr: string }> }>()
  t.equal(open311['status'], 'open')
  t.equal(view.status, 'routed')
  t.equal(open311['service_code'], view.category.code)
  t.equal(open311['service_name'], view.category.nameTr)
  t.equal(open311['agency_responsible'], view.department.nameTr)
  t.equal(Date.parse(open311['requested_datetime']!), Date.parse(view.submittedAt))
  t.equal(Date.parse(open311['updated_datetime']!), Date.parse(view.updatedAt))
  t.ok(view.expectedBy !== null)
  t.equal(Date.parse(open311['expected_datetime']!), Date.parse(view.expectedBy!), 'the due time, moved by the hour the case waited on the citizen')
  t.equal(open311['status_notes'], view.timeline.at(-1)?.textTr, 'the last step of the public timeline')

  // The dashboards' read model, folded from the same stored events.
  const records = await env.store.readStream(caseStreamId(caseId))
  let doc: CaseDoc | null = null
  records.forEach((r, i) => (doc = evolveCase(doc, { caseId, position: i + 1, event: decodeCaseEvent(r) })))
  const dashboard = doc as CaseDoc | null
  t.equal(dashboard?.trackingCode, code)
  t.equal(dashboard?.channel, 'mobile-app')
  t.equal(dashboard?.category, 'yarali-hayvan')
  t.equal(dashboard?.department, 'veteriner')
  t.equal(dashboard?.status, 'routed')
  t.equal(Date.parse(dashboard?.dueAt ?? ''), Date.parse(open311['expected_datetime']!))
  t.match(open311['requested_datetime'], ISTANBUL)
})

t.test('POST /v1/requests asks and checks the same questions', async (t) => {
  const env = await open311Env(t)
  const body = { channel: 'call-center', kind: 'tip', category: 'yarali-hayvan', description: 'Parkta yaralı bir köpek var.' }
  const missing = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: body })
  t.equal(missing.statusCode, 400)
  t.match(missing.json(), { errors: [{ field: 'answers.hayvan-turu', message: /required/ }] })
  const wrong = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: { ...body, answers: { 'hayvan-turu': 'kopek', saldirgan: true } } })
  t.equal(wrong.statusCode, 400)
  const fine = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: { ...body, answers: { 'hayvan-turu': 'kopek', saldirgan: 'evet' } } })
  t.equal(fine.statusCode, 201)
  const stored = decodeCaseEvent((await env.store.readStream(caseStreamId(fine.json<{ caseId: string }>().caseId)))[0]!)
  t.same(stored.data && 'answers' in stored.data ? stored.data.answers : undefined, { 'hayvan-turu': 'kopek', saldirgan: 'evet' })
  const uncategorised = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: { ...body, category: undefined, answers: { x: '1' } } })
  t.equal(uncategorised.statusCode, 400)
})

t.test('with personal data sealed (as both modes run): text answers and the applicant are sealed in the log, the index shows the request from the log as stored', async (t) => {
  const env = await open311Env(t, { sealed: true })
  const noise = await file(env, [['api_key', 'dev-channel'], ['service_code', 'gurultu'], ['lat', '38.46'], ['long', '27.21'], ['attribute[kaynak][]', 'isyeri'], ['attribute[saatler]', 'Komşum Mehmet Bey her gece müzik açıyor'], ['first_name', 'Ayşe'], ['phone', '0532 111 22 33']], 'json')
  t.equal(noise.statusCode, 201)
  const code = noise.json<Array<{ service_request_id: string }>>()[0]!.service_request_id
  const [raw] = await env.log.readStream(caseStreamId(caseIdForTrackingCode(code)))
  const stored = raw!.data as { answers: Record<string, unknown>; citizen: Record<string, unknown> }
  t.match(stored.answers['saatler'], /^pd1\./, 'a text answer is sealed')
  t.same(stored.answers['kaynak'], ['isyeri'], 'list keys stay clear')
  t.match(stored.citizen['name'], /^pd1\./)
  t.notMatch(JSON.stringify(raw), 'Mehmet')
  const opened = decodeCaseEvent((await env.store.readStream(caseStreamId(caseIdForTrackingCode(code))))[0]!)
  t.match(opened.data, { answers: { saatler: 'Komşum Mehmet Bey her gece müzik açıyor', kaynak: ['isyeri'] } }, 'services read the answers as written')
  const again = await file(env, [['api_key', 'dev-channel'], ['service_code', 'yarali-hayvan'], ['address_string', 'Park'], ['attribute[hayvan-turu]', 'kopek'], ['device_id', 'd1'], ['client_reference', 'r1']], 'json')
  t.equal(again.statusCode, 201)
  const retry = await file(env, [['api_key', 'dev-channel'], ['service_code', 'yarali-hayvan'], ['address_string', 'Park'], ['attribute[hayvan-turu]', 'kopek'], ['device_id', 'd1'], ['client_reference', 'r1']], 'json')
  t.equal(retry.statusCode, 200, 'a retry is recognised through the sealed store too')
  const list = await env.app.inject({ method: 'GET', url: '/open311/v2/requests.json?extensions=true' })
  t.same(list.json<Array<{ service_request_id: string }>>().map((r) => r.service_request_id).sort(), [code, again.json<Array<{ service_request_id: string }>>()[0]!.service_request_id].sort())
  t.notMatch(list.body, /Mehmet|Ayşe|532|Park|pd1\./)
})

t.test('tips and the categories kept out of public lists are reached only by tracking code', async (t) => {
  const env = await open311Env(t)
  const aid = await file(env, [['api_key', 'dev-channel'], ['service_code', 'sosyal-yardim'], ['address_string', 'Erzene Mah.']], 'json')
  const aidCode = aid.json<Array<{ service_request_id: string }>>()[0]!.service_request_id
  const tip = await env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: 'Bearer dev-channel' }, payload: { channel: 'whatsapp', kind: 'tip', category: 'kacak-yapi', description: 'Yan parselde ruhsatsız kat çıkılıyor.' } })
  const tipCode = tip.json<{ trackingCode: string }>().trackingCode
  const pothole = await file(env, [['api_key', 'dev-channel'], ['service_code', 'yol-cukur'], ['address_string', 'Erzene Mah.']], 'json')
  const potholeCode = pothole.json<Array<{ service_request_id: string }>>()[0]!.service_request_id
  for (const code of [aidCode, tipCode]) {
    await env.act(caseIdForTrackingCode(code), 1, (meta) => ({
      type: 'RouteCase',
      meta,
      data: { department: code === aidCode ? 'sosyal-destek' : 'imar', category: code === aidCode ? 'sosyal-yardim' : 'kacak-yapi', routedBy: 'category', matchedKeywords: [], sla: { clock: 1, startedAt: at(1), deadline: { hours: 48 }, basis: 'category', dueAt: at(2881) }, legalDueAt: null },
    }))
  }
  await env.settle()
  env.setNow(new Date(T0.getTime() + 3600_000))
  const listed = (await env.app.inject({ method: 'GET', url: '/open311/v2/requests.json' })).json<Array<{ service_request_id: string }>>()
  t.same(listed.map((r) => r.service_request_id), [potholeCode], 'only the pothole is listed')
  t.same((await env.app.inject({ method: 'GET', url: '/open311/v2/requests.json?service_code=sosyal-yardim' })).json(), [])
  t.same((await env.app.inject({ method: 'GET', url: '/open311/v2/servicerequestupdates.json?start_date=2026-11-20T09:00:00Z' })).json(), [], 'their steps are not in the feed')
  for (const code of [aidCode, tipCode]) {
    t.equal((await env.app.inject({ method: 'GET', url: `/open311/v2/requests/${code}.json` })).statusCode, 200, 'by tracking code it answers, as the citizen look-up does')
    t.equal((await env.app.inject({ method: 'GET', url: `/open311/v2/requests.json?service_request_id=${code}` })).json<unknown[]>().length, 1)
  }
})
