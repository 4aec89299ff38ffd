/**
 * The master key: the one secret that wraps every data key. It comes from `CIVIC_MASTER_KEY` (64 hex
 * digits or the base64 of 32 bytes); standalone without it creates one in the data folder and says
 * loudly that this is for development only. The key store remembers the master key's fingerprint,
 * so a wrong key stops the start instead of wrapping new keys under it.
 */
import { createHmac } from 'node:crypto'
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { KEY_BYTES, newKey } from './cipher.ts'

/** A master key and its fingerprint (safe to log and to store beside the keys it wraps). */
export interface MasterKey {
  readonly key: Buffer
  readonly fingerprint: string
}

/** The master key given cannot be used. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError'
}

/** 16 hex digits that name a master key without revealing it. */
export function fingerprintOf(key: Buffer): string {
  return createHmac('sha256', key).update('civic-desk master key fingerprint').digest('hex').slice(0, 16)
}

/** Reads a master key written as 64 hex digits or as the base64 of 32 bytes. */
export function parseMasterKey(text: string): MasterKey {
  const trimmed = text.trim()
  let key: Buffer | undefined
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex')
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64')
  if (key?.length !== KEY_BYTES) {
    throw new MasterKeyError(`the master key must be ${KEY_BYTES} bytes written as 64 hex digits or in base64 (e.g. the output of: openssl rand -hex 32)`)
  }
  return { key, fingerprint: fingerprintOf(key) }
}

/** A new random master key, in the form `parseMasterKey` reads. */
export function newMasterKeyText(): string {
  return newKey().toString('hex')
}

/**
 * The master key kept in a file (standalone without `CIVIC_MASTER_KEY`): read it, or create it
 * (owner-only permissions) when the file does not exist. `created` tells the caller to warn.
 */
export function loadOrCreateMasterKeyFile(file: string): MasterKey & { readonly created: boolean } {
  if (existsSync(file)) {
    try {
      return { ...parseMasterKey(readFileSync(file, 'utf8')), created: false }
    } catch (error) {
      throw new MasterKeyError(`the master key file ${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  mkdirSync(dirname(file), { recursive: true })
  const text = newMasterKeyText()
  // Written whole under a temporary name, then linked into place: link never replaces a file, so
  // when several services of one host start together, one key wins and every one reads that one.
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`
  writeFileSync(temporary, `${text}\n`, { mode: 0o600, flag: 'wx' })
  try {
    linkSync(temporary, file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return { ...parseMasterKey(readFileSync(file, 'utf8')), created: false }
  } finally {
    unlinkSync(temporary)
  }
  chmodSync(file, 0o600)
  return { ...parseMasterKey(text), created: true }
}
