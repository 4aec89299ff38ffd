// The auditor's proof API over real HTTP and a real SQLite store: the public key, the signed
// checkpoints, inclusion and consistency proofs checked with the RFC 9162 verifiers, a case's
// bundle checked with the offline verifier, a checkpoint brought back from elsewhere (ours, another
// key's, another log's, forged, ahead of the log), and every bad parameter.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import {
  newSigningKeyPem,
  openAuditLog,
  signCheckpoint,
  signingKeyFromPem,
  verifyBundle,
  verifyConsistency,
  verifyInclusion,
  type AuditLog,
  type Checkpoint,
} from '@civic-desk/audit'
import { caseStreamId } from '@civic-desk/case-feed'
import { openSqliteEventStore, type EventStore } from '@civic-desk/event-store'
import { buildWorkflowApp } from './app.ts'
import { registerAuditRoutes } from './audit-routes.ts'
import { access, as, calendar, catalogue, logger, projectCases, seedCase, workflows } from './test-support.ts'

const PROBLEM = 'application/problem+json; charset=utf-8'
const key = signingKeyFromPem(newSigningKeyPem(), 'test key')
const hex = (h: string): Buffer => Buffer.from(h, 'hex')

interface Served {
  readonly store: EventStore
  readonly audit: AuditLog
  request(method: 'GET' | 'POST', path: string, headers?: Record<string, string>, body?: unknown): Promise<{ status: number; type: string | null; headers: Headers; body: any }>
}

async function serve(t: Test, checkpointIntervalMs = 60_000): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'civic-audit-routes-'))
  const store = openSqliteEventStore({ file: join(dir, 'events.sqlite') })
  const audit = await openAuditLog({ store, key, checkpointIntervalMs, logger })
  const openCases = projectCases(store)
  const app = buildWorkflowApp({ store, openCases, catalogue, calendar, workflows, access, logger, now: () => new Date() })
  registerAuditRoutes(app, { audit, store, access, logger })
  t.teardown(async () => {
    await app.close()
    await openCases.close()
    await audit.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    store,
    audit,
    async request(method, path, headers = {}, body) {
      const response = await fetch(`${address}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      return { status: response.status, type: response.headers.get('content-type'), headers: response.headers, body: text === '' ? null : JSON.parse(text) }
    },
  }
}

t.test('public key, checkpoints, inclusion and consistency proofs that the RFC 9162 verifiers accept', async (t) => {
  const api = await serve(t)
  const first = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  const second = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })

  const publicKey = await api.request('GET', '/v1/audit/public-key')
  t.equal(publicKey.status, 200, 'the public key needs no token')
  t.equal(publicKey.body.algorithm, 'Ed25519')
  t.equal(publicKey.body.keyId, key.keyId)
  t.equal(publicKey.body.publicKey, key.publicKeyPem)
  t.match(publicKey.body.logId, /^[0-9a-f]{32}$/)

  const none = await api.request('GET', '/v1/audit/proofs/inclusion?event=1', as.auditor)
  t.equal(none.status, 404, 'no checkpoint yet: 404')
  t.equal(none.type, PROBLEM)

  const small = await api.audit.checkpointNow()
  await seedCase(api.store, { category: 'cop-toplama', routedAt: new Date() })
  const big = await api.audit.checkpointNow()
  if (small === undefined || big === undefined) throw new Error('no checkpoint written')
  t.equal(small.treeSize, 4, 'two cases of two events each')
  t.equal(big.treeSize, 7, 'the first checkpoint and the third case are covered by the second')

  const list = await api.request('GET', '/v1/audit/checkpoints', as.auditor)
  t.equal(list.status, 200)
  t.same(
    list.body.checkpoints.map((c: Checkpoint) => c.treeSize),
    [7, 4],
    'newest first',
  )
  t.equal(list.body.logId, publicKey.body.logId)
  t.equal((await api.request('GET', '/v1/audit/checkpoints?limit=1', as.operator)).body.checkpoints.length, 1, 'operators too; limit honoured')
  t.equal((await api.request('GET', '/v1/audit/checkpoints', as.fen)).status, 403, 'staff may not')
  t.equal((await api.request('GET', '/v1/audit/checkpoints')).status, 401, 'nobody without a token')
  t.equal((await api.request('GET', '/v1/audit/checkpoints?limit=0', as.auditor)).status, 400)

  // Inclusion of every event of the first case in both checkpoints, by position and by stream + revision.
  const records = await api.store.readStream(caseStreamId(first.caseId))
  for (const record of records) {
    for (const checkpoint of [small, big]) {
      const proof = await api.request('GET', `/v1/audit/proofs/inclusion?event=${record.position}&checkpoint=${checkpoint.treeSize}`, as.auditor)
      t.equal(proof.status, 200)
      t.equal(proof.body.eventHash, record.integrity?.hash, 'the event hash is the one stored in its metadata')
      t.equal(proof.body.leafHash, proof.body.eventHash, 'and it is the leaf hash')
      t.ok(verifyInclusion(proof.body.leafIndex, checkpoint.treeSize, hex(proof.body.eventHash), proof.body.proof.map(hex), hex(checkpoint.rootHash)), `event ${record.revision} is in the tree of ${checkpoint.treeSize}`)
    }
  }
  const byStream = await api.request('GET', `/v1/audit/proofs/inclusion?stream=${caseStreamId(second.caseId)}&revision=1`, as.supervisor)
  t.equal(byStream.status, 200)
  t.equal(byStream.body.treeSize, 7, 'the newest checkpoint by default')
  t.ok(verifyInclusion(byStream.body.leafIndex, 7, hex(byStream.body.eventHash), byStream.body.proof.map(hex), hex(big.rootHash)))
  t.notOk(verifyInclusion(byStream.body.leafIndex, 7, hex(byStream.body.eventHash), byStream.body.proof.map(hex), hex(small.rootHash)), 'not against another root')

  const notCovered = await api.request('GET', `/v1/audit/proofs/inclusion?event=5&checkpoint=4`, as.auditor)
  t.equal(notCovered.status, 409, 'an event after the checkpoint asked for')
  t.equal(notCovered.body.reason, 'not_covered')
  for (const [query, status] of [
    ['event=999', 404],
    ['event=1&checkpoint=5', 404],
    [`stream=${caseStreamId(first.caseId)}&revision=9`, 404],
    ['stream=case-nope&revision=0', 404],
    ['', 400],
    ['event=1&stream=x&revision=0', 400],
    [`stream=${caseStreamId(first.caseId)}`, 400],
    ['event=abc', 400],
    ['event=0', 400],
    ['event=1&extra=1', 400],
  ] as const) {
    const answer = await api.request('GET', `/v1/audit/proofs/inclusion?${query}`, as.auditor)
    t.equal(answer.status, status, `inclusion?${query} → ${status}`)
    t.equal(answer.type, PROBLEM)
  }

  const consistency = await api.request('GET', '/v1/audit/proofs/consistency?from=4&to=7', as.auditor)
  t.equal(consistency.status, 200)
  t.equal(consistency.body.fromRoot, small.rootHash)
  t.equal(consistency.body.toRoot, big.rootHash)
  t.same(consistency.body.fromCheckpoint, small)
  t.ok(verifyConsistency(4, 7, consistency.body.proof.map(hex), hex(small.rootHash), hex(big.rootHash)), 'the log of 7 extends the log of 4')
  const toNewest = await api.request('GET', '/v1/audit/proofs/consistency?from=2', as.auditor)
  t.equal(toNewest.body.to, 7, 'to defaults to the newest checkpoint')
  for (const [query, status] of [
    ['from=5&to=4', 400],
    ['from=0', 400],
    ['from=1&to=99', 404],
    ['', 400],
  ] as const) {
    const answer = await api.request('GET', `/v1/audit/proofs/consistency?${query}`, as.auditor)
    t.equal(answer.status, status, `consistency?${query} → ${status}`)
  }
})

t.test('a checkpoint brought back from elsewhere: ours, another key\'s, another log\'s, forged, ahead of the log', async (t) => {
  const api = await serve(t)
  await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  const pinned = await api.audit.checkpointNow()
  await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  const newest = await api.audit.checkpointNow()
  if (pinned === undefined || newest === undefined) throw new Error('no checkpoint written')

  const ok = await api.request('POST', '/v1/audit/checkpoints/verify', as.auditor, pinned)
  t.equal(ok.status, 200)
  t.equal(ok.body.valid, true)
  t.equal(ok.body.latest.treeSize, newest.treeSize)
  t.ok(verifyConsistency(pinned.treeSize, newest.treeSize, ok.body.consistencyProof.map(hex), hex(pinned.rootHash), hex(newest.rootHash)), 'with a consistency proof to the newest')

  const other = signingKeyFromPem(newSigningKeyPem(), 'other key')
  const { keyId: _k, signature: _s, ...body } = pinned
  const cases: [string, unknown, number, string | undefined][] = [
    ['signed by another key', signCheckpoint(body, other), 409, 'another_key'],
    ['of another log', signCheckpoint({ ...body, logId: 'f'.repeat(32) }, key), 409, 'another_log'],
    ['its root changed after signing', { ...pinned, rootHash: 'a'.repeat(64) }, 409, 'bad_signature'],
    ['a forged root, signed with the log key (an insider)', signCheckpoint({ ...body, rootHash: 'b'.repeat(64) }, key), 409, 'log_rewritten'],
    ['ahead of the log (a truncated log)', signCheckpoint({ ...body, treeSize: 500, lastPosition: 500 }, key), 409, 'log_truncated'],
    ['not a checkpoint', { treeSize: 'x' }, 400, undefined],
  ]
  for (const [what, checkpoint, status, reason] of cases) {
    const answer = await api.request('POST', '/v1/audit/checkpoints/verify', as.auditor, checkpoint)
    t.equal(answer.status, status, what)
    t.equal(answer.type, PROBLEM)
    if (reason !== undefined) t.equal(answer.body.reason, reason, `${what}: ${reason}`)
  }
  t.equal((await api.request('POST', '/v1/audit/checkpoints/verify', as.channel, pinned)).status, 403, 'a channel may not')
})

t.test('a case\'s audit bundle: one file the offline verifier accepts; by case id or tracking code; a checkpoint made for it', async (t) => {
  const api = await serve(t)
  const seeded = await seedCase(api.store, { category: 'yol-cukur', routedAt: new Date() })
  t.equal(api.audit.checkpoints.length, 0, 'no checkpoint before the bundle is asked for')
  const bundle = await api.request('GET', `/v1/cases/${seeded.caseId}/audit-bundle`, as.auditor)
  t.equal(bundle.status, 200)
  t.match(bundle.headers.get('content-disposition'), /attachment; filename="denetim-paketi-/)
  t.equal(bundle.body.events.length, 2)
  t.equal(api.audit.checkpoints.length, 1, 'a checkpoint was signed to cover the case')
  const verified = verifyBundle(bundle.body)
  t.equal(verified.events, 2)
  t.equal(verified.keyId, key.keyId)
  t.same(verifyBundle(bundle.body, { publicKey: key.publicKey }).keyPinned, true, 'and with the published key pinned')
  const stored = await api.store.readStream(caseStreamId(seeded.caseId))
  t.same(bundle.body.events.map((e: { data: string }) => JSON.parse(e.data)), stored.map((r) => r.data), 'the events as stored')

  const byCode = await api.request('GET', `/v1/cases/${seeded.trackingCode}/audit-bundle`, as.supervisor)
  t.equal(byCode.status, 200)
  t.equal(byCode.body.caseId, seeded.caseId)
  t.equal(api.audit.checkpoints.length, 1, 'the checkpoint already covers it: no new one')

  for (const [ref, status] of [
    ['00000000-0000-4000-8000-000000000000', 404],
    ['NOT-A-CODE', 404],
  ] as const) {
    const answer = await api.request('GET', `/v1/cases/${ref}/audit-bundle`, as.auditor)
    t.equal(answer.status, status, ref)
    t.equal(answer.type, PROBLEM)
  }
  t.equal((await api.request('GET', `/v1/cases/${seeded.caseId}/audit-bundle`, as.fen)).status, 403, 'staff may not')
  t.equal((await api.request('GET', `/v1/cases/${seeded.caseId}/audit-bundle`, as.operator)).status, 403, 'operators may not')
})

t.test('checkpoints are written by themselves while events arrive, not while nothing does, and cover what a crash left uncovered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'civic-audit-timer-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'events.sqlite')
  let store = openSqliteEventStore({ file })
  let audit = await openAuditLog({ store, key, checkpointIntervalMs: 100, logger })
  await seedCase(store, { category: 'yol-cukur', routedAt: new Date() })
  const waitFor = async (what: string, condition: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5000
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  await waitFor('a first checkpoint', () => audit.checkpoints.length === 1)
  t.equal(audit.checkpoints[0]?.checkpoint.treeSize, 2)
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(audit.checkpoints.length, 1, 'nothing new but the checkpoint itself: no second checkpoint')
  await seedCase(store, { category: 'yol-cukur', routedAt: new Date() })
  await waitFor('a second checkpoint', () => audit.checkpoints.length === 2)
  t.equal(audit.checkpoints[1]?.checkpoint.treeSize, 5, 'it covers the first checkpoint and the new case')

  // A crash: events appended while no checkpoint writer runs.
  await audit.close()
  await seedCase(store, { category: 'yol-cukur', routedAt: new Date() })
  await store.close()
  store = openSqliteEventStore({ file })
  audit = await openAuditLog({ store, key, checkpointIntervalMs: 100, logger })
  await waitFor('a checkpoint after the restart', () => audit.checkpoints.length === 3)
  t.equal(audit.checkpoints[2]?.checkpoint.treeSize, 8, 'the next checkpoint covers everything before it')
  t.equal(audit.size, 9)
  await audit.close()
  await store.close()
})
