import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { AccessConfigError, createAccessControl, devAccessConfig, loadAccessConfig, sha256Hex } from './auth.ts'
import { UnauthorizedError } from './errors.ts'

const SECRET = 'wa-3f9c1e7b5d2a4c6e8f0a1b3c5d7e9f1a'

t.test('sha256Hex is the lower-case hex digest', async (t) => {
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

t.test('authenticate finds the principal by the hash of the presented token', async (t) => {
  const access = createAccessControl({
    tokens: [
      { id: 'whatsapp-adapter', roles: ['channel'], tokenSha256: sha256Hex(SECRET) },
      { id: 'ayse.fen', roles: ['staff', 'auditor'], departments: ['fen-isleri'], token: 'dev-token-ayse' },
    ],
  })
  t.same(access.authenticate(`Bearer ${SECRET}`), { id: 'whatsapp-adapter', roles: ['channel'], departments: [] })
  t.same(access.authenticate('Bearer dev-token-ayse'), { id: 'ayse.fen', roles: ['staff', 'auditor'], departments: ['fen-isleri'] })
  t.same(access.authenticate('bearer dev-token-ayse').id, 'ayse.fen', 'the scheme is case-insensitive')
  for (const header of [undefined, '', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Bearer', 'Bearer dev-token-ayse extra']) {
    t.throws(() => access.authenticate(header), { name: 'UnauthorizedError', message: 'Send an "Authorization: Bearer <token>" header.' }, `missing: ${String(header)}`)
  }
  t.throws(() => access.authenticate('Bearer dev-token-aysE'), { name: 'UnauthorizedError', message: 'The bearer token is not recognised.' })
  t.throws(() => access.authenticate(`Bearer ${sha256Hex(SECRET)}`), UnauthorizedError, 'the hash itself is not a token')
  try {
    access.authenticate('Bearer nope-nope-nope')
  } catch (error) {
    t.same((error as UnauthorizedError).headers, { 'www-authenticate': 'Bearer realm="civic-desk", error="invalid_token"' })
  }
})

t.test('an invalid configuration is refused with every problem and no token value', async (t) => {
  let message = ''
  try {
    createAccessControl({
      tokens: [
        { id: 'both', roles: ['channel'], token: 'plain-token-1', tokenSha256: sha256Hex('x') },
        { id: 'neither', roles: ['channel'] },
        { id: 'staff-without-department', roles: ['staff'], token: 'plain-token-2' },
        { id: 'bad-role', roles: ['mayor' as 'staff'], token: 'plain-token-3' },
        { id: 'bad-hash', roles: ['auditor'], tokenSha256: 'ABC' },
      ],
    })
  } catch (error) {
    t.ok(error instanceof AccessConfigError)
    message = (error as Error).message
  }
  t.match(message, /tokens\[0\]: give exactly one of "token" or "tokenSha256"/)
  t.match(message, /tokens\[1\]: give exactly one of "token" or "tokenSha256"/)
  t.match(message, /tokens\[2\]\.departments: staff need at least one department/)
  t.match(message, /tokens\[3\]\.roles\[0\]: /)
  t.match(message, /tokens\[4\]\.tokenSha256: must be 64 lower-case hex characters/)
  t.notMatch(message, /plain-token/)
})

t.test('two entries with the same token are refused', async (t) => {
  t.throws(
    () =>
      createAccessControl({
        tokens: [
          { id: 'a', roles: ['channel'], token: 'same-token-1' },
          { id: 'b', roles: ['operator'], tokenSha256: sha256Hex('same-token-1') },
        ],
      }),
    { name: 'AccessConfigError', message: 'Invalid access configuration: tokens[1] (b) uses the same token as a' },
  )
})

t.test('devAccessConfig builds the development tokens', async (t) => {
  const config = devAccessConfig(['fen-isleri', 'temizlik'])
  t.same(config.tokens, [
    { id: 'dev-channel', roles: ['channel'], departments: [], channel: 'web', token: 'dev-channel' },
    { id: 'dev-supervisor', roles: ['supervisor'], departments: ['fen-isleri', 'temizlik'], token: 'dev-supervisor' },
    { id: 'dev-auditor', roles: ['auditor'], departments: [], token: 'dev-auditor' },
    { id: 'dev-operator', roles: ['operator'], departments: [], token: 'dev-operator' },
    { id: 'dev-privacy', roles: ['privacy-officer'], departments: [], token: 'dev-privacy' },
    { id: 'dev-staff-fen-isleri', roles: ['staff'], departments: ['fen-isleri'], token: 'dev-staff-fen-isleri' },
    { id: 'dev-staff-temizlik', roles: ['staff'], departments: ['temizlik'], token: 'dev-staff-temizlik' },
  ])
  const access = createAccessControl(config)
  t.same(access.authenticate('Bearer dev-staff-temizlik'), { id: 'dev-staff-temizlik', roles: ['staff'], departments: ['temizlik'] })
})

t.test('loadAccessConfig reads a file or a JSON string and validates it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-access-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = JSON.stringify({ tokens: [{ id: 'call-center', roles: ['channel'], tokenSha256: sha256Hex(SECRET) }] })
  const file = join(dir, 'access.json')
  writeFileSync(file, json)
  const expected = { tokens: [{ id: 'call-center', roles: ['channel'], departments: [], tokenSha256: sha256Hex(SECRET) }] }
  t.same(loadAccessConfig({ file }), expected)
  t.same(loadAccessConfig({ json }), expected)

  t.throws(() => loadAccessConfig({ json: '{"tokens": [' }), { name: 'AccessConfigError', message: /^Invalid access configuration JSON: not valid JSON/ })
  t.throws(() => loadAccessConfig({ file: join(dir, 'nope.json') }), { message: `Cannot read access file ${join(dir, 'nope.json')}: ENOENT` })
  writeFileSync(file, JSON.stringify({ tokens: [{ id: 'x', roles: [], token: 'a-long-token', extra: 1 }] }))
  t.throws(() => loadAccessConfig({ file }), { message: new RegExp(`^Invalid access file ${file}:\\n.*tokens\\[0\\]: .*\\(extra\\)`, 's') })
})

t.test('a channel token may name its channel; another role may not', async (t) => {
  const access = createAccessControl({ tokens: [{ id: 'app', roles: ['channel'], channel: 'mobile-app', token: 'app-token-1' }] })
  t.equal(access.authenticate('Bearer app-token-1').channel, 'mobile-app')
  t.throws(() => createAccessControl({ tokens: [{ id: 'x', roles: ['operator'], channel: 'web', token: 'operator-token' }] }), /only a token with role "channel"/)
})
