// The contract every read-model store keeps, as a tap suite run against each adapter.
import type { Test } from 'tap'
import { applyBatch, rebuildVersion } from './projector.ts'
import type { PositionedEvent } from './case-document.ts'
import { ALL_SCOPE, dayScope } from './counters.ts'
import type { ReadModelStore } from './store.ts'
import { CaseScript } from './test-support.ts'

export interface ReadModelStoreFixture {
  readonly store: ReadModelStore
  /** Whatever the adapter holds beyond what the store shows (e.g. Redis keys of a version). */
  readonly keysOfVersion?: (version: number) => Promise<number>
  readonly close: () => Promise<void>
}

const minute = (ms: number): number => Math.floor(ms / 60_000) * 60_000

/** Three cases: fen-isleri routed + accepted + resolved, fen-isleri open, temizlik open; around `nowMs`. */
function scenario(nowMs: number) {
  const positions = { next: 1 }
  const iso = (minutesAgo: number): string => new Date(nowMs - minutesAgo * 60_000).toISOString()
  const a = new CaseScript(positions, { category: 'yol-cukur', neighbourhood: 'Kazımdirik', channel: 'call-center' })
  const b = new CaseScript(positions, { category: 'yol-cukur', neighbourhood: 'Kazımdirik' })
  const c = new CaseScript(positions, { category: 'cop-toplama', neighbourhood: 'Erzene', kind: 'request' })
  const events: PositionedEvent[] = [
    a.submitted(iso(50)),
    a.routed(iso(50), 'fen-isleri', iso(-600)),
    b.submitted(iso(30)),
    b.routed(iso(30), 'fen-isleri', iso(-60)),
    c.submitted(iso(10)),
    c.routed(iso(10), 'temizlik', iso(-5)),
    a.accepted(iso(40), 'fen-isleri'),
    a.resolved(iso(20)),
  ]
  return { a, b, c, events, iso }
}

export function readModelStoreContract(t: Test, name: string, open: () => Promise<ReadModelStoreFixture>): void {
  t.test(`${name}: read-model store contract`, async (t) => {
    t.test('an empty store has no active version', async (t) => {
      const f = await open()
      t.teardown(f.close)
      t.equal(await f.store.active(), null)
      t.equal(await f.store.reader(), null)
    })

    t.test('a committed batch answers every read model', async (t) => {
      const f = await open()
      t.teardown(f.close)
      const nowMs = Date.now()
      const { a, b, c, events } = scenario(nowMs)
      const writer = await f.store.createVersion('store-1')
      await applyBatch(writer, events.slice(0, 4))
      await applyBatch(writer, events.slice(4))
      await f.store.activate(writer.version)
      t.same(await f.store.active(), { version: writer.version, storeIdentity: 'store-1', position: 8 })
      const r = (await f.store.reader())!
      t.equal(r.position, 8)
      const all = await r.counters(ALL_SCOPE)
      t.equal(all.total, 3)
      t.equal(all['status:resolved'], 1)
      t.equal(all['status:routed'], 2)
      t.equal(all['channel:call-center'], 1)
      t.equal(all['nb:Kazımdirik|total'], 2)
      t.equal(all['dept:fen-isleri|open'], 1)
      t.equal(all['dept:temizlik|open'], 1)
      const dayCounts = await r.counters(dayScope(new Date(nowMs - 50 * 60_000).toLocaleDateString('en-CA', { timeZone: 'Europe/Istanbul' })))
      t.ok((dayCounts.submitted ?? 0) >= 1, 'per-day counters exist')
      t.equal((await r.getCase(a.caseId))?.status, 'resolved')
      t.equal(await r.caseIdForTrackingCode(b.trackingCode), b.caseId)
      t.equal(await r.caseIdForTrackingCode('NOPE'), null)
      t.same(
        (await r.queue('fen-isleri', 10)).map((q) => q.caseId),
        [b.caseId],
      )
      t.equal(await r.queueCount('temizlik', Number.NEGATIVE_INFINITY, nowMs), 0, 'temizlik is due in 5 minutes')
      t.equal(await r.queueCount('temizlik', nowMs, nowMs + 24 * 3600_000), 1)
      t.equal(await r.queueCount('fen-isleri', nowMs, nowMs + 24 * 3600_000), 1)
      t.same(await r.samples('first', 'fen-isleri', null, 0), [10 * 60_000])
      t.same(await r.samples('resolution', 'fen-isleri', 'yol-cukur', 0), [30 * 60_000])
      t.same(await r.samples('resolution', 'fen-isleri', 'yol-cukur', nowMs), [], 'samples before `since` are left out')
      const from = minute(nowMs) - 59 * 60_000
      const minutes = await r.minutes(from, 60)
      t.equal(minutes.length, 60)
      t.equal(minutes.reduce((x, y) => x + y, 0), 3)
      t.equal(minutes[(minute(nowMs - 10 * 60_000) - from) / 60_000], 1)
      t.same(await r.receivedBetween(nowMs - 40 * 60_000, nowMs), [b.caseId, c.caseId])
      t.same((await r.getCases([c.caseId, 'missing', a.caseId])).map((d) => d.caseId), [c.caseId, a.caseId])
    })

    t.test('applying the same events again changes nothing', async (t) => {
      const f = await open()
      t.teardown(f.close)
      const { events } = scenario(Date.now())
      const writer = await f.store.createVersion('store-1')
      await applyBatch(writer, events)
      await f.store.activate(writer.version)
      const before = await (await f.store.reader())!.counters(ALL_SCOPE)
      const again = await applyBatch(writer, events)
      t.equal(again.applied, 0)
      await applyBatch(writer, [events[7]!, events[0]!])
      const r = (await f.store.reader())!
      t.same(await r.counters(ALL_SCOPE), before)
      t.equal(r.position, 8)
      t.equal((await r.samples('resolution', 'fen-isleri', null, 0)).length, 1)
    })

    t.test('a rebuild fills a new version while the old one answers, then switches and deletes the old', async (t) => {
      const f = await open()
      t.teardown(f.close)
      const { events } = scenario(Date.now())
      const v1 = await f.store.createVersion('store-1')
      await applyBatch(v1, events.slice(0, 2))
      await f.store.activate(v1.version)
      let seenDuring: number | null = null
      async function* batches(): AsyncGenerator<PositionedEvent[]> {
        yield events.slice(0, 4)
        // Half-way through: the old version still answers.
        const r = (await f.store.reader())!
        seenDuring = (await r.counters(ALL_SCOPE)).total ?? 0
        t.equal(r.version, v1.version)
        yield events.slice(4)
      }
      const result = await rebuildVersion({ store: f.store, storeIdentity: 'store-2', batches: batches() })
      t.equal(seenDuring, 1, 'the old version answered during the rebuild')
      t.ok(result.version > v1.version)
      t.same(await f.store.active(), { version: result.version, storeIdentity: 'store-2', position: 8 })
      t.equal((await (await f.store.reader())!.counters(ALL_SCOPE)).total, 3)
      if (f.keysOfVersion !== undefined) t.equal(await f.keysOfVersion(v1.version), 0, 'no key of the old version is left')
    })

    t.test('a failed rebuild leaves the active version and drops the new one', async (t) => {
      const f = await open()
      t.teardown(f.close)
      const { events } = scenario(Date.now())
      const v1 = await f.store.createVersion('store-1')
      await applyBatch(v1, events)
      await f.store.activate(v1.version)
      let started = 0
      async function* failing(): AsyncGenerator<PositionedEvent[]> {
        yield events.slice(0, 2)
        throw new Error('store went away')
      }
      await t.rejects(rebuildVersion({ store: f.store, storeIdentity: 'store-1', batches: failing(), onStart: (v) => (started = v) }), /store went away/)
      t.equal((await f.store.active())?.version, v1.version)
      if (f.keysOfVersion !== undefined) t.equal(await f.keysOfVersion(started), 0, 'the half-built version is gone')
    })

    t.test('dead letters count once per source message and list the newest first', async (t) => {
      const f = await open()
      t.teardown(f.close)
      const entry = (offset: number, at: string) => ({ at, topic: 'civic.case-events.v1', groupId: 'routing', kind: 'failed', message: `boom ${offset}`, id: `civic.case-events.v1/0/${offset}/routing` })
      await f.store.recordDeadLetter(entry(1, '2026-11-20T10:00:00.000Z'))
      await f.store.recordDeadLetter(entry(2, '2026-11-20T11:00:00.000Z'))
      await f.store.recordDeadLetter(entry(1, '2026-11-20T10:00:00.000Z'))
      const dl = await f.store.deadLetters(10)
      t.equal(dl.count, 2)
      t.same(
        dl.latest.map((d) => d.message),
        ['boom 2', 'boom 1'],
      )
    })
  })
}
