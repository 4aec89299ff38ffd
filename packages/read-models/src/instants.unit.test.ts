import t from 'tap'
import { parseInstant } from './instants.ts'
import { seeded } from './test-support.ts'

const random = seeded(20261125)

t.test('parseInstant is Date.parse', async (t) => {
  const inputs = ['2026-11-20T09:00:00.000Z', '2024-02-29T23:59:59.999Z', '2026-02-30T09:00:00.000Z', '2026-13-01T00:00:00.000Z', '2026-11-20T24:00:00.000Z', '2026-11-20T09:60:00.000Z', '2026-11-20T09:00:00.000+03:00', '2026-11-20', 'nonsense', '']
  for (let i = 0; i < 2000; i++) inputs.push(new Date(Math.floor(random() * 4e12)).toISOString())
  for (const iso of inputs) if (!Object.is(parseInstant(iso), Date.parse(iso))) t.fail(`parseInstant(${iso})`)
  t.pass('all equal')
})
