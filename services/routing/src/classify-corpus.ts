/**
 * The labelled routing corpus (`services/routing/corpus/`) and the measurement of a classifier
 * on it: how often the directorate and the category a description is routed to are the ones a
 * person chose. `pnpm bench:routing` prints the report; `classify-corpus.unit.test.ts` fails
 * when accuracy drops below the thresholds.
 *
 * The corpus has two parts: `tune.jsonl`, which the keyword rules were tuned on, and
 * `holdout.jsonl`, which was written at the same time and never looked at while tuning, so the
 * gap between the two shows how much of the accuracy is fitted to the tuned messages.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import type { Catalogue } from '@civic-desk/contracts'
import type { Classifier } from './classify.ts'

/** The corpus files: the tuned part and the held-out part. */
export const CORPUS_FILES = {
  tune: fileURLToPath(new URL('../corpus/tune.jsonl', import.meta.url)),
  holdout: fileURLToPath(new URL('../corpus/holdout.jsonl', import.meta.url)),
} as const

/** Which part of the corpus a message belongs to. */
export type CorpusPart = keyof typeof CORPUS_FILES

const EntrySchema = z.strictObject({
  id: z.string().min(1),
  text: z.string().min(1),
  department: z.string().min(1),
  category: z.string().min(1),
})

/** One labelled message: a citizen's description and where a person would route it. */
export interface CorpusEntry extends z.infer<typeof EntrySchema> {
  readonly part: CorpusPart
}

/**
 * Reads one part of the corpus (JSON Lines) and checks each entry against the catalogue: the
 * category must exist and belong to the labelled directorate, so a renamed code or a wrong label
 * is an error here rather than a silent miss in the numbers.
 */
export function loadCorpus(catalogue: Catalogue, part: CorpusPart, file: string = CORPUS_FILES[part]): CorpusEntry[] {
  const departmentOf = new Map(catalogue.categories.map((c) => [c.code, c.department]))
  const entries: CorpusEntry[] = []
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return
      const where = `${file}:${i + 1}`
      const parsed = EntrySchema.safeParse(JSON.parse(line))
      if (!parsed.success) throw new Error(`${where}: ${z.prettifyError(parsed.error)}`)
      const entry = parsed.data
      const department = departmentOf.get(entry.category)
      if (department === undefined) throw new Error(`${where}: unknown category "${entry.category}"`)
      if (department !== entry.department) throw new Error(`${where}: category "${entry.category}" belongs to "${department}", not "${entry.department}"`)
      entries.push({ ...entry, part })
    })
  return entries
}

/** Both parts of the corpus, tuned first. */
export function loadWholeCorpus(catalogue: Catalogue): CorpusEntry[] {
  return [...loadCorpus(catalogue, 'tune'), ...loadCorpus(catalogue, 'holdout')]
}

/** Where a message went, as routing would send it: the best match, else the fallback directorate without a category. */
export interface Outcome {
  readonly entry: CorpusEntry
  readonly department: string
  /** `null` when nothing matched (the fallback). */
  readonly category: string | null
}

/** A frequent mistake: how often `expected` went to `got`, with one message that did. */
export interface Confusion {
  readonly expected: string
  readonly got: string
  readonly count: number
  readonly example: CorpusEntry
}

/** Accuracy of one directorate: of the messages labelled with it, how many reached it. */
export interface DepartmentAccuracy {
  readonly department: string
  readonly total: number
  readonly correctDepartment: number
  readonly correctCategory: number
}

/** The measurement of a set of messages. */
export interface CorpusReport {
  readonly total: number
  readonly correctDepartment: number
  readonly correctCategory: number
  /** 0..1 */
  readonly departmentAccuracy: number
  /** 0..1 */
  readonly categoryAccuracy: number
  /** In catalogue order. */
  readonly byDepartment: readonly DepartmentAccuracy[]
  /** Directorate mistakes, most frequent first. */
  readonly departmentConfusions: readonly Confusion[]
  /** Category mistakes (including those within the right directorate), most frequent first. */
  readonly categoryConfusions: readonly Confusion[]
  readonly outcomes: readonly Outcome[]
}

/** Label of an unmatched message in the category confusions. */
export const NO_CATEGORY = '(none)'

/** Runs every entry through the classifier and counts. `fallbackDepartment` as in routing's options. */
export function evaluateCorpus(
  classifier: Classifier,
  catalogue: Catalogue,
  entries: readonly CorpusEntry[],
  fallbackDepartment: string,
): CorpusReport {
  const outcomes: Outcome[] = entries.map((entry) => {
    const best = classifier.classify(entry.text)[0]
    return best === undefined
      ? { entry, department: fallbackDepartment, category: null }
      : { entry, department: best.category.department, category: best.category.code }
  })
  const correctDepartment = outcomes.filter((o) => o.department === o.entry.department).length
  const correctCategory = outcomes.filter((o) => o.category === o.entry.category).length
  const byDepartment = catalogue.departments
    .map((d) => {
      const mine = outcomes.filter((o) => o.entry.department === d.code)
      return {
        department: d.code,
        total: mine.length,
        correctDepartment: mine.filter((o) => o.department === d.code).length,
        correctCategory: mine.filter((o) => o.category === o.entry.category).length,
      }
    })
    .filter((d) => d.total > 0)
  const ratio = (n: number): number => (outcomes.length === 0 ? 1 : n / outcomes.length)
  return {
    total: outcomes.length,
    correctDepartment,
    correctCategory,
    departmentAccuracy: ratio(correctDepartment),
    categoryAccuracy: ratio(correctCategory),
    byDepartment,
    departmentConfusions: confusions(outcomes.map((o) => [o.entry.department, o.department, o.entry])),
    categoryConfusions: confusions(outcomes.map((o) => [o.entry.category, o.category ?? NO_CATEGORY, o.entry])),
    outcomes,
  }
}

function confusions(pairs: ReadonlyArray<readonly [string, string, CorpusEntry]>): Confusion[] {
  const found = new Map<string, { expected: string; got: string; count: number; example: CorpusEntry }>()
  for (const [expected, got, entry] of pairs) {
    if (expected === got) continue
    const key = `${expected}\u0000${got}`
    const known = found.get(key)
    if (known === undefined) found.set(key, { expected, got, count: 1, example: entry })
    else known.count++
  }
  return [...found.values()].sort((a, b) => b.count - a.count || a.expected.localeCompare(b.expected) || a.got.localeCompare(b.got))
}
