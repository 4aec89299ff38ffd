// The event relay's position and lag as the dashboard's stream view shows them, asked over HTTP
// (`GET /v1/relay/status` of the relay, operators): the relay may run on another host, so the
// dashboard reads nothing of the relay's own files. A relay that does not answer, refuses the
// token or answers something else is shown as unknown with the reason; never an error of the view.
import { z } from 'zod'
import type { Logger } from '@civic-desk/service-kit'
import type { ConsumerStatus } from './routes.ts'

/** The fields of the relay's status answer the dashboard reads (it may say more). */
const RelayStatusAnswer = z.object({
  running: z.boolean(),
  position: z.number().int().min(0),
  head: z.number().int().min(0),
  lag: z.number().int().min(0),
})

export interface RelayStatusClientOptions {
  /** Base address of the relay, e.g. http://127.0.0.1:3006 (CIVIC_RELAY_URL). */
  readonly url: string
  /** Bearer token with the operator role on the relay; none = asked without one (401: shown as unknown). */
  readonly token?: string | undefined
  /** Longest wait for an answer; default 1,500 ms (the console polls every 2 s). */
  readonly timeoutMs?: number
  readonly logger: Logger
}

/** The relay's row of the stream view, asked anew at every call. */
export type RelayStatusClient = () => Promise<ConsumerStatus>

export function createRelayStatusClient(options: RelayStatusClientOptions): RelayStatusClient {
  const statusUrl = new URL('/v1/relay/status', options.url).toString()
  const timeoutMs = options.timeoutMs ?? 1500
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  // Logged when the reason changes, not at every poll of the console.
  let lastProblem: string | null = null
  const unknown = (reason: string): ConsumerStatus => {
    if (reason !== lastProblem) options.logger.warn({ relay: statusUrl, reason }, "the relay's status is unknown")
    lastProblem = reason
    return { name: 'event-relay', kind: 'store', lag: null, problem: reason }
  }

  return async () => {
    let response: Response
    try {
      response = await fetch(statusUrl, { headers, signal: AbortSignal.timeout(timeoutMs) })
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error)
      return unknown(timedOut ? `no answer from ${statusUrl} within ${timeoutMs} ms` : `cannot reach ${statusUrl} (${cause}): is the relay running, and is CIVIC_RELAY_URL its address?`)
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel()
      return unknown(`${statusUrl} answered ${response.status}: set CIVIC_RELAY_TOKEN to a token with the operator role on the relay`)
    }
    if (!response.ok) {
      await response.body?.cancel()
      return unknown(`${statusUrl} answered ${response.status}`)
    }
    let parsed: z.infer<typeof RelayStatusAnswer>
    try {
      parsed = RelayStatusAnswer.parse(await response.json())
    } catch {
      return unknown(`${statusUrl} did not answer a relay status: is CIVIC_RELAY_URL the relay's address?`)
    }
    if (lastProblem !== null) options.logger.info({ relay: statusUrl }, "the relay's status is known again")
    lastProblem = null
    return { name: 'event-relay', kind: 'store', position: parsed.position, lag: parsed.lag, ...(parsed.running ? {} : { problem: 'the relay answers but is not running (stopping)' }) }
  }
}
