/**
 * Export of spans with the OpenTelemetry SDK, loaded by `startTracing` with a dynamic import only
 * when an OTLP endpoint is configured: a process without one never loads these modules.
 *
 * Our own context (tracer.ts) stays the source of truth for what is current; each span is started
 * in the SDK with its parent given explicitly, and the SDK's ids become the span's context, so the
 * ids in headers, events and logs are the ids of the exported spans and the trace is one tree
 * across processes. The batch processor keeps at most `maxQueueSize` spans and drops the rest
 * while the collector is away; exports run in the background with a timeout, never in a request.
 */
import { DiagLogLevel, ROOT_CONTEXT, SpanKind as OtelSpanKind, SpanStatusCode, TraceFlags, createTraceState, diag, trace, type DiagLogger } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { SpanKind, SpanRecorder } from './tracer.ts'
import type { TraceContext } from './traceparent.ts'

const KINDS: Readonly<Record<SpanKind, OtelSpanKind>> = {
  server: OtelSpanKind.SERVER,
  client: OtelSpanKind.CLIENT,
  producer: OtelSpanKind.PRODUCER,
  consumer: OtelSpanKind.CONSUMER,
  internal: OtelSpanKind.INTERNAL,
}

/** Options of `createOtlpRecorder`. */
export interface OtlpRecorderOptions {
  readonly serviceName: string
  /** The traces URL (`…/v1/traces`). */
  readonly url: string
  /** Told about the SDK's warnings and errors (a failed export), at most once a minute. */
  readonly onProblem?: (message: string, suppressed: number) => void
}

/** Longest quiet time between two reports of the SDK's problems: an unreachable collector is one line a minute, not one per batch. */
const PROBLEM_REPORT_INTERVAL_MS = 60_000

/** The SDK hands errors over as their JSON (stack included): a log line wants the message and code. */
function readable(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; code?: unknown }
    if (typeof parsed.message === 'string') return typeof parsed.code === 'string' ? `${parsed.message} (${parsed.code})` : parsed.message
  } catch {
    // not JSON: as it is
  }
  return text
}

/** The SDK's diagnostics (warnings and errors only), passed on rate-limited. */
function problemReporter(onProblem: (message: string, suppressed: number) => void): DiagLogger {
  let lastAt = Number.NEGATIVE_INFINITY
  let suppressed = 0
  const report = (message: string, ...args: unknown[]): void => {
    const now = Date.now()
    if (now - lastAt < PROBLEM_REPORT_INTERVAL_MS) {
      suppressed++
      return
    }
    lastAt = now
    const detail = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : '')).filter((text) => text !== '')
    onProblem([readable(message), ...detail].join(' '), suppressed)
    suppressed = 0
  }
  const ignore = (): void => {}
  return { error: report, warn: report, info: ignore, debug: ignore, verbose: ignore }
}

/** A span recorder exporting over OTLP/HTTP (JSON) in batches. */
export function createOtlpRecorder(options: OtlpRecorderOptions): SpanRecorder {
  if (options.onProblem !== undefined) diag.setLogger(problemReporter(options.onProblem), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true })
  // The exporter and the processor also read the standard OTEL_EXPORTER_OTLP_* / OTEL_BSP_*
  // variables (headers, timeout, queue size, delay) as the SDK documents them.
  const exporter = new OTLPTraceExporter({ url: options.url })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  })
  const tracer = provider.getTracer('civic-desk')
  return {
    start(name, kind, parent, attributes) {
      const context =
        parent === null
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: parent.traceId,
              spanId: parent.spanId,
              traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
              isRemote: true,
              ...(parent.tracestate === undefined ? {} : { traceState: createTraceState(parent.tracestate) }),
            })
      const span = tracer.startSpan(name, { kind: KINDS[kind], ...(attributes === undefined ? {} : { attributes }) }, context)
      const ids = span.spanContext()
      const own: TraceContext = {
        traceId: ids.traceId,
        spanId: ids.spanId,
        sampled: (ids.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
        ...(parent?.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
      }
      return {
        context: own,
        end(error, finish) {
          if (finish?.name !== undefined) span.updateName(finish.name)
          if (finish?.attributes !== undefined) span.setAttributes(finish.attributes)
          if (error !== undefined) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' })
          }
          span.end()
        },
      }
    },
    shutdown: () => provider.shutdown(),
  }
}
