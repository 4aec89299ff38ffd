import type { AppendResult, EventStore, RecordedEvent, SubscribeToAllOptions, Subscription } from './port.ts'
import { NO_STREAM, assertExpectedRevision, checkCount, newEventsOnly, prepareAppend, type SerializedEvent } from './shared.ts'
import { GENESIS_HASH, HASH_CHAIN_ENABLED, chainEvents, linkHashOf, readStoredMetadata } from './integrity.ts'
import { subscribeInto, type CatchUpSubscription } from './subscription.ts'

/** A stored event; data stays JSON text so every read hands out fresh objects, as a database would. */
interface StoredEvent extends SerializedEvent {
  readonly streamId: string
  readonly revision: number
  readonly position: number
  readonly recordedAt: string
}

interface MemoryStream {
  /** Global positions of the stream's events, index = revision. */
  readonly positions: number[]
  readonly eventIds: Set<string>
}

export interface MemoryEventStoreOptions {
  /** Where subscription failures go when the subscriber gave no onError. */
  readonly logger?: { warn(obj: object, msg: string): void }
}

/** An in-process event store for tests and single-process demos; same semantics as the sqlite one. */
export function createMemoryEventStore(options: MemoryEventStoreOptions = {}): EventStore {
  /** log[position - 1] is the event at that position. */
  const log: StoredEvent[] = []
  const streams = new Map<string, MemoryStream>()
  const subscriptions = new Set<CatchUpSubscription>()
  let closed = false
  let closing: Promise<void> | undefined

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Event store is closed: cannot ${operation}`)
  }

  const toRecorded = (stored: StoredEvent): RecordedEvent => {
    const { metadata, integrity } = readStoredMetadata(stored.metadata)
    return {
      streamId: stored.streamId,
      revision: stored.revision,
      position: stored.position,
      id: stored.id,
      type: stored.type,
      data: JSON.parse(stored.data) as unknown,
      metadata,
      recordedAt: stored.recordedAt,
      integrity,
    }
  }

  const eventAt = (position: number): StoredEvent => {
    const stored = log[position - 1]
    if (stored === undefined) throw new Error(`memory event store: no event at position ${position}`)
    return stored
  }

  const readAllSync = (after: number, maxCount: number, streamPrefix: string | undefined): RecordedEvent[] => {
    const result: RecordedEvent[] = []
    for (let index = Math.max(0, after); index < log.length && result.length < maxCount; index++) {
      const stored = log[index]
      if (stored !== undefined && (streamPrefix === undefined || stored.streamId.startsWith(streamPrefix))) result.push(toRecorded(stored))
    }
    return result
  }

  return {
    // Synchronous from the check to the write, so concurrent appends behave as if sequential.
    async append(streamId, events, { expectedRevision }): Promise<AppendResult> {
      assertOpen('append')
      const serialized = prepareAppend(streamId, events, expectedRevision)
      const stream = streams.get(streamId)
      const actual = stream === undefined ? NO_STREAM : stream.positions.length - 1
      const fresh = newEventsOnly(serialized, (id) => stream?.eventIds.has(id) ?? false)
      if (fresh.length === 0 && stream !== undefined) {
        return { nextRevision: actual, position: stream.positions[actual] ?? 0 }
      }
      assertExpectedRevision(streamId, expectedRevision, actual)
      const target = stream ?? { positions: [], eventIds: new Set<string>() }
      streams.set(streamId, target)
      const recordedAt = new Date().toISOString()
      const lastPosition = target.positions.at(-1)
      const last = lastPosition === undefined ? undefined : eventAt(lastPosition)
      const prev = last === undefined || !HASH_CHAIN_ENABLED ? GENESIS_HASH : linkHashOf({ ...last, eventId: last.id })
      for (const event of chainEvents(streamId, target.positions.length, prev, fresh)) {
        const position = log.length + 1
        log.push({ ...event, streamId, revision: target.positions.length, position, recordedAt })
        target.positions.push(position)
        target.eventIds.add(event.id)
      }
      for (const { wake } of subscriptions) wake()
      return { nextRevision: target.positions.length - 1, position: log.length }
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen('readStream')
      checkCount('readStream maxCount', readOptions.maxCount)
      checkCount('readStream fromRevision', readOptions.fromRevision)
      const positions = streams.get(streamId)?.positions ?? []
      const from = readOptions.fromRevision ?? 0
      const excluded = new Set(readOptions.excludeTypes ?? [])
      if (excluded.size === 0) {
        const to = readOptions.maxCount === undefined ? positions.length : from + readOptions.maxCount
        return positions.slice(from, to).map((position) => toRecorded(eventAt(position)))
      }
      const kept = positions.slice(from).map(eventAt).filter((e) => !excluded.has(e.type))
      return kept.slice(0, readOptions.maxCount ?? kept.length).map(toRecorded)
    },

    async readAll(readOptions = {}) {
      assertOpen('readAll')
      checkCount('readAll maxCount', readOptions.maxCount)
      checkCount('readAll after', readOptions.after)
      return readAllSync(readOptions.after ?? 0, readOptions.maxCount ?? Number.POSITIVE_INFINITY, readOptions.streamPrefix)
    },

    subscribeToAll(subscribeOptions: SubscribeToAllOptions, handler): Subscription {
      assertOpen('subscribeToAll')
      checkCount('subscribeToAll after', subscribeOptions.after)
      return subscribeInto(
        subscriptions,
        subscribeOptions,
        // Every append goes through this object and wakes the loop: no polling needed.
        { pollIntervalMs: undefined, readBatch: async (after, limit) => readAllSync(after, limit, undefined), logger: options.logger },
        handler,
      )
    },

    async headPosition() {
      assertOpen('headPosition')
      return log.length
    },

    close() {
      closed = true
      closing ??= Promise.all([...subscriptions].map(({ subscription }) => subscription.close())).then(() => undefined)
      return closing
    },
  }
}
