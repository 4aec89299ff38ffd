import { z } from 'zod'
import { defaultCatalogueFile, defineConfig, logLevelSchema, type ConfigOf, distributedConfigEntries, httpConfigEntries } from '@civic-desk/service-kit'
import type { NotifierOptions } from './notifier.ts'
import { supervisorConfigEntries } from './supervisor-config.ts'
import type { Outbox } from './outbox.ts'
import { createOutboxProvider, createProviderRouter, createSmtpProvider, createWebhookProvider, type NotificationProvider, type ProviderRouter, type SmtpProviderOptions } from './providers.ts'

const optionalUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()

/**
 * Provider settings, shared by the notification process and standalone mode. Nothing set = the
 * outbox only: messages are recorded in CIVIC_DATA_DIR/outbox.sqlite and nothing leaves the machine.
 */
export const providerConfigEntries = {
  smtpUrl: {
    env: 'CIVIC_SMTP_URL',
    schema: z.url({ protocol: /^smtps?$/, error: 'must look like smtp://user:password@host:587 or smtps://host:465' }).optional(),
    doc: 'SMTP server for e-mail to citizens (smtp:// with STARTTLS, smtps:// with TLS); unset = e-mail goes to the outbox',
    secret: true,
  },
  smtpFrom: { env: 'CIVIC_SMTP_FROM', schema: z.string().min(3).default('Beyaz Masa <beyazmasa@localhost>'), doc: 'Sender of citizen e-mails' },
  smsWebhookUrl: { env: 'CIVIC_SMS_WEBHOOK_URL', schema: optionalUrl, doc: 'HTTP endpoint of the SMS gateway (POST JSON, Idempotency-Key header); unset = SMS goes to the outbox' },
  whatsappWebhookUrl: { env: 'CIVIC_WHATSAPP_WEBHOOK_URL', schema: optionalUrl, doc: 'HTTP endpoint of the WhatsApp gateway; unset = WhatsApp goes to the outbox' },
  webhookToken: { env: 'CIVIC_WEBHOOK_TOKEN', schema: z.string().min(1).optional(), doc: 'Bearer token sent to the SMS/WhatsApp gateways', secret: true },
  providerTimeoutMs: { env: 'CIVIC_NOTIFY_TIMEOUT_MS', schema: z.coerce.number().int().min(100).max(120_000).default(10_000), doc: 'Time limit of one send' },
  notifyAttempts: { env: 'CIVIC_NOTIFY_ATTEMPTS', schema: z.coerce.number().int().min(1).max(20).default(5), doc: 'Sends per message before NotificationFailed is recorded' },
  notifyBackoffMs: { env: 'CIVIC_NOTIFY_BACKOFF_MS', schema: z.coerce.number().int().min(10).max(60_000).default(500), doc: 'First wait between sends; doubles each time' },
  notifyQuietMinutes: {
    env: 'CIVIC_NOTIFY_QUIET_MINUTES',
    schema: z.coerce.number().int().min(0).max(30 * 24 * 60).default(24 * 60),
    doc: 'A message equal to one the case was sent this many minutes ago or less (same template, channel and text) is not sent again; 0 = off',
  },
  municipalityName: { env: 'CIVIC_MUNICIPALITY_NAME', schema: z.string().min(2).default('Belediye'), doc: 'Name used in messages, e.g. "Kadıköy Belediyesi"' },
  statusUrlBase: { env: 'CIVIC_STATUS_URL_BASE', schema: optionalUrl, doc: 'Public status page; the tracking code is appended (e.g. https://beyazmasa.example.bel.tr/takip/)' },
  ...supervisorConfigEntries,
} as const

export type ProviderConfig = ConfigOf<typeof providerConfigEntries>

/** The notifier's settings from configuration (everything but its connections). */
export function notifierSettings(config: ProviderConfig): Pick<NotifierOptions, 'maxAttempts' | 'backoffMs' | 'municipalityName' | 'statusUrlBase' | 'quietPeriodMs'> {
  return {
    maxAttempts: config.notifyAttempts,
    quietPeriodMs: config.notifyQuietMinutes * 60_000,
    backoffMs: config.notifyBackoffMs,
    municipalityName: config.municipalityName,
    ...(config.statusUrlBase === undefined ? {} : { statusUrlBase: config.statusUrlBase }),
  }
}

/** The SMTP settings from `CIVIC_SMTP_URL` and `CIVIC_SMTP_FROM`, or undefined when no SMTP server is configured. */
export function smtpSettings(config: ProviderConfig): SmtpProviderOptions | undefined {
  if (config.smtpUrl === undefined) return undefined
  const url = new URL(config.smtpUrl)
  const secure = url.protocol === 'smtps:'
  return {
    host: url.hostname,
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(url.username === '' ? {} : { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }),
    from: config.smtpFrom,
    timeoutMs: config.providerTimeoutMs,
  }
}

/** Builds the channel router from configuration, with the outbox taking whatever is not configured. */
export function buildProviderRouter(config: ProviderConfig, outbox: Outbox): ProviderRouter {
  const providers: NotificationProvider[] = []
  const smtp = smtpSettings(config)
  if (smtp !== undefined) providers.push(createSmtpProvider(smtp))
  const token = config.webhookToken === undefined ? {} : { token: config.webhookToken }
  if (config.smsWebhookUrl !== undefined && config.smsWebhookUrl === config.whatsappWebhookUrl) {
    providers.push(createWebhookProvider({ url: config.smsWebhookUrl, channels: ['sms', 'whatsapp'], timeoutMs: config.providerTimeoutMs, name: 'gateway', ...token }))
  } else {
    if (config.smsWebhookUrl !== undefined) {
      providers.push(createWebhookProvider({ url: config.smsWebhookUrl, channels: ['sms'], timeoutMs: config.providerTimeoutMs, name: 'sms-gateway', ...token }))
    }
    if (config.whatsappWebhookUrl !== undefined) {
      providers.push(createWebhookProvider({ url: config.whatsappWebhookUrl, channels: ['whatsapp'], timeoutMs: config.providerTimeoutMs, name: 'whatsapp-gateway', ...token }))
    }
  }
  return createProviderRouter(providers, { fallback: createOutboxProvider(outbox) })
}

/** Everything the notification process can be told. */
export const notificationConfig = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3004), doc: 'HTTP port of the notification service (health, outbox, status)' },
  host: { env: 'HOST', schema: z.string().min(1).default('127.0.0.1'), doc: 'Address to listen on; 0.0.0.0 to accept connections from other machines' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of the embedded event store (events.sqlite) and the outbox (outbox.sqlite)' },
  logLevel: { env: 'LOG_LEVEL', schema: logLevelSchema, doc: 'pino log level' },
  catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (names of directorates and categories in messages)' },
  accessFile: { env: 'CIVIC_ACCESS_FILE', schema: z.string().min(1).optional(), doc: 'JSON file of API tokens and roles; unset = development tokens' },
  ...providerConfigEntries,
  ...distributedConfigEntries,
  ...httpConfigEntries,
})
export type NotificationConfig = ReturnType<typeof notificationConfig.parse>
