/**
 * One case's audit bundle (buildAuditBundle from a live audit log over a real SQLite store) and
 * verifyBundle against the ways a bundle could be doctored, plus `pnpm audit:verify --bundle`.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { eventHash, openSqliteEventStore, unwrapMetadata } from '@civic-desk/event-store'
import { openAuditLog, type AuditLog } from './audit-log.ts'
import { buildAuditBundle, type AuditBundle } from './bundle.ts'
import { newSigningKeyPem, signCheckpoint, signingKeyFromPem } from './checkpoint.ts'
import { AuditProblem, verifyBundle } from './verify.ts'
import { runVerifyCli } from './testing.ts'

const silent = { info() {}, warn() {}, error() {} }

const dir = mkdtempSync(join(tmpdir(), 'civic-desk-audit-bundle-'))
const file = join(dir, 'events.sqlite')
const key = signingKeyFromPem(newSigningKeyPem(), 'test')
const otherKey = signingKeyFromPem(newSigningKeyPem(), 'other test key')
const store = openSqliteEventStore({ file, pollIntervalMs: 20 })
let log: AuditLog
t.teardown(async () => {
  await log?.close()
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const caseId = randomUUID()
const otherCaseId = randomUUID()
const streamId = `case-${caseId}`
let bundle: AuditBundle

t.before(async () => {
  log = await openAuditLog({ store, key, checkpointIntervalMs: 60_000, logger: silent })
  const revisions = new Map<string, number>()
  const append = async (stream: string, type: string, data: unknown): Promise<void> => {
    const revision = revisions.get(stream)
    const result = await store.append(stream, [{ id: randomUUID(), type, data, metadata: { actor: { kind: 'staff', id: 'personel-17' } } }], { expectedRevision: revision ?? 'no_stream' })
    revisions.set(stream, result.nextRevision)
  }
  const other = `case-${otherCaseId}`
  await append(streamId, 'CaseSubmitted', { trackingCode: 'BM-2026-004242', description: 'Mahallemizde sokak lambaları yanmıyor; gece yürümek tehlikeli.', location: { district: 'Üsküdar', street: 'Çiçekçi Sk.' } })
  await append(other, 'CaseSubmitted', { trackingCode: 'BM-2026-004243', description: 'Kaldırıma park eden araçlar.' })
  await append(streamId, 'CaseRouted', { directorate: 'Elektrik İşleri Müdürlüğü' })
  await log.checkpointNow()
  await append(other, 'CaseRouted', { directorate: 'Zabıta Müdürlüğü' })
  await append(streamId, 'CaseNoteAdded', { note: 'Arıza ekibi yönlendirildi; trafo değişecek.' })
  await append(other, 'CaseNoteAdded', { note: 'Ceza kesildi.' })
  await append(streamId, 'CaseResolved', { resolution: 'Lambalar yenilendi, vatandaş bilgilendirildi.' })
  // No checkpoint covers the last events: buildAuditBundle writes one.
  const built = await buildAuditBundle({ log, store, caseId, streamId })
  if (built === undefined) throw new Error('no bundle')
  bundle = built
})

/** A deep copy of the bundle, as JSON (what a file holds), changed by `change`. */
function doctored(change: (b: AuditBundle) => void): unknown {
  const copy = JSON.parse(JSON.stringify(bundle)) as AuditBundle
  change(copy)
  return copy
}

function problemOf(input: unknown, options?: Parameters<typeof verifyBundle>[1]): AuditProblem {
  try {
    const result = verifyBundle(input, options)
    throw new Error(`verifyBundle passed (${result.events} events)`)
  } catch (error) {
    if (error instanceof AuditProblem) return error
    throw error
  }
}

const eventWhere = (i: number): string => `${streamId} akışı, sıra ${bundle.events[i]!.revision} (konum ${bundle.events[i]!.position})`
const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1)

void t.test('a bundle from a live audit log verifies, as built and as a file', async (t) => {
  t.equal(bundle.events.length, 4)
  t.same(bundle.events.map((e) => e.revision), [0, 1, 2, 3])
  t.equal(log.checkpoints.length, 2, 'the bundle wrote a second checkpoint covering the case\'s last event')
  t.same(bundle.checkpoint, log.checkpoints[1]!.checkpoint)
  t.ok(bundle.events.every((e) => e.inclusionProof.length > 0))
  t.match(bundle.events[0]!.data, /sokak lambaları/)

  const result = verifyBundle(JSON.parse(JSON.stringify(bundle)))
  t.equal(result.caseId, caseId)
  t.equal(result.streamId, streamId)
  t.equal(result.events, 4)
  t.equal(result.keyId, key.keyId)
  t.equal(result.keyPinned, false)
  t.same(result.checkpoint, bundle.checkpoint)
  t.equal(verifyBundle(bundle, { publicKey: key.publicKey }).keyPinned, true)

  // An older checkpoint's bundle for a case it covers: the other case was covered by the second only.
  const again = await buildAuditBundle({ log, store, caseId, streamId })
  t.same(again?.checkpoint, bundle.checkpoint, 'no new checkpoint when the newest covers the case')
  t.equal(log.checkpoints.length, 2)
})

void t.test('one byte of an event\'s data changed', async (t) => {
  const problem = problemOf(doctored((b) => (b.events[1]!.data = b.events[1]!.data.replace('Elektrik', 'Elektrık'))))
  t.equal(problem.where, eventWhere(1))
  t.match(problem.what, /^içeriğin özeti [0-9a-f]{16}…, kayıtlı özet [0-9a-f]{16}…: verisi ya da üst verisi değiştirilmiş$/)

  // The same with the event's header and hash rewritten to match: the inclusion proof fails.
  const p2 = problemOf(
    doctored((b) => {
      const e = b.events[3]!
      e.data = e.data.replace('yenilendi', 'yenilenmedi')
      const meta = unwrapMetadata(e.metadata)!
      // Recomputing the last event's own hash (nothing links to it).
      const hash = eventHash(b.streamId, e.revision, e.eventId, e.type, meta.prev, e.data, meta.meta)
      e.metadata = e.metadata.replace(meta.hash, hash)
      e.hash = hash
    }),
  )
  t.equal(p2.where, eventWhere(3))
  t.equal(p2.what, 'imzalı kontrol noktasının ağacına dahil olduğu kanıtlanamıyor (kanıt ya da olay değiştirilmiş)')

  // The bundle's own hash field changed.
  const p3 = problemOf(doctored((b) => (b.events[2]!.hash = flip(b.events[2]!.hash))))
  t.equal(p3.where, eventWhere(2))
  t.match(p3.what, /^paketin yazdığı özet/)
})

void t.test('an event removed', async (t) => {
  const problem = problemOf(doctored((b) => b.events.splice(1, 1)))
  t.equal(problem.where, eventWhere(2))
  t.equal(problem.what, 'pakette 1. sırada olmalıydı: olaylar eksik ya da yer değiştirmiş')

  // Removed and the later revisions renumbered: the chain link.
  const p2 = problemOf(
    doctored((b) => {
      b.events.splice(1, 1)
      b.events.forEach((e, i) => (e.revision = i))
    }),
  )
  t.equal(p2.where, `${streamId} akışı, sıra 1 (konum ${bundle.events[2]!.position})`)
  t.match(p2.what, /^önceki olay özeti/)
})

void t.test('two events swapped', async (t) => {
  const problem = problemOf(doctored((b) => ([b.events[1], b.events[2]] = [b.events[2]!, b.events[1]!])))
  t.equal(problem.where, eventWhere(2))
  t.equal(problem.what, 'pakette 1. sırada olmalıydı: olaylar eksik ya da yer değiştirmiş')

  // Their contents swapped, each keeping its revision, position and proof.
  const p2 = problemOf(
    doctored((b) => {
      const [x, y] = [b.events[1]!, b.events[2]!]
      for (const field of ['eventId', 'type', 'data', 'metadata', 'hash'] as const) [x[field], y[field]] = [y[field], x[field]]
    }),
  )
  t.equal(p2.where, eventWhere(1))
  t.match(p2.what, /^önceki olay özeti/)
})

void t.test('an inclusion proof node changed', async (t) => {
  const problem = problemOf(doctored((b) => (b.events[0]!.inclusionProof[0] = flip(b.events[0]!.inclusionProof[0]!))))
  t.equal(problem.where, eventWhere(0))
  t.equal(problem.what, 'imzalı kontrol noktasının ağacına dahil olduğu kanıtlanamıyor (kanıt ya da olay değiştirilmiş)')

  // A node dropped, or the leaf index moved.
  t.equal(problemOf(doctored((b) => b.events[2]!.inclusionProof.pop())).where, eventWhere(2))
  t.equal(problemOf(doctored((b) => (b.events[2]!.leafIndex += 1))).where, `${streamId} akışı, sıra 2 (konum ${bundle.events[2]!.position})`)
})

void t.test('the checkpoint changed', async (t) => {
  const c = bundle.checkpoint
  const problem = problemOf(doctored((b) => (b.checkpoint.rootHash = flip(b.checkpoint.rootHash))))
  t.equal(problem.where, `kontrol noktası (${c.treeSize} olay, ${c.issuedAt})`)
  t.equal(problem.what, 'imzası geçersiz: imza içerikle (olay sayısı, kök, konum, zaman ya da günlük) uyuşmuyor')

  // A forged root re-signed with the right key (an insider holding it): the proofs fail.
  const p2 = problemOf(doctored((b) => (b.checkpoint = signCheckpoint({ ...bodyOf(b), rootHash: 'b'.repeat(64) }, key))))
  t.equal(p2.where, eventWhere(0))
  t.match(p2.what, /dahil olduğu kanıtlanamıyor/)

  // A checkpoint of another log, signed with the key.
  const p3 = problemOf(doctored((b) => (b.checkpoint = signCheckpoint({ ...bodyOf(b), logId: 'c'.repeat(32) }, key))))
  t.equal(p3.where, 'kontrol noktası')
  t.equal(p3.what, `başka bir günlüğe ait (${'c'.repeat(32)}, paketin günlüğü ${bundle.log.logId})`)
})

void t.test('a different public key pinned, or the bundle re-signed with another key', async (t) => {
  const c = bundle.checkpoint
  const problem = problemOf(bundle, { publicKey: otherKey.publicKey })
  t.equal(problem.where, `kontrol noktası (${c.treeSize} olay, ${c.issuedAt})`)
  t.equal(problem.what, `imzası geçersiz: ${key.keyId} anahtarıyla imzalanmış, bu günlüğün anahtarı ${otherKey.keyId}`)

  // A forger replaces the key and re-signs: it holds together alone, and fails with the published key pinned.
  const forged = doctored((b) => {
    b.log = { ...b.log, keyId: otherKey.keyId, publicKey: otherKey.publicKeyPem }
    b.checkpoint = signCheckpoint(bodyOf(b), otherKey)
  })
  t.equal(verifyBundle(forged).keyId, otherKey.keyId, 'alone, the bundle names the forger\'s key id (the CLI says to compare it)')
  t.match(problemOf(forged, { publicKey: key.publicKey }).what, new RegExp(`^imzası geçersiz: ${otherKey.keyId} anahtarıyla imzalanmış, bu günlüğün anahtarı ${key.keyId}$`))

  // The key id in the bundle not the key's.
  const p3 = problemOf(doctored((b) => (b.log.keyId = otherKey.keyId)))
  t.equal(p3.where, 'denetim paketi')
  t.equal(p3.what, `içindeki açık anahtarın kimliği ${key.keyId}, paketin yazdığı ${otherKey.keyId}`)
})

void t.test('not a bundle at all, or another case\'s', async (t) => {
  for (const input of [{}, null, [], 'BM-2026-004242', doctored((b) => (b.format = 'civic-desk/audit-bundle/v0' as never)), doctored((b) => (b.events = []))]) {
    const problem = problemOf(input)
    t.equal(problem.where, 'denetim paketi')
    t.match(problem.what, /^biçimi tanınmıyor \(.*\); GET \/v1\/cases\/\{caseId\}\/audit-bundle ile indirilen dosyayı verin$/)
  }
  const p2 = problemOf(doctored((b) => (b.caseId = otherCaseId)))
  t.equal(p2.where, 'denetim paketi')
  t.equal(p2.what, `akış ${streamId}, başvuru ${otherCaseId} ile uyuşmuyor`)
})

void t.test('CLI: pnpm audit:verify --bundle, as a child process', async (t) => {
  const good = join(dir, 'bundle.json')
  writeFileSync(good, JSON.stringify(bundle, null, 2))
  const keyFile = join(dir, 'published-key.pem')
  writeFileSync(keyFile, key.publicKeyPem)
  const ok = await runVerifyCli(['--bundle', good, '--public-key', keyFile])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, `DOĞRULANDI: ${good}`)
  t.match(ok.stdout, `başvuru ${caseId}: 4 olay`)
  t.match(ok.stdout, '(--public-key ile verilen)')

  const bad = join(dir, 'bundle-doctored.json')
  writeFileSync(bad, JSON.stringify(doctored((b) => (b.events[1]!.data = b.events[1]!.data.replace('Elektrik', 'Elektrık')))))
  const no = await runVerifyCli(['--bundle', bad])
  t.equal(no.code, 1)
  t.match(no.stderr, `yer:   ${eventWhere(1)}`)

  const notJson = join(dir, 'not.json')
  writeFileSync(notJson, 'PK\u0003\u0004')
  const usage = await runVerifyCli(['--bundle', notJson])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /JSON değil/)
})


function bodyOf(b: AuditBundle): { logId: string; treeSize: number; rootHash: string; lastPosition: number; issuedAt: string } {
  const c = b.checkpoint
  return { logId: c.logId, treeSize: c.treeSize, rootHash: c.rootHash, lastPosition: c.lastPosition, issuedAt: c.issuedAt }
}
