// A plain OTLP/HTTP receiver for tests and benchmarks: takes every export (answers 200), keeps the
// spans of JSON exports with their service's name, and counts requests and bytes. It decodes only
// what the tests read; a real collector is the OpenTelemetry Collector, Jaeger or Tempo.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One span as the receiver got it (ids as lower-case hex; '' where there is no parent). */
export interface ReceivedSpan {
  readonly service: string
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly attributes: Readonly<Record<string, unknown>>
}

/** A running receiver. */
export interface OtlpReceiver {
  /** Its origin, the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string
  /** Every span received so far (kept only with `keepSpans`, the default). */
  readonly spans: readonly ReceivedSpan[]
  /** `METHOD path content-type` of each export request, in order. */
  readonly requests: readonly string[]
  /** Bytes of all export bodies. */
  bytes(): number
  close(): Promise<void>
}

/** OTLP JSON writes ids as hex (the JS exporter) or base64 (the protobuf JSON mapping): read either. */
export const hexId = (id: unknown): string => (typeof id !== 'string' || id === '' ? '' : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'))

interface ExportDocument {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }> }
    readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<Record<string, unknown>> }>
  }>
}

/** Starts a receiver on 127.0.0.1 and a free port. `keepSpans: false` only counts (a benchmark's long runs). */
export async function startOtlpReceiver(options: { readonly keepSpans?: boolean } = {}): Promise<OtlpReceiver> {
  const keepSpans = options.keepSpans ?? true
  const spans: ReceivedSpan[] = []
  const requests: string[] = []
  let bytes = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (keepSpans) chunks.push(chunk)
    })
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`)
      if (keepSpans && (req.headers['content-type'] ?? '').startsWith('application/json')) {
        const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportDocument
        for (const resourceSpans of doc.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
          for (const scope of resourceSpans.scopeSpans ?? [])
            for (const span of scope.spans ?? []) {
              const attributes = Object.fromEntries(((span['attributes'] ?? []) as Array<{ key: string; value: Record<string, unknown> }>).map((a) => [a.key, Object.values(a.value)[0]]))
              spans.push({ service, name: String(span['name']), kind: Number(span['kind']), traceId: hexId(span['traceId']), spanId: hexId(span['spanId']), parentSpanId: hexId(span['parentSpanId']), attributes })
            }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    bytes: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
