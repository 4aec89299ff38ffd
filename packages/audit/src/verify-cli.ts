/**
 * `pnpm audit:verify --store <sqlite file | postgres url> [--public-key <pem>] [--checkpoint <json>]…`
 * `pnpm audit:verify --bundle <file> [--public-key <pem>]`
 *
 * The offline verifier (verify.ts). It reads only: the store's rows as stored, or one bundle file.
 * Exit codes: 0 everything holds; 1 a problem was found (named on stderr: stream, revision, what
 * differs); 2 a usage error or a location that cannot be read.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { KeyObject } from 'node:crypto'
import { BulkLogLocationError, openBulkLog, type BulkLog } from '@civic-desk/event-store'
import { Checkpoint, publicKeyFromPem } from './checkpoint.ts'
import { AuditProblem, verifyBundle, verifyStore } from './verify.ts'

const USAGE = `kullanım / usage:
  pnpm audit:verify --store <sqlite dosyası | postgres://…[?schema=ad]> [--public-key <pem dosyası>] [--checkpoint <json dosyası>]…
  pnpm audit:verify --bundle <denetim paketi dosyası> [--public-key <pem dosyası>]

  --store       her akışın özet zincirini, olaylardan yeniden kurulan Merkle ağacını ve her imzalı
                kontrol noktasını doğrular. Açık anahtar verilmezse SQLite deposunun yanındaki
                audit-public-key.pem kullanılır (yayımlanan anahtarla karşılaştırın).
  --checkpoint  başka yerde saklanan (yazdırılmış, e-postayla gönderilmiş) bir kontrol noktası:
                depo hâlâ onu sürdürmeli (kesilmiş ya da yeniden yazılmış bir günlük yakalanır).
  --bundle      tek bir başvurunun denetim paketini yalnızca dosyanın kendisiyle doğrular.`

function fail(message: string, code = 2): never {
  process.stderr.write(`audit:verify: ${message}\n`)
  process.exit(code)
}

const number = (n: number): string => n.toLocaleString('tr-TR')

function readKey(file: string): KeyObject {
  if (!existsSync(file)) fail(`${file} yok (no such file)`)
  try {
    return publicKeyFromPem(readFileSync(file, 'utf8'), file)
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
}

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) fail(`${what} ${file} yok (no such file)`)
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown
  } catch (error) {
    return fail(`${what} ${file} JSON değil: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function reportProblem(problem: AuditProblem): never {
  process.stderr.write(`\nSORUN BULUNDU / PROBLEM FOUND\n  yer:   ${problem.where}\n  sorun: ${problem.what}\n`)
  process.exit(1)
}

async function main(): Promise<void> {
  let values: { store?: string; bundle?: string; 'public-key'?: string; checkpoint?: string[]; help?: boolean }
  try {
    ;({ values } = parseArgs({
      options: { store: { type: 'string' }, bundle: { type: 'string' }, 'public-key': { type: 'string' }, checkpoint: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }))
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if ((values.store === undefined) === (values.bundle === undefined)) fail(`--store ya da --bundle verin (birini)\n${USAGE}`)
  const givenKey = values['public-key'] === undefined ? undefined : readKey(resolve(values['public-key']))

  if (values.bundle !== undefined) {
    const file = resolve(values.bundle)
    const bundle = readJson(file, 'denetim paketi')
    try {
      const result = verifyBundle(bundle, { publicKey: givenKey })
      const c = result.checkpoint
      process.stdout.write(
        [
          `DOĞRULANDI: ${file}`,
          `  başvuru ${result.caseId}: ${result.events} olay, zincir bütün, her olay imzalı kontrol noktasına dahil`,
          `  kontrol noktası: ${number(c.treeSize)} olay, kök ${c.rootHash}, ${c.issuedAt}`,
          `  imzalayan anahtar: ${result.keyId}${result.keyPinned ? ' (--public-key ile verilen)' : ' (paketin içindeki; belediyenin yayımladığı anahtar kimliğiyle karşılaştırın ya da --public-key verin)'}`,
          '',
        ].join('\n'),
      )
    } catch (error) {
      if (error instanceof AuditProblem) reportProblem(error)
      throw error
    }
    return
  }

  const location = values.store as string
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(location)
  let key = givenKey
  let keyNote = key === undefined ? '' : ` (${values['public-key'] ?? ''})`
  if (key === undefined && !isUrl) {
    const beside = join(dirname(resolve(location)), 'audit-public-key.pem')
    if (existsSync(beside)) {
      key = readKey(beside)
      keyNote = ` (${beside}: deponun yanındaki; yayımlanan anahtarla karşılaştırın ya da --public-key verin)`
    }
  }
  const pinned = (values.checkpoint ?? []).map((file) => {
    const parsed = Checkpoint.safeParse(readJson(resolve(file), 'kontrol noktası'))
    if (!parsed.success) fail(`${file} bir kontrol noktası değil (GET /v1/audit/checkpoints'ın verdiği nesnelerden biri olmalı): ${parsed.error.issues[0]?.message ?? ''}`)
    return parsed.data
  })
  let log: BulkLog
  try {
    log = await openBulkLog(isUrl ? location : resolve(location), { role: 'source', defaultSchema: process.env.CIVIC_PG_SCHEMA ?? 'civic' })
  } catch (error) {
    if (error instanceof BulkLogLocationError) fail(error.message)
    return fail(`${location} okunamıyor: ${error instanceof Error ? error.message : String(error)}`)
  }
  const tty = process.stderr.isTTY
  const started = performance.now()
  try {
    const result = await verifyStore(log, {
      publicKey: key,
      pinned,
      onProgress: (done, total) => {
        const seconds = (performance.now() - started) / 1000
        const line = `${number(done)} / ${number(total)} olay doğrulandı (${number(Math.round(done / Math.max(seconds, 0.001)))} olay/sn)`
        process.stderr.write(tty ? `\r${line}` : `${line}\n`)
      },
    })
    if (tty) process.stderr.write('\n')
    const last = result.lastCheckpoint
    process.stdout.write(
      [
        `DOĞRULANDI: ${log.description}`,
        `  ${number(result.events)} olay, ${number(result.streams)} akış: her akışın özet zinciri bütün`,
        `  ${number(result.checkpoints)} imzalı kontrol noktası, Merkle ağacı olaylardan yeniden kuruldu ve her birinin köküyle aynı${result.signaturesChecked ? `; imzalar geçerli${keyNote}` : ''}`,
        ...(result.signaturesChecked ? [] : ['  UYARI: açık anahtar verilmedi, imzalar DOĞRULANMADI (--public-key <dosya>)']),
        ...(result.pinned > 0 ? [`  ${result.pinned} sabitlenmiş kontrol noktasını depo değiştirmeden sürdürüyor`] : []),
        ...(last === undefined ? ['  UYARI: henüz imzalı kontrol noktası yok'] : [`  son kontrol noktası: ${number(last.treeSize)} olay, kök ${last.rootHash}, ${last.issuedAt}`]),
        ...(result.uncovered > 0 ? [`  son kontrol noktasından sonraki ${number(result.uncovered)} olay zincirli ama henüz imza altında değil (en geç bir dakika içinde kapsanır)`] : []),
        ...(result.unchained > 0 ? [`  ${number(result.unchained)} olay zincirden önce kaydedilmiş (özet başlığı yok; Merkle ağacında içerikleriyle yer alır)`] : []),
        `  ${result.seconds.toFixed(1)} sn, ${number(Math.round(result.events / Math.max(result.seconds, 0.001)))} olay/sn`,
        '',
      ].join('\n'),
    )
  } catch (error) {
    if (tty) process.stderr.write('\n')
    if (error instanceof AuditProblem) reportProblem(error)
    throw error
  } finally {
    await log.close()
  }
}

main().catch((error: unknown) => fail(`beklenmeyen hata: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 2))
