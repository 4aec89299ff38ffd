import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { CheckpointCorruptError, createFileCheckpointStore, createMemoryCheckpointStore } from './checkpoint.ts'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-checkpoint-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('file: a missing file is 0; a save survives a new instance; the folder is created', async (t) => {
  const file = join(tempDir(t), 'nested', 'relay.json')
  const checkpoints = createFileCheckpointStore({ file, now: () => new Date('2026-11-20T09:15:00.000Z') })
  t.equal(await checkpoints.load(), 0)
  await checkpoints.save(42)
  t.same(JSON.parse(readFileSync(file, 'utf8')), { position: 42, savedAt: '2026-11-20T09:15:00.000Z' })
  t.equal(await createFileCheckpointStore({ file }).load(), 42)
})

t.test('file: never moves backwards, also across instances and for concurrent saves', async (t) => {
  const file = join(tempDir(t), 'relay.json')
  const checkpoints = createFileCheckpointStore({ file })
  await checkpoints.load()
  await checkpoints.save(10)
  await checkpoints.save(5)
  t.equal(await createFileCheckpointStore({ file }).load(), 10, 'a lower save is ignored')

  // A fresh instance that saves before loading must not overwrite the higher position on disk.
  await createFileCheckpointStore({ file }).save(3)
  t.equal(await createFileCheckpointStore({ file }).load(), 10)

  await Promise.all([checkpoints.save(30), checkpoints.save(20), checkpoints.save(25)])
  t.equal(await createFileCheckpointStore({ file }).load(), 30, 'the highest of concurrent saves wins')

  await t.rejects(checkpoints.save(-1), RangeError)
  await t.rejects(checkpoints.save(1.5), RangeError)
})

t.test('file: replaced atomically: a reader never sees a partial file, no temp files stay behind', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'relay.json')
  const checkpoints = createFileCheckpointStore({ file })
  await checkpoints.save(1)
  let writing = true
  let reads = 0
  const reader = (async () => {
    while (writing) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { position: number }
      if (!Number.isInteger(parsed.position)) throw new Error(`bad content ${JSON.stringify(parsed)}`)
      reads++
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  for (let position = 2; position <= 150; position++) await checkpoints.save(position)
  writing = false
  await reader
  t.ok(reads > 0, `${reads} reads during the saves`)
  t.equal(await createFileCheckpointStore({ file }).load(), 150)
  t.same(readdirSync(dir), ['relay.json'], 'only the checkpoint itself')
})

t.test('file: a corrupt file is a clear startup error', async (t) => {
  const dir = tempDir(t)
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"position": 1', /not valid JSON/],
    ['wrong type', '{"position": "12", "savedAt": "2026-11-20T09:15:00.000Z"}', /position/],
    ['negative', '{"position": -1, "savedAt": "2026-11-20T09:15:00.000Z"}', /position/],
    ['missing savedAt', '{"position": 3}', /savedAt/],
    ['empty', '', /not valid JSON/],
  ]
  for (const [name, content, reason] of cases) {
    const file = join(dir, `${name.replaceAll(' ', '-')}.json`)
    writeFileSync(file, content)
    const error = await createFileCheckpointStore({ file })
      .load()
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    t.type(error, CheckpointCorruptError, name)
    const message = error instanceof Error ? error.message : ''
    t.match(message, reason, `${name}: says why`)
    t.match(message, file, `${name}: names the file`)
    t.match(message, /delete it/, `${name}: says how to fix it`)
    // Saving over an unreadable checkpoint would hide the problem.
    await t.rejects(createFileCheckpointStore({ file }).save(100), CheckpointCorruptError, `${name}: save refuses too`)
    t.equal(readFileSync(file, 'utf8'), content, `${name}: left as it was`)
  }
})

t.test('memory: starts at the given position and never moves backwards', async (t) => {
  const checkpoints = createMemoryCheckpointStore(7)
  t.equal(await checkpoints.load(), 7)
  await checkpoints.save(3)
  t.equal(await checkpoints.load(), 7)
  await checkpoints.save(9)
  t.equal(checkpoints.position, 9)
  t.throws(() => createMemoryCheckpointStore(-2), RangeError)
})
