/**
 * `pnpm store:copy --from <sqlite file|postgres url> --to <postgres url|sqlite file> [--force]`
 *
 * Copies every event of one store into another (copy.ts), shows progress on stderr, and prints the
 * verification on stdout. Exit codes: 0 copied and verified; 1 the verification found a difference;
 * 2 a usage error, a location that is not a store, or a refused target; 3 the copy failed (a
 * store error); 130 interrupted (run the same command again to resume).
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { BulkLogLocationError, openBulkLog, type BulkLog } from './bulk-log.ts'
import { CopyRefusedError, copyLog, verifyCopy, type CopyProgress } from './copy.ts'

const USAGE = `usage: pnpm store:copy --from <sqlite file | postgres url> --to <postgres url | sqlite file> [--force] [--batch-size N]

  A PostgreSQL location is postgres://user[:password]@host:5432/database[?schema=name]
  (schema default: CIVIC_PG_SCHEMA, else civic). A SQLite target file is created when missing.
  Interrupted (Ctrl-C, a kill)? Run the same command again: it continues where it stopped.
  A target holding other events is refused; --force DELETES the target's events first.`

function fail(message: string, code = 2): never {
  process.stderr.write(`store:copy: ${message}\n`)
  process.exit(code)
}

const number = (n: number): string => n.toLocaleString('en-US')

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

/** A bar redrawn in place on a terminal; a line every few seconds otherwise (logs, CI). */
function progressPrinter(): (progress: CopyProgress, final?: boolean) => void {
  const tty = process.stderr.isTTY
  let lastPrinted = 0
  return ({ done, total, copiedNow, elapsedMs }, final = false) => {
    const now = performance.now()
    if (!final && now - lastPrinted < (tty ? 200 : 5000)) return
    lastPrinted = now
    const fraction = total === 0 ? 1 : done / total
    const rate = elapsedMs > 0 ? (copiedNow * 1000) / elapsedMs : 0
    const width = 30
    const filled = Math.round(fraction * width)
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}% ${number(done)}/${number(total)} events  ${number(Math.round(rate))} events/s  ETA ${duration(rate > 0 ? (total - done) / rate : Infinity)}`
    process.stderr.write(tty ? `\r${line}${final ? '\n' : ''}` : `${line}\n`)
  }
}

async function main(): Promise<void> {
  let values: { from?: string; to?: string; force?: boolean; 'batch-size'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      options: { from: { type: 'string' }, to: { type: 'string' }, force: { type: 'boolean' }, 'batch-size': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }))
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (values.from === undefined || values.to === undefined) fail(`--from and --to are required\n${USAGE}`)
  const batchSize = Number(values['batch-size'] ?? 2000)
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 50_000) fail(`--batch-size must be an integer from 1 to 50000, got ${values['batch-size']}`)
  if (values.from === values.to) fail('--from and --to are the same store')
  const defaultSchema = process.env.CIVIC_PG_SCHEMA?.trim() || 'civic'

  // pnpm runs scripts in the repository's root; a file named relative to where the command was
  // typed (INIT_CWD) means that folder.
  const located = (location: string): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : resolve(process.env.INIT_CWD ?? process.cwd(), location))
  let source: BulkLog | undefined
  let target: BulkLog | undefined
  try {
    source = await openBulkLog(located(values.from), { role: 'source', defaultSchema })
    target = await openBulkLog(located(values.to), { role: 'target', defaultSchema })
  } catch (error) {
    await source?.close()
    if (error instanceof BulkLogLocationError) fail(error.message)
    throw error
  }
  if (source.description === target.description) fail('--from and --to are the same store')

  // The first Ctrl-C stops after the batch being written; a second one leaves at once (the batch's
  // transaction then rolls back, and the next run starts again from the last committed one).
  let stopRequested = false
  process.on('SIGINT', () => {
    if (stopRequested) process.exit(130)
    stopRequested = true
    process.stderr.write('\nstore:copy: stopping after the current batch (Ctrl-C again to leave at once)…\n')
  })
  process.on('SIGTERM', () => {
    stopRequested = true
  })

  const print = progressPrinter()
  let last: CopyProgress | undefined
  process.stderr.write(`store:copy: ${source.description} → ${target.description}\n`)
  try {
    const result = await copyLog(source, target, {
      force: values.force === true,
      batchSize,
      shouldStop: () => stopRequested,
      onProgress: (progress) => {
        last = progress
        print(progress)
      },
    })
    if (last !== undefined) print(last, true)
    if (result.clearedTarget) process.stderr.write(`store:copy: --force: deleted the target's earlier events\n`)
    if (result.resumedFrom > 0) process.stderr.write(`store:copy: resumed after position ${number(result.resumedFrom)} (copied by an earlier run)\n`)
    if (result.interrupted) {
      process.stderr.write(`store:copy: interrupted after ${number(last?.done ?? 0)} of ${number(last?.total ?? 0)} events; run the same command again to continue\n`)
      process.exitCode = 130
      return
    }
    process.stderr.write(`store:copy: copied ${number(result.copiedNow)} events; verifying…\n`)
    const v = await verifyCopy(source, target, result.until)
    const out = [
      `verification of positions 1…${number(result.until)}: ${v.ok ? 'OK' : 'MISMATCH'}`,
      `  source  ${source.description}: ${number(v.source.events)} events in ${number(v.source.streams)} streams, sha256 ${v.source.digest}`,
      `  target  ${target.description}: ${number(v.target.events)} events in ${number(v.target.streams)} streams, sha256 ${v.target.digest}`,
      `  events per stream: ${v.streamMismatchCount === 0 ? `equal in all ${number(v.source.streams)} streams` : `${number(v.streamMismatchCount)} streams differ`}`,
      ...v.streamMismatches.map(([stream, a, b]) => `    ${stream}: source ${a}, target ${b}`),
      ...(v.targetHead !== v.source.head ? [`  the target's head is ${number(v.targetHead)}, the source's ${number(v.source.head)}: something else wrote to the target`] : []),
    ]
    process.stdout.write(`${out.join('\n')}\n`)
    if (!v.ok) process.exitCode = 1
  } catch (error) {
    if (error instanceof CopyRefusedError) {
      process.exitCode = 2
      process.stderr.write(`store:copy: refused: ${error.message}\n`)
    } else {
      throw error
    }
  } finally {
    await Promise.all([source.close(), target.close()])
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`\nstore:copy: failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(3)
})
