// civic_submissions_accepted_total / _refused_total by channel, way in and reason, on each of
// intake's three ways in: POST /v1/requests, Open311's form and the intake topic (a real SQLite bus).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openSqliteEventStore } from '@civic-desk/event-store'
import { TOPICS, openSqliteBus } from '@civic-desk/messaging'
import { waitFor } from '@civic-desk/messaging/testing'
import { createLogger, processMetrics } from '@civic-desk/service-kit'
import { startIntakeConsumer } from './intake-consumer.ts'
import { catalogue, form, open311Env } from './open311/open311.testing.ts'

const logger = createLogger({ level: 'silent', name: 'submission-metrics-test' })

async function counts() {
  const metrics = processMetrics()
  if (metrics === undefined) throw new Error('metrics are on in tests')
  const accepted = (await metrics.submissionsAccepted.get()).values
  const refused = (await metrics.submissionsRefused.get()).values
  return {
    accepted: (labels: Record<string, string>) => accepted.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k as 'channel'] === x)).reduce((s, v) => s + v.value, 0),
    refused: (labels: Record<string, string>) => refused.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k as 'channel'] === x)).reduce((s, v) => s + v.value, 0),
  }
}

const body = { channel: 'call-center', kind: 'complaint', category: 'gurultu', description: 'Gece yarısı inşaat gürültüsü var, uyuyamıyoruz.', location: { neighbourhood: 'Kazımdirik' } }

t.test('POST /v1/requests and Open311: accepted by channel, refused by reason; a channel nobody has is `unknown`', async (t) => {
  const env = await open311Env(t)
  const before = await counts()
  const post = (payload: unknown, token = 'dev-channel') => env.app.inject({ method: 'POST', url: '/v1/requests', headers: { authorization: `Bearer ${token}` }, payload: payload as Record<string, unknown> })
  t.equal((await post(body)).statusCode, 201)
  t.equal((await post({ ...body, externalId: 'cc-1' })).statusCode, 201)
  t.equal((await post({ ...body, externalId: 'cc-1' })).statusCode, 200, 'a repeated submission')
  t.equal((await post({ ...body, externalId: 'cc-1', description: 'Başka bir şikâyet metni, aynı anahtar.' })).statusCode, 409)
  t.equal((await post({ ...body, channel: 'carrier-pigeon-0532' })).statusCode, 400)
  t.equal((await post(body, 'dev-auditor')).statusCode, 403)
  const filed = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', ...form([['api_key', 'mobil-anahtar-1'], ['service_code', 'gurultu'], ['description', 'Her gece 23.00’ten sonra gürültü var.'], ['address_string', 'Kazımdirik Mah.']]) })
  t.equal(filed.statusCode, 201, filed.body)
  const unknownService = await env.app.inject({ method: 'POST', url: '/open311/v2/requests.json', ...form([['api_key', 'mobil-anahtar-1'], ['service_code', 'yok-boyle-bir-sey']]) })
  t.equal(unknownService.statusCode, 404)

  const after = await counts()
  const d = (kind: 'accepted' | 'refused', labels: Record<string, string>) => after[kind](labels) - before[kind](labels)
  t.equal(d('accepted', { channel: 'call-center', via: 'http' }), 3, 'stored twice, found again once')
  t.equal(d('refused', { channel: 'call-center', via: 'http', reason: 'conflict' }), 1)
  t.equal(d('refused', { channel: 'unknown', via: 'http', reason: 'validation_failed' }), 1, 'what the caller typed is no label')
  t.equal(d('refused', { channel: 'unknown', via: 'http', reason: 'forbidden' }), 1, 'refused before its body was read: no channel known')
  t.equal(d('accepted', { channel: 'mobile-app', via: 'open311' }), 1, "Open311: the key's channel")
  t.equal(d('refused', { channel: 'mobile-app', via: 'open311', reason: 'not_found' }), 1)
})

t.test('the intake topic: accepted and refused by channel and reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-submission-metrics-'))
  const bus = openSqliteBus({ file: join(dir, 'bus.sqlite'), partitions: 2, pollIntervalMs: 20 })
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const consumer = await startIntakeConsumer({ bus, store, catalogue, logger, trackingKey: Buffer.alloc(32, 7), now: () => new Date(), retryBackoffMs: 1 })
  t.teardown(async () => {
    await consumer.stop()
    await bus.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const before = await counts()
  const message = { ...body, channel: 'whatsapp', externalId: 'wamid.1' }
  await bus.publish(TOPICS.intake, [
    { key: 'whatsapp:wamid.1', value: message },
    { key: 'whatsapp:wamid.2', value: { ...message, externalId: 'wamid.2', category: 'no-such-category' } },
  ])
  await waitFor(() => consumer.status().created === 1 && consumer.status().rejected === 1, 10_000, 'one case and one rejection')
  const after = await counts()
  t.equal(after.accepted({ channel: 'whatsapp', via: 'kafka' }) - before.accepted({ channel: 'whatsapp', via: 'kafka' }), 1)
  t.equal(after.refused({ channel: 'whatsapp', via: 'kafka', reason: 'validation_failed' }) - before.refused({ channel: 'whatsapp', via: 'kafka', reason: 'validation_failed' }), 1)
})
