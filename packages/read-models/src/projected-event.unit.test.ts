// The hand-written checks of stored events against the zod schemas they stand in for.
import t from 'tap'
import { z } from 'zod'
import { PROJECTED_EVENT_SCHEMAS, projectedEventFromStore, type ProjectedEvent } from './projected-event.ts'
import { realisticStoredEvents } from './test-support.ts'

/** The schemas alone, as projectedEventFromStore decided before its hand-written checks. */
function viaSchemas(type: string, data: unknown, metadata: unknown): ProjectedEvent | null {
  const schema = (PROJECTED_EVENT_SCHEMAS as Record<string, z.ZodType<ProjectedEvent>>)[type]
  if (schema === undefined) return null
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {}
  const parsed = schema.safeParse({ type, occurredAt: meta.occurredAt, actor: meta.actor, data })
  return parsed.success ? parsed.data : null
}

const stored = realisticStoredEvents(80, 7)

t.test('the hand-written event checks decide as the schemas do', async (t) => {
  let compared = 0
  for (const e of stored) {
    t.same(projectedEventFromStore(e.type, e.data, e.metadata), viaSchemas(e.type, e.data, e.metadata), e.type)
    compared++
  }
  // Oddities: every one must be decided the same way (most are skipped).
  const submitted = stored.find((e) => e.type === 'CaseSubmitted')!
  const routed = stored.find((e) => e.type === 'CaseRouted')!
  const odd: Array<[string, unknown, unknown]> = [
    ['CaseSubmitted', { ...submitted.data, category: null }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, category: '' }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, location: 'Erzene' }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, location: { neighbourhood: 7 } }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, location: {} }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, submittedAt: null }, submitted.metadata],
    ['CaseSubmitted', { ...submitted.data, caseId: 12 }, submitted.metadata],
    ['CaseSubmitted', submitted.data, { ...submitted.metadata, occurredAt: '' }],
    ['CaseSubmitted', submitted.data, { ...submitted.metadata, actor: { kind: 'staff' } }],
    ['CaseSubmitted', submitted.data, { ...submitted.metadata, actor: ['staff', 'x'] }],
    ['CaseSubmitted', submitted.data, null],
    ['CaseSubmitted', null, submitted.metadata],
    ['CaseRouted', { ...routed.data, category: undefined }, routed.metadata],
    ['CaseRouted', { ...routed.data, sla: { startedAt: 'x' } }, routed.metadata],
    ['CaseRouted', { ...routed.data, department: ['fen'] }, routed.metadata],
    ['CaseMarkedDuplicate', routed.data, routed.metadata],
    ['CaseTransferred', routed.data, routed.metadata],
    ['CaseReopened', { sla: 'soon' }, routed.metadata],
    ['CaseAccepted', undefined, routed.metadata],
    ['CaseAccepted', 'anything', { occurredAt: 'x', actor: { kind: 'staff', id: '' } }],
    ['CaseFlewAway', {}, routed.metadata],
  ]
  for (const [type, data, metadata] of odd) t.same(projectedEventFromStore(type, data, metadata), viaSchemas(type, data, metadata), `${type} ${JSON.stringify(data)?.slice(0, 60)}`)
  t.ok(compared > 300, `${compared} realistic events compared`)
})
