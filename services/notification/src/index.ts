/**
 * @civic-desk/notification — tells citizens what happened to their request: message templates
 * (Turkish first, English fallback), delivery providers (outbox, SMTP, SMS/WhatsApp webhook),
 * the outbox store, and sending with retries. The case-event handler builds on these.
 */
/** Citizen message templates and their rendering. */
export {
  DEFAULT_MUNICIPALITY_NAME,
  LANGUAGES,
  NOTIFICATION_CHANNELS,
  SMS_MAX_LENGTH,
  TEMPLATE_NAMES,
  TemplateError,
  WHATSAPP_MAX_LENGTH,
  formatInstant,
  renderMessage,
  truncateText,
} from './templates.ts'
export type { Language, NotificationChannel, RenderOptions, RenderedMessage, TemplateContext, TemplateName } from './templates.ts'
/** One rendered message for one recipient. */
export type { OutgoingNotification } from './notification.ts'
/** Delivery providers, their errors, and routing by channel. */
export {
  MESSAGE_ID_DOMAIN,
  ProviderConfigError,
  ProviderError,
  createOutboxProvider,
  createProviderRouter,
  createSmtpProvider,
  createWebhookProvider,
  messageIdFor,
} from './providers.ts'
export type {
  NotificationProvider,
  OutboxProviderOptions,
  ProviderErrorOptions,
  ProviderRouter,
  ProviderRouterOptions,
  SmtpProviderOptions,
  WebhookPayload,
  WebhookProviderOptions,
} from './providers.ts'
/** The outbox store: in memory or in a SQLite file, idempotent by notification id. */
export { DEFAULT_OUTBOX_PAGE, MAX_OUTBOX_PAGE, OutboxClosedError, OutboxStoreError, createMemoryOutbox, openSqliteOutbox } from './outbox.ts'
export type { Outbox, OutboxEntry, OutboxFilter, OutboxRecord, SqliteOutboxOptions } from './outbox.ts'
/** Sending one notification with retries and back-off. */
export { AbortError, DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, MAX_BACKOFF_MS, backoffDelay, sendWithRetry } from './delivery.ts'
export type { DeliveryFailure, DeliveryLogger, DeliveryResult, SendWithRetryOptions } from './delivery.ts'

/** The notification process: case events → one message per (event, channel), recorded on the case. */
export { DEFAULT_QUIET_PERIOD_MS, TRIGGERS, chooseChannel, contentHashOf, maskAddress, startNotifier } from './notifier.ts'
export type { Notifier, NotifierOptions, NotifierStatus } from './notifier.ts'
export { buildNotificationApp, registerNotificationRoutes } from './app.ts'
export type { NotificationAppDeps } from './app.ts'
export { buildProviderRouter, notificationConfig, notifierSettings, providerConfigEntries } from './config.ts'
export type { NotificationConfig, ProviderConfig } from './config.ts'
