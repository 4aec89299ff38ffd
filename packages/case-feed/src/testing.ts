// Test support of the case feed, as `@civic-desk/case-feed/testing` (never imported by production
// code): valid case events, appended to many cases interleaved, and records of foreign writers.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { CaseEvent } from '@civic-desk/contracts'
import type { EventStore, EventToAppend } from '@civic-desk/event-store'
import { createLogger, type Logger } from '@civic-desk/service-kit'
import { encodeCaseEvent } from './codec.ts'
import { caseStreamId } from './stream.ts'

export { waitFor } from '@civic-desk/messaging/testing'

export const silentLogger: Logger = createLogger({ level: 'silent', name: 'case-feed-test' })

export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-case-feed-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A valid case event: CaseSubmitted at revision 0, notes after it. */
export function caseEvent(caseId: string, revision: number): EventToAppend {
  const meta = {
    eventId: randomUUID(),
    schemaVersion: 1 as const,
    occurredAt: '2026-11-20T09:15:00.000Z',
    actor: { kind: 'service' as const, id: 'test' },
    correlationId: `corr-${caseId}`,
    causationId: null,
  }
  const event: CaseEvent =
    revision === 0
      ? {
          ...meta,
          type: 'CaseSubmitted',
          data: { caseId, trackingCode: 'K7MA-4PXR-9TK', channel: 'web', kind: 'complaint', description: `Çukur #${caseId.slice(0, 4)}`, receivedAt: '2026-11-20T09:15:00.000Z' },
        }
      : { ...meta, type: 'CaseNoteAdded', data: { text: `not ${revision}` } }
  return encodeCaseEvent(event)
}

/** Builds the event at `revision` of a case: `caseEvent` unless a test wants others. */
export type EventAt = (caseId: string, revision: number) => EventToAppend

/** Appends `perCase` events to each of `cases` new case streams, interleaved across cases, plus an event of another stream per round. */
export async function appendCases(store: EventStore, cases: number, perCase: number, eventAt: EventAt = caseEvent): Promise<string[]> {
  const ids = Array.from({ length: cases }, () => randomUUID())
  for (let revision = 0; revision < perCase; revision++) {
    for (const caseId of ids) await store.append(caseStreamId(caseId), [eventAt(caseId, revision)], { expectedRevision: revision === 0 ? 'no_stream' : revision - 1 })
    await store.append(`intake-dedupe-${randomUUID()}`, [{ id: randomUUID(), type: 'ExternalIdClaimed', data: {} }], { expectedRevision: 'no_stream' })
  }
  return ids
}

/** Appends more events to existing cases (continuing their revisions). */
export async function appendMore(store: EventStore, caseIds: readonly string[], count: number, eventAt: EventAt = caseEvent): Promise<void> {
  for (const caseId of caseIds) {
    const existing = await store.readStream(caseStreamId(caseId))
    for (let i = 0; i < count; i++) {
      const revision = existing.length + i
      await store.append(caseStreamId(caseId), [eventAt(caseId, revision)], { expectedRevision: revision - 1 })
    }
  }
}

/** A record with a valid envelope but any type and data: a foreign writer's, or one of a newer version. */
export function foreignEvent(type: string, data: unknown, caseId: string = randomUUID()): EventToAppend {
  const { id, metadata } = caseEvent(caseId, 1)
  return { id, type, data, metadata }
}
