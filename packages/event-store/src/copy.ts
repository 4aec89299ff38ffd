/**
 * Copying one event store into another (`pnpm store:copy`, copy-cli.ts): every event with its
 * position, stream revision, id, type, data, metadata and recorded time, in global order, in
 * transactions of `batchSize` events. The target's head is the checkpoint: a copy interrupted at
 * any point (even killed) continues from it when run again, since each batch commits whole or not
 * at all. Then both logs are read again and compared: events per stream and one SHA-256 digest.
 */
import { createHash } from 'node:crypto'
import type { BulkLog, StoredRow } from './bulk-log.ts'

/** The target holds events that are not the start of the source's log. */
export class CopyRefusedError extends Error {
  override readonly name = 'CopyRefusedError'
}

export interface CopyProgress {
  /** Events in the target (of those to copy), including those of an earlier, interrupted run. */
  readonly done: number
  readonly total: number
  /** Events copied by this run. */
  readonly copiedNow: number
  readonly elapsedMs: number
}

export interface CopyResult {
  /** Source head when the copy started: what was copied and is verified (later appends are not). */
  readonly until: number
  /** Target head before this run (0: a fresh copy). */
  readonly resumedFrom: number
  readonly copiedNow: number
  /** True when `shouldStop` ended it before the end. */
  readonly interrupted: boolean
  /** True when --force emptied a target that held other events. */
  readonly clearedTarget: boolean
}

const sameRow = (a: StoredRow | undefined, b: StoredRow | undefined): boolean =>
  a !== undefined &&
  b !== undefined &&
  a.position === b.position &&
  a.streamId === b.streamId &&
  a.revision === b.revision &&
  a.eventId === b.eventId &&
  a.type === b.type &&
  a.data === b.data &&
  a.metadata === b.metadata &&
  sameInstant(a.recordedAt, b.recordedAt)

/** The same recorded time as every adapter shows it (ISO, milliseconds). */
const sameInstant = (a: string, b: string): boolean => normalizeTime(a) === normalizeTime(b)
const normalizeTime = (iso: string): string => new Date(iso).toISOString()

/**
 * Why a non-empty target is not the start of the source (undefined when it is): its first and its
 * last event must be the source's at the same positions, and it must hold as many events as the
 * source up to there. (The verification at the end compares everything.)
 */
async function notAPrefix(source: BulkLog, target: BulkLog, targetHead: number, sourceHead: number): Promise<string | undefined> {
  if (targetHead > sourceHead) return `it holds events up to position ${targetHead}, the source only up to ${sourceHead}`
  const [targetFirst] = await target.read(0, targetHead, 1)
  const [targetLast] = await target.read(targetHead - 1, targetHead, 1)
  const [sourceFirst] = await source.read(0, targetHead, 1)
  const [sourceLast] = await source.read(targetHead - 1, targetHead, 1)
  if (!sameRow(targetFirst, sourceFirst)) return `its first event (${describeRow(targetFirst)}) is not the source's (${describeRow(sourceFirst)})`
  if (!sameRow(targetLast, sourceLast)) return `its event at position ${targetHead} (${describeRow(targetLast)}) is not the source's (${describeRow(sourceLast)})`
  const [targetCount, sourceCount] = await Promise.all([target.count(targetHead), source.count(targetHead)])
  if (targetCount !== sourceCount) return `it holds ${targetCount} events up to position ${targetHead}, the source ${sourceCount}`
  return undefined
}

const describeRow = (row: StoredRow | undefined): string => (row === undefined ? 'none' : `${row.streamId}@${row.revision} ${row.type} ${row.eventId}`)

export async function copyLog(
  source: BulkLog,
  target: BulkLog,
  options: {
    /** Empty a target that holds other events instead of refusing. */
    readonly force?: boolean
    /** Events per read and per target transaction. Default 2000. */
    readonly batchSize?: number
    /** Asked between batches: true ends the copy there (SIGINT). */
    readonly shouldStop?: () => boolean
    readonly onProgress?: (progress: CopyProgress) => void
  } = {},
): Promise<CopyResult> {
  const batchSize = options.batchSize ?? 2000
  const started = performance.now()
  const until = await source.head()
  let head = await target.head()
  let clearedTarget = false
  if (head > 0) {
    const reason = await notAPrefix(source, target, head, until)
    if (reason !== undefined) {
      if (options.force !== true) {
        throw new CopyRefusedError(
          `the target ${target.description} already holds other events: ${reason}. It is not an interrupted copy of ${source.description} (that would resume). Use another target, or --force to DELETE the target's events and copy anew.`,
        )
      }
      await target.clear()
      head = 0
      clearedTarget = true
    }
  }
  const resumedFrom = head
  const total = await source.count(until)
  let done = head === 0 ? 0 : await source.count(head)
  let copiedNow = 0
  let interrupted = false
  options.onProgress?.({ done, total, copiedNow, elapsedMs: performance.now() - started })
  // The next page is read while the current one is written.
  let next = source.read(head, until, batchSize)
  for (;;) {
    const rows = await next
    if (rows.length === 0) break
    const last = rows.at(-1)!.position
    next = last < until ? source.read(last, until, batchSize) : Promise.resolve([])
    try {
      await target.importRows(rows, head)
    } catch (error) {
      // Not left unhandled while the error travels up.
      next.catch(() => undefined)
      throw error
    }
    head = last
    done += rows.length
    copiedNow += rows.length
    options.onProgress?.({ done, total, copiedNow, elapsedMs: performance.now() - started })
    if (options.shouldStop?.() === true && head < until) {
      next.catch(() => undefined)
      interrupted = true
      break
    }
  }
  return { until, resumedFrom, copiedNow, interrupted, clearedTarget }
}

export interface LogSummary {
  readonly events: number
  readonly streams: number
  readonly head: number
  /** SHA-256 (hex) over every event in global order: position, stream, revision, id, type, data, metadata, recorded time (ms). */
  readonly digest: string
}

/** Reads the log up to `until` once and digests it. */
export async function summarize(log: BulkLog, until: number, batchSize = 5000): Promise<LogSummary> {
  const hash = createHash('sha256')
  const streams = new Set<string>()
  let events = 0
  let after = 0
  for (;;) {
    const rows = await log.read(after, until, batchSize)
    if (rows.length === 0) break
    for (const r of rows) {
      // JSON of an array: unambiguous field boundaries whatever the texts contain.
      hash.update(`${JSON.stringify([r.position, r.streamId, r.revision, r.eventId, r.type, r.data, r.metadata, normalizeTime(r.recordedAt)])}\n`)
      streams.add(r.streamId)
    }
    events += rows.length
    after = rows.at(-1)!.position
  }
  return { events, streams: streams.size, head: after, digest: hash.digest('hex') }
}

export interface Verification {
  readonly ok: boolean
  readonly source: LogSummary
  readonly target: LogSummary
  /** Streams whose event counts differ (at most 20), as [stream, source count, target count]. */
  readonly streamMismatches: readonly (readonly [string, number, number])[]
  readonly streamMismatchCount: number
  /** The target holds events after `until` (appended to it meanwhile). */
  readonly targetHead: number
}

/** Compares source and target up to `until`: events per stream, then the digest of every event. */
export async function verifyCopy(source: BulkLog, target: BulkLog, until: number): Promise<Verification> {
  const [sourceCounts, targetCounts, sourceSummary, targetSummary, targetHead] = await Promise.all([
    source.streamCounts(until),
    target.streamCounts(until),
    summarize(source, until),
    summarize(target, until),
    target.head(),
  ])
  const mismatches: (readonly [string, number, number])[] = []
  for (const stream of new Set([...sourceCounts.keys(), ...targetCounts.keys()])) {
    const a = sourceCounts.get(stream) ?? 0
    const b = targetCounts.get(stream) ?? 0
    if (a !== b) mismatches.push([stream, a, b])
  }
  mismatches.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return {
    ok: mismatches.length === 0 && sourceSummary.digest === targetSummary.digest && sourceSummary.events === targetSummary.events && targetHead === sourceSummary.head,
    source: sourceSummary,
    target: targetSummary,
    streamMismatches: mismatches.slice(0, 20),
    streamMismatchCount: mismatches.length,
    targetHead,
  }
}
