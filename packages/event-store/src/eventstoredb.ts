/**
 * The event store on EventStoreDB, with `@eventstore/db-client` (the vendor's gRPC client for
 * Node). The translation rules — expected revisions, positions, errors, the idempotent append
 * plan — live in eventstoredb-mapping.ts, with the reasons; this file does the I/O.
 *
 * - `append` reads the stream's ids, writes only the new events with the observed revision as
 *   the expected one, and replans when the server says the stream moved meanwhile; the position
 *   of the batch is read back from the stream (the append response's position is the write's, not
 *   necessarily the last event's).
 * - `readStream` maps a missing stream (StreamNotFoundError) to []; `excludeTypes` are dropped in
 *   the process (the server has no such option for stream reads, so their data is still sent).
 * - `readAll` pages through `$all` and filters by prefix in the process: the client (6.x) has no
 *   server-side filter for reads, so a prefix read scans the whole log after `after`.
 * - `subscribeToAll` is the server's catch-up subscription with a server-side stream-name filter.
 * - Reconnects: the client reconnects its channel by itself after an unavailable server or a
 *   leader change, but the call in flight fails; the adapter retries such calls (appends included,
 *   safe by event id) and resubscribes a dropped subscription from its last event, with backoff,
 *   for up to `reconnectTimeoutMs` before giving up with the error.
 *
 * The server's own streams (`$…`) never appear in reads or subscriptions.
 */
import { BACKWARDS, END, EventStoreDBClient, FORWARDS, StreamNotFoundError, type AllStreamSubscription } from '@eventstore/db-client'
import type { AppendResult, EventStore, ExpectedRevision, RecordedEvent, SubscribeToAllOptions, Subscription } from './port.ts'
import {
  afterWrongExpectedVersion,
  checkPageSize,
  checkStreamIdForAppend,
  fromPortPosition,
  includeStream,
  isTransient,
  isWrongExpectedVersion,
  newestUserPosition,
  normalizeEventId,
  planAppend,
  reconnectDelayMs,
  redactConnectionString,
  scanAllForward,
  streamStateOf,
  subscriptionFilter,
  toEventData,
  toPortPosition,
  toRecordedEvent,
  toSafeNumber,
  toStoreError,
  type AppendPlan,
  type ReadAllPage,
} from './eventstoredb-mapping.ts'
import { CATCH_UP_BATCH_SIZE, checkCount, prepareAppend, type SerializedEvent } from './shared.ts'

export interface EventStoreDbStoreOptions {
  /** e.g. esdb://localhost:2113?tls=false (docker compose's insecure node), or esdb+discover://… for a cluster. */
  readonly connectionString: string
  /** How long a call or subscription keeps retrying while the server is unreachable. Default 60000. */
  readonly reconnectTimeoutMs?: number
  /** Page size of `$all` reads, at least 2. Default CATCH_UP_BATCH_SIZE (500). */
  readonly readPageSize?: number
  /** Where subscription failures go when the subscriber gave no onError; also reconnect notices. */
  readonly logger?: { warn(obj: object, msg: string): void }
}

/** Upper bound of replans of one `'any'`/`'stream_exists'` append racing other writers of its stream. */
const MAX_REPLANS = 50

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Connects to EventStoreDB and checks it answers (a one-event read of `$all`), so a wrong
 * connection string fails here rather than at the first append.
 */
export async function openEventStoreDbStore(options: EventStoreDbStoreOptions): Promise<EventStore> {
  let client: EventStoreDBClient
  try {
    client = EventStoreDBClient.connectionString(options.connectionString)
  } catch (error) {
    throw new Error(
      `The EventStoreDB connection string ${redactConnectionString(options.connectionString)} is invalid: ${error instanceof Error ? error.message : String(error)} (e.g. esdb://127.0.0.1:2113?tls=false, or esdb+discover://… for a cluster)`,
      { cause: error },
    )
  }
  const reconnectTimeoutMs = options.reconnectTimeoutMs ?? 60_000
  const pageSize = options.readPageSize ?? CATCH_UP_BATCH_SIZE
  checkPageSize(pageSize)
  const { logger } = options
  const subscriptions = new Set<{ close(): Promise<void> }>()
  let closed = false
  let closing: Promise<void> | undefined

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Event store is closed: cannot ${operation}`)
  }

  /** Runs `call`, retrying transient failures with backoff until `reconnectTimeoutMs` has passed. */
  const withReconnect = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    const started = Date.now()
    for (let attempt = 1; ; attempt++) {
      try {
        return await call()
      } catch (error) {
        if (closed || !isTransient(error) || Date.now() - started >= reconnectTimeoutMs) throw toStoreError(error, operation)
        logger?.warn({ err: error, attempt }, `EventStoreDB ${operation}: server unavailable, retrying`)
        await sleep(reconnectDelayMs(attempt))
      }
    }
  }

  /**
   * Events of a stream from `fromRevision` on, at most `maxCount` of those not left out by type;
   * [] when the stream does not exist. EventStoreDB cannot leave types out of a stream read, so
   * they are dropped here, after the server sent them.
   */
  const readStreamEvents = async (streamId: string, fromRevision: number, maxCount: number | undefined, excludeTypes: readonly string[] = []): Promise<RecordedEvent[]> => {
    const excluded = new Set(excludeTypes)
    const events: RecordedEvent[] = []
    // Without exclusions the server can stop at maxCount itself.
    const read = client.readStream(streamId, { direction: FORWARDS, fromRevision: BigInt(fromRevision), ...(maxCount === undefined || excluded.size > 0 ? {} : { maxCount }) })
    try {
      for await (const resolved of read) {
        const event = resolved.event
        if (event === undefined || excluded.has(event.type)) continue
        events.push(toRecordedEvent(event))
        if (maxCount !== undefined && events.length >= maxCount) {
          // With exclusions the server was not told maxCount: stop it sending the rest.
          if (excluded.size > 0) await read.cancel()
          break
        }
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return []
      throw error
    }
    return events
  }

  /** A page of `$all`; a page left early (enough found) is cancelled so the server stops sending. */
  const readAllPage: ReadAllPage = async function* (from, direction, limit) {
    const read = client.readAll({ direction, fromPosition: from, maxCount: limit })
    let complete = false
    try {
      for await (const resolved of read) yield resolved
      complete = true
    } finally {
      if (!complete) await read.cancel()
    }
  }

  const appendOnce = async (streamId: string, events: readonly SerializedEvent[], expected: ExpectedRevision): Promise<AppendResult> => {
    let plan: AppendPlan = planAppend(streamId, events, expected, streamStateOf(await readStreamEvents(streamId, 0, undefined)))
    for (let replans = 0; ; replans++) {
      if (plan.kind === 'noop') return plan.result
      try {
        const written = await client.appendToStream(streamId, plan.events.map(toEventData), { expectedRevision: plan.expectedRevision })
        const nextRevision = toSafeNumber(written.nextExpectedRevision, `revision of ${streamId}`)
        const [last] = await readStreamEvents(streamId, nextRevision, 1)
        if (last === undefined) throw new Error(`EventStoreDB acknowledged the append to ${streamId} up to revision ${nextRevision}, but that event cannot be read back`)
        return { nextRevision, position: last.position }
      } catch (error) {
        if (!isWrongExpectedVersion(error)) throw error
        if (replans >= MAX_REPLANS) throw new Error(`append to ${streamId}: the stream changed under ${MAX_REPLANS} attempts in a row; too many concurrent writers of one stream`, { cause: error })
        plan = afterWrongExpectedVersion(streamId, events, expected, error, streamStateOf(await readStreamEvents(streamId, 0, undefined)))
      }
    }
  }

  const subscribe = (subscribeOptions: SubscribeToAllOptions, handler: (event: RecordedEvent) => Promise<void> | void): Subscription => {
    const { streamPrefix, onError } = subscribeOptions
    let position = subscribeOptions.after ?? 0
    // Moves past every event the server sent, delivered or not: the point to resubscribe after.
    let seen = position
    let stopped = false
    let current: AllStreamSubscription | undefined
    let wakeSleeper: (() => void) | undefined

    let failed = false
    /** Reports the failure that ends the subscription: once, and an onError that throws is logged. */
    const fail = (error: unknown): void => {
      if (failed) return
      failed = true
      try {
        if (onError !== undefined) onError(error)
        else logger?.warn({ err: error }, 'event store subscription stopped: handler or store failed')
      } catch (thrown) {
        logger?.warn({ err: thrown }, 'event store subscription: onError threw')
      }
    }

    const run = async (): Promise<void> => {
      // Never call the handler synchronously from subscribeToAll.
      await Promise.resolve()
      let failingSince: number | undefined
      for (let attempt = 1; !stopped; attempt++) {
        const stream = client.subscribeToAll({ fromPosition: fromPortPosition(seen), filter: subscriptionFilter(streamPrefix) })
        // The for-await below sees every error while it reads; this keeps one arriving after it
        // stopped (the call ending late) from being an unhandled 'error' event.
        stream.on('error', () => undefined)
        current = stream
        stream.once('confirmation', () => {
          failingSince = undefined
          attempt = 0
        })
        let handlerFailure: { error: unknown } | undefined
        try {
          for await (const resolved of stream) {
            if (stopped) break
            const event = resolved.event
            if (event === undefined || !includeStream(event.streamId, streamPrefix)) continue
            const recorded = toRecordedEvent(event)
            // A subscription may include the event it starts from, and a resubscription starts
            // at the last event seen: `$all` order is the server's, so nothing past `seen` is new.
            if (recorded.position <= seen) continue
            seen = recorded.position
            failingSince = undefined
            try {
              await handler(recorded)
            } catch (error) {
              handlerFailure = { error }
              break
            }
            position = recorded.position
          }
        } catch (error) {
          if (stopped) return
          const now = Date.now()
          failingSince ??= now
          if (!isTransient(error) || now - failingSince >= reconnectTimeoutMs) {
            fail(toStoreError(error, 'subscribeToAll'))
            return
          }
          logger?.warn({ err: error, attempt }, 'EventStoreDB subscription dropped, resubscribing')
        } finally {
          stream.destroy()
          await stream.unsubscribe().catch(() => undefined)
        }
        if (handlerFailure !== undefined) {
          // Reported even when close() was already called: an in-flight handler still failed.
          fail(handlerFailure.error)
          return
        }
        if (stopped) return
        // Dropped, or ended by the server without an error: resubscribe after a pause.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, reconnectDelayMs(Math.max(1, attempt)))
          wakeSleeper = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        wakeSleeper = undefined
      }
    }

    const running = run()
      // What run() does not catch itself: the client refusing the subscription's options.
      .catch((error: unknown) => fail(toStoreError(error, 'subscribeToAll')))
      .finally(() => {
        stopped = true
        subscriptions.delete(entry)
      })
    const entry = {
      close: async (): Promise<void> => {
        stopped = true
        wakeSleeper?.()
        // Ends a for-await that waits for the next event; a running handler finishes first.
        current?.destroy()
        await running
      },
    }
    subscriptions.add(entry)
    return {
      close: entry.close,
      get position() {
        return position
      },
    }
  }

  const store: EventStore = {
    async append(streamId, events, { expectedRevision }) {
      assertOpen('append')
      const serialized = prepareAppend(streamId, events, expectedRevision).map((event) => ({ ...event, id: normalizeEventId(streamId, event.id) }))
      checkStreamIdForAppend(streamId)
      return withReconnect(`append to ${streamId}`, () => appendOnce(streamId, serialized, expectedRevision))
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen('readStream')
      checkCount('readStream maxCount', readOptions.maxCount)
      checkCount('readStream fromRevision', readOptions.fromRevision)
      if (readOptions.maxCount === 0) return []
      return withReconnect(`readStream ${streamId}`, () => readStreamEvents(streamId, readOptions.fromRevision ?? 0, readOptions.maxCount, readOptions.excludeTypes))
    },

    async readAll(readOptions = {}) {
      assertOpen('readAll')
      checkCount('readAll maxCount', readOptions.maxCount)
      checkCount('readAll after', readOptions.after)
      const maxCount = readOptions.maxCount ?? Number.POSITIVE_INFINITY
      if (maxCount === 0) return []
      return withReconnect('readAll', () => scanAllForward(readAllPage, pageSize, readOptions.after ?? 0, maxCount, readOptions.streamPrefix))
    },

    subscribeToAll(subscribeOptions, handler) {
      assertOpen('subscribeToAll')
      checkCount('subscribeToAll after', subscribeOptions.after)
      return subscribe(subscribeOptions, handler)
    },

    async headPosition() {
      assertOpen('headPosition')
      // Backwards from the end until the first event of a user stream; the server's own events
      // (statistics) are often the newest ones.
      return withReconnect('headPosition', () => newestUserPosition(readAllPage, pageSize))
    },

    close() {
      closed = true
      closing ??= (async () => {
        await Promise.all([...subscriptions].map((subscription) => subscription.close()))
        await client.dispose()
      })()
      return closing
    },
  }

  try {
    await withReconnect('connect', async () => {
      for await (const _ of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break
    })
  } catch (error) {
    await client.dispose().catch(() => undefined)
    throw new Error(
      `Cannot read $all from EventStoreDB at ${redactConnectionString(options.connectionString)}: ${error instanceof Error ? error.message : String(error)}. Is the server running (docker compose up -d eventstoredb), and may this user read $all (admins only on a secure server)?`,
      { cause: error },
    )
  }
  return store
}
