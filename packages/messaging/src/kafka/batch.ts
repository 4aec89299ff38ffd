/**
 * What a member does with a fetched batch: each message settled in offset order (handed to the
 * handler with retries, or dead-lettered), offsets committed as they settle, heartbeats on a timer.
 */
import { isUtf8 } from 'node:buffer'
import type { EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs'
import { TOPICS, type BusMessage, type DeadLetterRecord } from '../port.ts'
import { consumeInSpan, deadLetterRecord, decodeValue, errorMessage, failsAsAttempt, handlerRetries, retryRun, type RetryRunOptions, type RetryRunOutcome } from '../shared.ts'
import { brokersUnreachable, errorType } from './client.ts'
import type { Member, MemberContext } from './member-state.ts'

/** Error types after which kafkajs rejoins the group (its own `isRebalancing`, not exported). */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'])

/** Kafka headers (Buffers, or lists of them for a repeated name) as strings; the last of a repeated name wins. */
function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const decoded: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last !== undefined) decoded[name] = typeof last === 'string' ? last : last.toString('utf8')
  }
  return decoded
}

const messageHeaders = (message: KafkaMessage): IHeaders | undefined => ('headers' in message ? message.headers : undefined)

type Settled = 'done' | 'abandoned'

/**
 * `retryRun` that hears when a broker answers again after an outage: the waits grew while the
 * brokers were away, so the next attempt comes at once and the back-off starts over; the count
 * of attempts goes on. Ends when the work settles or fails for good, or `options.signal` aborts.
 */
async function retryThroughOutages<T>(
  context: MemberContext,
  options: Omit<RetryRunOptions<T>, 'failuresBefore' | 'backoff'>,
  onBrokersBack: (failures: number) => void = () => undefined,
): Promise<RetryRunOutcome<T>> {
  let failures = 0
  for (;;) {
    const brokersBack = context.watch.recovered
    const run = await retryRun({ ...options, failuresBefore: failures, backoff: 'restart', signal: AbortSignal.any([options.signal, brokersBack]) })
    if (run.kind !== 'interrupted' || options.signal.aborted) return run
    onBrokersBack(run.failures)
    failures = run.failures
  }
}

/** Publishes a dead letter; false when `signal` aborted before it was stored (the message stays uncommitted). */
async function deadLetter(context: MemberContext, member: Member, record: DeadLetterRecord, key: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<boolean> {
  const { logger } = context
  const fields = { ...record.source, kind: record.error.kind, error: record.error.message }
  // Re-dead-lettering a dead letter could loop forever; it stays in the dead-letter topic anyway.
  if (member.topic === TOPICS.deadLetter) {
    logger?.error(fields, 'dead-letter consumer gave up on a message; skipped')
    return true
  }
  logger?.error(fields, 'message dead-lettered')
  // The offset is committed only once the dead letter is stored: retry until then, or until the member leaves.
  const run = await retryThroughOutages(context, {
    attempt: () => failsAsAttempt(() => context.send(TOPICS.deadLetter, [{ key, value: JSON.stringify(record), headers }])),
    maxAttempts: Number.POSITIVE_INFINITY,
    backoffMs: 500,
    retriable: () => true,
    signal,
    onRetry: (error, attempt, retryInMs) => logger?.error({ ...fields, attempt, retryInMs, err: error }, 'kafka bus: could not publish a dead letter; will retry'),
  })
  return run.kind === 'settled'
}

/** Hands one message to the handler (with retries) or dead-letters it; 'abandoned' = leave it uncommitted. */
async function settle(context: MemberContext, member: Member, partition: number, message: KafkaMessage, signal: AbortSignal): Promise<Settled> {
  const { logger } = context
  const { topic, groupId, options: subscribeOptions, settings } = member
  const raw = message.value === null ? '' : message.value.toString('utf8')
  const key = message.key === null ? '' : message.key.toString('utf8')
  const headers = decodeHeaders(messageHeaders(message))
  // Not for this group, by its headers: committed without decoding (no JSON, schema, span or retry machinery).
  if (subscribeOptions.skip?.(headers) === true) return 'done'
  const source = { topic, partition, offset: message.offset, key, groupId }
  const timestamp = new Date(Number(message.timestamp)).toISOString()
  const deadLettered = async (record: DeadLetterRecord): Promise<Settled> => ((await deadLetter(context, member, record, key, headers, signal)) ? 'done' : 'abandoned')
  const run = await retryThroughOutages(
    context,
    {
      ...handlerRetries(settings),
      attempt: async (attempt): Promise<Settled> => {
        // Our values are JSON, which is UTF-8; decoding other bytes would hand the handler U+FFFD
        // where the producer wrote something else (a citizen's text stored with characters nobody typed).
        if (message.value !== null && !isUtf8(message.value)) {
          return deadLettered(deadLetterRecord({ kind: 'invalid', message: 'value is not valid UTF-8', source, attempts: attempt - 1, failedAt: new Date(), payload: { rawValue: raw } }))
        }
        // Decoded per attempt, so a handler that mutated the value gets a fresh one on retry.
        const decoded = await decodeValue(raw, subscribeOptions.schema)
        if (!decoded.ok) {
          const payload = 'rawValue' in decoded ? { rawValue: decoded.rawValue } : { value: decoded.value }
          return deadLettered(deadLetterRecord({ kind: 'invalid', message: decoded.message, source, attempts: attempt - 1, failedAt: new Date(), payload }))
        }
        const busMessage: BusMessage = { ...source, value: decoded.value, headers: { ...headers }, timestamp }
        await failsAsAttempt(() => consumeInSpan(topic, groupId, headers, () => subscribeOptions.handler(busMessage)))
        return 'done'
      },
      signal,
      onRetry: (error, attempt, retryInMs) => logger?.warn({ ...source, attempt, retryInMs, err: error }, 'handler failed; will retry'),
    },
    // A handler that publishes fails while the brokers are away, and its wait doubles with each
    // failure (up to 30 s): when a broker answers again, it is retried at once.
    (failures) => logger?.info?.({ ...source, attempt: failures }, 'kafka bus: a broker answers again; retrying the handler now'),
  )
  if (run.kind === 'settled') return run.value
  // Closing or rebalancing: the message stays uncommitted and goes to whoever holds the partition next.
  if (run.kind === 'interrupted') return 'abandoned'
  return deadLettered(deadLetterRecord({ kind: 'failed', message: errorMessage(run.error), source, attempts: run.failures, failedAt: new Date(), payload: { value: JSON.parse(raw) as unknown } }))
}

/** One fetched batch of one partition: messages in offset order, committed as they settle. */
export async function handleBatch(context: MemberContext, member: Member, payload: EachBatchPayload): Promise<void> {
  const { settings, watch, logger } = context
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload
  const { topic, partition } = batch
  let heartbeatError: unknown
  const batchAbort = new AbortController()
  const signal = AbortSignal.any([member.abort.signal, member.rebalance.signal, batchAbort.signal])
  // A long handler or back-off must not let the session expire (the group would rebalance
  // under it and hand the partition to someone else while it still runs): heartbeat on a
  // timer. A failed heartbeat (usually "rebalance in progress") ends the batch early so the
  // member rejoins within rebalanceTimeout; the handled part is committed first.
  let beating = false
  const timer = setInterval(() => {
    if (beating) return
    beating = true
    heartbeat()
      .catch((error: unknown) => {
        heartbeatError ??= error
        if (REBALANCE_ERRORS.has(errorType(error) ?? '')) member.rebalance.abort()
        if (brokersUnreachable(error)) watch.suspect()
        batchAbort.abort()
      })
      .finally(() => {
        beating = false
      })
  }, settings.heartbeatIntervalMs)

  let settledOffset: string | undefined
  // The batch starts at the partition's committed offset: the last batch committed what it
  // settled, or seeked back below when that failed.
  let uncommittedFrom = batch.messages[0]?.offset
  let lastCommit = Date.now()
  const commit = async (): Promise<void> => {
    if (settledOffset === undefined) return
    const next = (BigInt(settledOffset) + 1n).toString()
    // Explicit offsets: with autoCommit off kafkajs commits nothing by itself.
    await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] })
    settledOffset = undefined
    uncommittedFrom = next
    lastCommit = Date.now()
  }
  try {
    for (const message of batch.messages) {
      if (signal.aborted || !isRunning() || isStale()) break
      const outcome = await settle(context, member, partition, message, signal)
      if (outcome === 'abandoned') break
      resolveOffset(message.offset)
      settledOffset = message.offset
      if (Date.now() - lastCommit >= settings.commitIntervalMs) await commit()
    }
    await commit()
  } catch (error) {
    // What settled before the failure is committed if the generation still allows it; the rest comes again.
    const commitError = await commit().then(
      () => undefined,
      (failure: unknown) => {
        logger?.warn({ topic, partition, groupId: member.groupId, err: failure }, 'kafka bus: commit after a failure did not go through; messages will be redelivered')
        return failure ?? new Error('commit failed')
      },
    )
    // kafkajs fetches on from the offsets we resolved, not from the committed ones: unless it
    // rejoins the group (which rereads the committed offsets), the settled messages of a failed
    // commit would stay uncommitted until the partition's next message, lag with no one behind
    // it. Going back to the first uncommitted message hands them out again (handlers are
    // idempotent) and commits them then. Not when the group is rebalancing: the rejoin rereads
    // them, and a seek kafkajs keeps for a partition that went to another member would rewind
    // it whenever it came back.
    const rejoining = [error, commitError].some((failure) => REBALANCE_ERRORS.has(errorType(failure) ?? ''))
    if (commitError !== undefined && !rejoining && uncommittedFrom !== undefined) {
      try {
        member.consumer?.seek({ topic, partition, offset: uncommittedFrom })
      } catch {
        // The consumer has stopped: a restarted one starts from the committed offsets anyway.
      }
    }
    throw error
  } finally {
    clearInterval(timer)
  }
  // Handing the heartbeat's error to kafkajs makes it rejoin the group now.
  if (heartbeatError !== undefined && !member.closing) throw heartbeatError
}
