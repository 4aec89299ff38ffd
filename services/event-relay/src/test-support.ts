// Helpers shared by this package's tests (not exported from the package).
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { capturingLogger as capturingLoggerAt } from '@civic-desk/service-kit/testing'
import { appendCases as appendCasesOf, appendMore as appendMoreOf, caseEvent, foreignEvent, type EventAt } from '@civic-desk/case-feed/testing'
import { CaseEventMessage } from '@civic-desk/contracts'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
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

/**
 * A CaseSubmitted (revision 0, a real case event) or, after it, a record of a type this code does not
 * know yet (a newer writer's): the relay passes on what it does not know.
 */
const relayedEvent: EventAt = (caseId, revision) => (revision === 0 ? caseEvent(caseId, 0) : foreignEvent('CaseNoteAdded', { note: `not ${revision}` }, caseId))

export const appendCases = (store: EventStore, cases: number, perCase: number): Promise<string[]> => appendCasesOf(store, cases, perCase, relayedEvent)
export const appendMore = (store: EventStore, caseIds: readonly string[], count: number): Promise<void> => appendMoreOf(store, caseIds, count, relayedEvent)

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
