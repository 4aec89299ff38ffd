/**
 * The notification process: reacts to case events on the bus with one message to the citizen per
 * (event, channel), sent through the configured provider and recorded on the case as
 * `CitizenNotified` or, after the last failed try, `NotificationFailed`.
 *
 * "Never two messages" rests on three things: the notification id is derived from the source
 * event and channel; a case that already records that id is skipped (redelivery, restart); and
 * every provider passes the id on as an idempotency key (outbox unique key, SMTP Message-ID,
 * webhook Idempotency-Key), which covers the one window left — a crash after the provider took
 * the message and before the case recorded it.
 *
 * A different event can still produce the very same message: a case resolved, reopened and
 * resolved again with the same answer. Within the quiet period a message whose template,
 * channel and content (subject and text, hashed) equal one the case already sent is not sent
 * again. Every message names the case's tracking code, so identical content only ever comes from
 * one case: the case's own records are the complete list to compare with, whichever provider sent
 * them and however many notifier replicas run.
 */
import { createHash } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import {
  categoryByCode,
  departmentByCode,
  isEmailAddress,
  normalizePhone,
  type CaseEvent,
  type CaseEventType,
  type Catalogue,
  type NotificationTemplate,
} from '@civic-desk/contracts'
import { deriveEventId, evolve, initialState, type CaseState, type OpenCase } from '@civic-desk/case-domain'
import { executeOnCase, loadCase, type CaseFeed, type CaseFeedEvent, type Consumer } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { NonRetriableError } from '@civic-desk/messaging'
import { processMetrics, type Logger } from '@civic-desk/service-kit'
import { sendWithRetry } from './delivery.ts'
import type { OutgoingNotification, ProviderRouter } from './providers.ts'
import type { Outbox } from './outbox.ts'
import { renderMessage, type Language, type NotificationChannel, type TemplateContext } from './templates.ts'

/** Which case events the citizen hears about, and with which template. */
export const TRIGGERS: { readonly [T in CaseEvent['type']]?: NotificationTemplate } = {
  CaseRouted: 'acknowledgement',
  CaseMarkedDuplicate: 'duplicate-linked',
  // Linked by mistake, the citizen only heard "linked to another request": now the acknowledgement, with its own due date.
  CaseDuplicateUnlinked: 'acknowledgement',
  CitizenInfoRequested: 'info-requested',
  CaseResolved: 'resolved',
  CaseRejected: 'rejected',
  CaseEscalated: 'escalated',
}

export interface NotifierOptions {
  /** Where the case events come from. */
  readonly feed: CaseFeed
  /** Where the case is read and the message recorded. */
  readonly store: EventStore
  readonly catalogue: Catalogue
  readonly router: ProviderRouter
  readonly logger: Logger
  readonly now?: () => Date
  readonly groupId?: string
  /** The message store whose rendered messages are forgotten when a case's personal data is erased. */
  readonly outbox?: Pick<Outbox, 'forgetCase'>
  /** Sends per message before `NotificationFailed`. Default 5. */
  readonly maxAttempts?: number
  /** First back-off between sends, doubling. Default 500 ms. */
  readonly backoffMs?: number
  readonly language?: Language
  readonly municipalityName?: string
  /** Base of the public status page; the tracking code is appended. */
  readonly statusUrlBase?: string
  /**
   * A message equal to one the case was sent less than this long ago (same template, channel and
   * content) is not sent again. 0 turns the check off. Default `DEFAULT_QUIET_PERIOD_MS` (24 h).
   */
  readonly quietPeriodMs?: number
}

/** Default of `NotifierOptions.quietPeriodMs`: one day. */
export const DEFAULT_QUIET_PERIOD_MS = 24 * 3_600_000

/** What the quiet period compares: SHA-256 (hex) of the rendered subject and text. */
export function contentHashOf(message: { readonly subject: string; readonly text: string }): string {
  return createHash('sha256').update(message.subject).update('\0').update(message.text).digest('hex')
}

export interface NotifierStatus {
  readonly sent: number
  readonly failed: number
  /** Events that needed no message: no contact, already sent, or the same message within the quiet period. */
  readonly skipped: number
  readonly lastError: string | null
}

export interface Notifier {
  status(): NotifierStatus
  /** Stops consuming; a send in flight is abandoned uncommitted (it is redelivered, and providers dedupe by id). */
  stop(): Promise<void>
}

/**
 * The address for a channel, or undefined when the citizen gave none that can be reached. Intake
 * refuses numbers and addresses that are not real, but cases recorded before it did keep what was
 * typed ("-------"): a message to those would only fail at the gateway, or reach a stranger.
 */
function addressFor(c: NonNullable<OpenCase['submission']['citizen']>, channel: NotificationChannel): string | undefined {
  if (channel === 'email') return c.email !== undefined && isEmailAddress(c.email) ? c.email : undefined
  return c.phone !== undefined && normalizePhone(c.phone) !== undefined ? c.phone : undefined
}

/**
 * Where to write: the preferred channel when its address is known and valid; without a preference
 * the phone (SMS) before e-mail; `none`, anonymous cases and citizens without a valid address get
 * nothing.
 */
export function chooseChannel(state: OpenCase): { channel: NotificationChannel; to: string } | null {
  const citizen = state.submission.citizen
  if (citizen === undefined || citizen.preferredChannel === 'none') return null
  const order: NotificationChannel[] = citizen.preferredChannel === undefined ? ['sms', 'email'] : [citizen.preferredChannel, 'sms', 'email']
  for (const channel of order) {
    const to = addressFor(citizen, channel)
    if (to !== undefined) return { channel, to }
  }
  return null
}

/** Hides most of an address in the case record: the full one stays only in the (erasable) submission. */
export function maskAddress(to: string, channel: NotificationChannel): string {
  if (channel === 'email') {
    const [local = '', domain = ''] = to.split('@')
    return `${local.slice(0, 1)}***@${domain}`
  }
  const digits = to.replace(/\D/g, '')
  return `${to.trim().startsWith('+') ? '+' : ''}${digits.slice(0, 2)}${'*'.repeat(Math.max(0, digits.length - 4))}${digits.slice(-2)}`
}

function templateContext(
  event: CaseEvent,
  state: OpenCase,
  catalogue: Catalogue,
  statusUrlBase: string | undefined,
): TemplateContext {
  const department = state.department === null ? undefined : departmentByCode(catalogue, state.department)
  const category = state.category === null ? undefined : categoryByCode(catalogue, state.category)
  const name = state.submission.citizen?.name
  const base: TemplateContext = {
    trackingCode: state.trackingCode,
    departmentNameTr: department?.nameTr ?? 'Belediyemiz',
    departmentNameEn: department?.nameEn ?? 'the municipality',
    ...(name === undefined ? {} : { citizenName: name }),
    ...(category === undefined ? {} : { categoryNameTr: category.nameTr, categoryNameEn: category.nameEn }),
    ...(state.expectedBy === null ? {} : { expectedBy: state.expectedBy }),
    ...(statusUrlBase === undefined ? {} : { statusUrl: `${statusUrlBase}${encodeURIComponent(state.trackingCode)}` }),
  }
  switch (event.type) {
    case 'CitizenInfoRequested':
      return { ...base, question: event.data.question }
    case 'CaseResolved':
      return { ...base, resolution: event.data.resolution }
    case 'CaseRejected':
      return { ...base, reason: event.data.reason }
    default:
      return base
  }
}

/** Starts consuming case events in the `notification` group. */
export async function startNotifier(options: NotifierOptions): Promise<Notifier> {
  const { store, feed, catalogue, router, logger } = options
  const now = options.now ?? (() => new Date())
  const quietPeriodMs = options.quietPeriodMs ?? DEFAULT_QUIET_PERIOD_MS
  if (!Number.isFinite(quietPeriodMs) || quietPeriodMs < 0) throw new RangeError(`quietPeriodMs must be a number >= 0, got ${quietPeriodMs}`)
  const abort = new AbortController()
  /** The last delivery that failed after its last try (a recorded outcome, not a failure of the handler). */
  let failure: string | null = null

  async function handle({ caseId, revision, event }: CaseFeedEvent): Promise<'sent' | 'failed' | 'skipped' | 'forgotten'> {
    if (event.type === 'PersonalDataErased') {
      // The messages already rendered for the person go too; nothing new is sent (no address is left).
      const forgotten = options.outbox?.forgetCase(caseId) ?? 0
      logger.info({ caseId, destructionId: event.data.destructionId, messages: forgotten }, 'personal data erased: the outbox forgot the messages of the case')
      return 'forgotten'
    }
    const template = TRIGGERS[event.type]
    if (template === undefined) return 'skipped'
    const loaded = await loadCase(store, caseId)
    if (loaded.state.status === 'none') throw new NonRetriableError(`case ${caseId} does not exist`)
    // The person asked to be forgotten (or the retention ran out): nothing more goes to them, even
    // for an event from before the erasure that is handled only now.
    if (loaded.state.personalDataErasedAt !== null) return 'skipped'
    // The message tells what the case was at that event, not what it is now (a later transfer
    // must not change the department named in the acknowledgement).
    const atEvent = loaded.records.filter((r) => r.revision <= revision).reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
    if (atEvent.status === 'none') throw new NonRetriableError(`case ${caseId} has no event at revision ${revision}`)
    const target = chooseChannel(atEvent)
    const log = logger.child({ caseId, eventId: event.eventId, template })
    if (target === null) {
      log.debug('no message: anonymous case or no contact wanted')
      return 'skipped'
    }
    const notificationId = deriveEventId(event.eventId, `notify:${target.channel}`)
    if (loaded.state.notifications.has(notificationId)) return 'skipped'
    const rendered = renderMessage(template, templateContext(event, atEvent, catalogue, options.statusUrlBase), {
      channel: target.channel,
      language: options.language ?? 'tr',
      ...(options.municipalityName === undefined ? {} : { municipalityName: options.municipalityName }),
    })
    const notification: OutgoingNotification = {
      id: notificationId,
      channel: target.channel,
      to: target.to,
      subject: rendered.subject,
      text: rendered.text,
      caseId,
      trackingCode: atEvent.trackingCode,
      template,
      language: rendered.language,
    }
    const contentHash = contentHashOf(rendered)
    if (quietPeriodMs > 0) {
      const since = now().getTime() - quietPeriodMs
      const same = loaded.records.find(
        ({ event: e }) =>
          e.type === 'CitizenNotified' &&
          e.data.template === template &&
          e.data.channel === target.channel &&
          e.data.contentHash === contentHash &&
          Date.parse(e.occurredAt) > since,
      )
      if (same !== undefined) {
        log.info({ channel: target.channel, sentAt: same.event.occurredAt, quietPeriodMs }, 'same message already sent within the quiet period; not sent again')
        return 'skipped'
      }
    }
    const provider = router.providerFor(target.channel)?.name ?? 'none'
    const outcome = await sendWithRetry(router, notification, {
      maxAttempts: options.maxAttempts ?? 5,
      backoffMs: options.backoffMs ?? 500,
      signal: abort.signal,
      logger: log,
    })
    const common = {
      notificationId,
      sourceEventId: event.eventId,
      template,
      channel: target.channel,
      provider,
      to: maskAddress(target.to, target.channel),
      contentHash,
    }
    const meta = {
      eventId: deriveEventId(notificationId, 'recorded'),
      occurredAt: now().toISOString(),
      actor: { kind: 'service' as const, id: 'notification' },
      correlationId: event.correlationId,
      causationId: event.eventId,
    }
    await executeOnCase(store, caseId, () =>
      outcome.ok
        ? { type: 'RecordNotification', meta, data: { ...common, providerMessageId: outcome.providerMessageId.slice(0, 500), attempts: outcome.attempts } }
        : { type: 'RecordNotificationFailure', meta, data: { ...common, attempts: outcome.attempts, error: { code: outcome.error.code, message: outcome.error.message.slice(0, 2000) } } },
      // Decided on the stream read above; if someone appended since, the revision check re-reads it.
      { loaded },
    )
    if (outcome.ok) {
      log.info({ channel: target.channel, provider }, 'citizen notified')
      processMetrics()?.notificationsSent.inc({ channel: target.channel, provider })
      return 'sent'
    }
    processMetrics()?.notificationsFailed.inc({ channel: target.channel, provider })
    failure = outcome.error.message
    log.error({ channel: target.channel, provider, attempts: outcome.attempts, error: outcome.error }, 'notification failed after the last try')
    return 'failed'
  }

  const consumer: Consumer = await feed.consume({
    groupId: options.groupId ?? 'notification',
    // Most case events tell the citizen nothing: they pass without being decoded.
    types: new Set([...(Object.keys(TRIGGERS) as CaseEventType[]), 'PersonalDataErased']),
    handle,
  })

  return {
    status() {
      const { outcomes, lastError } = consumer.status()
      return { sent: outcomes['sent'] ?? 0, failed: outcomes['failed'] ?? 0, skipped: outcomes['skipped'] ?? 0, lastError: lastError ?? failure }
    },
    async stop() {
      abort.abort(new Error('notifier stopping'))
      await consumer.stop()
      // Let an aborted send settle before the caller closes the providers.
      await delay(0)
    },
  }
}
