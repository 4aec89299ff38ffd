import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { openPostgresEventStore, openSqliteEventStore } from './index.ts'
import { postgresTestUrl, testSchema } from './testing.ts'

const CLI = fileURLToPath(new URL('./copy-cli.ts', import.meta.url))

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `store:copy` as a child process; `killWhen` (polled) may send it `signal` mid-way. */
function runCli(args: readonly string[], killWhen?: () => Promise<boolean>, signal: NodeJS.Signals = 'SIGKILL'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    let exited = false
    child.on('exit', (code, signal) => {
      exited = true
      resolve({ code, signal, stdout, stderr })
    })
    if (killWhen !== undefined) {
      const poll = async (): Promise<void> => {
        while (!exited) {
          if (await killWhen()) {
            child.kill(signal)
            return
          }
          await new Promise((r) => setTimeout(r, 5))
        }
      }
      poll().catch(reject)
    }
  })
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'civic-copy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A SQLite store of `streams` × `perStream` events, streams interleaved in the global log. */
async function fillSqlite(file: string, streams: number, perStream: number): Promise<void> {
  const store = openSqliteEventStore({ file })
  for (let revision = 0; revision < perStream; revision++) {
    // One round: every stream gets its next event; the round is one group commit.
    await Promise.all(
      Array.from({ length: streams }, (_, s) =>
        store.append(`case-${s}`, [{ id: randomUUID(), type: revision === 0 ? 'CaseOpened' : 'NoteAdded', data: { s, revision, text: 'Çankaya — su kesintisi' }, metadata: { correlationId: randomUUID() } }], {
          expectedRevision: revision === 0 ? 'no_stream' : revision - 1,
        }),
      ),
    )
  }
  await store.close()
}

void t.test('sqlite → sqlite: positions, revisions, ids, texts and recorded times kept; a tampered event fails the verification', async (t) => {
  const dir = tempDir(t)
  const from = join(dir, 'from.sqlite')
  const to = join(dir, 'to.sqlite')
  await fillSqlite(from, 7, 30)
  const first = await runCli(['--from', from, '--to', to, '--batch-size', '17'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /verification of positions 1…210: OK/)
  t.match(first.stdout, /events per stream: equal in all 7 streams/)
  const digests = [...first.stdout.matchAll(/sha256 ([0-9a-f]{64})/g)].map((m) => m[1])
  t.equal(digests.length, 2)
  t.equal(digests[0], digests[1], 'the same digest printed for both')
  const source = openSqliteEventStore({ file: from })
  const target = openSqliteEventStore({ file: to })
  t.same(await target.readAll(), await source.readAll(), 'the port reads the same events, recorded times included')
  await Promise.all([source.close(), target.close()])

  // One event changed behind the copy's back: the next run resumes with nothing to copy and the verification catches it.
  const db = new Database(to)
  db.prepare(`UPDATE events SET data = '{"tampered":true}' WHERE position = 100`).run()
  db.close()
  const second = await runCli(['--from', from, '--to', to])
  t.equal(second.code, 1, 'exit 1 on a mismatch')
  t.match(second.stdout, /MISMATCH/)
  const again = [...second.stdout.matchAll(/sha256 ([0-9a-f]{64})/g)].map((m) => m[1])
  t.not(again[0], again[1], 'the digests differ')
})

void t.test('bad locations and usage: messages that say what to do, exit 2', async (t) => {
  const dir = tempDir(t)
  const missing = await runCli(['--from', join(dir, 'nope.sqlite'), '--to', join(dir, 'to.sqlite')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /no SQLite event store at .*nope\.sqlite \(no such file\)/)
  const scheme = await runCli(['--from', 'mysql://root@localhost/db', '--to', join(dir, 'to.sqlite')])
  t.equal(scheme.code, 2)
  t.match(scheme.stderr, /neither a postgres:\/\/ URL nor a file path/)
  await fillSqlite(join(dir, 'from.sqlite'), 1, 1)
  const refused = await runCli(['--from', join(dir, 'from.sqlite'), '--to', 'postgres://nobody:secret@127.0.0.1:1/none'])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /cannot open the event store at PostgreSQL postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none schema civic: .*Check the URL and that the server is up/)
  t.notMatch(refused.stderr, /secret/, 'the password is not printed')
  const badSchema = await runCli(['--from', join(dir, 'from.sqlite'), '--to', 'postgres://postgres@127.0.0.1:5432/test?schema=Bad-Name'])
  t.equal(badSchema.code, 2)
  t.match(badSchema.stderr, /schema must be lower-case/)
  const usage = await runCli(['--from', join(dir, 'from.sqlite')])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /--from and --to are required/)
})

const url = await postgresTestUrl(t)

if (url !== undefined) {
  const connectionString = url
  const withSchema = (schema: string): string => `${connectionString}${connectionString.includes('?') ? '&' : '?'}schema=${schema}`

  void t.test('100,000 events sqlite → postgres, killed mid-way, run again: resumed without duplicates, verified; the port reads the same log', async (t) => {
    const dir = tempDir(t)
    const from = join(dir, 'from.sqlite')
    await fillSqlite(from, 2000, 50)
    const schema = testSchema(t, connectionString)
    const admin = new pg.Client({ connectionString })
    await admin.connect()
    t.teardown(() => admin.end())
    const targetHead = async (): Promise<number> => {
      // The first run creates the table: until then the head is 0.
      const { rows } = await admin.query<{ table: string | null }>(`SELECT to_regclass($1) AS table`, [`${schema}.events`])
      if (rows[0]?.table === null) return 0
      return Number((await admin.query<{ head: string | null }>(`SELECT max(position) AS head FROM ${schema}.events`)).rows[0]?.head ?? 0)
    }

    const killed = await runCli(['--from', from, '--to', withSchema(schema), '--batch-size', '1000'], async () => (await targetHead()) >= 20_000)
    t.equal(killed.signal, 'SIGKILL', 'the first run was killed')
    const headAfterKill = await targetHead()
    t.ok(headAfterKill >= 20_000 && headAfterKill < 100_000, `killed mid-way (target head ${headAfterKill})`)
    t.equal(headAfterKill % 1000, 0, 'only whole batches were committed')

    const resumed = await runCli(['--from', from, '--to', withSchema(schema)])
    t.equal(resumed.code, 0, resumed.stderr)
    t.match(resumed.stderr, new RegExp(`resumed after position ${headAfterKill.toLocaleString('en-US')}`))
    t.match(resumed.stderr, /\] 100\.0% 100,000\/100,000 events +[\d,]+ events\/s +ETA/, 'the progress bar reached the end')
    t.match(resumed.stdout, /verification of positions 1…100,000: OK/)
    t.match(resumed.stdout, /100,000 events in 2,000 streams/)
    t.match(resumed.stdout, /events per stream: equal in all 2,000 streams/)
    const { rows } = await admin.query<{ n: string; ids: string; head: string }>(`SELECT count(*) AS n, count(DISTINCT event_id) AS ids, max(position) AS head FROM ${schema}.events`)
    t.same(rows[0], { n: '100000', ids: '100000', head: '100000' }, 'every event once')

    const source = openSqliteEventStore({ file: from })
    const target = await openPostgresEventStore({ connectionString, schema })
    t.teardown(() => Promise.all([source.close(), target.close()]))
    for (const after of [0, 49_990, 99_990]) {
      t.same(await target.readAll({ after, maxCount: 10 }), await source.readAll({ after, maxCount: 10 }), `the port reads the same events after ${after}`)
    }
    t.same(await target.readStream('case-1999'), await source.readStream('case-1999'), 'a stream reads the same')
    // The copy is a working store: the next append numbers after the copied log.
    const appended = await target.append('case-0', [{ id: randomUUID(), type: 'NoteAdded', data: {} }], { expectedRevision: 49 })
    t.same(appended, { nextRevision: 50, position: 100_001 })
  })

  void t.test('Ctrl-C (SIGINT) stops after the batch being written, says how to continue, exit 130; the same command continues', async (t) => {
    const dir = tempDir(t)
    const from = join(dir, 'from.sqlite')
    await fillSqlite(from, 400, 50)
    const schema = testSchema(t, connectionString)
    const admin = new pg.Client({ connectionString })
    await admin.connect()
    t.teardown(() => admin.end())
    const head = async (): Promise<number> => {
      const { rows } = await admin.query<{ table: string | null }>(`SELECT to_regclass($1) AS table`, [`${schema}.events`])
      if (rows[0]?.table === null) return 0
      return Number((await admin.query<{ head: string | null }>(`SELECT max(position) AS head FROM ${schema}.events`)).rows[0]?.head ?? 0)
    }
    const stopped = await runCli(['--from', from, '--to', withSchema(schema), '--batch-size', '100'], async () => (await head()) >= 1000, 'SIGINT')
    t.equal(stopped.code, 130, stopped.stderr)
    t.match(stopped.stderr, /stopping after the current batch/)
    t.match(stopped.stderr, /interrupted after [\d,]+ of 20,000 events; run the same command again to continue/)
    t.notMatch(stopped.stdout, /verification/, 'no verification of a partial copy')
    const at = await head()
    t.ok(at >= 1000 && at < 20_000 && at % 100 === 0, `stopped on a batch boundary (${at})`)
    const resumed = await runCli(['--from', from, '--to', withSchema(schema)])
    t.equal(resumed.code, 0, resumed.stderr)
    t.match(resumed.stdout, /verification of positions 1…20,000: OK/)
  })

  void t.test('a postgres target holding other events is refused and left untouched; --force deletes them and copies', async (t) => {
    const dir = tempDir(t)
    const from = join(dir, 'from.sqlite')
    await fillSqlite(from, 3, 4)
    const schema = testSchema(t, connectionString)
    const other = await openPostgresEventStore({ connectionString, schema })
    await other.append('case-77', [{ id: randomUUID(), type: 'CaseOpened', data: { other: true } }], { expectedRevision: 'no_stream' })
    await other.close()

    const refused = await runCli(['--from', from, '--to', withSchema(schema)])
    t.equal(refused.code, 2)
    t.match(refused.stderr, /refused: the target PostgreSQL .* already holds other events: its first event \(case-77@0 CaseOpened .*\) is not the source's .*--force to DELETE/)
    const store = await openPostgresEventStore({ connectionString, schema })
    t.same((await store.readAll()).map((e) => e.streamId), ['case-77'], 'the target is untouched')

    const forced = await runCli(['--from', from, '--to', withSchema(schema), '--force'])
    t.equal(forced.code, 0, forced.stderr)
    t.match(forced.stderr, /--force: deleted the target's earlier events/)
    t.match(forced.stdout, /OK/)
    t.equal((await store.readAll()).length, 12)
    await store.close()

    // Copying back into a fresh SQLite file: the other direction.
    const back = await runCli(['--from', withSchema(schema), '--to', join(dir, 'back.sqlite')])
    t.equal(back.code, 0, back.stderr)
    t.match(back.stdout, /verification of positions 1…12: OK/)
  })
}
