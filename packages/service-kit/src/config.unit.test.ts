import t from 'tap'
import { z } from 'zod'
import { ConfigError, defineConfig, envBoolean, envJson, envList } from './config.ts'

const spec = defineConfig({
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(3000), doc: 'HTTP port' },
  dataDir: { env: 'CIVIC_DATA_DIR', schema: z.string().min(1), doc: 'Folder of the event store' },
  debug: { env: 'CIVIC_DEBUG', schema: envBoolean().default(false), doc: 'Verbose diagnostics' },
  origins: { env: 'CIVIC_ORIGINS', schema: envList().default(['https://example.org']), doc: 'Allowed CORS origins' },
  channels: { env: 'CIVIC_CHANNELS', schema: envList(z.enum(['web', 'whatsapp', 'call-center'])).default([]), doc: 'Enabled channels' },
  limits: { env: 'CIVIC_LIMITS', schema: envJson(z.strictObject({ perMinute: z.number().int() })).optional(), doc: 'Rate limits as JSON' },
  token: { env: 'CIVIC_TOKEN', schema: z.string().min(16).optional(), doc: 'Upstream token', secret: true },
})

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

t.test('parses a valid environment into typed values, applying defaults', async (t) => {
  const config = spec.parse({
    CIVIC_DATA_DIR: '/var/lib/civic',
    CIVIC_DEBUG: 'TRUE',
    CIVIC_CHANNELS: 'web, whatsapp,,',
    CIVIC_LIMITS: '{"perMinute": 120}',
    PATH: '/usr/bin',
  })
  t.same(config, {
    port: 3000,
    dataDir: '/var/lib/civic',
    debug: true,
    origins: ['https://example.org'],
    channels: ['web', 'whatsapp'],
    limits: { perMinute: 120 },
    token: undefined,
  })
  // Types follow the schemas (this line would not compile otherwise).
  const port: number = config.port
  const channels: Array<'web' | 'whatsapp' | 'call-center'> = config.channels
  t.equal(port + channels.length, 3002)
})

t.test('booleans accept true/false/1/0 only', async (t) => {
  const base = { CIVIC_DATA_DIR: 'd' }
  t.equal(spec.parse({ ...base, CIVIC_DEBUG: '1' }).debug, true)
  t.equal(spec.parse({ ...base, CIVIC_DEBUG: '0' }).debug, false)
  t.equal(spec.parse({ ...base, CIVIC_DEBUG: 'false' }).debug, false)
  t.throws(() => spec.parse({ ...base, CIVIC_DEBUG: 'yes' }), { message: /CIVIC_DEBUG=yes: must be true, false, 1 or 0 — Verbose diagnostics/ })
})

t.test('an empty value counts as unset and falls back to the default', async (t) => {
  t.equal(spec.parse({ CIVIC_DATA_DIR: 'd', PORT: '' }).port, 3000)
})

t.test('every invalid variable is listed with its value, the problem, its doc and how to fix it', async (t) => {
  const error = thrown(() => spec.parse({ PORT: 'eighty', CIVIC_CHANNELS: 'web,pigeon', CIVIC_LIMITS: '{perMinute:1}', CIVIC_TOKEN: 'short' }))
  t.ok(error instanceof ConfigError)
  const e = error as ConfigError
  t.same(
    e.problems.map((p) => p.env),
    ['PORT', 'CIVIC_DATA_DIR', 'CIVIC_CHANNELS', 'CIVIC_LIMITS', 'CIVIC_TOKEN'],
  )
  t.match(e.message, /^Invalid configuration \(5 problems\):/)
  t.match(e.message, /\n {2}PORT=eighty: .*expected number.* — HTTP port\n/)
  t.match(e.message, /\n {2}CIVIC_DATA_DIR \(not set\): required but not set — Folder of the event store\n/)
  t.match(e.message, /\n {2}CIVIC_CHANNELS=web,pigeon: 1: .*"call-center".* — Enabled channels\n/)
  t.match(e.message, /\n {2}CIVIC_LIMITS=\{perMinute:1\}: not valid JSON .* — Rate limits as JSON\n/)
  t.match(e.message, /\n {2}CIVIC_TOKEN=\*\*\*: .* — Upstream token\n/, 'secrets are masked')
  t.notMatch(e.message, /short/, 'the secret value never appears')
  t.match(e.message, /Fix: set or correct the variables above/)
})

t.test('unknown CIVIC_ variables are rejected as typos, with a suggestion and the known names', async (t) => {
  const err = thrown(() => spec.parse({ CIVIC_DATA_DIR: 'd', CIVIC_DATADIR: 'x', CIVIC_SOMETHING_ELSE: 'y', LOG_LEVEL: 'debug' }))
  t.ok(err instanceof ConfigError)
  const e = err as ConfigError
  t.same(e.problems.map((p) => p.env), ['CIVIC_DATADIR', 'CIVIC_SOMETHING_ELSE'], 'other prefixes are ignored')
  t.match(e.message, /CIVIC_DATADIR=…: unknown variable \(did you mean CIVIC_DATA_DIR\?\)/)
  t.match(e.message, /CIVIC_SOMETHING_ELSE=…: unknown variable — not read by this service/)
  t.match(e.message, /Known CIVIC_\* variables: CIVIC_CHANNELS, CIVIC_DATA_DIR, CIVIC_DEBUG, CIVIC_LIMITS, CIVIC_ORIGINS, CIVIC_TOKEN\./)
})

t.test('variables of the other services are ignored, so one environment serves them all', async (t) => {
  t.same(spec.parse({ CIVIC_DATA_DIR: 'd', CIVIC_SMTP_URL: 'smtp://127.0.0.1:2525', CIVIC_DUPLICATE_WINDOW_HOURS: '48' }).dataDir, 'd')
  t.throws(() => spec.parse({ CIVIC_SMTP_URLL: 'x' }), { message: /CIVIC_SMTP_URLL=…: unknown variable/ }, 'a typo of another service’s variable is still one')
  const strict = defineConfig(spec.entries, { knownElsewhere: new Set() })
  t.throws(() => strict.parse({ CIVIC_SMTP_URL: 'x' }), { message: /CIVIC_SMTP_URL=…: unknown variable/ }, 'the list is an option')
})

t.test('the prefix check can be moved or switched off', async (t) => {
  const loose = defineConfig({ dir: { env: 'CIVIC_DIR', schema: z.string().default('.'), doc: 'dir' } }, { unknownPrefix: false })
  t.same(loose.parse({ CIVIC_OTHER: '1' }), { dir: '.' })
  const other = defineConfig({ dir: { env: 'APP_DIR', schema: z.string().default('.'), doc: 'dir' } }, { unknownPrefix: 'APP_' })
  t.throws(() => other.parse({ APP_DIRR: 'x' }), { message: /APP_DIRR=…: unknown variable \(did you mean APP_DIR\?\)/ })
})

t.test('specs combine through their entries', async (t) => {
  const a = defineConfig({ port: { env: 'PORT', schema: z.coerce.number().default(1), doc: 'p' } })
  const b = defineConfig({ dir: { env: 'CIVIC_DIR', schema: z.string().default('.'), doc: 'd' } })
  const both = defineConfig({ ...a.entries, ...b.entries })
  t.same(both.parse({ PORT: '8080', CIVIC_DIR: '/x' }), { port: 8080, dir: '/x' })
})

t.test('two keys reading one variable is a programming error', async (t) => {
  t.throws(
    () => defineConfig({ a: { env: 'X', schema: z.string(), doc: '' }, b: { env: 'X', schema: z.string(), doc: '' } }),
    { message: 'defineConfig: keys "a" and "b" both read X' },
  )
})

t.test('describe() lists every variable with its doc and default, for README tables', async (t) => {
  t.same(spec.describe(), [
    { env: 'PORT', doc: 'HTTP port', default: '3000', required: false },
    { env: 'CIVIC_DATA_DIR', doc: 'Folder of the event store', default: undefined, required: true },
    { env: 'CIVIC_DEBUG', doc: 'Verbose diagnostics', default: 'false', required: false },
    { env: 'CIVIC_ORIGINS', doc: 'Allowed CORS origins', default: 'https://example.org', required: false },
    { env: 'CIVIC_CHANNELS', doc: 'Enabled channels', default: '', required: false },
    { env: 'CIVIC_LIMITS', doc: 'Rate limits as JSON', default: undefined, required: false },
    { env: 'CIVIC_TOKEN', doc: 'Upstream token', default: undefined, required: false },
  ])
})
