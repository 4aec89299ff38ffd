/**
 * The HTTP server settings every service with an API is told the same way: how long a client may
 * take to send its request. Spread into a service's `defineConfig` entries; pass the parsed values
 * to `createHttpApp` with `httpTimeouts(config)`.
 */
import { z } from 'zod'
import { metricsConfigEntries } from './metrics.ts'
import { tracingConfigEntries } from './tracing-config.ts'
import { DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, type HttpTimeouts } from './protocol-errors.ts'

export const httpConfigEntries = {
  headersTimeoutMs: {
    env: 'CIVIC_HEADERS_TIMEOUT_MS',
    schema: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_HEADERS_TIMEOUT_MS),
    doc: 'Time (ms) a client has to send the request line and headers; 408 after it. At most CIVIC_REQUEST_TIMEOUT_MS',
  },
  requestTimeoutMs: {
    env: 'CIVIC_REQUEST_TIMEOUT_MS',
    schema: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
    doc: 'Time (ms) a client has to send the whole request, body included; a body that dribbles in is cut off with 408 after it',
  },
  // Prometheus metrics (metrics.ts): every process with an API serves GET /metrics.
  ...metricsConfigEntries,
  // W3C trace context and OTLP export (tracing-config.ts).
  ...tracingConfigEntries,
} as const

/** The timeouts of a parsed config, as `createHttpApp` takes them. */
export function httpTimeouts(config: HttpTimeouts): HttpTimeouts {
  return { headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs }
}
