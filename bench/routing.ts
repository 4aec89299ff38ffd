// pnpm bench:routing — how well free text is routed: the labelled corpus
// (services/routing/corpus/, ≥ 300 Turkish citizen messages) through the routing classifier,
// with the accuracy of directorate and category overall and per directorate, and the confusion
// pairs (expected → got, how often, one example each), for the whole corpus, the tuned part and
// the held-out part (never tuned on: the gap between them shows over-fitting).
//
// Options (env): CIVIC_CATALOGUE_FILE (default infra/catalogue/catalogue.json), BENCH_VERBOSE=1
// (every miss, not only the confusion pairs). Targets: ≥ 95 % directorate, ≥ 85 % category
// on the whole corpus (checked by services/routing/src/classify-corpus.unit.test.ts).
import { createClassifier } from '../services/routing/src/classify.ts'
import { evaluateCorpus, loadCorpus, type Confusion, type CorpusEntry, type CorpusReport } from '../services/routing/src/classify-corpus.ts'
import { DEFAULT_ROUTING_OPTIONS } from '../services/routing/src/plan.ts'
import { defaultCatalogueFile, loadCatalogue } from '../packages/service-kit/src/index.ts'

const catalogue = loadCatalogue(process.env.CIVIC_CATALOGUE_FILE ?? defaultCatalogueFile)
const classifier = createClassifier(catalogue)
const verbose = process.env.BENCH_VERBOSE === '1'
const say = (line = ''): void => void process.stdout.write(`${line}\n`)
const pct = (n: number, of: number): string => (of === 0 ? '   –  ' : `${((100 * n) / of).toFixed(1).padStart(5)} %`)
const short = (text: string): string => (text.length > 90 ? `${text.slice(0, 87)}…` : text)

function printConfusions(title: string, list: readonly Confusion[]): void {
  say(`  ${title}${list.length === 0 ? ': none' : ''}`)
  for (const c of list) say(`    ${String(c.count).padStart(3)} × ${c.expected} → ${c.got}   e.g. ${c.example.id} "${short(c.example.text)}"`)
}

function print(title: string, report: CorpusReport): void {
  say(`== ${title}: ${report.total} messages`)
  say(`  directorate ${pct(report.correctDepartment, report.total)} (${report.correctDepartment}/${report.total})   category ${pct(report.correctCategory, report.total)} (${report.correctCategory}/${report.total})`)
  say('  per directorate            messages  directorate   category')
  for (const d of report.byDepartment) {
    say(`    ${d.department.padEnd(24)} ${String(d.total).padStart(6)}   ${pct(d.correctDepartment, d.total)}    ${pct(d.correctCategory, d.total)}`)
  }
  printConfusions('directorate confusions (expected → got)', report.departmentConfusions)
  printConfusions('category confusions (expected → got)', report.categoryConfusions)
  if (verbose) {
    say('  every miss')
    for (const o of report.outcomes) {
      if (o.category !== o.entry.category) say(`    ${o.entry.id} ${o.entry.category} → ${o.category ?? '(none)'}: ${o.entry.text}`)
    }
  }
  say()
}

const tune: CorpusEntry[] = loadCorpus(catalogue, 'tune')
const holdout: CorpusEntry[] = loadCorpus(catalogue, 'holdout')
const evaluate = (entries: readonly CorpusEntry[]): CorpusReport => evaluateCorpus(classifier, catalogue, entries, DEFAULT_ROUTING_OPTIONS.fallbackDepartment)

print('whole corpus', evaluate([...tune, ...holdout]))
print('tuned part', evaluate(tune))
print('held-out part (never tuned on)', evaluate(holdout))
