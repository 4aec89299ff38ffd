// The case statuses as the dashboard API states them (`statuses` of the overview and of a
// directorate's view: every status in lifecycle order, and whether it is still open). The console
// keeps only their Turkish names (labels.js); which statuses exist, their order and which are open
// come from the server.

/** @typedef {{ code: string, open: boolean }} StatusInfo */

/**
 * The status codes to list: the server's, in its order, then any code the counts name that the
 * server did not list (shown rather than lost).
 * @param {ReadonlyArray<StatusInfo> | undefined} statuses
 * @param {Readonly<Record<string, number>> | undefined} counts
 * @returns {string[]}
 */
export function statusCodes(statuses, counts) {
  const codes = (statuses ?? []).map((status) => status.code)
  const listed = new Set(codes)
  return [...codes, ...Object.keys(counts ?? {}).filter((code) => !listed.has(code))]
}

/**
 * The cases counted in open statuses and in answered ones (every status the server lists as not
 * open); codes the server did not list count in neither.
 * @param {ReadonlyArray<StatusInfo> | undefined} statuses
 * @param {Readonly<Record<string, number>> | undefined} counts
 * @returns {{ open: number, answered: number }}
 */
export function countByOpen(statuses, counts) {
  let open = 0
  let answered = 0
  for (const status of statuses ?? []) {
    const n = counts?.[status.code]
    if (typeof n !== 'number') continue
    if (status.open) open += n
    else answered += n
  }
  return { open, answered }
}
