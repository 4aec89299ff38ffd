/**
 * The check of one range of the global log, as a verifier thread runs it: every event's hash
 * recomputed from its stored bytes, its link to the stream's previous event in the range, and
 * revisions without gaps; its leaf hash computed for the Merkle tree. A stream whose first event
 * in the range is not its revision 0 is left open (`entries`) and joined by the caller to the
 * range before (`exits`).
 */
// The package's light entry points: a verifier thread loads no store client it does not use.
import type { StoredRow, StoredRowArray } from '@civic-desk/event-store/bulk-log'
import { GENESIS_HASH, eventHash, unwrapMetadata } from '@civic-desk/event-store/integrity'
import { CHECKPOINT_EVENT_TYPE, CHECKPOINT_STREAM } from './checkpoint.ts'

export const short = (hash: string): string => `${hash.slice(0, 16)}…`

export const whereOf = (row: { readonly streamId: string; readonly revision: number; readonly position: number }): string => `${row.streamId} akışı, sıra ${row.revision} (konum ${row.position})`

/** A problem found in a range: the first, by position. */
export interface RangeProblem {
  readonly position: number
  readonly where: string
  readonly what: string
}

/** A stream's first event in a range whose earlier events lie in an earlier range. */
export type StreamEntry = readonly [streamId: string, revision: number, prev: string | null, position: number]
/** A stream's last event in a range. */
export type StreamExit = readonly [streamId: string, revision: number, link: string]

/** One page of a range, as sent to the thread that builds the tree. */
export interface RangePage {
  readonly count: number
  readonly positions: Float64Array
  /** Leaf hashes (32 bytes each). */
  readonly leaves: Uint8Array
  /** The latest recorded time (ms) up to each event, within this range. */
  readonly recorded: Float64Array
  /** Streams whose first event in the range is not their revision 0, at their index in the page: joined by the caller. */
  readonly entries: readonly { readonly at: number; readonly entry: StreamEntry }[]
  /** Events of this page that are checkpoints: their index in the page and the stored row. */
  readonly checkpoints: readonly { readonly at: number; readonly row: StoredRow }[]
  /** The event hash of the range's first event (the log id is made from the log's first). */
  readonly firstLink?: string
}

export interface RangeSummary {
  readonly exits: StreamExit[]
  readonly firstChained: number | null
  readonly firstUnchained: number | null
  readonly unchained: number
}

interface StreamState {
  revision: number
  link: string
}

export class RangeChecker {
  private readonly streams = new Map<string, StreamState>()
  private pageEntries: { at: number; entry: StreamEntry }[] = []
  /** Index in the page of the row being checked. */
  private index = 0
  private firstChained: number | null = null
  private firstUnchained: number | null = null
  private unchained = 0
  private lastPosition: number
  private runningText = ''
  private runningMs = 0
  private first = true

  constructor(after: number) {
    this.lastPosition = after
  }

  /** Checks a page of rows; returns it as a page for the tree, or the first problem. */
  page(rows: readonly StoredRowArray[]): { readonly page: RangePage; readonly problem?: undefined } | { readonly page: RangePage; readonly problem: RangeProblem } {
    const n = rows.length
    const positions = new Float64Array(n)
    // Its own memory (not the shared pool): the page's buffers are handed to the tree's thread.
    const leaves = Buffer.allocUnsafeSlow(n * 32)
    const recorded = new Float64Array(n)
    const checkpoints: { at: number; row: StoredRow }[] = []
    const entries: { at: number; entry: StreamEntry }[] = []
    this.pageEntries = entries
    let firstLink: string | undefined
    for (let i = 0; i < n; i++) {
      const row = rows[i]!
      this.index = i
      const link = this.check(row)
      if (typeof link !== 'string') {
        return { page: { count: i, positions: positions.subarray(0, i), leaves: leaves.subarray(0, i * 32), recorded: recorded.subarray(0, i), entries, checkpoints, ...(firstLink === undefined ? {} : { firstLink }) }, problem: link }
      }
      if (this.first) {
        firstLink = link
        this.first = false
      }
      const [position, streamId, revision, eventId, type, data, metadata, recordedAt] = row
      positions[i] = position
      // The event hash is its leaf hash in the audit tree (integrity.ts).
      leaves.write(link, i * 32, 'hex')
      // ISO-8601 UTC texts of one store compare as their instants do; parsed only when they grow.
      if (recordedAt > this.runningText) {
        this.runningText = recordedAt
        this.runningMs = Date.parse(recordedAt) || this.runningMs
      }
      recorded[i] = this.runningMs
      if (streamId === CHECKPOINT_STREAM && type === CHECKPOINT_EVENT_TYPE) checkpoints.push({ at: i, row: { position, streamId, revision, eventId, type, data, metadata, recordedAt } })
    }
    return { page: { count: n, positions, leaves, recorded, entries, checkpoints, ...(firstLink === undefined ? {} : { firstLink }) } }
  }

  summary(): RangeSummary {
    return {
      exits: [...this.streams].map(([streamId, state]) => [streamId, state.revision, state.link] as const),
      firstChained: this.firstChained,
      firstUnchained: this.firstUnchained,
      unchained: this.unchained,
    }
  }

  /** The event's link hash, or the problem with it. */
  private check(row: StoredRowArray): string | RangeProblem {
    const [position, streamId, revision, eventId, type, data, metadata] = row
    if (position <= this.lastPosition) return problemAt(row, `konumu bir öncekinden (${this.lastPosition}) büyük değil`)
    this.lastPosition = position
    const stream = this.streams.get(streamId)
    const unwrapped = unwrapMetadata(metadata)
    let prev: string | null
    if (stream !== undefined) {
      const expected = stream.revision + 1
      if (revision !== expected) return problemAt(row, revisionProblem(expected, revision))
      prev = stream.link
    } else if (revision === 0) {
      prev = GENESIS_HASH
    } else {
      // Its earlier events are in an earlier range: the caller joins them.
      prev = null
      this.pageEntries.push({ at: this.index, entry: [streamId, revision, unwrapped?.prev ?? null, position] })
    }
    let link: string
    if (unwrapped === undefined) {
      if (metadata.startsWith('{"integrity"')) return problemAt(row, 'üst verisindeki bütünlük başlığı bozuk')
      if (this.firstChained !== null) return problemAt(row, 'bütünlük başlığı yok, oysa zincir daha önce başlamış: başlık silinmiş ya da olay sonradan eklenmiş')
      this.unchained += 1
      this.firstUnchained ??= position
      link = eventHash(streamId, revision, eventId, type, GENESIS_HASH, data, metadata)
    } else {
      this.firstChained ??= position
      if (prev !== null && unwrapped.prev !== prev) {
        return problemAt(row, `önceki olay özeti ${short(unwrapped.prev)} diyor, ama akışın önceki olayının özeti ${short(prev)}: önceki olay değiştirilmiş, silinmiş ya da bu olay başka yerden taşınmış`)
      }
      const computed = eventHash(streamId, revision, eventId, type, unwrapped.prev, data, unwrapped.meta)
      if (computed !== unwrapped.hash) return problemAt(row, `içeriğin özeti ${short(computed)}, kayıtlı özet ${short(unwrapped.hash)}: verisi, üst verisi, kimliği, türü ya da sırası değiştirilmiş`)
      link = unwrapped.hash
    }
    if (stream === undefined) this.streams.set(streamId, { revision, link })
    else {
      stream.revision = revision
      stream.link = link
    }
    return link
  }
}

function problemAt(row: StoredRowArray, what: string): RangeProblem {
  return { position: row[0], where: whereOf({ streamId: row[1], revision: row[2], position: row[0] }), what }
}

export function revisionProblem(expected: number, found: number): string {
  return found > expected
    ? `akışta ${expected}${found - 1 > expected ? `–${found - 1}` : ''} sıralı olay${found - 1 > expected ? 'lar' : ''} yok: silinmiş ya da yeri değiştirilmiş`
    : `beklenen sıra ${expected}: olaylar yer değiştirmiş ya da araya olay eklenmiş`
}
