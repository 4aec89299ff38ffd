/**
 * What every key store adapter must do, as one tap suite: SQLite runs it always, PostgreSQL
 * against the server of the machine. A fixture gives fresh, empty storage; `open` may be called
 * again on the same storage (a restart).
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import { newKey } from './cipher.ts'
import { DataKeyDestroyedError, KeyStoreError, type KeyStore } from './key-store.ts'
import { parseMasterKey, newMasterKeyText, type MasterKey } from './master-key.ts'

export interface KeyStoreStorage {
  /** Opens the store on this storage with the master key (a restart when called again). */
  open(masterKey: MasterKey): Promise<KeyStore>
}

export function keyStoreContract(t: Test, fresh: (t: Test) => Promise<KeyStoreStorage>): void {
  const master = (): MasterKey => parseMasterKey(newMasterKeyText())
  const opened = async (t: Test, storage: KeyStoreStorage, key: MasterKey): Promise<KeyStore> => {
    const store = await storage.open(key)
    t.teardown(() => store.close())
    return store
  }

  t.test('a case gets one data key, made on first use and the same after a restart', async (t) => {
    const storage = await fresh(t)
    const key = master()
    const store = await opened(t, storage, key)
    const caseId = randomUUID()
    t.same(await store.lookup(caseId), { state: 'none' })
    const dataKey = await store.keyFor(caseId)
    t.equal(dataKey.length, 32)
    t.same(await store.keyFor(caseId), dataKey)
    t.same(await Promise.all([store.keyFor(caseId), store.keyFor(caseId)]), [dataKey, dataKey], 'concurrent asks agree')
    const other = randomUUID()
    const [a, b] = await Promise.all([store.keyFor(other), store.keyFor(other)])
    t.same(a, b, 'two first uses at once make one key')
    t.notSame(a, dataKey, 'each case its own key')
    await store.close()
    const restarted = await opened(t, storage, key)
    t.same(await restarted.lookup(caseId), { state: 'active', key: dataKey })
    t.equal(restarted.masterFingerprint, key.fingerprint)
  })

  t.test('destroying keys: destroyed, already destroyed and never keyed are told apart; an erased case never gets a key again', async (t) => {
    const store = await opened(t, await fresh(t), master())
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    await store.keyFor(a)
    await store.keyFor(b)
    const at = new Date('2026-12-04T10:00:00.000Z')
    t.same(await store.destroy([a, a], 'd-1', at), { destroyed: [a], alreadyDestroyed: [], withoutKey: [] })
    t.same(await store.destroy([a, b, c], 'd-2', at), { destroyed: [b], alreadyDestroyed: [a], withoutKey: [c] })
    t.same(await store.lookup(a), { state: 'destroyed', destroyedAt: at.toISOString(), destructionId: 'd-1' }, 'the first destruction is kept')
    t.same(await store.lookup(c), { state: 'destroyed', destroyedAt: at.toISOString(), destructionId: 'd-2' })
    for (const caseId of [a, b, c]) await t.rejects(store.keyFor(caseId), DataKeyDestroyedError)
    t.same(await store.destroy([], 'd-3', at), { destroyed: [], alreadyDestroyed: [], withoutKey: [] })
  })

  t.test('the subject index finds a person’s cases by any way of writing the number or address, and forgets erased cases', async (t) => {
    const store = await opened(t, await fresh(t), master())
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
    await store.keyFor(a)
    await store.addSubjects(a, [{ kind: 'phone', value: '0532 123 45 67' }, { kind: 'email', value: 'Ayşe.Yılmaz@Örnek.com.tr' }])
    await store.addSubjects(a, [{ kind: 'phone', value: '0532 123 45 67' }])
    await store.addSubjects(b, [{ kind: 'phone', value: '+90 (532) 123-45-67' }])
    await store.addSubjects(c, [{ kind: 'phone', value: '+90 532 999 99 99' }])
    const sorted = (ids: string[]) => [...ids].sort()
    for (const written of ['05321234567', '+905321234567', '00905321234567', '5321234567', '90 532 123 45 67'.replace(/^/, '+')]) {
      t.same(sorted(await store.casesOf({ kind: 'phone', value: written })), sorted([a, b]), written)
    }
    t.same(await store.casesOf({ kind: 'email', value: ' ayşe.yılmaz@örnek.com.tr ' }), [a])
    t.same(await store.casesOf({ kind: 'email', value: 'someone@else.tr' }), [])
    t.match(store.subjectHash({ kind: 'phone', value: '05321234567' }), /^[0-9a-f]{64}$/)
    t.equal(store.subjectHash({ kind: 'phone', value: '05321234567' }), store.subjectHash({ kind: 'phone', value: '+90 532 123 45 67' }))
    await store.destroy([a], 'd-1', new Date())
    t.same(await store.casesOf({ kind: 'phone', value: '05321234567' }), [b], 'an erased case is not found any more')
    await t.rejects(store.addSubjects(a, [{ kind: 'phone', value: '05321234567' }]), DataKeyDestroyedError, 'nor can it be indexed again')
  })

  t.test('two stores with different master keys hash subjects differently (the index key is the store’s own)', async (t) => {
    const one = await opened(t, await fresh(t), master())
    const two = await opened(t, await fresh(t), master())
    t.not(one.subjectHash({ kind: 'phone', value: '05321234567' }), two.subjectHash({ kind: 'phone', value: '05321234567' }))
  })

  t.test('a wrong master key stops the opening and changes nothing', async (t) => {
    const storage = await fresh(t)
    const key = master()
    const store = await storage.open(key)
    const caseId = randomUUID()
    const dataKey = await store.keyFor(caseId)
    await store.close()
    const wrong = master()
    await t.rejects(storage.open(wrong), KeyStoreError)
    await t.rejects(storage.open(wrong), new RegExp(`belongs to master key ${key.fingerprint}`))
    const again = await opened(t, storage, key)
    t.same(await again.lookup(caseId), { state: 'active', key: dataKey }, 'the keys are as they were')
  })

  t.test('rotating the master key rewraps every key: the new key opens the store, the old one no longer does', async (t) => {
    const storage = await fresh(t)
    const oldKey = master()
    const store = await storage.open(oldKey)
    const cases = Array.from({ length: 1500 }, () => randomUUID())
    const keys = new Map<string, Buffer>()
    for (const caseId of cases) keys.set(caseId, await store.keyFor(caseId))
    await store.addSubjects(cases[0]!, [{ kind: 'phone', value: '05321234567' }])
    const hashBefore = store.subjectHash({ kind: 'phone', value: '05321234567' })
    await store.destroy([cases[1]!], 'd-1', new Date())
    const newKeyText = parseMasterKey(newKey().toString('hex'))
    const progress: Array<[number, number]> = []
    t.same(await store.rotateMasterKey(newKeyText, (done, total) => progress.push([done, total])), { rewrapped: 1499 })
    t.same(progress.at(-1), [1499, 1499], 'progress reaches the end')
    t.ok(progress.length >= 2, 'and is reported on the way')
    t.equal(store.masterFingerprint, newKeyText.fingerprint)
    t.same(await store.lookup(cases[2]!), { state: 'active', key: keys.get(cases[2]!) }, 'the open store goes on')
    await store.close()
    await t.rejects(storage.open(oldKey), KeyStoreError)
    const reopened = await opened(t, storage, newKeyText)
    for (const caseId of [cases[0]!, cases[700]!, cases[1499]!]) t.same(await reopened.lookup(caseId), { state: 'active', key: keys.get(caseId) })
    t.equal((await reopened.lookup(cases[1]!)).state, 'destroyed')
    t.equal(reopened.subjectHash({ kind: 'phone', value: '05321234567' }), hashBefore, 'the subject index needs no rebuild')
    t.same(await reopened.casesOf({ kind: 'phone', value: '05321234567' }), [cases[0]])
  })
}
