/**
 * Settings of the supervisors' messages (escalation notices and the daily digest); part of the
 * notification settings, and so of standalone's.
 */
import { z } from 'zod'
import { DEFAULT_DIGEST_TIME, DIGEST_TIME } from './digest.ts'

/** The supervisors' settings, each with its environment variable. */
export const supervisorConfigEntries = {
  supervisorDigestAt: {
    env: 'CIVIC_SUPERVISOR_DIGEST_AT',
    schema: z.string().regex(DIGEST_TIME, { error: 'must be an Istanbul time of day as HH:MM, e.g. 08:30' }).default(DEFAULT_DIGEST_TIME),
    doc: 'Istanbul time of the daily list of overdue cases sent to each directorate’s supervisors',
  },
  supervisorWebhookToken: {
    env: 'CIVIC_SUPERVISOR_WEBHOOK_TOKEN',
    schema: z.string().min(1).optional(),
    doc: 'Bearer token sent to the directorates’ supervisor webhooks (the catalogue’s departments[].supervisors.webhook)',
    secret: true,
  },
  consoleUrl: {
    env: 'CIVIC_CONSOLE_URL',
    schema: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    doc: 'Address of the operator console (e.g. https://beyazmasa.example.bel.tr/); supervisors’ messages link to cases and queues there',
  },
} as const
