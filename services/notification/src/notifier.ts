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
 */
import { setTimeout as delay } from 'node:timers/promises'
import {
  CaseEvent,
  CaseEventMessage,
  categoryByCode,
  departmentByCode,
  type CaseEventOf,
  type Catalogue,
  type NotificationTemplate,
} from '@civic-desk/contracts'
import { deriveEventId, evolve, executeOnCase, initialState, loadCase, type CaseState, type OpenCase } from '@civic-desk/case-domain'
import type { EventStore } from '@civic-desk/event-store'
import { NonRetriableError, TOPICS, type Bus, type BusMessage, type BusSubscription } from '@civic-desk/messaging'
import type { Logger } from '@civic-desk/service-kit'
import { sendWithRetry } from './delivery.ts'
import type { OutgoingNotification, ProviderRouter } from './providers.ts'
import { renderMessage, type Language, type NotificationChannel, type TemplateContext } from './templates.ts'

/** Which case events the citizen hears about, and with which template. */
export const TRIGGERS: { readonly [T in CaseEvent['type']]?: NotificationTemplate } = {
  CaseRouted: 'acknowledgement',
  CaseMarkedDuplicate: 'duplicate-linked',
  CitizenInfoRequested: 'info-requested',
  CaseResolved: 'resolved',
  CaseRejected: 'rejected',
  CaseEscalated: 'escalated',
}

export interface NotifierOptions {
  readonly store: EventStore
  readonly bus: Bus
  readonly catalogue: Catalogue
  readonly router: ProviderRouter
  readonly logger: Logger
  readonly now?: () => Date
  readonly groupId?: string
  /** Sends per message before `NotificationFailed`. Default 5. */
  readonly maxAttempts?: number
  /** First back-off between sends, doubling. Default 500 ms. */
  readonly backoffMs?: number
  readonly language?: Language
  readonly municipalityName?: string
  /** Base of the public status page; the tracking code is appended. */
  readonly statusUrlBase?: string
}

export interface NotifierStatus {
  readonly sent: number
  readonly failed: number
  readonly skipped: number
  readonly lastError: string | null
}

export interface Notifier {
  status(): NotifierStatus
  /** Stops consuming; a send in flight is abandoned uncommitted (it is redelivered, and providers dedupe by id). */
  stop(): Promise<void>
}

/** The address for a channel, or undefined when the citizen gave none. */
function addressFor(c: NonNullable<OpenCase['submission']['citizen']>, channel: NotificationChannel): string | undefined {
  return channel === 'email' ? c.email : c.phone
}

/**
 * Where to write: the preferred channel when its address is known; without a preference the
 * phone (SMS) before e-mail; `none` and anonymous cases get nothing.
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
    case 'CaseMarkedDuplicate':
      return { ...base, originalTrackingCode: event.data.duplicateOfTrackingCode }
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
  const { store, bus, catalogue, router, logger } = options
  const now = options.now ?? (() => new Date())
  const abort = new AbortController()
  let sent = 0
  let failed = 0
  let skipped = 0
  let lastError: string | null = null

  async function handle(message: BusMessage<CaseEventMessage>): Promise<void> {
    // Most case events tell the citizen nothing: skip them before the full schema check.
    if (!Object.hasOwn(TRIGGERS, message.value.event.type)) return
    const parsed = CaseEvent.safeParse(message.value.event)
    if (!parsed.success) throw new NonRetriableError(`not a valid case event: ${parsed.error.message}`)
    const event = parsed.data
    const template = TRIGGERS[event.type]
    if (template === undefined) return
    const caseId = message.key
    const loaded = await loadCase(store, caseId)
    if (loaded.state.status === 'none') throw new NonRetriableError(`case ${caseId} does not exist`)
    // The message tells what the case was at that event, not what it is now (a later transfer
    // must not change the department named in the acknowledgement).
    const atEvent = loaded.records.filter((r) => r.revision <= message.value.revision).reduce<CaseState>((s, r) => evolve(s, r.event), initialState())
    if (atEvent.status === 'none') throw new NonRetriableError(`case ${caseId} has no event at revision ${message.value.revision}`)
    const target = chooseChannel(atEvent)
    const log = logger.child({ caseId, eventId: event.eventId, template })
    if (target === null) {
      skipped++
      log.debug('no message: anonymous case or no contact wanted')
      return
    }
    const notificationId = deriveEventId(event.eventId, `notify:${target.channel}`)
    if (loaded.state.notifications.has(notificationId)) {
      skipped++
      return
    }
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
      sent++
      log.info({ channel: target.channel, provider }, 'citizen notified')
    } else {
      failed++
      lastError = outcome.error.message
      log.error({ channel: target.channel, provider, attempts: outcome.attempts, error: outcome.error }, 'notification failed after the last try')
    }
  }

  const subscription: BusSubscription = await bus.subscribe({
    topic: TOPICS.caseEvents,
    groupId: options.groupId ?? 'notification',
    fromBeginning: true,
    schema: CaseEventMessage,
    handler: async (message) => {
      try {
        await handle(message)
      } catch (error) {
        if (!(error instanceof NonRetriableError) && !abort.signal.aborted) lastError = error instanceof Error ? error.message : String(error)
        throw error
      }
    },
  })

  return {
    status: () => ({ sent, failed, skipped, lastError }),
    async stop() {
      abort.abort(new Error('notifier stopping'))
      await subscription.close()
      // Let an aborted send settle before the caller closes the providers.
      await delay(0)
    },
  }
}
