/**
 * The supervisors' side of the notification service, put together from configuration: the ledger
 * file, the SMTP mailer, the escalation notices and the daily digest. A composition root starts it
 * with one call and stops it with one; nothing runs when no directorate of the catalogue has a
 * supervisor contact (no consumer group, no projection of the log).
 */
import { join } from 'node:path'
import type { Catalogue } from '@civic-desk/contracts'
import type { CaseFeed } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import type { Logger } from '@civic-desk/service-kit'
import { smtpSettings, type ProviderConfig } from './config.ts'
import { startOverdueDigest, type OverdueDigest } from './digest.ts'
import { createSmtpMailer, type SmtpMailer } from './providers.ts'
import type { SupervisorChannels } from './supervisor-delivery.ts'
import { openSqliteLedger, type SupervisorLedger } from './supervisor-ledger.ts'
import { startSupervisorNotices, type SupervisorNotices } from './supervisor-notices.ts'

/** Name of the ledger file in the data folder. */
export const SUPERVISOR_LEDGER_FILE = 'supervisors.sqlite'

export interface SupervisorServiceOptions {
  readonly feed: CaseFeed
  readonly store: EventStore
  readonly catalogue: Catalogue
  /** The parsed notification (or standalone) configuration: SMTP server, retries, digest time, console. */
  readonly config: ProviderConfig
  /** Folder of the ledger file. */
  readonly dataDir: string
  readonly logger: Logger
  readonly now?: () => Date
  /** Time between the digest's looks at the clock (default 30 s). */
  readonly digestIntervalMs?: number
}

export interface SupervisorService {
  /** Null when no directorate has a supervisor contact. */
  readonly notices: SupervisorNotices | null
  readonly digest: OverdueDigest | null
  readonly ledger: SupervisorLedger | null
  stop(): Promise<void>
}

/** Starts the supervisors' notices and digest when the catalogue names any supervisor contact. */
export async function startSupervisorService(options: SupervisorServiceOptions): Promise<SupervisorService> {
  const { config, catalogue } = options
  const logger = options.logger.child({ component: 'supervisors' })
  const reached = catalogue.departments.filter((d) => d.supervisors !== undefined).map((d) => d.code)
  if (reached.length === 0) {
    logger.info('no directorate of the catalogue has a supervisor contact: escalations are not sent to supervisors')
    return { notices: null, digest: null, ledger: null, stop: async () => {} }
  }
  const now = options.now ?? (() => new Date())
  const ledger = openSqliteLedger(join(options.dataDir, SUPERVISOR_LEDGER_FILE))
  const smtp = smtpSettings(config)
  const mailer: SmtpMailer | undefined = smtp === undefined ? undefined : createSmtpMailer(smtp)
  if (mailer === undefined && catalogue.departments.some((d) => d.supervisors?.email !== undefined)) {
    logger.warn('no SMTP server (CIVIC_SMTP_URL): supervisors’ e-mails are kept in the ledger only')
  }
  const channels: SupervisorChannels = {
    ...(mailer === undefined ? {} : { mailer }),
    ...(config.supervisorWebhookToken === undefined ? {} : { webhookToken: config.supervisorWebhookToken }),
    timeoutMs: config.providerTimeoutMs,
    maxAttempts: config.notifyAttempts,
    backoffMs: config.notifyBackoffMs,
  }
  const common = {
    feed: options.feed,
    store: options.store,
    catalogue,
    ledger,
    channels,
    logger,
    now,
    municipalityName: config.municipalityName,
    ...(config.consoleUrl === undefined ? {} : { consoleUrl: config.consoleUrl }),
  }
  const notices = await startSupervisorNotices(common)
  const digest = startOverdueDigest({ ...common, at: config.supervisorDigestAt, ...(options.digestIntervalMs === undefined ? {} : { intervalMs: options.digestIntervalMs }) })
  logger.info({ departments: reached, digestAt: config.supervisorDigestAt, email: mailer === undefined ? 'ledger' : 'smtp' }, 'supervisors are told of escalations and overdue cases')
  let stopping: Promise<void> | undefined
  return {
    notices,
    digest,
    ledger,
    stop() {
      stopping ??= (async () => {
        await Promise.all([notices.stop(), digest.stop()])
        mailer?.close()
        ledger.close()
      })()
      return stopping
    },
  }
}
