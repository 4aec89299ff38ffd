/**
 * Which event store a service opens, from its configuration (`CIVIC_EVENT_STORE` with
 * `CIVIC_PG_URL` / `CIVIC_PG_SCHEMA` or `EVENTSTORE_URL`): one place, so every service of the
 * distributed stack reads the log from the same kind of store and says which in its readiness and
 * stream views.
 */
import { join } from 'node:path'
import type { EventStore } from './port.ts'
import { openEventStoreDbStore } from './eventstoredb.ts'
import { openPostgresEventStore, redact } from './postgres.ts'
import { openSqliteEventStore } from './sqlite.ts'

export type EventStoreKind = 'sqlite' | 'postgres' | 'eventstoredb'

/** The store chosen, with where it is as it may be shown (no password). */
export interface OpenedEventStore {
  readonly store: EventStore
  readonly kind: EventStoreKind
  /** The file, or the server URL without its password, and the schema. */
  readonly target: string
}

/** The configuration entries of `distributedConfigEntries` this needs. */
export interface EventStoreSettings {
  readonly eventStore: EventStoreKind
  readonly pgUrl?: string | undefined
  readonly pgSchema: string
  readonly eventStoreDbUrl?: string | undefined
  readonly storePollMs: number
}

/** The configuration names a store but not how to reach it, or a store this build cannot open. */
export class EventStoreChoiceError extends Error {
  override readonly name = 'EventStoreChoiceError'
}

/**
 * Opens the configured store: SQLite in `dataDir` (one host), PostgreSQL or EventStoreDB (a
 * server every host reaches). Rejects with what to set when a URL is missing, and with the
 * adapter's own message (what to check) when the server cannot be reached.
 */
export async function openConfiguredEventStore(
  settings: EventStoreSettings,
  options: { readonly dataDir: string; readonly logger?: { warn(obj: object, msg: string): void } },
): Promise<OpenedEventStore> {
  switch (settings.eventStore) {
    case 'sqlite': {
      const file = join(options.dataDir, 'events.sqlite')
      return { kind: 'sqlite', target: file, store: openSqliteEventStore({ file, pollIntervalMs: settings.storePollMs, ...(options.logger === undefined ? {} : { logger: options.logger }) }) }
    }
    case 'postgres': {
      if (settings.pgUrl === undefined) {
        throw new EventStoreChoiceError('CIVIC_EVENT_STORE=postgres needs CIVIC_PG_URL, the server of the log (e.g. postgres://civic@db.internal:5432/civic)')
      }
      const store = await openPostgresEventStore({ connectionString: settings.pgUrl, schema: settings.pgSchema, ...(options.logger === undefined ? {} : { logger: options.logger }) })
      return { kind: 'postgres', target: `${redact(settings.pgUrl)} (schema ${settings.pgSchema})`, store }
    }
    case 'eventstoredb': {
      if (settings.eventStoreDbUrl === undefined) {
        throw new EventStoreChoiceError('CIVIC_EVENT_STORE=eventstoredb needs EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false)')
      }
      // Not run against a server on the project's machines: see docs/architecture.md.
      const store = await openEventStoreDbStore({ connectionString: settings.eventStoreDbUrl, ...(options.logger === undefined ? {} : { logger: options.logger }) })
      return { kind: 'eventstoredb', target: redact(settings.eventStoreDbUrl), store }
    }
  }
}
