/**
 * `pnpm privacy:destroy-due [--dry-run] [--data-dir D]`
 *
 * Periodic destruction by hand: destroys the personal data of every closed case whose retention
 * period (infra/catalogue: `personalDataRetention`) ran out, under one destruction-log entry
 * (reason `retention-expired`), and appends `PersonalDataErased` to each case. `--dry-run` lists
 * what would go and writes nothing. Uses the event store, key store and destruction log the
 * services use (CIVIC_DATA_DIR, CIVIC_EVENT_STORE, CIVIC_PG_URL, CIVIC_PG_SCHEMA, CIVIC_MASTER_KEY,
 * CIVIC_CATALOGUE_FILE). Exit codes: 0 done, 1 failed, 2 usage or configuration error.
 */
import { parseArgs } from 'node:util'
import { checkMasterKeyFound, cliSettings, loadCliCatalogue, openCliEventStore, progressLine, runCli, stderrLogger, UsageError } from './cli-support.ts'
import { openConfiguredPrivacy, privacySettingsOf } from './configured.ts'
import { destroyDue, type DestroyDueProgress } from './periodic.ts'
import { dueCases, scanRetentionFacts } from './retention.ts'

const USAGE = `usage: pnpm privacy:destroy-due [--dry-run] [--data-dir D]

  Saklama süresi dolan kapalı vakaların kişisel verilerini imha eder (tek imha kaydı).
  Destroys the personal data of closed cases whose retention period ran out (one destruction entry).
  --dry-run     imha edilecekleri listeler, hiçbir şey yazmaz / lists what would go, writes nothing
  --data-dir D  veri klasörü / the data folder (default CIVIC_DATA_DIR, else ./data)`

const number = (n: number): string => n.toLocaleString('tr-TR')

function progressPrinter(): (p: DestroyDueProgress) => void {
  const line = progressLine()
  return (p) => {
    if (p.phase === 'scan') line(`tarama / scanning: ${number(p.events)} olay / events (konum / position ${number(p.position)} / ${number(p.head)})`, p.position >= p.head)
    else line(`imha / destroying: ${number(p.done)} / ${number(p.total)} vaka / cases`, p.done === p.total)
  }
}

async function main(): Promise<void> {
  let values: { 'dry-run'?: boolean; 'data-dir'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({ options: { 'dry-run': { type: 'boolean' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }))
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const dryRun = values['dry-run'] === true
  const settings = cliSettings(process.env, values['data-dir'])
  const catalogue = loadCliCatalogue(settings.catalogueFile)
  const opened = await openCliEventStore(settings)
  const out = (text: string) => process.stdout.write(`${text}\n`)
  try {
    out(`olay deposu / event store: ${opened.kind} ${opened.target}`)
    const now = new Date()
    if (dryRun) {
      // A dry run needs only the log: the key store and the destruction log are not even opened,
      // so nothing (not even a new key store file) is written.
      const progress = progressPrinter()
      const facts = await scanRetentionFacts(opened.store, { onProgress: (p) => progress({ phase: 'scan', ...p }) })
      const due = dueCases(facts, catalogue, now)
      out(`KURU ÇALIŞMA / DRY RUN: hiçbir şey yazılmadı / nothing was written`)
      out(`${number(facts.length)} vaka tarandı / cases scanned; ${number(due.length)} vakanın kişisel verileri imha edilecek / cases would have their personal data destroyed`)
      if (due.length > 0) {
        out('vaka / case\tkategori / category\tkapanış / closed\tsaklama sonu / retention ended')
        for (const d of due) out(`${d.caseId}\t${d.category ?? '-'}\t${d.closedAt}\t${d.dueAt}`)
      }
      return
    }
    checkMasterKeyFound(settings)
    const privacy = await openConfiguredPrivacy(privacySettingsOf(settings), { dataDir: settings.dataDir, logger: stderrLogger })
    try {
      out(`anahtar deposu / key store: ${privacy.kind} ${privacy.target}`)
      const result = await destroyDue({ keys: privacy.keys, log: privacy.log, store: opened.store, catalogue, now: () => new Date(), onProgress: progressPrinter() })
      if (result.pendingCompleted > 0) out(`yarım kalan ${result.pendingCompleted} imha tamamlandı / ${result.pendingCompleted} interrupted destructions completed first`)
      out(`${number(result.cases)} vaka tarandı / cases scanned`)
      if (result.entry === null) {
        out('saklama süresi dolan vaka yok; imha kaydı yazılmadı / nothing due; no destruction entry written')
        return
      }
      out(`${number(result.due.length)} vakanın kişisel verileri imha edildi / cases had their personal data destroyed`)
      out(`imha kaydı / destruction entry: ${result.entry.id} (${result.entry.startedAt} – ${result.entry.completedAt ?? ''})`)
      const withoutKey = result.outcome?.withoutKey.length ?? 0
      if (withoutKey > 0) {
        out(
          `UYARI / WARNING: ${number(withoutKey)} vakanın veri anahtarı yoktu (şifrelenmeden yazılmış eski olaylar): görünümlerde silinmiş sayılırlar, ama olay günlüğündeki açık metin ancak günlüğün çevrimdışı yeniden yazılmasıyla gider / ${number(withoutKey)} cases had no data key (events written before sealing): see docs/privacy.md, "Old events"`,
        )
      }
    } finally {
      await privacy.close()
    }
  } finally {
    await opened.store.close()
  }
}

runCli('privacy:destroy-due', main)
