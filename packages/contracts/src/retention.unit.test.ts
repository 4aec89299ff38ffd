import { readFileSync } from 'node:fs'
import t from 'tap'
import { CatalogueError, DEFAULT_PERSONAL_DATA_RETENTION, personalDataRetentionOf, validateCatalogue } from './catalogue.ts'

const file = new URL('../../../infra/catalogue/catalogue.json', import.meta.url)
const raw = () => JSON.parse(readFileSync(file, 'utf8')) as { personalDataRetention?: unknown; categories: Record<string, unknown>[] }

void t.test('the default catalogue: 2 years after closing, KVKK applications 3', async (t) => {
  const catalogue = validateCatalogue(raw())
  t.same(catalogue.personalDataRetention, { years: 2 })
  t.same(personalDataRetentionOf(catalogue, 'kvkk-basvurusu'), { years: 3 })
  t.same(personalDataRetentionOf(catalogue, 'yol-cukur'), { years: 2 })
  t.same(personalDataRetentionOf(catalogue, 'no-such-category'), { years: 2 }, 'a category gone from the catalogue gets the catalogue-wide period')
  t.same(personalDataRetentionOf(catalogue, null), { years: 2 })
})

void t.test('without a catalogue-wide period the built-in default applies', async (t) => {
  const input = raw()
  delete input.personalDataRetention
  const catalogue = validateCatalogue(input)
  t.equal(catalogue.personalDataRetention, undefined)
  t.same(personalDataRetentionOf(catalogue, 'yol-cukur'), DEFAULT_PERSONAL_DATA_RETENTION)
  t.same(DEFAULT_PERSONAL_DATA_RETENTION, { years: 2 })
  t.same(personalDataRetentionOf(catalogue, 'kvkk-basvurusu'), { years: 3 }, 'the category keeps its own')
})

void t.test('months are allowed; a period that is not a whole positive number of years or months is refused with its path', async (t) => {
  const months = raw()
  months.personalDataRetention = { months: 18 }
  t.same(personalDataRetentionOf(validateCatalogue(months), 'yol-cukur'), { months: 18 })
  for (const [value, message] of [
    [{ years: 0 }, /personalDataRetention/],
    [{ days: 30 }, /either \{ "years": n \} or \{ "months": n \}/],
    [{ years: 1.5 }, /personalDataRetention/],
    [{ years: 200 }, /personalDataRetention/],
    [{ years: 2, months: 3 }, /personalDataRetention/],
  ] as const) {
    const input = raw()
    input.personalDataRetention = value
    t.throws(() => validateCatalogue(input), message, JSON.stringify(value))
    t.throws(() => validateCatalogue(input), CatalogueError)
  }
  const input = raw()
  const category = input.categories[0]
  if (category === undefined) throw new Error('no category')
  category['personalDataRetention'] = { weeks: 3 }
  t.throws(() => validateCatalogue(input), /categories\[0\]\.personalDataRetention/)
})
