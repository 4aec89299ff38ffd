import t from 'tap'
import { decide, replay, type CaseCommand, type CaseState, type CommandMeta, type OpenCase } from '@civic-desk/case-domain'
import type { CaseEvent } from '@civic-desk/contracts'
import { ConfigError } from '@civic-desk/service-kit'
import { parseIfMatch } from './app.ts'
import { workflowConfig } from './config.ts'
import { MinHeap } from './heap.ts'
import { compareQueueEntries, toQueueEntry } from './open-cases.ts'
import { nextSlaThreshold } from './sla-scheduler.ts'
import { slaPositionAt } from './sla-view.ts'
import { historyEntries, nextWorkflowSteps } from './views.ts'
import { HOUR, at, ayse, iso, workflows } from './test-support.ts'

let n = 0
const meta = (hours: number, actor = 'ayse.fen'): CommandMeta => ({
  eventId: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  occurredAt: iso(hours),
  actor: { kind: 'staff', id: actor },
  correlationId: 'unit',
  causationId: null,
})

/** Given commands at hours, the events and the state (pure: the decider, no store). */
function given(commands: Array<(m: CommandMeta) => CaseCommand>, hours: number[]): { events: CaseEvent[]; state: OpenCase } {
  const events: CaseEvent[] = []
  let state: CaseState = replay([])
  commands.forEach((c, i) => {
    const produced = decide(c(meta(hours[i] ?? 0)), state)
    events.push(...produced)
    state = replay(events)
  })
  if (state.status === 'none') throw new Error('no case')
  return { events, state }
}

const submit = (m: CommandMeta): CaseCommand => ({
  type: 'SubmitCase',
  meta: m,
  data: {
    caseId: '9f0d6a3e-5b7c-5d1e-8f2a-3b4c5d6e7f80',
    trackingCode: 'K7MA-4PXR-9TK',
    channel: 'call-center',
    kind: 'complaint',
    category: 'yol-cukur',
    description: 'Çukur var.',
    citizen: ayse,
    receivedAt: m.occurredAt,
  },
})
const route = (m: CommandMeta): CaseCommand => ({
  type: 'RouteCase',
  meta: m,
  data: {
    department: 'fen-isleri',
    category: 'yol-cukur',
    routedBy: 'category',
    matchedKeywords: [],
    sla: { clock: 1, startedAt: m.occurredAt, deadline: { hours: 48 }, basis: 'category', dueAt: new Date(Date.parse(m.occurredAt) + 48 * HOUR).toISOString() },
    legalDueAt: null,
  },
})
const accept = (m: CommandMeta): CaseCommand => ({ type: 'AcceptCase', meta: m, data: { assignee: 'ayse.fen' } })
const ask = (m: CommandMeta): CaseCommand => ({ type: 'RequestInfo', meta: m, data: { question: 'Nerede?' } })
const reply = (m: CommandMeta): CaseCommand => ({ type: 'RecordCitizenReply', meta: m, data: { text: 'Burada.', channel: null } })
const check = (now: number) => (m: CommandMeta): CaseCommand => ({ type: 'CheckSla', meta: m, data: { now: iso(now) } })

t.test('MinHeap pops in key order', async (t) => {
  const heap = new MinHeap<string>()
  const keys = [5, 3, 9, 1, 7, 3, 0, 12, 4]
  keys.forEach((k) => heap.push(k, `v${k}`))
  t.equal(heap.size, keys.length)
  t.equal(heap.peek()?.key, 0)
  const out: number[] = []
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.key)
  t.same(out, [...keys].sort((a, b) => a - b))
  t.equal(heap.pop(), undefined)
})

t.test('nextSlaThreshold follows what the decider will record', async (t) => {
  const routed = given([submit, route], [0, 0]).state
  t.same(nextSlaThreshold(routed), { clock: 1, threshold: 'warning', at: at(36) })

  const warned = given([submit, route, check(40)], [0, 0, 40]).state
  t.same(nextSlaThreshold(warned), { clock: 1, threshold: 'breach', at: at(48) })

  const escalated = given([submit, route, check(50)], [0, 0, 50]).state
  t.equal(nextSlaThreshold(escalated), null, 'everything recorded')

  const pausedEarly = given([submit, route, accept, ask], [0, 0, 1, 10]).state
  t.equal(nextSlaThreshold(pausedEarly), null, 'an open pause before 75 % holds the clock')
  const resumed = given([submit, route, accept, ask, reply], [0, 0, 1, 10, 20]).state
  t.same(nextSlaThreshold(resumed), { clock: 1, threshold: 'warning', at: at(46) }, 'moved by the 10 h pause')

  // Paused between 75 % and 100 % with the warning not recorded (scheduler was down): the decider
  // needs an effective due instant for the warning, so nothing is due until the reply.
  const pausedLate = given([submit, route, accept, ask], [0, 0, 1, 40]).state
  t.equal(nextSlaThreshold(pausedLate), null)
  t.same(decide(check(60)(meta(60)), pausedLate), [], 'the decider agrees')

  const resolved = given([submit, route, (m) => ({ type: 'ResolveCase', meta: m, data: { resolution: 'Yapıldı' } })], [0, 0, 5]).state
  t.equal(nextSlaThreshold(resolved), null, 'an answered case has no thresholds')
  t.equal(nextSlaThreshold(given([submit], [0]).state), null, 'nor one not routed yet')
})

t.test('slaPositionAt: time left, effective due, paused', async (t) => {
  const running = given([submit, route], [0, 0]).state
  if (running.sla === null) throw new Error('no clock')
  t.match(slaPositionAt(running.sla, at(10)), { msLeft: 38 * HOUR, dueAt: at(48), paused: false, level: 'on-track' })
  t.match(slaPositionAt(running.sla, at(40)), { msLeft: 8 * HOUR, level: 'warning' })
  t.match(slaPositionAt(running.sla, at(50)), { msLeft: -2 * HOUR, dueAt: at(48), level: 'breached' })

  const paused = given([submit, route, accept, ask], [0, 0, 1, 10]).state
  if (paused.sla === null) throw new Error('no clock')
  t.match(slaPositionAt(paused.sla, at(10)), { paused: true, msLeft: 38 * HOUR, dueAt: at(48) }, 'paused at the very instant of the question')
  t.match(slaPositionAt(paused.sla, at(30)), { paused: true, msLeft: 38 * HOUR, dueAt: at(68), pausedMs: 20 * HOUR })

  const resumed = given([submit, route, accept, ask, reply], [0, 0, 1, 10, 30]).state
  if (resumed.sla === null) throw new Error('no clock')
  t.match(slaPositionAt(resumed.sla, at(30)), { paused: false, msLeft: 38 * HOUR, dueAt: at(68), nominalDueAt: at(48) }, 'running at the instant of the reply')
})

t.test('queue entries sort by time left; cases without a clock last', async (t) => {
  const a = toQueueEntry({ state: given([submit, route], [0, 0]).state, revision: 1 }, at(20))
  const b = toQueueEntry({ state: given([submit, route, accept, ask], [-10, -10, -9, -8]).state, revision: 3 }, at(20))
  const none = toQueueEntry({ state: given([submit], [0]).state, revision: 0 }, at(20))
  t.match(a, { msLeft: 28 * HOUR, dueAt: iso(48), paused: false, slaLevel: 'on-track', revision: 1 })
  t.match(b, { msLeft: 46 * HOUR, dueAt: iso(66), paused: true, status: 'waiting_for_citizen' })
  t.match(none, { msLeft: null, dueAt: null, slaLevel: null })
  t.same([none, b, a].sort(compareQueueEntries), [a, b, none])
})

t.test('parseIfMatch accepts "n", n, W/"n", lists and *; refuses anything else', async (t) => {
  t.equal(parseIfMatch(undefined), undefined)
  t.same(parseIfMatch('"3"'), { kind: 'revisions', revisions: [3] })
  t.same(parseIfMatch('3'), { kind: 'revisions', revisions: [3] })
  t.same(parseIfMatch('W/"12"'), { kind: 'revisions', revisions: [12] })
  t.same(parseIfMatch('"1", "2"'), { kind: 'revisions', revisions: [1, 2] })
  t.same(parseIfMatch(' * '), { kind: 'any' })
  for (const bad of ['', 'abc', '"3', '"-1"', '"3" x', 'W/ "3"']) {
    t.throws(() => parseIfMatch(bad), { name: 'ValidationError', errors: [{ field: 'if-match' }] }, JSON.stringify(bad))
  }
})

t.test('nextWorkflowSteps follows order and conditions', async (t) => {
  const wf = workflows.workflows[0]
  if (wf === undefined) throw new Error('no workflow')
  const rec = (step: string, fields: Record<string, string | number | boolean> = {}) => ({ workflow: wf.code, step, fields, at: iso(1) })
  t.same(nextWorkflowSteps(wf, []).map((s) => s.code), ['ev-ziyareti-planlandi'])
  t.same(nextWorkflowSteps(wf, [rec('ev-ziyareti-planlandi')]).map((s) => s.code), ['inceleme-tamamlandi'])
  const decided = (outcome: string) => [rec('ev-ziyareti-planlandi'), rec('inceleme-tamamlandi'), rec('karar', { outcome })]
  t.same(nextWorkflowSteps(wf, decided('onaylandi')).map((s) => s.code), ['yardim-teslim-edildi'])
  t.same(nextWorkflowSteps(wf, decided('reddedildi')).map((s) => s.code), [], 'no delivery after a refusal')
  t.same(nextWorkflowSteps(wf, [{ ...rec('ev-ziyareti-planlandi'), workflow: 'baska' }]).map((s) => s.code), ['ev-ziyareti-planlandi'], 'other workflows’ steps do not count')
})

t.test('history: auditors get the events without the applicant’s personal data', async (t) => {
  const { events } = given([submit, route], [0, 0])
  const records = events.map((event, i) => ({ event, revision: i, position: i + 10, recordedAt: iso(0) }))
  const full = historyEntries(records, 'full')
  t.same((full[0]?.data as { citizen?: unknown }).citizen, ayse)
  t.equal(full[0]?.redacted, undefined)
  const redacted = historyEntries(records, 'without-personal-data')
  t.equal((redacted[0]?.data as { citizen?: unknown }).citizen, undefined)
  t.same(redacted[0]?.redacted, ['data.citizen'])
  t.match(redacted[0], { revision: 0, position: 10, type: 'CaseSubmitted', data: { description: 'Çukur var.' } })
  t.same(redacted[1], full[1], 'other events unchanged')
})

t.test('config: defaults, and every bad variable reported', async (t) => {
  const config = workflowConfig.parse({})
  t.match(config, { port: 3003, host: '127.0.0.1', dataDir: './data', slaTickMs: 1000, logLevel: 'info' })
  t.match(config.workflowFile, /infra\/workflows\/workflows\.json$/)
  t.match(config.holidayFile, /infra\/calendar\/holidays-tr\.json$/)
  const error = t.throws(() => workflowConfig.parse({ PORT: 'eighty', CIVIC_SLA_TICK_MS: '0', CIVIC_SLA_TICK: '5' })) as ConfigError
  t.ok(error instanceof ConfigError)
  t.same(error.problems.map((p) => p.env).sort(), ['CIVIC_SLA_TICK', 'CIVIC_SLA_TICK_MS', 'PORT'])
})
