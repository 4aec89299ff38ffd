// Open311 discovery, services and service definitions, in XML (read by a real parser, element by
// element against the spec's examples) and JSON, and their errors.
import t from 'tap'
import { departmentByCode } from '@civic-desk/contracts'
import { describedRouteGaps } from '@civic-desk/service-kit/testing'
import { catalogue, childOf, names, open311Env, parseXml, textOf } from './open311.testing.ts'

const SERVICE_ELEMENTS = ['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group']
const ATTRIBUTE_ELEMENTS = ['variable', 'code', 'datatype', 'required', 'datatype_description', 'order', 'description']

t.test('discovery names the endpoint, the spec, the formats and the changeset', async (t) => {
  const env = await open311Env(t)
  const xml = await env.app.inject({ method: 'GET', url: '/open311/v2/discovery.xml', headers: { host: 'belediye.example' } })
  t.equal(xml.statusCode, 200)
  t.equal(xml.headers['content-type'], 'text/xml; charset=utf-8')
  const root = parseXml(xml.body)
  t.equal(root.name, 'discovery')
  t.same(names(root), ['changeset', 'contact', 'key_service', 'endpoints'])
  t.match(textOf(root, 'changeset'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+03:00$/)
  const endpoint = childOf(childOf(root, 'endpoints'), 'endpoint')
  t.same(names(endpoint), ['specification', 'url', 'changeset', 'type', 'formats'])
  t.equal(textOf(endpoint, 'specification'), 'http://wiki.open311.org/GeoReport_v2')
  t.equal(textOf(endpoint, 'url'), 'http://belediye.example/open311/v2')
  t.same(childOf(endpoint, 'formats').children.map((f) => [f.name, f.text]), [['format', 'text/xml'], ['format', 'application/json']])

  const json = await env.app.inject({ method: 'GET', url: '/open311/v2/discovery.json', headers: { host: 'belediye.example' } })
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8')
  const doc = json.json<{ endpoints: Array<{ url: string; formats: string[] }> }>()
  t.same(Object.keys(doc), ['changeset', 'contact', 'key_service', 'endpoints'])
  t.same(doc.endpoints[0]?.formats, ['text/xml', 'application/json'])
})

t.test('GET services lists every category as a service, the same in XML and JSON', async (t) => {
  const env = await open311Env(t)
  const root = parseXml((await env.app.inject({ method: 'GET', url: '/open311/v2/services.xml' })).body)
  t.equal(root.name, 'services')
  t.equal(root.children.length, catalogue.categories.length)
  t.ok(root.children.every((s) => s.name === 'service'))
  for (const s of root.children) t.same(names(s), SERVICE_ELEMENTS, `${textOf(s, 'service_code')}: elements in the spec's order`)
  const animal = root.children.find((s) => textOf(s, 'service_code') === 'yarali-hayvan')!
  t.equal(textOf(animal, 'service_name'), 'Yaralı veya hasta hayvan')
  t.equal(textOf(animal, 'metadata'), 'true', 'a category with questions has metadata')
  t.equal(textOf(animal, 'type'), 'realtime')
  t.equal(textOf(animal, 'group'), departmentByCode(catalogue, 'veteriner')?.nameTr)
  t.match(textOf(animal, 'keywords'), /^yaralı, yaralanmış, /)
  t.match(textOf(animal, 'description'), /en geç 6 saat içinde/)
  t.equal(textOf(root.children.find((s) => textOf(s, 'service_code') === 'kaldirim')!, 'metadata'), 'false')

  const json = (await env.app.inject({ method: 'GET', url: '/open311/v2/services.json' })).json<Array<Record<string, unknown>>>()
  t.equal(json.length, catalogue.categories.length)
  t.same(Object.keys(json[0]!), SERVICE_ELEMENTS)
  const jsonAnimal = json.find((s) => s['service_code'] === 'yarali-hayvan')!
  t.equal(jsonAnimal['metadata'], true)
  t.same(Object.fromEntries(animal.children.map((c) => [c.name, c.text])), { ...jsonAnimal, metadata: 'true' }, 'XML and JSON say the same')
})

t.test('a service definition lists the category questions as attributes of all six datatypes', async (t) => {
  const env = await open311Env(t)
  const seen = new Set<string>()
  for (const code of ['yarali-hayvan', 'yol-cukur', 'gurultu', 'aydinlatma']) {
    const root = parseXml((await env.app.inject({ method: 'GET', url: `/open311/v2/services/${code}.xml` })).body)
    t.equal(root.name, 'service_definition')
    t.same(names(root), ['service_code', 'attributes'])
    t.equal(textOf(root, 'service_code'), code)
    const questions = catalogue.categories.find((c) => c.code === code)?.questions ?? []
    const attributes = childOf(root, 'attributes').children
    t.equal(attributes.length, questions.length)
    attributes.forEach((a, i) => {
      const q = questions[i]!
      seen.add(textOf(a, 'datatype'))
      t.same(names(a), q.values === undefined ? ATTRIBUTE_ELEMENTS : [...ATTRIBUTE_ELEMENTS, 'values'], `${code}.${q.code}: elements in order`)
      t.equal(textOf(a, 'variable'), 'true')
      t.equal(textOf(a, 'code'), q.code)
      t.equal(textOf(a, 'datatype'), q.datatype)
      t.equal(textOf(a, 'required'), String(q.required))
      t.equal(textOf(a, 'datatype_description'), q.hintTr ?? '')
      t.equal(textOf(a, 'order'), String(i + 1))
      t.equal(textOf(a, 'description'), q.questionTr)
      if (q.values !== undefined) {
        t.same(
          childOf(a, 'values').children.map((v) => [v.name, names(v), textOf(v, 'key'), textOf(v, 'name')]),
          q.values.map((v) => ['value', ['key', 'name'], v.key, v.nameTr]),
        )
      }
    })
  }
  t.same([...seen].sort(), ['datetime', 'multivaluelist', 'number', 'singlevaluelist', 'string', 'text'])

  const json = (await env.app.inject({ method: 'GET', url: '/open311/v2/services/yarali-hayvan.json' })).json<{ service_code: string; attributes: Array<Record<string, unknown>> }>()
  t.equal(json.service_code, 'yarali-hayvan')
  t.same(json.attributes[0], {
    variable: true,
    code: 'hayvan-turu',
    datatype: 'singlevaluelist',
    required: true,
    datatype_description: null,
    order: 1,
    description: 'Hangi hayvan?',
    values: [
      { key: 'kedi', name: 'Kedi' },
      { key: 'kopek', name: 'Köpek' },
      { key: 'kus', name: 'Kuş' },
      { key: 'diger', name: 'Diğer' },
    ],
  })
})

t.test('errors come as the spec error list in the asked format with the right status', async (t) => {
  const env = await open311Env(t, { jurisdiction: 'bornova.bel.tr' })
  const cases: Array<[string, number, RegExp]> = [
    ['/open311/v2/services/yok-boyle.xml', 404, /service_code 'yok-boyle' bulunamadı/],
    ['/open311/v2/services.csv', 400, /'\.csv' desteklenmeyen bir biçim/],
    ['/open311/v2/services', 400, /biçim uzantısı eksik/],
    ['/open311/v2/services.xml?jurisdiction_id=konak.bel.tr', 404, /jurisdiction_id 'konak.bel.tr' bulunamadı/],
    ['/open311/v2/hizmetler.xml', 404, /'hizmetler' diye bir kaynak yok/],
    ['/open311/v2/requests.xml?status=acik', 400, /status geçersiz/],
  ]
  for (const [url, status, description] of cases) {
    const res = await env.app.inject({ method: 'GET', url })
    t.equal(res.statusCode, status, url)
    t.equal(res.headers['content-type'], 'text/xml; charset=utf-8', `${url}: XML`)
    const root = parseXml(res.body)
    t.equal(root.name, 'errors')
    const error = childOf(root, 'error')
    t.same(names(error), ['code', 'description'])
    t.equal(textOf(error, 'code'), String(status))
    t.match(textOf(error, 'description'), description, url)
  }
  const json = await env.app.inject({ method: 'GET', url: '/open311/v2/services/yok-boyle.json' })
  t.equal(json.statusCode, 404)
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8')
  t.same(json.json(), [{ code: 404, description: "service_code 'yok-boyle' bulunamadı." }])
  const right = await env.app.inject({ method: 'GET', url: '/open311/v2/services.json?jurisdiction_id=bornova.bel.tr' })
  t.equal(right.statusCode, 200, 'the configured jurisdiction is served')
})

t.test('public reads are rate-limited per address like the public look-up, with a spec-shaped 429', async (t) => {
  const env = await open311Env(t, { lookupsPerMinute: 2 })
  t.equal((await env.app.inject({ method: 'GET', url: '/open311/v2/services.json' })).statusCode, 200)
  t.equal((await env.app.inject({ method: 'GET', url: '/open311/v2/services.json' })).statusCode, 200)
  const limited = await env.app.inject({ method: 'GET', url: '/open311/v2/services.json' })
  t.equal(limited.statusCode, 429)
  t.same(limited.json(), [{ code: 429, description: 'Bu adresten çok fazla istek geldi; lütfen bir dakika sonra yeniden deneyin.' }])
  t.ok(limited.headers['retry-after'], 'says when to retry')
})

t.test("every route of intake's process, Open311's included, is in its /openapi.json", async (t) => {
  const env = await open311Env(t)
  t.same(await describedRouteGaps(env.app), [])
})
