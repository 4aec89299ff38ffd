/** The value at percentile `p` (0–100, nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/** Median and 90th percentile of durations (nearest-rank), or nulls when there are none. */
export function percentiles(durations: readonly number[]): { count: number; medianMs: number | null; p90Ms: number | null } {
  if (durations.length === 0) return { count: 0, medianMs: null, p90Ms: null }
  const sorted = [...durations].sort((a, b) => a - b)
  return { count: sorted.length, medianMs: percentile(sorted, 50), p90Ms: percentile(sorted, 90) }
}
