// What the dashboard and operations routes answer, as the API description shows it (the views in
// views.ts build these shapes; the OpenAPI example test holds them to it).
import { z } from 'zod'
import { CaseStatus } from '@civic-desk/contracts'

const Instant = z.string().describe('ISO 8601 instant')
const Counts = z.record(z.string(), z.number().int()).describe('Count per code')
const Names = z.record(z.string(), z.object({ nameTr: z.string(), nameEn: z.string() }))
const CategoryNames = z.record(z.string(), z.object({ nameTr: z.string(), nameEn: z.string(), department: z.string() }))
const Statuses = z.array(z.object({ code: CaseStatus, open: z.boolean() })).describe('Every status in lifecycle order and whether it is open')
const SlaHealth = z.object({ open: z.number().int(), dueWithin24h: z.number().int(), breached: z.number().int(), escalated: z.number().int() })
const Position = z.number().int().min(0).describe('Global position the read models have applied')
const Percentiles = z.object({ count: z.number().int(), medianMs: z.number().nullable(), p90Ms: z.number().nullable() })
const ResponseTimes = z.object({ firstResponse: Percentiles, resolution: Percentiles })

export const OverviewSchema = z.object({
  position: Position,
  generatedAt: Instant,
  totals: z.object({ total: z.number().int(), open: z.number().int(), byStatus: Counts, byChannel: Counts, byKind: Counts, byDepartment: Counts, byCategory: Counts, byNeighbourhood: Counts }),
  today: z.object({ date: z.string().describe('Istanbul day'), submitted: z.number().int(), byChannel: Counts, byDepartment: Counts, byKind: Counts, byCategory: Counts, byStatus: Counts }),
  sla: z.object({ totals: SlaHealth, byDepartment: z.record(z.string(), SlaHealth) }),
  statuses: Statuses,
  submissionsPerMinute: z.array(z.object({ minute: Instant, count: z.number().int() })).describe('The last 60 minutes'),
  departments: Names,
  categories: CategoryNames,
})

export const NeighbourhoodsSchema = z.object({
  position: Position,
  generatedAt: Instant,
  totals: z.object({ total: z.number().int(), open: z.number().int() }),
  withoutNeighbourhood: z.object({ total: z.number().int(), open: z.number().int() }),
  neighbourhoods: z.array(z.object({ name: z.string(), total: z.number().int(), open: z.number().int(), byCategory: Counts, spellings: z.array(z.string()) })),
  categories: CategoryNames,
})

export const DepartmentSchema = z.object({
  position: Position,
  generatedAt: Instant,
  department: z.object({ code: z.string(), nameTr: z.string(), nameEn: z.string() }),
  categories: CategoryNames,
  sla: SlaHealth,
  statuses: Statuses,
  counts: z.object({ byStatus: Counts, byCategory: Counts }),
  queue: z.array(
    z.object({
      caseId: z.string(),
      trackingCode: z.string(),
      status: CaseStatus,
      category: z.string().nullable(),
      kind: z.string(),
      channel: z.string(),
      neighbourhood: z.string().nullable(),
      submittedAt: Instant,
      dueAt: Instant.nullable(),
      msLeft: z.number().nullable().describe('Negative when overdue'),
      slaLevel: z.enum(['on-track', 'warning', 'breached', 'paused', 'none']),
      escalated: z.boolean(),
    }),
  ),
  responseTimes: ResponseTimes.extend({ windowDays: z.number().int(), byCategory: z.record(z.string(), ResponseTimes) }),
})

export const DashboardCaseSchema = z.object({
  position: Position,
  case: z.object({
    caseId: z.string(),
    trackingCode: z.string(),
    status: CaseStatus,
    kind: z.string(),
    channel: z.string(),
    department: z.string().nullable(),
    category: z.string().nullable(),
    neighbourhood: z.string().nullable(),
    submittedAt: Instant,
    receivedAt: Instant,
    dueAt: Instant.nullable(),
    firstResponseAt: Instant.nullable(),
    resolvedAt: Instant.nullable(),
    escalated: z.boolean(),
    breached: z.boolean(),
    duplicateOf: z.string().nullable(),
    timeline: z.array(z.object({ at: Instant, type: z.string(), actor: z.object({ kind: z.string(), id: z.string() }) })),
  }),
})

export const StreamsSchema = z.object({
  generatedAt: Instant,
  head: z.number().int().min(0).describe("The store's newest global position"),
  eventStore: z.object({ kind: z.string(), target: z.string() }).optional(),
  eventsPerSecond: z.number(),
  consumers: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['store', 'kafka']),
      topic: z.string().optional(),
      position: z.number().int().optional(),
      lag: z.number().int().nullable().describe('null when it cannot be known now (see `problem`)'),
      problem: z.string().optional(),
    }),
  ),
  deadLetters: z.object({
    count: z.number().int(),
    latest: z.array(z.object({ at: Instant, topic: z.string(), groupId: z.string(), kind: z.string(), message: z.string() })),
  }),
})

export const ReadModelsSchema = z.object({
  activeVersion: z.number().int().nullable(),
  position: z.number().int().min(0),
  store: z.enum(['memory', 'redis']),
  rebuilding: z.object({ version: z.number().int(), position: z.number().int(), head: z.number().int(), startedAt: Instant }).nullable(),
})

export const RebuildSchema = z.object({ version: z.number().int().describe('The version being built') })

/** The CSV export: UTF-8 with a byte order mark, a header line, one line per case. */
export const CsvResponse = {
  description: 'The cases as CSV (UTF-8 with BOM), no personal data',
  content: { 'text/csv': { schema: z.string().describe('CSV with a header line') } },
}
