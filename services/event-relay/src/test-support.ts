// Helpers shared by this package's tests (not exported from the package).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { capturingLogger as capturingLoggerAt } from '@civic-desk/service-kit/testing'
import { encodeCaseEvent } from '@civic-desk/case-feed'
import { CaseEventMessage } from '@civic-desk/contracts'
import { openSqliteEventStore, type EventStore, type EventToAppend } from '@civic-desk/event-store'
import { TOPICS, createMemoryBus, type Bus, type BusMessage, type MemoryBus, type OutgoingMessage } from '@civic-desk/messaging'
import { createLogger, type Logger } from '@civic-desk/service-kit'

export { waitFor } from '@civic-desk/messaging/testing'

export const silentLogger: Logger = createLogger({ level: 'silent', name: 'event-relay-test' })

/** A logger whose JSON lines are collected in `lines`. */
export const capturingLogger = (): ReturnType<typeof capturingLoggerAt> => capturingLoggerAt('debug', 'event-relay-test')

/** Lets pending timers and I/O callbacks run a few rounds: gives a wrong implementation the chance to misbehave. */
export async function settle(rounds = 50): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise((resolve) => setImmediate(resolve))
}

/** A fresh data folder with a sqlite store; `reopen` opens the same file again, as another process would. */
export function tempStore(t: Test): { dir: string; file: string; store: EventStore; reopen(): EventStore; beforeClose(task: () => Promise<void>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'civic-relay-'))
  const file = join(dir, 'events.sqlite')
  const opened: EventStore[] = []
  const tasks: Array<() => Promise<void>> = []
  const open = (): EventStore => {
    const store = openSqliteEventStore({ file, pollIntervalMs: 10 })
    opened.push(store)
    return store
  }
  const store = open()
  t.teardown(async () => {
    // Relays first: a store's close waits for its subscriptions' handlers.
    for (const task of tasks) await task()
    for (const s of opened) await s.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, file, store, reopen: open, beforeClose: (task) => void tasks.push(task) }
}

/** A CaseSubmitted (revision 0, a real `CaseEvent`) or a later event of a type this code does not know yet. */
function caseEvent(caseId: string, revision: number): EventToAppend {
  const meta = {
    eventId: randomUUID(),
    schemaVersion: 1 as const,
    occurredAt: '2026-11-20T09:15:00.000Z',
    actor: { kind: 'service' as const, id: 'test' },
    correlationId: `corr-${caseId}`,
    causationId: null,
  }
  if (revision === 0) {
    return encodeCaseEvent({
      ...meta,
      type: 'CaseSubmitted',
      data: { caseId, trackingCode: 'K7MA-4PXR-9TK', channel: 'web', kind: 'complaint', description: `Çukur #${caseId.slice(0, 4)}`, receivedAt: '2026-11-20T09:15:00.000Z' },
    })
  }
  const { eventId, ...metadata } = meta
  return { id: eventId, type: 'CaseNoteAdded', data: { note: `not ${revision}` }, metadata }
}

/** Appends `perCase` events to each of `cases` new case streams, interleaved across cases, plus a non-case stream event per round. */
export async function appendCases(store: EventStore, cases: number, perCase: number): Promise<string[]> {
  const ids = Array.from({ length: cases }, () => randomUUID())
  for (let revision = 0; revision < perCase; revision++) {
    for (const caseId of ids) await store.append(`case-${caseId}`, [caseEvent(caseId, revision)], { expectedRevision: revision === 0 ? 'no_stream' : revision - 1 })
    await store.append(`intake-dedupe-${randomUUID()}`, [{ id: randomUUID(), type: 'ExternalIdClaimed', data: {} }], { expectedRevision: 'no_stream' })
  }
  return ids
}

/** Appends more events to existing cases (continuing their revisions). */
export async function appendMore(store: EventStore, caseIds: readonly string[], count: number): Promise<void> {
  for (const caseId of caseIds) {
    const existing = await store.readStream(`case-${caseId}`)
    for (let i = 0; i < count; i++) {
      const revision = existing.length + i
      await store.append(`case-${caseId}`, [caseEvent(caseId, revision)], { expectedRevision: revision - 1 })
    }
  }
}

/** A memory bus plus a consumer group that records every message on the case-events topic, validated by `CaseEventMessage`. */
export async function recordingBus(t: Test): Promise<{ bus: MemoryBus; received: Array<BusMessage<CaseEventMessage>>; deadLetters: BusMessage[] }> {
  const bus = createMemoryBus()
  const received: Array<BusMessage<CaseEventMessage>> = []
  const deadLetters: BusMessage[] = []
  await bus.subscribe({ topic: TOPICS.caseEvents, groupId: `test-${randomUUID()}`, fromBeginning: true, schema: CaseEventMessage, handler: async (m) => void received.push(m) })
  await bus.subscribe({ topic: TOPICS.deadLetter, groupId: `test-dl-${randomUUID()}`, fromBeginning: true, handler: async (m) => void deadLetters.push(m) })
  t.teardown(() => bus.close())
  return { bus, received, deadLetters }
}

/** Wraps a bus: counts publish calls and lets a test decide, per call, what happens. */
export function wrapBus(
  inner: Bus,
  behaviour: (call: number, messages: readonly OutgoingMessage[]) => Promise<void> | 'pass',
): Bus & { calls: number; sent: number } {
  const wrapper = {
    calls: 0,
    sent: 0,
    async publish(topic: string, messages: readonly OutgoingMessage[]) {
      wrapper.calls++
      const decision = behaviour(wrapper.calls, messages)
      if (decision === 'pass') {
        await inner.publish(topic, messages)
        wrapper.sent += messages.length
        return
      }
      await decision
    },
    subscribe: inner.subscribe.bind(inner),
    close: () => inner.close(),
  }
  return wrapper
}

/** All case events in the store, in global order. */
export async function storedCaseEvents(store: EventStore) {
  return store.readAll({ streamPrefix: 'case-' })
}
