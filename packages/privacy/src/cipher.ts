/**
 * The two ciphers of crypto-shredding, both AES-256-GCM from node:crypto with a fresh 96-bit nonce
 * per value and what the value belongs to as associated data, so a ciphertext moved to another
 * case or field does not open:
 * - a **personal field** of a case, sealed under the case's data key (associated data: case id and
 *   field name). Destroying the data key makes every copy of the field unreadable: the log, the
 *   topics, the backups.
 * - a **data key**, wrapped under the master key (associated data: what the key is for), so the key
 *   store alone reveals nothing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

/** Bytes of every key here: AES-256. */
export const KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** What a sealed field starts with; the version lets a later scheme live beside this one. */
export const SEALED_PREFIX = 'pd1.'

/** A sealed value that does not open: wrong key, wrong case or field, or damaged bytes. */
export class SealedValueError extends Error {
  override readonly name = 'SealedValueError'
}

function assertKey(key: Buffer, what: string): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${key.length}`)
}

/** A fresh random AES-256 key. */
export function newKey(): Buffer {
  return randomBytes(KEY_BYTES)
}

// Nonces come from a pool of random bytes, refilled 4 KiB at a time: one call to the system's
// random source per 341 nonces instead of one per sealed field. Each nonce is taken once.
const NONCE_POOL_BYTES = 4096 - (4096 % NONCE_BYTES)
let noncePool = Buffer.alloc(0)
let noncePoolAt = 0
function freshNonce(): Buffer {
  if (noncePoolAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES)
    noncePoolAt = 0
  }
  const nonce = noncePool.subarray(noncePoolAt, noncePoolAt + NONCE_BYTES)
  noncePoolAt += NONCE_BYTES
  return nonce
}

function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = freshNonce()
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([nonce, body, cipher.getAuthTag()])
}

function decrypt(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()])
  } catch {
    return undefined
  }
}

// A NUL cannot occur in a case id or a field name, so the pair is unambiguous.
const fieldAad = (caseId: string, field: string): Buffer => Buffer.from(`civic-desk personal field\0${caseId}\0${field}`, 'utf8')

/** True when the value is a sealed field (`pd1.` + base64url), as opposed to clear text. */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX)
}

/** Seals one personal field of a case under the case's data key: `pd1.` + base64url(nonce | ciphertext | tag). */
export function sealField(dataKey: Buffer, caseId: string, field: string, plaintext: string): string {
  assertKey(dataKey, 'a data key')
  return SEALED_PREFIX + encrypt(dataKey, Buffer.from(plaintext, 'utf8'), fieldAad(caseId, field)).toString('base64url')
}

/** Opens a field sealed by `sealField` for the same case and field; throws `SealedValueError` when it does not open. */
export function openField(dataKey: Buffer, caseId: string, field: string, sealed: string): string {
  assertKey(dataKey, 'a data key')
  if (!isSealed(sealed)) throw new SealedValueError(`field ${field} of case ${caseId} is not a sealed value`)
  const plain = decrypt(dataKey, Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url'), fieldAad(caseId, field))
  if (plain === undefined) throw new SealedValueError(`field ${field} of case ${caseId} does not open with this case's data key`)
  return plain.toString('utf8')
}

/** Wraps a key under the master key; `purpose` (e.g. `data-key:<caseId>`) binds it to what it is for. */
export function wrapKey(masterKey: Buffer, purpose: string, key: Buffer): Buffer {
  assertKey(masterKey, 'the master key')
  assertKey(key, 'a wrapped key')
  return encrypt(masterKey, key, Buffer.from(`civic-desk wrapped key\0${purpose}`, 'utf8'))
}

/** Unwraps a key wrapped by `wrapKey` for the same purpose; undefined when the master key or purpose is wrong. */
export function unwrapKey(masterKey: Buffer, purpose: string, wrapped: Buffer): Buffer | undefined {
  assertKey(masterKey, 'the master key')
  const key = decrypt(masterKey, wrapped, Buffer.from(`civic-desk wrapped key\0${purpose}`, 'utf8'))
  return key !== undefined && key.length === KEY_BYTES ? key : undefined
}
