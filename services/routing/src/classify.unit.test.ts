import t from 'tap'
import { loadCatalogue, defaultCatalogueFile } from '@civic-desk/service-kit'
import { createClassifier } from './classify.ts'

const classifier = createClassifier(loadCatalogue(defaultCatalogueFile))
const best = (text: string) => classifier.classify(text)[0]?.category.code

t.test('a pothole in any spelling goes to roads', async (t) => {
  for (const text of [
    'Sokağımızda büyük bir ÇUKUR var',
    'sokagimizda buyuk bir cukur var',
    'Çukurlar yüzünden araçlar zarar görüyor',
    'Evin önündeki çukurda su birikiyor',
    'ÇUKURLARI NE ZAMAN KAPATACAKSINIZ',
  ]) {
    t.equal(best(text), 'yol-cukur', text)
  }
})

t.test('other directorates by their words', async (t) => {
  t.equal(best('Çöpler üç gündür toplanmadı, konteyner taşıyor'), 'cop-toplama')
  t.equal(best('Mahallede saldırgan sahipsiz köpekler var, çocuklara ısırdı'), 'sokak-hayvanlari')
  t.equal(best('Sabaha kadar yüksek sesle müzik, gürültü yüzünden uyuyamıyoruz'), 'gurultu')
  t.equal(best('Evimizde 2 gündür su akmıyor, boru patlak'), 'su-arizasi')
  t.equal(best('Annem yatalak hasta, evde bakım hizmeti istiyoruz'), 'evde-bakim')
  t.equal(best('KVKK kapsamında kişisel verilerimin silinmesini talep ediyorum'), 'kvkk-basvurusu')
})

t.test('short keywords do not match inside longer words', async (t) => {
  // "su" must not fire on "sunum", "yol" not on "yolcu", "kar" not on "karar".
  const codes = classifier.classify('Belediye meclisinin karar sunum toplantısına yolcu olarak katıldım').map((m) => m.category.code)
  t.notOk(codes.includes('su-arizasi'), 'no water')
  t.notOk(codes.includes('kar-buzlanma'), 'no snow')
  t.notOk(codes.includes('yol-cukur'), 'no road')
  // …but they do match with a real suffix.
  t.ok(classifier.classify('Suyu kesik').some((m) => m.category.code === 'su-arizasi'))
})

t.test('phrases count more than single words and report what matched', async (t) => {
  const [match] = classifier.classify('Rögar kapağı kırık, açık rögar tehlike yaratıyor')
  t.equal(match?.category.code, 'rogar-kapagi')
  t.ok(match && match.matched.includes('rögar kapağı'))
  t.ok(match && match.score >= 3)
})

t.test('no keyword, no guess', async (t) => {
  t.same(classifier.classify('Merhaba, iyi günler dilerim.'), [])
  t.same(classifier.classify(''), [])
})

t.test('answers are remembered by text within a bound; a text asked again and again stays remembered', async (t) => {
  const fresh = createClassifier(loadCatalogue(defaultCatalogueFile))
  const pothole = 'Sokağımızda büyük bir çukur var'
  const first = fresh.classify(pothole)
  t.ok(Object.isFrozen(first), 'frozen, so callers share it safely')
  t.equal(fresh.classify(pothole), first, 'the same answer object the second time')
  // Far more texts than the bound (1024), the pothole asked every 500 of them.
  for (let i = 1; i <= 3000; i++) {
    fresh.classify(`Çöpler ${i} gündür toplanmadı`)
    if (i % 500 === 0) t.equal(fresh.classify(pothole), first, `still remembered after ${i} other texts`)
  }
  const early = fresh.classify('Çöpler 1 gündür toplanmadı')
  t.equal(early[0]?.category.code, 'cop-toplama', 'a forgotten text is classified again, with the same result')
})
