// The two constants every problem response shares, apart so that both the fastify app (http.ts)
// and the answers written straight onto a socket (protocol-errors.ts) use the same ones.

/** Base of every problem `type` URI; the code is appended. */
export const PROBLEM_TYPE_BASE = 'https://civic-desk.dev/problems/'

/** Content type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8'

/** The `type` URI of a problem code. */
export function problemType(code: string): string {
  return `${PROBLEM_TYPE_BASE}${code}`
}
