/**
 * What a notification is, between the notifier that renders it, the providers that send it and
 * the outbox that keeps it.
 */
import type { Language, NotificationChannel, TemplateName } from './templates.ts'

/** One rendered message for one recipient, ready to hand to a provider. */
export interface OutgoingNotification {
  /** Stable idempotency key (a UUID): the same notification keeps its id across retries and restarts. */
  readonly id: string
  readonly channel: NotificationChannel
  /** E-mail address or phone number, depending on the channel. */
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly caseId: string
  readonly trackingCode: string
  readonly template: TemplateName
  readonly language: Language
}
