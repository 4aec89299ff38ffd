/**
 * Sending one supervisors' message to each of a directorate's contacts, once: the ledger is read
 * before each send and written after it, the id goes along as the e-mail's Message-ID and the
 * webhook's Idempotency-Key (which covers a crash between the two), and transient failures are
 * retried on the project's retry policy (`retrying` from the case feed), like citizens' messages.
 */
import { retrying } from '@civic-desk/case-feed'
import type { SupervisorContact } from '@civic-desk/contracts'
import type { Logger } from '@civic-desk/service-kit'
import { AbortError, MAX_BACKOFF_MS } from './delivery.ts'
import { ProviderError, isAborted, type SmtpMailer } from './providers.ts'
import type { SupervisorLedger, SupervisorLedgerEntry, SupervisorTarget } from './supervisor-ledger.ts'
import type { SupervisorCaseLine, SupervisorMessage, SupervisorNoticeKind } from './supervisor-templates.ts'

/** How supervisors' messages leave. */
export interface SupervisorChannels {
  /** The SMTP mailer; without one, e-mails are kept in the ledger only (nothing leaves the machine). */
  readonly mailer?: SmtpMailer
  /** Sent to every directorate's webhook as `Authorization: Bearer <token>`. */
  readonly webhookToken?: string
  /** Limit of one send. */
  readonly timeoutMs: number
  /** Sends per message before it is recorded as failed. */
  readonly maxAttempts: number
  /** First wait between sends, doubling up to `MAX_BACKOFF_MS`. */
  readonly backoffMs: number
}

/** One case in the webhook's JSON document. */
export interface SupervisorWebhookCase {
  readonly trackingCode: string
  readonly category: string | null
  readonly categoryNameTr: string | null
  readonly dueAt: string
  readonly escalated: boolean
  readonly consoleUrl: string | null
}

/** The JSON document POSTed to a directorate's webhook (a chat or SMS gateway). */
export interface SupervisorWebhookDocument {
  /** The message id; also the `Idempotency-Key` header. */
  readonly id: string
  readonly kind: SupervisorNoticeKind
  readonly department: { readonly code: string; readonly nameTr: string }
  readonly subject: string
  /** The whole message as plain text, for gateways that only forward text. */
  readonly text: string
  readonly cases: readonly SupervisorWebhookCase[]
  /** Istanbul date of a digest (`YYYY-MM-DD`), null for a case notice. */
  readonly digestDate: string | null
}

/** One message for one directorate, ready for its contacts. */
export interface SupervisorDispatch {
  readonly kind: SupervisorNoticeKind
  readonly department: string
  readonly departmentNameTr: string
  readonly contact: SupervisorContact
  readonly message: SupervisorMessage
  readonly lines: readonly SupervisorCaseLine[]
  readonly caseId: string | null
  readonly digestDate: string | null
  /** The message's deterministic id for a target. */
  readonly idFor: (target: SupervisorTarget) => string
}

/** What a dispatch did, per contact. */
export interface DispatchResult {
  readonly sent: number
  readonly kept: number
  readonly failed: number
  /** Contacts already served by an earlier run (redelivery, restart). */
  readonly already: number
}

// How much of an error response goes into the ledger: enough to diagnose, not a whole page.
const ERROR_BODY_CHARS = 300

/** POSTs the document to the webhook; a `ProviderError` says whether another try may help. */
export async function postSupervisorWebhook(url: string, document: SupervisorWebhookDocument, options: { readonly token?: string; readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<{ providerMessageId: string }> {
  const where = `webhook ${new URL(url).host}`
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
  let status: number
  let body: string
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
        'idempotency-key': document.id,
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      body: JSON.stringify(document),
      redirect: 'manual',
      signal,
    })
    status = response.status
    body = await response.text()
  } catch (error) {
    if (options.signal !== undefined && isAborted(options.signal)) throw new AbortError(options.signal.reason)
    if (timeout.aborted) throw new ProviderError(`${where} did not answer within ${options.timeoutMs} ms`, { code: 'timeout', retriable: true, cause: error })
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
    throw new ProviderError(`${where} request failed${cause}`, { code: 'network-error', retriable: true, cause: error })
  }
  if (status >= 200 && status < 300) return { providerMessageId: document.id }
  const snippet = body.length > ERROR_BODY_CHARS ? `${body.slice(0, ERROR_BODY_CHARS)}…` : body
  throw new ProviderError(`${where} answered ${status}${snippet === '' ? '' : `: ${snippet}`}`, {
    code: `http-${status}`,
    retriable: status === 408 || status === 429 || status >= 500,
  })
}

function webhookDocument(d: SupervisorDispatch, id: string): SupervisorWebhookDocument {
  return {
    id,
    kind: d.kind,
    department: { code: d.department, nameTr: d.departmentNameTr },
    subject: d.message.subject,
    text: d.message.text,
    cases: d.lines.map((l) => ({
      trackingCode: l.trackingCode,
      category: l.category ?? null,
      categoryNameTr: l.categoryNameTr ?? null,
      dueAt: l.dueAt,
      escalated: l.escalated,
      consoleUrl: l.consoleUrl ?? null,
    })),
    digestDate: d.digestDate,
  }
}

/**
 * Sends the message to each contact of the directorate that has not had it yet and records the
 * outcome in the ledger. A failure after the last try is recorded too (and logged): the message is
 * not sent again on its own. Rejects with `AbortError` when `signal` stops it (nothing is recorded,
 * so the work is redone after the restart).
 */
export async function dispatchToSupervisors(
  d: SupervisorDispatch,
  deps: { readonly ledger: SupervisorLedger; readonly channels: SupervisorChannels; readonly now: () => Date; readonly logger: Logger; readonly signal?: AbortSignal },
): Promise<DispatchResult> {
  const { ledger, channels, signal } = deps
  const result = { sent: 0, kept: 0, failed: 0, already: 0 }
  // `send` null: no server for that target, the ledger keeps the message (like the citizens' outbox).
  const targets: Array<{ target: SupervisorTarget; recipient: string; send: ((id: string, s: AbortSignal | undefined) => Promise<{ providerMessageId: string }>) | null }> = []
  const { email, webhook } = d.contact
  if (email !== undefined) {
    const { mailer } = channels
    targets.push(
      mailer === undefined
        ? { target: 'email', recipient: email, send: null }
        : { target: 'email', recipient: email, send: (id, s) => mailer.send({ id, to: email, subject: d.message.subject, text: d.message.text }, s) },
    )
  }
  if (webhook !== undefined) {
    targets.push({
      target: 'webhook',
      recipient: new URL(webhook).host,
      send: (id, s) => postSupervisorWebhook(webhook, webhookDocument(d, id), { timeoutMs: channels.timeoutMs, ...(channels.webhookToken === undefined ? {} : { token: channels.webhookToken }), ...(s === undefined ? {} : { signal: s }) }),
    })
  }
  for (const t of targets) {
    const id = d.idFor(t.target)
    if (ledger.has(id)) {
      result.already++
      continue
    }
    const log = deps.logger.child({ notificationId: id, department: d.department, kind: d.kind, target: t.target })
    const base: Omit<SupervisorLedgerEntry, 'outcome' | 'attempts' | 'providerMessageId' | 'error' | 'recordedAt'> = {
      id,
      kind: d.kind,
      department: d.department,
      target: t.target,
      recipient: t.recipient,
      subject: d.message.subject,
      text: d.message.text,
      caseId: d.caseId,
      digestDate: d.digestDate,
    }
    if (t.send === null) {
      ledger.record({ ...base, outcome: 'kept', attempts: 0, providerMessageId: null, error: null, recordedAt: deps.now().toISOString() })
      result.kept++
      continue
    }
    const send = t.send
    let attempts = 0
    try {
      const { providerMessageId } = await retrying(
        async () => {
          if (signal !== undefined && isAborted(signal)) throw new AbortError(signal.reason)
          attempts++
          try {
            return await send(id, signal)
          } catch (error) {
            if (signal !== undefined && isAborted(signal)) throw new AbortError(signal.reason)
            throw error
          }
        },
        {
          attempts: channels.maxAttempts,
          minTimeoutMs: channels.backoffMs,
          maxTimeoutMs: MAX_BACKOFF_MS,
          signal,
          // Unknown errors are retried: a duplicate the receiver can drop by id beats a lost escalation.
          shouldRetry: (error) => !(error instanceof AbortError) && (!(error instanceof ProviderError) || error.retriable),
          onFailedAttempt: (error, attempt, retryInMs) => {
            if (error instanceof AbortError) return
            log.warn({ attempt, maxAttempts: channels.maxAttempts, retryInMs, code: error instanceof ProviderError ? error.code : 'error', error: error.message }, 'supervisors message: a send failed')
          },
        },
      )
      ledger.record({ ...base, outcome: 'sent', attempts, providerMessageId: providerMessageId.slice(0, 500), error: null, recordedAt: deps.now().toISOString() })
      log.info({ attempts }, 'supervisors told')
      result.sent++
    } catch (error) {
      if (error instanceof AbortError) throw error
      if (signal !== undefined && isAborted(signal)) throw new AbortError(signal.reason)
      const message = error instanceof Error ? error.message : String(error)
      ledger.record({ ...base, outcome: 'failed', attempts, providerMessageId: null, error: message.slice(0, 2000), recordedAt: deps.now().toISOString() })
      log.error({ attempts, error: message }, 'supervisors message failed after the last try')
      result.failed++
    }
  }
  return result
}
