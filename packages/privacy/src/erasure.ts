/**
 * One erasure from start to end, whoever orders it (the privacy officer's request, the periodic
 * destruction job): the destruction-log entry is written first, then the cases' data keys are
 * destroyed, then a `PersonalDataErased` event is appended to each case, and only then is the entry
 * marked complete. A crash anywhere leaves a pending entry; `completePendingErasures` at the next
 * start destroys its keys (again) and appends the events that are missing (their ids are derived
 * from the entry and the case, so an append that already happened is skipped), then completes it.
 */
import { randomUUID } from 'node:crypto'
import { deriveEventId } from '@civic-desk/case-domain'
import { caseStreamId, encodeCaseEvent } from '@civic-desk/case-feed'
import type { Actor, PersonalDataErasedV1 } from '@civic-desk/contracts'
import { ConcurrencyError, type EventStore } from '@civic-desk/event-store'
import { DESTRUCTION_METHOD, type DestructionEntry, type DestructionLog, type DestructionRequest } from './destruction-log.ts'
import type { DestroyOutcome, KeyStore } from './key-store.ts'

export interface ErasureDeps {
  readonly keys: KeyStore
  readonly log: DestructionLog
  /** The event log the `PersonalDataErased` events go to (any adapter; nothing personal is written). */
  readonly store: EventStore
  readonly now?: () => Date
  readonly newId?: () => string
}

export interface ErasureResult {
  readonly entry: DestructionEntry
  readonly outcome: DestroyOutcome
  /** Cases that got their `PersonalDataErased` event now. */
  readonly recorded: readonly string[]
  /** Cases whose stream does not exist (a subject index entry of a submission that never landed). */
  readonly withoutStream: readonly string[]
}

/** The event that tells a case its personal data is gone. */
export function personalDataErasedEvent(entry: DestructionEntry, caseId: string, correlationId: string): Omit<PersonalDataErasedV1, 'eventId'> & { readonly eventId: string } {
  const actor: Actor = { kind: entry.reason === 'retention-expired' ? 'system' : 'staff', id: entry.actor.id }
  return {
    eventId: deriveEventId(entry.id, `PersonalDataErased\n${caseId}`),
    type: 'PersonalDataErased',
    schemaVersion: 1,
    occurredAt: entry.completedAt ?? entry.startedAt,
    actor,
    correlationId,
    causationId: entry.id,
    data: { destructionId: entry.id, reason: entry.reason, legalBasis: entry.legalBasis, requestReference: entry.requestReference, fields: [...entry.fields] },
  }
}

/** Appends the entry's `PersonalDataErased` event to each of its cases (idempotent). */
export async function recordErasureEvents(
  store: EventStore,
  entry: DestructionEntry,
  correlationId: string,
  onProgress?: (done: number, total: number) => void,
): Promise<{ readonly recorded: string[]; readonly withoutStream: string[] }> {
  const recorded: string[] = []
  const withoutStream: string[] = []
  for (const [i, caseId] of entry.caseIds.entries()) {
    try {
      // Through the codec, as every case event: it records the trace of the request or job appending it.
      await store.append(caseStreamId(caseId), [encodeCaseEvent(personalDataErasedEvent(entry, caseId, correlationId))], { expectedRevision: 'stream_exists' })
      recorded.push(caseId)
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error
      withoutStream.push(caseId)
    }
    onProgress?.(i + 1, entry.caseIds.length)
  }
  return { recorded, withoutStream }
}

/** Erases the personal data of the request's cases (see the module comment for the order of the steps). */
export async function erasePersonalData(
  deps: ErasureDeps,
  request: DestructionRequest,
  options: { readonly correlationId: string; readonly onProgress?: (done: number, total: number) => void },
): Promise<ErasureResult> {
  const now = deps.now ?? (() => new Date())
  const id = (deps.newId ?? randomUUID)()
  const startedAt = now()
  const begun: Omit<DestructionEntry, 'completedAt'> = { ...request, id, method: DESTRUCTION_METHOD, startedAt: startedAt.toISOString() }
  await deps.log.begin(begun)
  const outcome = await deps.keys.destroy(request.caseIds, id, startedAt)
  const { recorded, withoutStream } = await recordErasureEvents(deps.store, { ...begun, completedAt: null }, options.correlationId, options.onProgress)
  const completedAt = now()
  await deps.log.complete(id, completedAt)
  return { entry: { ...begun, completedAt: completedAt.toISOString() }, outcome, recorded, withoutStream }
}

/**
 * At start: every key the destruction log names is destroyed again (a key store restored from a
 * backup made before the destruction brings nobody back), and each entry a crash left pending gets
 * its missing `PersonalDataErased` events and is completed.
 */
export async function completePendingErasures(
  deps: ErasureDeps,
  onProgress?: (done: number, total: number) => void,
): Promise<{ readonly entries: number; readonly keysDestroyedAgain: number; readonly completed: number }> {
  const now = deps.now ?? (() => new Date())
  const entries = await deps.log.list()
  let keysDestroyedAgain = 0
  let completed = 0
  for (const [i, entry] of entries.entries()) {
    const outcome = await deps.keys.destroy(entry.caseIds, entry.id, new Date(entry.startedAt))
    if (entry.completedAt === null) {
      await recordErasureEvents(deps.store, entry, `erasure-recovery-${entry.id}`)
      await deps.log.complete(entry.id, now())
      completed += 1
    } else {
      keysDestroyedAgain += outcome.destroyed.length
    }
    onProgress?.(i + 1, entries.length)
  }
  return { entries: entries.length, keysDestroyedAgain, completed }
}
