/**
 * The consumer skeleton: what every consumer of the project does around its handler, written once.
 * It counts what the handler did (by the outcome it returns), remembers the last failure, logs,
 * and sorts failures the way the bus needs them: a message that can never succeed (it does not
 * decode, or the domain refuses it for good) is dead-lettered at once as `NonRetriableError`;
 * everything else is an infrastructure failure, retried with back-off.
 *
 * `startTopicConsumer` runs it over one topic of the bus (intake's requests, the dead letters, and
 * the case events in distributed mode); `CaseFeed.consume` runs it over the case events, from
 * Kafka or straight from the store.
 */
import { CaseRuleViolation } from '@civic-desk/case-domain'
import { NonRetriableError, type Bus, type BusMessage, type BusSubscription } from '@civic-desk/messaging'
import { processMetrics, type Logger } from '@civic-desk/service-kit'
import type { z } from 'zod'
import { CaseEventDecodeError } from './codec.ts'
import type { ReaderStatus } from './projection.ts'

/** What a handler reports: the name of what it did (counted), or nothing for `handled`. */
export type Outcome = string | void

/** The status of a consumer: its place in the log, and its counters. */
export interface ConsumerStatus extends ReaderStatus {
  readonly groupId: string
  /** Handler results by outcome, e.g. `{ routed: 12, skipped: 1 }`. */
  readonly outcomes: Readonly<Record<string, number>>
  /** Failed handler calls that are retried (infrastructure failures). */
  readonly retries: number
  /** Messages given up on as never able to succeed (dead-lettered). */
  readonly rejected: number
  /** Events read ahead and not handled yet (store groups). */
  readonly buffered?: number
}

/** A running consumer. */
export interface Consumer {
  readonly groupId: string
  status(): ConsumerStatus
  /** Leaves the group: the message in hand finishes (and is committed) or stays for the next start. Idempotent. */
  stop(): Promise<void>
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** The counters and failure sorting of one consumer, shared by every source. */
export class ConsumerCore {
  private readonly counts = new Map<string, number>()
  retries = 0
  rejected = 0
  lastError: string | undefined
  running = true
  // The group's series of civic_consumer_handler_duration_seconds, made once (undefined with metrics off).
  private readonly duration

  constructor(
    readonly groupId: string,
    private readonly log: Logger,
  ) {
    this.duration = processMetrics()?.handlerDuration.labels({ group: groupId })
  }

  /** Records one handler call that began at `startedAt` (performance.now()). */
  handled(startedAt: number): void {
    this.duration?.observe((performance.now() - startedAt) / 1000)
  }

  count(outcome: Outcome): void {
    const name = outcome === undefined || outcome === '' ? 'handled' : outcome
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
  }

  outcomes(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  /**
   * The error to hand the bus for a failed handler call: `NonRetriableError` when retrying
   * cannot help (it does not decode, the domain refuses it, or the handler said so), else the
   * error itself (retried). `where` names the message in the log and the last error.
   */
  failure(error: unknown, where: string, fields: Record<string, unknown>): unknown {
    const text = `${where}: ${message(error)}`
    this.lastError = text
    if (error instanceof NonRetriableError || error instanceof CaseEventDecodeError || error instanceof CaseRuleViolation) {
      this.rejected++
      this.log.warn({ ...fields, err: error }, 'message cannot be handled; dead-lettered')
      return error instanceof NonRetriableError ? error : new NonRetriableError(text, { cause: error })
    }
    this.retries++
    this.log.warn({ ...fields, err: error }, 'handler failed; retried with back-off')
    return error
  }

  status(extra: Omit<ReaderStatus, 'name' | 'running' | 'lastError'> & { readonly buffered?: number }): ConsumerStatus {
    return {
      name: this.groupId,
      groupId: this.groupId,
      running: this.running,
      outcomes: this.outcomes(),
      retries: this.retries,
      rejected: this.rejected,
      ...extra,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    }
  }
}

export interface TopicConsumerOptions<V> {
  readonly bus: Bus
  readonly topic: string
  readonly groupId: string
  readonly logger: Logger
  /** Checks (and may transform) each value; a value that fails it is dead-lettered by the bus. */
  readonly schema?: z.ZodType<V>
  /** Handles one message; its outcome is counted. Throw to retry; `NonRetriableError` to dead-letter. */
  readonly handle: (message: BusMessage<V>) => Promise<Outcome>
  /**
   * Where a group without committed offsets starts: the oldest message (default) or the next one;
   * `'always'`: the oldest retained message at every start (the bus's `fromBeginning`).
   */
  readonly fromBeginning?: boolean | 'always'
  /** Handler calls per message before it is dead-lettered. Default: the bus's (5). */
  readonly maxAttempts?: number
  /** Wait before the 2nd attempt, doubling. Default: the bus's (100 ms). */
  readonly retryBackoffMs?: number
  /**
   * Messages to pass over by their headers alone (the bus's `skip`), counted as `ignored`. The
   * handler must pass them over too: an adapter may still hand them to it.
   */
  readonly skip?: (headers: Readonly<Record<string, string>>) => boolean
}

/** Joins `groupId` on `topic` and hands every message to `handle` through the skeleton. Resolves once subscribed. */
export async function startTopicConsumer<V>(options: TopicConsumerOptions<V>): Promise<Consumer> {
  const { topic, groupId } = options
  const log = options.logger.child({ component: 'consumer', groupId, topic })
  const core = new ConsumerCore(groupId, log)
  const subscription: BusSubscription = await options.bus.subscribe<V>({
    topic,
    groupId,
    fromBeginning: options.fromBeginning ?? true,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retryBackoffMs === undefined ? {} : { retryBackoffMs: options.retryBackoffMs }),
    ...(options.skip === undefined
      ? {}
      : {
          skip: (headers: Readonly<Record<string, string>>) => {
            if (!options.skip!(headers)) return false
            core.count('ignored')
            return true
          },
        }),
    handler: async (message) => {
      const startedAt = performance.now()
      try {
        core.count(await options.handle(message))
      } catch (error) {
        throw core.failure(error, `${message.topic}:${message.partition}:${message.offset}`, { partition: message.partition, offset: message.offset, key: message.key })
      } finally {
        core.handled(startedAt)
      }
    },
  })
  log.info('consumer started')
  let stopped: Promise<void> | undefined
  return {
    groupId,
    status: () => core.status({ kind: 'bus', topic }),
    stop() {
      stopped ??= (async () => {
        core.running = false
        await subscription.close()
        log.info({ outcomes: core.outcomes(), retries: core.retries, rejected: core.rejected }, 'consumer stopped')
      })()
      return stopped
    },
  }
}
