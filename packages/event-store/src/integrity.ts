/**
 * The hash chain of every stream, computed in one place for every adapter.
 *
 * Each event's metadata, as stored, carries the hash of the previous event of its stream and its
 * own hash. The stored metadata text is the caller's metadata wrapped with a fixed-width header:
 *
 *     {"integrity":{"prev":"<64 hex>","hash":"<64 hex>"},"meta":<the caller's metadata JSON>}
 *
 * and the hash is SHA-256 over a zero byte followed by the UTF-8 bytes of one JSON array, the
 * event's **bytes as stored**:
 *
 *     0x00 ‖ ["civic-desk/event/v1",<stream id>,<revision>,<event id>,<type>,"<prev hash>",<data>,<meta>]
 *
 * The zero byte makes the event hash the RFC 9162 leaf hash of those bytes: it is at once the
 * stream's chain link and the event's leaf in the audit log's Merkle tree (packages/audit), so
 * each event is hashed once.
 * where stream id, event id and type are JSON strings (JSON.stringify), revision a decimal integer,
 * and `<data>` and `<meta>` the stored JSON texts verbatim. This stands in for RFC 8785
 * canonicalisation: the store keeps the exact text that was hashed (SQLite and PostgreSQL `text`
 * columns, EventStoreDB's bytes), so a verifier hashes what it reads, with no parsing and no
 * re-serialisation, and crypto-shredding (destroying a key, never rewriting an event) cannot
 * break it. The first event of a stream has the genesis hash (64 zeros) as its `prev`.
 *
 * Events written before the chain existed have no header; their hash is computed with the genesis
 * `prev` (a verifier reports them) so that the chain of a stream that continues after an upgrade
 * still links to them.
 */
import * as crypto from 'node:crypto'
import type { EventLink } from './port.ts'
import type { SerializedEvent } from './shared.ts'

/** A stored event's place in its stream's chain. */
export interface EventIntegrity {
  /** Hash of the previous event of the stream (the genesis hash for revision 0). */
  readonly prev: string
  /** This event's hash (lower-case hex SHA-256). */
  readonly hash: string
}

export const GENESIS_HASH = '0'.repeat(64)
export const EVENT_HASH_DOMAIN = 'civic-desk/event/v1'

const HEAD = '{"integrity":{"prev":"'
const MID = '","hash":"'
const TAIL = '"},"meta":'
const HASH_AT = HEAD.length + 64 + MID.length
const META_AT = HASH_AT + 64 + TAIL.length
/** Characters of the stored metadata before the caller's metadata starts. */
export const INTEGRITY_HEADER_LENGTH = META_AT

/**
 * Whether appends chain their events. Off only for measuring what the chain costs
 * (`CIVIC_EVENT_HASHING=off`, read once): a store written so fails `pnpm audit:verify`.
 */
export const HASH_CHAIN_ENABLED = process.env.CIVIC_EVENT_HASHING !== 'off'

// crypto.hash (one call, no Hash object) is in Node ≥ 20.12; createHash elsewhere.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: string) => string | Buffer }).hash
export const sha256Hex: (text: string) => string =
  oneShot === undefined ? (text) => crypto.createHash('sha256').update(text).digest('hex') : (text) => oneShot('sha256', text, 'hex') as string

/** The hash of one event from its stored fields (see the file comment for the exact bytes). */
export function eventHash(streamId: string, revision: number, eventId: string, type: string, prev: string, data: string, meta: string): string {
  return sha256Hex(`\u0000["${EVENT_HASH_DOMAIN}",${JSON.stringify(streamId)},${revision},${JSON.stringify(eventId)},${JSON.stringify(type)},"${prev}",${data},${meta}]`)
}

/** The stored metadata text: the caller's metadata under the chain's fixed-width header. */
export function wrapMetadata(meta: string, integrity: EventIntegrity): string {
  return `${HEAD}${integrity.prev}${MID}${integrity.hash}${TAIL}${meta}}`
}

/** A stored metadata text taken apart; undefined when it has no chain header (an event from before the chain). */
export function unwrapMetadata(stored: string): (EventIntegrity & { readonly meta: string }) | undefined {
  if (!stored.startsWith(HEAD) || stored.length <= META_AT || stored.charCodeAt(stored.length - 1) !== 0x7d) return undefined
  if (!stored.startsWith(MID, HASH_AT - MID.length) || !stored.startsWith(TAIL, META_AT - TAIL.length)) return undefined
  return { prev: stored.slice(HEAD.length, HEAD.length + 64), hash: stored.slice(HASH_AT, HASH_AT + 64), meta: stored.slice(META_AT, -1) }
}

/**
 * The hash recorded in the first `INTEGRITY_HEADER_LENGTH` characters of a stored metadata text (a
 * store may read only that much of the previous event), or undefined when there is no header.
 */
export function hashInHeader(head: string): string | undefined {
  if (!head.startsWith(HEAD) || head.length < META_AT) return undefined
  if (!head.startsWith(MID, HASH_AT - MID.length) || !head.startsWith(TAIL, META_AT - TAIL.length)) return undefined
  return head.slice(HASH_AT, HASH_AT + 64)
}

/**
 * SQL (SQLite and PostgreSQL alike: substr and length count characters, and the header is ASCII)
 * for the caller's metadata text of the stored metadata column `column`, for bulk readers.
 */
export function metadataTextSql(column: string, lengthFunction: 'length' | 'char_length'): string {
  return `CASE WHEN substr(${column}, 1, ${HEAD.length}) = '${HEAD}' THEN substr(${column}, ${META_AT + 1}, ${lengthFunction}(${column}) - ${META_AT + 1}) ELSE ${column} END`
}

/** The caller's metadata and the chain link of a stored metadata text, parsed. */
export function readStoredMetadata(stored: string): { readonly metadata: unknown; readonly integrity: EventIntegrity | undefined } {
  const unwrapped = unwrapMetadata(stored)
  if (unwrapped === undefined) return { metadata: JSON.parse(stored) as unknown, integrity: undefined }
  return { metadata: JSON.parse(unwrapped.meta) as unknown, integrity: { prev: unwrapped.prev, hash: unwrapped.hash } }
}

/** One stored event as its text columns hold it. */
export interface StoredEventText {
  readonly streamId: string
  readonly revision: number
  readonly eventId: string
  readonly type: string
  readonly data: string
  readonly metadata: string
}

/**
 * The hash a following event links to: the stored hash of a chained event, or, for an event from
 * before the chain, its hash computed with the genesis `prev`.
 */
export function linkHashOf(event: StoredEventText): string {
  const unwrapped = unwrapMetadata(event.metadata)
  if (unwrapped !== undefined) return unwrapped.hash
  return eventHash(event.streamId, event.revision, event.eventId, event.type, GENESIS_HASH, event.data, event.metadata)
}

/**
 * Chains the new events of one append: `events[i]` gets revision `firstRevision + i`, each links
 * to the one before, the first to `prev`. Returns the events with their stored metadata.
 */
export function chainEvents(streamId: string, firstRevision: number, prev: string, events: readonly SerializedEvent[]): SerializedEvent[] {
  if (!HASH_CHAIN_ENABLED) return [...events]
  let link = prev
  return events.map((event, i) => {
    const hash = eventHash(streamId, firstRevision + i, event.id, event.type, link, event.data, event.metadata)
    const chained = { id: event.id, type: event.type, data: event.data, metadata: wrapMetadata(event.metadata, { prev: link, hash }) }
    link = hash
    return chained
  })
}

/** What is wrong with one stored event's chain link, or undefined when it holds. */
export function chainProblemOf(event: StoredEventText, expectedPrev: string): string | undefined {
  const unwrapped = unwrapMetadata(event.metadata)
  if (unwrapped === undefined) return event.metadata.startsWith(HEAD) ? 'its integrity header is malformed' : 'it has no integrity header'
  if (unwrapped.prev !== expectedPrev) return `it links to ${unwrapped.prev.slice(0, 16)}…, but the stream's previous event hashes to ${expectedPrev.slice(0, 16)}…`
  const computed = eventHash(event.streamId, event.revision, event.eventId, event.type, unwrapped.prev, event.data, unwrapped.meta)
  if (computed !== unwrapped.hash) return `its content hashes to ${computed.slice(0, 16)}…, but it records ${unwrapped.hash.slice(0, 16)}… (data, metadata, id, type or revision changed)`
  return undefined
}

/**
 * SQL selecting what `linkOfRow` needs of the column set of the events table (SQLite and
 * PostgreSQL alike): the metadata's header, and the whole event only when it has none.
 */
export function linkColumnsSql(): string {
  const legacy = `substr(metadata, 1, ${HEAD.length}) <> '${HEAD}'`
  return `substr(metadata, 1, ${META_AT}), CASE WHEN ${legacy} THEN event_id END, CASE WHEN ${legacy} THEN data END, CASE WHEN ${legacy} THEN metadata END`
}

/** A row of `SELECT position, stream_id, revision, type, <data of the stream asked for>, ${linkColumnsSql()}`. */
export type LinkRow = [position: number, streamId: string, revision: number, type: string, data: string | null, head: string, eventId: string | null, legacyData: string | null, legacyMetadata: string | null]

/** The `readLinks` answer for one such row (SQLite and PostgreSQL alike). */
export function eventLinkOfRow([position, streamId, revision, type, data, head, eventId, legacyData, legacyMetadata]: LinkRow): EventLink {
  return {
    position,
    streamId,
    revision,
    type,
    hash: hashInHeader(head) ?? linkHashOf({ streamId, revision, eventId: eventId ?? '', type, data: legacyData ?? 'null', metadata: legacyMetadata ?? head }),
    data: data === null ? undefined : (JSON.parse(data) as unknown),
  }
}
