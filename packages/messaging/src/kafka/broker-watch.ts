/**
 * Notices when a broker answers again after failures that looked like an outage, and removes
 * members that a crashed consumer left in its group.
 */
import kafkajs from 'kafkajs'
import type { Broker, Cluster } from 'kafkajs'
import { abortableDelay } from '../shared.ts'
import { createClient } from './client.ts'
import type { KafkaBusLogger, KafkaBusOptions } from './options.ts'

const { PartitionAssigners } = kafkajs

/** How often the bus asks again whether a broker answers, after a failure that looked like an outage. */
export const PROBE_INTERVAL_MS = 500

/**
 * Notices when a broker answers again after failures that looked like an outage. kafkajs' retry
 * waits and ours grow while the brokers are away; the ones we own (handler and dead-letter
 * back-offs, consumer restarts) end when `recovered` aborts instead of running their course.
 */
export interface BrokerWatch {
  /** Aborted when a broker answers after `suspect` was called; a fresh signal follows. */
  readonly recovered: AbortSignal
  /** A request found no broker: ask again every PROBE_INTERVAL_MS until one answers, then abort `recovered`. */
  suspect(): void
  /** Resolves true once a broker answers (at once when one does now), false when `signal` aborts or the bus closes. */
  answering(signal: AbortSignal): Promise<boolean>
  /** Removes `memberId` from `groupId` (LeaveGroup on the group's coordinator on its behalf). */
  leaveGroup(groupId: string, memberId: string): Promise<void>
  close(): Promise<void>
}

/** kafkajs' Broker sends LeaveGroup for any member id (src/broker/index.js `leaveGroup`); its types leave the method out. */
type GroupCoordinator = Broker & { leaveGroup(request: { readonly groupId: string; readonly memberId: string }): Promise<unknown> }

export function createBrokerWatch(options: KafkaBusOptions, logger: KafkaBusLogger | undefined): BrokerWatch {
  // A client of its own: no retries (we pace the questions), short timeouts, and silent (while the
  // brokers are away every question fails, and the bus has said so already).
  const client = createClient({
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeoutMs: Math.min(options.connectionTimeoutMs ?? 3_000, 3_000),
    requestTimeoutMs: Math.min(options.requestTimeoutMs ?? 30_000, 10_000),
    retry: { retries: 0 },
  })
  // kafkajs has no public call that removes another member from a group. A custom partition
  // assigner is handed its consumer's cluster (kafkajs' documented assigner contract), whose group
  // coordinator can send the LeaveGroup. This consumer only lends its cluster: it never connects or runs.
  let cluster: Cluster | undefined
  client.consumer({
    groupId: `${options.clientId}-broker-watch`,
    partitionAssigners: [
      (config) => {
        cluster = config.cluster
        return PartitionAssigners.roundRobin(config)
      },
    ],
  })
  if (cluster === undefined) throw new Error('kafka bus: kafkajs did not hand its cluster to the partition assigner')
  const brokers = cluster

  const closing = new AbortController()
  let recovered = new AbortController()
  let suspected = false
  let probing: Promise<boolean> | undefined

  const probe = async (): Promise<boolean> => {
    try {
      await brokers.connect()
      await brokers.refreshMetadata()
      return true
    } catch {
      // Start from scratch next time: kafkajs may still count a broker whose socket has closed as connected.
      await brokers.disconnect().catch(() => undefined)
      return false
    }
  }

  const probeUntilAnswered = (): Promise<boolean> => {
    probing ??= (async () => {
      let failures = 0
      try {
        while (!(await probe())) {
          failures++
          if (failures === 1) logger?.warn({ brokers: options.brokers, everyMs: PROBE_INTERVAL_MS }, 'kafka bus: no broker answers; asking again until one does')
          await abortableDelay(PROBE_INTERVAL_MS, closing.signal)
          if (closing.signal.aborted) return false
        }
      } finally {
        probing = undefined
      }
      if (failures > 0) logger?.info?.({ brokers: options.brokers, afterMs: failures * PROBE_INTERVAL_MS }, 'kafka bus: a broker answers again')
      if (suspected) {
        suspected = false
        const done = recovered
        recovered = new AbortController()
        done.abort()
      }
      return true
    })()
    return probing
  }

  return {
    get recovered() {
      return recovered.signal
    },
    suspect() {
      if (closing.signal.aborted) return
      suspected = true
      void probeUntilAnswered()
    },
    async answering(signal) {
      if (closing.signal.aborted || signal.aborted) return false
      let onAbort = (): void => undefined
      const aborted = new Promise<false>((resolve) => {
        onAbort = () => resolve(false)
        signal.addEventListener('abort', onAbort, { once: true })
      })
      try {
        return await Promise.race([probeUntilAnswered(), aborted])
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    },
    async leaveGroup(groupId, memberId) {
      await brokers.connect()
      const coordinator = (await brokers.findGroupCoordinator({ groupId })) as GroupCoordinator
      await coordinator.leaveGroup({ groupId, memberId })
    },
    async close() {
      closing.abort()
      await probing
      await brokers.disconnect().catch(() => undefined)
    },
  }
}
