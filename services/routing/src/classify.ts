import { LRUCache } from 'lru-cache'
import { words } from '@civic-desk/case-domain'
import type { Catalogue, Category } from '@civic-desk/contracts'

/**
 * Turkish free text → catalogue category, for requests that arrive without one (a WhatsApp message,
 * a call-centre note). Pure: the catalogue's keyword lists are the only knowledge.
 *
 * Matching has to survive how people really write:
 *  - Turkish case rules: "ÇUKUR", "Çukur", "çukur" are one word, and "IŞIK" lower-cases to "ışık",
 *    not "işik" (so the Turkish locale is used, never the default one);
 *  - text typed without Turkish letters ("cukur", "isik", "copler"): after lower-casing, ç ğ ı ö ş ü
 *    are folded to c g i o s u on both sides (`words` in @civic-desk/case-domain);
 *  - suffixes: Turkish glues them on ("çukurlar", "çukurda", "çukurları"), so a keyword matches the
 *    start of a word. Keywords of three letters or fewer ("su", "yol", "kar") would then match far
 *    too much ("sunum", "yolcu", "karar"); they match a whole word or the word plus a common suffix;
 *  - typing slips and spoken forms ("kaldırm", "konteynır", "yanmıyo"): a keyword of six letters or
 *    more also matches a word that starts with it give or take one letter (one letter missing,
 *    extra, changed, or two neighbours swapped), at a lower weight than an exact match.
 *
 * Scoring, per category (see infra/catalogue/README.md for how to write the lists):
 *  - every word of the text counts once, for the strongest keyword of the category that covers
 *    it: 1 for a `keywords` entry (each word of a phrase: "sokak lambası" covers two; a "bir"
 *    between its words is skipped: "ölü bir kedi" is the phrase "ölü kedi"), ½ for a
 *    `weakKeywords` entry, ¾ of that for an inexact match. So "köpekler" matching both "köpek" and
 *    "köpekler" counts once, while a text that names its subject twice counts it twice;
 *  - a category with one of its `notKeywords` in the text is out ("kaldırıma mallarını dizmiş" is
 *    an obstruction, not a broken pavement);
 *  - a category named in the `outranks` list of another matched category is out (a dead cat is also
 *    a cat in the street, but it is the dead-animal team that must come, within 24 hours);
 *  - best first: higher score, then more matched text (longer keywords are more specific), then
 *    catalogue order.
 */

/** Common noun suffixes (folded) a short keyword may carry and still be the same word. */
const SHORT_WORD_SUFFIXES = new Set([
  'lar', 'ler', 'i', 'u', 'yi', 'yu', 'a', 'e', 'ya', 'ye', 'da', 'de', 'ta', 'te', 'dan', 'den', 'tan', 'ten',
  'in', 'un', 'nin', 'nun', 'si', 'su', 'lari', 'leri', 'larda', 'lerde', 'lardan', 'lerden', 'muz', 'miz', 'umuz', 'imiz',
])
const SHORT_KEYWORD = 3
/** Keywords at least this long (folded) also match with one letter off. */
const FUZZY_MIN_LENGTH = 6
const STRONG_WEIGHT = 1
const WEAK_WEIGHT = 0.5
/** An inexact match counts this share of an exact one: a slip is likely, but not certain. */
const FUZZY_FACTOR = 0.75

/** How well a text word matches one keyword word: 1 exact, FUZZY_FACTOR within one edit, 0 not. */
function wordMatch(word: string, keyword: string, last: boolean): number {
  if (last ? word.startsWith(keyword) : word === keyword) {
    if (keyword.length > SHORT_KEYWORD) return 1
    return word.length === keyword.length || SHORT_WORD_SUFFIXES.has(word.slice(keyword.length)) ? 1 : 0
  }
  if (keyword.length < FUZZY_MIN_LENGTH || word.length < keyword.length - 1) return 0
  // Misspellings keep the start of a word: only then is the (small) edit distance computed.
  if (word[0] !== keyword[0] || word[1] !== keyword[1]) return 0
  return withinOneEdit(word, keyword, last) ? FUZZY_FACTOR : 0
}

/**
 * Is `keyword` within one edit (insertion, deletion, substitution, or swap of two neighbours) of
 * `word`, or, when `prefix`, of some start of `word`? Optimal-string-alignment distance over the
 * keyword's rows, stopping as soon as every cell of a row exceeds one.
 */
function withinOneEdit(word: string, keyword: string, prefix: boolean): boolean {
  const m = keyword.length
  const n = prefix ? Math.min(word.length, m + 1) : word.length
  if (!prefix && Math.abs(n - m) > 1) return false
  let before = new Array<number>(n + 1).fill(0)
  let previous = Array.from({ length: n + 1 }, (_, j) => j)
  for (let i = 1; i <= m; i++) {
    const current = new Array<number>(n + 1)
    current[0] = i
    let rowMin = current[0]
    for (let j = 1; j <= n; j++) {
      const cost = keyword[i - 1] === word[j - 1] ? 0 : 1
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      if (i > 1 && j > 1 && keyword[i - 1] === word[j - 2] && keyword[i - 2] === word[j - 1]) d = Math.min(d, before[j - 2]! + 1)
      current[j] = d
      if (d < rowMin) rowMin = d
    }
    if (rowMin > 1) return false
    before = previous
    previous = current
  }
  return prefix ? Math.min(...previous) <= 1 : previous[n]! <= 1
}

interface Term {
  /** As written in the catalogue. */
  readonly keyword: string
  readonly words: readonly string[]
  readonly weight: number
}

/** A text's words, and where the words starting with each two letters are (every match, exact or not, shares them). */
interface Text {
  readonly words: readonly string[]
  readonly byStart: ReadonlyMap<string, readonly number[]>
}

const NO_POSITIONS: readonly number[] = []

function prepareText(text: string): Text {
  const textWords = words(text)
  const byStart = new Map<string, number[]>()
  textWords.forEach((word, i) => {
    const key = word.slice(0, 2)
    const positions = byStart.get(key)
    if (positions === undefined) byStart.set(key, [i])
    else positions.push(i)
  })
  return { words: textWords, byStart }
}

/** Turkish puts "bir" (a, one) between a describing word and its noun ("ölü bir kedi", "hurda bir araç"): a phrase may skip one. */
const ARTICLE = 'bir'

/** Where a term occurs in the text: the positions of the words it covers and the match quality, per occurrence. */
function occurrences(text: Text, term: Term): Array<{ readonly positions: readonly number[]; readonly quality: number }> {
  const textWords = text.words
  const n = term.words.length
  const first = term.words[0]!
  // Only the words that begin like the keyword can match it; a one-letter keyword is looked for everywhere.
  const starts = first.length >= 2 ? (text.byStart.get(first.slice(0, 2)) ?? NO_POSITIONS) : textWords.map((_, i) => i)
  const found: Array<{ positions: number[]; quality: number }> = []
  outer: for (const start of starts) {
    const positions: number[] = []
    let quality = 1
    for (let k = 0, at = start; k < n; k++, at++) {
      if (k > 0 && textWords[at] === ARTICLE && term.words[k] !== ARTICLE) at++
      const word = textWords[at]
      if (word === undefined) continue outer
      const q = wordMatch(word, term.words[k]!, k === n - 1)
      if (q === 0) continue outer
      quality = Math.min(quality, q)
      positions.push(at)
    }
    found.push({ positions, quality })
  }
  return found
}

export interface CategoryMatch {
  readonly category: Category
  /** Keywords found (strong and weak), as written in the catalogue. */
  readonly matched: readonly string[]
  /** The evidence: per text word, the weight of the strongest keyword covering it (see above). */
  readonly score: number
}

/** A catalogue prepared for classification: keywords folded and split once, not per request. */
export interface Classifier {
  /** Categories whose keywords occur in the text, best first; empty when nothing matched. */
  classify(text: string): readonly CategoryMatch[]
}

const toTerms = (keywords: readonly string[] | undefined, weight: number): Term[] =>
  (keywords ?? []).map((keyword) => ({ keyword, words: words(keyword), weight })).filter((k) => k.words.length > 0)

export function createClassifier(catalogue: Catalogue): Classifier {
  const prepared = catalogue.categories.map((category, order) => ({
    category,
    order,
    terms: [...toTerms(category.keywords, STRONG_WEIGHT), ...toTerms(category.weakKeywords, WEAK_WEIGHT)],
    not: toTerms(category.notKeywords, 1),
    outranks: new Set(category.outranks ?? []),
  }))
  // The index (to file a just-submitted case) and the router ask about the same text one after
  // the other: the last answers are remembered, frozen, by text. Bounded: the least recently asked go first.
  const remembered = new LRUCache<string, readonly CategoryMatch[]>({ max: 1024 })
  const classify = (text: string): CategoryMatch[] => {
    const parsed = prepareText(text)
    const textWords = parsed.words
    const matches: Array<CategoryMatch & { readonly order: number; readonly matchedLength: number; readonly outranks: ReadonlySet<string> }> = []
    for (const { category, order, terms, not, outranks } of prepared) {
      if (not.some((term) => occurrences(parsed, term).some((o) => o.quality === 1))) continue
      // Per text word: the weight of the strongest keyword covering it, and that keyword word's length.
      const cover = new Array<number>(textWords.length).fill(0)
      const coverLength = new Array<number>(textWords.length).fill(0)
      const matched: Term[] = []
      for (const term of terms) {
        const found = occurrences(parsed, term)
        if (found.length === 0) continue
        matched.push(term)
        for (const { positions, quality } of found) {
          const weight = term.weight * quality
          for (let k = 0; k < positions.length; k++) {
            const at = positions[k]!
            const length = term.words[k]!.length
            if (weight > cover[at]! || (weight === cover[at] && length > coverLength[at]!)) {
              cover[at] = weight
              coverLength[at] = length
            }
          }
        }
      }
      if (matched.length === 0) continue
      matches.push({
        category,
        order,
        outranks,
        matched: matched.map((k) => k.keyword),
        score: cover.reduce((sum, w) => sum + w, 0),
        matchedLength: coverLength.reduce((sum, n) => sum + n, 0),
      })
    }
    const outranked = new Set(matches.flatMap((m) => [...m.outranks]))
    const standing = matches.filter((m) => !outranked.has(m.category.code))
    // Higher score first; then more matched text (longer keywords are more specific; each text word
    // counted once, so listing a stem and its inflections does not make a category longer); then catalogue order.
    standing.sort((a, b) => b.score - a.score || b.matchedLength - a.matchedLength || a.order - b.order)
    return standing.map(({ category, matched, score }) => Object.freeze({ category, matched: Object.freeze(matched), score }))
  }
  return {
    classify(text) {
      const known = remembered.get(text)
      if (known !== undefined) return known
      const answer = Object.freeze(classify(text))
      remembered.set(text, answer)
      return answer
    },
  }
}
