// The Mahalleler page's rows: derived counts, Turkish collation and Turkish case-insensitive search.
import t from 'tap'

interface Row {
  name: string
  total: number
  open: number
  done: number
  openShare: number
  topCategory: string | null
  topCategoryCount: number
  spellings: string[]
}
type SortKey = 'name' | 'total' | 'open' | 'done' | 'openShare'
interface Neighbourhoods {
  neighbourhoodRows(list: ReadonlyArray<Record<string, unknown>> | undefined): Row[]
  sortRows(rows: ReadonlyArray<Row>, key: SortKey, direction: 'ascending' | 'descending'): Row[]
  filterRows(rows: ReadonlyArray<Row>, query: string): Row[]
  topRows(rows: ReadonlyArray<Row>, limit: number): Row[]
  defaultDirection(key: SortKey): 'ascending' | 'descending'
}

// A browser module (plain JavaScript, no build step), loaded as it is served.
const nb = (await import(new URL('./public/neighbourhoods.js', import.meta.url).href)) as Neighbourhoods

const rows = nb.neighbourhoodRows([
  { name: 'Işıklar', total: 4, open: 1, byCategory: { 'yol-cukur': 2, 'cop-toplama': 2 } },
  { name: 'İnönü', total: 4, open: 4, byCategory: { 'park-bakim': 4 } },
  { name: 'Çamdibi', total: 7, open: 2, byCategory: {}, spellings: ['Çamdibi', 'ÇAMDİBİ MAH.'] },
  { name: 'Cumhuriyet', total: 1, open: 0 },
  { name: 'Ozan Abay', total: 2, open: 1 },
  { name: 'Örnekköy', total: 2, open: 2 },
])

t.test('rows carry what follows from the counts', async (t) => {
  const isiklar = rows.find((row) => row.name === 'Işıklar')!
  t.same(isiklar, { name: 'Işıklar', total: 4, open: 1, done: 3, openShare: 0.25, topCategory: 'cop-toplama', topCategoryCount: 2, spellings: [] }, 'a tie goes to the first code, so it does not flicker')
  t.same(rows.find((row) => row.name === 'Çamdibi')?.spellings, ['Çamdibi', 'ÇAMDİBİ MAH.'])
  t.equal(rows.find((row) => row.name === 'Cumhuriyet')?.topCategory, null)
  t.same(nb.neighbourhoodRows(undefined), [])
  t.same(nb.neighbourhoodRows([{ name: 'Boş', total: 0, open: 0 }])[0]?.openShare, 0, 'no division by zero')
})

t.test('names sort in Turkish order', async (t) => {
  const names = (list: Row[]) => list.map((row) => row.name)
  // Turkish alphabet: C < Ç, I (ı) < İ (i), O < Ö — an English collation would put Ç, İ, Ö elsewhere.
  t.same(names(nb.sortRows(rows, 'name', 'ascending')), ['Cumhuriyet', 'Çamdibi', 'Işıklar', 'İnönü', 'Ozan Abay', 'Örnekköy'])
  t.same(names(nb.sortRows(rows, 'name', 'descending')), ['Örnekköy', 'Ozan Abay', 'İnönü', 'Işıklar', 'Çamdibi', 'Cumhuriyet'])
  t.same(names(nb.sortRows(rows, 'total', 'descending')), ['Çamdibi', 'Işıklar', 'İnönü', 'Ozan Abay', 'Örnekköy', 'Cumhuriyet'], 'equal totals by name, Turkish order')
  t.same(names(nb.sortRows(rows, 'open', 'ascending')), ['Cumhuriyet', 'Işıklar', 'Ozan Abay', 'Çamdibi', 'Örnekköy', 'İnönü'])
  t.same(names(nb.sortRows(rows, 'openShare', 'descending')).slice(0, 2), ['İnönü', 'Örnekköy'])
  t.same(names(nb.topRows(rows, 3)), ['Çamdibi', 'Işıklar', 'İnönü'])
  t.equal(nb.defaultDirection('name'), 'ascending')
  t.equal(nb.defaultDirection('total'), 'descending')
  t.same(names(rows), ['Işıklar', 'İnönü', 'Çamdibi', 'Cumhuriyet', 'Ozan Abay', 'Örnekköy'], 'sorting copies, the rows stay as they came')
})

t.test('search ignores case the Turkish way', async (t) => {
  const names = (query: string) => nb.filterRows(rows, query).map((row) => row.name)
  t.same(names('ışık'), ['Işıklar'], 'I lower-cases to ı')
  t.same(names('IŞIK'), ['Işıklar'])
  t.same(names('inö'), ['İnönü'], 'İ lower-cases to i')
  t.same(names('mah.'), ['Çamdibi'], 'a merged spelling matches too')
  t.same(names('  '), names(''), 'blank is no filter')
  t.equal(names('').length, rows.length)
  t.same(names('yok'), [])
})
