import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { MAX_OUTBOX_PAGE, OutboxClosedError, OutboxStoreError, createMemoryOutbox, openSqliteOutbox, type Outbox, type OutboxRecord } from './outbox.ts'

/** A fresh temp folder for this test, removed when it ends; the file sits in a sub-folder that does not exist yet. */
function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-desk-outbox-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'data', 'outbox.sqlite')
}

function notification(overrides: Partial<OutboxRecord> = {}): OutboxRecord {
  return {
    id: randomUUID(),
    channel: 'sms',
    to: '+90 532 123 45 67',
    subject: 'Başvurunuz alındı (takip kodu: 7K3M-Q9PX)',
    text: 'Sayın Ayşe Yılmaz, başvurunuz alındı ve Fen İşleri Müdürlüğü tarafından incelenecektir. Takip kodunuz: 7K3M-Q9PX.',
    caseId: 'case-1',
    trackingCode: '7K3M-Q9PX',
    template: 'acknowledgement',
    language: 'tr',
    provider: 'outbox',
    recordedAt: '2026-11-21T09:00:00.000Z',
    ...overrides,
  }
}

/** The same behaviour from both outboxes; `open` gives a new, empty one. */
function outboxContract(t: Test, open: (t: Test) => Outbox): void {
  t.test('recording the same id twice stores it once and keeps the first version', async (t) => {
    const outbox = open(t)
    const first = notification()
    t.same(await outbox.record(first), { inserted: true })
    t.same(await outbox.record({ ...first, text: 'a later rendering', recordedAt: '2026-11-21T10:00:00.000Z' }), { inserted: false })
    t.equal(outbox.count(), 1)
    const entries = outbox.list()
    t.equal(entries.length, 1)
    t.same(entries[0], { ...first, sequence: 1 })
  })

  t.test('entries get increasing sequence numbers and keep every field, Turkish text included', async (t) => {
    const outbox = open(t)
    const records = [notification(), notification({ channel: 'email', to: 'ayse@example.com', template: 'resolved', language: 'en' }), notification({ channel: 'whatsapp' })]
    for (const r of records) await outbox.record(r)
    const entries = outbox.list()
    t.same(
      entries.map((e) => e.sequence),
      [1, 2, 3],
    )
    t.same(entries, records.map((r, i) => ({ ...r, sequence: i + 1 })))
    t.equal(outbox.count(), 3)
  })

  t.test('only the known fields are stored', async (t) => {
    const outbox = open(t)
    const withExtra = { ...notification(), secret: 'not for the outbox' }
    await outbox.record(withExtra)
    t.notOk('secret' in (outbox.list()[0] ?? {}), 'extra property dropped')
  })

  t.test('list filters by case, tracking code, position and page size', async (t) => {
    const outbox = open(t)
    const a1 = notification({ caseId: 'case-a', trackingCode: 'AAAA-AAAA' })
    const b1 = notification({ caseId: 'case-b', trackingCode: 'BBBB-BBBB' })
    const a2 = notification({ caseId: 'case-a', trackingCode: 'AAAA-AAAA', template: 'resolved' })
    const b2 = notification({ caseId: 'case-b', trackingCode: 'BBBB-BBBB', template: 'rejected' })
    const a3 = notification({ caseId: 'case-a', trackingCode: 'AAAA-AAAA', template: 'escalated' })
    for (const r of [a1, b1, a2, b2, a3]) await outbox.record(r)
    const ids = (entries: ReadonlyArray<{ id: string }>) => entries.map((e) => e.id)
    t.same(ids(outbox.list({ caseId: 'case-a' })), [a1.id, a2.id, a3.id])
    t.same(ids(outbox.list({ trackingCode: 'BBBB-BBBB' })), [b1.id, b2.id])
    t.same(ids(outbox.list({ caseId: 'case-a', trackingCode: 'BBBB-BBBB' })), [], 'filters combine')
    t.same(ids(outbox.list({ after: 2 })), [a2.id, b2.id, a3.id])
    t.same(ids(outbox.list({ limit: 2 })), [a1.id, b1.id])
    t.same(ids(outbox.list({ caseId: 'case-a', after: 1, limit: 1 })), [a2.id])
    t.same(ids(outbox.list({ caseId: 'case-a', after: 3 })), [a3.id])
    t.same(ids(outbox.list({ caseId: 'nobody' })), [])
    t.same(ids(outbox.list({ after: 5 })), [])
  })

  t.test('count counts what the filter matches, or everything', async (t) => {
    const outbox = open(t)
    for (const [caseId, trackingCode] of [['case-a', 'AAAA-AAAA'], ['case-b', 'BBBB-BBBB'], ['case-a', 'AAAA-AAAA']] as const) {
      await outbox.record(notification({ caseId, trackingCode }))
    }
    t.equal(outbox.count(), 3)
    t.equal(outbox.count({}), 3)
    t.equal(outbox.count({ caseId: 'case-a' }), 2)
    t.equal(outbox.count({ trackingCode: 'BBBB-BBBB' }), 1)
    t.equal(outbox.count({ caseId: 'case-a', trackingCode: 'BBBB-BBBB' }), 0, 'filters combine')
    t.equal(outbox.count({ caseId: 'nobody' }), 0)
  })

  t.test('bad page arguments are refused', async (t) => {
    const outbox = open(t)
    t.throws(() => outbox.list({ limit: 0 }), RangeError)
    t.throws(() => outbox.list({ limit: MAX_OUTBOX_PAGE + 1 }), RangeError)
    t.throws(() => outbox.list({ limit: 1.5 }), RangeError)
    t.throws(() => outbox.list({ after: -1 }), RangeError)
    t.equal(outbox.list({ limit: MAX_OUTBOX_PAGE }).length, 0)
  })

  t.test('a closed outbox refuses work; closing twice is fine', async (t) => {
    const outbox = open(t)
    await outbox.record(notification())
    outbox.close()
    outbox.close()
    await t.rejects(outbox.record(notification()), OutboxClosedError)
    t.throws(() => outbox.list(), OutboxClosedError)
    t.throws(() => outbox.count(), OutboxClosedError)
  })
}

t.test('memory outbox', async (t) => {
  outboxContract(t, () => createMemoryOutbox())
})

t.test('sqlite outbox', async (t) => {
  outboxContract(t, (t) => {
    const outbox = openSqliteOutbox(tempFile(t))
    t.teardown(() => outbox.close())
    return outbox
  })

  t.test('creates the folder and uses WAL with synchronous=FULL', async (t) => {
    const file = tempFile(t)
    const outbox = openSqliteOutbox(file)
    t.teardown(() => outbox.close())
    t.ok(existsSync(file), 'file created in a new folder')
    // A second connection sees the settings that persist in the file.
    const probe = new Database(file, { readonly: true })
    t.teardown(() => probe.close())
    t.equal(probe.pragma('journal_mode', { simple: true }), 'wal')
    t.equal(probe.pragma('user_version', { simple: true }), 1)
  })

  t.test('records arriving together share one commit: each resolves with its own outcome, a repeated id inside the batch is stored once', async (t) => {
    const file = tempFile(t)
    const outbox = openSqliteOutbox(file)
    t.teardown(() => outbox.close())
    const records = Array.from({ length: 300 }, () => notification())
    const repeated = records[7]!
    const outcomes = await Promise.all([...records.map((r) => outbox.record(r)), outbox.record({ ...repeated, text: 'again' })])
    t.same(outcomes.slice(0, 300), records.map(() => ({ inserted: true })))
    t.same(outcomes[300], { inserted: false }, 'the repeat inside the same batch is not stored again')
    t.equal(outbox.count(), 300)
    t.same(outbox.list({ limit: 1000 }).map((e) => e.id), records.map((r) => r.id), 'in the order they were handed in, sequence without gaps')
    t.same(outbox.list({ limit: 1000 }).map((e) => e.sequence), records.map((_, i) => i + 1))
  })

  t.test('records handed in before close are committed before the file closes', async (t) => {
    const file = tempFile(t)
    const outbox = openSqliteOutbox(file)
    const pending = [outbox.record(notification()), outbox.record(notification())]
    outbox.close()
    t.same(await Promise.all(pending), [{ inserted: true }, { inserted: true }])
    const reopened = openSqliteOutbox(file)
    t.teardown(() => reopened.close())
    t.equal(reopened.count(), 2)
  })

  t.test('entries survive closing and reopening the file, and idempotency holds across it', async (t) => {
    const file = tempFile(t)
    const first = notification({ channel: 'email', to: 'ayse@example.com', text: 'Çukur asfaltla kapatıldı. ŞĞÜİÖÇ şğüıöç' })
    const second = notification()
    const before = openSqliteOutbox(file)
    await before.record(first)
    await before.record(second)
    before.close()

    const after = openSqliteOutbox(file)
    t.teardown(() => after.close())
    t.equal(after.count(), 2)
    t.same(after.list(), [
      { ...first, sequence: 1 },
      { ...second, sequence: 2 },
    ])
    t.same(await after.record(first), { inserted: false }, 'the id is still known after reopening')
    const third = notification()
    t.same(await after.record(third), { inserted: true })
    t.equal(after.list({ after: 2 })[0]?.sequence, 3, 'sequence continues')
  })

  t.test('two connections to one file share one outbox', async (t) => {
    const file = tempFile(t)
    const one = openSqliteOutbox(file)
    const two = openSqliteOutbox(file)
    t.teardown(() => {
      one.close()
      two.close()
    })
    const n = notification()
    t.same(await one.record(n), { inserted: true })
    t.same(await two.record(n), { inserted: false }, 'the UNIQUE id holds across connections')
    t.equal(two.count(), 1)
  })

  t.test('a file from a newer schema is refused', async (t) => {
    const file = tempFile(t)
    openSqliteOutbox(file).close()
    const db = new Database(file)
    db.pragma('user_version = 99')
    db.close()
    t.throws(() => openSqliteOutbox(file), OutboxStoreError)
    t.throws(() => openSqliteOutbox(file), /schema version 99/)
  })

  t.test('a row this code cannot read is an OutboxStoreError', async (t) => {
    const file = tempFile(t)
    const outbox = openSqliteOutbox(file)
    t.teardown(() => outbox.close())
    await outbox.record(notification())
    const db = new Database(file)
    db.prepare("UPDATE outbox SET channel = 'pigeon'").run()
    db.close()
    t.throws(() => outbox.list(), OutboxStoreError)
  })
})
