import t from 'tap'
import { foldTurkish, normalizeNeighbourhood, words } from './text.ts'

t.test('Turkish case folding: dotted and dotless I, then ASCII folding', async (t) => {
  t.equal(foldTurkish('ÇUKUR'), 'cukur')
  t.equal(foldTurkish('IŞIK'), 'isik')
  t.equal(foldTurkish('İSTANBUL'), 'istanbul')
  t.equal(foldTurkish('Işıklar Caddesi'), 'isiklar caddesi')
  t.same(words('Çöpler, 3 gündür alınmadı!'), ['copler', '3', 'gundur', 'alinmadi'])
})

t.test('a neighbourhood written any way is one name', async (t) => {
  for (const name of ['Kazımdirik Mahallesi', 'kazımdirik mah.', '  KAZIMDİRİK   Mh. ', 'Kazimdirik', 'KAZIMDIRIK MAH.']) t.equal(normalizeNeighbourhood(name), 'kazimdirik', name)
  t.equal(normalizeNeighbourhood('19 Mayıs Mah'), '19 mayis')
  t.equal(normalizeNeighbourhood(normalizeNeighbourhood('Yeni Mahalle Mahallesi')), 'yeni mahalle', 'idempotent; only the suffix goes')
  t.equal(normalizeNeighbourhood(' ... '), '', 'nothing left')
})
