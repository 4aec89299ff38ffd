/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): reading and writing the `traceparent`
 * and `tracestate` headers. Written here rather than taken from `@opentelemetry/core`'s
 * propagator: every process parses them, exporting or not, and the propagator would load the
 * OpenTelemetry context machinery into processes that never export a span.
 */
import { randomFillSync } from 'node:crypto'

/** The position of a span in a trace, as `traceparent` carries it. */
export interface TraceContext {
  /** 32 lower-case hex digits, never all zero. */
  readonly traceId: string
  /** 16 lower-case hex digits, never all zero: the span this context names. */
  readonly spanId: string
  /** The `sampled` flag: whether the caller records this trace (we record it only if so). */
  readonly sampled: boolean
  /** The caller's `tracestate`, passed on unchanged (vendor data we do not read). */
  readonly tracestate?: string
}

const HEX32 = /^[0-9a-f]{32}$/
const HEX16 = /^[0-9a-f]{16}$/
const HEX2 = /^[0-9a-f]{2}$/
const ZERO32 = '0'.repeat(32)
const ZERO16 = '0'.repeat(16)
/** Longest `tracestate` passed on: 32 list members of the spec's sizes fit; more is dropped, not cut. */
const MAX_TRACESTATE = 512
/** Printable ASCII without the characters the spec never allows in a list (no controls). */
const TRACESTATE = /^[\x20-\x7e]*$/

/**
 * Reads a `traceparent` header. Null for anything the spec says to ignore: a repeated header,
 * version `ff`, upper-case or non-hex digits, wrong lengths, an all-zero trace or parent id, or a
 * version-00 value with anything after it. A later version is read by its first four fields, as
 * the spec asks, when what follows them starts with `-`.
 */
export function parseTraceparent(header: string | readonly string[] | undefined, tracestate?: string | readonly string[]): TraceContext | null {
  if (typeof header !== 'string') return null
  if (header.length < 55 || header.length > 512) return null
  const version = header.slice(0, 2)
  if (!HEX2.test(version) || version === 'ff') return null
  if (version === '00' ? header.length !== 55 : header.length > 55 && header[55] !== '-') return null
  if (header[2] !== '-' || header[35] !== '-' || header[52] !== '-') return null
  const traceId = header.slice(3, 35)
  const spanId = header.slice(36, 52)
  const flags = header.slice(53, 55)
  if (!HEX32.test(traceId) || traceId === ZERO32 || !HEX16.test(spanId) || spanId === ZERO16 || !HEX2.test(flags)) return null
  const state = saneTracestate(tracestate)
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1, ...(state === undefined ? {} : { tracestate: state }) }
}

/** A `tracestate` worth passing on; several headers are joined with `,` as the spec allows. */
function saneTracestate(header: string | readonly string[] | undefined): string | undefined {
  const joined = typeof header === 'string' ? header : header === undefined ? undefined : header.join(',')
  if (joined === undefined || joined.length === 0 || joined.length > MAX_TRACESTATE || !TRACESTATE.test(joined)) return undefined
  return joined
}

/** The `traceparent` of a context (version 00). */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? '01' : '00'}`
}

// Ids come from a pool of random bytes refilled 512 ids at a time: one syscall per few hundred
// spans instead of one per span.
const POOL = Buffer.alloc(8 * 512)
let poolOffset = POOL.length

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (poolOffset + bytes > POOL.length) {
      randomFillSync(POOL)
      poolOffset = 0
    }
    const hex = POOL.toString('hex', poolOffset, poolOffset + bytes)
    poolOffset += bytes
    if (hex !== zero) return hex
  }
}

/** A new random trace id (16 bytes as hex). */
export const newTraceId = (): string => randomHex(16, ZERO32)
/** A new random span id (8 bytes as hex). */
export const newSpanId = (): string => randomHex(8, ZERO16)
