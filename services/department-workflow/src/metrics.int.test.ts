// department-workflow's own app, as the distributed service serves it: its GET /metrics shows the
// SLA scheduler's warnings, breaches and escalations by directorate, and the open cases by
// directorate and SLA level counted from the projection when scraped.
import t from 'tap'
import { createMemoryEventStore } from '@civic-desk/event-store'
import { countingAppends } from '@civic-desk/service-kit'
import { parseMetrics } from '@civic-desk/service-kit/testing'
import { buildWorkflowApp } from './app.ts'
import { startSlaScheduler } from './sla-scheduler.ts'
import { TestClock, access, as, at, calendar, catalogue, logger, projectCases, seedCase, waitFor, workflows } from './test-support.ts'

t.test('SLA thresholds and open cases by directorate on /metrics of the workflow app', async (t) => {
  const store = countingAppends(createMemoryEventStore())
  const openCases = projectCases(store)
  const clock = new TestClock(at(60))
  const app = buildWorkflowApp({ store, openCases, catalogue, calendar, workflows, access, logger, now: clock.now, eventStore: { kind: 'memory', target: 'memory', head: () => store.headPosition() } })
  t.teardown(async () => {
    await app.close()
    await openCases.close()
    await store.close()
  })
  const scrape = async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: as.operator })
    t.equal(res.statusCode, 200)
    return parseMetrics(res.body)
  }
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'no token')
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: as.fen })).statusCode, 403, 'staff')

  // yol-cukur (fen-isleri) has 48 h: routed at 0 h, at 60 h it is past warning, breach and escalation.
  const late = await seedCase(store, { category: 'yol-cukur', routedAt: at(0) })
  await seedCase(store, { category: 'yol-cukur', routedAt: at(40) }) // 20 h of 48: on track
  await seedCase(store, { category: 'olu-hayvan', routedAt: at(40) }) // 20 h of 24: warning reached, not recorded yet
  await openCases.waitUntil(await store.headPosition())
  const before = await scrape()
  t.equal(before.value('civic_sla_breaches_total', { directorate: 'fen-isleri' }), 0)

  const scheduler = startSlaScheduler({ store, openCases, now: clock.now, intervalMs: 20, logger })
  t.teardown(() => scheduler.stop())
  await waitFor('the late case escalated', () => openCases.get(late.caseId)?.state.sla?.escalated === true)
  await waitFor('every threshold recorded', () => scheduler.recorded >= 4)
  await openCases.waitUntil(await store.headPosition())

  const after = await scrape()
  const vet = catalogue.categories.find((c) => c.code === 'olu-hayvan')?.department ?? ''
  t.equal(after.value('civic_sla_warnings_total', { directorate: 'fen-isleri' }), 1)
  t.equal(after.value('civic_sla_breaches_total', { directorate: 'fen-isleri' }), 1)
  t.equal(after.value('civic_sla_escalations_total', { directorate: 'fen-isleri' }), 1)
  t.equal(after.value('civic_sla_warnings_total', { directorate: vet }), 1, `${vet}: warned, not breached`)
  t.equal(after.value('civic_sla_breaches_total', { directorate: vet }), 0)
  t.equal(after.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'breached' }), 1)
  t.equal(after.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'on-track' }), 1)
  t.equal(after.value('civic_open_cases', { directorate: vet, sla_level: 'warning' }), 1)
  t.equal(after.value('civic_open_cases'), 3, 'every open case once')
  t.equal(after.value('civic_events_appended_total', { type: 'CaseEscalated' }) - before.value('civic_events_appended_total', { type: 'CaseEscalated' }), 1)
  t.equal(after.value('civic_event_store_up'), 1)

  // The gauge follows the cases: a time later (clock moved) the on-track case is in warning too.
  clock.set(at(40 + 40))
  const later = await scrape()
  t.equal(later.value('civic_open_cases', { directorate: 'fen-isleri', sla_level: 'on-track' }), 0)
})
