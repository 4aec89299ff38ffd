import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { parseTrackingCode } from '@civic-desk/case-domain'
import { caseIdParam } from '@civic-desk/contracts'
import { ACCESS_RULES, createHttpApp, type AccessControl, type EventStoreDescription, type HttpTimeouts, type Logger, type ZodTypeProvider } from '@civic-desk/service-kit'
import type { NotifierStatus } from './notifier.ts'
import { MAX_OUTBOX_PAGE, type Outbox } from './outbox.ts'
import { LANGUAGES, NOTIFICATION_CHANNELS, TEMPLATE_NAMES, type NotificationChannel } from './templates.ts'

export interface NotificationAppDeps {
  readonly outbox: Outbox
  /** The notifier, or anything that can tell its status (standalone asks the thread it runs in). */
  readonly notifier: { status(): NotifierStatus | Promise<NotifierStatus> }
  readonly access: AccessControl
  readonly logger: Logger
  /** How long a client may take to send a request (createHttpApp's defaults when omitted). */
  readonly timeouts?: HttpTimeouts
  /** The event store in use, named with its head by `/readyz` (operators). */
  readonly eventStore?: EventStoreDescription
}

const OutboxQuery = z.strictObject({
  caseId: caseIdParam().optional(),
  // Read as citizens and staff type it (any case, spaces or dashes anywhere), like the public look-up.
  trackingCode: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseTrackingCode(text)
      if (parsed.ok) return parsed.code
      ctx.addIssue({ code: 'custom', message: 'must be a tracking code like K7MA-4PXR-9TK' })
      return z.NEVER
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_OUTBOX_PAGE).optional(),
  after: z.coerce.number().int().min(0).optional(),
})

const OutboxEntrySchema = z.object({
  sequence: z.number().int().min(1).describe('Position in the outbox; page with `after`'),
  id: z.string().describe('Idempotency key of the message'),
  channel: z.enum(NOTIFICATION_CHANNELS as readonly [NotificationChannel, ...NotificationChannel[]]),
  to: z.string().describe('E-mail address or phone number'),
  subject: z.string(),
  text: z.string(),
  caseId: z.string(),
  trackingCode: z.string(),
  template: z.enum(TEMPLATE_NAMES),
  language: z.enum(LANGUAGES),
  provider: z.string().describe('The provider that sent it'),
  recordedAt: z.string().describe('When it was recorded (ISO 8601)'),
})
const OutboxPageSchema = z.object({ total: z.number().int().min(0).describe('How many messages match the filter'), entries: z.array(OutboxEntrySchema) })
const NotifierStatusSchema = z.object({
  sent: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0).describe('Events that needed no message'),
  lastError: z.string().nullable(),
})

/**
 * Adds the notification routes to an app made by `createHttpApp`:
 * - `GET /v1/notifications/outbox` (operators, supervisors): the recorded messages, with their
 *   text and address, so staff can see exactly what a citizen was told;
 * - `GET /v1/notifications/status` (operators): sent, failed and skipped counts since start.
 */
export function registerNotificationRoutes(app: FastifyInstance, deps: NotificationAppDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>()
  const outboxSchema = {
    tags: ['notification'],
    summary: 'The messages sent to citizens, with their text and address',
    querystring: OutboxQuery,
    response: { 200: OutboxPageSchema },
  }
  api.get('/v1/notifications/outbox', { onRequest: deps.access.requireRole('operator', 'supervisor'), schema: outboxSchema }, async (request) => {
    const q = request.query
    const filter = {
      ...(q.caseId === undefined ? {} : { caseId: q.caseId }),
      ...(q.trackingCode === undefined ? {} : { trackingCode: q.trackingCode }),
    }
    const entries = deps.outbox.list({
      ...filter,
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.after === undefined ? {} : { after: q.after }),
    })
    // The total of what was asked for, so a client pages through one case's messages, not the whole outbox.
    return { total: deps.outbox.count(filter), entries }
  })
  const statusSchema = { tags: ['notification'], summary: 'Messages sent, failed and skipped since start', response: { 200: NotifierStatusSchema } }
  app.get('/v1/notifications/status', { onRequest: deps.access.requireRole('operator'), schema: statusSchema }, async () => deps.notifier.status())
}

/** The notification process's own HTTP surface. Never listens by itself. */
export function buildNotificationApp(deps: NotificationAppDeps): FastifyInstance {
  const app = createHttpApp({ serviceName: 'notification', logger: deps.logger, access: deps.access, ...deps.timeouts, ...(deps.eventStore === undefined ? {} : { eventStore: deps.eventStore }), accessRules: ACCESS_RULES })
  registerNotificationRoutes(app, deps)
  return app
}
