/**
 * The key store port: each case's data key, kept apart from the event log and wrapped under the
 * master key, and the subject index that finds a person's cases by a keyed hash of their phone
 * number or e-mail address. Destroying a case's key is the erasure: every sealed field of the case,
 * wherever a copy of it went, no longer opens. A destroyed key leaves a tombstone, so no new key
 * is ever made for an erased case.
 *
 * Adapters: SQLite (standalone, `keys.sqlite` in the data folder) and PostgreSQL (distributed).
 */
import { createHmac } from 'node:crypto'
import { newKey, unwrapKey, wrapKey } from './cipher.ts'
import type { MasterKey } from './master-key.ts'

/** What the store knows of a case's data key. */
export type DataKeyLookup =
  | { readonly state: 'active'; readonly key: Buffer }
  | { readonly state: 'destroyed'; readonly destroyedAt: string; readonly destructionId: string }
  | { readonly state: 'none' }

/** The outcome of `destroy`, case by case. */
export interface DestroyOutcome {
  /** Cases whose key this call destroyed. */
  readonly destroyed: readonly string[]
  /** Cases whose key was destroyed before (a repeated erasure is a no-op). */
  readonly alreadyDestroyed: readonly string[]
  /** Cases that had no key: a tombstone now keeps one from being made. */
  readonly withoutKey: readonly string[]
}

/** How a person is found: a phone number or an e-mail address, as the citizen gave it. */
export type SubjectIdentifier = { readonly kind: 'phone'; readonly value: string } | { readonly kind: 'email'; readonly value: string }

export interface KeyStore {
  /** Fingerprint of the master key the data keys are wrapped under. */
  readonly masterFingerprint: string
  /**
   * The case's data key, made and stored durably first when the case has none (so the key of an
   * event's sealed fields is on disk before the event is appended), with the subjects of the case
   * (its applicant's phone and e-mail) indexed in the same commit. Throws `DataKeyDestroyedError`
   * for a case whose key was destroyed.
   */
  keyFor(caseId: string, subjects?: readonly SubjectIdentifier[]): Promise<Buffer>
  /** The case's data key if there is one; never makes one. */
  lookup(caseId: string): Promise<DataKeyLookup>
  /**
   * Destroys the keys of the cases (overwriting the wrapped bytes, not only unlinking them) and
   * forgets their subjects, in one transaction. `destructionId` names the destruction-log entry.
   */
  destroy(caseIds: readonly string[], destructionId: string, at: Date): Promise<DestroyOutcome>
  /** The keyed hash under which a subject is indexed (never the identifier itself). */
  subjectHash(subject: SubjectIdentifier): string
  /** Records that these subjects (phone, e-mail of the applicant) appear in the case. Idempotent. */
  addSubjects(caseId: string, subjects: readonly SubjectIdentifier[]): Promise<void>
  /** The cases a subject appears in (erased cases no longer do), in no particular order. */
  casesOf(subject: SubjectIdentifier): Promise<string[]>
  /**
   * Rewraps every data key (and the subject index key) under a new master key, in one
   * transaction: either every key moves to the new master key or none does.
   */
  rotateMasterKey(next: MasterKey, onProgress?: (done: number, total: number) => void): Promise<{ readonly rewrapped: number }>
  close(): Promise<void>
}

/** The case's data key was destroyed: its personal data is erased. */
export class DataKeyDestroyedError extends Error {
  override readonly name = 'DataKeyDestroyedError'
  constructor(
    readonly caseId: string,
    readonly destroyedAt: string,
  ) {
    super(`the personal data of case ${caseId} was erased on ${destroyedAt}: its data key is destroyed`)
  }
}

/** The key store cannot be opened or used (wrong master key, damaged file, database down). */
export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError'
}

/**
 * A phone number or e-mail address in one form, so that "0532 123 45 67", "+90 (532) 123-45-67"
 * and "905321234567" are one person, and "Ayşe@Örnek.com.tr" and "ayşe@örnek.com.tr" too.
 * Turkish national forms (0 + 10 digits, or 10 digits starting 5) become +90…; other numbers keep
 * their digits after a leading + or 00.
 */
export function normalizeSubject(subject: SubjectIdentifier): string {
  // Root-locale lower case: "INFO@" must stay "info@" (Turkish rules would make it "ınfo@").
  if (subject.kind === 'email') return `email:${subject.value.normalize('NFC').trim().replace(/İ/g, 'i').toLowerCase()}`
  const raw = subject.value.trim()
  const digits = raw.replace(/\D/g, '')
  let international: string
  if (raw.startsWith('+')) international = digits
  else if (digits.startsWith('00')) international = digits.slice(2)
  else if (digits.length === 11 && digits.startsWith('0')) international = `90${digits.slice(1)}`
  else if (digits.length === 10 && digits.startsWith('5')) international = `90${digits}`
  else international = digits
  return `phone:+${international}`
}

/** HMAC-SHA256 of the normalised identifier under the subject index key, hex. */
export function hashSubject(indexKey: Buffer, subject: SubjectIdentifier): string {
  return createHmac('sha256', indexKey).update(normalizeSubject(subject), 'utf8').digest('hex')
}

/** What a wrapped data key is for: binds the wrapping to the case. */
export const dataKeyPurpose = (caseId: string): string => `data-key:${caseId}`
/** What the wrapped subject index key is for. */
export const SUBJECT_KEY_PURPOSE = 'subject-index-key'

/**
 * Reads (or, in a new store, writes) the master key's fingerprint and the wrapped subject index
 * key. A different master key stops here, before anything is written under it.
 */
export function openMeta(
  read: (name: string) => Buffer | undefined,
  write: (name: string, value: Buffer) => void,
  master: MasterKey,
  where: string,
): Buffer {
  const stored = read('master_fingerprint')?.toString('utf8')
  if (stored === undefined) {
    const subjectKey = newKey()
    write('master_fingerprint', Buffer.from(master.fingerprint, 'utf8'))
    write('subject_key', wrapKey(master.key, SUBJECT_KEY_PURPOSE, subjectKey))
    return subjectKey
  }
  if (stored !== master.fingerprint) {
    throw new KeyStoreError(
      `the key store ${where} belongs to master key ${stored}, but the master key given is ${master.fingerprint}: check CIVIC_MASTER_KEY (nothing was changed; after a rotation use the new key)`,
    )
  }
  const wrapped = read('subject_key')
  const subjectKey = wrapped === undefined ? undefined : unwrapKey(master.key, SUBJECT_KEY_PURPOSE, wrapped)
  if (subjectKey === undefined) throw new KeyStoreError(`the key store ${where} has no readable subject index key: the store is damaged`)
  return subjectKey
}
