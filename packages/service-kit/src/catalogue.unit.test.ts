import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  CatalogueError,
  LEGAL_DEADLINES,
  categoriesOfDepartment,
  categoryByCode,
  departmentByCode,
  departmentOfCategory,
  validateCatalogue,
} from '@civic-desk/contracts'
import { defaultCatalogueFile, loadCatalogue } from './catalogue.ts'

const catalogue = loadCatalogue(defaultCatalogueFile)

t.test('the default catalogue validates and has the twelve directorates with their Turkish names', async (t) => {
  t.match(defaultCatalogueFile, /\/infra\/catalogue\/catalogue\.json$/)
  t.same(
    catalogue.departments.map((d) => [d.code, d.nameTr]),
    [
      ['fen-isleri', 'Fen İşleri Müdürlüğü'],
      ['temizlik', 'Temizlik İşleri Müdürlüğü'],
      ['park-bahce', 'Park ve Bahçeler Müdürlüğü'],
      ['zabita', 'Zabıta Müdürlüğü'],
      ['sosyal-destek', 'Sosyal Destek Hizmetleri Müdürlüğü'],
      ['veteriner', 'Veteriner İşleri Müdürlüğü'],
      ['imar', 'İmar ve Şehircilik Müdürlüğü'],
      ['ulasim', 'Ulaşım Hizmetleri Müdürlüğü'],
      ['su-kanalizasyon', 'Su ve Kanalizasyon'],
      ['kultur', 'Kültür ve Sosyal İşler Müdürlüğü'],
      ['halkla-iliskiler', 'Basın Yayın ve Halkla İlişkiler Müdürlüğü'],
      ['bilgi-edinme', 'Bilgi Edinme Birimi'],
    ],
  )
  for (const d of catalogue.departments) {
    const n = categoriesOfDepartment(catalogue, d.code).length
    t.ok(n >= 2 && n <= 5, `${d.code} has 2–5 categories (${n})`)
  }
  t.same(catalogue.deadlines, LEGAL_DEADLINES, 'the statutory deadlines, unchanged')
})

t.test('default SLAs: mostly the 48-hour promise; the legal categories follow their laws', async (t) => {
  const promise = catalogue.categories.filter((c) => 'hours' in c.sla && c.sla.hours === 48)
  t.ok(promise.length > catalogue.categories.length / 2, `${promise.length} of ${catalogue.categories.length} use 48 hours`)
  t.same(categoryByCode(catalogue, 'bilgi-edinme-basvurusu')?.sla, { workingDays: 15 })
  t.equal(categoryByCode(catalogue, 'bilgi-edinme-basvurusu')?.legalDeadline, 'information')
  t.same(categoryByCode(catalogue, 'cimer-basvurusu')?.sla, { hours: 720 })
  t.equal(categoryByCode(catalogue, 'cimer-basvurusu')?.legalDeadline, 'cimer')
  t.same(categoryByCode(catalogue, 'yol-cukur')?.sla, { hours: 48 })
})

t.test('keywords are lower-case Turkish and include inflected forms', async (t) => {
  const all = catalogue.categories.flatMap((c) => c.keywords)
  t.same(all.filter((k) => k !== k.toLocaleLowerCase('tr-TR')), [])
  const pothole = categoryByCode(catalogue, 'yol-cukur')
  t.ok(pothole !== undefined && ['çukur', 'çukuru', 'yol', 'yolda'].every((k) => pothole.keywords.includes(k)))
  t.ok(categoryByCode(catalogue, 'cop-toplama')?.keywords.includes('çöp'))
  t.ok(categoryByCode(catalogue, 'sokak-hayvanlari')?.keywords.includes('köpek'))
})

t.test('lookups', async (t) => {
  t.equal(categoryByCode(catalogue, 'yol-cukur')?.department, 'fen-isleri')
  t.equal(categoryByCode(catalogue, 'uzay-gemisi'), undefined)
  t.equal(departmentByCode(catalogue, 'zabita')?.nameEn, 'Municipal Police Directorate')
  t.equal(departmentByCode(catalogue, 'yok'), undefined)
  t.equal(departmentOfCategory(catalogue, 'kanalizasyon-tikanikligi')?.code, 'su-kanalizasyon')
  t.same(categoriesOfDepartment(catalogue, 'veteriner').map((c) => c.code), ['sokak-hayvanlari', 'yarali-hayvan', 'ilaclama', 'olu-hayvan'])
  t.same(categoriesOfDepartment(catalogue, 'yok'), [])
  t.ok(Object.isFrozen(catalogue) && Object.isFrozen(catalogue.categories[0]?.keywords), 'a validated catalogue is frozen')
})

const minimal = () => ({
  version: 1,
  deadlines: structuredClone(LEGAL_DEADLINES) as Record<string, unknown>,
  departments: [
    { code: 'fen-isleri', nameTr: 'Fen İşleri Müdürlüğü', nameEn: 'Public Works' },
    { code: 'temizlik', nameTr: 'Temizlik İşleri Müdürlüğü', nameEn: 'Cleaning' },
  ],
  categories: [
    { code: 'yol-cukur', department: 'fen-isleri', nameTr: 'Yol çukuru', nameEn: 'Pothole', keywords: ['çukur'], sla: { hours: 48 } },
    { code: 'cop-toplama', department: 'temizlik', nameTr: 'Çöp', nameEn: 'Waste', keywords: ['çöp'], sla: { hours: 48 } },
  ] as Array<Record<string, unknown>>,
})

function problemsOf(raw: unknown): CatalogueError {
  try {
    validateCatalogue(raw)
  } catch (error) {
    if (error instanceof CatalogueError) return error
    throw error
  }
  throw new Error('expected a CatalogueError')
}

t.test('a minimal catalogue validates', async (t) => {
  t.equal(validateCatalogue(minimal()).categories.length, 2)
})

t.test('an unknown department and a duplicate code are both reported, with their paths', async (t) => {
  const raw = minimal()
  raw.categories.push({ code: 'kaldirim', department: 'fen-isler', nameTr: 'Kaldırım', nameEn: 'Pavement', keywords: ['kaldırım'], sla: { hours: 48 } })
  raw.categories.push({ code: 'yol-cukur', department: 'fen-isleri', nameTr: 'Çukur 2', nameEn: 'Pothole 2', keywords: ['yol'], sla: { hours: 48 } })
  const error = problemsOf(raw)
  t.same(error.problems, [
    { path: 'categories[2].department', message: 'unknown department "fen-isler" (known: fen-isleri, temizlik)' },
    { path: 'categories[3].code', message: 'duplicate category code "yol-cukur" (first used at categories[0])' },
  ])
  t.match(error.message, /^Invalid service catalogue \(2 problems\):\n {2}- categories\[2\]\.department: unknown department "fen-isler"/)
  t.match(error.message, /\n {2}- categories\[3\]\.code: duplicate category code "yol-cukur"/)
})

t.test('shape errors and cross-reference errors are reported in the same run', async (t) => {
  const raw = minimal()
  raw.departments.push({ code: 'temizlik', nameTr: 'Temizlik', nameEn: 'Cleaning' })
  raw.categories[0] = { ...raw.categories[0], code: 'Yol Çukur', sla: { days: 2 }, keywords: ['Çukur'], colour: 'red' }
  const error = problemsOf(raw)
  t.same(error.problems.map((p) => p.path).sort(), [
    'categories[0].code',
    'categories[0].colour',
    'categories[0].keywords[0]',
    'categories[0].sla',
    'departments[2].code',
  ])
  t.match(error.problems.find((p) => p.path === 'categories[0].sla')?.message, /"hours": n.*"workingDays": n/)
  t.match(error.problems.find((p) => p.path === 'categories[0].code')?.message, /kebab-case/)
  t.match(error.problems.find((p) => p.path === 'categories[0].keywords[0]')?.message, /lower-case/)
  t.match(error.problems.find((p) => p.path === 'departments[2].code')?.message, /duplicate department code "temizlik"/)
})

t.test('legal deadlines cannot be loosened, and categories under a law stay within it', async (t) => {
  const raw = minimal()
  raw.deadlines = { ...raw.deadlines, cimer: { calendarDays: 45 } }
  raw.categories.push({ code: 'bilgi', department: 'temizlik', nameTr: 'Bilgi', nameEn: 'Info', keywords: ['bilgi'], sla: { workingDays: 20 }, legalDeadline: 'information' })
  raw.categories.push({ code: 'kvkk', department: 'temizlik', nameTr: 'KVKK', nameEn: 'KVKK', keywords: ['kvkk'], sla: { workingDays: 5 }, legalDeadline: 'kvkk' })
  const error = problemsOf(raw)
  t.same(error.problems, [
    { path: 'deadlines.cimer.calendarDays', message: 'the law allows at most 30' },
    { path: 'categories[2].sla.workingDays', message: '20 exceeds the legal deadline of 15 working days' },
    { path: 'categories[3].sla', message: 'must be given in hours (at most 720): the kvkk deadline counts calendar days' },
  ])
})

t.test('supervisor contacts: an e-mail address, a webhook or both; anything else is named', async (t) => {
  const raw = minimal()
  const [fen, temizlik] = raw.departments as Array<Record<string, unknown>>
  if (fen === undefined || temizlik === undefined) throw new Error('minimal catalogue changed')
  fen['supervisors'] = { email: 'fen-amirler@belediye.example.bel.tr', webhook: 'https://chat.example/hooks/fen' }
  temizlik['supervisors'] = { email: 'temizlik@belediye.example.bel.tr' }
  const valid = validateCatalogue(raw)
  t.same(departmentByCode(valid, 'fen-isleri')?.supervisors, { email: 'fen-amirler@belediye.example.bel.tr', webhook: 'https://chat.example/hooks/fen' })
  t.same(departmentByCode(valid, 'temizlik')?.supervisors, { email: 'temizlik@belediye.example.bel.tr' })

  fen['supervisors'] = { email: 'a@x.example, b@x.example', webhook: 'ftp://chat.example/hooks' }
  temizlik['supervisors'] = { phone: '+90 532 000 00 00' }
  const error = problemsOf(raw)
  t.same(error.problems.map((p) => [p.path, p.message]).sort(), [
    ['departments[0].supervisors.email', 'must be one e-mail address, e.g. "fen-amirler@belediye.bel.tr"'],
    ['departments[0].supervisors.webhook', 'must be an http(s) URL'],
    ['departments[1].supervisors', 'give an "email", a "webhook" or both'],
    ['departments[1].supervisors.phone', 'unknown field (check the spelling)'],
  ])
})

t.test('loadCatalogue names the file in every error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-catalogue-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const broken = join(dir, 'broken.json')
  const raw = minimal()
  raw.categories[1] = { ...raw.categories[1], department: 'cop' }
  writeFileSync(broken, JSON.stringify(raw))
  t.throws(() => loadCatalogue(broken), { name: 'CatalogueError', message: `Invalid service catalogue in ${broken} (1 problem):\n  - categories[1].department: unknown department "cop" (known: fen-isleri, temizlik)` })

  const notJson = join(dir, 'not.json')
  writeFileSync(notJson, '{ "version": 1, ')
  t.throws(() => loadCatalogue(notJson), { message: new RegExp(`^Invalid service catalogue in ${notJson} \\(1 problem\\):\\n {2}- \\(root\\): not valid JSON`) })

  t.throws(() => loadCatalogue(join(dir, 'missing.json')), { message: `Cannot read the service catalogue ${join(dir, 'missing.json')}: ENOENT` })
})

t.test('the routing lists: weak and "not" keywords and outranks are optional, checked like keywords', async (t) => {
  const raw = minimal()
  raw.categories[0] = { ...raw.categories[0], weakKeywords: ['bozuk'], notKeywords: ['kaldırıma koymuş'], outranks: ['cop-toplama'] }
  const valid = validateCatalogue(raw)
  t.same(valid.categories[0]?.weakKeywords, ['bozuk'])
  t.same(valid.categories[0]?.notKeywords, ['kaldırıma koymuş'])
  t.same(valid.categories[0]?.outranks, ['cop-toplama'])
  t.equal(valid.categories[1]?.weakKeywords, undefined, 'a category without them has none')

  const bad = minimal()
  bad.categories[0] = { ...bad.categories[0], keywords: ['çukur'], weakKeywords: ['Bozuk', 'çukur'], notKeywords: ['asfalt', 'asfalt'], outranks: ['yol-cukur', 'kaldirim'] }
  t.same(problemsOf(bad).problems, [
    { path: 'categories[0].weakKeywords[0]', message: 'must be lower-case by Turkish rules ("I" → "ı", "İ" → "i")' },
    { path: 'categories[0].weakKeywords[1]', message: '"çukur" is already in keywords' },
    { path: 'categories[0].notKeywords[1]', message: 'repeated keyword "asfalt"' },
    { path: 'categories[0].outranks[0]', message: 'a category cannot outrank itself' },
    { path: 'categories[0].outranks[1]', message: 'unknown category "kaldirim"' },
  ])
})

t.test('the default catalogue: every outranked category exists, and the dead and injured animals outrank the strays', async (t) => {
  t.same(categoryByCode(catalogue, 'olu-hayvan')?.outranks, ['sokak-hayvanlari', 'yarali-hayvan'])
  t.same(categoryByCode(catalogue, 'yarali-hayvan')?.outranks, ['sokak-hayvanlari'])
  t.same(categoriesOfDepartment(catalogue, 'fen-isleri').map((c) => c.code), ['yol-cukur', 'kaldirim', 'asfalt', 'kar-buzlanma', 'aydinlatma'])
  t.equal(categoryByCode(catalogue, 'terk-edilmis-arac')?.department, 'zabita')
})
