/**
 * Turkish free text made comparable, for every place that matches what people typed: routing's
 * keywords and duplicate detection, the dashboards' neighbourhoods. One rule, so a neighbourhood
 * that routing treats as one place is one row on the dashboards too.
 */

const FOLD: Readonly<Record<string, string>> = { ç: 'c', ğ: 'g', ı: 'i', ö: 'o', ş: 's', ü: 'u', â: 'a', î: 'i', û: 'u' }

/**
 * Lower-cases by Turkish rules ("IŞIK" → "ışık", never "işik") and folds Turkish letters to their
 * ASCII look-alikes, so text typed without Turkish letters ("cukur", "isik") matches too.
 */
export function foldTurkish(text: string): string {
  return text.toLocaleLowerCase('tr-TR').replace(/[çğıöşüâîû]/g, (c) => FOLD[c] ?? c)
}

/** Words of a text after folding: letters and digits only. */
export function words(text: string): string[] {
  return foldTurkish(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0)
}

/** "mahallesi", "mah", "mh" at the end of a folded neighbourhood name (after punctuation is gone). */
const NEIGHBOURHOOD_SUFFIX = / (?:mahallesi|mah|mh)$/

/**
 * A neighbourhood name as written by anyone: Turkish-folded, punctuation gone, spaces collapsed,
 * a trailing "Mahallesi" / "Mah." / "Mh." dropped ("Kazımdirik Mahallesi" = "kazımdirik mah." =
 * "kazimdirik"). Empty when nothing is left.
 */
export function normalizeNeighbourhood(name: string): string {
  return words(name).join(' ').replace(NEIGHBOURHOOD_SUFFIX, '')
}
