import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { MasterKeyError, fingerprintOf, loadOrCreateMasterKeyFile, newMasterKeyText, parseMasterKey } from './master-key.ts'

void t.test('a master key is read as 64 hex digits or base64 of 32 bytes, and nothing else', async (t) => {
  const hex = newMasterKeyText()
  const key = Buffer.from(hex, 'hex')
  t.same(parseMasterKey(hex).key, key)
  t.same(parseMasterKey(` ${hex.toUpperCase()}\n`).key, key, 'case and surrounding space do not matter')
  t.same(parseMasterKey(key.toString('base64')).key, key)
  t.same(parseMasterKey(key.toString('base64url')).key, key)
  t.equal(parseMasterKey(hex).fingerprint, fingerprintOf(key))
  t.match(parseMasterKey(hex).fingerprint, /^[0-9a-f]{16}$/)
  for (const bad of ['', 'secret', hex.slice(2), `${hex}00`, Buffer.alloc(16).toString('base64')]) t.throws(() => parseMasterKey(bad), MasterKeyError, JSON.stringify(bad))
})

void t.test('the master key file is created once, owner-only, and read back the same', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-master-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'nested', 'master.key')
  const first = loadOrCreateMasterKeyFile(file)
  t.equal(first.created, true)
  t.equal(statSync(file).mode & 0o777, 0o600)
  const again = loadOrCreateMasterKeyFile(file)
  t.equal(again.created, false)
  t.same(again.key, first.key)
  t.equal(readFileSync(file, 'utf8').trim(), first.key.toString('hex'))
  writeFileSync(file, 'not a key')
  t.throws(() => loadOrCreateMasterKeyFile(file), /master key file .* cannot be read/)
  t.equal(readFileSync(file, 'utf8'), 'not a key', 'a bad file is never replaced')
})
