import { randomUUID } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { keyStoreContract } from './contract.ts'
import { newMasterKeyText, parseMasterKey } from './master-key.ts'
import { openSqliteKeyStore } from './sqlite-key-store.ts'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-keys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

void t.test('sqlite key store', async (t) => {
  keyStoreContract(t, async (t) => {
    const file = join(tempDir(t), 'keys.sqlite')
    return { open: async (masterKey) => openSqliteKeyStore({ file, masterKey }) }
  })
})

void t.test('a destroyed key’s wrapped bytes are gone from the file and its write-ahead log, not only unlinked', async (t) => {
  const file = join(tempDir(t), 'keys.sqlite')
  const store = openSqliteKeyStore({ file, masterKey: parseMasterKey(newMasterKeyText()) })
  t.teardown(() => store.close())
  const caseIds = Array.from({ length: 50 }, () => randomUUID())
  for (const caseId of caseIds) await store.keyFor(caseId)
  const probe = new Database(file, { readonly: true })
  const wrapped = probe.prepare<[string], Buffer>('SELECT wrapped FROM data_keys WHERE case_id = ?').pluck().get(caseIds[7]!)!
  probe.close()
  const onDisk = (): Buffer => Buffer.concat([readFileSync(file), existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0)])
  t.ok(onDisk().includes(wrapped), 'the wrapped key is on disk before')
  await store.destroy([caseIds[7]!], 'd-1', new Date())
  t.notOk(onDisk().includes(wrapped), 'and nowhere on disk after')
})

void t.test('a key store file of a newer schema is refused', async (t) => {
  const file = join(tempDir(t), 'keys.sqlite')
  const db = new Database(file)
  db.pragma('user_version = 99')
  db.close()
  t.throws(() => openSqliteKeyStore({ file, masterKey: parseMasterKey(newMasterKeyText()) }), /schema version 99/)
})

void t.test('a backup copy of the store opens with the same master key (what to back up: the file and the key, apart)', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'keys.sqlite')
  const masterKey = parseMasterKey(newMasterKeyText())
  const store = openSqliteKeyStore({ file, masterKey })
  const caseId = randomUUID()
  const key = await store.keyFor(caseId)
  await store.close()
  copyFileSync(file, join(dir, 'backup.sqlite'))
  const restored = openSqliteKeyStore({ file: join(dir, 'backup.sqlite'), masterKey })
  t.teardown(() => restored.close())
  t.same(await restored.lookup(caseId), { state: 'active', key })
})
