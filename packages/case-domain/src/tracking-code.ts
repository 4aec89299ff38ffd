import { hash } from 'node:crypto'

/**
 * Tracking codes are read out over the phone, so the alphabet leaves out characters that look or
 * sound alike (0/O, 1/I/L) and letters Turkish speakers do not use (Q, W). 29 symbols: a prime, so
 * a weighted check character catches every single wrong character and every swap of two characters.
 */
export const TRACKING_ALPHABET = '23456789ABCDEFGHJKMNPRSTUVXYZ'
const BASE = TRACKING_ALPHABET.length // 29
/** Data characters: 29^10 ≈ 2^48.6 possible codes. */
export const TRACKING_DATA_LENGTH = 10
const CODE_LENGTH = TRACKING_DATA_LENGTH + 1
/** Multiplicative inverse of the check character's weight (11) modulo 29: 11 × 8 = 88 ≡ 1. */
const INVERSE_OF_CHECK_WEIGHT = 8

const valueOf = new Map([...TRACKING_ALPHABET].map((c, i) => [c, i] as const))

function weightedSum(values: readonly number[]): number {
  let sum = 0
  values.forEach((v, i) => { sum = (sum + (i + 1) * v) % BASE })
  return sum
}

function checkValue(data: readonly number[]): number {
  // Chosen so that the weighted sum of all eleven characters is 0 mod 29.
  return ((BASE - weightedSum(data)) * INVERSE_OF_CHECK_WEIGHT) % BASE
}

/** 29^5: five characters' worth of values, drawn from one 32-bit word. */
const HALF_SPACE = BASE ** 5

/**
 * Turns at least 8 bytes of randomness (or of a keyed digest) into a tracking code in its
 * canonical form, e.g. `K7MA-4PXR-9TK`. Each half of the code comes from one 32-bit word
 * (2^32 / 29^5 ≈ 209, so the modulo bias is below 0.5 %), which keeps this hot path free of BigInt.
 */
export function trackingCodeFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 8) throw new RangeError('a tracking code needs at least 8 bytes of entropy')
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8)
  const data: number[] = []
  for (const word of [view.getUint32(0), view.getUint32(4)]) {
    let n = word % HALF_SPACE
    for (let i = 0; i < 5; i++) {
      data.push(n % BASE)
      n = Math.floor(n / BASE)
    }
  }
  return format([...data, checkValue(data)])
}

function format(values: readonly number[]): string {
  const chars = values.map((v) => TRACKING_ALPHABET[v]).join('')
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`
}

export type ParsedTrackingCode =
  | { readonly ok: true; readonly code: string }
  | { readonly ok: false; readonly reason: 'length' | 'character' | 'check' }

/**
 * Accepts a code as a person typed it (any case, spaces or dashes anywhere) and returns its
 * canonical form, or why it cannot be a tracking code.
 */
export function parseTrackingCode(input: string): ParsedTrackingCode {
  // Plain toUpperCase, not the Turkish locale: a typed "i" must not become "İ".
  const compact = input.toUpperCase().replace(/[\s-]/g, '')
  if (compact.length !== CODE_LENGTH) return { ok: false, reason: 'length' }
  const values: number[] = []
  for (const c of compact) {
    const v = valueOf.get(c)
    if (v === undefined) return { ok: false, reason: 'character' }
    values.push(v)
  }
  if (weightedSum(values) !== 0) return { ok: false, reason: 'check' }
  return { ok: true, code: format(values) }
}

/** Namespace of case ids derived from tracking codes (a fixed, random UUID), as bytes. */
const CASE_ID_NAMESPACE = Buffer.from('5d0c4b7e2a514f0e9b8e6c1f3f0d2a77', 'hex')

/**
 * The case id belonging to a tracking code: a name-based UUID (RFC 9562 version 5, SHA-1) in our
 * namespace. Deriving it means a citizen's code leads straight to the case stream with no index,
 * and the store's "stream must not exist" check makes codes unique.
 */
export function caseIdForTrackingCode(code: string): string {
  return uuidV5(CASE_ID_NAMESPACE, code)
}

/** A name-based UUID (RFC 9562 version 5, SHA-1) of `name` in `namespace` (16 bytes). */
export function uuidV5(namespace: Buffer, name: string): string {
  // One-shot crypto.hash: this runs on every submission and look-up.
  const digest = hash('sha1', Buffer.concat([namespace, Buffer.from(name, 'utf8')]), 'buffer')
  digest[6] = (digest[6]! & 0x0f) | 0x50 // version 5
  digest[8] = (digest[8]! & 0x3f) | 0x80 // RFC variant
  const hex = digest.toString('hex', 0, 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}
