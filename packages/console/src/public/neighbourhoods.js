// The Mahalleler page's rows: derived from `GET /v1/dashboards/neighbourhoods`, sorted and
// filtered with Turkish collation and case rules. No DOM here, so Node tests load it as served.

/**
 * One neighbourhood as the API answers it.
 * @typedef {{ name: string, total: number, open: number, byCategory?: Record<string, number>, spellings?: string[] }} NeighbourhoodCounts
 */

/**
 * One row of the table: the API's counts plus what follows from them.
 * @typedef {{ name: string, total: number, open: number, done: number, openShare: number, topCategory: string | null, topCategoryCount: number, spellings: string[] }} NeighbourhoodRow
 */

/** @typedef {'name' | 'total' | 'open' | 'done' | 'openShare'} SortKey */
/** @typedef {'ascending' | 'descending'} SortDirection */

/** @param {unknown} value */
const count = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : 0)

/** @param {string} a @param {string} b */
export const compareNames = (a, b) => a.localeCompare(b, 'tr')

/**
 * Rows from the API's list: closed or resolved cases (`done`), the open share and the category
 * with the most cases (ties by code, so the table does not flicker between equals).
 * @param {ReadonlyArray<NeighbourhoodCounts> | undefined} list
 * @returns {NeighbourhoodRow[]}
 */
export function neighbourhoodRows(list) {
  return (list ?? []).map((item) => {
    const total = count(item.total)
    const open = count(item.open)
    let topCategory = null
    let topCategoryCount = 0
    for (const [code, n] of Object.entries(item.byCategory ?? {})) {
      if (count(n) > topCategoryCount || (count(n) === topCategoryCount && topCategory !== null && code < topCategory)) {
        topCategory = code
        topCategoryCount = count(n)
      }
    }
    return {
      name: String(item.name ?? ''),
      total,
      open,
      done: Math.max(0, total - open),
      openShare: total > 0 ? open / total : 0,
      topCategory,
      topCategoryCount,
      spellings: Array.isArray(item.spellings) ? item.spellings.map(String) : [],
    }
  })
}

/** The direction a column sorts in when first chosen: names A→Z, numbers largest first. @param {SortKey} key @returns {SortDirection} */
export function defaultDirection(key) {
  return key === 'name' ? 'ascending' : 'descending'
}

/**
 * A sorted copy: by `key` in `direction`, equal values by name in Turkish order (Ç after C,
 * I before İ, Ö after O…), so the order is stable across updates.
 * @param {ReadonlyArray<NeighbourhoodRow>} rows @param {SortKey} key @param {SortDirection} direction
 */
export function sortRows(rows, key, direction) {
  const sign = direction === 'ascending' ? 1 : -1
  return [...rows].sort((a, b) => {
    const primary = key === 'name' ? compareNames(a.name, b.name) : a[key] - b[key]
    return sign * primary || compareNames(a.name, b.name)
  })
}

/** Lower case by Turkish rules ("İ" → "i", "I" → "ı"). @param {string} text */
const lowerTr = (text) => text.toLocaleLowerCase('tr')

/**
 * The rows whose name (or one of its spellings) contains `query`, ignoring case the Turkish way.
 * @param {ReadonlyArray<NeighbourhoodRow>} rows @param {string} query
 */
export function filterRows(rows, query) {
  const needle = lowerTr(query.trim())
  if (needle === '') return [...rows]
  return rows.filter((row) => [row.name, ...row.spellings].some((name) => lowerTr(name).includes(needle)))
}

/** The `limit` neighbourhoods with the most cases, for the chart. @param {ReadonlyArray<NeighbourhoodRow>} rows @param {number} limit */
export function topRows(rows, limit) {
  return sortRows(rows, 'total', 'descending').slice(0, limit)
}
