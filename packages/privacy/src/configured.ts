/**
 * Which key store and destruction log a process opens, from its configuration: one place, so every
 * service (and every `pnpm privacy:*` script) finds the same keys.
 *
 * - With `CIVIC_PG_URL` set (distributed mode on PostgreSQL or EventStoreDB): both in PostgreSQL,
 *   schema `<CIVIC_PG_SCHEMA>_privacy`, which every host reaches.
 * - Without it: `keys.sqlite` and `destructions.sqlite` in the data folder (one host).
 *
 * The master key comes from `CIVIC_MASTER_KEY`. Without it a key is created in the data folder
 * (`master.key`, owner-only) with a loud warning: fine on a developer's machine, never in
 * production, where losing that file means losing every case's personal data and a copy of it
 * means a copy of all of it.
 */
import { join } from 'node:path'
import { redact } from '@civic-desk/event-store'
import type { KeyStore } from './key-store.ts'
import { openSqliteDestructionLog, type DestructionLog } from './destruction-log.ts'
import { loadOrCreateMasterKeyFile, parseMasterKey, type MasterKey } from './master-key.ts'
import { openPostgresDestructionLog, openPostgresKeyStore } from './postgres.ts'
import { cachingKeyStore } from './sealing.ts'
import { openSqliteKeyStore } from './sqlite-key-store.ts'

export interface PrivacySettings {
  /** `CIVIC_MASTER_KEY` as given (64 hex digits or base64); undefined = the data folder's file. */
  readonly masterKey?: string | undefined
  /** `CIVIC_PG_URL`: when set, the key store and the destruction log live in PostgreSQL. */
  readonly pgUrl?: string | undefined
  /** `CIVIC_PG_SCHEMA`: the privacy tables go into `<schema>_privacy`. */
  readonly pgSchema?: string | undefined
}

/** The key store and destruction log chosen, with where they are as they may be shown (no password). */
export interface OpenedPrivacy {
  /** The key store, with the keys it hands out cached for a while (`cachingKeyStore`). */
  readonly keys: KeyStore
  readonly log: DestructionLog
  readonly kind: 'sqlite' | 'postgres'
  readonly target: string
  readonly masterKey: MasterKey
  close(): Promise<void>
}

/** The privacy settings of a service's distributed configuration: PostgreSQL when the log is on a server and `CIVIC_PG_URL` is set. */
export function privacySettingsOf(config: { readonly eventStore: string; readonly pgUrl?: string | undefined; readonly pgSchema: string; readonly masterKey?: string | undefined }): PrivacySettings {
  return { masterKey: config.masterKey, pgUrl: config.eventStore === 'sqlite' ? undefined : config.pgUrl, pgSchema: config.pgSchema }
}

/** The file the development master key is kept in. */
export const masterKeyFile = (dataDir: string): string => join(dataDir, 'master.key')

interface WarnLogger {
  warn(obj: object, msg: string): void
}

/** The master key of the configuration: `CIVIC_MASTER_KEY`, else the data folder's file (made when missing, with a warning). */
export function configuredMasterKey(settings: PrivacySettings, dataDir: string, logger?: WarnLogger): MasterKey {
  if (settings.masterKey !== undefined && settings.masterKey.trim() !== '') return parseMasterKey(settings.masterKey)
  const file = masterKeyFile(dataDir)
  const loaded = loadOrCreateMasterKeyFile(file)
  if (loaded.created) {
    logger?.warn(
      { file, fingerprint: loaded.fingerprint },
      `DİKKAT: CIVIC_MASTER_KEY verilmedi; kişisel verilerin ana anahtarı ${file} dosyasında oluşturuldu. Yalnızca geliştirme içindir: üretimde CIVIC_MASTER_KEY verin (openssl rand -hex 32) ve anahtarı kasada saklayın. WARNING: no CIVIC_MASTER_KEY; a development master key was created in ${file}.`,
    )
  } else {
    logger?.warn({ file, fingerprint: loaded.fingerprint }, `CIVIC_MASTER_KEY is not set: the development master key in ${file} is used (not for production)`)
  }
  return { key: loaded.key, fingerprint: loaded.fingerprint }
}

/** Opens the configured key store and destruction log; rejects with what to check when they cannot be opened. */
export async function openConfiguredPrivacy(settings: PrivacySettings, options: { readonly dataDir: string; readonly logger?: WarnLogger }): Promise<OpenedPrivacy> {
  const masterKey = configuredMasterKey(settings, options.dataDir, options.logger)
  if (settings.pgUrl !== undefined) {
    const schema = `${settings.pgSchema ?? 'civic'}_privacy`
    const log = await openPostgresDestructionLog({ connectionString: settings.pgUrl, schema })
    let keys: KeyStore
    try {
      keys = await openPostgresKeyStore({ connectionString: settings.pgUrl, schema, masterKey })
    } catch (error) {
      await log.close()
      throw error
    }
    return {
      keys: cachingKeyStore(keys),
      log,
      kind: 'postgres',
      target: `${redact(settings.pgUrl)} (schema ${schema})`,
      masterKey,
      close: async () => {
        await Promise.allSettled([keys.close(), log.close()])
      },
    }
  }
  const keysFile = join(options.dataDir, 'keys.sqlite')
  const keys = openSqliteKeyStore({ file: keysFile, masterKey })
  let log: DestructionLog
  try {
    log = openSqliteDestructionLog(join(options.dataDir, 'destructions.sqlite'))
  } catch (error) {
    await keys.close()
    throw error
  }
  return {
    keys: cachingKeyStore(keys),
    log,
    kind: 'sqlite',
    target: keysFile,
    masterKey,
    close: async () => {
      await Promise.allSettled([keys.close(), log.close()])
    },
  }
}

