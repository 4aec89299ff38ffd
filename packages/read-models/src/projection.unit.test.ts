import t from 'tap'
import { projectBatch } from './batch.ts'
import { evolveCase, type CaseDoc, type PositionedEvent } from './case-document.ts'
import { ALL_SCOPE, countersOf, dayScope } from './counters.ts'
import { istanbulDay } from './instants.ts'
import { CaseScript } from './test-support.ts'

function fold(events: readonly PositionedEvent[]): CaseDoc | null {
  return events.reduce<CaseDoc | null>((doc, e) => evolveCase(doc, e), null)
}

t.test('a case document holds no citizen data and a compact timeline', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions, { category: 'yol-cukur', neighbourhood: 'Kazımdirik', channel: 'call-center' })
  const doc = fold([c.submitted('2026-11-20T09:00:00.000+03:00'), c.routed('2026-11-20T09:00:01.000+03:00', 'fen-isleri', '2026-11-22T09:00:01.000+03:00'), c.accepted('2026-11-20T10:00:00.000+03:00', 'fen-isleri')])
  t.ok(doc)
  t.equal(doc!.status, 'in_progress')
  t.equal(doc!.department, 'fen-isleri')
  t.equal(doc!.neighbourhood, 'Kazımdirik')
  t.equal(doc!.dueAt, new Date('2026-11-22T09:00:01.000+03:00').toISOString())
  t.equal(doc!.firstResponseAt, '2026-11-20T10:00:00.000+03:00')
  t.same(
    doc!.timeline.map((e) => [e.type, e.actor.kind]),
    [
      ['CaseSubmitted', 'channel'],
      ['CaseRouted', 'service'],
      ['CaseAccepted', 'staff'],
    ],
  )
  const text = JSON.stringify(doc)
  for (const secret of ['Ayşe', '+90 532 111 22 33', 'çukur var', 'Mehmet Usta']) t.notOk(text.includes(secret), `no ${secret} in the read model`)
})

t.test('events at or below the case position change nothing (redelivery)', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions, { category: 'yol-cukur' })
  const submitted = c.submitted('2026-11-20T09:00:00.000+03:00')
  const routed = c.routed('2026-11-20T09:00:01.000+03:00', 'fen-isleri', '2026-11-22T09:00:01.000+03:00')
  const doc = fold([submitted, routed])
  t.equal(evolveCase(doc, routed), doc, 'the same event again returns the same document')
  t.equal(evolveCase(doc, submitted), doc, 'an older event returns the same document')
  const change = projectBatch([submitted, routed, routed, submitted], new Map())
  t.equal(change.applied, 2)
  t.equal(change.skipped, 2)
  t.equal(change.counters.get(ALL_SCOPE)?.get('total'), 1)
  const again = projectBatch([submitted, routed], new Map([[c.caseId, doc!]]))
  t.equal(again.applied, 0)
  t.equal(again.cases.length, 0, 'nothing to write for a fully seen batch')
  t.equal(again.counters.size, 0)
})

t.test('counters follow status changes as set differences', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions, { category: 'yol-cukur', neighbourhood: 'Erzene' })
  const s = c.submitted('2026-11-20T09:00:00.000+03:00')
  const r = c.routed('2026-11-20T09:00:01.000+03:00', 'fen-isleri', '2026-11-22T09:00:01.000+03:00')
  const first = projectBatch([s, r], new Map())
  const all = first.counters.get(ALL_SCOPE)!
  t.equal(all.get('status:routed'), 1)
  t.equal(all.get('status:submitted'), undefined, 'submitted and routed in one batch: only the end state counts')
  t.equal(all.get('dept:fen-isleri|open'), 1)
  t.equal(all.get('nb:Erzene|open'), 1)
  const doc = first.cases[0]!
  const resolved = projectBatch([c.resolved('2026-11-21T09:00:00.000+03:00')], new Map([[c.caseId, doc]]))
  const delta = resolved.counters.get(ALL_SCOPE)!
  t.equal(delta.get('status:routed'), -1)
  t.equal(delta.get('status:resolved'), 1)
  t.equal(delta.get('dept:fen-isleri|open'), -1)
  t.equal(delta.get('open'), -1)
  t.equal(delta.get('total'), undefined, 'the total does not move')
  t.same(resolved.queueRemove, [{ department: 'fen-isleri', caseId: c.caseId }])
  t.same(
    resolved.samples.map((x) => [x.metric, x.durationMs]),
    [['resolution', 24 * 3600_000]],
  )
})

t.test('days are Europe/Istanbul days of the event time', async (t) => {
  // 21:30 UTC on the 20th is 00:30 on the 21st in Istanbul (UTC+3, no DST).
  t.equal(istanbulDay('2026-11-20T21:30:00.000Z'), '2026-11-21')
  t.equal(istanbulDay('2026-11-20T20:59:59.999Z'), '2026-11-20')
  const positions = { next: 1 }
  const late = new CaseScript(positions)
  const early = new CaseScript(positions)
  const change = projectBatch([late.submitted('2026-11-20T21:00:00.000Z'), early.submitted('2026-11-20T20:59:00.000Z')], new Map())
  t.equal(change.counters.get(dayScope('2026-11-21'))?.get('submitted'), 1)
  t.equal(change.counters.get(dayScope('2026-11-20'))?.get('submitted'), 1)
  t.same([...change.minutes.entries()].sort(), [
    [Date.parse('2026-11-20T20:59:00.000Z'), 1],
    [Date.parse('2026-11-20T21:00:00.000Z'), 1],
  ])
})

t.test('submission minutes more than two hours older than the batch’s newest event are not counted', async (t) => {
  const positions = { next: 1 }
  const old = new CaseScript(positions)
  const recent = new CaseScript(positions)
  const change = projectBatch([old.submitted('2026-11-20T06:59:00.000Z'), recent.submitted('2026-11-20T09:00:00.000Z')], new Map())
  t.same([...change.minutes.keys()], [Date.parse('2026-11-20T09:00:00.000Z')])
  t.equal(change.counters.get(dayScope('2026-11-20'))?.get('submitted'), 2, 'the day counts both')
})

t.test('a pause for the citizen holds the due time and shifts it by the pause', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions)
  const due = '2026-11-22T09:00:00.000Z'
  const paused = fold([c.submitted('2026-11-20T09:00:00.000Z'), c.routed('2026-11-20T09:00:00.000Z', 'fen-isleri', due), c.accepted('2026-11-20T10:00:00.000Z', 'fen-isleri'), c.infoRequested('2026-11-20T11:00:00.000Z')])
  t.equal(paused!.status, 'waiting_for_citizen')
  t.equal(paused!.dueAt, null)
  const resumed = evolveCase(paused, c.replied('2026-11-20T14:00:00.000Z'))
  t.equal(resumed!.status, 'in_progress')
  t.equal(resumed!.dueAt, '2026-11-22T12:00:00.000Z', 'three hours later')
})

t.test('breach and escalation count per department while open; a transfer moves the case', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions, { category: 'yol-cukur' })
  const doc = fold([
    c.submitted('2026-11-20T09:00:00.000Z'),
    c.routed('2026-11-20T09:00:00.000Z', 'fen-isleri', '2026-11-21T09:00:00.000Z'),
    c.breached('2026-11-21T09:00:00.000Z', 'fen-isleri', '2026-11-21T09:00:00.000Z'),
    c.escalated('2026-11-21T09:00:00.000Z', 'fen-isleri'),
  ])!
  const fields = countersOf(doc).get(ALL_SCOPE)!
  t.ok(fields.includes('dept:fen-isleri|escalated'))
  t.ok(fields.includes('dept:fen-isleri|breached'))
  const moved = projectBatch([c.transferred('2026-11-21T10:00:00.000Z', 'fen-isleri', 'imar', '2026-11-23T10:00:00.000Z')], new Map([[c.caseId, doc]]))
  const delta = moved.counters.get(ALL_SCOPE)!
  t.equal(delta.get('dept:fen-isleri|open'), -1)
  t.equal(delta.get('dept:fen-isleri|escalated'), -1)
  t.equal(delta.get('dept:imar|open'), 1)
  t.equal(delta.get('dept:imar|escalated'), undefined, 'a new clock starts unescalated')
  t.same(moved.queueRemove, [{ department: 'fen-isleri', caseId: c.caseId }])
  t.same(moved.queueAdd, [{ department: 'imar', caseId: c.caseId, score: Date.parse('2026-11-23T10:00:00.000Z') }])
})

t.test('a reply to a question on a case nobody accepted returns it to routed, as the decider does', async (t) => {
  const positions = { next: 1 }
  const c = new CaseScript(positions, { category: 'yol-cukur' })
  const routed = [c.submitted('2026-11-20T09:00:00.000+03:00'), c.routed('2026-11-20T09:00:01.000+03:00', 'fen-isleri', '2026-11-22T09:00:01.000+03:00')]
  const asked = fold([...routed, c.infoRequested('2026-11-20T10:00:00.000+03:00')])
  t.equal(asked?.status, 'waiting_for_citizen')
  t.equal(asked?.statusBeforeWait, 'routed')
  const replied = evolveCase(asked, c.replied('2026-11-20T11:00:00.000+03:00'))
  t.equal(replied?.status, 'routed', 'still to be accepted')
  t.equal(replied?.statusBeforeWait, null)
  t.equal(projectBatch([...routed, c.infoRequested('2026-11-20T10:00:00.000+03:00'), c.replied('2026-11-20T11:00:00.000+03:00')], new Map()).counters.get(ALL_SCOPE)?.get('status:routed'), 1)

  const d = new CaseScript(positions, { category: 'yol-cukur' })
  const accepted = fold([
    d.submitted('2026-11-20T09:00:00.000+03:00'),
    d.routed('2026-11-20T09:00:01.000+03:00', 'fen-isleri', '2026-11-22T09:00:01.000+03:00'),
    d.accepted('2026-11-20T09:30:00.000+03:00', 'fen-isleri'),
    d.infoRequested('2026-11-20T10:00:00.000+03:00'),
    d.replied('2026-11-20T11:00:00.000+03:00'),
  ])
  t.equal(accepted?.status, 'in_progress', 'an accepted case goes back to work')
})

t.test('an unlinked duplicate loses its link and runs on its own clock; a transfer drops the link too', async (t) => {
  const positions = { next: 1 }
  const original = '7c6b5a4d-3e2f-5a1b-8c9d-0e1f2a3b4c5d'
  const c = new CaseScript(positions, { category: 'konteyner' })
  const linked = fold([c.submitted('2026-11-20T09:00:00.000+03:00'), c.markedDuplicate('2026-11-20T09:00:01.000+03:00', 'temizlik', '2026-11-22T09:00:01.000+03:00', original)])
  t.equal(linked!.duplicateOf, original)
  const unlinked = evolveCase(linked, c.unlinked('2026-11-21T12:00:00.000+03:00', 'temizlik', '2026-11-23T12:00:00.000+03:00', original))
  t.equal(unlinked!.duplicateOf, null)
  t.equal(unlinked!.status, 'routed')
  t.equal(unlinked!.department, 'temizlik')
  t.equal(unlinked!.dueAt, new Date('2026-11-23T12:00:00.000+03:00').toISOString(), 'its own clock from the unlink')
  t.same(unlinked!.timeline.at(-1), { at: '2026-11-21T12:00:00.000+03:00', type: 'CaseDuplicateUnlinked', actor: { kind: 'staff', id: 'temizlik.zeynep' } })

  const d = new CaseScript(positions, { category: 'konteyner' })
  const moved = fold([
    d.submitted('2026-11-20T09:00:00.000+03:00'),
    d.markedDuplicate('2026-11-20T09:00:01.000+03:00', 'temizlik', '2026-11-22T09:00:01.000+03:00', original),
    d.transferred('2026-11-20T10:00:00.000+03:00', 'temizlik', 'zabita', '2026-11-22T10:00:00.000+03:00'),
  ])
  t.equal(moved!.department, 'zabita')
  t.equal(moved!.duplicateOf, null, 'no stale link in another directorate')
})
