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
  createSmtpMailer,
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
  MailMessage,
  SmtpMailer,
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
export { buildProviderRouter, notificationConfig, notifierSettings, providerConfigEntries, smtpSettings } from './config.ts'
export type { NotificationConfig, ProviderConfig } from './config.ts'

/** Supervisors: escalation notices and the daily digest of overdue cases, sent once through the ledger. */
export { SUPERVISOR_LEDGER_FILE, startSupervisorService } from './supervisor-service.ts'
export type { SupervisorService, SupervisorServiceOptions } from './supervisor-service.ts'
export { supervisorConfigEntries } from './supervisor-config.ts'
export { SUPERVISOR_NOTICES_GROUP, startSupervisorNotices, supervisorCaseLine } from './supervisor-notices.ts'
export type { SupervisorNotices, SupervisorNoticesOptions, SupervisorNoticesStatus } from './supervisor-notices.ts'
export { DEFAULT_DIGEST_TIME, DIGEST_PROJECTION_NAME, digestMessageId, istanbulClock, overdueByDepartment, startOverdueDigest } from './digest.ts'
export type { DigestRun, OverdueCase, OverdueDigest, OverdueDigestOptions } from './digest.ts'
export { dispatchToSupervisors, postSupervisorWebhook } from './supervisor-delivery.ts'
export type { DispatchResult, SupervisorChannels, SupervisorDispatch, SupervisorWebhookCase, SupervisorWebhookDocument } from './supervisor-delivery.ts'
export { SUPERVISOR_OUTCOMES, SUPERVISOR_TARGETS, SupervisorLedgerError, createMemoryLedger, openSqliteLedger } from './supervisor-ledger.ts'
export type { SupervisorLedger, SupervisorLedgerEntry, SupervisorOutcome, SupervisorTarget } from './supervisor-ledger.ts'
export { DIGEST_MAX_LINES, SUPERVISOR_NOTICE_KINDS, caseConsoleUrl, queueConsoleUrl, renderCaseNotice, renderDigest } from './supervisor-templates.ts'
export type { SupervisorCaseLine, SupervisorMessage, SupervisorNoticeKind } from './supervisor-templates.ts'
