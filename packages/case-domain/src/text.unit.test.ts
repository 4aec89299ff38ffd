import t from 'tap'
import { foldTurkish, normalizeNeighbourhood, words } from './text.ts'

t.test('Turkish case folding: dotted and dotless I, then ASCII folding', async (t) => {
  t.equal(foldTurkish('ÇUKUR'), 'cukur')
  t.equal(foldTurkish('IŞIK'), 'isik')
  t.equal(foldTurkish('İSTANBUL'), 'istanbul')
  t.equal(foldTurkish('I\u0307ZMI\u0307R'), 'izmir', 'İ written as I + combining dot')
  t.same(words('İSTANBUL İzmir'), ['istanbul', 'izmir'], 'no combining dot left to split a word')
  for (const text of ['Sokağımızda büyük bir ÇUKUR var, IŞIK yanmıyor', 'ÇÖP KONTEYNERİ TAŞIYOR ıı İi', 'cop toplanmadi 3 gundur', 'ÂLÎ ÛMİT']) {
    t.equal(foldTurkish(text), text.toLocaleLowerCase('tr-TR').replace(/[çğıöşüâîû]/g, (c) => ({ ç: 'c', ğ: 'g', ı: 'i', ö: 'o', ş: 's', ü: 'u', â: 'a', î: 'i', û: 'u' })[c] ?? c), `as Turkish lower-casing: ${text}`)
  }
  t.equal(foldTurkish('Işıklar Caddesi'), 'isiklar caddesi')
  t.same(words('Çöpler, 3 gündür alınmadı!'), ['copler', '3', 'gundur', 'alinmadi'])
})

t.test('a neighbourhood written any way is one name', async (t) => {
  for (const name of ['Kazımdirik Mahallesi', 'kazımdirik mah.', '  KAZIMDİRİK   Mh. ', 'Kazimdirik', 'KAZIMDIRIK MAH.']) t.equal(normalizeNeighbourhood(name), 'kazimdirik', name)
  t.equal(normalizeNeighbourhood('19 Mayıs Mah'), '19 mayis')
  t.equal(normalizeNeighbourhood(normalizeNeighbourhood('Yeni Mahalle Mahallesi')), 'yeni mahalle', 'idempotent; only the suffix goes')
  t.equal(normalizeNeighbourhood(' ... '), '', 'nothing left')
})
