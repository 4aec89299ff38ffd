/**
 * The audit log of a running installation: the Merkle tree over every event of the store in
 * global order, kept up to date by a catch-up subscription, and the signed checkpoints over it,
 * written at least every `checkpointIntervalMs` while events arrive, to their own stream
 * (`audit-checkpoints`) — so checkpoints are themselves events, chained and covered by the next.
 *
 * Several processes may keep one (two department-workflow instances): a checkpoint is appended
 * with the checkpoint stream's expected revision and an id derived from the log and tree size, so
 * at most one of them writes each checkpoint. A crash between an append and a checkpoint loses
 * nothing: the next checkpoint covers the whole log up to its moment, whatever came before.
 */
import { deriveEventId } from '@civic-desk/case-domain'
import { ConcurrencyError, linkHashOf, storedFormOf, type EventStore, type RecordedEvent, type Subscription } from '@civic-desk/event-store'
import { CHECKPOINT_EVENT_TYPE, CHECKPOINT_STREAM, Checkpoint, logIdOf, signCheckpoint, type SigningKey } from './checkpoint.ts'
import { MerkleTree } from './merkle.ts'

export interface AuditLogOptions {
  /** The store as written (a wrapper that rewrites records is looked through: links are over stored bytes). */
  readonly store: EventStore
  readonly key: SigningKey
  /** How often a checkpoint is written while events arrive; at most 60000 (the "every minute"). */
  readonly checkpointIntervalMs?: number
  /** Off for a process that only answers proofs while another writes the checkpoints. Default on. */
  readonly writeCheckpoints?: boolean
  readonly logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void }
  readonly now?: () => Date
}

/** A checkpoint as found in the log, with where it is stored. */
export interface StoredCheckpoint {
  readonly checkpoint: Checkpoint
  /** Revision in the checkpoint stream (its number, from 0). */
  readonly revision: number
  readonly position: number
}

export interface AuditLog {
  /** Resolves once the tree holds every event stored when the log was opened. */
  ready(): Promise<void>
  /** Events in the tree. */
  readonly size: number
  /** The log's id (from its first event), undefined while the store is empty. */
  readonly logId: string | undefined
  readonly key: SigningKey
  readonly checkpoints: readonly StoredCheckpoint[]
  /** Index of the event at a global position in the tree, undefined when there is none (yet). */
  leafIndexOf(position: number): number | undefined
  positionAt(index: number): number
  eventHashAt(index: number): string
  root(size: number): string
  inclusionProof(index: number, treeSize: number): string[]
  consistencyProof(from: number, to: number): string[]
  /**
   * A checkpoint covering every event stored now: the newest one if it does, else a new one,
   * signed and stored now. Undefined when the store is empty.
   */
  checkpointNow(): Promise<Checkpoint | undefined>
  close(): Promise<void>
}

const MAX_INTERVAL_MS = 60_000

export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { store, key, logger } = options
  const intervalMs = options.checkpointIntervalMs ?? MAX_INTERVAL_MS
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 100 || intervalMs > MAX_INTERVAL_MS) {
    throw new Error(`the checkpoint interval must be 100 to ${MAX_INTERVAL_MS} ms, got ${intervalMs}`)
  }
  const now = options.now ?? ((): Date => new Date())
  const tree = new MerkleTree()
  let positions = new Float64Array(1024)
  const checkpoints: StoredCheckpoint[] = []
  let logId: string | undefined
  /** Index of the newest event that is not a checkpoint: a checkpoint is due while it is not covered. */
  let lastOrdinaryIndex = -1
  let failure: unknown
  const waiters = new Set<() => void>()

  const addLink = (position: number, streamId: string, revision: number, type: string, hash: string, data: unknown): void => {
    // The event hash is the event's leaf hash (integrity.ts): the tree takes it as it is and keeps it.
    const index = tree.appendLeafHash(Buffer.from(hash, 'hex'))
    if (index >= positions.length) {
      const bigger = new Float64Array(positions.length * 2)
      bigger.set(positions)
      positions = bigger
    }
    positions[index] = position
    if (index === 0) logId = logIdOf(hash)
    if (streamId === CHECKPOINT_STREAM && type === CHECKPOINT_EVENT_TYPE) {
      const parsed = Checkpoint.safeParse(data)
      if (parsed.success) checkpoints.push({ checkpoint: parsed.data, revision, position })
      else logger.warn({ position, revision }, 'audit: a malformed checkpoint event in the log (audit:verify will name it)')
    } else {
      lastOrdinaryIndex = index
    }
    for (const wake of waiters) wake()
  }

  const add = (record: RecordedEvent): void => {
    const stored = storedFormOf(record)
    const hash =
      stored.integrity?.hash ??
      linkHashOf({ streamId: stored.streamId, revision: stored.revision, eventId: stored.id, type: stored.type, data: JSON.stringify(stored.data), metadata: JSON.stringify(stored.metadata) })
    addLink(stored.position, stored.streamId, stored.revision, stored.type, hash, stored.data)
  }

  const started = performance.now()
  // What is stored now: through the store's link reader when it has one (no event's data is read
  // but the checkpoints'), in the background, a batch at a time; then the subscription from there.
  let subscription: Subscription | undefined
  let closed = false
  const follow = async (): Promise<void> => {
    let caughtUp = 0
    if (store.readLinks !== undefined) {
      for (;;) {
        if (closed) return
        const links = await store.readLinks(caughtUp, 20_000, { dataOfStream: CHECKPOINT_STREAM })
        if (links.length === 0) break
        for (const link of links) addLink(link.position, link.streamId, link.revision, link.type, link.hash, link.data)
        caughtUp = links.at(-1)!.position
        // Let the service answer meanwhile.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    if (closed) return
    subscription = store.subscribeToAll(
      {
        after: caughtUp,
        onError: (error) => {
          failure = error
          logger.error({ err: error }, 'audit: the log subscription failed; proofs and checkpoints stop until the service restarts')
          for (const wake of waiters) wake()
        },
      },
      add,
    )
  }
  const following = follow().catch((error: unknown) => {
    failure = error
    logger.error({ err: error }, 'audit: reading the log failed; proofs and checkpoints stop until the service restarts')
    for (const wake of waiters) wake()
  })

  /** Resolves once the tree holds every event up to `position`. */
  const reach = async (position: number): Promise<void> => {
    while ((tree.size === 0 ? 0 : positions[tree.size - 1]!) < position) {
      if (failure !== undefined) throw new Error('the audit log stopped following the store', { cause: failure })
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          waiters.delete(wake)
          resolve()
        }
        waiters.add(wake)
      })
    }
  }

  const readyPromise = store.headPosition().then(async (head) => {
    await following
    await reach(head)
    logger.info({ events: tree.size, ms: Math.round(performance.now() - started) }, 'audit: Merkle tree built over the log')
  })
  readyPromise.catch(() => undefined)

  let writing: Promise<unknown> = Promise.resolve()
  /** Writes a checkpoint over the tree as it is, unless the newest one covers every ordinary event. */
  const writeCheckpoint = async (): Promise<Checkpoint | undefined> => {
    const size = tree.size
    const latest = checkpoints.at(-1)
    if (size === 0 || logId === undefined) return undefined
    if (latest !== undefined && latest.checkpoint.treeSize > lastOrdinaryIndex) return latest.checkpoint
    const checkpoint = signCheckpoint({ logId, treeSize: size, rootHash: tree.root(size).toString('hex'), lastPosition: positions[size - 1]!, issuedAt: now().toISOString() }, key)
    try {
      await store.append(
        CHECKPOINT_STREAM,
        [{ id: deriveEventId(`${logId}/${size}`, 'audit checkpoint'), type: CHECKPOINT_EVENT_TYPE, data: checkpoint, metadata: { actor: { kind: 'system', id: 'audit-checkpointer' } } }],
        { expectedRevision: latest === undefined ? 'no_stream' : latest.revision },
      )
    } catch (error) {
      // Another process wrote one meanwhile: it covers as much; the next tick sees it.
      if (error instanceof ConcurrencyError) return undefined
      throw error
    }
    logger.info({ treeSize: size, lastPosition: checkpoint.lastPosition, root: checkpoint.rootHash }, 'audit: checkpoint signed')
    return checkpoint
  }

  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = writing.then(work, work)
    writing = next.catch(() => undefined)
    return next
  }

  const timer =
    options.writeCheckpoints === false
      ? undefined
      : setInterval(() => {
          void readyPromise
            .then(() => serially(writeCheckpoint))
            .catch((error: unknown) => logger.warn({ err: error }, 'audit: writing a checkpoint failed; the next attempt covers everything'))
        }, intervalMs)
  timer?.unref()

  const checkIndex = (index: number): void => {
    if (!Number.isSafeInteger(index) || index < 0 || index >= tree.size) throw new RangeError(`no event ${index} in the audit log of ${tree.size}`)
  }

  return {
    ready: () => readyPromise,
    get size() {
      return tree.size
    },
    get logId() {
      return logId
    },
    key,
    get checkpoints() {
      return checkpoints
    },
    leafIndexOf(position) {
      let lo = 0
      let hi = tree.size - 1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        const at = positions[mid]!
        if (at === position) return mid
        if (at < position) lo = mid + 1
        else hi = mid - 1
      }
      return undefined
    },
    positionAt(index) {
      checkIndex(index)
      return positions[index]!
    },
    eventHashAt(index) {
      checkIndex(index)
      return tree.leaf(index).toString('hex')
    },
    root: (size) => tree.root(size).toString('hex'),
    inclusionProof: (index, treeSize) => tree.inclusionProof(index, treeSize).map((node) => node.toString('hex')),
    consistencyProof: (from, to) => tree.consistencyProof(from, to).map((node) => node.toString('hex')),
    async checkpointNow() {
      await readyPromise
      await reach(await store.headPosition())
      for (let attempt = 0; attempt < 5; attempt++) {
        const written = await serially(writeCheckpoint)
        if (written !== undefined) return written
        // Another process's checkpoint: wait for it to arrive, then it (or a new one) covers.
        await reach(await store.headPosition())
      }
      throw new Error('could not write an audit checkpoint: other writers kept writing the checkpoint stream')
    },
    async close() {
      if (timer !== undefined) clearInterval(timer)
      closed = true
      await following
      await writing
      await subscription?.close()
    },
  }
}
