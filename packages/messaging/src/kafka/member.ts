/**
 * One member of a consumer group: a kafkajs consumer (groupId = the subscription's group) whose
 * offsets we commit only after the handler succeeded or the message was dead-lettered, restarted
 * by kafkajs after retriable crashes up to a bound, with the members it left behind removed from
 * its group and a watchdog for a consumer that silently stopped.
 */
import type { ConsumerRunConfig } from 'kafkajs'
import { processMetrics } from '@civic-desk/service-kit'
import type { SubscribeOptions } from '../port.ts'
import { abortableDelay, consumerSettings } from '../shared.ts'
import { handleBatch } from './batch.ts'
import { PROBE_INTERVAL_MS } from './broker-watch.ts'
import { brokersUnreachable, errorType, kafkajsRetry, toBusError } from './client.ts'
import type { Member, MemberContext } from './member-state.ts'

/** More joins than this within the window are reported as a rebalance storm. */
const REBALANCE_STORM_JOINS = 5
const REBALANCE_STORM_WINDOW_MS = 60_000

/** What the members of one bus share. */
/** A member for `options` (checked here), not started yet; `onClosed` runs once its close finished. */
export function createMember(context: MemberContext, options: SubscribeOptions<unknown>, onClosed: (member: Member) => void): Member {
  const { logger } = context
  const settings = consumerSettings(options)
  const { topic, groupId } = options
  let leaving: Promise<void> | undefined
  const member: Member = {
    topic,
    groupId,
    options,
    settings,
    closing: false,
    abort: new AbortController(),
    rebalance: new AbortController(),
    inFlight: new Set(),
    memberId: undefined,
    staleMemberIds: new Set(),
    removingStale: undefined,
    lastFetchAt: Date.now(),
    stallReported: false,
    close() {
      leaving ??= (async () => {
        member.closing = true
        // Cuts a back-off short; a handler call in flight runs to its end and is committed.
        member.abort.abort()
        try {
          // Stops fetching, waits for the batches in hand (they stop after the message in
          // flight and commit), leaves the group, closes the connections.
          await member.consumer?.disconnect()
        } catch (error) {
          logger?.error({ topic, groupId, err: error }, 'kafka bus: consumer did not disconnect cleanly')
        }
        await Promise.allSettled([...member.inFlight, member.removingStale])
        onClosed(member)
      })()
      return leaving
    },
  }
  return member
}

/**
 * Removes the members a crashed consumer left in its group (see `Member.staleMemberIds`) as soon
 * as a broker answers, so the restarted consumer's join completes at once instead of after their
 * session timeout. The order against that join does not matter: the broker completes a waiting
 * rebalance when the last missing member leaves.
 */
function removeStaleMembers({ settings, watch, logger }: MemberContext, member: Member): void {
  const { topic, groupId } = member
  member.removingStale ??= (async () => {
    // A stale member expires by itself one session after the broker took the group back.
    let attemptsLeft = Math.ceil(settings.sessionTimeoutMs / PROBE_INTERVAL_MS)
    try {
      while (member.staleMemberIds.size > 0 && attemptsLeft > 0) {
        if (!(await watch.answering(member.abort.signal))) return
        for (const memberId of [...member.staleMemberIds]) {
          try {
            await watch.leaveGroup(groupId, memberId)
            member.staleMemberIds.delete(memberId)
            logger?.info?.({ topic, groupId, memberId }, 'kafka bus: removed the member the crashed consumer left in its group')
          } catch (error) {
            // Gone already: kafkajs' own leave went through, or its session expired.
            if (errorType(error) === 'UNKNOWN_MEMBER_ID') member.staleMemberIds.delete(memberId)
            else attemptsLeft--
          }
        }
        if (member.staleMemberIds.size > 0) await abortableDelay(PROBE_INTERVAL_MS, member.abort.signal)
      }
      if (member.staleMemberIds.size > 0 && !member.closing) {
        logger?.warn({ topic, groupId, memberIds: [...member.staleMemberIds] }, 'kafka bus: could not remove the old members of the consumer; the group waits for their sessions to expire')
      }
      member.staleMemberIds.clear()
    } finally {
      member.removingStale = undefined
    }
  })()
}

/** Starts the member's consumer; resolves once it joined its group (within subscribeTimeoutMs), rejects when it could not. */
export async function startMember(context: MemberContext, member: Member): Promise<void> {
  const { kafka, settings, retry, watch, logger } = context
  const { topic, groupId } = member
  let restarts = 0
  /**
   * Before a restart (kafkajs' own, or ours after a crash it gives up on): the old member id is
   * removed from the group, then a wait of `error.retryTime` — the last wait of the retry cycle that
   * failed, doubling with jitter up to maxRetryTime — or initialRetryTime, cut short as soon as a
   * broker answers again (`suspect`: ask the brokers meanwhile). The count of restarts keeps its pace while they are away.
   */
  const pauseBeforeRestart = async (error: unknown, suspect: boolean): Promise<void> => {
    if (member.memberId !== undefined) {
      member.staleMemberIds.add(member.memberId)
      member.memberId = undefined
      removeStaleMembers(context, member)
    }
    const retryTime = (error as { retryTime?: unknown } | undefined)?.retryTime
    const delay = typeof retryTime === 'number' && retryTime > 0 ? retryTime : kafkajsRetry(retry).initialRetryTime
    const brokersBack = watch.recovered
    if (suspect) watch.suspect()
    await abortableDelay(delay ?? 0, AbortSignal.any([member.abort.signal, brokersBack]))
  }
  let joinedOnce = false
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    rebalanceTimeout: settings.rebalanceTimeoutMs,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    allowAutoTopicCreation: false,
    retry: {
      ...kafkajsRetry(retry),
      // kafkajs restarts a consumer after every retriable crash, forever: with the broker down
      // that is an endless loop that looks healthy. Count the restarts and give up after
      // maxConsumerRestarts in a row (a join resets the count); every crash is logged below.
      restartOnFailure: async (error) => {
        if (member.closing) return false
        restarts++
        if (restarts > settings.maxConsumerRestarts) return false
        await pauseBeforeRestart(error, brokersUnreachable(error))
        // Waited here already. kafkajs reads retryTime after this callback resolved (src/consumer/index.js,
        // `onCrash`) and takes a falsy one for "use initialRetryTime", hence 1 ms.
        const waited = error as Error & { retryTime?: unknown }
        waited.retryTime = 1
        return !member.closing
      },
    },
  })
  member.consumer = consumer

  let resolveJoin = (): void => undefined
  let rejectJoin = (_error: Error): void => undefined
  const joined = new Promise<void>((resolve, reject) => {
    resolveJoin = resolve
    rejectJoin = reject
  })
  // Nobody may be listening any more when a crash comes after subscribe gave up.
  joined.catch(() => undefined)

  let recentJoins: number[] = []
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    restarts = 0
    member.memberId = payload.memberId
    member.rebalance = new AbortController()
    member.lastFetchAt = Date.now()
    const fields = { topic, groupId, memberId: payload.memberId, assigned: payload.memberAssignment[topic] ?? [] }
    if (joinedOnce) logger?.info?.(fields, 'kafka bus: member rejoined its group')
    joinedOnce = true
    // A rebalance now and then is normal (members come and go); many in a row mean members
    // keep timing out (handlers longer than rebalanceTimeoutMs, GC pauses, sessions too short).
    const now = Date.now()
    recentJoins = [...recentJoins.filter((at) => now - at < REBALANCE_STORM_WINDOW_MS), now]
    if (recentJoins.length > REBALANCE_STORM_JOINS) logger?.warn({ ...fields, joins: recentJoins.length, windowMs: REBALANCE_STORM_WINDOW_MS }, 'kafka bus: rebalance storm: the member keeps rejoining its group')
    resolveJoin()
  })
  consumer.on(consumer.events.REBALANCING, () => member.rebalance.abort())
  consumer.on(consumer.events.FETCH_START, () => {
    member.lastFetchAt = Date.now()
    member.stallReported = false
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    const fields = { topic, groupId, restart: payload.restart, err: payload.error, restarts }
    if (member.closing) return
    processMetrics()?.kafkaErrors.inc({ client: 'consumer' })
    if (payload.restart) {
      logger?.error(fields, 'kafka bus: consumer crashed; kafkajs restarts it')
      return
    }
    // kafkajs takes a group coordinator it cannot find for a lasting fault and does not restart:
    // but that is what a broker that is restarting looks like (seen under load: the restart after
    // an outage asks before the broker has loaded its groups). Start the consumer again ourselves,
    // on the same count of restarts in a row.
    if (joinedOnce && coordinatorNotFound(payload.error) && restarts < settings.maxConsumerRestarts) {
      restarts++
      logger?.warn(fields, 'kafka bus: no group coordinator yet (the broker is away or restarting); starting the consumer again')
      void startAgain(payload.error)
      return
    }
    // Not restarted: this subscription no longer consumes. Say it loudly and tell the owner.
    logger?.error(fields, 'kafka bus: consumer crashed and will NOT restart; the subscription has stopped consuming')
    const error = toBusError(payload.error, `consumer of ${topic} in group ${groupId}`)
    rejectJoin(error)
    if (joinedOnce) context.onFatalError?.(error, { topic, groupId })
  })
  // A consumer that stops or disconnects while the subscription is open has stopped silently
  // unless someone says so (kafkajs emits these before a CRASH, or alone).
  consumer.on(consumer.events.STOP, () => {
    if (!member.closing) logger?.error({ topic, groupId }, 'kafka bus: consumer stopped while its subscription is open')
  })
  consumer.on(consumer.events.DISCONNECT, () => {
    if (!member.closing) logger?.error({ topic, groupId }, 'kafka bus: consumer disconnected while its subscription is open')
  })

  const runConfig: ConsumerRunConfig = {
    // We commit, and only what settled: kafkajs' auto-commit would commit fetched batches.
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    eachBatch: async (payload) => {
      if (member.closing) return
      const work = handleBatch(context, member, payload)
      member.inFlight.add(work)
      try {
        await work
      } finally {
        member.inFlight.delete(work)
      }
    },
  }

  /** After a crash kafkajs would not restart from: wait as its own restarts do, then connect and run again. */
  async function startAgain(error: unknown): Promise<void> {
    await pauseBeforeRestart(error, true)
    if (member.closing) return
    try {
      await consumer.connect()
      await consumer.run(runConfig)
    } catch (failure) {
      if (member.closing) return
      // Not connected yet (the broker is still away): another try, on the same count.
      if (restarts < settings.maxConsumerRestarts) {
        restarts++
        logger?.warn({ topic, groupId, err: failure, restarts }, 'kafka bus: the consumer could not connect again yet; trying again')
        void startAgain(failure)
        return
      }
      logger?.error({ topic, groupId, err: failure, cause: error }, 'kafka bus: the consumer could not start again; the subscription has stopped consuming')
      const busError = toBusError(failure, `consumer of ${topic} in group ${groupId}`)
      rejectJoin(busError)
      context.onFatalError?.(busError, { topic, groupId })
    }
  }

  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: (member.options.fromBeginning ?? false) !== false })
  await consumer.run(runConfig)

  // run() resolves after the first join (or a crash); wait for the join event, bounded.
  let timer: NodeJS.Timeout | undefined
  const onAbort = (): void => rejectJoin(new Error('the bus is closing'))
  member.abort.signal.addEventListener('abort', onAbort, { once: true })
  try {
    await Promise.race([
      joined,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`did not join group ${groupId} within ${settings.subscribeTimeoutMs} ms`)), settings.subscribeTimeoutMs)
      }),
    ])
  } finally {
    clearTimeout(timer)
    member.abort.signal.removeEventListener('abort', onAbort)
  }
}

/** True when kafkajs gave up because it found no group coordinator (anywhere in the error's causes). */
export function coordinatorNotFound(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = (e as Error & { cause?: unknown }).cause, depth++) {
    if (e.name === 'KafkaJSGroupCoordinatorNotFound') return true
  }
  return false
}

/**
 * The "consumer silently stopped" watch: a joined member that has not fetched for a whole session
 * while nothing is being handled is stuck, whatever kafkajs says. Returns the function that stops it.
 */
export function watchForStalls({ settings, logger }: MemberContext, members: ReadonlySet<Member>): () => void {
  const { sessionTimeoutMs, maxWaitTimeMs } = settings
  const watchdog = setInterval(() => {
    const now = Date.now()
    for (const member of members) {
      if (member.closing || member.stallReported || member.inFlight.size > 0 || member.consumer === undefined) continue
      if (now - member.lastFetchAt > sessionTimeoutMs + maxWaitTimeMs) {
        member.stallReported = true
        logger?.error({ topic: member.topic, groupId: member.groupId, idleMs: now - member.lastFetchAt }, 'kafka bus: consumer has not fetched for a whole session; it may have stopped')
      }
    }
  }, Math.max(1_000, Math.floor(sessionTimeoutMs / 2)))
  watchdog.unref()
  return () => clearInterval(watchdog)
}
