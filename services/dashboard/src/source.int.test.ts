// The rebuild's SQLite reader against the event store's own readAll: the same batches from a real
// store file (with foreign streams and unknown types among the case events), and a version rebuilt
// through it equal to what the live projector built from the same events.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { createLiveProjector, createMemoryReadModelStore, rebuildVersion, type PositionedEvent } from '@civic-desk/read-models'
import { readModelSnapshot, realisticStoredEvents } from '../../../packages/read-models/src/test-support.ts'
import { sqliteStoreBatches, storeBatches } from './source.ts'

t.test('sqliteStoreBatches gives what storeBatches gives, and a rebuild through it what the live projector built', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-source-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'events.sqlite')
  const store = openSqliteEventStore({ file })
  t.teardown(() => store.close())
  const events = realisticStoredEvents(120, 11)
  const revisions = new Map<string, number>()
  const append = async (streamId: string, type: string, data: unknown, metadata: unknown): Promise<void> => {
    const revision = revisions.get(streamId)
    await store.append(streamId, [{ id: randomUUID(), type, data, metadata }], { expectedRevision: revision ?? 'no_stream' })
    revisions.set(streamId, (revision ?? -1) + 1)
  }
  for (const [i, e] of events.entries()) {
    await append(e.streamId, e.type, e.data, e.metadata)
    if (i % 50 === 0) await append(`workflow-${randomUUID()}`, 'WorkflowStepRecorded', { step: 'x' }, e.metadata)
    if (i % 70 === 0) await append(e.streamId, 'CaseFlewAway', { caseId: 'x' }, e.metadata)
    if (i % 90 === 0) await append(e.streamId, 'CaseRouted', { department: 'fen-isleri' }, e.metadata)
  }
  const head = await store.headPosition()

  const collect = async (batches: AsyncIterable<PositionedEvent[]>): Promise<PositionedEvent[]> => {
    const out: PositionedEvent[] = []
    for await (const batch of batches) out.push(...batch)
    return out
  }
  const viaStore = await collect(storeBatches(store, 0, head, 13))
  const viaFile = await collect(sqliteStoreBatches(file, 0, head, 13))
  t.equal(viaStore.length, events.filter((e) => e.type !== 'CaseFlewAway').length, 'every case event of a known type, none of the others')
  t.same(viaFile, viaStore)
  t.same(await collect(sqliteStoreBatches(file, 40, head - 25, 1000)), await collect(storeBatches(store, 40, head - 25, 1000)), 'a window of the log')

  const live = createMemoryReadModelStore()
  const writer = await live.createVersion('store-1')
  await live.activate(writer.version)
  const projector = createLiveProjector({ store: live, version: writer.version, storeIdentity: 'store-1', maxBatch: 5 })
  for (const e of viaStore) await projector.handle(e)
  await projector.close()
  const rebuilt = createMemoryReadModelStore()
  await rebuildVersion({ store: rebuilt, storeIdentity: 'store-1', batches: sqliteStoreBatches(file, 0, head, 5000) })
  // Samples depend on the batching by design (see projection.fast.unit.test.ts): compared there.
  const { samples: _a, ...a } = (await readModelSnapshot((await live.reader())!, events)) as Record<string, unknown>
  const { samples: _b, ...b } = (await readModelSnapshot((await rebuilt.reader())!, events)) as Record<string, unknown>
  t.same(b, a)
})
