/**
 * The bus a service process uses, chosen by its configuration: Kafka when brokers are given
 * (the distributed stack), else the durable single-host bus file (`bus.sqlite` in the data
 * folder), which every process on the host shares. Callers see only the port.
 */
import { join } from 'node:path'
import { createKafkaBus } from './kafka/bus.ts'
import type { KafkaBusLogger } from './kafka/options.ts'
import type { Bus } from './port.ts'
import { openSqliteBus } from './sqlite.ts'

export interface ServiceBusOptions {
  /** `host:port` of Kafka brokers; empty = the bus file. */
  readonly kafkaBrokers: readonly string[]
  /** The service's name: Kafka client id. */
  readonly clientId: string
  /** Folder of `bus.sqlite` when no broker is given. */
  readonly dataDir: string
  readonly logger: KafkaBusLogger
  /**
   * A subscription stopped for good (Kafka gave up restarting its consumer): the service no
   * longer does its job and should stop so its supervisor restarts it.
   */
  readonly onFatalError: (error: Error, subscription: { readonly topic: string; readonly groupId: string }) => void
}

export interface ServiceBus {
  readonly bus: Bus
  /** `kafka` or `sqlite`, for logs and status pages. */
  readonly kind: 'kafka' | 'sqlite'
  /** Where it goes: the broker list or the file. */
  readonly target: string
}

export function openServiceBus(options: ServiceBusOptions): ServiceBus {
  if (options.kafkaBrokers.length > 0) {
    const bus = createKafkaBus({ brokers: options.kafkaBrokers, clientId: options.clientId, logger: options.logger, onFatalError: options.onFatalError })
    return { bus, kind: 'kafka', target: options.kafkaBrokers.join(',') }
  }
  const file = join(options.dataDir, 'bus.sqlite')
  return { bus: openSqliteBus({ file, logger: options.logger }), kind: 'sqlite', target: file }
}
