/**
 * Answers for what goes wrong below fastify: requests that are not valid HTTP/1.1, headers that are
 * too large, requests that arrive too slowly. Node's HTTP parser reports these on the server's
 * `clientError` event, before a request object exists or while its body is being read, so
 * fastify's hooks and error handler never see them. Here they get the same RFC 9457 problem
 * documents as everything else, written straight onto the socket, and the connection is closed.
 *
 * | what Node reports                                                  | answer                            |
 * | ------------------------------------------------------------------ | --------------------------------- |
 * | request line + headers not in `headersTimeoutMs`, or the whole      | 408 `request_timeout`             |
 * | request (body included) not in `requestTimeoutMs`                   |                                   |
 * | headers over Node's limit (16 KiB)                                  | 431 `request_header_fields_too_large` |
 * | chunk extensions over Node's limit                                  | 413 `payload_too_large`           |
 * | anything else the parser refuses (duplicate or conflicting          | 400 `bad_request`, naming the     |
 * | Content-Length, Content-Length with Transfer-Encoding, bad chunk    | parser's reason                   |
 * | sizes, invalid header characters, a malformed request line, …)      |                                   |
 * | `Expect:` other than `100-continue` (`checkExpectation`)            | 417 `expectation_failed`          |
 * | `CONNECT` (`connect`; this is no proxy)                             | 501 `not_implemented`             |
 *
 * Where the application gets no say, Node acts alone (and this module leaves it so):
 * - `PRI * HTTP/2.0` (an HTTP/2 preface on this HTTP/1.1 port): the connection is closed unanswered;
 * - a response already under way (headers sent) when the error comes: nothing can be added to it,
 *   the connection is closed;
 * - a request that was answered before its body arrived (401, 404, …) and whose body then stalls:
 *   the answer stands, the connection is closed when the request timeout passes;
 * - socket errors (the client reset or vanished): there is no one to answer.
 */
import { randomUUID } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ConnectionError, FastifyBaseLogger, FastifyInstance } from 'fastify'
import { PROBLEM_CONTENT_TYPE, problemType } from './problem.ts'

/** Default time for the request line and headers to arrive. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
/** Default time for a whole request, body included, to arrive. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000

/** After answering, how long the connection may still drain what the client sends before it is closed. */
const LINGER_MS = 1000

/** The HTTP server timeouts of an app; both in milliseconds. */
export interface HttpTimeouts {
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
}

/** Refuses timeouts Node would refuse (or silently ignore), with a message that says how to fix them. */
export function checkTimeouts(timeouts: HttpTimeouts): void {
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`createHttpApp: ${name} must be a positive integer of milliseconds, got ${value}`)
  }
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    throw new RangeError(`createHttpApp: headersTimeoutMs (${timeouts.headersTimeoutMs}) must not exceed requestTimeoutMs (${timeouts.requestTimeoutMs}): the headers are part of the request`)
  }
}

/**
 * How often Node looks for requests over their time: a fifth of the shorter timeout, between
 * 10 ms and 1 s, so a request is cut at most 20 % late (Node's own default is every 30 s).
 */
export function checkingIntervalMs(timeouts: HttpTimeouts): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 5)))
}

interface SocketProblem {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
}

/** The problem for a parser or timeout error; null for socket errors, which nobody is left to read. */
function problemFor(error: ConnectionError, timeouts: HttpTimeouts): SocketProblem | null {
  const { code, reason } = error as ConnectionError & { reason?: unknown }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: 'request_timeout',
      title: 'Request timeout',
      detail: `The request did not arrive in time: headers are accepted for ${timeouts.headersTimeoutMs} ms, the whole request (body included) for ${timeouts.requestTimeoutMs} ms. Send it again without pauses.`,
    }
  }
  if (typeof code !== 'string' || !code.startsWith('HPE_')) return null
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'request_header_fields_too_large', title: 'Request header fields too large', detail: 'The request headers are larger than this server accepts (16 KiB in all).' }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'payload_too_large', title: 'Payload too large', detail: 'The chunk extensions of the request body are larger than this server accepts.' }
    default: {
      // llhttp's reasons are fixed texts about the protocol ("Duplicate Content-Length"); they never echo the request.
      const why = typeof reason === 'string' && reason !== '' ? reason : code
      return { status: 400, code: 'bad_request', title: 'Bad request', detail: `The request is not valid HTTP/1.1 (${why}); nothing was processed.` }
    }
  }
}

/** A problem document as the raw bytes of a whole HTTP/1.1 response that closes the connection. */
function rawResponse(problem: SocketProblem, requestId: string, instance: string | undefined, extraHeaders = ''): string {
  const body = JSON.stringify({
    type: problemType(problem.code),
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(instance === undefined ? {} : { instance }),
    code: problem.code,
    requestId,
  })
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? problem.title}\r\n` +
    `content-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    extraHeaders +
    'connection: close\r\n\r\n' +
    body
  )
}

/** Ends the connection with `response`, then lets it drain briefly so the client can read it before the close. */
function endWith(socket: Duplex, response: string): void {
  socket.end(response)
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}

const pathOf = (url: string | undefined): string | undefined => (url === undefined ? undefined : url.split('?', 1)[0])

/** What the fastify app needs: the `clientErrorHandler` option, and what to install once the app exists. */
export interface ProtocolErrorAnswers {
  readonly clientErrorHandler: (error: ConnectionError, socket: Duplex) => void
  install(app: FastifyInstance): void
  /** Whether the connection was answered (or closed) here: the request on it must not be answered again. */
  settled(socket: Duplex): boolean
}

/** The protocol-level answers of one app (see the module comment). */
export function answerProtocolErrors(timeouts: HttpTimeouts, logger: FastifyBaseLogger): ProtocolErrorAnswers {
  const log = logger.child({ component: 'http-protocol' })
  // The request each connection is working on, for the id and path of a timeout's answer.
  const current = new WeakMap<Duplex, { readonly id: string; readonly path: string; readonly response: ServerResponse }>()
  // Connections whose request was answered before its body was read: the body is drained, never answered twice.
  const answeredEarly = new WeakSet<Duplex>()
  // Connections already answered (or given up) here: the parser reports every later chunk again.
  const done = new WeakSet<Duplex>()

  const clientErrorHandler = (error: ConnectionError, socket: Duplex): void => {
    if (done.has(socket) || socket.destroyed) return
    done.add(socket)
    const problem = problemFor(error, timeouts)
    const request = current.get(socket)
    if (problem === null || answeredEarly.has(socket) || request?.response.headersSent === true || !socket.writable) {
      log.debug({ code: error.code }, 'connection closed without an answer')
      socket.destroy()
      return
    }
    const requestId = request?.id ?? randomUUID()
    // The code only: the raw bytes of a bad request may hold personal data.
    log.info({ code: error.code, status: problem.status, requestId }, 'protocol error answered')
    endWith(socket, rawResponse(problem, requestId, request?.path))
  }

  return {
    clientErrorHandler,
    settled: (socket) => done.has(socket),
    install(app) {
      app.addHook('onRequest', async (request, reply) => {
        current.set(request.raw.socket, { id: request.id, path: pathOf(request.url) ?? '/', response: reply.raw })
      })
      app.addHook('onResponse', async (request) => {
        const socket = request.raw.socket
        if (current.get(socket)?.id === request.id) current.delete(socket)
        if (request.raw.complete === false) {
          answeredEarly.add(socket)
          request.raw.once('end', () => answeredEarly.delete(socket))
        }
      })
      // Without these listeners Node answers on its own, without a body (417) or not at all (CONNECT).
      app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
        const requestId = randomUUID()
        const problem: SocketProblem = {
          status: 417,
          code: 'expectation_failed',
          title: 'Expectation failed',
          detail: 'The only expectation this server meets is "Expect: 100-continue".',
        }
        log.info({ status: 417, requestId }, 'protocol error answered')
        const body = JSON.stringify({ type: problemType(problem.code), title: problem.title, status: 417, detail: problem.detail, instance: pathOf(request.url) ?? '/', code: problem.code, requestId })
        response.writeHead(417, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId, connection: 'close' })
        response.end(body)
      })
      app.server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
        const requestId = randomUUID()
        log.info({ status: 501, requestId }, 'protocol error answered')
        const problem: SocketProblem = { status: 501, code: 'not_implemented', title: 'Not implemented', detail: 'CONNECT is not supported: this server is not a proxy.' }
        endWith(socket, rawResponse(problem, requestId, undefined))
      })
    },
  }
}
