// The counters a case contributes to (`countersOf`), and how a batch's changes become counter
// deltas cheaply: per shared counter part, only for the parts that differ.
import { isOpenStatus as isOpen } from '@civic-desk/contracts'
import { LRUCache } from 'lru-cache'
import type { CaseDoc } from './case-document.ts'

/** Counter scope of all cases, and of the cases received on one Istanbul day. */
export const ALL_SCOPE = 'all'
export const dayScope = (day: string): string => `day:${day}`

/**
 * The counter fields a case contributes 1 to, per scope. Counting is then a set difference:
 * whatever a change removes from this set is decremented, whatever it adds is incremented, so
 * every counter stays the number of cases with that property whatever order statuses come in.
 */
export function countersOf(doc: CaseDoc): Map<string, string[]> {
  const open = isOpen(doc.status)
  const all = ['total', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
  const day = ['submitted', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
  if (doc.department !== null) {
    const d = doc.department
    all.push(`department:${d}`, `dept:${d}|status:${doc.status}`)
    day.push(`department:${d}`)
    if (doc.category !== null) all.push(`dept:${d}|category:${doc.category}`)
    if (open) {
      all.push(`dept:${d}|open`)
      if (doc.escalated) all.push(`dept:${d}|escalated`)
      if (doc.breached) all.push(`dept:${d}|breached`)
    }
  }
  if (doc.category !== null) {
    all.push(`category:${doc.category}`)
    day.push(`category:${doc.category}`)
  }
  if (doc.neighbourhood !== null) {
    const n = doc.neighbourhood
    all.push(`neighbourhood:${n}`, `nb:${n}|total`)
    day.push(`neighbourhood:${n}`)
    if (open) all.push(`nb:${n}|open`)
    if (doc.category !== null) all.push(`nb:${n}|category:${doc.category}`)
  }
  if (open) all.push('open')
  if (open && doc.escalated) all.push('escalated')
  return new Map([
    [ALL_SCOPE, all],
    [dayScope(doc.day), day],
  ])
}

function addDelta(counters: Map<string, Map<string, number>>, scope: string, field: string, delta: number): void {
  let fields = counters.get(scope)
  if (fields === undefined) counters.set(scope, (fields = new Map()))
  const next = (fields.get(field) ?? 0) + delta
  if (next === 0) fields.delete(field)
  else fields.set(field, next)
}

/**
 * The counter fields of `countersOf`, in four disjoint parts that each depend on a few
 * properties, built once per combination and shared: a rebuild would otherwise build and hash
 * some thirty strings per case and batch. Each part holds the fields of both scopes.
 */
interface CounterPart {
  readonly all: readonly string[]
  readonly day: readonly string[]
}
const NO_FIELDS: CounterPart = { all: [], day: [] }

class PartCache {
  // A Map, not lru-cache: an LRUCache allocates its whole capacity up front, here once per trie node (4× the rebuild's CPU when tried).
  private readonly next = new Map<string, PartCache>()
  part: CounterPart | undefined
  at(key: string): PartCache {
    let node = this.next.get(key)
    if (node === undefined) {
      if (this.next.size > 10_000) this.next.clear()
      this.next.set(key, (node = new PartCache()))
    }
    return node
  }
}
const FLAGS = ['--', '-b', 'e-', 'eb'] as const
const flagsOf = (doc: CaseDoc): string => FLAGS[(doc.escalated ? 2 : 0) + (doc.breached ? 1 : 0)]!
const statusParts = new PartCache()
const departmentParts = new PartCache()
const categoryParts = new PartCache()
const neighbourhoodParts = new PartCache()
const dayScopes = new LRUCache<string, string>({ max: 100_000 })

function cachedDayScope(day: string): string {
  let scope = dayScopes.get(day)
  if (scope === undefined) dayScopes.set(day, (scope = dayScope(day)))
  return scope
}

/** The fields of `countersOf(doc)` as its four parts (see CounterPart). */
function statusPart(doc: CaseDoc): CounterPart {
  const node = statusParts.at(doc.status).at(doc.channel).at(doc.kind).at(doc.escalated ? 'e' : '-')
  if (node.part === undefined) {
    const open = isOpen(doc.status)
    const all = ['total', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`]
    if (open) all.push('open')
    if (open && doc.escalated) all.push('escalated')
    node.part = { all, day: ['submitted', `status:${doc.status}`, `channel:${doc.channel}`, `kind:${doc.kind}`] }
  }
  return node.part
}

function departmentPart(doc: CaseDoc): CounterPart {
  const d = doc.department
  if (d === null) return NO_FIELDS
  const node = departmentParts.at(d).at(doc.status).at(doc.category ?? '').at(flagsOf(doc))
  if (node.part === undefined) {
    const all = [`department:${d}`, `dept:${d}|status:${doc.status}`]
    if (doc.category !== null) all.push(`dept:${d}|category:${doc.category}`)
    if (isOpen(doc.status)) {
      all.push(`dept:${d}|open`)
      if (doc.escalated) all.push(`dept:${d}|escalated`)
      if (doc.breached) all.push(`dept:${d}|breached`)
    }
    node.part = { all, day: [`department:${d}`] }
  }
  return node.part
}

function categoryPart(doc: CaseDoc): CounterPart {
  if (doc.category === null) return NO_FIELDS
  const node = categoryParts.at(doc.category)
  node.part ??= { all: [`category:${doc.category}`], day: [`category:${doc.category}`] }
  return node.part
}

function neighbourhoodPart(doc: CaseDoc): CounterPart {
  const n = doc.neighbourhood
  if (n === null) return NO_FIELDS
  const open = isOpen(doc.status)
  const node = neighbourhoodParts.at(n).at(open ? 'open' : '-').at(doc.category ?? '')
  if (node.part === undefined) {
    const all = [`neighbourhood:${n}`, `nb:${n}|total`]
    if (open) all.push(`nb:${n}|open`)
    if (doc.category !== null) all.push(`nb:${n}|category:${doc.category}`)
    node.part = { all, day: [`neighbourhood:${n}`] }
  }
  return node.part
}

const COUNTER_PARTS = [statusPart, departmentPart, categoryPart, neighbourhoodPart] as const

/**
 * Counter parts added and removed by a batch, counted per part (and day scope) before any field
 * is touched: the cases of a batch share most parts, so each distinct part's fields are counted
 * once per batch instead of once per case.
 */
export class PartTally {
  private readonly all = new Map<CounterPart, number>()
  private readonly days = new Map<string, Map<CounterPart, number>>()

  add(part: CounterPart, dayScopeName: string, delta: number): void {
    if (part.all.length > 0) this.all.set(part, (this.all.get(part) ?? 0) + delta)
    if (part.day.length > 0) {
      let parts = this.days.get(dayScopeName)
      if (parts === undefined) this.days.set(dayScopeName, (parts = new Map()))
      parts.set(part, (parts.get(part) ?? 0) + delta)
    }
  }

  into(counters: Map<string, Map<string, number>>): void {
    for (const [part, n] of this.all) if (n !== 0) for (const f of part.all) addDelta(counters, ALL_SCOPE, f, n)
    for (const [scope, parts] of this.days) for (const [part, n] of parts) if (n !== 0) for (const f of part.day) addDelta(counters, scope, f, n)
  }
}

/**
 * Tallies what changing `before` into `after` does to the counters: the fields of `before` less
 * one, those of `after` plus one — per part, and only for the parts that differ (a field in both
 * nets zero, so the deltas are those of the set difference of `countersOf`).
 */
export function diffCounters(tally: PartTally, before: CaseDoc | null, after: CaseDoc): void {
  const afterScope = cachedDayScope(after.day)
  if (before === null) {
    for (const partOf of COUNTER_PARTS) tally.add(partOf(after), afterScope, 1)
    return
  }
  const beforeScope = cachedDayScope(before.day)
  const sameDay = before.day === after.day
  for (const partOf of COUNTER_PARTS) {
    const was = partOf(before)
    const is = partOf(after)
    if (was === is && sameDay) continue
    tally.add(was, beforeScope, -1)
    tally.add(is, afterScope, 1)
  }
}

/** The counted properties of two documents are the same (then so are their counter fields). */
export function sameCounted(a: CaseDoc, b: CaseDoc): boolean {
  return (
    a.status === b.status &&
    a.channel === b.channel &&
    a.kind === b.kind &&
    a.department === b.department &&
    a.category === b.category &&
    a.neighbourhood === b.neighbourhood &&
    a.escalated === b.escalated &&
    a.breached === b.breached &&
    a.day === b.day
  )
}
