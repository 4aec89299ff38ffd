/**
 * @civic-desk/tracing — W3C Trace Context across the product: `traceparent` read from HTTP
 * requests, Kafka messages and stored events, the current span of the running code (for logs,
 * appended events and published messages), and OTLP export of spans when configured.
 */
export { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceContext } from './traceparent.ts'
export {
  currentTrace,
  currentTraceparent,
  enterTrace,
  headersOf,
  inSpan,
  parentFrom,
  runInTrace,
  startSpan,
  startTracing,
  tracingEnabled,
  type Span,
  type SpanAttributes,
  type SpanFinish,
  type SpanKind,
  type SpanRecorder,
  type StartSpanOptions,
  type TracingHandle,
  type TracingSettings,
} from './tracer.ts'
/** Header names: W3C's, on HTTP and on every Kafka message civic-desk produces. */
export const TRACE_HEADERS = { traceparent: 'traceparent', tracestate: 'tracestate' } as const
/** The response header that tells a caller the trace id its request was recorded under. */
export const TRACE_ID_RESPONSE_HEADER = 'x-trace-id'
