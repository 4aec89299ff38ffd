/**
 * The process's tracing: the current span in an AsyncLocalStorage, spans started for requests,
 * messages and events, and (only when `startTracing` was given an OTLP endpoint) their export
 * through the OpenTelemetry SDK, which is then loaded with a dynamic import.
 *
 * Process-wide on purpose, like OpenTelemetry's own global provider: the trace context is ambient
 * (it follows the async call chain across the HTTP app, the bus adapters, the consumer skeleton and
 * the event codec), and threading it through every decide/append call would change every command
 * site for a header's worth of data. The composition root sets it up once with `startTracing`;
 * without that call ids are still made and propagated (tests, tools) and nothing is exported.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceContext } from './traceparent.ts'

/** What a span stands for, as OpenTelemetry names it. */
export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal'

/** Attribute values a span may carry (never personal data). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>

/** A started span: its context (to run code in and to pass on) and its end. */
export interface Span {
  readonly context: TraceContext
  /**
   * Ends the span; an error marks it failed. `finish` names it and adds attributes known only at
   * the end (an HTTP span's route and status).
   */
  end(error?: unknown, finish?: SpanFinish): void
}

/** What is known of a span only when it ends. */
export interface SpanFinish {
  readonly name?: string
  readonly attributes?: SpanAttributes
}

/** Starts spans; the export recorder (otel.ts) or the id-only one below. */
export interface SpanRecorder {
  start(name: string, kind: SpanKind, parent: TraceContext | null, attributes: SpanAttributes | undefined): Span
  shutdown(): Promise<void>
}

const NOTHING = (): void => {}

/** Without export: a span is a new span id (the trace's, or a new trace's), and its end is nothing. */
const idOnly: SpanRecorder = {
  start(_name, _kind, parent) {
    const context: TraceContext =
      parent === null
        ? { traceId: newTraceId(), spanId: newSpanId(), sampled: true }
        : { traceId: parent.traceId, spanId: newSpanId(), sampled: parent.sampled, ...(parent.tracestate === undefined ? {} : { tracestate: parent.tracestate }) }
    return { context, end: NOTHING }
  },
  shutdown: async () => {},
}

const storage = new AsyncLocalStorage<TraceContext>()
let enabled = true
let recorder: SpanRecorder = idOnly

/** The span the running code belongs to, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore()
}

/** The `traceparent` of the running code's span, if any (what an event or a message records). */
export function currentTraceparent(): string | undefined {
  const context = storage.getStore()
  return context === undefined ? undefined : formatTraceparent(context)
}

/** Whether propagation is on (`CIVIC_TRACING` is not `off`). */
export function tracingEnabled(): boolean {
  return enabled
}

/** Options of `startSpan`. */
export interface StartSpanOptions {
  readonly kind: SpanKind
  /**
   * The parent: a context read from a header or an event (null: a new trace). Omitted: the
   * running code's span, else a new trace.
   */
  readonly parent?: TraceContext | null
  readonly attributes?: SpanAttributes
}

/** Starts a span, or returns null when tracing is off. Run code in it with `runInSpan`/`inSpan`. */
export function startSpan(name: string, options: StartSpanOptions): Span | null {
  if (!enabled) return null
  const parent = options.parent === undefined ? (storage.getStore() ?? null) : options.parent
  return recorder.start(name, options.kind, parent, options.attributes)
}

/** Runs `fn` with `context` as the current span (its logs and appends carry it). */
export function runInTrace<T>(context: TraceContext, fn: () => T): T {
  return storage.run(context, fn)
}

/**
 * Makes `context` the current span for the rest of the running call and everything it starts
 * asynchronously: for frameworks whose hooks cannot wrap what follows (fastify's request lifecycle).
 */
export function enterTrace(context: TraceContext): void {
  storage.enterWith(context)
}

/** Runs `fn` in a new span (a child of `options.parent` or of the current span) and ends it when `fn` settles. */
export async function inSpan<T>(name: string, options: StartSpanOptions, fn: () => Promise<T>): Promise<T> {
  const span = startSpan(name, options)
  if (span === null) return fn()
  try {
    const result = await storage.run(span.context, fn)
    span.end()
    return result
  } catch (error) {
    span.end(error)
    throw error
  }
}

/** The parent a message's headers or an event's metadata name, or null (a new trace starts). */
export function parentFrom(traceparent: string | readonly string[] | undefined, tracestate?: string | readonly string[]): TraceContext | null {
  return enabled ? parseTraceparent(traceparent, tracestate) : null
}

/** The `traceparent` (and `tracestate`) headers of a context, to add to a message. */
export function headersOf(context: TraceContext | undefined): Readonly<Record<string, string>> {
  if (context === undefined) return NO_HEADERS
  return context.tracestate === undefined ? { traceparent: formatTraceparent(context) } : { traceparent: formatTraceparent(context), tracestate: context.tracestate }
}
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})

/** `tracing` settings of a process, read by its composition root. */
export interface TracingSettings {
  /** False (`CIVIC_TRACING=off`): no trace ids, no propagation, no export. */
  readonly enabled: boolean
  /** `service.name` of the exported spans. */
  readonly serviceName: string
  /**
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://127.0.0.1:4318`); spans go to `<endpoint>/v1/traces`
   * over OTLP/HTTP JSON. Undefined: nothing is loaded and nothing exported.
   */
  readonly otlpEndpoint?: string | undefined
  /** `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full URL, used as is (wins over `otlpEndpoint`). */
  readonly otlpTracesEndpoint?: string | undefined
  /** Where export problems (an unreachable collector) are reported, at most once a minute; never thrown. */
  readonly onExportProblem?: (message: string, suppressed: number) => void
}

/** What `startTracing` set up. */
export interface TracingHandle {
  /** Whether spans are exported. */
  readonly exporting: boolean
  /** Where they go (the URL), or null. */
  readonly exportUrl: string | null
  /** Exports what is queued (bounded wait) and stops. */
  shutdown(): Promise<void>
}

/** Longest `shutdown` waits for queued spans to leave: an unreachable collector never holds a stop up. */
const SHUTDOWN_WAIT_MS = 3000

/** Sets the process's tracing up: on or off, and the exporter when an OTLP endpoint is given. Call once, from main.ts. */
export async function startTracing(settings: TracingSettings): Promise<TracingHandle> {
  enabled = settings.enabled
  const url = settings.otlpTracesEndpoint ?? (settings.otlpEndpoint === undefined ? undefined : `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`)
  if (!settings.enabled || url === undefined || url === '') {
    recorder = idOnly
    return { exporting: false, exportUrl: null, shutdown: async () => {} }
  }
  const { createOtlpRecorder } = await import('./otel.ts')
  const exporting = createOtlpRecorder({ serviceName: settings.serviceName, url, ...(settings.onExportProblem === undefined ? {} : { onProblem: settings.onExportProblem }) })
  recorder = exporting
  return {
    exporting: true,
    exportUrl: url,
    async shutdown() {
      recorder = idOnly
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exporting.shutdown().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)))])
      clearTimeout(timer)
    },
  }
}
