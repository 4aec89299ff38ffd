/**
 * One pino root logger per process, JSON lines written synchronously to stdout; components take
 * `logger.child({ component })`. Services import the `Logger` type from here, not pino.
 */
import { pino } from 'pino'
import { z } from 'zod'
import { currentTrace } from '@civic-desk/tracing'

/** The structured logger every component receives (pino's). */
export type Logger = pino.Logger

/** Levels a logger can be set to, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A log level name. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Config schema for a log level variable, default `info`. */
export const logLevelSchema = z.enum(LOG_LEVELS).default('info')

/** Paths whose values never reach the logs (credentials travel in these headers). */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
]

/**
 * Personal data (KVKK) never reaches a log either, should a component ever log a request body, an
 * event or its data: the applicant, their contact, the text they wrote, the address and the message
 * text, at the top level and two levels down. (Each level of wildcards costs on every line and every
 * child logger; our components log ids and counts, never these objects.)
 */
const PERSONAL_KEYS = ['citizen', 'description', 'phone', 'email', 'address', 'lat', 'lon', 'text', 'resolution', 'question', 'note', 'to']
export const PERSONAL_REDACTED_PATHS: readonly string[] = [
  ...PERSONAL_KEYS,
  ...PERSONAL_KEYS.map((k) => `*.${k}`),
  ...PERSONAL_KEYS.map((k) => `*.*.${k}`),
]

/**
 * A request as a log line shows it: the path without its query string, which can hold personal
 * data (`/v1/privacy/subjects?phone=…`, a search) and must never reach a log.
 */
export function requestForLog(req: { readonly method?: string; readonly url?: string; readonly host?: string; readonly ip?: string; readonly raw?: unknown; readonly socket?: { readonly remotePort?: number } }): object {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  // A plain object a component logged as `req` keeps its fields (its headers are redacted above).
  if (req.raw === undefined) return q === -1 ? req : { ...req, url: path, query: '[not logged]' }
  return {
    method: req.method,
    url: path,
    ...(q === -1 ? {} : { query: '[not logged]' }),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }
}

/** Options of `createLogger`. */
export interface CreateLoggerOptions {
  /** Minimum level written. */
  readonly level: LogLevel
  /** Service name, written as `name` on every line. */
  readonly name: string
  /** Where lines go; stdout when omitted (tests pass a stream to read them back). */
  readonly destination?: pino.DestinationStream
}

/** Creates the process's root logger: JSON lines, ISO timestamps, level labels, credentials redacted. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name,
    level: options.level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS, ...PERSONAL_REDACTED_PATHS], censor: '[redacted]' },
    serializers: { req: requestForLog },
    hooks: { streamWrite: withTraceIds },
  }
  // Stdout is written synchronously. pino's default stdout stream writes asynchronously and, on
  // process.exit, flushes what is queued but drops the write still in flight: a shutdown's
  // first line ("shutting down") went missing that way. A service's last lines matter most.
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }))
}

/**
 * Adds `traceId` and `spanId` of the running code's span to a line written inside one (a request,
 * a message, an event being handled), unless the line has them already (fastify's request logger
 * binds them, because its last line is written outside the request's async context). Spliced into
 * the finished JSON rather than returned from a pino `mixin`: every top-level field of a line goes
 * through the personal-data redaction's wildcards, which made two more fields cost about 3.7 µs a
 * line (measured); the splice costs a few hundred nanoseconds, and ids are never personal data.
 */
function withTraceIds(line: string): string {
  const trace = currentTrace()
  if (trace === undefined || line.includes('"traceId":"')) return line
  const end = line.lastIndexOf('}')
  return `${line.slice(0, end)},"traceId":"${trace.traceId}","spanId":"${trace.spanId}"${line.slice(end)}`
}
