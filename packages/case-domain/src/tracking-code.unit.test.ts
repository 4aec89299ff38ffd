import { randomBytes } from 'node:crypto'
import t from 'tap'
import { TRACKING_ALPHABET, caseIdForTrackingCode, parseTrackingCode, trackingCodeFromBytes } from './tracking-code.ts'

const codes = Array.from({ length: 200 }, () => trackingCodeFromBytes(randomBytes(16)))

t.test('format: 11 characters from the alphabet, grouped 4-4-3', async (t) => {
  for (const code of codes) {
    t.match(code, /^[23456789ABCDEFGHJKMNPRSTUVXYZ]{4}-[23456789ABCDEFGHJKMNPRSTUVXYZ]{4}-[23456789ABCDEFGHJKMNPRSTUVXYZ]{3}$/)
  }
  t.equal(TRACKING_ALPHABET.length, 29)
  for (const lookAlike of '01ILOQW') t.notOk(TRACKING_ALPHABET.includes(lookAlike), `${lookAlike} is not used`)
})

t.test('every generated code parses back to itself, also typed sloppily', async (t) => {
  for (const code of codes) {
    t.same(parseTrackingCode(code), { ok: true, code })
    const sloppy = ` ${code.toLowerCase().replaceAll('-', ' ')} `
    t.same(parseTrackingCode(sloppy), { ok: true, code })
  }
})

t.test('any single mistyped character is caught by the check character', async (t) => {
  let tried = 0
  for (const code of codes.slice(0, 40)) {
    const chars = code.replaceAll('-', '').split('')
    chars.forEach((original, i) => {
      for (const other of TRACKING_ALPHABET) {
        if (other === original) continue
        const wrong = [...chars]
        wrong[i] = other
        tried++
        const parsed = parseTrackingCode(wrong.join(''))
        if (parsed.ok) t.fail(`${wrong.join('')} (from ${code}) was accepted`)
      }
    })
  }
  t.equal(tried, 40 * 11 * 28)
})

t.test('swapping two different characters is caught', async (t) => {
  for (const code of codes.slice(0, 60)) {
    const chars = code.replaceAll('-', '').split('')
    for (let i = 0; i < chars.length; i++) {
      for (let j = i + 1; j < chars.length; j++) {
        if (chars[i] === chars[j]) continue
        const swapped = [...chars]
        ;[swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!]
        t.notOk(parseTrackingCode(swapped.join('')).ok, `swap ${i}/${j} of ${code}`)
      }
    }
  }
})

t.test('malformed input says why', async (t) => {
  t.same(parseTrackingCode('ABC'), { ok: false, reason: 'length' })
  t.same(parseTrackingCode('ABCD-EFGH-JK0'), { ok: false, reason: 'character' })
  t.same(parseTrackingCode('İBCD-EFGH-JKM'), { ok: false, reason: 'character' })
})

t.test('codes are not sequential and do not repeat', async (t) => {
  t.equal(new Set(codes).size, codes.length)
  const sorted = [...codes].sort()
  t.not(sorted.join(), codes.join(), 'generation order is not sorted order')
  t.throws(() => trackingCodeFromBytes(new Uint8Array(4)), RangeError)
})

t.test('case id is derived from the code, stable and distinct', async (t) => {
  const [a, b] = codes as [string, string]
  t.equal(caseIdForTrackingCode(a), caseIdForTrackingCode(a))
  t.not(caseIdForTrackingCode(a), caseIdForTrackingCode(b))
  t.match(caseIdForTrackingCode(a), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
})

t.test('case ids are RFC 9562 version-5 UUIDs: a known vector and the uuid library agree', async (t) => {
  const { v5 } = await import('uuid')
  for (const code of codes.slice(0, 20)) t.equal(caseIdForTrackingCode(code), v5(code, '5d0c4b7e-2a51-4f0e-9b8e-6c1f3f0d2a77'))
})

t.test('the same bytes always give the same code (keyed codes depend on it)', async (t) => {
  const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.equal(trackingCodeFromBytes(bytes), trackingCodeFromBytes(bytes))
  t.not(trackingCodeFromBytes(bytes), trackingCodeFromBytes(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 9])))
  t.equal(trackingCodeFromBytes(new Uint8Array(8)), '2222-2222-222' , 'all-zero entropy maps to the first symbol everywhere (check 0 too)')
})
