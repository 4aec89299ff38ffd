// When the heavy-test lock's holder counts as gone (see exclusiveHeavyTest).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { holderIsGone, processStartTime } from './testing.ts'

const ownStart = processStartTime(process.pid) ?? ''
const never = (): number => {
  throw new Error('the age of a named lock is never asked')
}

t.test("a process's start time is read from /proc", async (t) => {
  t.match(ownStart, /^\d+$/, 'clock ticks since boot')
  // The 22nd field of /proc/<pid>/stat (this process's command name, node, has no spaces to skip).
  t.equal(ownStart, readFileSync('/proc/self/stat', 'utf8').split(' ')[21], 'the 22nd field')
  t.equal(processStartTime(4_194_305), undefined, 'no such process')
})

t.test('a living holder keeps its lock', async (t) => {
  t.equal(holderIsGone(`${process.pid} ${ownStart} distributed.e2e`, never), false, 'pid and start time match')
  t.equal(holderIsGone(`${process.pid} distributed.e2e`, never), false, 'a lock written before start times (pid only)')
  t.equal(holderIsGone(`${process.pid} - distributed.e2e`, never), false, 'no start time where /proc could not be read')
})

t.test('a holder that is gone loses it', async (t) => {
  t.equal(holderIsGone(`${process.pid} ${Number(ownStart) + 1} distributed.e2e`, never), true, 'its pid came round again to a process started at another time')
  t.equal(holderIsGone('4194305 123 distributed.e2e', never), true, 'no process with its pid (beyond any pid_max)')
  t.equal(holderIsGone('nonsense', never), true, 'a holder line without a pid')
})

t.test('a lock without a name yet: a moment is allowed for the holder to write it', async (t) => {
  t.equal(holderIsGone('', () => 200), false, 'taken 0.2 s ago')
  t.equal(holderIsGone('', () => 11_000), true, 'taken 11 s ago: its holder died before naming itself')
  t.equal(
    holderIsGone('', () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
    }),
    false,
    'gone meanwhile: the next try takes it',
  )
})
