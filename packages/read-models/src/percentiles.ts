/** Median and 90th percentile of durations (nearest-rank), or nulls when there are none. */
export function percentiles(durations: readonly number[]): { count: number; medianMs: number | null; p90Ms: number | null } {
  if (durations.length === 0) return { count: 0, medianMs: null, p90Ms: null }
  const sorted = [...durations].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
  return { count: sorted.length, medianMs: rank(0.5), p90Ms: rank(0.9) }
}
