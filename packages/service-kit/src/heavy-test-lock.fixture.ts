// A test file for heavy-test-lock.int.test.ts, run by tap's own runner: takes the heavy-test lock
// from a subtest with a limit of HEAVY_FIXTURE_RUN_MS, then works for HEAVY_FIXTURE_WORK_MS.
import t from 'tap'
import { exclusiveHeavyTest } from './testing.ts'

const runMs = Number(process.env.HEAVY_FIXTURE_RUN_MS)
const workMs = Number(process.env.HEAVY_FIXTURE_WORK_MS ?? 0)

t.test('a heavy test', async (t) => {
  await exclusiveHeavyTest(t, 'heavy-test-lock.fixture', runMs)
  await new Promise((r) => setTimeout(r, workMs))
  t.pass('done with the lock held')
})
