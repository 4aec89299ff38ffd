// Helpers shared by this service's tests (not exported from the package).
import { randomBytes, randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { createBusinessCalendar, loadHolidayData } from '@civic-desk/calendar'
import { caseIdForTrackingCode, trackingCodeFromBytes, type CaseCommand, type CaseLimits, type CommandMeta } from '@civic-desk/case-domain'
import { caseStreamId, createCaseFeed, decodeCaseEvent, encodeCaseEvent, executeOnCase, type ExecuteResult } from '@civic-desk/case-feed'
import { categoryByCode, type CaseEvent, type Channel, type Citizen, type RequestKind } from '@civic-desk/contracts'
import { createMemoryEventStore, type EventStore } from '@civic-desk/event-store'
import { createMemoryBus } from '@civic-desk/messaging'
import { createAccessControl, createLogger, defaultCatalogueFile, loadAccessConfig, loadCatalogue } from '@civic-desk/service-kit'
import { buildWorkflowApp } from './app.ts'
import { createOpenCases, type OpenCases } from './open-cases.ts'
import { defaultWorkflowFile, loadWorkflows } from './workflows.ts'

export const catalogue = loadCatalogue(defaultCatalogueFile)
export const calendar = createBusinessCalendar(loadHolidayData())
export const workflows = loadWorkflows(defaultWorkflowFile, catalogue)
export const logger = createLogger({ level: 'silent', name: 'department-workflow-test' })

/** Monday 23 November 2026, 09:00 in Istanbul: a plain working day. */
export const T0 = new Date('2026-11-23T06:00:00.000Z')
export const HOUR = 3_600_000
export const at = (hours: number): Date => new Date(T0.getTime() + hours * HOUR)
export const iso = (hours: number): string => at(hours).toISOString()

const principals = [
  { id: 'ayse.fen', roles: ['staff'], departments: ['fen-isleri'], token: 'tok-fen-isleri' },
  { id: 'mehmet.temizlik', roles: ['staff'], departments: ['temizlik'], token: 'tok-temizlik' },
  { id: 'elif.park', roles: ['staff'], departments: ['park-bahce'], token: 'tok-park-bahce' },
  { id: 'zeynep.sosyal', roles: ['staff'], departments: ['sosyal-destek'], token: 'tok-sosyal-destek' },
  { id: 'baskan.yardimcisi', roles: ['supervisor'], departments: [], token: 'tok-supervisor' },
  { id: 'denetci', roles: ['auditor'], departments: [], token: 'tok-auditor' },
  { id: 'alo153', roles: ['channel'], departments: [], token: 'tok-channel' },
  { id: 'bt-operator', roles: ['operator'], departments: [], token: 'tok-operator' },
] as const
export const access = createAccessControl(loadAccessConfig({ json: JSON.stringify({ tokens: principals }) }))

/** Authorization headers by who is calling. */
export const as = {
  fen: { authorization: 'Bearer tok-fen-isleri' },
  temizlik: { authorization: 'Bearer tok-temizlik' },
  park: { authorization: 'Bearer tok-park-bahce' },
  sosyal: { authorization: 'Bearer tok-sosyal-destek' },
  supervisor: { authorization: 'Bearer tok-supervisor' },
  auditor: { authorization: 'Bearer tok-auditor' },
  channel: { authorization: 'Bearer tok-channel' },
  operator: { authorization: 'Bearer tok-operator' },
} as const

/** A settable clock. */
export class TestClock {
  constructor(public current: Date) {}
  readonly now = (): Date => this.current
  set(date: Date): void {
    this.current = date
  }
}

export const ayse: Citizen = { name: 'Ayşe Yılmaz', phone: '+90 532 111 22 33', email: 'ayse@example.com', preferredChannel: 'sms' }

export interface SeedOptions {
  readonly category: string
  readonly routedAt: Date
  readonly kind?: RequestKind
  readonly channel?: Channel
  readonly citizen?: Citizen
  readonly description?: string
}

export interface SeededCase {
  readonly caseId: string
  readonly trackingCode: string
  /** Nominal due instant of clock 1. */
  readonly dueAt: Date
}

/** Appends CaseSubmitted + CaseRouted (clock 1 from the category's SLA) to a fresh case stream. */
export async function seedCase(store: EventStore, options: SeedOptions): Promise<SeededCase> {
  const category = categoryByCode(catalogue, options.category)
  if (category === undefined) throw new Error(`no category ${options.category}`)
  const trackingCode = trackingCodeFromBytes(randomBytes(8))
  const caseId = caseIdForTrackingCode(trackingCode)
  const submittedId = randomUUID()
  const receivedAt = new Date(options.routedAt.getTime() - 60_000).toISOString()
  const dueAt = calendar.dueAt(options.routedAt, category.sla)
  const events: CaseEvent[] = [
    {
      eventId: submittedId,
      type: 'CaseSubmitted',
      schemaVersion: 1,
      occurredAt: receivedAt,
      actor: { kind: 'channel', id: 'alo153' },
      correlationId: `seed-${trackingCode}`,
      causationId: null,
      data: {
        caseId,
        trackingCode,
        channel: options.channel ?? 'call-center',
        kind: options.kind ?? 'complaint',
        category: category.code,
        description: options.description ?? 'Sokağımızda büyük bir çukur var, araçlar zarar görüyor.',
        location: { neighbourhood: 'Kazımdirik', address: 'Şehit Öğretmen Sk. No:4' },
        ...(options.citizen === undefined ? {} : { citizen: options.citizen }),
        receivedAt,
      },
    },
    {
      eventId: randomUUID(),
      type: 'CaseRouted',
      schemaVersion: 1,
      occurredAt: options.routedAt.toISOString(),
      actor: { kind: 'service', id: 'routing' },
      correlationId: `seed-${trackingCode}`,
      causationId: submittedId,
      data: {
        department: category.department,
        category: category.code,
        routedBy: 'category',
        matchedKeywords: [],
        sla: { clock: 1, startedAt: options.routedAt.toISOString(), deadline: category.sla, basis: 'category', dueAt: dueAt.toISOString() },
        legalDueAt: null,
      },
    },
  ]
  await store.append(caseStreamId(caseId), events.map(encodeCaseEvent), { expectedRevision: 'no_stream' })
  return { caseId, trackingCode, dueAt }
}

/** Runs a command through the decider at a given instant, as staff member `by` (for arranging a case). */
export async function act(
  store: EventStore,
  caseId: string,
  when: Date,
  command: (meta: CommandMeta) => CaseCommand,
  by = 'ayse.fen',
): Promise<ExecuteResult> {
  const meta: CommandMeta = { eventId: randomUUID(), occurredAt: when.toISOString(), actor: { kind: 'staff', id: by }, correlationId: 'test', causationId: null }
  return executeOnCase(store, caseId, () => command(meta))
}

/** The decoded events of a case. */
export async function eventsOf(store: EventStore, caseId: string): Promise<CaseEvent[]> {
  return (await store.readStream(caseStreamId(caseId))).map(decodeCaseEvent)
}

/** Revision of a case stream (-1 when absent). */
export async function revisionOf(store: EventStore, caseId: string): Promise<number> {
  return (await store.readStream(caseStreamId(caseId))).length - 1
}

/** Polls a condition (no fixed sleeps): resolves once it holds, fails the wait after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export interface Env {
  readonly store: EventStore
  readonly openCases: OpenCases
  readonly app: FastifyInstance
  readonly clock: TestClock
  /** `app.inject` with a JSON body. */
  request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: unknown): Promise<LightMyRequestResponse>
}

/** The case projection over `store`, through a case feed of its own that closes with it. */
export function projectCases(store: EventStore): OpenCases {
  const feed = createCaseFeed({ store, bus: createMemoryBus(), logger, groups: { kind: 'bus' } })
  const openCases = createOpenCases({ feed })
  const close = async (): Promise<void> => {
    await openCases.close()
    await feed.close()
  }
  return new Proxy(openCases, { get: (target, property) => (property === 'close' ? close : Reflect.get(target, property)) })
}

/** A fresh memory store, projection and app; closed when the test ends. */
export function setup(t: Test, start: Date = T0, options: { readonly caseLimits?: CaseLimits } = {}): Env {
  const store = createMemoryEventStore()
  const openCases = projectCases(store)
  const clock = new TestClock(start)
  const app = buildWorkflowApp({ store, openCases, catalogue, calendar, workflows, access, logger, now: clock.now, ...options })
  t.teardown(async () => {
    await app.close()
    await openCases.close()
    await store.close()
  })
  return {
    store,
    openCases,
    app,
    clock,
    request: (method, url, headers, payload) =>
      app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) }),
  }
}
