import t, { type Test } from 'tap'
import { CaseEvent } from '@civic-desk/contracts'
import { CaseRuleViolation, decide, evolve, initialState, nextSlaThreshold, type CaseCommand, type CaseState, type CommandMeta, type OpenCase, type Submission } from './case.ts'
import { deriveEventId } from './ids.ts'
import { toPublicView } from './view.ts'

let counter = 0
function at(occurredAt: string, actor: CommandMeta['actor'] = { kind: 'staff', id: 'temizlik.zeynep' }): CommandMeta {
  counter++
  return { eventId: deriveEventId('unlink-test', String(counter)), occurredAt, actor, correlationId: `c-${counter}`, causationId: null }
}

const submission: Submission = {
  caseId: '3a1f6c2e-8b7d-5e4f-9a0b-1c2d3e4f5a6b',
  trackingCode: 'M3KX-7PRT-2QA',
  channel: 'web',
  kind: 'complaint',
  category: 'cop-toplama',
  description: 'Konteynerler taştı, çöpler sokağa yayıldı.',
  citizen: { name: 'Ali Demir', phone: '+90 533 222 33 44', preferredChannel: 'sms' },
  receivedAt: '2026-11-20T06:00:00.000Z',
}
const original = { caseId: '7c6b5a4d-3e2f-5a1b-8c9d-0e1f2a3b4c5d', trackingCode: 'H9WE-3NDL-5VB' }
const sla = (startedAt: string, dueAt: string) => ({ startedAt, dueAt, deadline: { hours: 48 }, basis: 'category' as const })

function run(commands: CaseCommand[], state: CaseState = initialState()): { state: CaseState; events: CaseEvent[] } {
  const all: CaseEvent[] = []
  for (const command of commands) {
    // Every event the decider makes must be one the contract accepts.
    const events = decide(command, state).map((e) => CaseEvent.parse(e))
    all.push(...events)
    state = events.reduce(evolve, state)
  }
  return { state, events: all }
}
const open = (s: CaseState): OpenCase => {
  if (s.status === 'none') throw new Error('no case')
  return s
}
function violation(t: Test, fn: () => unknown, code: string, pattern?: RegExp): void {
  try {
    fn()
    t.fail(`expected ${code}`)
  } catch (error) {
    t.ok(error instanceof CaseRuleViolation, 'a CaseRuleViolation')
    t.equal((error as CaseRuleViolation).code, code)
    if (pattern !== undefined) t.match((error as Error).message, pattern)
  }
}

const duplicateCase = (): CaseState =>
  run([
    { type: 'SubmitCase', meta: at('2026-11-20T06:00:00.000Z', { kind: 'channel', id: 'web' }), data: submission },
    {
      type: 'MarkDuplicate',
      meta: at('2026-11-20T06:00:01.000Z', { kind: 'service', id: 'routing' }),
      data: {
        department: 'temizlik',
        category: 'cop-toplama',
        routedBy: 'category',
        matchedKeywords: [],
        sla: { clock: 1, ...sla('2026-11-20T06:00:00.000Z', '2026-11-22T06:00:00.000Z') },
        legalDueAt: null,
        duplicateOf: original.caseId,
        duplicateOfTrackingCode: original.trackingCode,
        match: 'location',
        distanceMeters: 20,
        similarity: 0.3,
      },
    },
  ]).state

const unlink = (occurredAt: string, dueAt: string): CaseCommand => ({
  type: 'UnlinkDuplicate',
  meta: at(occurredAt),
  data: { reason: 'Farklı sokaktaki konteynerler', sla: sla(occurredAt, dueAt) },
})

t.test('unlinking a wrong duplicate: own clock from the unlink, no link, still in its directorate', async (t) => {
  const linked = duplicateCase()
  t.same(open(linked).duplicateOf, original)
  const { state, events } = run([unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z')], linked)
  t.same(events.map((e) => e.type), ['CaseDuplicateUnlinked'])
  const data = (events[0] as Extract<CaseEvent, { type: 'CaseDuplicateUnlinked' }>).data
  t.same(data, {
    duplicateOf: original.caseId,
    duplicateOfTrackingCode: original.trackingCode,
    department: 'temizlik',
    reason: 'Farklı sokaktaki konteynerler',
    sla: { clock: 2, ...sla('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z') },
  })
  const c = open(state)
  t.equal(c.duplicateOf, null)
  t.equal(c.status, 'routed')
  t.equal(c.department, 'temizlik')
  t.equal(c.sla?.terms.clock, 2)
  t.equal(c.sla?.terms.startedAt, '2026-11-21T10:00:00.000Z')
  t.equal(c.expectedBy, '2026-11-23T10:00:00.000Z')
  const view = toPublicView(c, { category: () => undefined, department: () => ({ code: 'temizlik', nameTr: 'Temizlik İşleri Müdürlüğü', nameEn: 'Cleaning' }) })
  t.match(view.timeline.at(-1), { step: 'duplicate-unlinked', textTr: /ayrı bir başvuru olarak ele alınacak: Temizlik İşleri Müdürlüğü/ })
})

t.test("the SLA thresholds follow the unlinked case's own clock, not the linked one's", async (t) => {
  // Linked on the 20th with 48 h: overdue and escalated by the 23rd, as nobody worked the "duplicate".
  const overdue = run([{ type: 'CheckSla', meta: at('2026-11-23T00:00:00.000Z', { kind: 'system', id: 'sla' }), data: { now: '2026-11-23T00:00:00.000Z' } }], duplicateCase())
  t.same(overdue.events.map((e) => e.type), ['SlaWarningRaised', 'SlaBreached', 'CaseEscalated'])
  const state = run([unlink('2026-11-23T01:00:00.000Z', '2026-11-25T01:00:00.000Z')], overdue.state).state
  t.same(nextSlaThreshold(state), { clock: 2, threshold: 'warning', at: new Date('2026-11-24T13:00:00.000Z') })
  t.same(decide({ type: 'CheckSla', meta: at('2026-11-23T02:00:00.000Z'), data: { now: '2026-11-23T02:00:00.000Z' } }, state), [], 'nothing is due on the new clock yet')
})

t.test('an accepted duplicate keeps its assignee when unlinked', async (t) => {
  const accepted = run([{ type: 'AcceptCase', meta: at('2026-11-20T08:00:00.000Z'), data: { assignee: 'temizlik.zeynep' } }], duplicateCase()).state
  const c = open(run([unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z')], accepted).state)
  t.equal(c.status, 'in_progress')
  t.equal(c.assignee, 'temizlik.zeynep')
  t.equal(c.duplicateOf, null)
})

t.test('unlinking is refused for a case that is not linked, waits on the citizen, or was answered', async (t) => {
  const unlinked = run([unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z')], duplicateCase()).state
  violation(t, () => decide(unlink('2026-11-21T11:00:00.000Z', '2026-11-23T11:00:00.000Z'), unlinked), 'not_a_duplicate')
  const waiting = run([{ type: 'RequestInfo', meta: at('2026-11-20T09:00:00.000Z'), data: { question: 'Hangi sokak?' } }], duplicateCase()).state
  violation(t, () => decide(unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z'), waiting), 'illegal_step', /record the reply first/)
  const resolved = run([{ type: 'ResolveCase', meta: at('2026-11-20T09:00:00.000Z'), data: { resolution: 'Toplandı.' } }], duplicateCase()).state
  violation(t, () => decide(unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z'), resolved), 'illegal_step', /reopen it first/)
  violation(t, () => decide(unlink('2026-11-21T10:00:00.000Z', '2026-11-23T10:00:00.000Z'), initialState()), 'case_not_found')
})

t.test('a transfer to another directorate drops the duplicate link', async (t) => {
  const { state } = run(
    [{ type: 'TransferCase', meta: at('2026-11-20T09:00:00.000Z'), data: { toDepartment: 'zabita', category: null, reason: 'Kaçak döküm', sla: sla('2026-11-20T09:00:00.000Z', '2026-11-22T09:00:00.000Z') } }],
    duplicateCase(),
  )
  t.equal(open(state).department, 'zabita')
  t.equal(open(state).duplicateOf, null)
})

const resolve = (occurredAt: string): CaseCommand => ({ type: 'ResolveCase', meta: at(occurredAt), data: { resolution: 'Konteyner boşaltıldı.' } })
const reopen = (occurredAt: string, extra: { limit?: number; override?: { reason: string } } = {}): CaseCommand => ({
  type: 'ReopenCase',
  meta: at(occurredAt),
  data: { reason: 'Yine taştı', sla: sla(occurredAt, '2026-12-30T00:00:00.000Z'), ...extra },
})

/** The duplicate-free case resolved and reopened `n` times, then resolved again. */
function reopenedTimes(n: number, limit: number): CaseState {
  let state = run([unlink('2026-11-20T07:00:00.000Z', '2026-11-22T07:00:00.000Z'), resolve('2026-11-20T08:00:00.000Z')], duplicateCase()).state
  for (let i = 0; i < n; i++) {
    state = run([reopen(`2026-11-2${1 + i}T08:00:00.000Z`, { limit }), resolve(`2026-11-2${1 + i}T09:00:00.000Z`)], state).state
  }
  return state
}

t.test('reopenings are capped: up to the limit, then refused without a supervisor override', async (t) => {
  const atLimit = reopenedTimes(3, 3)
  t.equal(open(atLimit).reopenings, 3)
  t.equal(atLimit.status, 'resolved')
  violation(t, () => decide(reopen('2026-11-28T08:00:00.000Z', { limit: 3 }), atLimit), 'reopen_limit_reached', /already reopened 3 times and the limit is 3/)
  // Without a limit (a caller that sets none) there is no cap.
  t.same(decide(reopen('2026-11-28T08:00:00.000Z'), atLimit).map((e) => e.type), ['CaseReopened'])
})

t.test("a supervisor's override goes beyond the limit and is recorded with its reason", async (t) => {
  const atLimit = reopenedTimes(3, 3)
  const { state, events } = run([reopen('2026-11-28T08:00:00.000Z', { limit: 3, override: { reason: 'Muhtarlık yazısı: sorun sürüyor' } })], atLimit)
  t.equal(events.length, 1)
  t.same((events[0] as Extract<CaseEvent, { type: 'CaseReopened' }>).data.beyondLimit, { limit: 3, reason: 'Muhtarlık yazısı: sorun sürüyor' })
  t.equal(state.status, 'routed')
  t.equal(open(state).reopenings, 4)
  // Below the limit an override is not needed, and nothing is recorded of it.
  const once = reopenedTimes(1, 3)
  const below = decide(reopen('2026-11-28T08:00:00.000Z', { limit: 3, override: { reason: 'gerekmez' } }), once)
  t.equal((below[0] as Extract<CaseEvent, { type: 'CaseReopened' }>).data.beyondLimit, undefined)
})

t.test('a CaseReopened stored before the limit existed still decodes and counts', async (t) => {
  const stored = {
    eventId: deriveEventId('old', '1'),
    type: 'CaseReopened',
    schemaVersion: 1,
    occurredAt: '2026-11-21T08:00:00.000Z',
    actor: { kind: 'staff', id: 'temizlik.zeynep' },
    correlationId: 'c-old',
    causationId: null,
    data: { reason: 'Yine taştı', sla: { clock: 3, ...sla('2026-11-21T08:00:00.000Z', '2026-11-23T08:00:00.000Z') } },
  }
  const event = CaseEvent.parse(stored)
  const before = run([resolve('2026-11-20T08:00:00.000Z')], duplicateCase()).state
  t.equal(open(evolve(before, event)).reopenings, 1)
})
