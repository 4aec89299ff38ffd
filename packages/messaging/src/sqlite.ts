/**
 * A durable, single-host Bus in one SQLite file, for standalone mode. Published messages and
 * every consumer group's committed offsets live in the file, so after a stop or a crash each
 * group continues from its last committed offset (at-least-once), which the in-memory bus
 * cannot do. Same semantics as the other adapters (checked by `busContract`).
 *
 * Writes are group-committed: publishes, offset commits and dead letters queued during one
 * event-loop turn go to the file in one IMMEDIATE transaction (one fsync). A publish resolves
 * after its transaction committed; commits are written at the latest one turn after the
 * handler resolved, and before `BusSubscription.close` resolves, so a crash can only cause
 * redeliveries, never losses.
 *
 * Several processes may open the file (WAL): messages written by another process are picked up
 * by polling. Consumer groups are coordinated within one process only: two processes consuming
 * the same group would each get every message (duplicates, no loss). Standalone mode is one
 * process; use the Kafka adapter for more.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { RawOutgoingMessage } from './memory.ts'
import { TOPICS, type Bus, type BusSubscription, type DeadLetterRecord, type OutgoingMessage, type SubscribeOptions } from './port.ts'
import {
  consumerSettings,
  partitionFor,
  serializeBatch,
  servingMember,
  settleInGroup,
  type BusLogger,
  type LocalMember,
  type SerializedMessage,
} from './shared.ts'

export interface SqliteBusOptions {
  /** Path of the database file; its folder is created when missing. */
  readonly file: string
  /**
   * Partitions per topic. Fixed when the file is created (default 12): the key → partition
   * mapping of stored messages depends on it, so reopening with another count throws.
   * Leave it out to take the file's.
   */
  readonly partitions?: number
  /** Receives retries (warn), dead letters and internal failures (error). */
  readonly logger?: BusLogger
  /** How often idle consumers look for messages written by other processes. Default 200. */
  readonly pollIntervalMs?: number
  /** How long a write waits for another process holding the file's write lock. Default 5000. */
  readonly busyTimeoutMs?: number
  /**
   * Retention, per partition: a message is deleted once every consumer group known to the file
   * has committed past it AND it is not among the partition's newest `retainMessages`. Checked
   * when the bus opens and every minute. Default 10,000; `Infinity` keeps everything. A group
   * that never consumes again keeps its backlog until its rows in `offsets` are deleted.
   */
  readonly retainMessages?: number
}

/** The sqlite bus: the port, the raw-publish test hook and offset queries for lag monitoring. */
export interface SqliteBus extends Bus {
  /** Publishes `value` text as is, without JSON serialisation, like `MemoryBus.publishRaw` (poison-message tests). */
  publishRaw(topic: string, messages: readonly RawOutgoingMessage[]): Promise<void>
  /**
   * The group's committed offsets (next offset to deliver) per partition, as stored in the file
   * after writing this process's pending commits; empty when the group never subscribed.
   */
  committedOffsets(topic: string, groupId: string): Promise<Record<number, string>>
  /** Per partition, the offset the next published message will get ("0" for an empty partition). */
  endOffsets(topic: string): Promise<Record<number, string>>
}

const SCHEMA_VERSION = 1

// Offsets come from `partition_ends`, not max(offset) + 1, so they never repeat after retention
// deleted a partition's messages (a group committed past them would skip the new ones).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  topic     TEXT    NOT NULL,
  partition INTEGER NOT NULL,
  offset    INTEGER NOT NULL,
  key       TEXT    NOT NULL,
  value     TEXT    NOT NULL,
  headers   TEXT    NOT NULL,
  timestamp TEXT    NOT NULL,
  PRIMARY KEY (topic, partition, offset)
);
CREATE TABLE IF NOT EXISTS partition_ends (
  topic       TEXT    NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
  topic       TEXT    NOT NULL,
  group_id    TEXT    NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, group_id, partition)
) WITHOUT ROWID;
`

/** Rows a delivery loop reads per query. */
const PAGE_SIZE = 256
/** Messages a delivery loop handles before it lets timers and I/O run (and pending writes flush). */
const STEPS_PER_TURN = 64
const PRUNE_INTERVAL_MS = 60_000
const DEFAULT_RETAIN_MESSAGES = 10_000

interface MessageRow {
  readonly offset: number
  readonly key: string
  readonly value: string
  readonly headers: string
  readonly timestamp: string
}

interface PendingPublish {
  readonly topic: string
  readonly messages: readonly SerializedMessage[]
  /** Absent for the bus's own dead letters: a failed write keeps them queued with the commits instead. */
  readonly settle?: { readonly resolve: () => void; readonly reject: (error: Error) => void }
}

interface PendingCommit {
  readonly topic: string
  readonly groupId: string
  readonly partition: number
  readonly nextOffset: number
}

/** Rows read ahead for one partition; messages never change once written, so they stay valid. */
interface Cursor {
  rows: MessageRow[]
  index: number
}

/** One consumer group on one topic in this process: positions, members and one delivery loop per partition. */
interface GroupState {
  readonly groupId: string
  readonly topic: string
  /** Next offset to deliver, per partition; the file's copy trails it by at most one turn. */
  readonly committed: number[]
  /** In join order; partition p is served by members[p % members.length]. */
  readonly members: LocalMember[]
  readonly wakers: (() => void)[]
  readonly cursors: Cursor[]
}

/** Turns a better-sqlite3 failure into a plain Error so the vendor type stays in this file. */
function toBusError(error: unknown, operation: string): Error {
  if (error instanceof Database.SqliteError) return new Error(`Bus (sqlite) ${operation} failed: ${error.code}: ${error.message}`)
  if (error instanceof Error) return error
  return new Error(`Bus (sqlite) ${operation} failed: ${String(error)}`)
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`openSqliteBus: ${name} must be an integer >= ${min}, got ${value}`)
}

function openDatabase(file: string, busyTimeoutMs: number, requestedPartitions: number | undefined, logger: BusLogger | undefined): { db: Database.Database; partitions: number } {
  if (file !== ':memory:') {
    try {
      mkdirSync(dirname(file), { recursive: true })
    } catch (error) {
      throw new Error(`Bus (sqlite): cannot create the folder of ${file}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  let db: Database.Database | undefined
  try {
    db = new Database(file)
    // Set before anything that takes a lock, so a second process opening the file waits instead of failing.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    const journalMode: unknown = db.pragma('journal_mode = WAL', { simple: true })
    if (journalMode !== 'wal' && file !== ':memory:') logger?.warn({ file, journalMode }, 'sqlite bus: sqlite refused WAL mode; readers will block writers')
    // FULL: the WAL is fsynced at every commit, so a resolved publish survives a power cut.
    db.pragma('synchronous = FULL')
    const database = db
    const partitions = database
      .transaction((): number => {
        const version = database.pragma('user_version', { simple: true })
        if (typeof version === 'number' && version > SCHEMA_VERSION) {
          throw new Error(`Bus file ${file} has schema version ${version}; this code knows up to ${SCHEMA_VERSION}. Upgrade the service.`)
        }
        database.exec(SCHEMA)
        database.pragma(`user_version = ${SCHEMA_VERSION}`)
        const stored = database.prepare<[], string>("SELECT value FROM bus_meta WHERE name = 'partitions'").pluck().get()
        if (stored === undefined) {
          const count = requestedPartitions ?? 12
          database.prepare("INSERT INTO bus_meta (name, value) VALUES ('partitions', ?)").run(String(count))
          return count
        }
        const count = Number(stored)
        if (requestedPartitions !== undefined && requestedPartitions !== count) {
          throw new RangeError(`Bus file ${file} was created with ${count} partitions, not ${requestedPartitions}: changing the count would break per-key order`)
        }
        return count
      })
      .immediate()
    return { db: database, partitions }
  } catch (error) {
    db?.close()
    throw toBusError(error, `open ${file}`)
  }
}

/**
 * Opens (creating when needed) a durable bus in one SQLite file. Publishes resolve once written
 * and fsynced; consumer groups resume from their committed offsets after a restart.
 */
export function openSqliteBus(options: SqliteBusOptions): SqliteBus {
  const pollIntervalMs = options.pollIntervalMs ?? 200
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const retainMessages = options.retainMessages ?? DEFAULT_RETAIN_MESSAGES
  checkInteger('pollIntervalMs', pollIntervalMs, 1)
  checkInteger('busyTimeoutMs', busyTimeoutMs, 0)
  if (options.partitions !== undefined) checkInteger('partitions', options.partitions, 1)
  if (retainMessages !== Number.POSITIVE_INFINITY) checkInteger('retainMessages', retainMessages, 0)
  const { logger } = options
  const { db, partitions: partitionCount } = openDatabase(options.file, busyTimeoutMs, options.partitions, logger)

  const insertMessage = db.prepare<[string, number, number, string, string, string, string]>(
    'INSERT INTO messages (topic, partition, offset, key, value, headers, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const selectPage = db.prepare<[string, number, number, number], MessageRow>(
    'SELECT offset, key, value, headers, timestamp FROM messages WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?',
  )
  const selectEnd = db.prepare<[string, number], number>('SELECT next_offset FROM partition_ends WHERE topic = ? AND partition = ?').pluck()
  const selectEnds = db.prepare<[string], { partition: number; next_offset: number }>('SELECT partition, next_offset FROM partition_ends WHERE topic = ?')
  const selectAllEnds = db.prepare<[], { topic: string; partition: number; next_offset: number }>('SELECT topic, partition, next_offset FROM partition_ends')
  const upsertEnd = db.prepare<[string, number, number]>(
    'INSERT INTO partition_ends (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset',
  )
  const selectGroupOffsets = db.prepare<[string, string], { partition: number; next_offset: number }>(
    'SELECT partition, next_offset FROM offsets WHERE topic = ? AND group_id = ? ORDER BY partition',
  )
  // max(): a commit never moves a group back, whatever order writes arrive in.
  const upsertOffset = db.prepare<[string, string, number, number]>(
    'INSERT INTO offsets (topic, group_id, partition, next_offset) VALUES (?, ?, ?, ?) ON CONFLICT (topic, group_id, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)',
  )
  const selectSlowestGroup = db.prepare<[string, number], number | null>('SELECT min(next_offset) FROM offsets WHERE topic = ? AND partition = ?').pluck()
  const deleteBefore = db.prepare<[string, number, number]>('DELETE FROM messages WHERE topic = ? AND partition = ? AND offset < ?')

  /**
   * Everything queued during one turn, in one transaction: publishes (offsets taken from
   * `partition_ends` inside the transaction, so writers in other processes never collide),
   * then offset commits. Returns the partitions that got messages.
   */
  const writeBatch = db.transaction((publishes: readonly PendingPublish[], commits: readonly PendingCommit[], timestamp: string): Map<string, Set<number>> => {
    const ends = new Map<string, { topic: string; partition: number; next: number }>()
    const touched = new Map<string, Set<number>>()
    for (const { topic, messages } of publishes) {
      for (const message of messages) {
        const partition = partitionFor(message.key, partitionCount)
        const id = `${topic}\u0000${partition}`
        const end = ends.get(id) ?? { topic, partition, next: selectEnd.get(topic, partition) ?? 0 }
        insertMessage.run(topic, partition, end.next, message.key, message.value, JSON.stringify(message.headers), timestamp)
        ends.set(id, { ...end, next: end.next + 1 })
        let partitions = touched.get(topic)
        if (partitions === undefined) touched.set(topic, (partitions = new Set()))
        partitions.add(partition)
      }
    }
    for (const { topic, partition, next } of ends.values()) upsertEnd.run(topic, partition, next)
    for (const { topic, groupId, partition, nextOffset } of commits) upsertOffset.run(topic, groupId, partition, nextOffset)
    return touched
  })

  /**
   * Where the group stands in the file; a group the file does not know yet starts at the end of
   * each partition (or at 0 with `fromBeginning`), and that start is written at once, so a
   * restart before the first message still delivers what was published after `subscribe`.
   */
  const positionGroup = db.transaction((topic: string, groupId: string, fromBeginning: boolean | 'always'): number[] => {
    const known = new Map(selectGroupOffsets.all(topic, groupId).map((row) => [row.partition, row.next_offset]))
    const ends = new Map(selectEnds.all(topic).map((row) => [row.partition, row.next_offset]))
    return Array.from({ length: partitionCount }, (_, partition) => {
      if (fromBeginning === 'always') {
        // Rewound in the file too: what it committed before is read again.
        upsertOffset.run(topic, groupId, partition, 0)
        return 0
      }
      const stored = known.get(partition)
      if (stored !== undefined) return stored
      // Only a group with no offsets at all is new; a missing partition of a known group starts at 0.
      const start = fromBeginning || known.size > 0 ? 0 : (ends.get(partition) ?? 0)
      upsertOffset.run(topic, groupId, partition, start)
      return start
    })
  })

  /** Deletes what every known group has committed past, keeping each partition's newest `retainMessages`. */
  const pruneTransaction = db.transaction((): number => {
    let deleted = 0
    for (const { topic, partition, next_offset: end } of selectAllEnds.all()) {
      const cutoff = Math.min(end - retainMessages, selectSlowestGroup.get(topic, partition) ?? end)
      if (cutoff > 0) deleted += deleteBefore.run(topic, partition, cutoff).changes
    }
    return deleted
  })

  /** key: groupId + NUL + topic */
  const groups = new Map<string, GroupState>()
  const groupsByTopic = new Map<string, Set<GroupState>>()
  const members = new Set<{ member: LocalMember; subscription: BusSubscription }>()
  let queue: PendingPublish[] = []
  /** key: topic + NUL + groupId + NUL + partition; only the furthest commit matters. */
  const pendingCommits = new Map<string, PendingCommit>()
  let flushScheduled: NodeJS.Immediate | undefined
  /** Resolved after the next flush attempt, whatever its outcome. */
  let flushWaiters: (() => void)[] = []
  let closed = false
  let closing: Promise<void> | undefined

  const wakeAll = (group: GroupState): void => {
    for (const wake of group.wakers) wake()
  }

  const flush = (): void => {
    flushScheduled = undefined
    const waiters = flushWaiters
    flushWaiters = []
    const publishes = queue
    queue = []
    const commits = [...pendingCommits.values()]
    pendingCommits.clear()
    try {
      if (publishes.length === 0 && commits.length === 0) return
      if (!db.open) {
        for (const pending of publishes) pending.settle?.reject(new Error('Bus is closed: the message was not published'))
        if (commits.length > 0 || publishes.some((pending) => pending.settle === undefined)) logger?.error({ commits: commits.length }, 'sqlite bus: commits or dead letters left after close; the messages will be delivered again')
        return
      }
      let touched: Map<string, Set<number>>
      try {
        touched = writeBatch.immediate(publishes, commits, new Date().toISOString())
      } catch (error) {
        // Nothing of the batch is stored. Callers of publish get the error; the bus's own
        // writes stay queued for the next flush (the poll timer retries).
        const failure = toBusError(error, 'publish')
        for (const pending of publishes) pending.settle?.reject(failure)
        queue = publishes.filter((pending) => pending.settle === undefined)
        for (const commit of commits) pendingCommits.set(`${commit.topic}\u0000${commit.groupId}\u0000${commit.partition}`, commit)
        logger?.error({ err: failure, publishes: publishes.length, commits: commits.length }, 'sqlite bus: write failed')
        return
      }
      for (const pending of publishes) pending.settle?.resolve()
      for (const [topic, partitions] of touched) {
        for (const group of groupsByTopic.get(topic) ?? []) for (const partition of partitions) group.wakers[partition]?.()
      }
    } finally {
      for (const resolve of waiters) resolve()
    }
  }

  /** Makes sure a flush is coming; resolves after it ran. */
  const flushSoon = (): Promise<void> =>
    new Promise((resolve) => {
      flushWaiters.push(resolve)
      flushScheduled ??= setImmediate(flush)
    })

  const enqueue = (pending: PendingPublish): void => {
    queue.push(pending)
    flushScheduled ??= setImmediate(flush)
  }

  const publishSerialized = (topic: string, messages: readonly SerializedMessage[]): Promise<void> =>
    new Promise((resolve, reject) => {
      if (messages.length === 0) resolve()
      else enqueue({ topic, messages, settle: { resolve, reject } })
    })

  const queueCommit = (group: GroupState, partition: number, nextOffset: number): void => {
    const id = `${group.topic}\u0000${group.groupId}\u0000${partition}`
    const previous = pendingCommits.get(id)
    pendingCommits.set(id, { topic: group.topic, groupId: group.groupId, partition, nextOffset: Math.max(previous?.nextOffset ?? 0, nextOffset) })
    flushScheduled ??= setImmediate(flush)
  }

  const deadLetter = (group: GroupState, partition: number, offset: number, stored: MessageRow, headers: Record<string, string>, record: DeadLetterRecord): void => {
    const fields = { topic: group.topic, partition, offset, key: stored.key, groupId: group.groupId, kind: record.error.kind, error: record.error.message }
    // Re-dead-lettering a dead letter could loop forever; it stays in the dead-letter topic anyway.
    if (group.topic === TOPICS.deadLetter) {
      logger?.error(fields, 'dead-letter consumer gave up on a message; skipped')
      return
    }
    logger?.error(fields, 'message dead-lettered')
    // Queued before the commit, so both land in the same transaction: never one without the other.
    enqueue({ topic: TOPICS.deadLetter, messages: [{ key: stored.key, value: JSON.stringify(record), headers }] })
  }


  /** The partition's next message for the group, from the rows read ahead or the file. */
  const nextStored = (group: GroupState, partition: number): MessageRow | undefined => {
    const cursor = group.cursors[partition]
    if (cursor === undefined) throw new Error(`sqlite bus: no partition ${partition}`)
    const committed = group.committed[partition] ?? 0
    while ((cursor.rows[cursor.index]?.offset ?? Number.POSITIVE_INFINITY) < committed) cursor.index++
    const buffered = cursor.rows[cursor.index]
    if (buffered !== undefined) return buffered
    try {
      cursor.rows = selectPage.all(group.topic, partition, committed, PAGE_SIZE)
    } catch (error) {
      throw toBusError(error, 'read')
    }
    cursor.index = 0
    return cursor.rows[0]
  }

  /** Settles the partition's next message (with retries); false when there is none or nobody to hand it to. */
  const step = async (group: GroupState, partition: number): Promise<boolean> => {
    // Checked first: after close the file is gone, and without members there is nothing to do.
    if (group.members.length === 0) return false
    const stored = nextStored(group, partition)
    if (stored === undefined) return false
    const { offset } = stored
    const headers = (): Record<string, string> => JSON.parse(stored.headers) as Record<string, string>
    return settleInGroup({
      servedBy: () => servingMember(group.members, partition),
      source: { topic: group.topic, partition, offset: String(offset), key: stored.key, groupId: group.groupId },
      value: stored.value,
      headers,
      timestamp: stored.timestamp,
      deadLetter: (record) => deadLetter(group, partition, offset, stored, headers(), record),
      commit: () => {
        const next = Math.max(group.committed[partition] ?? 0, offset + 1)
        group.committed[partition] = next
        queueCommit(group, partition, next)
      },
      logger,
    })
  }

  /** The partition's delivery loop: one message at a time, in offset order, woken by publishes, polling and rebalances. */
  const partitionWaker = (group: GroupState, partition: number): (() => void) => {
    let running = false
    let dirty = false
    const run = async (): Promise<void> => {
      try {
        do {
          dirty = false
          let steps = 0
          while (await step(group, partition)) {
            // A backlog of quick handlers would otherwise keep the loop in microtasks and starve
            // I/O, timers and the flush that writes its commits.
            if (++steps % STEPS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve))
          }
        } while (dirty)
      } catch (error) {
        logger?.error({ topic: group.topic, partition, groupId: group.groupId, err: error }, 'sqlite bus delivery loop failed; retrying')
        if (!closed) setTimeout(wake, pollIntervalMs).unref()
      } finally {
        running = false
      }
    }
    const wake = (): void => {
      if (running) {
        dirty = true
        return
      }
      running = true
      // Never deliver synchronously inside publish or subscribe.
      setImmediate(() => void run())
    }
    return wake
  }

  const joinGroup = (groupId: string, topic: string, fromBeginning: boolean | 'always'): GroupState => {
    const id = `${groupId}\u0000${topic}`
    const existing = groups.get(id)
    if (existing !== undefined && existing.members.length > 0) return existing
    // First member in this process (again): take the file's positions, in case another process
    // consumed the group meanwhile. max(): this process's own commits may not be written yet.
    let stored: number[]
    try {
      stored = positionGroup.immediate(topic, groupId, fromBeginning)
    } catch (error) {
      throw toBusError(error, `subscribe to ${topic}`)
    }
    if (existing !== undefined) {
      stored.forEach((offset, partition) => {
        existing.committed[partition] = fromBeginning === 'always' ? offset : Math.max(existing.committed[partition] ?? 0, offset)
      })
      return existing
    }
    const group: GroupState = { groupId, topic, committed: stored, members: [], wakers: [], cursors: [] }
    for (let partition = 0; partition < partitionCount; partition++) {
      group.wakers.push(partitionWaker(group, partition))
      group.cursors.push({ rows: [], index: 0 })
    }
    groups.set(id, group)
    let topicGroups = groupsByTopic.get(topic)
    if (topicGroups === undefined) groupsByTopic.set(topic, (topicGroups = new Set()))
    topicGroups.add(group)
    return group
  }

  const prune = (): void => {
    if (retainMessages === Number.POSITIVE_INFINITY) return
    try {
      pruneTransaction.immediate()
    } catch (error) {
      logger?.error({ err: toBusError(error, 'prune') }, 'sqlite bus: retention pruning failed; will try again')
    }
  }

  // Polls for writes by other connections (PRAGMA data_version changes only for those), retries
  // failed writes and prunes. It keeps the process alive only while someone is subscribed.
  let dataVersion: unknown
  let nextPruneAt = Date.now() + PRUNE_INTERVAL_MS
  const tick = (): void => {
    try {
      const version: unknown = db.pragma('data_version', { simple: true })
      if (version !== dataVersion) {
        dataVersion = version
        for (const group of groups.values()) if (group.members.length > 0) wakeAll(group)
      }
    } catch (error) {
      logger?.error({ err: toBusError(error, 'poll') }, 'sqlite bus: polling failed')
    }
    if (queue.length > 0 || pendingCommits.size > 0) flushScheduled ??= setImmediate(flush)
    if (Date.now() >= nextPruneAt) {
      nextPruneAt = Date.now() + PRUNE_INTERVAL_MS
      prune()
    }
  }
  prune()
  const timer = setInterval(tick, pollIntervalMs)
  timer.unref()

  const assertOpen = (operation: string): void => {
    if (closed) throw new Error(`Bus is closed: cannot ${operation}`)
  }

  return {
    async publish(topic, messages: readonly OutgoingMessage[]) {
      assertOpen(`publish to ${topic}`)
      await publishSerialized(topic, serializeBatch(topic, messages))
    },

    async publishRaw(topic, messages) {
      assertOpen(`publish to ${topic}`)
      await publishSerialized(
        topic,
        messages.map((message) => ({ key: message.key, value: message.value, headers: { ...message.headers } })),
      )
    },

    async subscribe<V>(subscribeOptions: SubscribeOptions<V>): Promise<BusSubscription> {
      assertOpen(`subscribe to ${subscribeOptions.topic}`)
      // The member only ever hands the handler values its own schema produced.
      const untyped = subscribeOptions as SubscribeOptions<unknown>
      const settings = consumerSettings(untyped)
      const group = joinGroup(subscribeOptions.groupId, subscribeOptions.topic, subscribeOptions.fromBeginning ?? false)
      const member: LocalMember = { options: untyped, settings, abort: new AbortController(), inFlight: new Set() }
      let leaving: Promise<void> | undefined
      const subscription: BusSubscription = {
        topic: group.topic,
        groupId: group.groupId,
        close() {
          leaving ??= (async () => {
            member.abort.abort()
            const index = group.members.indexOf(member)
            if (index !== -1) group.members.splice(index, 1)
            wakeAll(group)
            // Messages add themselves only while the member is assigned, so this set only shrinks now.
            await Promise.allSettled([...member.inFlight])
            // Their commits (and dead letters) reach the file before close resolves.
            if (pendingCommits.size > 0 || queue.length > 0) await flushSoon()
            members.delete(entry)
            if (members.size === 0) timer.unref()
          })()
          return leaving
        },
      }
      const entry = { member, subscription }
      members.add(entry)
      timer.ref()
      group.members.push(member)
      wakeAll(group)
      return subscription
    },

    async committedOffsets(topic, groupId) {
      assertOpen('read committed offsets')
      if (pendingCommits.size > 0) await flushSoon()
      try {
        return Object.fromEntries(selectGroupOffsets.all(topic, groupId).map((row) => [row.partition, String(row.next_offset)]))
      } catch (error) {
        throw toBusError(error, 'read committed offsets')
      }
    },

    async endOffsets(topic) {
      assertOpen('read end offsets')
      try {
        const ends = new Map(selectEnds.all(topic).map((row) => [row.partition, row.next_offset]))
        return Object.fromEntries(Array.from({ length: partitionCount }, (_, partition) => [partition, String(ends.get(partition) ?? 0)]))
      } catch (error) {
        throw toBusError(error, 'read end offsets')
      }
    },

    close() {
      closing ??= (async () => {
        closed = true
        clearInterval(timer)
        await Promise.all([...members].map(({ subscription }) => subscription.close()))
        // Publishes accepted before close still get written (or rejected) before the file closes.
        if (flushScheduled !== undefined) clearImmediate(flushScheduled)
        flush()
        if (queue.length > 0 || pendingCommits.size > 0) {
          logger?.error({ commits: pendingCommits.size }, 'sqlite bus: last write failed at close; those messages will be delivered again')
        }
        db.close()
      })()
      return closing
    },
  }
}
