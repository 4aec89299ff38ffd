import t from 'tap'
import { SealedValueError, isSealed, newKey, openField, sealField, unwrapKey, wrapKey } from './cipher.ts'

const caseId = '6f1c1e0a-3b52-5d0e-9a61-2f4d8b7c9e10'

void t.test('a sealed field opens with its key, case and field only, and never shows its text', async (t) => {
  const key = newKey()
  const text = 'Ayşe Yılmaz, +90 532 123 45 67, Kazımdirik Mah. 123. Sk. No: 4'
  const sealed = sealField(key, caseId, 'citizen.name', text)
  t.ok(isSealed(sealed))
  t.notOk(sealed.includes('Ayşe') || sealed.includes('532'), 'no clear text in the sealed value')
  t.equal(openField(key, caseId, 'citizen.name', sealed), text)
  t.not(sealField(key, caseId, 'citizen.name', text), sealed, 'a fresh nonce every time: equal texts do not give equal ciphertexts')
  t.throws(() => openField(newKey(), caseId, 'citizen.name', sealed), SealedValueError, 'another key')
  t.throws(() => openField(key, 'another-case', 'citizen.name', sealed), SealedValueError, 'moved to another case')
  t.throws(() => openField(key, caseId, 'description', sealed), SealedValueError, 'moved to another field')
  const body = Buffer.from(sealed.slice(4), 'base64url')
  body[20] = (body[20] ?? 0) ^ 1
  t.throws(() => openField(key, caseId, 'citizen.name', `pd1.${body.toString('base64url')}`), SealedValueError, 'one bit changed')
  t.throws(() => openField(key, caseId, 'citizen.name', 'pd1.'), SealedValueError, 'too short')
  t.throws(() => openField(key, caseId, 'citizen.name', text), SealedValueError, 'clear text is not a sealed value')
  t.equal(openField(key, caseId, 'd', sealField(key, caseId, 'd', '')), '', 'the empty text too')
  t.throws(() => sealField(Buffer.alloc(16), caseId, 'd', 'x'), RangeError, 'AES-256 keys only')
})

void t.test('a wrapped key unwraps with its master key and purpose only', async (t) => {
  const master = newKey()
  const key = newKey()
  const wrapped = wrapKey(master, 'data-key:a', key)
  t.same(unwrapKey(master, 'data-key:a', wrapped), key)
  t.equal(unwrapKey(newKey(), 'data-key:a', wrapped), undefined, 'another master key')
  t.equal(unwrapKey(master, 'data-key:b', wrapped), undefined, 'another case')
  t.notOk(wrapped.includes(key), 'the key is not in the wrapped bytes')
})
