/**
 * The offline verifier against a real SQLite store corrupted the ways an insider with database
 * access could (issue 14, item 5): each corruption on its own copy of one store, written through
 * the port with an audit log checkpointing between batches, tampered with better-sqlite3 directly.
 */
import { randomUUID } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { GENESIS_HASH, chainProblemOf, eventHash, openBulkLog, openSqliteEventStore, unwrapMetadata, wrapMetadata, type EventStore } from '@civic-desk/event-store'
import { openAuditLog } from './audit-log.ts'
import { CHECKPOINT_EVENT_TYPE, CHECKPOINT_STREAM, newSigningKeyPem, signCheckpoint, signingKeyFromPem, type Checkpoint, type SigningKey } from './checkpoint.ts'
import { AuditProblem, verifyStore, type StoreVerification, type VerifyStoreOptions } from './verify.ts'
import { runVerifyCli } from './testing.ts'

const silent = { info() {}, warn() {}, error() {} }

interface Row {
  readonly position: number
  readonly stream_id: string
  readonly revision: number
  readonly event_id: string
  readonly type: string
  readonly data: string
  readonly metadata: string
  readonly recorded_at: string
}

// ---- the store --------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'civic-desk-audit-verify-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const base = join(dir, 'base.sqlite')
const key = signingKeyFromPem(newSigningKeyPem(), 'test')
const otherKey = signingKeyFromPem(newSigningKeyPem(), 'other test key')

/** Four cases; their streams get events in interleaved order. */
const caseIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
const streamOf = (i: number): string => `case-${caseIds[i]!}`
const A = streamOf(0)
const B = streamOf(1)
const C = streamOf(2)
const D = streamOf(3)

const districts = ['Çankaya', 'Keçiören', 'Yenimahalle', 'Altındağ']
const submitted = (i: number) => ({
  type: 'CaseSubmitted',
  data: {
    trackingCode: `BM-2026-00${1001 + i}`,
    channel: i % 2 === 0 ? 'web' : 'alo153',
    category: ['Yol ve kaldırım', 'Çöp toplama', 'Park ve bahçeler', 'Su arızası'][i],
    description: ['Sokağımızdaki çukur büyüdü, çocuklar düşüyor.', 'Çöpler üç gündür alınmadı; koku dayanılmaz.', 'Parktaki salıncak kırık, ağaç dalları yola sarkıyor.', 'Şebeke suyu kesik, sayaç önünde su sızıntısı var.'][i],
    location: { district: districts[i], neighbourhood: 'Kızılay Mah.', street: 'Atatürk Bulvarı No: 12/3' },
    citizen: { name: 'Ayşe Yılmaz', phone: '+90 532 000 00 0' + String(i) },
  },
})
const routed = (i: number) => ({ type: 'CaseRouted', data: { directorate: ['Fen İşleri Müdürlüğü', 'Temizlik İşleri Müdürlüğü', 'Park ve Bahçeler Müdürlüğü', 'ASKİ Genel Müdürlüğü'][i], reason: 'kategori eşlemesi', sla: { dueAt: '2026-03-05T14:05:00.000Z' } } })
const noted = (text: string) => ({ type: 'CaseNoteAdded', data: { note: text, visibility: 'internal', author: { staffId: 'personel-17', name: 'Gökhan Öztürk' } } })
const resolved = { type: 'CaseResolved', data: { resolution: 'Ekip sahada çalışmayı tamamladı; vatandaş bilgilendirildi.', satisfied: null } }
const metadataFor = (i: number) => ({ actor: { kind: i === 0 ? 'citizen' : 'staff', id: `kullanıcı-${i}` }, correlationId: randomUUID() })

/** Batches of [case index, event]; within a batch the streams take turns. */
const batches: [number, { type: string; data: unknown }][][] = [
  // Batch 1: four cases opened and routed; D gets nothing after this batch.
  [
    [0, submitted(0)], [1, submitted(1)], [2, submitted(2)], [3, submitted(3)],
    [0, routed(0)], [1, routed(1)], [3, routed(3)], [2, routed(2)],
    [0, noted('Ekip yönlendirildi; şikâyetçi arandı, ulaşılamadı.')], [3, noted('Arıza ekibi çıkış yaptı.')],
    [0, noted('Şikâyetçiye ikinci kez ulaşıldı: çukurun yeri doğrulandı.')],
  ],
  // Batch 2.
  [
    [1, noted('Çöp kamyonu arızalı; yedek araç istendi.')], [0, noted('Çukur asfaltla kapatıldı, işaretleme yapılacak.')],
    [2, noted('Ağaç budama ekibi planlandı: perşembe.')], [1, resolved], [0, resolved],
  ],
  // Batch 3.
  [[2, noted('Salıncak değiştirildi; budama tamam.')], [1, noted('Vatandaş teşekkür etti.')], [2, resolved]],
  // Batch 4: after the last checkpoint, not yet under a signature.
  [[0, noted('Kapanış sonrası not: fotoğraf eklendi.')], [1, noted('Memnuniyet anketi gönderildi.')]],
]

let checkpoints: Checkpoint[] = []
let logId: string | undefined
let rows: Row[] = []
const uncoveredEvents = batches[3]!.length

const rowOf = (streamId: string, revision: number): Row => {
  const row = rows.find((r) => r.stream_id === streamId && r.revision === revision)
  if (row === undefined) throw new Error(`no ${streamId}#${revision} in the fixture`)
  return row
}
const lastRevisionOf = (streamId: string): number => Math.max(...rows.filter((r) => r.stream_id === streamId).map((r) => r.revision))
const eventWhere = (streamId: string, revision: number, position = rowOf(streamId, revision).position): string => `${streamId} akışı, sıra ${revision} (konum ${position})`
const checkpointWhere = (revision: number, position = rowOf(CHECKPOINT_STREAM, revision).position): string => `kontrol noktası #${revision} (konum ${position})`

t.before(async () => {
  const store = openSqliteEventStore({ file: base, pollIntervalMs: 20 })
  const log = await openAuditLog({ store, key, checkpointIntervalMs: 60_000, logger: silent })
  const revisions = new Map<string, number>()
  for (const [b, batch] of batches.entries()) {
    for (const [i, event] of batch) {
      const stream = streamOf(i)
      const revision = revisions.get(stream)
      const result = await store.append(stream, [{ id: randomUUID(), ...event, metadata: metadataFor(i) }], { expectedRevision: revision ?? 'no_stream' })
      revisions.set(stream, result.nextRevision)
    }
    if (b < 3) {
      const checkpoint = await log.checkpointNow()
      if (checkpoint === undefined) throw new Error('no checkpoint written')
      checkpoints.push(checkpoint)
    }
  }
  await log.ready()
  logId = log.logId
  await log.close()
  await store.close()
  const db = new Database(base)
  db.pragma('wal_checkpoint(TRUNCATE)')
  rows = db.prepare<[], Row>('SELECT * FROM events ORDER BY position').all()
  db.close()
})

// ---- helpers ----------------------------------------------------------------------------------

/** A fresh copy of the store, tampered with by `tamper` inside one transaction. */
function tampered(name: string, tamper: (db: Database.Database) => void): string {
  const file = join(dir, `${name}.sqlite`)
  copyFileSync(base, file)
  const db = new Database(file)
  try {
    db.transaction(() => tamper(db))()
  } finally {
    db.close()
  }
  return file
}

async function verify(file: string, options: VerifyStoreOptions = { publicKey: key.publicKey }): Promise<StoreVerification> {
  const log = await openBulkLog(file, { role: 'source' })
  try {
    return await verifyStore(log, options)
  } finally {
    await log.close()
  }
}

/** The problem verifyStore reports; fails the test (by throwing) when it reports none. */
async function problemOf(file: string, options?: VerifyStoreOptions): Promise<AuditProblem> {
  try {
    const result = await verify(file, options)
    throw new Error(`verifyStore passed ${file} (${result.events} events)`)
  } catch (error) {
    if (error instanceof AuditProblem) return error
    throw error
  }
}

const streamRows = (db: Database.Database, streamId: string): Row[] => db.prepare<[string], Row>('SELECT * FROM events WHERE stream_id = ? ORDER BY revision').all(streamId)

/**
 * What an insider who knows integrity.ts does after changing a stream: recomputes the chain of
 * every event of `streamId` from `fromRevision` on, so the stream links perfectly again.
 */
function rechain(db: Database.Database, streamId: string, fromRevision: number): void {
  const update = db.prepare('UPDATE events SET metadata = ? WHERE position = ?')
  let prev = GENESIS_HASH
  for (const row of streamRows(db, streamId)) {
    const unwrapped = unwrapMetadata(row.metadata)
    if (row.revision >= fromRevision) {
      const meta = unwrapped?.meta ?? row.metadata
      const hash = eventHash(row.stream_id, row.revision, row.event_id, row.type, prev, row.data, meta)
      update.run(wrapMetadata(meta, { prev, hash }), row.position)
      prev = hash
    } else {
      if (unwrapped === undefined) throw new Error(`${streamId}#${row.revision} has no header`)
      prev = unwrapped.hash
    }
  }
}

/** Changes one ASCII character inside a text: one byte of the stored UTF-8. */
function flipOneByte(text: string, at: number): string {
  const c = text.charCodeAt(at)
  if (c > 0x7e || c < 0x30) throw new Error(`character ${at} of ${text} is not a plain ASCII letter or digit`)
  return text.slice(0, at) + String.fromCharCode(c === 0x7a ? 0x79 : c + 1) + text.slice(at + 1)
}

const setData = (db: Database.Database, position: number, data: string): void => {
  const changed = db.prepare('UPDATE events SET data = ? WHERE position = ?').run(data, position).changes
  if (changed !== 1) throw new Error(`no event at position ${position}`)
}
const deleteAt = (db: Database.Database, position: number): void => {
  if (db.prepare('DELETE FROM events WHERE position = ?').run(position).changes !== 1) throw new Error(`no event at position ${position}`)
}

/** Inserts one event at `position` (undefined: the next) with a correct chain header linking to `prev`. */
function insertChained(db: Database.Database, position: number | undefined, streamId: string, revision: number, prev: string, type: string, data: string, recordedAt: string, meta = '{}'): void {
  const id = randomUUID()
  const hash = eventHash(streamId, revision, id, type, prev, data, meta)
  db.prepare('INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    position ?? null,
    streamId,
    revision,
    id,
    type,
    data,
    wrapMetadata(meta, { prev, hash }),
    recordedAt,
  )
}

/** A checkpoint row's data replaced by `data`; with `chain`, the checkpoint stream rechained after it. */
function replaceCheckpoint(db: Database.Database, revision: number, data: Checkpoint, chain = true): void {
  setData(db, rowOf(CHECKPOINT_STREAM, revision).position, JSON.stringify(data))
  if (chain) rechain(db, CHECKPOINT_STREAM, revision)
}

const bodyOf = (c: Checkpoint): Omit<Checkpoint, 'signature' | 'keyId'> => ({ logId: c.logId, treeSize: c.treeSize, rootHash: c.rootHash, lastPosition: c.lastPosition, issuedAt: c.issuedAt })

// ---- the fixture itself -----------------------------------------------------------------------

void t.test('the fixture: interleaved case streams, three checkpoints between batches, an uncovered tail', async (t) => {
  t.equal(checkpoints.length, 3)
  t.equal(rows.length, batches.flat().length + 3, 'every event and checkpoint stored')
  t.same(new Set(rows.map((r) => r.stream_id)), new Set([A, B, C, D, CHECKPOINT_STREAM]))
  // Interleaved: the first rows alternate between streams.
  t.not(rows[0]!.stream_id, rows[1]!.stream_id)
  const cpRows = rows.filter((r) => r.stream_id === CHECKPOINT_STREAM)
  t.same(cpRows.map((r) => r.type), [CHECKPOINT_EVENT_TYPE, CHECKPOINT_EVENT_TYPE, CHECKPOINT_EVENT_TYPE])
  // Each checkpoint covers exactly the rows before it.
  for (const [i, row] of cpRows.entries()) {
    const index = rows.indexOf(row)
    t.equal(checkpoints[i]!.treeSize, index, `checkpoint ${i} covers the ${index} rows before it`)
    t.equal(checkpoints[i]!.lastPosition, rows[index - 1]!.position)
    t.same(JSON.parse(row.data), checkpoints[i])
  }
  // D's last event is in batch 1, covered by checkpoint 0; A's revision 1 likewise.
  t.ok(rowOf(D, lastRevisionOf(D)).position < rowOf(CHECKPOINT_STREAM, 0).position)
  t.ok(rowOf(A, 3).position < rowOf(CHECKPOINT_STREAM, 0).position, 'A has four events under the first checkpoint')
  t.match(rowOf(A, 0).data, /Sokağımızdaki çukur/)
})

// ---- 1. untouched -----------------------------------------------------------------------------

void t.test('1. an untouched store passes, with exact counts and the signatures checked', async (t) => {
  const result = await verify(base, { publicKey: key.publicKey, pinned: [checkpoints[0]!, checkpoints[2]!] })
  t.equal(result.events, rows.length)
  t.equal(result.streams, 5, 'four case streams and the checkpoint stream')
  t.equal(result.checkpoints, 3)
  t.equal(result.unchained, 0)
  t.equal(result.uncovered, uncoveredEvents)
  t.same(result.lastCheckpoint, checkpoints[2])
  t.equal(result.logId, logId)
  t.equal(result.signaturesChecked, true)
  t.equal(result.pinned, 2)

  const paged = await verify(base, { publicKey: key.publicKey, pageSize: 3 })
  t.equal(paged.events, rows.length, 'the same over pages of 3 rows')
  t.equal(paged.checkpoints, 3)

  const noKey = await verify(base, {})
  t.equal(noKey.signaturesChecked, false, 'without a key the result says the signatures were not checked')

  // The copy procedure itself leaves the store intact.
  t.equal((await verify(tampered('untouched-copy', () => undefined))).events, rows.length)
})

void t.test('the verifier threads: one, two or five ranges of the log give the same result and catch the same problems', async (t) => {
  const results = await Promise.all([1, 2, 5].map((threads) => verify(base, { publicKey: key.publicKey, threads, pageSize: 2 })))
  for (const result of results) {
    t.equal(result.events, rows.length)
    t.equal(result.streams, 5)
    t.equal(result.checkpoints, 3)
    t.equal(result.uncovered, uncoveredEvents)
  }
  // Every event of a stream deleted but its first: with five ranges the gap is across a range boundary.
  const last = rows.filter((r) => r.stream_id === A).at(-1)!
  const middle = rows.filter((r) => r.stream_id === A)[1]!
  const file = tampered('threads-gap', (db) => void db.prepare('DELETE FROM events WHERE position = ?').run(middle.position))
  for (const threads of [1, 2, 5]) {
    const problem = await problemOf(file, { publicKey: key.publicKey, threads, pageSize: 2 })
    t.equal(problem.where, eventWhere(A, 2, rowOf(A, 2).position), `${threads} thread(s): the event after the gap`)
    t.equal(problem.what, 'akışta 1 sıralı olay yok: silinmiş ya da yeri değiştirilmiş')
  }
  t.ok(last.position > middle.position)
})

// ---- 2. one byte ------------------------------------------------------------------------------

void t.test('2. one byte of one covered event\'s data changed: that stream and revision, the content hash', async (t) => {
  const target = rowOf(A, 1)
  t.ok(target.position < checkpoints[0]!.lastPosition, 'the event is covered by a checkpoint')
  const at = target.data.indexOf('Fen') + 1
  const file = tampered('one-byte', (db) => setData(db, target.position, flipOneByte(target.data, at)))
  const problem = await problemOf(file)
  t.equal(problem.where, eventWhere(A, 1))
  t.match(problem.what, /^içeriğin özeti [0-9a-f]{16}…, kayıtlı özet [0-9a-f]{16}…: verisi, üst verisi, kimliği, türü ya da sırası değiştirilmiş$/)
  t.equal(problem.message, `${problem.where}: ${problem.what}`)

  // A Turkish letter (two bytes in UTF-8) replaced by its ASCII look-alike.
  const turkish = rowOf(C, 0)
  const file2 = tampered('one-letter', (db) => setData(db, turkish.position, turkish.data.replace('ağaç', 'agaç')))
  t.equal((await problemOf(file2)).where, eventWhere(C, 0))

  // The metadata (the actor) changed instead of the data.
  const meta = rowOf(B, 1)
  const file3 = tampered('metadata', (db) => db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(meta.metadata.replace('"kind":"staff"', '"kind":"citizen"'), meta.position))
  t.not(meta.metadata.replace('"kind":"staff"', '"kind":"citizen"'), meta.metadata)
  const p3 = await problemOf(file3)
  t.equal(p3.where, eventWhere(B, 1))
  t.match(p3.what, /^içeriğin özeti/)

  // The type renamed.
  const file4 = tampered('type', (db) => db.prepare('UPDATE events SET type = ? WHERE position = ?').run('CaseRejected', rowOf(B, 3).position))
  t.equal((await problemOf(file4)).where, eventWhere(B, 3))
})

// ---- 3. a middle event deleted ----------------------------------------------------------------

void t.test('3. an event deleted in the middle of a stream: the next event of the stream names the missing revision', async (t) => {
  const file = tampered('delete-middle', (db) => deleteAt(db, rowOf(A, 1).position))
  const problem = await problemOf(file)
  t.equal(problem.where, eventWhere(A, 2))
  t.equal(problem.what, 'akışta 1 sıralı olay yok: silinmiş ya da yeri değiştirilmiş')

  // Two in a row: the range is named.
  const file2 = tampered('delete-two', (db) => {
    deleteAt(db, rowOf(A, 1).position)
    deleteAt(db, rowOf(A, 2).position)
  })
  const p2 = await problemOf(file2)
  t.equal(p2.where, eventWhere(A, 3))
  t.equal(p2.what, 'akışta 1–2 sıralı olaylar yok: silinmiş ya da yeri değiştirilmiş')

  // The insider renumbers the later revisions and rechains the stream: the checkpoint catches it.
  const file3 = tampered('delete-rechained', (db) => {
    deleteAt(db, rowOf(A, 1).position)
    for (const row of streamRows(db, A).filter((r) => r.revision > 1)) db.prepare('UPDATE events SET revision = ? WHERE position = ?').run(row.revision - 1, row.position)
    rechain(db, A, 1)
  })
  const p3 = await problemOf(file3)
  t.equal(p3.where, checkpointWhere(0))
  t.match(p3.what, /olaylar silinmiş/)
})

// ---- 4. a stream's last event deleted ---------------------------------------------------------

void t.test('4. the last event of a stream deleted (covered by a checkpoint): the checkpoint catches it', async (t) => {
  const last = rowOf(D, lastRevisionOf(D))
  const file = tampered('delete-last', (db) => deleteAt(db, last.position))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(0))
  t.equal(problem.what, `${checkpoints[0]!.treeSize} olayı kapsadığını söylüyor, ama ondan önce depoda yalnızca ${checkpoints[0]!.treeSize - 1} olay var: olaylar silinmiş (kuyruk kesilmiş ya da aradan olay çıkarılmış)`)

  // Deleted and replaced, in the freed position, by a well-chained event of a new stream (so the
  // count holds): the root.
  const file2 = tampered('delete-last-refill', (db) => {
    deleteAt(db, last.position)
    insertChained(db, last.position, `case-${randomUUID()}`, 0, GENESIS_HASH, 'CaseSubmitted', JSON.stringify({ description: 'Sonradan eklenen başvuru' }), last.recorded_at)
  })
  const p2 = await problemOf(file2)
  t.equal(p2.where, checkpointWhere(0))
  t.match(p2.what, /^ilk \d+ olayın Merkle kökü [0-9a-f]{16}…, imzalı kök [0-9a-f]{16}…: kapsadığı olaylardan biri/)
})

// ---- 5. swaps ---------------------------------------------------------------------------------

void t.test('5a. two revisions of one stream exchange data, type and metadata', async (t) => {
  const r0 = rowOf(A, 0)
  const r1 = rowOf(A, 1)
  const file = tampered('swap-in-stream', (db) => {
    const set = db.prepare('UPDATE events SET data = ?, type = ?, metadata = ? WHERE position = ?')
    set.run(r1.data, r1.type, r1.metadata, r0.position)
    set.run(r0.data, r0.type, r0.metadata, r1.position)
  })
  const problem = await problemOf(file)
  t.equal(problem.where, eventWhere(A, 0))
  t.match(problem.what, /^önceki olay özeti [0-9a-f]{16}… diyor, ama akışın önceki olayının özeti 0{16}…/)

  // Also the event ids: the same.
  const file2 = tampered('swap-in-stream-ids', (db) => {
    const set = db.prepare('UPDATE events SET data = ?, type = ?, metadata = ?, event_id = ? WHERE position = ?')
    set.run(r1.data, r1.type, r1.metadata, `${r1.event_id}-tmp`, r0.position)
    set.run(r0.data, r0.type, r0.metadata, r0.event_id, r1.position)
    db.prepare('UPDATE events SET event_id = ? WHERE position = ?').run(r1.event_id, r0.position)
  })
  t.equal((await problemOf(file2)).where, eventWhere(A, 0))

  // The revisions exchanged (the rows keep their content): the stream order breaks.
  const file3 = tampered('swap-revisions', (db) => {
    const set = db.prepare('UPDATE events SET revision = ? WHERE position = ?')
    set.run(-1, r0.position)
    set.run(0, r1.position)
    set.run(1, r0.position)
  })
  const p3 = await problemOf(file3)
  t.equal(p3.where, eventWhere(A, 1, r0.position))
  t.equal(p3.what, 'akışta 0 sıralı olay yok: silinmiş ya da yeri değiştirilmiş')
})

void t.test('5b. two events of different streams exchange global positions: the checkpoint root', async (t) => {
  // Neighbours in the log, of different streams, both covered by the first checkpoint.
  const first = rows[4]!
  const second = rows[5]!
  t.not(first.stream_id, second.stream_id)
  t.ok(second.position < checkpoints[0]!.lastPosition)
  const file = tampered('swap-positions', (db) => {
    const move = db.prepare('UPDATE events SET position = ? WHERE position = ?')
    move.run(1_000_000, first.position)
    move.run(first.position, second.position)
    move.run(second.position, 1_000_000)
  })
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(0))
  t.match(problem.what, /^ilk \d+ olayın Merkle kökü [0-9a-f]{16}…, imzalı kök [0-9a-f]{16}…/)

  // Events far apart: a case event exchanged with the newest checkpoint's row.
  const cp = rowOf(CHECKPOINT_STREAM, 2)
  const file2 = tampered('swap-with-checkpoint', (db) => {
    const move = db.prepare('UPDATE events SET position = ? WHERE position = ?')
    move.run(1_000_000, rows[0]!.position)
    move.run(rows[0]!.position, cp.position)
    move.run(cp.position, 1_000_000)
  })
  const p2 = await problemOf(file2)
  t.equal(p2.where, eventWhere(CHECKPOINT_STREAM, 2, rows[0]!.position), 'the checkpoint stream\'s own chain is out of order first')
  t.equal(p2.what, 'akışta 0–1 sıralı olaylar yok: silinmiş ya da yeri değiştirilmiş')
})

// ---- 6. forged event, perfect chain -----------------------------------------------------------

void t.test('6. a forged event inserted in the middle of a stream with the whole chain recomputed: the checkpoint root', async (t) => {
  const at = rowOf(A, 1)
  t.ok(at.position < checkpoints[0]!.lastPosition, 'the forged event goes inside the first checkpoint\'s coverage')
  const forgedId = randomUUID()
  const file = tampered('forged', (db) => {
    // Make room: every later position and every later revision of A moves up by one.
    db.prepare('UPDATE events SET position = position + 1000000 WHERE position >= ?').run(at.position)
    db.prepare('UPDATE events SET position = position - 999999 WHERE position >= 1000000').run()
    db.prepare('UPDATE events SET revision = revision + 1000 WHERE stream_id = ? AND revision >= 1').run(A)
    db.prepare('UPDATE events SET revision = revision - 999 WHERE stream_id = ? AND revision >= 1000').run(A)
    db.prepare('INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      at.position,
      A,
      1,
      forgedId,
      'CaseRejected',
      JSON.stringify({ reason: 'Başvuru mükerrer; vatandaşa bildirildi.', by: 'personel-17' }),
      JSON.stringify(metadataFor(1)),
      at.recorded_at,
    )
    rechain(db, A, 1)
  })
  // The forgery is perfect as far as the stream goes: every link of A holds.
  const db = new Database(file, { readonly: true })
  const forgedRows = streamRows(db, A)
  db.close()
  t.equal(forgedRows.length, lastRevisionOf(A) + 2)
  t.equal(forgedRows[1]!.event_id, forgedId)
  let prev = GENESIS_HASH
  for (const row of forgedRows) {
    t.equal(chainProblemOf({ streamId: row.stream_id, revision: row.revision, eventId: row.event_id, type: row.type, data: row.data, metadata: row.metadata }, prev), undefined, `A#${row.revision} links`)
    prev = unwrapMetadata(row.metadata)!.hash
  }

  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(0, rowOf(CHECKPOINT_STREAM, 0).position + 1))
  t.match(problem.what, /^ilk \d+ olayın Merkle kökü [0-9a-f]{16}…, imzalı kök [0-9a-f]{16}…: kapsadığı olaylardan biri imzadan sonra değiştirilmiş, silinmiş, araya eklenmiş ya da yer değiştirmiş$/)

  // The same without the key: the root does not need the signature to catch it.
  t.equal((await problemOf(file, {})).where, problem.where)
})

void t.test('6b. the log\'s very first event rewritten, its stream rechained: the checkpoint says the log\'s first event changed', async (t) => {
  const first = rows[0]!
  t.equal(first.position, 1)
  t.equal(first.stream_id, A)
  const file = tampered('first-event-rechained', (db) => {
    setData(db, first.position, first.data.replace('çocuklar düşüyor', 'kimse düşmedi'))
    rechain(db, A, 0)
  })
  // The log id is derived from the first event's hash, so it changes with it: the first checkpoint
  // is named, and the message must not send the auditor looking for another installation only.
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(0))
  t.match(problem.what, /^başka bir günlüğe ait \(günlük kimliği [0-9a-f]{32}, bu deponun [0-9a-f]{32}\) ya da deponun ilk olayı değiştirilmiş ya da silinmiş/)
  t.match(problem.what, new RegExp(`günlük kimliği ${checkpoints[0]!.logId}, bu deponun (?!${checkpoints[0]!.logId})`))

  // Pinned checkpoints say the same, checked against the rewritten store.
  const pinned = await problemOf(file, { publicKey: key.publicKey, pinned: [checkpoints[0]!] })
  t.match(pinned.what, /ya da deponun ilk olayı değiştirilmiş ya da silinmiş/)
})

// ---- 7. truncation ----------------------------------------------------------------------------

void t.test('7a. the last case events deleted, the checkpoint rows kept: "olaylar silinmiş"', async (t) => {
  const cp1 = rowOf(CHECKPOINT_STREAM, 1)
  const cp2 = rowOf(CHECKPOINT_STREAM, 2)
  const file = tampered('truncate-events', (db) => {
    db.prepare('DELETE FROM events WHERE position > ? AND stream_id != ?').run(cp1.position, CHECKPOINT_STREAM)
  })
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(2, cp2.position))
  const kept = rows.filter((r) => r.position <= cp1.position).length
  t.equal(problem.what, `${checkpoints[2]!.treeSize} olayı kapsadığını söylüyor, ama ondan önce depoda yalnızca ${kept} olay var: olaylar silinmiş (kuyruk kesilmiş ya da aradan olay çıkarılmış)`)
})

void t.test('7b. everything after a position deleted, the newest checkpoint with it: only a pinned checkpoint catches it', async (t) => {
  const cp1 = rowOf(CHECKPOINT_STREAM, 1)
  const file = tampered('truncate-tail', (db) => {
    db.prepare('DELETE FROM events WHERE position > ?').run(cp1.position)
  })
  // The store alone holds together: a consistent, shorter log. This is why pinning exists.
  const alone = await verify(file)
  t.equal(alone.events, rows.filter((r) => r.position <= cp1.position).length)
  t.equal(alone.checkpoints, 2)
  t.same(alone.lastCheckpoint, checkpoints[1])
  t.equal(alone.uncovered, 0)

  // An older pinned checkpoint is still extended.
  t.equal((await verify(file, { publicKey: key.publicKey, pinned: [checkpoints[0]!] })).pinned, 1)

  const problem = await problemOf(file, { publicKey: key.publicKey, pinned: [checkpoints[0]!, checkpoints[2]!] })
  t.equal(problem.where, `sabitlenmiş kontrol noktası 2 (${checkpoints[2]!.treeSize} olay, ${checkpoints[2]!.issuedAt})`)
  t.equal(problem.what, `${checkpoints[2]!.treeSize} olayı kapsıyordu, depoda şimdi ${alone.events} olay var: günlüğün sonu kesilmiş`)

  // Truncated and then regrown with other events to the same size: the pinned root catches it.
  const regrown = tampered('truncate-regrow', (db) => {
    db.prepare('DELETE FROM events WHERE position > ?').run(cp1.position)
    for (let i = 0; i < checkpoints[2]!.treeSize - alone.events; i++) {
      insertChained(db, undefined, `case-${randomUUID()}`, 0, GENESIS_HASH, 'CaseSubmitted', JSON.stringify({ description: `Sahte başvuru ${i}` }), new Date().toISOString())
    }
  })
  const p2 = await problemOf(regrown, { pinned: [checkpoints[2]!] })
  t.equal(p2.where, `sabitlenmiş kontrol noktası 1 (${checkpoints[2]!.treeSize} olay, ${checkpoints[2]!.issuedAt})`)
  t.match(p2.what, /^depodaki ilk \d+ olayın kökü [0-9a-f]{16}…, sabitlenen kök [0-9a-f]{16}…: o tarihten önceki olaylar değiştirilmiş$/)
})

void t.test('7c. a covered event rewritten and every checkpoint row deleted: the store alone passes (and says it has no checkpoint), a pinned checkpoint catches it', async (t) => {
  const target = rowOf(C, 1)
  const file = tampered('rewrite-and-drop-checkpoints', (db) => {
    setData(db, target.position, target.data.replace('Park ve Bahçeler', 'Fen İşleri'))
    rechain(db, C, 1)
    db.prepare('DELETE FROM events WHERE stream_id = ?').run(CHECKPOINT_STREAM)
  })
  const alone = await verify(file)
  t.equal(alone.checkpoints, 0)
  t.equal(alone.lastCheckpoint, undefined)
  t.equal(alone.uncovered, alone.events, 'every event reported as not under a signature')
  const problem = await problemOf(file, { publicKey: key.publicKey, pinned: [checkpoints[0]!] })
  t.equal(problem.where, `sabitlenmiş kontrol noktası 1 (${checkpoints[0]!.treeSize} olay, ${checkpoints[0]!.issuedAt})`)
  t.match(problem.what, /o tarihten önceki olaylar değiştirilmiş$/)
})

void t.test('recorded times moved past the checkpoint that covers them (not hashed, bounded by the signature time)', async (t) => {
  const target = rowOf(A, 1)
  const file = tampered('recorded-later', (db) => db.prepare('UPDATE events SET recorded_at = ? WHERE position = ?').run('2030-01-01T00:00:00.000Z', target.position))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(0))
  t.equal(problem.what, `kapsadığı bir olayın kayıt zamanı (2030-01-01T00:00:00.000Z) imza zamanından (${checkpoints[0]!.issuedAt}) sonra: kayıt zamanları değiştirilmiş`)
})

// ---- 8. checkpoints replaced ------------------------------------------------------------------

void t.test('8a. a checkpoint\'s root changed in the stored data: its chain, or (rechained) its signature', async (t) => {
  const cp = checkpoints[1]!
  const forgedRoot = 'f'.repeat(64)
  // Left as is, the checkpoint stream's own chain breaks at that row.
  const plain = tampered('cp-root-plain', (db) => replaceCheckpoint(db, 1, { ...cp, rootHash: forgedRoot }, false))
  const p1 = await problemOf(plain)
  t.equal(p1.where, eventWhere(CHECKPOINT_STREAM, 1))
  t.match(p1.what, /^içeriğin özeti/)

  // Rechained by the insider: the signature no longer matches.
  const file = tampered('cp-root', (db) => replaceCheckpoint(db, 1, { ...cp, rootHash: forgedRoot }))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(1))
  t.equal(problem.what, 'imzası geçersiz: imza içerikle (olay sayısı, kök, konum, zaman ya da günlük) uyuşmuyor')

  // Without the public key, the rebuilt tree still disagrees with the root.
  const noKey = await problemOf(file, {})
  t.equal(noKey.where, checkpointWhere(1))
  t.match(noKey.what, new RegExp(`imzalı kök ${forgedRoot.slice(0, 16)}…`))
})

void t.test('8b. a checkpoint re-signed with another key: "signed by another key"', async (t) => {
  const cp = checkpoints[1]!
  const resigned = signCheckpoint(bodyOf(cp), otherKey)
  t.not(resigned.signature, cp.signature)
  const file = tampered('cp-other-key', (db) => replaceCheckpoint(db, 1, resigned))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(1))
  t.equal(problem.what, `imzası geçersiz: ${otherKey.keyId} anahtarıyla imzalanmış, bu günlüğün anahtarı ${key.keyId}`)

  // Every checkpoint replaced so: caught at the first.
  const all = tampered('cp-other-key-all', (db) => {
    for (const [i, c] of checkpoints.entries()) replaceCheckpoint(db, i, signCheckpoint(bodyOf(c), otherKey))
  })
  t.equal((await problemOf(all)).where, checkpointWhere(0))
})

void t.test('8c. a forged root re-signed with the right key (an insider holding the key): the root', async (t) => {
  const cp = checkpoints[1]!
  const forgedRoot = 'a'.repeat(64)
  const file = tampered('cp-forged-root-signed', (db) => replaceCheckpoint(db, 1, signCheckpoint({ ...bodyOf(cp), rootHash: forgedRoot }, key)))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(1))
  t.equal(problem.what, `ilk ${cp.treeSize} olayın Merkle kökü ${cp.rootHash.slice(0, 16)}…, imzalı kök ${forgedRoot.slice(0, 16)}…: kapsadığı olaylardan biri imzadan sonra değiştirilmiş, silinmiş, araya eklenmiş ya da yer değiştirmiş`)

  // The right root, a wrong last position, re-signed.
  const file2 = tampered('cp-forged-position', (db) => replaceCheckpoint(db, 1, signCheckpoint({ ...bodyOf(cp), lastPosition: cp.lastPosition - 1 }, key)))
  const p2 = await problemOf(file2)
  t.equal(p2.where, checkpointWhere(1))
  t.equal(p2.what, `son kapsadığı olayın konumu ${cp.lastPosition - 1} diyor, depoda ${cp.lastPosition}`)

  // Backdated before the previous checkpoint, re-signed.
  const backdated = new Date(Date.parse(checkpoints[0]!.issuedAt) - 1000).toISOString()
  const file3 = tampered('cp-backdated', (db) => replaceCheckpoint(db, 1, signCheckpoint({ ...bodyOf(cp), issuedAt: backdated }, key)))
  const p3 = await problemOf(file3)
  t.equal(p3.where, checkpointWhere(1))
  t.match(p3.what, /bir öncekinden .* önce$/)

  // Not a checkpoint at all.
  const file4 = tampered('cp-garbage', (db) => {
    setData(db, rowOf(CHECKPOINT_STREAM, 1).position, JSON.stringify({ treeSize: 'çok' }))
    rechain(db, CHECKPOINT_STREAM, 1)
  })
  const p4 = await problemOf(file4)
  t.equal(p4.where, checkpointWhere(1))
  t.match(p4.what, /^biçimi bozuk/)
})

// ---- 9. header stripped -----------------------------------------------------------------------

void t.test('9. the integrity header of one event stripped (made to look older than the chain)', async (t) => {
  const target = rowOf(B, 1)
  const meta = unwrapMetadata(target.metadata)!.meta
  const file = tampered('strip-header', (db) => db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(meta, target.position))
  const problem = await problemOf(file)
  t.equal(problem.where, eventWhere(B, 1))
  t.equal(problem.what, 'bütünlük başlığı yok, oysa zincir daha önce başlamış: başlık silinmiş ya da olay sonradan eklenmiş')

  // Every header of B stripped: the first of them is named.
  const file2 = tampered('strip-stream', (db) => {
    for (const row of streamRows(db, B)) db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(unwrapMetadata(row.metadata)!.meta, row.position)
  })
  t.equal((await problemOf(file2)).where, eventWhere(B, 0))

  // A header damaged rather than removed.
  const file3 = tampered('damaged-header', (db) => db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(target.metadata.replace('","hash":"', '","hasj":"'), target.position))
  const p3 = await problemOf(file3)
  t.equal(p3.where, eventWhere(B, 1))
  t.equal(p3.what, 'üst verisindeki bütünlük başlığı bozuk')

  // The headers of the first events of the log stripped (each a revision 0): they read as events
  // from before the chain. Their content is unchanged and still committed (a first event's hash
  // is over the same bytes with or without the header), so the store passes, but says so.
  const strip = (db: Database.Database, row: Row): void => {
    db.prepare('UPDATE events SET metadata = ? WHERE position = ?').run(unwrapMetadata(row.metadata)!.meta, row.position)
  }
  t.same(rows.slice(0, 4).map((r) => r.revision), [0, 0, 0, 0])
  const file4 = tampered('strip-first-four', (db) => rows.slice(0, 4).forEach((row) => strip(db, row)))
  const p4 = await verify(file4)
  t.equal(p4.unchained, 4, 'reported as events from before the chain')
  t.equal(p4.logId, logId)
  // …but with one byte of such an event changed, every leaf after it and the log id change.
  const file5 = tampered('strip-first-and-flip', (db) => {
    rows.slice(0, 4).forEach((row) => strip(db, row))
    setData(db, rows[2]!.position, flipOneByte(rows[2]!.data, rows[2]!.data.indexOf('BM-') + 1))
  })
  const p5 = await problemOf(file5)
  t.equal(p5.where, eventWhere(rows[2]!.stream_id, 1), 'the next event of its stream no longer links to it')
  t.match(p5.what, /^önceki olay özeti/)
})

// ---- 10. another log's checkpoint -------------------------------------------------------------

void t.test('10. a checkpoint of another log (validly signed with the same key) in the store, or pinned', async (t) => {
  const otherFile = join(dir, 'other-installation.sqlite')
  const store: EventStore = openSqliteEventStore({ file: otherFile, pollIntervalMs: 20 })
  const log = await openAuditLog({ store, key, checkpointIntervalMs: 60_000, logger: silent })
  for (let i = 0; i < 5; i++) await store.append(`case-${randomUUID()}`, [{ id: randomUUID(), ...submitted(i % 4), metadata: metadataFor(i) }], { expectedRevision: 'no_stream' })
  const foreign = await log.checkpointNow()
  await log.close()
  await store.close()
  if (foreign === undefined) throw new Error('no checkpoint in the other log')
  t.not(foreign.logId, logId)

  const file = tampered('foreign-checkpoint', (db) => replaceCheckpoint(db, 1, foreign))
  const problem = await problemOf(file)
  t.equal(problem.where, checkpointWhere(1))
  t.equal(problem.what, `başka bir günlüğe ait (günlük kimliği ${foreign.logId}, bu deponun ${logId}) ya da deponun ilk olayı değiştirilmiş ya da silinmiş (günlük kimliği ilk olaydan türetilir)`)

  // Appended as a new, well-chained checkpoint after the newest.
  const appended = tampered('foreign-appended', (db) => {
    const prev = unwrapMetadata(rowOf(CHECKPOINT_STREAM, 2).metadata)!.hash
    const meta = JSON.stringify({ actor: { kind: 'system', id: 'audit-checkpointer' } })
    insertChained(db, undefined, CHECKPOINT_STREAM, 3, prev, CHECKPOINT_EVENT_TYPE, JSON.stringify(foreign), new Date().toISOString(), meta)
  })
  const p2 = await problemOf(appended)
  t.equal(p2.where, checkpointWhere(3, rows.at(-1)!.position + 1))
  t.match(p2.what, /^başka bir günlüğe ait/)

  // Pinned.
  const p3 = await problemOf(base, { publicKey: key.publicKey, pinned: [foreign] })
  t.equal(p3.where, `sabitlenmiş kontrol noktası 1 (${foreign.treeSize} olay, ${foreign.issuedAt})`)
  t.equal(p3.what, `başka bir günlüğe ait (günlük kimliği ${foreign.logId}, bu deponun ${logId}) ya da deponun ilk olayı değiştirilmiş ya da silinmiş (günlük kimliği ilk olaydan türetilir)`)

  // A pinned checkpoint signed by another key.
  const p4 = await problemOf(base, { publicKey: key.publicKey, pinned: [signCheckpoint(bodyOf(checkpoints[0]!), otherKey)] })
  t.match(p4.what, new RegExp(`^imzası geçersiz: ${otherKey.keyId} anahtarıyla imzalanmış`))
})

// ---- the CLI ----------------------------------------------------------------------------------


void t.test('CLI: pnpm audit:verify --store, as a child process', async (t) => {
  const keyFile = join(dir, 'published-key.pem')
  writeFileSync(keyFile, key.publicKeyPem)
  const pinnedFile = join(dir, 'pinned.json')
  writeFileSync(pinnedFile, JSON.stringify(checkpoints[2]))

  const good = await runVerifyCli(['--store', base, '--public-key', keyFile, '--checkpoint', pinnedFile])
  t.equal(good.code, 0, good.stderr)
  t.match(good.stdout, /^DOĞRULANDI: SQLite file /)
  t.match(good.stdout, new RegExp(`${rows.length} olay, 5 akış`))
  t.match(good.stdout, /3 imzalı kontrol noktası.*imzalar geçerli/)
  t.match(good.stdout, /1 sabitlenmiş kontrol noktasını/)

  // One byte flipped in the file itself, as with a hex editor: one tracking code's last digit.
  // SQLite leaves stale copies of moved cells in its pages, so the byte is flipped in the copy
  // that the table reads (each candidate tried; the one that changes the stored row is kept).
  const flipped = join(dir, 'flipped-in-file.sqlite')
  const original = readFileSync(base)
  const needle = Buffer.from('BM-2026-001002', 'utf8')
  const target = rowOf(B, 0)
  t.ok(target.data.includes(needle.toString()), 'the tracking code is B\'s first event\'s')
  let live = false
  for (let at = original.indexOf(needle); at >= 0 && !live; at = original.indexOf(needle, at + 1)) {
    const bytes = Buffer.from(original)
    bytes[at + needle.length - 1] = '7'.charCodeAt(0)
    writeFileSync(flipped, bytes)
    const db = new Database(flipped, { readonly: true })
    const data = db.prepare<[number], string>('SELECT data FROM events WHERE position = ?').pluck().get(target.position)
    db.close()
    live = data === target.data.replace('BM-2026-001002', 'BM-2026-001007')
  }
  t.ok(live, 'one byte of the file changed the stored row')
  const bad = await runVerifyCli(['--store', flipped, '--public-key', keyFile])
  t.equal(bad.code, 1, bad.stderr)
  t.notMatch(bad.stdout, /DOĞRULANDI/)
  t.match(bad.stderr, 'SORUN BULUNDU')
  t.match(bad.stderr, `yer:   ${eventWhere(B, 0)}`)
  t.match(bad.stderr, /sorun: içeriğin özeti/)

  // The truncated tail with the newest checkpoint pinned.
  const truncated = tampered('cli-truncated', (db) => db.prepare('DELETE FROM events WHERE position > ?').run(rowOf(CHECKPOINT_STREAM, 1).position))
  const plain = await runVerifyCli(['--store', truncated, '--public-key', keyFile])
  t.equal(plain.code, 0, 'the truncated store alone passes')
  const pinned = await runVerifyCli(['--store', truncated, '--public-key', keyFile, '--checkpoint', pinnedFile])
  t.equal(pinned.code, 1)
  t.match(pinned.stderr, /günlüğün sonu kesilmiş/)

  const missing = await runVerifyCli(['--store', join(dir, 'no-such-store.sqlite')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /no such file/)

  const usage = await runVerifyCli([])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /--store ya da --bundle/)
})
