// Where an offline rebuild of the read models (`pnpm rebuild-read-models`) reads the log: the
// store the services are configured with (CIVIC_EVENT_STORE, CIVIC_PG_URL, CIVIC_PG_SCHEMA,
// EVENTSTORE_URL, CIVIC_DATA_DIR), read in bulk where the store has a bulk reader (the SQLite
// file, PostgreSQL), through the port's readAll otherwise (EventStoreDB).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openConfiguredEventStore, openPostgresLogReader, openSqliteLogReader, type EventStore, type EventStoreSettings } from '@civic-desk/event-store'
import type { PositionedEvent } from '@civic-desk/read-models'
import type { Logger } from '@civic-desk/service-kit'
import { REBUILD_READER_OPTIONS, rawLogBatches, storeBatches } from './source.ts'

/** The log to replay, with its head taken when it was opened. */
export interface RebuildSource {
  /** Which store and where (no password), for the progress lines. */
  readonly description: string
  /** The store's head when the source was opened: the rebuild replays (0, head]. */
  readonly head: number
  /** Case events with a position in (after, until], about `batchSize` at a time. */
  batches(after: number, until: number, batchSize: number): AsyncGenerator<PositionedEvent[]>
  close(): Promise<void>
}

/** The configuration names no log to rebuild from; the message says what to set. */
export class RebuildSourceError extends Error {
  override readonly name = 'RebuildSourceError'
}

/** Opens the configured log for a rebuild. Never creates a store: a missing one is a `RebuildSourceError`. */
export async function openRebuildSource(settings: EventStoreSettings, options: { readonly dataDir: string; readonly logger: Logger }): Promise<RebuildSource> {
  switch (settings.eventStore) {
    case 'sqlite': {
      const file = join(options.dataDir, 'events.sqlite')
      if (!existsSync(file)) {
        throw new RebuildSourceError(`No event store at ${file}: set CIVIC_DATA_DIR to the folder of events.sqlite, or CIVIC_EVENT_STORE=postgres with CIVIC_PG_URL for a log on PostgreSQL.`)
      }
      const reader = openSqliteLogReader({ file, ...REBUILD_READER_OPTIONS })
      try {
        const { store, target } = await openConfiguredEventStore(settings, { dataDir: options.dataDir, logger: options.logger })
        return withHead(`SQLite ${target}`, store, {
          batches: async function* (after, until, batchSize) {
            yield* rawLogBatches(reader, after, until, batchSize)
          },
          close: async () => reader.close(),
        })
      } catch (error) {
        reader.close()
        throw error
      }
    }
    case 'postgres': {
      if (settings.pgUrl === undefined) throw new RebuildSourceError('CIVIC_EVENT_STORE=postgres needs CIVIC_PG_URL, the server of the log (e.g. postgres://civic@db.internal:5432/civic)')
      // The reader first: it fails on a schema without an event log, where opening the store would create one.
      let reader: Awaited<ReturnType<typeof openPostgresLogReader>>
      try {
        reader = await openPostgresLogReader({ connectionString: settings.pgUrl, schema: settings.pgSchema, ...REBUILD_READER_OPTIONS })
      } catch (error) {
        throw new RebuildSourceError(error instanceof Error ? error.message : String(error))
      }
      try {
        const { store, target } = await openConfiguredEventStore(settings, { dataDir: options.dataDir, logger: options.logger })
        return withHead(`PostgreSQL ${target}`, store, {
          batches: async function* (after, until, batchSize) {
            yield* rawLogBatches(reader, after, until, batchSize)
          },
          close: () => reader.close(),
        })
      } catch (error) {
        await reader.close().catch(() => undefined)
        throw error
      }
    }
    case 'eventstoredb': {
      const { store, target } = await openConfiguredEventStore(settings, { dataDir: options.dataDir, logger: options.logger })
      return withHead(`EventStoreDB ${target}`, store, { batches: (after, until, batchSize) => storeBatches(store, after, until, batchSize), close: async () => undefined })
    }
  }
}

async function withHead(description: string, store: EventStore, source: Pick<RebuildSource, 'batches' | 'close'>): Promise<RebuildSource> {
  let head: number
  try {
    head = await store.headPosition()
  } catch (error) {
    await source.close().catch(() => undefined)
    await store.close().catch(() => undefined)
    throw error
  }
  return {
    description,
    head,
    batches: source.batches,
    close: async () => {
      await source.close()
      await store.close()
    },
  }
}
