import { randomUUID } from 'node:crypto'
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { AbortError, MAX_BACKOFF_MS, backoffDelay, sendWithRetry, type DeliveryLogger } from './delivery.ts'
import { createMemoryOutbox } from './outbox.ts'
import {
  ProviderConfigError,
  ProviderError,
  createOutboxProvider,
  createProviderRouter,
  createSmtpProvider,
  createWebhookProvider,
  type NotificationProvider,
  type OutgoingNotification,
  type SmtpProviderOptions,
} from './providers.ts'
import { decodeBody, decodeHeader, header, startSmtpFixture } from './smtp-server.testing.ts'
import { renderMessage, type NotificationChannel } from './templates.ts'

// ---------------------------------------------------------------------------------------------
// Helpers

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Runs `action` and returns what it rejected with; fails the test when it resolves. */
async function rejection(t: Test, action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action()
  } catch (error) {
    return error
  }
  t.fail('expected a rejection')
  return undefined
}

/** The ProviderError `action` rejected with. */
async function providerError(t: Test, action: () => Promise<unknown>): Promise<ProviderError> {
  const error = await rejection(t, action)
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`)
  return error
}

const ackContext = {
  trackingCode: '7K3M-Q9PX',
  citizenName: 'Ayşe Yılmaz',
  departmentNameTr: 'Fen İşleri Müdürlüğü',
  departmentNameEn: 'Directorate of Public Works',
  categoryNameTr: 'Yol çukuru ve yol hasarı',
  expectedBy: '2026-11-24T14:30:00Z',
  statusUrl: 'https://beyazmasa.example.bel.tr/b/7K3M-Q9PX',
}

function notification(channel: NotificationChannel, to: string, overrides: Partial<OutgoingNotification> = {}): OutgoingNotification {
  const rendered = renderMessage('acknowledgement', ackContext, { channel, language: 'tr', municipalityName: 'Kadıköy Belediyesi' })
  return {
    id: randomUUID(),
    channel,
    to,
    subject: rendered.subject,
    text: rendered.text,
    caseId: randomUUID(),
    trackingCode: ackContext.trackingCode,
    template: 'acknowledgement',
    language: rendered.language,
    ...overrides,
  }
}

/** A port nothing listens on: bound by us a moment ago, then released. */
async function closedPort(): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(t: Test): Promise<number> {
  const sockets = new Set<Socket>()
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

function capturingLogger(): DeliveryLogger & { lines: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = []
  return {
    lines,
    warn(obj, msg) {
      lines.push({ obj: { ...obj }, msg })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP

void t.test('SMTP provider against a real SMTP server', async (t) => {
  const server = await startSmtpFixture(t)
  const from = '"Kadıköy Belediyesi Beyaz Masa" <beyazmasa@kadikoy.example.bel.tr>'
  const settings: SmtpProviderOptions = { host: '127.0.0.1', port: server.port, secure: false, from, timeoutMs: 5000 }
  const smtp = createSmtpProvider(settings)
  t.teardown(() => smtp.close())

  await t.test('delivers the message with the right recipient, subject, UTF-8 text and Message-ID', async (t) => {
    const n = notification('email', 'ayse.yilmaz@example.com')
    t.match(n.text, /Sayın Ayşe Yılmaz,\n\n"Yol çukuru ve yol hasarı" konulu başvurunuz/, 'a real rendered e-mail')
    const result = await smtp.send(n)
    t.equal(result.providerMessageId, `<${n.id}@civic-desk>`)
    await until(() => server.received().some((m) => header(m, 'message-id') === `<${n.id}@civic-desk>`), 'the message to arrive')
    const mail = server.received().find((m) => header(m, 'message-id') === `<${n.id}@civic-desk>`)
    if (mail === undefined) return t.fail('message not received')
    t.same(mail.envelope, { mailFrom: 'beyazmasa@kadikoy.example.bel.tr', rcptTo: ['ayse.yilmaz@example.com'] })
    t.equal(header(mail, 'to'), 'ayse.yilmaz@example.com')
    t.equal(decodeHeader(header(mail, 'from') ?? ''), 'Kadıköy Belediyesi Beyaz Masa <beyazmasa@kadikoy.example.bel.tr>')
    t.equal(decodeHeader(header(mail, 'subject') ?? ''), 'Başvurunuz alındı (takip kodu: 7K3M-Q9PX)')
    t.equal(header(mail, 'x-civic-notification-id'), n.id)
    t.match(header(mail, 'content-type'), /^text\/plain; charset=utf-8$/i)
    t.equal(decodeBody(mail), n.text, 'Turkish text arrives intact')
    t.match(decodeBody(mail), /ş.*ğ|ğ.*ş/s)
    t.equal(mail.user, null, 'no login without credentials')
  })

  await t.test('a resend carries the same Message-ID, so the receiver can drop it', async (t) => {
    const n = notification('email', 'mehmet@example.com')
    await smtp.send(n)
    await smtp.send(n)
    await until(() => server.received().filter((m) => header(m, 'x-civic-notification-id') === n.id).length === 2, 'both copies')
    const ids = server.received().filter((m) => header(m, 'x-civic-notification-id') === n.id).map((m) => header(m, 'message-id'))
    t.same(ids, [`<${n.id}@civic-desk>`, `<${n.id}@civic-desk>`])
  })

  await t.test('logs in when credentials are configured', async (t) => {
    const authed = createSmtpProvider({ ...settings, user: 'civic', password: 's3cret' })
    t.teardown(() => authed.close())
    const n = notification('email', 'zeynep@example.com')
    await authed.send(n)
    await until(() => server.received().some((m) => header(m, 'x-civic-notification-id') === n.id), 'the message')
    t.equal(server.received().find((m) => header(m, 'x-civic-notification-id') === n.id)?.user, 'civic')
  })

  await t.test('wrong credentials are not retriable', async (t) => {
    const wrong = createSmtpProvider({ ...settings, user: 'civic', password: 'wrong' })
    t.teardown(() => wrong.close())
    const error = await providerError(t, () => wrong.send(notification('email', 'zeynep@example.com')))
    t.equal(error.code, 'smtp-535')
    t.equal(error.retriable, false)
  })

  await t.test('a recipient refused with 550 is a non-retriable ProviderError', async (t) => {
    const n = notification('email', 'unknown.person@example.com')
    const error = await providerError(t, () => smtp.send(n))
    t.equal(error.code, 'smtp-550')
    t.equal(error.retriable, false)
    t.match(error.message, /550 Mailbox unavailable/)
    t.notOk(
      server.received().some((m) => header(m, 'x-civic-notification-id') === n.id),
      'nothing was accepted',
    )
  })

  await t.test('a recipient deferred with 451 is retriable', async (t) => {
    const error = await providerError(t, () => smtp.send(notification('email', 'busy.person@example.com')))
    t.equal(error.code, 'smtp-451')
    t.equal(error.retriable, true)
  })

  await t.test('a closed port is a retriable connection failure', async (t) => {
    const closed = createSmtpProvider({ ...settings, port: await closedPort() })
    t.teardown(() => closed.close())
    const error = await providerError(t, () => closed.send(notification('email', 'ayse@example.com')))
    t.equal(error.code, 'connection-failed')
    t.equal(error.retriable, true)
    t.match(error.message, /ECONNREFUSED/)
  })

  await t.test('a server that never greets is a retriable timeout', async (t) => {
    const mute = createSmtpProvider({ ...settings, port: await silentServer(t), timeoutMs: 200 })
    t.teardown(() => mute.close())
    const started = Date.now()
    const error = await providerError(t, () => mute.send(notification('email', 'ayse@example.com')))
    t.equal(error.code, 'timeout')
    t.equal(error.retriable, true)
    t.ok(Date.now() - started < 5000, 'gave up after about the timeout')
  })

  await t.test('the caller’s abort ends a send at once and is not a ProviderError', async (t) => {
    const mute = createSmtpProvider({ ...settings, port: await silentServer(t), timeoutMs: 10_000 })
    t.teardown(() => mute.close())
    const controller = new AbortController()
    const started = Date.now()
    const pending = rejection(t, () => mute.send(notification('email', 'ayse@example.com'), controller.signal))
    setTimeout(() => controller.abort(), 50)
    const error = await pending
    t.notOk(error instanceof ProviderError)
    t.equal((error as Error).name, 'AbortError')
    t.ok(Date.now() - started < 5000, 'did not wait for the timeout')
  })

  await t.test('anything but a single address, a non-UUID id or another channel is refused before connecting', async (t) => {
    const before = server.received().length
    for (const to of ['a@example.com, b@example.com', 'Ayşe <a@example.com>', 'no-at-sign', 'a@example.com\r\nBcc: x@example.com']) {
      const error = await providerError(t, () => smtp.send(notification('email', to)))
      t.equal(error.code, 'invalid-recipient', JSON.stringify(to))
      t.equal(error.retriable, false)
    }
    t.equal((await providerError(t, () => smtp.send(notification('email', 'a@example.com', { id: 'not-a-uuid>\r\nX: y' })))).code, 'invalid-notification')
    t.equal((await providerError(t, () => smtp.send(notification('sms', '+905321234567')))).code, 'unsupported-channel')
    t.equal(server.received().length, before, 'nothing reached the server')
  })

  t.test('bad settings are refused when the provider is created', async (t) => {
    t.throws(() => createSmtpProvider({ ...settings, port: 0 }), ProviderConfigError)
    t.throws(() => createSmtpProvider({ ...settings, timeoutMs: 0 }), ProviderConfigError)
    t.throws(() => createSmtpProvider({ ...settings, user: 'civic' }), ProviderConfigError)
  })
})

// ---------------------------------------------------------------------------------------------
// Webhook receiver: a real HTTP server in this process

interface ReceivedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

type Responder = (request: ReceivedRequest, response: ServerResponse) => void

interface Receiver {
  readonly url: string
  readonly requests: ReceivedRequest[]
  /** How the next requests are answered; the default is 200 with `{ "id": "gw-<n>" }`. */
  respond(responder: Responder): void
}

async function startReceiver(t: Test): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  let responder: Responder = (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `gw-${requests.length}` }))
  }
  const server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(received)
      responder(received, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/messages`,
    requests,
    respond(next) {
      responder = next
    },
  }
}

const status =
  (code: number, body = ''): Responder =>
  (_request, response) => {
    response.writeHead(code, { 'content-type': 'text/plain' }).end(body)
  }

// Accepts the request and never answers.
const never: Responder = () => {}

void t.test('webhook provider against a real HTTP receiver', async (t) => {
  const receiver = await startReceiver(t)
  const webhook = createWebhookProvider({ url: receiver.url, token: 'gateway-token', channels: ['sms', 'whatsapp'], timeoutMs: 5000 })

  await t.test('posts the notification as JSON with Idempotency-Key and bearer token', async (t) => {
    const n = notification('sms', '+90 532 123 45 67')
    const result = await webhook.send(n)
    t.equal(result.providerMessageId, 'gw-1', 'the gateway id from the JSON answer')
    t.equal(receiver.requests.length, 1)
    const request = receiver.requests[0]
    if (request === undefined) return
    t.equal(request.method, 'POST')
    t.equal(request.url, '/v1/messages')
    t.equal(request.headers['idempotency-key'], n.id)
    t.equal(request.headers['authorization'], 'Bearer gateway-token')
    t.match(request.headers['content-type'], /^application\/json/)
    t.same(JSON.parse(request.body), {
      id: n.id,
      channel: 'sms',
      to: '+90 532 123 45 67',
      text: n.text,
      caseId: n.caseId,
      trackingCode: '7K3M-Q9PX',
      template: 'acknowledgement',
      language: 'tr',
    })
    t.match(JSON.parse(request.body), { text: /Sayın Ayşe Yılmaz, .*Fen İşleri Müdürlüğü/ }, 'UTF-8 text intact')
  })

  await t.test('messageId is used when there is no id; without either the notification id is', async (t) => {
    receiver.respond((_request, response) => response.writeHead(202, { 'content-type': 'application/json' }).end('{"messageId":"wamid.42"}'))
    t.equal((await webhook.send(notification('whatsapp', '+905321234567'))).providerMessageId, 'wamid.42')
    receiver.respond(status(204))
    const n = notification('sms', '+905321234567')
    t.equal((await webhook.send(n)).providerMessageId, n.id)
  })

  await t.test('no Authorization header without a token', async (t) => {
    receiver.respond(status(200, 'ok'))
    const open = createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 5000 })
    const before = receiver.requests.length
    await open.send(notification('sms', '+905321234567'))
    t.equal(receiver.requests.length, before + 1)
    t.equal(receiver.requests.at(-1)?.headers['authorization'], undefined)
  })

  await t.test('408, 429 and 5xx are retriable; other 4xx are not', async (t) => {
    for (const [code, retriable] of [
      [500, true],
      [502, true],
      [503, true],
      [408, true],
      [429, true],
      [400, false],
      [401, false],
      [404, false],
      [422, false],
    ] as const) {
      receiver.respond(status(code, `status ${code} from the gateway`))
      const error = await providerError(t, () => webhook.send(notification('sms', '+905321234567')))
      t.equal(error.code, `http-${code}`, `${code}: code`)
      t.equal(error.retriable, retriable, `${code}: retriable ${retriable}`)
      t.match(error.message, new RegExp(`status ${code} from the gateway`), `${code}: body in the message`)
    }
  })

  await t.test('a redirect is not followed and not retried', async (t) => {
    receiver.respond((_request, response) => response.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end())
    const error = await providerError(t, () => webhook.send(notification('sms', '+905321234567')))
    t.equal(error.code, 'http-307')
    t.equal(error.retriable, false)
  })

  await t.test('a receiver that never answers is a retriable timeout', async (t) => {
    receiver.respond(never)
    const slow = createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 200 })
    const started = Date.now()
    const error = await providerError(t, () => slow.send(notification('sms', '+905321234567')))
    t.equal(error.code, 'timeout')
    t.equal(error.retriable, true)
    t.ok(Date.now() - started < 5000, 'gave up after about the timeout')
  })

  await t.test('nobody listening is a retriable network error', async (t) => {
    const gone = createWebhookProvider({ url: `http://127.0.0.1:${await closedPort()}/`, channels: ['sms'], timeoutMs: 5000 })
    const error = await providerError(t, () => gone.send(notification('sms', '+905321234567')))
    t.equal(error.code, 'network-error')
    t.equal(error.retriable, true)
  })

  await t.test('the caller’s abort is passed through as an abort, not a ProviderError', async (t) => {
    receiver.respond(never)
    const controller = new AbortController()
    const pending = rejection(t, () => webhook.send(notification('sms', '+905321234567'), controller.signal))
    const before = receiver.requests.length
    await until(() => receiver.requests.length > before, 'the request to arrive')
    controller.abort()
    const error = await pending
    t.notOk(error instanceof ProviderError)
    t.equal((error as Error).name, 'AbortError')
  })

  await t.test('a channel it does not serve is refused without a request', async (t) => {
    const before = receiver.requests.length
    const error = await providerError(t, () => webhook.send(notification('email', 'ayse@example.com')))
    t.equal(error.code, 'unsupported-channel')
    t.equal(error.retriable, false)
    t.equal(receiver.requests.length, before)
  })

  t.test('bad settings are refused when the provider is created', async (t) => {
    t.throws(() => createWebhookProvider({ url: 'not a url', channels: ['sms'], timeoutMs: 1000 }), ProviderConfigError)
    t.throws(() => createWebhookProvider({ url: 'ftp://example.com/', channels: ['sms'], timeoutMs: 1000 }), ProviderConfigError)
    t.throws(() => createWebhookProvider({ url: receiver.url, channels: [], timeoutMs: 1000 }), ProviderConfigError)
    t.throws(() => createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: -1 }), ProviderConfigError)
  })
})

// ---------------------------------------------------------------------------------------------
// sendWithRetry

void t.test('sendWithRetry against a real HTTP receiver', async (t) => {
  const receiver = await startReceiver(t)
  const webhook = createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 5000 })

  await t.test('two failures then success: ok after 3 attempts, same idempotency key each time', async (t) => {
    const start = receiver.requests.length
    receiver.respond((request, response) => {
      if (receiver.requests.length - start <= 2) response.writeHead(503).end('try later')
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"gw-ok"}')
    })
    const logger = capturingLogger()
    const n = notification('sms', '+905321234567')
    const result = await sendWithRetry(webhook, n, { maxAttempts: 5, backoffMs: 5, logger })
    t.same(result, { ok: true, providerMessageId: 'gw-ok', attempts: 3 })
    const sent = receiver.requests.slice(start)
    t.equal(sent.length, 3)
    t.same(
      sent.map((r) => r.headers['idempotency-key']),
      [n.id, n.id, n.id],
    )
    t.equal(logger.lines.length, 2, 'each failed attempt logged')
    t.match(logger.lines[0], { msg: 'notification delivery failed; will retry', obj: { notificationId: n.id, attempt: 1, code: 'http-503', retriable: true, retryInMs: 5 } })
    t.match(logger.lines[1], { obj: { notificationId: n.id, attempt: 2, retryInMs: 10 } })
    t.notOk(JSON.stringify(logger.lines).includes('+905321234567'), 'the phone number is not logged')
  })

  await t.test('always 500: ok:false after maxAttempts', async (t) => {
    receiver.respond(status(500, 'boom'))
    const start = receiver.requests.length
    const logger = capturingLogger()
    const result = await sendWithRetry(webhook, notification('sms', '+905321234567'), { maxAttempts: 4, backoffMs: 1, logger })
    t.match(result, { ok: false, attempts: 4, error: { code: 'http-500', retriable: true } })
    t.equal(receiver.requests.length - start, 4)
    t.equal(logger.lines.length, 4)
    t.equal(logger.lines.at(-1)?.msg, 'notification delivery failed; giving up')
  })

  await t.test('400: ok:false after a single attempt', async (t) => {
    receiver.respond(status(400, 'invalid phone number'))
    const start = receiver.requests.length
    const logger = capturingLogger()
    const result = await sendWithRetry(webhook, notification('sms', '+905321234567'), { maxAttempts: 5, backoffMs: 1, logger })
    t.same(result, { ok: false, attempts: 1, error: { code: 'http-400', message: `webhook ${new URL(receiver.url).host} answered 400: invalid phone number`, retriable: false } })
    t.equal(receiver.requests.length - start, 1)
    t.match(logger.lines, [{ msg: 'notification delivery failed; giving up', obj: { attempt: 1, retriable: false } }], 'the permanent failure is logged once, without a retry wait')
    t.notOk('retryInMs' in (logger.lines[0]?.obj ?? {}))
  })

  await t.test('an abort during the back-off rejects with AbortError and records no failure', async (t) => {
    receiver.respond(status(503))
    const start = receiver.requests.length
    const controller = new AbortController()
    const logger = capturingLogger()
    const started = Date.now()
    const pending = rejection(t, () => sendWithRetry(webhook, notification('sms', '+905321234567'), { backoffMs: 20_000, signal: controller.signal, logger }))
    await until(() => logger.lines.length === 1, 'the first failure')
    controller.abort()
    const error = await pending
    t.ok(error instanceof AbortError, 'AbortError')
    t.equal((error as Error).name, 'AbortError')
    t.ok(Date.now() - started < 10_000, 'did not wait out the back-off')
    t.equal(receiver.requests.length - start, 1, 'no further attempt')
  })

  await t.test('an abort during an attempt rejects with AbortError and logs nothing', async (t) => {
    receiver.respond(never)
    const start = receiver.requests.length
    const controller = new AbortController()
    const logger = capturingLogger()
    const pending = rejection(t, () => sendWithRetry(webhook, notification('sms', '+905321234567'), { signal: controller.signal, logger }))
    await until(() => receiver.requests.length > start, 'the request')
    controller.abort()
    t.ok((await pending) instanceof AbortError)
    t.same(logger.lines, [])
  })

  await t.test('an already aborted signal sends nothing', async (t) => {
    const start = receiver.requests.length
    const error = await rejection(t, () => sendWithRetry(webhook, notification('sms', '+905321234567'), { signal: AbortSignal.abort() }))
    t.ok(error instanceof AbortError)
    t.equal(receiver.requests.length, start)
  })

  t.test('unknown errors are retried like retriable ones', async (t) => {
    let calls = 0
    const flaky: NotificationProvider = {
      name: 'flaky',
      channels: new Set(['sms']),
      async send() {
        calls++
        if (calls < 3) throw new TypeError('something unforeseen')
        return { providerMessageId: 'fine' }
      },
      async close() {},
    }
    t.same(await sendWithRetry(flaky, notification('sms', '+905321234567'), { backoffMs: 1 }), { ok: true, providerMessageId: 'fine', attempts: 3 })
  })

  t.test('back-off doubles from the base and is capped at 30 s', async (t) => {
    t.same(
      [1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 500)),
      [500, 1000, 2000, 4000],
    )
    t.equal(backoffDelay(7, 500), MAX_BACKOFF_MS)
    t.equal(backoffDelay(40, 500), 30_000)
  })

  t.test('bad options are refused', async (t) => {
    const n = notification('sms', '+905321234567')
    await t.rejects(sendWithRetry(webhook, n, { maxAttempts: 0 }), RangeError)
    await t.rejects(sendWithRetry(webhook, n, { backoffMs: -1 }), RangeError)
  })
})

// ---------------------------------------------------------------------------------------------
// Outbox provider and routing

void t.test('outbox provider and router', async (t) => {
  const receiver = await startReceiver(t)

  t.test('the outbox provider records every channel once per id and sends nothing', async (t) => {
    const outbox = createMemoryOutbox()
    const provider = createOutboxProvider(outbox, { now: () => new Date('2026-11-21T09:00:00Z') })
    t.same([...provider.channels].sort(), ['email', 'sms', 'whatsapp'])
    const n = notification('whatsapp', '+905321234567')
    t.same(await provider.send(n), { providerMessageId: n.id })
    t.same(await provider.send(n), { providerMessageId: n.id }, 'a repeat still succeeds')
    t.equal(outbox.count(), 1)
    t.same(outbox.list(), [{ ...n, provider: 'outbox', recordedAt: '2026-11-21T09:00:00.000Z', sequence: 1 }])
  })

  await t.test('SMTP for e-mail, webhook for SMS and WhatsApp, outbox for the rest', async (t) => {
    const outbox = createMemoryOutbox()
    const outboxProvider = createOutboxProvider(outbox)
    const smtp = createSmtpProvider({ host: '127.0.0.1', port: await closedPort(), secure: false, from: 'beyazmasa@example.bel.tr', timeoutMs: 1000 })
    const webhook = createWebhookProvider({ url: receiver.url, channels: ['sms', 'whatsapp'], timeoutMs: 5000 })
    const router = createProviderRouter([smtp, webhook], { fallback: outboxProvider })
    t.teardown(() => router.close())
    t.equal(router.providerFor('email')?.name, 'smtp')
    t.equal(router.providerFor('sms')?.name, 'webhook')
    t.equal(router.providerFor('whatsapp')?.name, 'webhook')
    const start = receiver.requests.length
    const result = await router.send(notification('sms', '+905321234567'))
    t.match(result, { provider: 'webhook', providerMessageId: /^gw-/ })
    t.equal(receiver.requests.length, start + 1)
    const error = await providerError(t, () => router.send(notification('email', 'ayse@example.com')))
    t.equal(error.code, 'connection-failed', 'e-mail went to the SMTP provider')
    t.equal(outbox.count(), 0)
  })

  t.test('channels without a configured provider fall back to the outbox', async (t) => {
    const outbox = createMemoryOutbox()
    const webhook = createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 5000 })
    const router = createProviderRouter([webhook], { fallback: createOutboxProvider(outbox) })
    t.equal(router.providerFor('whatsapp')?.name, 'outbox')
    t.equal(router.providerFor('email')?.name, 'outbox')
    const n = notification('email', 'ayse@example.com')
    t.same(await router.send(n), { providerMessageId: n.id, provider: 'outbox' })
    t.same(
      outbox.list().map((e) => [e.id, e.channel, e.provider]),
      [[n.id, 'email', 'outbox']],
    )
  })

  t.test('the first listed provider for a channel wins', async (t) => {
    const first = createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 5000, name: 'primary-sms' })
    const second = createWebhookProvider({ url: receiver.url, channels: ['sms', 'whatsapp'], timeoutMs: 5000, name: 'secondary' })
    const router = createProviderRouter([first, second])
    t.equal(router.providerFor('sms')?.name, 'primary-sms')
    t.equal(router.providerFor('whatsapp')?.name, 'secondary')
    t.equal(router.providerFor('email'), undefined)
    t.same([...router.channels].sort(), ['sms', 'whatsapp'])
  })

  t.test('without a fallback, an unserved channel is a non-retriable error', async (t) => {
    const router = createProviderRouter([createWebhookProvider({ url: receiver.url, channels: ['sms'], timeoutMs: 5000 })])
    const error = await providerError(t, () => router.send(notification('email', 'ayse@example.com')))
    t.equal(error.code, 'no-provider')
    t.equal(error.retriable, false)
    t.throws(() => createProviderRouter([]), ProviderConfigError)
  })

  t.test('close closes every provider once and reports failures', async (t) => {
    const closed: string[] = []
    const fake = (name: string, fail = false): NotificationProvider => ({
      name,
      channels: new Set(['sms']),
      send: async () => ({ providerMessageId: name }),
      close: async () => {
        closed.push(name)
        if (fail) throw new Error(`${name} would not close`)
      },
    })
    const shared = fake('shared')
    await createProviderRouter([shared, fake('other')], { fallback: shared }).close()
    t.same(closed.sort(), ['other', 'shared'])
    await t.rejects(createProviderRouter([fake('broken', true), fake('fine')]).close(), AggregateError)
  })
})
