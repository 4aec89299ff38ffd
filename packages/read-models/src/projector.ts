// Drives the pure projection over a store: the live projector (micro-batched: concurrent
// deliveries of one turn are committed together) and the rebuild of a new version.
import { projectBatch } from './batch.ts'
import type { PositionedEvent } from './case-document.ts'
import type { ReadModelStore, VersionWriter } from './store.ts'

/** Folds a batch into a version: load the touched cases, project, commit with the checkpoint. */
export async function applyBatch(writer: VersionWriter, events: readonly PositionedEvent[]): Promise<{ applied: number; skipped: number }> {
  if (events.length === 0) return { applied: 0, skipped: 0 }
  const ids = [...new Set(events.map((e) => e.caseId))]
  const loaded = await writer.load(ids)
  const change = projectBatch(events, loaded)
  if (change.applied > 0 || change.position > 0) await writer.commit(change)
  return { applied: change.applied, skipped: change.skipped }
}

export interface RebuildProgress {
  readonly version: number
  readonly position: number
  readonly events: number
}

export interface RebuildOptions {
  readonly store: ReadModelStore
  readonly storeIdentity: string
  /** The event store's case events in global order, in batches (e.g. 2,000 at a time). */
  readonly batches: AsyncIterable<readonly PositionedEvent[]>
  /** Called after each committed batch. */
  readonly onProgress?: (progress: RebuildProgress) => void
  /** Called once the new version exists, before any event is applied. */
  readonly onStart?: (version: number) => void
  /** Leave the new version inactive (the caller switches). Default false: switch at the end. */
  readonly keepInactive?: boolean
}

/**
 * Builds a new version from the event store and makes it active at the end; the active version
 * answers until then. Commits are pipelined two deep: the next batch is projected while the
 * previous one is on its way (the writer's document cache makes that safe), and Redis runs the
 * MULTIs of one connection in order. On failure the half-built version is dropped.
 */
export async function rebuildVersion(options: RebuildOptions): Promise<RebuildProgress> {
  const writer = await options.store.createVersion(options.storeIdentity)
  options.onStart?.(writer.version)
  let events = 0
  let position = 0
  let inFlight: Promise<void> = Promise.resolve()
  try {
    for await (const batch of options.batches) {
      if (batch.length === 0) continue
      const ids = [...new Set(batch.map((e) => e.caseId))]
      const loaded = await writer.load(ids)
      const change = projectBatch(batch, loaded)
      const previous = inFlight
      const commit = writer.commit(change)
      events += batch.length
      position = change.position
      const progress = { version: writer.version, position, events }
      inFlight = Promise.all([previous, commit]).then(() => options.onProgress?.(progress))
      // Keep at most two batches in flight; a failure surfaces here at the latest one batch later.
      await previous
    }
    await inFlight
    if (options.keepInactive !== true) await options.store.activate(writer.version)
    return { version: writer.version, position, events }
  } catch (error) {
    await inFlight.catch(() => undefined)
    await options.store.dropVersion(writer.version).catch(() => undefined)
    throw error
  }
}

export interface LiveProjectorOptions {
  readonly store: ReadModelStore
  /** The version to write; the projector follows the active pointer when a rebuild moves it. */
  readonly version: number
  /** Most events per commit. Default 500. */
  readonly maxBatch?: number
  /** Identity of the event store this projector reads: it follows only versions built from it. */
  readonly storeIdentity: string
  /** The active version belongs to another event store (two installations share a key prefix). */
  readonly onForeignVersion?: (active: { readonly version: number; readonly storeIdentity: string }) => void
  /**
   * After a rebuild made another version active: replays the event store's case events after
   * `position` into `apply`, so nothing committed to the old version in the meantime is missing
   * from the new one (per-case positions make the overlap harmless).
   */
  readonly catchUp?: (position: number, apply: (events: readonly PositionedEvent[]) => Promise<void>) => Promise<void>
}

export interface LiveProjector {
  /** Applies one event; resolves once it (and the rest of its batch) is committed. */
  handle(event: PositionedEvent): Promise<void>
  /** Version being written. */
  readonly version: number
  /** Highest position committed by this projector. */
  readonly position: number
  /** Events applied since start. */
  readonly applied: number
  /** Follows the active pointer now (after a rebuild in this process) instead of at the next event. */
  sync(): Promise<void>
  close(): Promise<void>
}

/**
 * The live projector. Deliveries arriving in the same event-loop turn (the bus hands out many
 * cases at once) are committed in one MULTI; each `handle` resolves only after its commit, so the
 * bus commits its offset only for what is stored.
 */
export function createLiveProjector(options: LiveProjectorOptions): LiveProjector {
  const maxBatch = options.maxBatch ?? 500
  let writer = options.store.writer(options.version)
  let position = 0
  let applied = 0
  let pending: Array<{ event: PositionedEvent; resolve: () => void; reject: (e: unknown) => void }> = []
  let scheduled = false
  let chain: Promise<void> = Promise.resolve()
  let closed = false

  const commit = async (events: readonly PositionedEvent[]): Promise<void> => {
    const result = await applyBatch(writer, events)
    applied += result.applied
    for (const e of events) position = Math.max(position, e.position)
  }

  const followActive = async (): Promise<void> => {
    const active = await options.store.active()
    if (active === null || active.version === writer.version) return
    if (active.storeIdentity !== options.storeIdentity) {
      // Following it would mix two stores' cases; the next start rebuilds for this store.
      options.onForeignVersion?.(active)
      return
    }
    writer = options.store.writer(active.version)
    if (options.catchUp !== undefined) await options.catchUp(active.position, commit)
  }

  const flush = async (): Promise<void> => {
    scheduled = false
    while (pending.length > 0) {
      const batch = pending.splice(0, maxBatch)
      try {
        await followActive()
        await commit(batch.map((p) => p.event))
        for (const p of batch) p.resolve()
      } catch (error) {
        for (const p of batch) p.reject(error)
      }
    }
  }

  return {
    handle(event) {
      if (closed) return Promise.reject(new Error('projector closed'))
      return new Promise<void>((resolve, reject) => {
        pending.push({ event, resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(() => {
            chain = chain.then(flush)
          })
        }
      })
    },
    get version() {
      return writer.version
    },
    get position() {
      return position
    },
    get applied() {
      return applied
    },
    sync() {
      const run = chain.then(followActive)
      chain = run.catch(() => undefined)
      return run
    },
    async close() {
      closed = true
      await chain
      const rest = pending
      pending = []
      for (const p of rest) p.reject(new Error('projector closed'))
    },
  }
}
