/**
 * Signed checkpoints of the log: at a moment, "the tree of the first `treeSize` events has this
 * root", signed with the installation's Ed25519 key (node:crypto). The signed bytes are a short
 * text, one field per line, so that a checkpoint printed on paper or pasted in an e-mail can be
 * checked by hand against the published public key:
 *
 *     civic-desk audit checkpoint v1
 *     log <log id>
 *     size <tree size>
 *     root <root hash, hex>
 *     position <global position of the last event covered>
 *     time <ISO-8601 UTC instant of signing>
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { z } from 'zod'

export const CHECKPOINT_STREAM = 'audit-checkpoints'
export const CHECKPOINT_EVENT_TYPE = 'AuditCheckpointSigned'
const HEADER = 'civic-desk audit checkpoint v1'

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hash in lower-case hex')

export const Checkpoint = z.strictObject({
  /** Which log: the hash that names this installation's log (see `logIdOf`). */
  logId: z.string().regex(/^[0-9a-f]{32}$/),
  treeSize: z.number().int().positive(),
  rootHash: hex64,
  lastPosition: z.number().int().positive(),
  issuedAt: z.iso.datetime(),
  /** Which key signed it (`keyIdOf`). */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** Ed25519 signature of `checkpointText`, base64. */
  signature: z.string().min(1).max(200),
})
export type Checkpoint = z.infer<typeof Checkpoint>

/** The exact bytes a checkpoint's signature covers. */
export function checkpointText(c: Omit<Checkpoint, 'signature' | 'keyId'>): string {
  return `${HEADER}\nlog ${c.logId}\nsize ${c.treeSize}\nroot ${c.rootHash}\nposition ${c.lastPosition}\ntime ${c.issuedAt}\n`
}

/**
 * The id of a log: from the hash of its first event, so two installations never share one and it
 * needs no setting. (The first event's hash covers its stream, id and content.)
 */
export function logIdOf(firstEventHash: string): string {
  return createHash('sha256').update(`civic-desk/log/v1\n${firstEventHash}`).digest('hex').slice(0, 32)
}

/** The key pair that signs checkpoints. */
export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly keyId: string
  /** The public key as PEM (SubjectPublicKeyInfo), to publish. */
  readonly publicKeyPem: string
}

/** The first 16 hex digits of SHA-256 over the public key's DER (SubjectPublicKeyInfo). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16)
}

/** A signing key from its PKCS#8 PEM text; the error says what was wrong (never the key). */
export function signingKeyFromPem(pem: string, source: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch (error) {
    throw new Error(`${source} is not a private key in PEM (PKCS#8) form: ${error instanceof Error ? error.message : String(error)}. Create one with: openssl genpkey -algorithm ed25519`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${source} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; audit checkpoints are signed with Ed25519 (openssl genpkey -algorithm ed25519)`)
  const publicKey = createPublicKey(privateKey)
  return { privateKey, publicKey, keyId: keyIdOf(publicKey), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

/** A new Ed25519 key pair, as PKCS#8 PEM. */
export function newSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** A public key from PEM (SubjectPublicKeyInfo); the error says what was wrong. */
export function publicKeyFromPem(pem: string, source: string): KeyObject {
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch (error) {
    throw new Error(`${source} is not a public key in PEM form: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source} is a ${key.asymmetricKeyType ?? 'unknown'} key, not the Ed25519 key that signs audit checkpoints`)
  return key
}

export function signCheckpoint(body: Omit<Checkpoint, 'signature' | 'keyId'>, key: SigningKey): Checkpoint {
  const signature = sign(null, Buffer.from(checkpointText(body), 'utf8'), key.privateKey).toString('base64')
  return { ...body, keyId: key.keyId, signature }
}

/** Why a checkpoint does not hold under `publicKey`, or undefined when its signature is good. */
export function checkpointSignatureProblem(checkpoint: Checkpoint, publicKey: KeyObject): string | undefined {
  const keyId = keyIdOf(publicKey)
  if (checkpoint.keyId !== keyId) return `it was signed by key ${checkpoint.keyId}, not by this log's key ${keyId}`
  let good = false
  try {
    good = verify(null, Buffer.from(checkpointText(checkpoint), 'utf8'), publicKey, Buffer.from(checkpoint.signature, 'base64'))
  } catch {
    good = false
  }
  return good ? undefined : 'its signature does not match its content (size, root, position, time or log changed)'
}
