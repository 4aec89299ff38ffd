import t from 'tap'
import { ConfigError, defineConfig } from '@civic-desk/service-kit'
import { providerConfigEntries } from './config.ts'

const spec = defineConfig(providerConfigEntries)

t.test('supervisors’ settings: defaults, and a wrong value stops the start with what to write', async (t) => {
  const defaults = spec.parse({})
  t.equal(defaults.supervisorDigestAt, '08:30')
  t.equal(defaults.supervisorWebhookToken, undefined)
  t.equal(defaults.consoleUrl, undefined)
  t.equal(spec.parse({ CIVIC_SUPERVISOR_DIGEST_AT: '07:05', CIVIC_CONSOLE_URL: 'https://konsol.example.bel.tr/' }).supervisorDigestAt, '07:05')
  for (const wrong of ['8:30', '24:00', '08:60', '08.30']) {
    t.throws(() => spec.parse({ CIVIC_SUPERVISOR_DIGEST_AT: wrong }), ConfigError, wrong)
  }
  try {
    spec.parse({ CIVIC_SUPERVISOR_DIGEST_AT: '8:30', CIVIC_CONSOLE_URL: 'konsol' })
    t.fail('expected a ConfigError')
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    t.same(error.problems.map((p) => p.env).sort(), ['CIVIC_CONSOLE_URL', 'CIVIC_SUPERVISOR_DIGEST_AT'])
    t.match(error.message, 'CIVIC_SUPERVISOR_DIGEST_AT=8:30: must be an Istanbul time of day as HH:MM, e.g. 08:30')
  }
  t.ok(spec.describe().some((row) => row.env === 'CIVIC_SUPERVISOR_WEBHOOK_TOKEN'), 'the token is documented')
  t.equal(spec.parse({ CIVIC_SUPERVISOR_WEBHOOK_TOKEN: 'gizli' }).supervisorWebhookToken, 'gizli')
  t.ok(spec.describe().some((row) => row.env === 'CIVIC_SUPERVISOR_DIGEST_AT' && row.default === '08:30'))
})
