import t from 'tap'
import { percentile, percentiles } from './percentiles.ts'

t.test('median and p90 by nearest rank', async (t) => {
  t.same(percentiles([]), { count: 0, medianMs: null, p90Ms: null })
  t.same(percentiles([5]), { count: 1, medianMs: 5, p90Ms: 5 })
  t.same(percentiles([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]), { count: 10, medianMs: 5, p90Ms: 9 })
  t.same(percentiles([4, 1, 3, 2]), { count: 4, medianMs: 2, p90Ms: 4 })
})

t.test('a percentile of sorted values (the benchmarks’ p50/p99) by nearest rank', async (t) => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
  t.equal(percentile(sorted, 50), 50)
  t.equal(percentile(sorted, 99), 99)
  t.equal(percentile(sorted, 100), 100)
  t.equal(percentile(sorted, 0), 1)
  t.equal(percentile([7], 90), 7)
  t.ok(Number.isNaN(percentile([], 50)), 'NaN when there is nothing')
})

