/**
 * How a process is told about tracing: `CIVIC_TRACING` (on/off, a config entry of every service
 * with an API) and the standard OpenTelemetry variables, which are not ours to rename:
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` switch export on; the SDK
 * itself reads the other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables it documents.
 */
import { z } from 'zod'
import { startTracing, type TracingHandle } from '@civic-desk/tracing'
import type { Logger } from './logging.ts'

export const tracingConfigEntries = {
  tracing: {
    env: 'CIVIC_TRACING',
    schema: z.enum(['on', 'off']).default('on'),
    doc: 'W3C trace context: trace ids in logs, events and Kafka headers, and OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; off turns all of it off',
  },
} as const

/**
 * Sets the process's tracing up from its parsed `CIVIC_TRACING` and the environment's OTEL_*
 * variables (the composition root passes `process.env`), and says where spans go. Export problems
 * (a collector away) are logged as warnings, at most once a minute. Add `shutdown` to the shutdown tasks.
 */
export async function startServiceTracing(config: { readonly tracing: 'on' | 'off' }, env: Readonly<Record<string, string | undefined>>, serviceName: string, logger: Logger): Promise<TracingHandle> {
  const log = logger.child({ component: 'tracing' })
  let exportUrl: string | null = null
  const tracing = await startTracing({
    enabled: config.tracing === 'on',
    serviceName,
    otlpEndpoint: env['OTEL_EXPORTER_OTLP_ENDPOINT'],
    otlpTracesEndpoint: env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
    onExportProblem: (problem, suppressed) => log.warn({ problem, suppressed, exportUrl }, 'span export failed; spans are dropped while the collector does not answer (requests are not affected)'),
  })
  exportUrl = tracing.exportUrl
  if (tracing.exporting) log.info({ exportUrl }, 'spans exported over OTLP/HTTP')
  return tracing
}
