/**
 * What the `pnpm privacy:*` scripts share: the configuration the services use (read from the same
 * environment variables, with the same defaults), opening the event store and the key store the
 * services open, progress lines on stderr, and failing with a clear message and an exit code.
 *
 * Exit codes: 0 done; 1 the work failed (nothing or everything committed, as the message says);
 * 2 a usage or configuration error (nothing was done).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { validateCatalogue, type Catalogue } from '@civic-desk/contracts'
import { EventStoreChoiceError, openConfiguredEventStore, type EventStoreKind, type OpenedEventStore } from '@civic-desk/event-store'
import { masterKeyFile, privacySettingsOf } from './configured.ts'

/** A usage or configuration error: exit code 2, nothing was done. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface CliSettings {
  readonly dataDir: string
  readonly eventStore: EventStoreKind
  readonly pgUrl: string | undefined
  readonly pgSchema: string
  readonly eventStoreDbUrl: string | undefined
  readonly masterKey: string | undefined
  readonly catalogueFile: string
}

const STORES: readonly EventStoreKind[] = ['sqlite', 'postgres', 'eventstoredb']
const defaultCatalogueFile = new URL('../../../infra/catalogue/catalogue.json', import.meta.url).pathname
const set = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value.trim())

/**
 * The settings of the services from the environment (`CIVIC_DATA_DIR` default `./data`,
 * `CIVIC_EVENT_STORE`, `CIVIC_PG_URL`, `CIVIC_PG_SCHEMA`, `EVENTSTORE_URL`, `CIVIC_MASTER_KEY`,
 * `CIVIC_CATALOGUE_FILE`); `--data-dir` overrides the data folder and is read from where the command
 * was typed (pnpm runs scripts in the repository's root; `INIT_CWD` is where it was typed).
 */
export function cliSettings(env: NodeJS.ProcessEnv, dataDirArgument: string | undefined): CliSettings {
  const eventStore = (set(env.CIVIC_EVENT_STORE) ?? 'sqlite') as EventStoreKind
  if (!STORES.includes(eventStore)) throw new UsageError(`CIVIC_EVENT_STORE must be one of ${STORES.join(', ')}, got ${env.CIVIC_EVENT_STORE}`)
  const pgSchema = set(env.CIVIC_PG_SCHEMA) ?? 'civic'
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(pgSchema)) throw new UsageError(`CIVIC_PG_SCHEMA must be lower-case letters, digits and _, got ${pgSchema}`)
  const pgUrl = set(env.CIVIC_PG_URL)
  if (pgUrl !== undefined && !/^postgres(ql)?:\/\//.test(pgUrl)) throw new UsageError('CIVIC_PG_URL must be a postgres:// URL, e.g. postgres://civic@db.internal:5432/civic')
  const dataDir =
    dataDirArgument !== undefined ? resolve(env.INIT_CWD ?? process.cwd(), dataDirArgument) : resolve(process.cwd(), set(env.CIVIC_DATA_DIR) ?? './data')
  return {
    dataDir,
    eventStore,
    pgUrl,
    pgSchema,
    eventStoreDbUrl: set(env.EVENTSTORE_URL),
    masterKey: set(env.CIVIC_MASTER_KEY),
    catalogueFile: set(env.CIVIC_CATALOGUE_FILE) ?? defaultCatalogueFile,
  }
}

/** Reads and validates the service catalogue. */
export function loadCliCatalogue(file: string): Catalogue {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`hizmet kataloğu okunamadı / cannot read the service catalogue ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }
  try {
    return validateCatalogue(JSON.parse(text), file)
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

/** Opens the event store the services use; an embedded store must already exist (a wrong data folder is not a new, empty log). */
export async function openCliEventStore(settings: CliSettings): Promise<OpenedEventStore> {
  if (settings.eventStore === 'sqlite') {
    const file = join(settings.dataDir, 'events.sqlite')
    if (!existsSync(file)) throw new UsageError(`olay deposu yok / no event store at ${file}: set CIVIC_DATA_DIR or --data-dir to the folder of events.sqlite (or CIVIC_EVENT_STORE and CIVIC_PG_URL)`)
  }
  try {
    return await openConfiguredEventStore(
      { eventStore: settings.eventStore, pgUrl: settings.pgUrl, pgSchema: settings.pgSchema, eventStoreDbUrl: settings.eventStoreDbUrl, storePollMs: 1000 },
      { dataDir: settings.dataDir, logger: stderrLogger },
    )
  } catch (error) {
    if (error instanceof EventStoreChoiceError) throw new UsageError(error.message)
    throw error
  }
}

/**
 * Refuses to go on when the key store exists in the data folder but its master key is nowhere:
 * opening it would create a new, wrong master key file beside it.
 */
export function checkMasterKeyFound(settings: CliSettings): void {
  if (privacySettingsOf(settings).pgUrl !== undefined || settings.masterKey !== undefined) return
  if (existsSync(join(settings.dataDir, 'keys.sqlite')) && !existsSync(masterKeyFile(settings.dataDir))) {
    throw new UsageError(
      `ana anahtar bulunamadı / no master key: CIVIC_MASTER_KEY is not set and ${masterKeyFile(settings.dataDir)} does not exist, but the key store ${join(settings.dataDir, 'keys.sqlite')} does: set CIVIC_MASTER_KEY`,
    )
  }
}

/** Warnings of the stores (e.g. the development master key) on stderr. */
export const stderrLogger = {
  warn(_obj: object, msg: string): void {
    process.stderr.write(`${msg}\n`)
  },
}

/** A progress line on stderr: redrawn in place on a terminal, at most every few seconds otherwise (logs, CI). */
export function progressLine(): (text: string, final?: boolean) => void {
  const tty = process.stderr.isTTY === true
  let last = 0
  return (text, final = false) => {
    const now = performance.now()
    if (!final && now - last < (tty ? 200 : 3000)) return
    last = now
    process.stderr.write(tty ? `\r${text}${final ? '\n' : ''}` : `${text}\n`)
  }
}

/** Runs a script's main: a usage error exits 2, any other failure 1, each with its message on stderr. */
export function runCli(name: string, main: () => Promise<void>): void {
  main().then(
    () => {
      process.exitCode = 0
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error)
      process.stderr.write(`${name}: HATA / ERROR: ${message}\n`)
      process.exitCode = error instanceof UsageError ? 2 : 1
    },
  )
}
