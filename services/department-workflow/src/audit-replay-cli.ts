/**
 * `pnpm audit:replay <trackingCode|caseId> [--as-of <instant>] [--store <sqlite file|postgres url>]`
 *
 * The auditor's terminal timeline: reads a case straight from the event store (no service needs to
 * run) and prints, in Turkish, each recorded event — when (Istanbul time), who, what — and where
 * the SLA clock stood after it, up to `--as-of` when given, then one paragraph on the state at the
 * end (see `audit-timeline.ts`). The composition root of the command: the only module of it that
 * reads the environment or opens a store.
 *
 * The store defaults to the one the services use: `events.sqlite` in `CIVIC_DATA_DIR` (default
 * `./data`), or PostgreSQL with `CIVIC_EVENT_STORE=postgres` and `CIVIC_PG_URL`. Personal fields
 * are opened when the master key (`CIVIC_MASTER_KEY`, else `master.key` in the data folder) and
 * the key store (`keys.sqlite` beside the SQLite store, or `<schema>_privacy` in PostgreSQL) are
 * there; otherwise (or when they do not open) they read "[kişisel veri: anahtar olmadan okunamaz]".
 * Nothing is ever created: no missing store file, no master key, no key store file.
 *
 * Exit codes: 0 printed; 1 no such case, or nothing of it recorded by `--as-of`, or a store error;
 * 2 a usage error (no or a malformed reference, a malformed instant, a store that is not there).
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { caseIdForTrackingCode, parseTrackingCode } from '@civic-desk/case-domain'
import { caseIdOfStream, loadCase, type LoadedCase } from '@civic-desk/case-feed'
import { openPostgresEventStore, openSqliteEventStore, redact, type EventStore } from '@civic-desk/event-store'
import { configuredMasterKey, masterKeyFile, openConfiguredPrivacy, openSqliteKeyStore, sealingEventStore, type KeyStore } from '@civic-desk/privacy'
import { defaultCatalogueFile, defineConfig, loadCatalogue } from '@civic-desk/service-kit'
import { Instant } from './as-of.ts'
import { auditTimeline, istanbulTime, type PersonalDataAccess } from './audit-timeline.ts'
import { catalogueNames } from './views.ts'

const USAGE = `kullanım / usage: pnpm audit:replay <takip kodu | vaka id> [--as-of <an>] [--store <sqlite dosyası | postgres url>]

  Bir başvurunun zaman çizelgesini Türkçe yazar: her olay için ne zaman (İstanbul saati), kim, ne
  oldu ve SLA süresinin durumu; sonunda son durumun özeti. Olay deposunu doğrudan okur.

  <takip kodu | vaka id>  ör. K7MA-4PXR-9TK (büyük/küçük harf, tire ve boşluk fark etmez) ya da vakanın UUID'si
  --as-of <an>            o ana kadar kaydedilenler: UTC farkı yazılmış ISO-8601 an,
                          ör. 2026-03-03T14:05:00+03:00 ya da 2026-03-03T11:05:00Z
  --store <konum>         olay deposu: SQLite dosyası ya da postgres://kullanıcı@sunucu:5432/veritabanı[?schema=ad]
                          (varsayılan: CIVIC_DATA_DIR/events.sqlite, ya da CIVIC_EVENT_STORE=postgres ile CIVIC_PG_URL)

  Kişisel veriler CIVIC_MASTER_KEY (ya da veri klasöründeki master.key) ve anahtar deposu varsa açılır.
  Çıkış kodları: 0 yazıldı; 1 başvuru yok ya da o anda henüz kayıtlı değil; 2 kullanım hatası.`

/** A usage or configuration error: exit code 2. */
class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** No such case, or nothing of it by the instant: exit code 1. */
class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
}

/** What the command reads from the environment: the services' own variables, with their defaults. */
const auditReplayConfig = defineConfig(
  {
    dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1).default('./data'), doc: 'Folder of events.sqlite, keys.sqlite and master.key (standalone mode)' },
    eventStore: { env: 'CIVIC_EVENT_STORE', schema: z.enum(['sqlite', 'postgres']).default('sqlite'), doc: 'Where the log lives when --store is not given: sqlite (CIVIC_DATA_DIR) or postgres (CIVIC_PG_URL)' },
    pgUrl: {
      env: 'CIVIC_PG_URL',
      schema: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL, e.g. postgres://civic@db.internal:5432/civic' }).optional(),
      doc: 'PostgreSQL server of the log when CIVIC_EVENT_STORE=postgres',
      secret: true,
    },
    pgSchema: { env: 'CIVIC_PG_SCHEMA', schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be lower-case letters, digits and _').default('civic'), doc: 'PostgreSQL schema of the installation' },
    masterKey: { env: 'CIVIC_MASTER_KEY', schema: z.string().min(1).optional(), doc: 'Master key of the personal data; unset = master.key in the data folder, if there', secret: true },
    catalogueFile: { env: 'CIVIC_CATALOGUE_FILE', schema: z.string().min(1).default(defaultCatalogueFile), doc: 'Service catalogue (directorate names)' },
  },
  // The operator's shell may hold every service's variables: only these are read, none refused.
  { unknownPrefix: false },
)
type AuditReplayConfig = ReturnType<typeof auditReplayConfig.parse>

/** Where the log is, and where its keys would be. */
type StoreLocation = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }

const out = (text: string): void => void process.stdout.write(`${text}\n`)
const note = (text: string): void => void process.stderr.write(`${text}\n`)

/** The case id of a tracking code (derived, as intake and the public look-up do) or of a case id. */
function caseIdOf(reference: string): { readonly caseId: string; readonly trackingCode: string | null } {
  const uuid = z.uuid().safeParse(reference.trim())
  if (uuid.success) return { caseId: uuid.data.toLowerCase(), trackingCode: null }
  const parsed = parseTrackingCode(reference)
  if (parsed.ok) return { caseId: caseIdForTrackingCode(parsed.code), trackingCode: parsed.code }
  const why = parsed.reason === 'check' ? 'kontrol karakteri tutmuyor (bir karakter yanlış yazılmış olabilir)' : parsed.reason === 'length' ? '11 karakter olmalı' : 'geçersiz karakter içeriyor'
  throw new UsageError(`"${reference}" ne bir takip kodu ne de bir vaka id: takip kodu ${why}. / not a tracking code or a case id\n\n${USAGE}`)
}

/** `--as-of`: an ISO-8601 instant with its UTC offset, not in the future. */
function instantOf(text: string, now: Date): Date {
  const parsed = Instant.safeParse(text)
  const at = parsed.success ? new Date(parsed.data) : undefined
  if (at === undefined || Number.isNaN(at.getTime())) {
    throw new UsageError(
      `--as-of "${text}" geçerli bir an değil: UTC farkıyla yazılmış bir ISO-8601 an verin, ör. 2026-03-03T14:05:00+03:00 ya da 2026-03-03T11:05:00Z / not an ISO-8601 instant with an offset`,
    )
  }
  if (at.getTime() > now.getTime()) {
    throw new UsageError(`--as-of ${istanbulTime(at)} gelecekte (şimdi ${istanbulTime(now)}): zaman çizelgesi geçmişi gösterir / the instant is in the future`)
  }
  return at
}

function locationOf(argument: string | undefined, config: AuditReplayConfig): StoreLocation {
  if (argument !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(argument)) {
      let url: URL
      try {
        url = new URL(argument)
      } catch {
        throw new UsageError(`--store "${redact(argument)}" okunamadı: postgres://kullanıcı@sunucu:5432/veritabanı[?schema=ad] biçiminde olmalı`)
      }
      const schema = url.searchParams.get('schema') ?? config.pgSchema
      url.searchParams.delete('schema')
      return { kind: 'postgres', url: url.toString(), schema }
    }
    // pnpm runs scripts in the repository's root; a file named relative to where the command was typed means that folder.
    return { kind: 'sqlite', file: resolve(process.env['INIT_CWD'] ?? process.cwd(), argument) }
  }
  if (config.eventStore === 'postgres') {
    if (config.pgUrl === undefined) throw new UsageError('CIVIC_EVENT_STORE=postgres için CIVIC_PG_URL gerekir (ya da --store verin) / set CIVIC_PG_URL or --store')
    return { kind: 'postgres', url: config.pgUrl, schema: config.pgSchema }
  }
  return { kind: 'sqlite', file: join(resolve(config.dataDir), 'events.sqlite') }
}

async function openStore(location: StoreLocation): Promise<{ readonly store: EventStore; readonly target: string }> {
  if (location.kind === 'sqlite') {
    // A wrong path must not become a new, empty log.
    if (!existsSync(location.file)) throw new UsageError(`olay deposu bulunamadı: ${location.file} yok (--store ya da CIVIC_DATA_DIR ile gösterin) / no event store there`)
    return { store: openSqliteEventStore({ file: location.file }), target: `sqlite ${location.file}` }
  }
  try {
    const store = await openPostgresEventStore({ connectionString: location.url, schema: location.schema })
    return { store, target: `postgres ${redact(location.url)} (şema ${location.schema})` }
  } catch (error) {
    throw new UsageError(`olay deposuna bağlanılamadı / cannot open the event store ${redact(location.url)}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** The key store the personal data is opened with. */
interface OpenedKeys {
  readonly keys: KeyStore
  close(): Promise<void>
}

/**
 * The key store, when the keys are there to open personal data: the master key given or in the
 * data folder, and the key store beside the log. Never creates either (a missing key is not a new
 * one), nor a destruction log: only the key store is opened.
 */
async function openKeys(location: StoreLocation, config: AuditReplayConfig): Promise<OpenedKeys | undefined> {
  try {
    if (location.kind === 'postgres') {
      if (config.masterKey === undefined) return undefined
      const privacy = await openConfiguredPrivacy({ masterKey: config.masterKey, pgUrl: location.url, pgSchema: location.schema }, { dataDir: resolve(config.dataDir) })
      return { keys: privacy.keys, close: () => privacy.close() }
    }
    const dataDir = dirname(location.file)
    const file = join(dataDir, 'keys.sqlite')
    if (!existsSync(file)) return undefined
    if (config.masterKey === undefined && !existsSync(masterKeyFile(dataDir))) return undefined
    // The file exists (checked above), so this reads it and never makes a new one.
    const masterKey = configuredMasterKey({ masterKey: config.masterKey }, dataDir)
    const keys = openSqliteKeyStore({ file, masterKey })
    return { keys, close: () => keys.close() }
  } catch (error) {
    note(`uyarı: anahtar deposu açılamadı, kişisel veriler gösterilmeyecek / cannot open the key store: ${error instanceof Error ? error.message : String(error)}`)
    return undefined
  }
}

/** The case, with its personal fields opened when the keys allow; without them when opening fails. */
async function loadAudited(store: EventStore, privacy: OpenedKeys | undefined, caseId: string): Promise<{ readonly loaded: LoadedCase; readonly access: PersonalDataAccess }> {
  if (privacy !== undefined) {
    try {
      const opening = sealingEventStore(store, privacy.keys, { caseIdOf: caseIdOfStream })
      return { loaded: await loadCase(opening, caseId), access: 'opened' }
    } catch (error) {
      note(`uyarı: kişisel veriler açılamadı, anahtarsız gösteriliyor / cannot open the personal data: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { loaded: await loadCase(store, caseId), access: 'no-key' }
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed: { values: { 'as-of'?: string; store?: string; help?: boolean }; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options: { 'as-of': { type: 'string' }, store: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    out(USAGE)
    return
  }
  if (positionals.length !== 1) {
    throw new UsageError(`${positionals.length === 0 ? 'takip kodu ya da vaka id verin / give a tracking code or case id' : `tek bir başvuru verin, ${positionals.length} verildi`}\n\n${USAGE}`)
  }
  const reference = caseIdOf(positionals[0] as string)
  const now = new Date()
  const asOf = values['as-of'] === undefined ? undefined : instantOf(values['as-of'], now)
  let config: AuditReplayConfig
  try {
    config = auditReplayConfig.parse(process.env)
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const catalogue = loadCatalogue(config.catalogueFile)
  const location = locationOf(values.store, config)
  const opened = await openStore(location)
  try {
    const privacy = await openKeys(location, config)
    try {
      const { loaded, access } = await loadAudited(opened.store, privacy, reference.caseId)
      const named = reference.trackingCode === null ? `vaka id ${reference.caseId}` : `takip kodu ${reference.trackingCode}`
      if (loaded.revision < 0) throw new NotFoundError(`böyle bir başvuru yok: ${named} bu olay deposunda kayıtlı değil (${opened.target}) / no such case`)
      const timeline = auditTimeline({ loaded, now, names: catalogueNames(catalogue), personalData: access, ...(asOf === undefined ? {} : { asOf }) })
      if (timeline.kind === 'not-yet-recorded') {
        const first = timeline.firstRecordedAt === null ? '' : `; ilk olayı ${istanbulTime(timeline.firstRecordedAt)} tarihinde kaydedildi (${timeline.firstRecordedAt})`
        throw new NotFoundError(`${named} ${istanbulTime(asOf ?? now)} itibarıyla henüz yoktu${first} / nothing of the case was recorded by then`)
      }
      out(`Olay deposu: ${opened.target}`)
      process.stdout.write(timeline.text)
    } finally {
      await privacy?.close()
    }
  } finally {
    await opened.store.close()
  }
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode = 0
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    note(`audit:replay: ${error instanceof UsageError || error instanceof NotFoundError ? '' : 'HATA / ERROR: '}${message}`)
    process.exitCode = error instanceof UsageError ? 2 : 1
  },
)
