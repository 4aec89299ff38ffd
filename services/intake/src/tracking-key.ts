import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** At least 256 bits: the key keeps keyed tracking codes unpredictable. */
const MIN_KEY_BYTES = 32

/** Decodes a configured tracking key (hex or base64). */
export function decodeTrackingKey(text: string): Uint8Array {
  const trimmed = text.trim()
  const key = /^[0-9a-f]+$/i.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(`the tracking key must hold at least ${MIN_KEY_BYTES} bytes (64 hex characters); create one with: openssl rand -hex 32`)
  }
  return key
}

/**
 * Reads the tracking key kept beside the data, creating it on first start. Every intake that shares
 * the data must use the same key, or a retried request would get a different tracking code.
 */
export function loadOrCreateTrackingKey(file: string): { key: Uint8Array; created: boolean } {
  if (existsSync(file)) return { key: decodeTrackingKey(readFileSync(file, 'utf8')), created: false }
  mkdirSync(dirname(file), { recursive: true })
  const key = randomBytes(MIN_KEY_BYTES)
  // 'wx': never overwrite a key another process created a moment ago.
  try {
    writeFileSync(file, `${key.toString('hex')}\n`, { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { key: decodeTrackingKey(readFileSync(file, 'utf8')), created: false }
    throw error
  }
  chmodSync(file, 0o600)
  return { key, created: true }
}
