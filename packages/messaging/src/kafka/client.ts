/**
 * The kafkajs client of this package's settings, and what we read out of kafkajs errors. kafkajs
 * types and errors stay in this folder: callers of the bus only ever see plain Errors.
 */
import kafkajs from 'kafkajs'
import type { Kafka, LogEntry, RetryOptions } from 'kafkajs'
import type { KafkaBusLogger, KafkaBusOptions, KafkaRetryOptions } from './options.ts'

const { Kafka: KafkaClient, logLevel: LogLevel } = kafkajs

/** kafkajs errors that mean "no broker answered" rather than "a broker said no". */
const UNREACHABLE_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSNoBrokerAvailableError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound'])

/** True when a kafkajs failure (or one along its cause chain) says the brokers could not be reached. */
export function brokersUnreachable(error: unknown): boolean {
  let current: unknown = error
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (UNREACHABLE_ERRORS.has(current.name)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

const KAFKA_LOG_LEVELS = { nothing: LogLevel.NOTHING, error: LogLevel.ERROR, warn: LogLevel.WARN, info: LogLevel.INFO, debug: LogLevel.DEBUG } as const

/** kafkajs error text with the kafkajs error types along its cause chain (e.g. NOT_ENOUGH_REPLICAS). */
export function describeKafkaError(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const type = (current as { type?: unknown }).type
      parts.push(`${current.name}${typeof type === 'string' ? ` [${type}]` : ''}: ${current.message}`)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return parts.join(' <- ')
}

/** A kafkajs failure as a plain Error, so callers never see (or depend on) vendor error classes. */
export function toBusError(error: unknown, operation: string): Error {
  if (error instanceof TypeError || error instanceof RangeError) return error
  return new Error(`Bus (kafka) ${operation} failed: ${describeKafkaError(error)}`)
}

/** The kafkajs error type (e.g. `UNKNOWN_MEMBER_ID`) of a broker's error response. */
export const errorType = (error: unknown): string | undefined => {
  const type = (error as { type?: unknown } | null)?.type
  return typeof type === 'string' ? type : undefined
}

/** `connect` of a kafkajs client, made on first use and remembered; a failed connect is forgotten so the next use tries again. */
export function connectOnFirstUse(client: { connect(): Promise<void> }): () => Promise<void> {
  let ready: Promise<void> | undefined
  return () => {
    ready ??= client.connect().catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }
}

/** Maps kafkajs' log lines into the BusLogger; `undefined` logger = silence (never kafkajs' console logger). */
function kafkaLogCreator(logger: KafkaBusLogger | undefined) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      if (logger === undefined) return
      const { message, timestamp: _timestamp, ...fields } = log
      const obj = { component: 'kafkajs', namespace, ...fields }
      const text = String(message)
      // Said once per producer: kafkajs wants unlimited retries for its exactly-once claim. The
      // port promises at-least-once and a publish that rejects when the brokers stay away, so the
      // bounded retries are deliberate.
      if (text.startsWith('Limiting retries for the idempotent producer')) return
      // kafkajs logs every error response at error level, also those it handles itself
      // (REBALANCE_IN_PROGRESS on a heartbeat, NOT_LEADER right after a topic was created).
      // What it cannot handle comes back as a rejected call or a consumer CRASH, logged at error.
      const handledResponse = namespace === 'Connection' && text.startsWith('Response ')
      if (level === LogLevel.ERROR && !handledResponse) logger.error(obj, text)
      else if (level === LogLevel.ERROR) logger.warn(obj, text)
      else if (level === LogLevel.WARN) logger.warn(obj, text)
      else if (level === LogLevel.INFO) logger.info?.(obj, text)
      else logger.debug?.(obj, text)
    }
}

/** kafkajs' retry options from ours, with our defaults. */
export function kafkajsRetry(retry: KafkaRetryOptions | undefined): RetryOptions {
  return {
    retries: retry?.retries ?? 5,
    initialRetryTime: retry?.initialRetryTimeMs ?? 300,
    maxRetryTime: retry?.maxRetryTimeMs ?? 30_000,
  }
}

/** The kafkajs client of this package's settings (bounded retries, logs through `logger`); also used by kafka-lag.ts. */
export function createClient(options: Pick<KafkaBusOptions, 'brokers' | 'clientId' | 'logger' | 'kafkaLogLevel' | 'connectionTimeoutMs' | 'requestTimeoutMs' | 'retry'>): Kafka {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0 || options.brokers.some((broker) => typeof broker !== 'string' || broker.length === 0)) {
    throw new TypeError('createKafkaBus: brokers must be a non-empty list of host:port strings')
  }
  if (typeof options.clientId !== 'string' || options.clientId.length === 0) throw new TypeError('createKafkaBus: clientId must be a non-empty string')
  return new KafkaClient({
    brokers: [...options.brokers],
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Bounded: without a cap kafkajs keeps reconnecting to a broker that is down; every give-up
    // is then a rejected publish or a consumer CRASH we log (and count, see maxConsumerRestarts).
    retry: kafkajsRetry(options.retry),
    logLevel: options.logger === undefined ? LogLevel.NOTHING : KAFKA_LOG_LEVELS[options.kafkaLogLevel ?? 'warn'],
    logCreator: kafkaLogCreator(options.logger),
  })
}
