// The two constants every problem response shares, apart so that both the fastify app (http.ts)
// and the answers written straight onto a socket (protocol-errors.ts) use the same ones.
import { STATUS_CODES } from 'node:http'
import { z } from 'zod'

/** Base of every problem `type` URI; the code is appended. */
export const PROBLEM_TYPE_BASE = 'https://civic-desk.dev/problems/'

/** Content type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** The code of a status no code of ours names (fastify's own errors, another protocol's answers): its status text, snake-cased. */
export function problemCodeOfStatus(status: number): string {
  return (STATUS_CODES[status] ?? (status < 500 ? 'Client error' : 'Server error')).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '')
}

/** The `type` URI of a problem code. */
export function problemType(code: string): string {
  return `${PROBLEM_TYPE_BASE}${code}`
}

/**
 * The problem document as the API describes it (RFC 9457 plus this project's `code`, `requestId`
 * and, for validation failures, `errors`). Routes name the problem statuses particular to them in
 * their response schemas with `problemResponses(...)`; the statuses every route can answer are
 * added to the API description for all routes by the app itself.
 */
export const ProblemSchema = z
  .object({
    type: z.string().describe('`https://civic-desk.dev/problems/<code>`'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    instance: z.string().describe('The path of the request'),
    code: z.string().describe('Stable machine-readable code (see the table in the README)'),
    requestId: z.string().describe('Quote it when reporting the error'),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional().describe('One entry per invalid field (`validation_failed`)'),
  })
  .catchall(z.unknown())

/** Response schemas for the problem statuses a route may answer beyond the common ones: `response: { 200: X, ...problemResponses(409, 412) }`. */
export function problemResponses(...statuses: readonly number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ProblemSchema]))
}
