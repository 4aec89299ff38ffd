/**
 * The event store in PostgreSQL (distributed mode: the log on a server every service reaches over
 * the network), with node-postgres (`pg`): the most used PostgreSQL driver for Node, pure
 * JavaScript, with pooling and LISTEN/NOTIFY.
 *
 * **Readers never skip an event.** A position taken from a sequence is not enough: a transaction
 * holding position 11 can commit before the one holding 10, and a reader that saw 11 would never
 * look back for 10. Here commits are serialised instead: each append transaction takes one
 * transaction-scoped advisory lock of the installation before it reads the head, numbers its
 * events after it and commits, so positions become visible in order, without gaps. What keeps this
 * fast is the group commit: every append that arrives while a transaction is in flight joins the
 * next one (one round of queries and one WAL flush for all of them), so one process holds the lock
 * once per batch, not once per append (measured by `pnpm bench:store`).
 *
 * Live subscriptions are woken by LISTEN/NOTIFY (the append's transaction sends the new head on
 * commit); a poll is the safety net for a lost notification or a listener reconnecting. Reads and
 * appends go through a pool that reconnects by itself after the server comes back.
 */
import pg from 'pg'
import { ConcurrencyError, type AppendResult, type EventStore, type ExpectedRevision, type RecordedEvent, type Subscription } from './port.ts'
import { NO_STREAM, assertExpectedRevision, checkCount, newEventsOnly, prepareAppend, type SerializedEvent } from './shared.ts'
import { subscribeInto, type CatchUpSubscription } from './subscription.ts'
import { GENESIS_HASH, HASH_CHAIN_ENABLED, INTEGRITY_HEADER_LENGTH, chainEvents, eventLinkOfRow, linkColumnsSql, type LinkRow, hashInHeader, linkHashOf, readStoredMetadata } from './integrity.ts'

export interface PostgresEventStoreOptions {
  /** e.g. postgres://civic@db.internal:5432/civic */
  readonly connectionString: string
  /** Schema of the installation's tables (`CIVIC_PG_SCHEMA`); default `civic`. Lower-case letters, digits and _. */
  readonly schema?: string
  /** Connections of the pool (appends use one at a time). Default 6. */
  readonly maxConnections?: number
  /** How often idle subscriptions look for events a lost notification did not announce. Default 1000. */
  readonly pollIntervalMs?: number
  readonly logger?: { warn(obj: object, msg: string): void }
  /** Metrics hook, called after each group commit with how much it carried. */
  readonly onBatchCommitted?: (batch: { readonly appends: number; readonly events: number; readonly durationMs: number }) => void
}

/** The schema in the database is of a newer version than this code knows. */
export class EventStoreSchemaError extends Error {
  override readonly name = 'EventStoreSchemaError'
}

/** The migrations, in order; each runs once per schema, in a transaction, recorded in `schema_migrations`. */
const MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
CREATE TABLE ${s}.events (
  position    bigint      PRIMARY KEY,
  stream_id   text        NOT NULL,
  revision    integer     NOT NULL,
  event_id    text        NOT NULL,
  type        text        NOT NULL,
  data        text        NOT NULL,
  metadata    text        NOT NULL,
  recorded_at timestamptz NOT NULL,
  UNIQUE (stream_id, revision)
);`,
]

/** The schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length

export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`the PostgreSQL schema must be lower-case letters, digits and _ (at most 63), got ${JSON.stringify(schema)}`)
  return schema
}

/** A stored event as selected by `SELECT_COLUMNS`, in an array (no per-row object from the driver). */
type EventRow = [position: number, streamId: string, revision: number, eventId: string, type: string, data: string, metadata: string, recordedAt: string]

const COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, recorded_at'

/**
 * What reads select, shaped for the port so that the driver does the least: the position as
 * float8 (a number; bigint would come as text), the recorded time already as the port's ISO text
 * (milliseconds, truncated like a JavaScript Date), not a Date to parse and format again. The
 * position is renamed: an output column named `position` would be what `ORDER BY position` sorts
 * by, an expression without an index (a sort of the whole rest of the log per page).
 */
const SELECT_COLUMNS = `position::float8 AS pos, stream_id, revision, event_id, type, data, metadata, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

function toRecorded([position, streamId, revision, id, type, data, storedMetadata, recordedAt]: EventRow): RecordedEvent {
  const { metadata, integrity } = readStoredMetadata(storedMetadata)
  return { streamId, revision, position, id, type, data: JSON.parse(data) as unknown, metadata, recordedAt, integrity }
}

interface PendingAppend {
  readonly streamId: string
  readonly events: readonly SerializedEvent[]
  readonly expectedRevision: ExpectedRevision
  readonly resolve: (result: AppendResult) => void
  readonly reject: (error: Error) => void
}

/** Turns a driver failure into a plain Error (the vendor type stays in this file). */
function toStoreError(error: unknown, operation: string): Error {
  if (error instanceof ConcurrencyError || error instanceof EventStoreSchemaError) return error
  const message = error instanceof Error ? error.message : String(error)
  const code = typeof error === 'object' && error !== null && 'code' in error ? ` ${String((error as { code: unknown }).code)}:` : ''
  return new Error(`Event store (postgres) ${operation} failed:${code} ${message}`, { cause: error })
}

/**
 * Runs `work` in one transaction on a client of its own: committed when it resolves, rolled back
 * when it throws. A connection lost between two of its queries is reported on the client; the next
 * query fails with it, so the listener only keeps the event from crashing the process.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  const ignore = (): void => undefined
  client.on('error', ignore)
  try {
    await client.query('BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    client.off('error', ignore)
    client.release()
  }
}

/** Creates the schema and runs the migrations it lacks, one installation at a time (advisory lock). Also the bulk copy's (bulk-log.ts). */
export async function migrate(pool: pg.Pool, s: string): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`civic-desk event store schema ${s}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.schema_migrations`)
    const current = rows[0]?.version ?? 0
    if (current > MIGRATIONS.length) {
      throw new EventStoreSchemaError(`the event store schema "${s}" is at version ${current}; this code knows up to ${MIGRATIONS.length}. Upgrade civic-desk, or point CIVIC_PG_SCHEMA at another schema.`)
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]!(s))
      await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [version])
    }
  })
}

/** False once the connection failed (pg marks it; such a client must not go back into the pool). */
function isHealthy(client: pg.PoolClient): boolean {
  const state = client as unknown as { _ending?: boolean; _connectionError?: boolean; _queryable?: boolean }
  return state._ending !== true && state._connectionError !== true && state._queryable !== false
}

/**
 * Connects, creates or upgrades the schema, and starts listening for appends. Rejects with a
 * message that says what to do when the server cannot be reached or the schema is newer.
 */
export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<EventStore> {
  const s = checkSchemaName(options.schema ?? 'civic')
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs <= 0) throw new RangeError(`openPostgresEventStore: pollIntervalMs must be an integer > 0, got ${pollIntervalMs}`)
  const { logger, onBatchCommitted } = options
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 6 })
  // An idle client that loses its server must not crash the process: the pool drops it.
  pool.on('error', (error) => logger?.warn({ err: error }, 'event store (postgres): an idle connection failed; the pool replaces it'))
  try {
    await migrate(pool, s)
  } catch (error) {
    await pool.end().catch(() => undefined)
    if (error instanceof EventStoreSchemaError) throw error
    throw new Error(`cannot open the event store in PostgreSQL (${redact(options.connectionString)}, schema ${s}): ${error instanceof Error ? error.message : String(error)}. Check CIVIC_PG_URL and that the server is up.`, {
      cause: error,
    })
  }
  const channel = notifyChannel(s)
  const lockKey = appendLockKey(s)

  const subscriptions = new Set<CatchUpSubscription>()
  const wakeAll = (): void => {
    for (const { wake } of subscriptions) wake()
  }
  let closed = false
  let closing: Promise<void> | undefined

  // ---- LISTEN: one dedicated connection, re-established after it drops ------------------------
  let listener: pg.Client | undefined
  let listenRetry: NodeJS.Timeout | undefined
  let listenDelayMs = 100
  const listen = async (): Promise<void> => {
    listenRetry = undefined
    if (closed) return
    const client = new pg.Client({ connectionString: options.connectionString })
    client.on('notification', wakeAll)
    client.on('error', (error) => {
      logger?.warn({ err: error }, 'event store (postgres): the LISTEN connection failed; reconnecting (polling meanwhile)')
      void client.end().catch(() => undefined)
      if (listener === client) listener = undefined
      if (!closed) listenRetry ??= setTimeout(() => void listen(), listenDelayMs)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${channel}`)
      listener = client
      listenDelayMs = 100
      // Anything appended while not listening.
      wakeAll()
      if (closed) await client.end()
    } catch (error) {
      void client.end().catch(() => undefined)
      logger?.warn({ err: error, retryInMs: listenDelayMs }, 'event store (postgres): cannot LISTEN; retrying (polling meanwhile)')
      listenDelayMs = Math.min(listenDelayMs * 2, 5000)
      if (!closed) listenRetry ??= setTimeout(() => void listen(), listenDelayMs)
    }
  }
  await listen()

  // ---- appends: group commit under the installation's advisory lock --------------------------
  let queue: PendingAppend[] = []
  let flushing: Promise<void> | undefined

  const commitBatch = async (batch: readonly PendingAppend[]): Promise<void> => {
    const started = performance.now()
    let outcomes: (AppendResult | Error)[]
    let client: pg.PoolClient | undefined
    // A connection lost between two queries of the transaction is reported on the client; the
    // next query fails with it and the batch is rejected as a whole.
    const ignore = (): void => undefined
    try {
      client = await pool.connect()
      client.on('error', ignore)
      // One round trip each: begin and lock; what the batch needs to know; write and announce; commit.
      await client.query(`BEGIN; SELECT pg_advisory_xact_lock(hashtext('${lockKey}'))`)
      const streams = [...new Set(batch.map((p) => p.streamId))]
      // Each stream's revision is one descent of the (stream_id, revision) index; a GROUP BY would
      // read every event of the batch's streams (50 streams of hundreds of events: 5.9 → 4.9 ms).
      // With its revision, the head of the last event's metadata, where its hash is (the chain).
      const { rows: state } = await client.query<{ head: string | null; revisions: [string, number, string][]; known: [string, string][] }>(
        `SELECT (SELECT max(position) FROM ${s}.events) AS head,
                (SELECT coalesce(json_agg(json_build_array(ids.stream_id, l.revision, l.head)), '[]') FROM unnest($1::text[]) AS ids(stream_id)
                   CROSS JOIN LATERAL (SELECT revision, left(metadata, ${INTEGRITY_HEADER_LENGTH}) AS head FROM ${s}.events
                                       WHERE events.stream_id = ids.stream_id ORDER BY revision DESC LIMIT 1) AS l) AS revisions,
                (SELECT coalesce(json_agg(json_build_array(stream_id, event_id)), '[]') FROM ${s}.events WHERE stream_id = ANY($1) AND event_id = ANY($2)) AS known`,
        [streams, batch.flatMap((p) => p.events.map((e) => e.id))],
      )
      let position = Number(state[0]?.head ?? 0)
      const revisionOf = new Map((state[0]?.revisions ?? []).map(([streamId, revision]) => [streamId, revision]))
      const linkOf = new Map((state[0]?.revisions ?? []).map(([streamId, , head]) => [streamId, hashInHeader(head)]))
      // Streams whose last event is from before the chain (an upgraded store): their link is computed.
      const legacy = HASH_CHAIN_ENABLED ? [...linkOf].filter(([, link]) => link === undefined).map(([streamId]) => streamId) : []
      if (legacy.length > 0) {
        const { rows: found } = await client.query<{ stream_id: string; revision: number; event_id: string; type: string; data: string; metadata: string }>(
          `SELECT stream_id, revision, event_id, type, data, metadata FROM ${s}.events WHERE (stream_id, revision) IN (SELECT * FROM unnest($1::text[], $2::integer[]))`,
          [legacy, legacy.map((streamId) => revisionOf.get(streamId) ?? 0)],
        )
        for (const row of found) linkOf.set(row.stream_id, linkHashOf({ streamId: row.stream_id, revision: row.revision, eventId: row.event_id, type: row.type, data: row.data, metadata: row.metadata }))
      }
      const positionOfRevision = new Map<string, number>()
      const knownIds = new Set((state[0]?.known ?? []).map(([streamId, eventId]) => `${streamId}\0${eventId}`))
      const rows = { position: [] as number[], stream: [] as string[], revision: [] as number[], id: [] as string[], type: [] as string[], data: [] as string[], metadata: [] as string[] }
      // Later appends of the batch see the effect of earlier ones, as if they ran one after the other.
      outcomes = batch.map((pending) => {
        const { streamId } = pending
        const actual = revisionOf.get(streamId) ?? NO_STREAM
        const fresh = newEventsOnly(pending.events, (id) => knownIds.has(`${streamId}\0${id}`))
        if (fresh.length === 0) return { nextRevision: actual, position: positionOfRevision.get(`${streamId}\0${actual}`) ?? -1 }
        try {
          assertExpectedRevision(streamId, pending.expectedRevision, actual)
        } catch (error) {
          return error as Error
        }
        let revision = actual
        const chained = chainEvents(streamId, actual + 1, linkOf.get(streamId) ?? GENESIS_HASH, fresh)
        for (const event of chained) {
          revision += 1
          position += 1
          rows.position.push(position)
          rows.stream.push(streamId)
          rows.revision.push(revision)
          rows.id.push(event.id)
          rows.type.push(event.type)
          rows.data.push(event.data)
          rows.metadata.push(event.metadata)
          knownIds.add(`${streamId}\0${event.id}`)
          positionOfRevision.set(`${streamId}\0${revision}`, position)
        }
        revisionOf.set(streamId, revision)
        if (HASH_CHAIN_ENABLED) linkOf.set(streamId, linkHashOf({ streamId, revision, eventId: chained.at(-1)!.id, type: chained.at(-1)!.type, data: chained.at(-1)!.data, metadata: chained.at(-1)!.metadata }))
        return { nextRevision: revision, position }
      })
      // A repeat of events already stored before this batch: its position comes from the table.
      const unresolved = outcomes.flatMap((o, i) => (!(o instanceof Error) && o.position === -1 && o.nextRevision !== NO_STREAM ? [i] : []))
      if (unresolved.length > 0) {
        const found = await client.query<{ stream_id: string; revision: number; position: string }>(
          `SELECT stream_id, revision, position FROM ${s}.events WHERE (stream_id, revision) IN (SELECT * FROM unnest($1::text[], $2::integer[]))`,
          [unresolved.map((i) => batch[i]!.streamId), unresolved.map((i) => (outcomes[i] as AppendResult).nextRevision)],
        )
        const byKey = new Map(found.rows.map((r) => [`${r.stream_id}\0${r.revision}`, Number(r.position)]))
        for (const i of unresolved) {
          const o = outcomes[i] as AppendResult
          outcomes[i] = { nextRevision: o.nextRevision, position: byKey.get(`${batch[i]!.streamId}\0${o.nextRevision}`) ?? 0 }
        }
      }
      if (rows.position.length > 0) {
        // The notification is delivered to the listeners when (and only if) the transaction commits.
        await client.query(
          `WITH written AS (
             INSERT INTO ${s}.events (${COLUMNS})
             SELECT p, st, r, i, ty, d, m, now() FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(p, st, r, i, ty, d, m)
             RETURNING 1)
           SELECT pg_notify($8, $9), (SELECT count(*) FROM written)`,
          [rows.position, rows.stream, rows.revision, rows.id, rows.type, rows.data, rows.metadata, channel, String(position)],
        )
      }
      await client.query('COMMIT')
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined)
      // The transaction did not commit: nothing of the batch is stored. (A connection lost during
      // COMMIT leaves it unknown; the caller's retry with the same event ids settles it.)
      const failure = toStoreError(error, 'append')
      for (const pending of batch) pending.reject(failure)
      return
    } finally {
      client?.off('error', ignore)
      // A broken connection goes back destroyed, not into the pool.
      client?.release(client === undefined ? undefined : !isHealthy(client))
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]
      if (outcome === undefined) pending.reject(new Error('Event store (postgres) append: internal error, no outcome'))
      else if (outcome instanceof Error) pending.reject(outcome)
      else pending.resolve(outcome)
    })
    wakeAll()
    onBatchCommitted?.({ appends: batch.length, events: batch.reduce((sum, p) => sum + p.events.length, 0), durationMs: performance.now() - started })
  }

  /** One transaction at a time; what arrives meanwhile waits for the next one. */
  const flush = (): Promise<void> => {
    flushing ??= (async () => {
      while (queue.length > 0) {
        const batch = queue
        queue = []
        await commitBatch(batch)
      }
      flushing = undefined
    })()
    return flushing
  }

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Event store is closed: cannot ${operation}`)
  }

  const readAllRows = async (after: number, limit: number, streamPrefix: string | undefined): Promise<RecordedEvent[]> => {
    try {
      const { rows } =
        streamPrefix === undefined
          ? await pool.query<EventRow>({ text: `SELECT ${SELECT_COLUMNS} FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`, values: [after, limit], rowMode: 'array' })
          : await pool.query<EventRow>({
              text: `SELECT ${SELECT_COLUMNS} FROM ${s}.events WHERE position > $1 AND starts_with(stream_id, $3) ORDER BY position LIMIT $2`,
              values: [after, limit, streamPrefix],
              rowMode: 'array',
            })
      return rows.map(toRecorded)
    } catch (error) {
      throw toStoreError(error, 'readAll')
    }
  }

  return {
    append(streamId, events, { expectedRevision }) {
      return new Promise<AppendResult>((resolve, reject) => {
        assertOpen('append')
        const serialized = prepareAppend(streamId, events, expectedRevision)
        queue.push({ streamId, events: serialized, expectedRevision, resolve, reject })
        // Appends of the same tick share the transaction.
        if (flushing === undefined) setImmediate(() => void flush())
      })
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen('readStream')
      checkCount('readStream maxCount', readOptions.maxCount)
      checkCount('readStream fromRevision', readOptions.fromRevision)
      try {
        // `type <> ALL('{}')` holds for every row: no list, nothing left out.
        const { rows } = await pool.query<EventRow>({
          text: `SELECT ${SELECT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND revision >= $2 AND type <> ALL($4::text[]) ORDER BY revision LIMIT $3`,
          values: [streamId, readOptions.fromRevision ?? 0, readOptions.maxCount ?? null, [...(readOptions.excludeTypes ?? [])]],
          rowMode: 'array',
        })
        return rows.map(toRecorded)
      } catch (error) {
        throw toStoreError(error, `readStream ${streamId}`)
      }
    },

    async readAll(readOptions = {}) {
      assertOpen('readAll')
      checkCount('readAll maxCount', readOptions.maxCount)
      checkCount('readAll after', readOptions.after)
      // LIMIT NULL is no limit in PostgreSQL.
      return readAllRows(readOptions.after ?? 0, readOptions.maxCount ?? (null as unknown as number), readOptions.streamPrefix)
    },

    subscribeToAll(subscribeOptions, handler): Subscription {
      assertOpen('subscribeToAll')
      checkCount('subscribeToAll after', subscribeOptions.after)
      return subscribeInto(
        subscriptions,
        subscribeOptions,
        {
          pollIntervalMs,
          // Unfiltered pages, filtered in the loop. Serialised commits: a reader sees a prefix of the log.
          readBatch: (after, limit) => readAllRows(after, limit, undefined),
          logger,
        },
        handler,
      )
    },

    async readLinks(after, maxCount, { dataOfStream }) {
      assertOpen('readLinks')
      try {
        const { rows } = await pool.query({
          text: `SELECT position::float8 AS pos, stream_id, revision, type, CASE WHEN stream_id = $1 THEN data END, ${linkColumnsSql()} FROM ${s}.events WHERE position > $2 ORDER BY position LIMIT $3`,
          values: [dataOfStream, after, maxCount],
          rowMode: 'array',
        })
        return (rows as LinkRow[]).map(eventLinkOfRow)
      } catch (error) {
        throw toStoreError(error, 'readLinks')
      }
    },

    async headPosition() {
      assertOpen('headPosition')
      try {
        const { rows } = await pool.query<{ head: string | null }>(`SELECT max(position) AS head FROM ${s}.events`)
        return Number(rows[0]?.head ?? 0)
      } catch (error) {
        throw toStoreError(error, 'headPosition')
      }
    },

    close() {
      if (closing === undefined) {
        closed = true
        closing = (async () => {
          // Appends accepted before close still get committed (or rejected) first.
          if (queue.length > 0 || flushing !== undefined) await flush()
          if (listenRetry !== undefined) clearTimeout(listenRetry)
          await Promise.all([...subscriptions].map(({ subscription }) => subscription.close()))
          await listener?.end().catch(() => undefined)
          await pool.end()
        })()
      }
      return closing
    },
  }
}

/** Identifier of the NOTIFY channel that announces new events: one per installation (schema). */
export function notifyChannel(schema: string): string {
  return `civic_events_${schema}`
}

/** Key of the transaction-scoped advisory lock every write to the installation's log takes (hashtext of it). */
export function appendLockKey(schema: string): string {
  return `civic-desk event store ${schema}`
}

/** The connection string without its password, for messages. */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return '(an unparsable connection string)'
  }
}
