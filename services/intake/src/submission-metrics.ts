// Counts what became of every submission (civic_submissions_accepted_total / _refused_total), by
// channel, way in and the refusal's problem code: a route-level onResponse hook for HTTP and
// Open311, and one call for the intake topic. Labels are bounded: a channel that is not one of
// the product's reads as `unknown`, a reason is a problem code.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Channel } from '@civic-desk/contracts'
import { problemCodeOfStatus, processMetrics } from '@civic-desk/service-kit'

/** How a submission came in. */
export type SubmissionPath = 'http' | 'open311' | 'kafka'

const CHANNELS: ReadonlySet<string> = new Set(Channel.options)

/** The channel as a label: one of the product's channels, else `unknown` (never what a caller typed). */
export function channelLabel(value: unknown): string {
  return typeof value === 'string' && CHANNELS.has(value) ? value : 'unknown'
}

/** Counts one submission; `reason` is the problem code of a refusal, undefined for an accepted one. */
export function countSubmission(via: SubmissionPath, channel: string, reason: string | undefined): void {
  const metrics = processMetrics()
  if (metrics === undefined) return
  if (reason === undefined) metrics.submissionsAccepted.inc({ channel, via })
  else metrics.submissionsRefused.inc({ channel, via, reason })
}

/** A route's onResponse hook counting its answers as submissions: 2xx accepted, anything else refused. */
export function countSubmissions(via: 'http' | 'open311'): (request: FastifyRequest, reply: FastifyReply, done: () => void) => void {
  return (request, reply, done) => {
    if (processMetrics() !== undefined) {
      // The channel the request names (POST /v1/requests); Open311's form names none: its key's channel is it.
      const body = request.body as { readonly channel?: unknown } | undefined
      const named = typeof body === 'object' && body !== null && !(body instanceof URLSearchParams) ? body.channel : undefined
      const channel = channelLabel(named ?? request.principal?.channel)
      countSubmission(via, channel, reply.statusCode < 300 ? undefined : (reply.problemCode ?? problemCodeOfStatus(reply.statusCode)))
    }
    done()
  }
}
