import { LRUCache } from 'lru-cache'
import { words } from '@civic-desk/case-domain'
import type { Catalogue, Category } from '@civic-desk/contracts'

/**
 * Turkish free text → catalogue category, for requests that arrive without one (a WhatsApp message,
 * a call-centre note). Pure: the catalogue's keywords are the only knowledge.
 *
 * Matching has to survive how people really write:
 *  - Turkish case rules: "ÇUKUR", "Çukur", "çukur" are one word, and "IŞIK" lower-cases to "ışık",
 *    not "işik" (so the Turkish locale is used, never the default one);
 *  - text typed without Turkish letters ("cukur", "isik", "copler"): after lower-casing, ç ğ ı ö ş ü
 *    are folded to c g i o s u on both sides (`words` in @civic-desk/case-domain);
 *  - suffixes: Turkish glues them on ("çukurlar", "çukurda", "çukurları"), so a keyword matches the
 *    start of a word. Keywords of three letters or fewer ("su", "yol", "kar") would then match far
 *    too much ("sunum", "yolcu", "karar"); they match a whole word or the word plus a common suffix.
 */

/** Common noun suffixes (folded) a short keyword may carry and still be the same word. */
const SHORT_WORD_SUFFIXES = new Set([
  'lar', 'ler', 'i', 'u', 'yi', 'yu', 'a', 'e', 'ya', 'ye', 'da', 'de', 'ta', 'te', 'dan', 'den', 'tan', 'ten',
  'in', 'un', 'nin', 'nun', 'si', 'su', 'lari', 'leri', 'larda', 'lerde', 'lardan', 'lerden', 'muz', 'miz', 'umuz', 'imiz',
])
const SHORT_KEYWORD = 3

function wordMatches(word: string, keyword: string): boolean {
  if (!word.startsWith(keyword)) return false
  if (keyword.length > SHORT_KEYWORD) return true
  return word.length === keyword.length || SHORT_WORD_SUFFIXES.has(word.slice(keyword.length))
}

/** Does the keyword (one word or a phrase) occur in the folded word list? The last word of a phrase may carry suffixes. */
function occurs(textWords: readonly string[], keywordWords: readonly string[]): boolean {
  const n = keywordWords.length
  outer: for (let start = 0; start + n <= textWords.length; start++) {
    for (let k = 0; k < n; k++) {
      const word = textWords[start + k]!
      const keyword = keywordWords[k]!
      const last = k === n - 1
      if (last ? !wordMatches(word, keyword) : word !== keyword) continue outer
    }
    return true
  }
  return false
}

export interface CategoryMatch {
  readonly category: Category
  /** Keywords found, as written in the catalogue. */
  readonly matched: readonly string[]
  /** One point per keyword, one more per extra word of a phrase (a phrase is stronger evidence). */
  readonly score: number
}

/** A catalogue prepared for classification: keywords folded and split once, not per request. */
export interface Classifier {
  /** Categories whose keywords occur in the text, best first; empty when nothing matched. */
  classify(text: string): readonly CategoryMatch[]
}

export function createClassifier(catalogue: Catalogue): Classifier {
  const prepared = catalogue.categories.map((category, order) => ({
    category,
    order,
    keywords: category.keywords.map((keyword) => ({ keyword, words: words(keyword) })).filter((k) => k.words.length > 0),
  }))
  // The index (to file a just-submitted case) and the router ask about the same text one after
  // the other: the last answers are remembered, frozen, by text. Bounded: the least recently asked go first.
  const remembered = new LRUCache<string, readonly CategoryMatch[]>({ max: 1024 })
  const classify = (text: string): CategoryMatch[] => {
    const textWords = words(text)
    const matches: Array<CategoryMatch & { readonly order: number; readonly matchedLength: number }> = []
    for (const { category, order, keywords } of prepared) {
      const matched = keywords.filter((k) => occurs(textWords, k.words))
      if (matched.length === 0) continue
      matches.push({
        category,
        order,
        matched: matched.map((k) => k.keyword),
        score: matched.reduce((sum, k) => sum + k.words.length, 0),
        matchedLength: matched.reduce((sum, k) => sum + k.keyword.length, 0),
      })
    }
    // Higher score first; then more matched text (longer keywords are more specific); then catalogue order.
    matches.sort((a, b) => b.score - a.score || b.matchedLength - a.matchedLength || a.order - b.order)
    return matches.map(({ category, matched, score }) => Object.freeze({ category, matched: Object.freeze(matched), score }))
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
