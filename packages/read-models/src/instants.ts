// Instants and Istanbul days of stored events, fast: a rebuild parses several million instants
// and puts each case on a municipal day.
import { LRUCache } from 'lru-cache'
import { DateTime } from 'luxon'

/** Time zone of the municipality: days of the counters and of the CSV export. */
export const ZONE = 'Europe/Istanbul'

/**
 * Days by UTC hour. Istanbul's offset has always been whole hours and changed only on the hour,
 * so every instant of one UTC hour falls on the same Istanbul day: one zone conversion per hour
 * instead of one per event (luxon's zone maths dominated the rebuild otherwise).
 */
const dayOfHour = new LRUCache<number, string>({ max: 100_000 })

/** Europe/Istanbul day (YYYY-MM-DD) of an instant. */
export function istanbulDay(iso: string | number): string {
  const ms = typeof iso === 'number' ? iso : parseInstant(iso)
  if (!Number.isFinite(ms)) return 'invalid'
  const hour = Math.floor(ms / 3600_000)
  let day = dayOfHour.get(hour)
  if (day === undefined) {
    day = DateTime.fromMillis(hour * 3600_000, { zone: ZONE }).toISODate() ?? 'invalid'
    dayOfHour.set(hour, day)
  }
  return day
}

/** Epoch ms of each UTC hour `YYYY-MM-DDTHH` met (as a number YYYYMMDDHH), as Date.parse gives it. */
const hourStarts = new LRUCache<number, number>({ max: 100_000 })

/**
 * `Date.parse(iso)`, faster for the form every stored instant has (`toISOString()`:
 * `YYYY-MM-DDTHH:mm:ss.sssZ`): the hour from a cache, minutes, seconds and milliseconds added.
 * Anything else goes to Date.parse. A rebuild parses several million instants.
 */
export function parseInstant(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(10) !== 84 /* T */) return Date.parse(iso)
  let hourKey = 0
  for (let i = 0; i < 13; i++) {
    if (i === 4 || i === 7) {
      if (iso.charCodeAt(i) !== 45 /* - */) return Date.parse(iso)
      continue
    }
    if (i === 10) continue
    const digit = iso.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return Date.parse(iso)
    hourKey = hourKey * 10 + digit
  }
  if (iso.charCodeAt(13) !== 58 || iso.charCodeAt(16) !== 58 || iso.charCodeAt(19) !== 46) return Date.parse(iso)
  const m1 = iso.charCodeAt(14) - 48
  const m2 = iso.charCodeAt(15) - 48
  const s1 = iso.charCodeAt(17) - 48
  const s2 = iso.charCodeAt(18) - 48
  const f1 = iso.charCodeAt(20) - 48
  const f2 = iso.charCodeAt(21) - 48
  const f3 = iso.charCodeAt(22) - 48
  if (m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9 || s1 < 0 || s1 > 5 || s2 < 0 || s2 > 9 || f1 < 0 || f1 > 9 || f2 < 0 || f2 > 9 || f3 < 0 || f3 > 9) return Date.parse(iso)
  let start = hourStarts.get(hourKey)
  if (start === undefined) {
    start = Date.parse(`${iso.slice(0, 13)}:00:00.000Z`)
    hourStarts.set(hourKey, start)
  }
  return start + (m1 * 10 + m2) * 60_000 + (s1 * 10 + s2) * 1000 + f1 * 100 + f2 * 10 + f3
}
