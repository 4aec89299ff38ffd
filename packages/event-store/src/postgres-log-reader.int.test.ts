import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openPostgresEventStore, openPostgresLogReader, openSqliteEventStore, openSqliteLogReader, type EventToAppend } from './index.ts'
import { postgresTestUrl, testSchema } from './testing.ts'

const url = await postgresTestUrl(t)

if (url !== undefined) {
  const connectionString = url

  void t.test('the PostgreSQL bulk log reader gives the same rows as the SQLite one for the same log', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'civic-log-reader-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'events.sqlite')
    const schema = testSchema(t, connectionString)
    const sqlite = openSqliteEventStore({ file })
    const postgres = await openPostgresEventStore({ connectionString, schema })
    t.teardown(() => Promise.all([sqlite.close(), postgres.close()]))
    // The same appends, one after the other, into both: the same positions.
    const appends: [string, EventToAppend[]][] = []
    for (let i = 0; i < 60; i++) {
      const stream = i % 5 === 4 ? `other-${i % 3}` : `case-${i % 7}`
      const type = i % 3 === 0 ? 'CaseOpened' : i % 3 === 1 ? 'NoteAdded' : 'Viewed'
      appends.push([stream, [{ id: randomUUID(), type, data: { i, text: 'İzmir — ğüşöç 😀' }, metadata: { n: i } }, ...(i % 10 === 0 ? [{ id: randomUUID(), type: 'NoteAdded', data: [i] }] : [])]])
    }
    for (const [stream, events] of appends) {
      await sqlite.append(stream, events, { expectedRevision: 'any' })
      await postgres.append(stream, events, { expectedRevision: 'any' })
    }
    const head = await sqlite.headPosition()
    t.equal(await postgres.headPosition(), head)

    for (const [streamPrefix, omitDataOf] of [
      ['case-', ['Viewed']],
      ['', []],
      ['other-', ['Viewed', 'NoteAdded']],
      ['nothing-', []],
    ] as const) {
      const fromSqlite = openSqliteLogReader({ file, streamPrefix, omitDataOf })
      const fromPostgres = await openPostgresLogReader({ connectionString, schema, streamPrefix, omitDataOf })
      for (const [after, until, maxCount] of [
        [0, head, 1000],
        [0, head, 7],
        [13, 40, 1000],
        [40, 41, 1000],
        [head, head + 10, 1000],
      ] as const) {
        const expected = fromSqlite.read({ after, until, maxCount })
        t.same(await fromPostgres.read({ after, until, maxCount }), expected, `prefix "${streamPrefix}", omitting [${omitDataOf.join(', ')}], (${after}, ${until}], at most ${maxCount}: ${expected.length} rows`)
      }
      fromSqlite.close()
      await fromPostgres.close()
    }
    const all = await openPostgresLogReader({ connectionString, schema, streamPrefix: 'case-', omitDataOf: ['Viewed'] })
    const rows = await all.read({ after: 0, until: head, maxCount: 1000 })
    await all.close()
    t.ok(rows.length > 0 && rows.every(([position]) => typeof position === 'number'), 'positions as numbers')
    t.ok(rows.some(([, , , type, data]) => type === 'Viewed' && data === null) && rows.every(([, , , type, data]) => (type === 'Viewed') === (data === null)), 'data left out exactly for the types asked')
    t.ok(rows.every(([, streamKey]) => /^\d+$/.test(streamKey)), 'stream keys without the prefix')
  })

  void t.test('the PostgreSQL bulk log reader on a schema without a store: a message that says what to check', async (t) => {
    const schema = testSchema(t, connectionString)
    await t.rejects(openPostgresLogReader({ connectionString, schema, streamPrefix: 'case-' }), /cannot read the event store log in PostgreSQL .*schema civic_test_.*Check CIVIC_PG_URL and CIVIC_PG_SCHEMA/)
    await t.rejects(openPostgresLogReader({ connectionString, schema: 'Bad;', streamPrefix: 'case-' }), RangeError)
  })
}
