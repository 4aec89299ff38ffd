/**
 * Where rendered notifications go: the outbox (records, sends nothing; the default), an SMTP
 * server for e-mail, or an HTTP webhook of an SMS/WhatsApp gateway. Each provider reports a
 * failure as a `ProviderError` that says whether trying again later can help, and passes the
 * notification id on as an idempotency key so a retried send is not delivered twice.
 */
import nodemailer from 'nodemailer'
import type { OutgoingNotification } from './notification.ts'
import type { Outbox } from './outbox.ts'
import { NOTIFICATION_CHANNELS, type Language, type NotificationChannel, type TemplateName } from './templates.ts'

// Re-exported: the notifier and delivery name it from here.
export type { OutgoingNotification } from './notification.ts'

/** A way of delivering notifications on some channels. */
export interface NotificationProvider {
  /** Short name for logs and the outbox, e.g. "smtp". */
  readonly name: string
  readonly channels: ReadonlySet<NotificationChannel>
  /** Delivers one notification; rejects with `ProviderError`, or with the signal's reason when aborted. */
  send(notification: OutgoingNotification, signal?: AbortSignal): Promise<{ providerMessageId: string }>
  /** Releases connections; the provider is not used afterwards. */
  close(): Promise<void>
}

/** Options of `ProviderError`. */
export interface ProviderErrorOptions {
  /** Machine-readable reason, e.g. `smtp-550`, `http-503`, `timeout`, `connection-failed`. */
  readonly code: string
  /** Whether sending the same notification again later may succeed. */
  readonly retriable: boolean
  readonly cause?: unknown
}

/** A provider could not deliver a notification. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  readonly code: string
  readonly retriable: boolean
  constructor(message: string, options: ProviderErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code
    this.retriable = options.retriable
  }
}

/** Provider settings that cannot work (bad URL, no channels, …); thrown when the provider is created. */
export class ProviderConfigError extends Error {
  override readonly name = 'ProviderConfigError'
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function assertServes(provider: string, channels: ReadonlySet<NotificationChannel>, n: OutgoingNotification): void {
  // The id ends up in a Message-ID header and an Idempotency-Key: anything but a UUID is refused.
  if (!UUID.test(n.id)) throw new ProviderError(`notification id must be a UUID, got ${JSON.stringify(n.id)}`, { code: 'invalid-notification', retriable: false })
  if (!channels.has(n.channel)) throw new ProviderError(`provider ${provider} does not send ${n.channel}`, { code: 'unsupported-channel', retriable: false })
}

/** Whether the caller aborted; a call, so TypeScript does not keep an earlier check's narrowing across an await. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** The caller's abort, as the reason it gave (what fetch does too), so it is never mistaken for a provider failure. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError')
}

// ---------------------------------------------------------------------------------------------
// Outbox

/** Options of `createOutboxProvider`. */
export interface OutboxProviderOptions {
  /** Clock for `recordedAt`; default the system clock. */
  readonly now?: () => Date
}

/**
 * A provider that records each notification in the outbox and sends nothing; it serves every
 * channel. Recording the same id again is a no-op, and the send still succeeds.
 */
export function createOutboxProvider(outbox: Outbox, options: OutboxProviderOptions = {}): NotificationProvider {
  const now = options.now ?? (() => new Date())
  const channels: ReadonlySet<NotificationChannel> = new Set(NOTIFICATION_CHANNELS)
  return {
    name: 'outbox',
    channels,
    async send(n, signal) {
      if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
      assertServes('outbox', channels, n)
      await outbox.record({ ...n, provider: 'outbox', recordedAt: now().toISOString() })
      return { providerMessageId: n.id }
    },
    async close() {},
  }
}

// ---------------------------------------------------------------------------------------------
// SMTP

/** Settings of the SMTP provider. */
export interface SmtpProviderOptions {
  readonly host: string
  readonly port: number
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  readonly secure: boolean
  readonly user?: string
  readonly password?: string
  /** Sender, e.g. `"Kadıköy Belediyesi Beyaz Masa" <beyazmasa@kadikoy.bel.tr>`. */
  readonly from: string
  /** Limit for connecting, the greeting and each wait on the socket. */
  readonly timeoutMs: number
}

/** The domain part of the Message-ID of every notification e-mail. */
export const MESSAGE_ID_DOMAIN = 'civic-desk'

/** The Message-ID header of a notification: the same for every resend, so a receiving system can drop duplicates. */
export function messageIdFor(notificationId: string): string {
  return `<${notificationId}@${MESSAGE_ID_DOMAIN}>`
}

// One address, no display name, no list: the recipient comes from citizen data and must never
// be read as several addresses by the mailer's address parser.
const SINGLE_ADDRESS = /^[^\s@,;:<>()[\]"\\]+@[^\s@,;:<>()[\]"\\]+$/u

// Errors that carry no SMTP reply and that a later attempt cannot fix.
const PERMANENT_WITHOUT_REPLY = new Set(['ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'ENOAUTH', 'EFILEACCESS', 'EURLACCESS', 'EOTP'])

interface SmtpFailure {
  readonly code?: unknown
  readonly responseCode?: unknown
  readonly permanent?: unknown
  readonly originalCode?: unknown
  readonly response?: unknown
}

/** Maps a nodemailer error to a ProviderError. */
function smtpProviderError(error: unknown): ProviderError {
  const failure: SmtpFailure = typeof error === 'object' && error !== null ? error : {}
  const message = error instanceof Error ? error.message : String(error)
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : undefined
  const code = typeof failure.code === 'string' ? failure.code : undefined
  if (responseCode !== undefined && responseCode >= 400) {
    // nodemailer's own reading of the reply class (5xx permanent except 503, a session-state
    // error that a new connection clears); the plain 5xx rule when it has none.
    const permanent = typeof failure.permanent === 'boolean' ? failure.permanent : responseCode >= 500
    const response = typeof failure.response === 'string' ? failure.response : message
    return new ProviderError(`SMTP server replied ${response}`, { code: `smtp-${responseCode}`, retriable: !permanent, cause: error })
  }
  if (code === 'ETIMEDOUT') return new ProviderError(`SMTP timeout: ${message}`, { code: 'timeout', retriable: true, cause: error })
  if (code === 'ECONNECTION' || code === 'ESOCKET' || code === 'EDNS' || code === 'ETLS' || code === 'EPROXY') {
    const detail = typeof failure.originalCode === 'string' ? ` (${failure.originalCode})` : ''
    return new ProviderError(`SMTP connection failed${detail}: ${message}`, { code: 'connection-failed', retriable: true, cause: error })
  }
  if (code === 'EAUTH') return new ProviderError(`SMTP authentication failed: ${message}`, { code: 'auth-failed', retriable: false, cause: error })
  if (code !== undefined && PERMANENT_WITHOUT_REPLY.has(code)) {
    return new ProviderError(`SMTP send refused: ${message}`, { code: `smtp-${code.toLowerCase()}`, retriable: false, cause: error })
  }
  // Unknown failures are retried: a spurious retry costs a duplicate the Message-ID lets the receiver drop; a dropped notification is lost.
  return new ProviderError(`SMTP send failed: ${message}`, { code: 'smtp-error', retriable: true, cause: error })
}

/** One e-mail as the SMTP mailer sends it: plain text to a single address. */
export interface MailMessage {
  /** Stable id (a UUID): the Message-ID, so a receiving system can drop a resend. */
  readonly id: string
  readonly to: string
  readonly subject: string
  readonly text: string
}

/** Sends plain-text e-mail through an SMTP server; the citizen provider and the supervisors' notices share it. */
export interface SmtpMailer {
  /** Sends one message; rejects with `ProviderError`, or with the signal's reason when aborted. */
  send(mail: MailMessage, signal?: AbortSignal): Promise<{ providerMessageId: string }>
  close(): void
}

/**
 * An SMTP mailer (one connection per message). Every message carries `Message-ID: <id@civic-desk>`
 * and `X-Civic-Notification-Id: <id>`.
 */
export function createSmtpMailer(options: SmtpProviderOptions): SmtpMailer {
  if (options.host.trim() === '') throw new ProviderConfigError('SMTP host must not be empty')
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new ProviderConfigError(`SMTP port must be 1-65535, got ${options.port}`)
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new ProviderConfigError(`SMTP timeoutMs must be a positive integer, got ${options.timeoutMs}`)
  if ((options.user === undefined) !== (options.password === undefined)) throw new ProviderConfigError('SMTP user and password must be given together')
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    ...(options.user !== undefined && options.password !== undefined ? { auth: { user: options.user, pass: options.password } } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    dnsTimeout: options.timeoutMs,
    // Notifications are plain text: nothing may make the mailer read files or fetch URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
  })
  return {
    async send(m, signal) {
      if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
      if (!UUID.test(m.id)) throw new ProviderError(`notification id must be a UUID, got ${JSON.stringify(m.id)}`, { code: 'invalid-notification', retriable: false })
      if (!SINGLE_ADDRESS.test(m.to)) throw new ProviderError('recipient is not a single e-mail address', { code: 'invalid-recipient', retriable: false })
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: m.to,
          envelope: { from: options.from, to: [m.to] },
          subject: m.subject,
          text: m.text,
          messageId: messageIdFor(m.id),
          headers: { 'X-Civic-Notification-Id': m.id },
          ...(signal === undefined ? {} : { signal }),
        })
        // Some servers (Microsoft 365, SES) replace the Message-ID; theirs is the one to look for later.
        return { providerMessageId: info.serverMessageId ?? info.messageId }
      } catch (error) {
        if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
        throw smtpProviderError(error)
      }
    },
    close() {
      transport.close()
    },
  }
}

/** A provider that sends citizens' e-mail through an SMTP server (see `createSmtpMailer`). */
export function createSmtpProvider(options: SmtpProviderOptions): NotificationProvider {
  const mailer = createSmtpMailer(options)
  const channels: ReadonlySet<NotificationChannel> = new Set<NotificationChannel>(['email'])
  return {
    name: 'smtp',
    channels,
    async send(n, signal) {
      if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
      assertServes('smtp', channels, n)
      return mailer.send(n, signal)
    },
    async close() {
      mailer.close()
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Webhook

/** Settings of the webhook provider. */
export interface WebhookProviderOptions {
  /** The gateway's endpoint; http(s) only. */
  readonly url: string
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  readonly channels: readonly NotificationChannel[]
  /** Limit for the whole exchange, response body included. */
  readonly timeoutMs: number
  /** Name in logs and results; default "webhook". */
  readonly name?: string
}

/** The JSON body posted to a webhook gateway. */
export interface WebhookPayload {
  readonly id: string
  readonly channel: NotificationChannel
  readonly to: string
  readonly text: string
  readonly caseId: string
  readonly trackingCode: string
  readonly template: TemplateName
  readonly language: Language
}

// How much of an error response goes into the error message: enough to diagnose, not a whole page.
const ERROR_BODY_CHARS = 300

function messageIdFromBody(body: string): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  for (const key of ['id', 'messageId'] as const) {
    const value: unknown = (parsed as Record<string, unknown>)[key]
    if (typeof value === 'string' && value !== '') return value
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  }
  return undefined
}

function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * A provider that POSTs each notification as JSON to an SMS/WhatsApp gateway, with
 * `Idempotency-Key: <id>`. 2xx is success; 408, 429, 5xx, network failures and timeouts are
 * retriable; other statuses (4xx, and redirects, which are not followed) are not.
 */
export function createWebhookProvider(options: WebhookProviderOptions): NotificationProvider {
  let url: URL
  try {
    url = new URL(options.url)
  } catch (error) {
    throw new ProviderConfigError(`webhook url is not a URL: ${JSON.stringify(options.url)}`, { cause: error })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderConfigError(`webhook url must be http(s), got ${url.protocol}`)
  if (options.channels.length === 0) throw new ProviderConfigError('webhook provider needs at least one channel')
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) throw new ProviderConfigError(`webhook timeoutMs must be a positive integer, got ${options.timeoutMs}`)
  const name = options.name ?? 'webhook'
  const channels: ReadonlySet<NotificationChannel> = new Set(options.channels)
  const endpoint = url.href
  // Errors name the host, not the whole URL: a gateway URL may carry a key in its query.
  const where = `webhook ${url.host}`
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' }
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`

  return {
    name,
    channels,
    async send(n, signal) {
      if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
      assertServes(name, channels, n)
      const payload: WebhookPayload = {
        id: n.id,
        channel: n.channel,
        to: n.to,
        text: n.text,
        caseId: n.caseId,
        trackingCode: n.trackingCode,
        template: n.template,
        language: n.language,
      }
      const timeout = AbortSignal.timeout(options.timeoutMs)
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
      let status: number
      let body: string
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': n.id },
          body: JSON.stringify(payload),
          redirect: 'manual',
          signal: combined,
        })
        status = response.status
        body = await response.text()
      } catch (error) {
        if (signal !== undefined && isAborted(signal)) throw abortReason(signal)
        if (timeout.aborted) {
          throw new ProviderError(`${where} did not answer within ${options.timeoutMs} ms`, { code: 'timeout', retriable: true, cause: error })
        }
        const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
        throw new ProviderError(`${where} request failed${cause}`, { code: 'network-error', retriable: true, cause: error })
      }
      if (status >= 200 && status < 300) return { providerMessageId: messageIdFromBody(body) ?? n.id }
      const snippet = body.length > ERROR_BODY_CHARS ? `${body.slice(0, ERROR_BODY_CHARS)}…` : body
      throw new ProviderError(`${where} answered ${status}${snippet === '' ? '' : `: ${snippet}`}`, {
        code: `http-${status}`,
        retriable: isRetriableStatus(status),
      })
    },
    async close() {},
  }
}

// ---------------------------------------------------------------------------------------------
// Router

/** A provider that hands each notification to the provider configured for its channel. */
export interface ProviderRouter extends NotificationProvider {
  /** The provider that sends `channel`, or `undefined` when none does. */
  providerFor(channel: NotificationChannel): NotificationProvider | undefined
  /** Like `NotificationProvider.send`, plus the name of the provider that took the notification. */
  send(notification: OutgoingNotification, signal?: AbortSignal): Promise<{ providerMessageId: string; provider: string }>
}

/** Options of `createProviderRouter`. */
export interface ProviderRouterOptions {
  /** Takes every channel no listed provider serves, typically the outbox provider. */
  readonly fallback?: NotificationProvider
}

/**
 * Routes by channel: the first provider in `providers` that serves the channel, else the fallback.
 * "SMTP for e-mail, webhook for SMS and WhatsApp, outbox for the rest" is
 * `createProviderRouter([smtp, webhook], { fallback: outboxProvider })`. A channel nobody serves
 * fails with a non-retriable `no-provider` error. `close` closes every provider once.
 */
export function createProviderRouter(providers: readonly NotificationProvider[], options: ProviderRouterOptions = {}): ProviderRouter {
  const { fallback } = options
  const all = [...new Set([...providers, ...(fallback === undefined ? [] : [fallback])])]
  if (all.length === 0) throw new ProviderConfigError('the provider router needs at least one provider')
  const routes = new Map<NotificationChannel, NotificationProvider>()
  for (const channel of NOTIFICATION_CHANNELS) {
    const chosen = providers.find((p) => p.channels.has(channel)) ?? (fallback?.channels.has(channel) === true ? fallback : undefined)
    if (chosen !== undefined) routes.set(channel, chosen)
  }
  return {
    name: 'router',
    channels: new Set(routes.keys()),
    providerFor: (channel) => routes.get(channel),
    async send(n, signal) {
      const provider = routes.get(n.channel)
      if (provider === undefined) throw new ProviderError(`no provider is configured for ${n.channel}`, { code: 'no-provider', retriable: false })
      const { providerMessageId } = await provider.send(n, signal)
      return { providerMessageId, provider: provider.name }
    },
    async close() {
      const results = await Promise.allSettled(all.map((p) => p.close()))
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r): unknown => r.reason)
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} notification provider(s) failed to close`)
    },
  }
}
