// `pnpm rebuild-read-models` from a log on PostgreSQL, as an operator runs it: the CLI as its own
// process with the services' settings (CIVIC_EVENT_STORE=postgres, CIVIC_PG_URL, CIVIC_PG_SCHEMA)
// rebuilds the Redis read models from the server, with its progress on stderr, into the same read
// models a rebuild through the store's own readAll gives. A schema holding no log stops it with
// what to check, and is not created by it.
//
// Needs PostgreSQL (CIVIC_TEST_POSTGRES_URL; CIVIC_REQUIRE_POSTGRES=1 fails instead of skipping) and
// Redis (REDIS_URL; CIVIC_REQUIRE_REDIS=1). Each run has a schema and a Redis prefix of its own,
// dropped at the end.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openPostgresEventStore, openPostgresLogReader } from '@civic-desk/event-store'
import { postgresTestUrl, testSchema } from '@civic-desk/event-store/testing'
import { createMemoryReadModelStore, deleteRedisPrefix, openRedisReadModelStore, rebuildVersion, type PositionedEvent } from '@civic-desk/read-models'
import { redisTestUrl } from '@civic-desk/read-models/testing'
import { readModelSnapshot, realisticStoredEvents } from '../../../packages/read-models/src/test-support.ts'
import { REBUILD_READER_OPTIONS, rawLogBatches, storeBatches } from './source.ts'

const rebuildEntry = fileURLToPath(new URL('./rebuild.ts', import.meta.url))

/** Runs the rebuild CLI to its end with `env` on top of this process's (minus any REDIS_URL / store settings of its own). */
function runRebuild(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { REDIS_URL: _r, CIVIC_EVENT_STORE: _s, CIVIC_PG_URL: _u, CIVIC_PG_SCHEMA: _p, ...inherited } = process.env
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', rebuildEntry], { env: { ...inherited, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('error', reject)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

const collect = async (batches: AsyncIterable<PositionedEvent[]>): Promise<PositionedEvent[]> => {
  const out: PositionedEvent[] = []
  for await (const batch of batches) out.push(...batch)
  return out
}

const pgUrl = await postgresTestUrl(t)
const redisUrl = pgUrl === undefined ? undefined : await redisTestUrl(t)
if (pgUrl !== undefined && redisUrl !== undefined) {
  t.test('rebuild-read-models from PostgreSQL: the configured store, with progress, equal to a rebuild through readAll', async (t) => {
    const schema = testSchema(t, pgUrl)
    const prefix = `civic-test:${randomUUID()}:`
    const dataDir = mkdtempSync(join(tmpdir(), 'civic-rebuild-pg-'))
    t.teardown(async () => {
      await deleteRedisPrefix(redisUrl, prefix)
      rmSync(dataDir, { recursive: true, force: true })
    })

    // A log on the server: realistic case events, with streams that are not cases and a type this code does not know among them.
    const store = await openPostgresEventStore({ connectionString: pgUrl, schema })
    t.teardown(() => store.close())
    const events = realisticStoredEvents(300, 13)
    const revisions = new Map<string, number>()
    const append = async (streamId: string, type: string, data: unknown, metadata: unknown): Promise<void> => {
      const revision = revisions.get(streamId)
      await store.append(streamId, [{ id: randomUUID(), type, data, metadata }], { expectedRevision: revision ?? 'no_stream' })
      revisions.set(streamId, (revision ?? -1) + 1)
    }
    for (const [i, e] of events.entries()) {
      await append(e.streamId, e.type, e.data, e.metadata)
      if (i % 50 === 0) await append(`workflow-${randomUUID()}`, 'WorkflowStepRecorded', { step: 'x' }, e.metadata)
      if (i % 70 === 0) await append(e.streamId, 'CaseFlewAway', { caseId: 'x' }, e.metadata)
    }
    const head = await store.headPosition()

    // The bulk reader gives what the port's readAll gives.
    const reader = await openPostgresLogReader({ connectionString: pgUrl, schema, ...REBUILD_READER_OPTIONS })
    const viaReader = await collect(rawLogBatches(reader, 0, head, 97))
    await reader.close()
    const viaStore = await collect(storeBatches(store, 0, head, 97))
    t.equal(viaStore.length, events.length, 'every case event of a known type, none of the others')
    t.same(viaReader, viaStore, 'the bulk reader: the same batches as readAll')

    const rebuilt = await runRebuild({
      CIVIC_EVENT_STORE: 'postgres',
      CIVIC_PG_URL: pgUrl,
      CIVIC_PG_SCHEMA: schema,
      CIVIC_DATA_DIR: dataDir,
      REDIS_URL: redisUrl,
      CIVIC_REDIS_PREFIX: prefix,
    })
    t.equal(rebuilt.status, 0, rebuilt.stderr)
    t.match(rebuilt.stderr, new RegExp(`rebuilding read models into version 1 \\(redis .*\\) from PostgreSQL .* \\(schema ${schema}\\), head ${head}`), 'says what it reads')
    t.match(rebuilt.stderr, /100\.0%/, 'the progress bar reached the end')
    t.notMatch(rebuilt.stderr, /data\/events\.sqlite|events\.sqlite/, 'no SQLite file involved')
    const summary = JSON.parse(rebuilt.stdout.trim().split('\n').pop()!) as { version: number; events: number; head: number; eventStore: string }
    t.match(summary, { version: 1, events: events.length, head, eventStore: new RegExp(`^PostgreSQL .*schema ${schema}`) })

    // What the CLI wrote to Redis equals a rebuild through the store's readAll into memory.
    const expected = createMemoryReadModelStore()
    await rebuildVersion({ store: expected, storeIdentity: 'x', batches: storeBatches(store, 0, head, 5000) })
    const redis = await openRedisReadModelStore({ url: redisUrl, prefix })
    t.teardown(() => redis.close())
    t.match(await redis.active(), { version: 1, position: head })
    // Samples depend on the batching by design (see projection.fast.unit.test.ts): compared there.
    const { samples: _a, ...want } = (await readModelSnapshot((await expected.reader())!, events)) as Record<string, unknown>
    const { samples: _b, ...got } = (await readModelSnapshot((await redis.reader())!, events)) as Record<string, unknown>
    t.same(got, want, 'the read models in Redis')
  })

  t.test('a schema without a log: stops with what to check, and creates nothing', async (t) => {
    const schema = testSchema(t, pgUrl)
    const prefix = `civic-test:${randomUUID()}:`
    const dataDir = mkdtempSync(join(tmpdir(), 'civic-rebuild-pg-'))
    t.teardown(async () => {
      await deleteRedisPrefix(redisUrl, prefix)
      rmSync(dataDir, { recursive: true, force: true })
    })
    const result = await runRebuild({ CIVIC_EVENT_STORE: 'postgres', CIVIC_PG_URL: pgUrl, CIVIC_PG_SCHEMA: schema, CIVIC_DATA_DIR: dataDir, REDIS_URL: redisUrl, CIVIC_REDIS_PREFIX: prefix })
    t.equal(result.status, 2, result.stderr)
    t.match(result.stderr, new RegExp(`cannot read the event store log in PostgreSQL .*schema ${schema}.*Check CIVIC_PG_URL and CIVIC_PG_SCHEMA`))
    await t.rejects(openPostgresLogReader({ connectionString: pgUrl, schema, ...REBUILD_READER_OPTIONS }), /does not exist/, 'no event log was created in that schema')

    const missingUrl = await runRebuild({ CIVIC_EVENT_STORE: 'postgres', CIVIC_DATA_DIR: dataDir, REDIS_URL: redisUrl, CIVIC_REDIS_PREFIX: prefix })
    t.equal(missingUrl.status, 2)
    t.match(missingUrl.stderr, /CIVIC_EVENT_STORE=postgres needs CIVIC_PG_URL/)
  })
}
