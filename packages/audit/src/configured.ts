/**
 * The checkpoint signing key of a service's configuration: `CIVIC_AUDIT_SIGNING_KEY` (the PKCS#8
 * PEM text itself, or the path of a file holding it), else — standalone and development — a key
 * kept in the data folder, created on first start with a warning. Beside it the public key is
 * written as `audit-public-key.pem`, for `pnpm audit:verify` and for publishing.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { newSigningKeyPem, signingKeyFromPem, type SigningKey } from './checkpoint.ts'

export const signingKeyFile = (dataDir: string): string => join(dataDir, 'audit-signing.key')
export const publicKeyFile = (dataDir: string): string => join(dataDir, 'audit-public-key.pem')

/** The configured signing key; with none configured, the data folder's (made when missing). */
export function configuredSigningKey(setting: string | undefined, dataDir: string, logger?: { warn(obj: object, msg: string): void }): SigningKey {
  const value = setting?.trim() ?? ''
  if (value !== '') {
    if (value.startsWith('-----BEGIN')) return signingKeyFromPem(value, 'CIVIC_AUDIT_SIGNING_KEY')
    if (!existsSync(value)) throw new Error(`CIVIC_AUDIT_SIGNING_KEY names ${value}, which does not exist: give the key's PEM text or the path of its file (openssl genpkey -algorithm ed25519 -out audit-signing.key)`)
    return signingKeyFromPem(readFileSync(value, 'utf8'), `CIVIC_AUDIT_SIGNING_KEY (${value})`)
  }
  const file = signingKeyFile(dataDir)
  let key: SigningKey
  if (existsSync(file)) {
    key = signingKeyFromPem(readFileSync(file, 'utf8'), file)
  } else {
    mkdirSync(dirname(file), { recursive: true })
    const pem = newSigningKeyPem()
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' })
    chmodSync(file, 0o600)
    key = signingKeyFromPem(pem, file)
    logger?.warn(
      { file, keyId: key.keyId },
      `DİKKAT: CIVIC_AUDIT_SIGNING_KEY verilmedi; denetim kontrol noktalarını imzalayan anahtar ${file} dosyasında oluşturuldu. Üretimde anahtarı kasada saklayıp CIVIC_AUDIT_SIGNING_KEY ile verin ve açık anahtarı (GET /v1/audit/public-key) yayımlayın. WARNING: no CIVIC_AUDIT_SIGNING_KEY; a checkpoint signing key was created in ${file}.`,
    )
  }
  const published = publicKeyFile(dataDir)
  if (!existsSync(published) || readFileSync(published, 'utf8') !== key.publicKeyPem) {
    mkdirSync(dirname(published), { recursive: true })
    writeFileSync(published, key.publicKeyPem)
  }
  return key
}
