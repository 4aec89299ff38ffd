import t from 'tap'
import { percentiles } from './percentiles.ts'

t.test('median and p90 by nearest rank', async (t) => {
  t.same(percentiles([]), { count: 0, medianMs: null, p90Ms: null })
  t.same(percentiles([5]), { count: 1, medianMs: 5, p90Ms: 5 })
  t.same(percentiles([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]), { count: 10, medianMs: 5, p90Ms: 9 })
  t.same(percentiles([4, 1, 3, 2]), { count: 4, medianMs: 2, p90Ms: 4 })
})
