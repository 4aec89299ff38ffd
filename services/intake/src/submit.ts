import { createHmac, randomFillSync, randomUUID } from 'node:crypto'
import type { Actor, SubmissionBody, SubmissionReceipt } from '@civic-desk/contracts'
import { CaseRuleViolation, caseIdForTrackingCode, decide, initialState, replay, trackingCodeFromBytes, type SubmitCase } from '@civic-desk/case-domain'
import { caseStreamId, decodeCaseEvent, encodeCaseEvent } from '@civic-desk/case-feed'
import { ConcurrencyError, type EventStore } from '@civic-desk/event-store'

export interface SubmitDeps {
  readonly store: EventStore
  readonly now: () => Date
  /**
   * Key for tracking codes of requests that carry an externalId: the code is an HMAC of
   * (channel, externalId), so a retried request finds its case again without any index, and
   * nobody without the key can predict a code.
   */
  readonly trackingKey: Uint8Array
  readonly randomBytes?: (size: number) => Uint8Array
  readonly newEventId?: () => string
}

export type SubmitOutcome =
  | { readonly outcome: 'created'; readonly receipt: SubmissionReceipt; readonly position: number }
  | { readonly outcome: 'duplicate'; readonly receipt: SubmissionReceipt }
  | { readonly outcome: 'conflict'; readonly receipt: SubmissionReceipt; readonly message: string }

/**
 * Random bytes from a pool refilled 4 KiB at a time: one CSPRNG call serves hundreds of
 * submissions (crypto.randomBytes costs several microseconds per call, whatever the size).
 */
const randomPool = (() => {
  const pool = Buffer.alloc(4096)
  let offset = pool.length
  return (size: number): Uint8Array => {
    if (offset + size > pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    const bytes = pool.slice(offset, offset + size)
    offset += size
    return Uint8Array.from(bytes)
  }
})()

/** How many codes to try before giving up; a clash needs two 48-bit codes to meet, so 8 is plenty. */
const MAX_CODE_ATTEMPTS = 8

function trackingCodeFor(deps: SubmitDeps, body: SubmissionBody, attempt: number): string {
  if (body.externalId === undefined) return trackingCodeFromBytes((deps.randomBytes ?? randomPool)(8))
  const digest = createHmac('sha256', deps.trackingKey).update(`${body.channel}\n${body.externalId}\n${attempt}`).digest()
  return trackingCodeFromBytes(digest)
}

/**
 * Stores a validated citizen request as the first event of a new case stream. Resolves once the
 * event is durable. The stream id is derived from the tracking code and appended with "no stream",
 * so the store itself guarantees unique codes and exactly one case per (channel, externalId).
 */
export async function submitRequest(
  deps: SubmitDeps,
  body: SubmissionBody,
  context: { readonly actor: Actor; readonly correlationId: string; readonly clientRequestId?: string },
): Promise<SubmitOutcome> {
  const receivedAt = deps.now().toISOString()
  for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
    const trackingCode = trackingCodeFor(deps, body, attempt)
    const caseId = caseIdForTrackingCode(trackingCode)
    const streamId = caseStreamId(caseId)
    const command: SubmitCase = {
      type: 'SubmitCase',
      meta: {
        eventId: (deps.newEventId ?? randomUUID)(),
        occurredAt: receivedAt,
        actor: context.actor,
        correlationId: context.correlationId,
        ...(context.clientRequestId === undefined ? {} : { clientRequestId: context.clientRequestId }),
        causationId: null,
      },
      data: { caseId, trackingCode, ...body, receivedAt },
    }
    const receipt: SubmissionReceipt = { caseId, trackingCode, status: 'submitted' }
    try {
      const result = await deps.store.append(streamId, decide(command, initialState()).map(encodeCaseEvent), { expectedRevision: 'no_stream' })
      return { outcome: 'created', receipt, position: result.position }
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error
    }
    // The stream exists: either this very request was stored before (a retry), the same key came
    // with a different body, or two codes met by chance.
    const state = replay((await deps.store.readStream(streamId)).map(decodeCaseEvent))
    try {
      const events = decide(command, state)
      // A retry learns where its case stands now: it may have been routed or answered meanwhile.
      if (events.length === 0) return { outcome: 'duplicate', receipt: state.status === 'none' ? receipt : { ...receipt, status: state.status } }
      throw new Error(`submission to existing stream ${streamId} produced events`)
    } catch (error) {
      if (!(error instanceof CaseRuleViolation)) throw error
      if (error.code === 'already_submitted') return { outcome: 'conflict', receipt, message: error.message }
      // tracking_code_taken: try the next code
    }
  }
  throw new Error(`no free tracking code after ${MAX_CODE_ATTEMPTS} attempts`)
}
