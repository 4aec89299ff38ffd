// The dashboard's projector: consumes the case events in group `dashboard` (through the case feed:
// Kafka, or straight from the store in standalone) into the read models, and civic.dead-letter.v1
// into the operators' dead-letter list. At start it makes sure the active read models belong to this event store
// (else it rebuilds them first); operators can rebuild into a new version while it runs.
import { CASE_EVENT_TYPES, startTopicConsumer, type CaseFeed, type Consumer } from '@civic-desk/case-feed'
import type { EventStore } from '@civic-desk/event-store'
import { DeadLetterRecord, TOPICS, type Bus } from '@civic-desk/messaging'
import { createLiveProjector, rebuildVersion, type LiveProjector, type PositionedEvent, type ReadModelStore } from '@civic-desk/read-models'
import { ConflictError, type Logger } from '@civic-desk/service-kit'
import { storeBatches } from './source.ts'

export const DASHBOARD_GROUP = 'dashboard'
export const DASHBOARD_DEAD_LETTER_GROUP = 'dashboard-dead-letters'

export interface DashboardProjectorDeps {
  /** Where the case events come from. */
  readonly feed: CaseFeed
  /** Where a rebuild reads the log. */
  readonly store: EventStore
  /** Where the dead letters come from. */
  readonly bus: Bus
  readonly readModels: ReadModelStore
  /** Identity of `store` (see identity.ts). */
  readonly storeIdentity: string
  readonly logger: Logger
  readonly groupId?: string
  readonly deadLetterGroupId?: string
}

export interface RebuildStatus {
  readonly version: number
  readonly position: number
  readonly head: number
  readonly startedAt: string
}

export interface DashboardProjector {
  readonly groupId: string
  readonly readModels: ReadModelStore
  /** Version written and highest position committed by the live projector. */
  readonly version: number
  readonly position: number
  readonly rebuilding: RebuildStatus | null
  /**
   * Starts a rebuild into a new version (the active one answers until it is done); resolves with its
   * number. While one runs, another is refused with a `ConflictError` carrying its progress.
   */
  rebuild(): Promise<{ version: number; done: Promise<void> }>
  stop(): Promise<void>
}

/** Case events of the store after `position` up to its head now, applied in batches. */
async function catchUpFromStore(store: EventStore, position: number, apply: (events: readonly PositionedEvent[]) => Promise<void>): Promise<void> {
  const head = await store.headPosition()
  for await (const batch of storeBatches(store, position, head, 1000)) await apply(batch)
}

/** Starts the projector: checks (or rebuilds) the read models, then joins the consumer groups. */
export async function startDashboardProjector(deps: DashboardProjectorDeps): Promise<DashboardProjector> {
  const { feed, store, bus, readModels, storeIdentity } = deps
  const log = deps.logger.child({ component: 'dashboard-projector' })
  const groupId = deps.groupId ?? DASHBOARD_GROUP
  let rebuilding: RebuildStatus | null = null
  // The operator-requested rebuild in progress: resolves with its version once it has one.
  let inFlight: Promise<number> | null = null

  const rebuildNow = async (reason: string, onStart?: (version: number) => void): Promise<number> => {
    const head = await store.headPosition()
    const startedAt = new Date().toISOString()
    const began = Date.now()
    log.info({ reason, head, store: readModels.kind }, 'rebuilding read models')
    try {
      const result = await rebuildVersion({
        store: readModels,
        storeIdentity,
        batches: storeBatches(store, 0, head),
        onStart: (version) => {
          rebuilding = { version, position: 0, head, startedAt }
          onStart?.(version)
        },
        onProgress: (p) => {
          rebuilding = { version: p.version, position: p.position, head, startedAt }
        },
      })
      log.info({ version: result.version, events: result.events, position: result.position, ms: Date.now() - began }, 'read models rebuilt and active')
      return result.version
    } finally {
      rebuilding = null
    }
  }

  // The read models must belong to this store: Redis may hold those of a wiped data folder.
  const active = await readModels.active()
  const head = await store.headPosition()
  let version: number
  if (active === null) version = await rebuildNow('no read models yet')
  else if (active.storeIdentity !== storeIdentity) version = await rebuildNow(`built from another event store (${active.storeIdentity}, this one is ${storeIdentity})`)
  else if (active.position > head) version = await rebuildNow(`ahead of the event store (position ${active.position}, head ${head})`)
  else version = active.version

  const projector: LiveProjector = createLiveProjector({
    store: readModels,
    version,
    storeIdentity,
    catchUp: (position, apply) => catchUpFromStore(store, position, apply),
    onForeignVersion: (active) =>
      log.error({ active, storeIdentity }, 'the active read models belong to another event store: two installations share CIVIC_REDIS_PREFIX; give each its own prefix'),
  })

  const consumers: Consumer[] = []
  consumers.push(
    await feed.consume({
      groupId,
      // A type or version this build does not know passes: nothing to count yet; the next rebuild after an upgrade will.
      types: CASE_EVENT_TYPES,
      // The projection never fails on an event: a failing handler
      // means the read-model store is unreachable, so keep retrying (back-off up to 30 s) rather
      // than dead-letter events the read models would then silently miss.
      maxAttempts: Number.MAX_SAFE_INTEGER,
      // The live projector commits what arrives in one turn together: many cases at a time make big batches.
      concurrency: 1024,
      handle: async ({ caseId, position, event }) => projector.handle({ caseId, position, event }),
    }),
  )
  consumers.push(
    await startTopicConsumer({
      bus,
      topic: TOPICS.deadLetter,
      groupId: deps.deadLetterGroupId ?? DASHBOARD_DEAD_LETTER_GROUP,
      // Memory read models start empty: the dead letters exist only on the topic, so the group
      // reads all it retains again at every start (the same group, so restarts leave no group
      // behind on the broker). Redis keeps the list: the group continues where it was.
      fromBeginning: readModels.kind === 'memory' ? 'always' : true,
      logger: deps.logger,
      schema: DeadLetterRecord,
      handle: async ({ value: r }) => {
        await readModels.recordDeadLetter({
          at: r.failedAt,
          topic: r.source.topic,
          groupId: r.source.groupId,
          kind: r.error.kind,
          message: r.error.message.slice(0, 2000),
          id: `${r.source.topic}/${r.source.partition}/${r.source.offset}/${r.source.groupId}`,
        })
      },
    }),
  )
  log.info({ version, groupId, store: readModels.kind }, 'dashboard projector is up')

  return {
    groupId,
    readModels,
    get version() {
      return projector.version
    },
    get position() {
      return projector.position
    },
    get rebuilding() {
      return rebuilding
    },
    async rebuild() {
      // One rebuild at a time: each one fills a whole new version (memory or Redis), so twenty
      // requests at once would build twenty copies. The guard is taken before the first await.
      if (inFlight !== null) {
        const running = await inFlight.catch(() => null)
        const progress = rebuilding ?? (running === null ? null : { version: running })
        throw new ConflictError(
          `A rebuild${running === null ? '' : ` into version ${running}`} is already running; wait for it to finish (GET /v1/ops/read-models shows its progress).`,
          { extensions: { reason: 'rebuild_running', rebuilding: progress } },
        )
      }
      let started: (version: number) => void = () => undefined
      const versionKnown = new Promise<number>((resolve) => (started = resolve))
      const done = rebuildNow('requested by an operator', started).then(async () => {
        // Events committed to the old version during the rebuild are replayed into the new one.
        await projector.sync()
      })
      const version = Promise.race([versionKnown, done.then(() => -1)])
      inFlight = version
      const release = (): void => {
        inFlight = null
      }
      done.then(release, release)
      done.catch((error: unknown) => log.error({ err: error }, 'read-model rebuild failed; the previous version stays active'))
      return { version: await version, done }
    },
    async stop() {
      for (const c of consumers) await c.stop()
      await projector.close()
    },
  }
}
