/**
 * Periodic destruction (Regulation on the Erasure, Destruction or Anonymisation of Personal Data,
 * art. 11: at most every six months): the personal data of every case whose retention period ran
 * out is destroyed under one destruction-log entry, through `erasePersonalData` (entry, keys,
 * `PersonalDataErased` events, entry completed). `destroyDue` is one run (the `pnpm
 * privacy:destroy-due` script calls it too); `startPeriodicDestruction` runs it every period inside
 * a service.
 */
import type { Catalogue } from '@civic-desk/contracts'
import type { EventStore } from '@civic-desk/event-store'
import type { DestructionEntry, DestructionLog, DestructionRequest } from './destruction-log.ts'
import { completePendingErasures, erasePersonalData } from './erasure.ts'
import type { DestroyOutcome, KeyStore } from './key-store.ts'
import { dueCases, scanRetentionFacts, type DueCase } from './retention.ts'

/** Who the destruction log names for periodic destruction. */
export const PERIODIC_DESTRUCTION_ACTOR = { id: 'periodic-destruction', role: 'system' } as const

/** The legal basis written into every periodic destruction entry. */
export const RETENTION_LEGAL_BASIS =
  'KVKK m.7; Kişisel Verilerin Silinmesi, Yok Edilmesi veya Anonim Hale Getirilmesi Hakkında Yönetmelik m.11 (periyodik imha)'

/** The kinds of personal data a case's data key protects, as the destruction log names them (docs/privacy.md, "Which field is what"). */
export const RETENTION_FIELDS: readonly string[] = [
  'başvuru sahibinin kimlik ve iletişim bilgileri (ad, telefon, e-posta)',
  'başvuru açıklaması',
  'adres ve konum',
  'kanal referansı',
  'personelin ve başvuru sahibinin serbest metinleri (notlar, sorular, yanıtlar, gerekçeler)',
  'bildirim adresleri',
  'iş akışı adımlarının kişisel alanları',
  'kategori sorularına verilen metin yanıtları',
]

/** The longest period the regulation allows between two periodic destructions: six months. */
export const MAX_PERIOD_DAYS = 183

/** The configured period cannot be used. */
export class PeriodicDestructionConfigError extends Error {
  override readonly name = 'PeriodicDestructionConfigError'
}

export type DestroyDueProgress =
  | { readonly phase: 'scan'; readonly events: number; readonly position: number; readonly head: number }
  | { readonly phase: 'erase'; readonly done: number; readonly total: number }

export interface DestroyDueOptions {
  readonly keys: KeyStore
  readonly log: DestructionLog
  /** Where the `PersonalDataErased` events are appended (in a service: its sealing store). */
  readonly store: EventStore
  /** The log as stored, scanned for what is due (default `store`): only clear fields are read, so nothing needs opening. */
  readonly scanStore?: EventStore
  readonly catalogue: Catalogue
  /** The clock: what is due is decided at the first reading; the log's times come from it too. */
  readonly now?: () => Date
  /** List what would be destroyed; write nothing (no entry, no key, no event). */
  readonly dryRun?: boolean
  readonly onProgress?: (progress: DestroyDueProgress) => void
  readonly newId?: () => string
  readonly pageSize?: number
}

export interface DestroyDueResult {
  readonly dryRun: boolean
  /** Case streams read. */
  readonly cases: number
  /** The cases due (destroyed now, or that would be in a dry run), oldest due first. */
  readonly due: readonly DueCase[]
  /** The destruction-log entry; null in a dry run or when nothing was due. */
  readonly entry: DestructionEntry | null
  readonly outcome: DestroyOutcome | null
  /** Pending entries of an earlier interrupted destruction completed first (0 in a dry run). */
  readonly pendingCompleted: number
}

/**
 * One periodic destruction. Entries an earlier run (or erasure) left pending are completed first,
 * so a case whose key went but whose event did not is not destroyed under a second entry.
 */
export async function destroyDue(options: DestroyDueOptions): Promise<DestroyDueResult> {
  const now = options.now ?? (() => new Date())
  const dryRun = options.dryRun ?? false
  const deps = { keys: options.keys, log: options.log, store: options.store, now, ...(options.newId === undefined ? {} : { newId: options.newId }) }
  let pendingCompleted = 0
  if (!dryRun && (await options.log.pending()).length > 0) pendingCompleted = (await completePendingErasures(deps)).completed
  const facts = await scanRetentionFacts(options.scanStore ?? options.store, {
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    onProgress: (p) => options.onProgress?.({ phase: 'scan', ...p }),
  })
  const at = now()
  const due = dueCases(facts, options.catalogue, at)
  if (dryRun || due.length === 0) return { dryRun, cases: facts.length, due, entry: null, outcome: null, pendingCompleted }
  const request: DestructionRequest = {
    reason: 'retention-expired',
    legalBasis: RETENTION_LEGAL_BASIS,
    requestReference: null,
    actor: { ...PERIODIC_DESTRUCTION_ACTOR },
    caseIds: due.map((d) => d.caseId),
    fields: [...RETENTION_FIELDS],
  }
  const result = await erasePersonalData(deps, request, {
    correlationId: `periodic-destruction-${at.toISOString()}`,
    onProgress: (done, total) => options.onProgress?.({ phase: 'erase', done, total }),
  })
  return { dryRun, cases: facts.length, due, entry: result.entry, outcome: result.outcome, pendingCompleted }
}

/** The log lines of the periodic job (pino-like). */
export interface PeriodicLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface PeriodicDestructionOptions extends Omit<DestroyDueOptions, 'dryRun' | 'onProgress' | 'catalogue'> {
  /** The catalogue, or how to get the current one at each run. */
  readonly catalogue: Catalogue | (() => Catalogue)
  /** Days between two runs: more than 0, at most `MAX_PERIOD_DAYS` (183). */
  readonly periodDays: number
  /** The first run, this long after start (default one minute). */
  readonly firstRunDelayMs?: number
  readonly logger: PeriodicLogger
  /** Told of every run's result (tests, metrics). */
  readonly onRun?: (result: DestroyDueResult) => void
}

export interface PeriodicDestruction {
  /** Runs now unless a run is going on, whose result is then awaited instead. */
  runNow(): Promise<DestroyDueResult | undefined>
  /** Stops the schedule; resolves when no run is going on. */
  stop(): Promise<void>
}

/** Checks a period in days: a whole or fractional number > 0 and ≤ 183. */
export function checkPeriodDays(periodDays: number): number {
  if (!Number.isFinite(periodDays) || periodDays <= 0) {
    throw new PeriodicDestructionConfigError(`periyodik imha süresi pozitif bir gün sayısı olmalı / the periodic destruction period must be a number of days > 0, got ${String(periodDays)}`)
  }
  if (periodDays > MAX_PERIOD_DAYS) {
    throw new PeriodicDestructionConfigError(
      `periyodik imha en geç 6 ayda bir yapılmalı (Yönetmelik m.11): ${periodDays} gün > ${MAX_PERIOD_DAYS} gün / periodic destruction must run at least every six months (${MAX_PERIOD_DAYS} days): ${periodDays} days is refused`,
    )
  }
  return periodDays
}

// setTimeout holds at most 2^31 - 1 ms (24.8 days); a longer wait is taken in steps.
const MAX_TIMER_MS = 2 ** 31 - 1
const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Runs `destroyDue` every `periodDays`, the first time `firstRunDelayMs` after start, never two at
 * once (the next run is timed from the end of the last one), and logs one Turkish summary line per
 * run: how many cases, the entry's id. No personal data is logged (no case id either).
 */
export function startPeriodicDestruction(options: PeriodicDestructionOptions): PeriodicDestruction {
  const periodMs = checkPeriodDays(options.periodDays) * DAY_MS
  const clock = options.now ?? (() => new Date())
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<DestroyDueResult | undefined> | undefined

  const wait = (at: number) => {
    if (stopped) return
    const remaining = at - Date.now()
    timer = setTimeout(
      () => {
        timer = undefined
        if (Date.now() >= at) void run().finally(() => wait(Date.now() + periodMs))
        else wait(at)
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_MS)),
    )
    timer.unref()
  }

  const runOnce = async (): Promise<DestroyDueResult | undefined> => {
    const started = performance.now()
    try {
      const catalogue = typeof options.catalogue === 'function' ? options.catalogue() : options.catalogue
      const result = await destroyDue({ ...options, catalogue, now: clock })
      const summary = {
        destructionId: result.entry?.id ?? null,
        cases: result.due.length,
        casesWithoutKey: result.outcome?.withoutKey.length ?? 0,
        casesScanned: result.cases,
        pendingCompleted: result.pendingCompleted,
        durationMs: Math.round(performance.now() - started),
      }
      options.logger.info(
        summary,
        result.entry === null
          ? `periyodik imha: saklama süresi dolan vaka yok (${result.cases} vaka tarandı) / periodic destruction: nothing due`
          : `periyodik imha: ${result.due.length} vakanın kişisel verileri yok edildi, imha kaydı ${result.entry.id} / periodic destruction: personal data of ${result.due.length} cases destroyed`,
      )
      options.onRun?.(result)
      return result
    } catch (error) {
      options.logger.error(
        { err: error, durationMs: Math.round(performance.now() - started) },
        `periyodik imha başarısız; bir sonraki dönemde yeniden denenecek (yarım kalan kayıt varsa tamamlanır) / periodic destruction failed; it runs again next period`,
      )
      return undefined
    }
  }

  const run = (): Promise<DestroyDueResult | undefined> => {
    running ??= runOnce().finally(() => {
      running = undefined
    })
    return running
  }

  wait(Date.now() + (options.firstRunDelayMs ?? 60_000))
  return {
    runNow: () => (stopped ? Promise.resolve(undefined) : run()),
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await running
    },
  }
}
