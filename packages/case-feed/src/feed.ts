/**
 * The case feed: the one way a service follows the log of case events. A composition root makes
 * one per process and hands it to its services, which then
 *
 * - **consume** case events in a consumer group (`consume`): at-least-once, per-case order,
 *   retries and dead letters, counters and status; from `civic.case-events.v1` (distributed mode,
 *   fed by the relay) or straight from the event store with a checkpoint per group (standalone);
 *   the handler cannot tell which;
 * - **project** the log into memory (`project`): a fold from the start of the log to its live
 *   end, with `waitUntil` and status.
 *
 * Both read through one log tail: in one process each stored event is read once and decoded at
 * most once, however many readers follow it. `readers()` lists every reader of the process with
 * its position for the operators' stream view.
 */
import type { CaseEventType, CaseEventMessage as CaseEventMessageType } from '@civic-desk/contracts'
import { CASE_EVENT_HEADERS, CaseEventMessage } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import { TOPICS, type Bus } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { feedEventFromMessage, type CaseFeedEvent } from './codec.ts'
import { caseIdOfStream } from './stream.ts'
import { startTopicConsumer, type Consumer, type ConsumerStatus, type Outcome } from './consumer.ts'
import { startProjection, type CatchUpProjection, type ProjectionOptions, type ReaderStatus } from './projection.ts'
import { startStoreGroup, type StoreGroupSettings } from './store-group.ts'
import { createLogTail, type LogTail } from './tail.ts'

/** Where consumer groups read case events from. */
export type GroupSource =
  /** Straight from the event store, each group with a checkpoint file in `checkpointDir` (one process). */
  | ({ readonly kind: 'store' } & StoreGroupSettings)
  /** From `civic.case-events.v1` on the bus, which the event relay fills (distributed mode). */
  | { readonly kind: 'bus' }

export interface CaseFeedOptions {
  readonly store: EventStore
  /** Carries the case events (bus source) and the dead letters (store source). Not closed by the feed. */
  readonly bus: Bus
  readonly logger: Logger
  readonly groups: GroupSource
  /**
   * Opens the personal fields of a case event from the bus (the relay publishes them sealed), for a
   * process whose handlers need them (`caseEventOpener` of @civic-desk/privacy). Without it they
   * read as unavailable. Events from the store are opened by the store itself (the privacy
   * package's sealing store).
   */
  readonly openEvent?: (caseId: string, envelope: Readonly<Record<string, unknown>>) => Promise<{ readonly envelope: Readonly<Record<string, unknown>>; readonly variant: string | undefined }>
}

export interface CaseConsumerOptions {
  /** The consumer group: its offsets (or checkpoint) are its own. */
  readonly groupId: string
  /** Only these event types reach the handler; the others pass without being decoded. Default: every type. */
  readonly types?: ReadonlySet<CaseEventType>
  /** Handles one case event; resolve with an outcome to count, throw to retry, `NonRetriableError` to dead-letter. */
  readonly handle: (event: CaseFeedEvent) => Promise<Outcome>
  /** Where a new group starts: the first event of the log (default), or after what is stored now. */
  readonly fromBeginning?: boolean
  /** Handler calls per event before it is dead-lettered. Default 5. */
  readonly maxAttempts?: number
  /** Wait before the 2nd attempt, doubling up to 30 s. Default 100 ms. */
  readonly retryBackoffMs?: number
  /**
   * Cases handled side by side when reading from the store (one case's events always one at a
   * time). Default: the feed's `lanes` (32). A handler that batches what arrives together (the
   * dashboard's projector) wants many; one that does I/O per case, a few dozen.
   */
  readonly concurrency?: number
}

export interface CaseFeed {
  /** Where this feed's consumer groups read from. */
  readonly source: 'store' | 'bus'
  readonly tail: LogTail
  /** Joins a consumer group on the case events. Resolves once it is part of its group. */
  consume(options: CaseConsumerOptions): Promise<Consumer>
  /** Starts an in-memory projection of the log. */
  project(options: Omit<ProjectionOptions, 'tail' | 'logger'>): CatchUpProjection
  /** Every reader of this process: projections and consumer groups, with positions and last errors. */
  readers(): Array<ReaderStatus | ConsumerStatus>
  /** Stops the consumers, the projections and the tail (not the store or the bus). Idempotent. */
  close(): Promise<void>
}

export function createCaseFeed(options: CaseFeedOptions): CaseFeed {
  const { store, bus, logger, groups, openEvent } = options
  const fromMessage = async (value: CaseEventMessageType) => {
    const caseId = caseIdOfStream(value.streamId)
    return openEvent === undefined || caseId === null ? feedEventFromMessage(value) : feedEventFromMessage(value, await openEvent(caseId, value.event))
  }
  const tail = createLogTail({ store, logger })
  const consumers = new Map<string, Consumer>()
  const projections = new Set<CatchUpProjection>()
  let closing: Promise<void> | undefined

  const consumeFromBus = (opts: CaseConsumerOptions): Promise<Consumer> => {
    const types: ReadonlySet<string> | undefined = opts.types
    return startTopicConsumer<CaseEventMessageType>({
      bus,
      topic: TOPICS.caseEvents,
      groupId: opts.groupId,
      logger,
      schema: CaseEventMessage,
      fromBeginning: opts.fromBeginning ?? true,
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
      ...(opts.retryBackoffMs === undefined ? {} : { retryBackoffMs: opts.retryBackoffMs }),
      // Types the group does not handle pass without being decoded: on Kafka by the relay's
      // event-type header, before the message is even parsed; a known type that does not decode
      // throws CaseEventDecodeError, which the skeleton dead-letters.
      ...(types === undefined
        ? {}
        : {
            skip: (headers: Readonly<Record<string, string>>) => {
              const type = headers[CASE_EVENT_HEADERS.eventType]
              return type !== undefined && !types.has(type)
            },
          }),
      handle: async (message) => (types !== undefined && !types.has(message.value.event.type) ? 'ignored' : opts.handle(await fromMessage(message.value))),
    })
  }

  return {
    source: groups.kind,
    tail,
    async consume(opts) {
      if (closing !== undefined) throw new Error('the case feed is closed')
      if (consumers.has(opts.groupId)) throw new Error(`consumer group ${opts.groupId} already reads the case events in this process`)
      const consumer =
        groups.kind === 'bus'
          ? await consumeFromBus(opts)
          : await startStoreGroup({
              store,
              tail,
              bus,
              logger,
              settings: opts.concurrency === undefined ? groups : { ...groups, lanes: opts.concurrency },
              groupId: opts.groupId,
              types: opts.types,
              handle: opts.handle,
              fromBeginning: opts.fromBeginning ?? true,
              maxAttempts: opts.maxAttempts,
              retryBackoffMs: opts.retryBackoffMs,
            })
      consumers.set(opts.groupId, consumer)
      return {
        groupId: consumer.groupId,
        status: () => consumer.status(),
        stop: async () => {
          await consumer.stop()
          consumers.delete(opts.groupId)
        },
      }
    },
    project(opts) {
      if (closing !== undefined) throw new Error('the case feed is closed')
      // A projection its owner closed leaves the list of readers.
      const projection = startProjection({ ...opts, tail, logger }, () => projections.delete(projection))
      projections.add(projection)
      return projection
    },
    readers() {
      return [...[...consumers.values()].map((c) => c.status()), ...[...projections].map((p) => p.status())]
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...consumers.values()].map((c) => c.stop()))
        await Promise.all([...projections].map((p) => p.close()))
        await tail.close()
      })()
      return closing
    },
  }
}
