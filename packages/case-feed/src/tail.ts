/**
 * The log tail: one subscription to the event store's global log per process, shared by every
 * reader in it (catch-up projections, consumer groups that read straight from the store, the
 * relay). Each stored event is read once and decoded at most once, however many readers follow it.
 *
 * A reader joins at its own position. Behind the tail it reads the log by itself (catching up)
 * until it reaches the tail; from then on the tail hands it every new event as the store delivers
 * it. The tail never waits for a reader: a reader whose buffer is full refuses an event
 * (`receive` returns false), drops out of the live hand-out, and reads by itself again from where
 * it stopped once it calls `resume()`. One slow reader never holds up the others.
 *
 * Every reader sees every event of the log (any stream) exactly once, in global order: positions
 * strictly increase and none is skipped, so a reader's position covers the whole log.
 */
import type { EventStore, RecordedEvent, Subscription } from '@civic-desk/event-store'
import type { Logger } from '@civic-desk/service-kit'
import { feedEventFromRecorded, type CaseFeedEvent } from './codec.ts'
import { retrying } from './retry.ts'
import { caseIdOfStream } from './stream.ts'

/** Events per catch-up read. */
const CATCH_UP_PAGE = 500

/** One event of the log as the tail hands it to its readers. */
export interface TailItem {
  readonly recorded: RecordedEvent
  readonly position: number
  /** The case of the event's stream; null for a record of another stream. */
  readonly caseId: string | null
  /** The case event with where it is stored, decoded (full contract) once for every reader. Throws `CaseEventDecodeError`. */
  decode(): CaseFeedEvent
}

class Item implements TailItem {
  readonly position: number
  readonly caseId: string | null
  #decoded: CaseFeedEvent | undefined
  #failure: unknown

  constructor(readonly recorded: RecordedEvent) {
    this.position = recorded.position
    this.caseId = caseIdOfStream(recorded.streamId)
  }

  decode(): CaseFeedEvent {
    if (this.#decoded !== undefined) return this.#decoded
    if (this.#failure !== undefined) throw this.#failure
    try {
      this.#decoded = feedEventFromRecorded(this.recorded)
      return this.#decoded
    } catch (error) {
      this.#failure = error
      throw error
    }
  }
}

/** A reader of the tail. */
export interface TailReader {
  /** For logs. */
  readonly name: string
  /**
   * Takes the next event of the log. Return false when full: the reader then gets nothing more
   * (this event included) until it calls `resume()`.
   */
  receive(item: TailItem): boolean
  /** A store failure the reader waits out (for its status); the tail retries by itself. */
  onStoreError?(error: Error): void
}

/** A reader's place on the tail. */
export interface TailMembership {
  /** Position of the last event the reader took. */
  readonly position: number
  /** True while the shared subscription hands the reader new events; false while it catches up or is paused. */
  readonly live: boolean
  /** After a refused event: reads on from the last event taken. Harmless at any other time. */
  resume(): void
  /** Stops handing the reader events; resolves once no catch-up read of it is running. */
  close(): Promise<void>
}

export interface LogTail {
  /** Position of the last event the shared subscription read (0 before it started). */
  readonly position: number
  /** Hands `reader` every event after `after`, in order. */
  follow(reader: TailReader, after: number): TailMembership
  /** Stops the shared subscription and every reader's catch-up. */
  close(): Promise<void>
}

export interface LogTailOptions {
  readonly store: EventStore
  readonly logger: Logger
}

type Mode = 'catching-up' | 'live' | 'paused' | 'closed'

interface Member {
  readonly reader: TailReader
  position: number
  mode: Mode
  catchingUp: Promise<void> | undefined
}

export function createLogTail(options: LogTailOptions): LogTail {
  const { store } = options
  const log = options.logger.child({ component: 'log-tail' })
  const members = new Set<Member>()
  const live = new Set<Member>()
  const abort = new AbortController()
  /** Position of the last event the shared subscription read. */
  let cursor = 0
  let closed = false
  let subscription: Subscription | undefined
  let connecting: Promise<void> | undefined
  let releaseConnect: (() => void) | undefined

  const reportStoreError = (error: Error): void => {
    for (const m of members) m.reader.onStoreError?.(error)
  }

  /** Hands an item to a member; false when the member refused it (now paused). */
  const hand = (member: Member, item: TailItem): boolean => {
    if (item.position <= member.position) return true
    let taken: boolean
    try {
      taken = member.reader.receive(item)
    } catch (error) {
      // A bug of the reader: it must not stop the others. It gets the event again a second later.
      log.error({ err: error, reader: member.reader.name, position: item.position }, 'reader failed on an event; offered again in 1 s')
      taken = false
      setTimeout(() => catchUp(member), 1_000).unref()
    }
    if (!taken) {
      member.mode = 'paused'
      live.delete(member)
      return false
    }
    member.position = item.position
    return true
  }

  const onShared = (recorded: RecordedEvent): void => {
    // The cursor moves first: a member that reads by itself and finds itself at the cursor goes
    // live, and from then on gets every event after it from here.
    cursor = recorded.position
    if (live.size === 0) return
    const item = new Item(recorded)
    // A member that refuses leaves `live` during the loop; deleting while iterating a Set is safe.
    for (const member of live) hand(member, item)
  }

  /** The shared subscription from the cursor; after a failure it resubscribes, waiting longer while the store keeps failing. */
  const connect = (): void => {
    if (closed) return
    connecting = retrying(
      () =>
        new Promise<void>((resolve, reject) => {
          let settled = false
          // Pending while the subscription runs without having delivered anything: close ends the wait.
          releaseConnect = resolve
          subscription = store.subscribeToAll(
            {
              after: cursor,
              onError: (error) => {
                if (closed) return resolve()
                if (!settled) {
                  settled = true
                  reject(error)
                  return
                }
                // Failed after making progress: a new failure streak, resubscribed at once.
                log.error({ err: error, after: cursor }, 'event store subscription failed; resubscribing')
                reportStoreError(error instanceof Error ? error : new Error(String(error)))
                connect()
              },
            },
            (recorded) => {
              onShared(recorded)
              if (!settled) {
                settled = true
                resolve()
              }
            },
          )
        }),
      {
        signal: abort.signal,
        onFailedAttempt: (error, attempt) => {
          log.error({ err: error, after: cursor, attempt }, 'event store subscription failed; resubscribing after a wait')
          reportStoreError(error)
        },
      },
    ).catch(() => undefined)
  }

  /** Reads the log by itself for `member` from its position until it reaches the cursor, then joins the live hand-out. */
  const catchUp = (member: Member): void => {
    if (member.catchingUp !== undefined || member.mode === 'closed' || member.mode === 'live') return
    member.mode = 'catching-up'
    const running: Promise<void> = (async () => {
      try {
        for (;;) {
          if (member.mode !== 'catching-up' || closed) return
          // At (or past) the tail: every later event comes from the shared subscription. Checked
          // and switched with no wait in between, so no event falls between the two.
          if (member.position >= cursor) {
            member.mode = 'live'
            live.add(member)
            return
          }
          const page = await retrying(() => store.readAll({ after: member.position, maxCount: CATCH_UP_PAGE }), {
            signal: abort.signal,
            onFailedAttempt: (error, attempt) => {
              log.error({ err: error, reader: member.reader.name, after: member.position, attempt }, 'catch-up read failed; retrying after a wait')
              member.reader.onStoreError?.(error)
            },
          })
          if (member.mode !== 'catching-up') return
          for (const recorded of page) if (!hand(member, new Item(recorded))) return
          if (page.length === 0) {
            // Nothing more stored: wait for the shared subscription instead.
            member.mode = 'live'
            live.add(member)
            return
          }
        }
      } catch {
        // Only a close ends the retries of a read.
      }
    })().finally(() => {
      // Asynchronously, so after the assignment below even when the loop ended at once.
      if (member.catchingUp === running) member.catchingUp = undefined
    })
    member.catchingUp = running
  }

  // The shared subscription starts at the store's head as it stands (readers behind it catch up by
  // themselves); readers are handed nothing before it is known.
  const ready = (async () => {
    try {
      cursor = await retrying(() => store.headPosition(), { signal: abort.signal, onFailedAttempt: (error) => reportStoreError(error) })
      connect()
    } catch {
      // Closed before the store answered.
    }
  })()

  return {
    get position() {
      return cursor
    },
    follow(reader, after) {
      if (closed) throw new Error('the log tail is closed')
      if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`follow: after must be an integer >= 0, got ${after}`)
      const member: Member = { reader, position: after, mode: 'paused', catchingUp: undefined }
      members.add(member)
      // Nothing is handed over before follow() returned.
      void ready.then(() => catchUp(member))
      return {
        get position() {
          return member.position
        },
        get live() {
          return member.mode === 'live'
        },
        resume() {
          if (member.mode === 'paused') void ready.then(() => catchUp(member))
        },
        async close() {
          member.mode = 'closed'
          live.delete(member)
          members.delete(member)
          await member.catchingUp
        },
      }
    },
    async close() {
      if (closed) return
      closed = true
      abort.abort()
      for (const m of members) m.mode = 'closed'
      live.clear()
      await ready
      await subscription?.close()
      releaseConnect?.()
      await connecting
      await Promise.allSettled([...members].map((m) => m.catchingUp))
      members.clear()
    },
  }
}
