// Shared by the supervisors' integration tests: a store and case feed as in distributed mode, the
// default catalogue with supervisor contacts, and cases driven to an escalation.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand, type Submission } from '@civic-desk/case-domain'
import { caseEventMessage, createCaseFeed, executeOnCase, type CaseFeed } from '@civic-desk/case-feed'
import { validateCatalogue, type Catalogue, type SupervisorContact } from '@civic-desk/contracts'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { TOPICS, createMemoryBus, type MemoryBus } from '@civic-desk/messaging'
import { createLogger, defaultCatalogueFile, defineConfig } from '@civic-desk/service-kit'
import { providerConfigEntries } from './config.ts'
import { startSupervisorService, type SupervisorService } from './supervisor-service.ts'

const logger = createLogger({ level: 'silent', name: 'supervisors-test' })
const rawCatalogue = JSON.parse(readFileSync(defaultCatalogueFile, 'utf8')) as { departments: Array<{ code: string }> } & Record<string, unknown>

/** The default catalogue with supervisor contacts for some directorates. */
export function catalogueWith(contacts: Readonly<Record<string, SupervisorContact>>): Catalogue {
  return validateCatalogue({ ...rawCatalogue, departments: rawCatalogue.departments.map((d) => (contacts[d.code] === undefined ? d : { ...d, supervisors: contacts[d.code] })) })
}

export const config = (env: Record<string, string> = {}) =>
  defineConfig(providerConfigEntries).parse({ CIVIC_NOTIFY_BACKOFF_MS: '10', CIVIC_NOTIFY_ATTEMPTS: '3', CIVIC_MUNICIPALITY_NAME: 'Kadıköy Belediyesi', ...env })

export interface Rig {
  readonly store: EventStore
  readonly bus: MemoryBus
  readonly feed: CaseFeed
  readonly dataDir: string
}

/** A memory store whose case events reach a bus-fed case feed through a minimal relay, as in distributed mode. */
export function rig(t: Test): Rig {
  const store = createMemoryEventStore()
  const bus = createMemoryBus()
  const relay = store.subscribeToAll({ streamPrefix: 'case-' }, (recorded) => bus.publish(TOPICS.caseEvents, [caseEventMessage(recorded)]))
  const feed = createCaseFeed({ store, bus, logger, groups: { kind: 'bus' } })
  const dataDir = mkdtempSync(join(tmpdir(), 'civic-desk-supervisors-'))
  t.teardown(async () => {
    await relay.close()
    await feed.close()
    await bus.close()
    await store.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
  return { store, bus, feed, dataDir }
}

export async function startService(t: Test, r: Rig, catalogue: Catalogue, env: Record<string, string>, now?: () => Date): Promise<SupervisorService> {
  const service = await startSupervisorService({ feed: r.feed, store: r.store, catalogue, config: config(env), dataDir: r.dataDir, logger, digestIntervalMs: 3_600_000, ...(now === undefined ? {} : { now }) })
  t.teardown(() => service.stop())
  return service
}

export const CITIZEN = { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', email: 'ayse.yilmaz@example.com', preferredChannel: 'sms' as const }
export const DESCRIPTION = 'Evimizin önündeki çukura düştüm'

export function newCase(): Submission {
  const trackingCode = trackingCodeFromBytes(Buffer.from(randomUUID().replace(/-/g, ''), 'hex'))
  return {
    caseId: caseIdForTrackingCode(trackingCode),
    trackingCode,
    channel: 'call-center',
    kind: 'complaint',
    category: 'yol-cukur',
    description: DESCRIPTION,
    citizen: CITIZEN,
    receivedAt: '2026-11-20T06:00:00.000Z',
  }
}

export const meta = () => ({ eventId: randomUUID(), occurredAt: new Date().toISOString(), actor: { kind: 'staff' as const, id: 'fen.ahmet' }, correlationId: 'test', causationId: null })

export async function exec(store: EventStore, caseId: string, command: (m: ReturnType<typeof meta>) => CaseCommand): Promise<void> {
  await executeOnCase(store, caseId, () => command(meta()))
}

export async function submitAndRoute(store: EventStore, s: Submission, route: { department: string; category: string; dueAt: string } = { department: 'fen-isleri', category: 'yol-cukur', dueAt: '2026-11-22T06:00:00.000Z' }): Promise<void> {
  await exec(store, s.caseId, (m) => ({ type: 'SubmitCase', meta: m, data: s }))
  await exec(store, s.caseId, (m) => ({
    type: 'RouteCase',
    meta: m,
    data: {
      department: route.department,
      category: route.category,
      routedBy: 'category',
      matchedKeywords: [],
      sla: { clock: 1, startedAt: s.receivedAt, deadline: { hours: 48 }, basis: 'category', dueAt: route.dueAt },
      legalDueAt: null,
    },
  }))
}

/** Runs the SLA check as the scheduler would at `now`: breach and escalation in one append. */
export async function checkSla(store: EventStore, caseId: string, now: string): Promise<void> {
  await exec(store, caseId, (m) => ({ type: 'CheckSla', meta: { ...m, actor: { kind: 'system', id: 'sla-scheduler' } }, data: { now } }))
}
