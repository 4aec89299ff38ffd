import t from 'tap'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { loadCase, loadCaseFrom } from './case-stream.ts'
import { appendCases, appendMore } from './testing.ts'

/** The store, and the streams it was asked to read with the revision each read began at. */
function watched(store: EventStore): { store: EventStore; reads: Array<{ streamId: string; from: number }> } {
  const reads: Array<{ streamId: string; from: number }> = []
  return {
    reads,
    store: {
      ...store,
      readStream: (streamId, options) => {
        reads.push({ streamId, from: options?.fromRevision ?? 0 })
        return store.readStream(streamId, options)
      },
    },
  }
}

void t.test('loadCaseFrom with the stream’s opening events reads only what follows them and folds the same case as loadCase', async (t) => {
  const base = createMemoryEventStore()
  const [alone, longer] = await appendCases(base, 2, 1)
  await appendMore(base, [longer!], 3)
  for (const caseId of [alone!, longer!]) {
    const full = await loadCase(base, caseId)
    const { store, reads } = watched(base)
    const fromFirst = await loadCaseFrom(store, caseId, full.records.slice(0, 1))
    t.same(reads, [{ streamId: `case-${caseId}`, from: 1 }], 'one read, from revision 1')
    t.same(fromFirst, full, 'same state, revisions and records')
  }
})

void t.test('loadCaseFrom given anything but the stream’s start reads the whole stream', async (t) => {
  const base = createMemoryEventStore()
  const [caseId] = await appendCases(base, 1, 3)
  const full = await loadCase(base, caseId!)
  for (const known of [full.records.slice(1, 2), [full.records[0]!, full.records[2]!], []]) {
    const { store, reads } = watched(base)
    t.same(await loadCaseFrom(store, caseId!, known), full)
    t.same(reads, [{ streamId: `case-${caseId}`, from: 0 }])
  }
})
