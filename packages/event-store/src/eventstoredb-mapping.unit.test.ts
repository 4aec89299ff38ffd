// Unit tests of the EventStoreDB adapter's pure mapping (eventstoredb-mapping.ts), without a server:
// revisions, positions, events, errors and the idempotent append plan. Errors and recorded events
// are the client's own classes and decoders (fed protobuf messages as the server sends them), so
// these tests pin the mapping to the client version in the lockfile.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import t from 'tap'
import {
  END,
  FORWARDS,
  NO_STREAM as CLIENT_NO_STREAM,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  convertToCommandError,
  type AllStreamRecordedEvent,
  type EventData,
  type RecordedEvent as ClientRecordedEvent,
} from '@eventstore/db-client'
import {
  afterWrongExpectedVersion,
  checkStreamIdForAppend,
  fromPortPosition,
  includeStream,
  isAfter,
  isTransient,
  newestUserPosition,
  normalizeEventId,
  observedRevision,
  linkOfRecorded,
  planAppend,
  unwrapStoredMetadata,
  reconnectDelayMs,
  redactConnectionString,
  scanAllForward,
  streamStateOf,
  subscriptionFilter,
  toActualRevision,
  toConcurrencyError,
  toEventData,
  toPortPosition,
  toRecordedEvent,
  toSafeNumber,
  toStoreError,
  type ReadAllPage,
  type StreamState,
} from './eventstoredb-mapping.ts'
import { ConcurrencyError, type EventToAppend, type ExpectedRevision, type RecordedEvent } from './port.ts'
import { prepareAppend, type SerializedEvent } from './shared.ts'
import { GENESIS_HASH, unwrapMetadata } from './integrity.ts'

// The client's decoder of recorded events and its generated protobuf classes are not part of its
// public entry point; they are loaded from the installed package itself.
const clientRequire = createRequire(createRequire(import.meta.url).resolve('@eventstore/db-client'))
const { convertGrpcRecord } = clientRequire('./utils/convertGrpcEvent') as { convertGrpcRecord: (record: unknown) => ClientRecordedEvent }
const streamsPb = clientRequire('../generated/streams_pb') as {
  ReadResp: { ReadEvent: { RecordedEvent: new () => GrpcRecordedEvent } }
}
const sharedPb = clientRequire('../generated/shared_pb') as {
  UUID: new () => { setString(value: string): unknown }
  StreamIdentifier: new () => { setStreamName(value: string): unknown }
}
const grpc = clientRequire('@grpc/grpc-js') as {
  status: Record<string, number>
  Metadata: new () => { set(key: string, value: string): void }
}

interface GrpcRecordedEvent {
  setId(value: unknown): this
  setStreamIdentifier(value: unknown): this
  setStreamRevision(value: string): this
  setPreparePosition(value: string): this
  setCommitPosition(value: string): this
  setCustomMetadata(value: Uint8Array): this
  setData(value: Uint8Array): this
  getMetadataMap(): { set(key: string, value: string): void }
}

/**
 * The record the server sends back for an event the client appended: the bytes of `data` as the
 * client's append encodes a JSON event (that encoder is not exported, so its few lines are repeated
 * here), at the given log position.
 */
function asStoredByServer(streamId: string, revision: number, sent: EventData, position: { commit: bigint; prepare: bigint } | undefined, createdMs = Date.UTC(2026, 0, 2, 3, 4, 5, 678)): ClientRecordedEvent {
  const record = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
  const id = new sharedPb.UUID()
  id.setString(sent.id)
  const stream = new sharedPb.StreamIdentifier()
  stream.setStreamName(streamId)
  record.setId(id).setStreamIdentifier(stream).setStreamRevision(String(revision))
  if (position !== undefined) record.setCommitPosition(String(position.commit)).setPreparePosition(String(position.prepare))
  record.getMetadataMap().set('type', sent.type)
  record.getMetadataMap().set('content-type', sent.contentType)
  // .NET ticks (100 ns) since the Unix epoch, as the server sends `created`.
  record.getMetadataMap().set('created', String(BigInt(createdMs) * 10_000n))
  record.setData(new TextEncoder().encode(JSON.stringify(sent.data)))
  // The client's append: truthy metadata only; a Uint8Array as is, anything else JSON-encoded.
  if (sent.metadata) record.setCustomMetadata(sent.metadata.constructor === Uint8Array ? (sent.metadata as Uint8Array) : new TextEncoder().encode(JSON.stringify(sent.metadata)))
  return convertGrpcRecord(record)
}

/** A gRPC failure as @grpc/grpc-js hands it to the client, turned into the client's error class. */
function grpcFailure(code: string, exception?: string, extra: Record<string, string> = {}): Error {
  const metadata = new grpc.Metadata()
  if (exception !== undefined) metadata.set('exception', exception)
  for (const [key, value] of Object.entries(extra)) metadata.set(key, value)
  const error = Object.assign(new Error(`${grpc.status[code]} ${code}: simulated`), { code: grpc.status[code], details: 'simulated', metadata })
  return convertToCommandError(error)
}

const serialize = (streamId: string, events: EventToAppend[], expected: ExpectedRevision = 'any'): SerializedEvent[] =>
  prepareAppend(streamId, events, expected)

const recorded = (streamId: string, revision: number, id: string, position: number): RecordedEvent => ({
  streamId,
  revision,
  position,
  id,
  type: 'T',
  data: {},
  metadata: null,
  recordedAt: '2026-01-01T00:00:00.000Z',
})

void t.test('event ids: UUIDs, lower-cased; anything else rejected with what to use', async (t) => {
  const id = randomUUID()
  t.equal(normalizeEventId('s', id.toUpperCase()), id)
  t.equal(normalizeEventId('s', id), id)
  t.throws(() => normalizeEventId('case-1', 'evt-1'), /append to case-1: event id "evt-1" is not a UUID; EventStoreDB event ids must be UUIDs \(crypto.randomUUID\(\)\)/)
  t.throws(() => normalizeEventId('s', `${id}x`), /not a UUID/)
})

void t.test('system streams are never the port\'s; the prefix filter and the subscription filter agree', async (t) => {
  t.notOk(includeStream('$stats-127.0.0.1:2113', undefined))
  t.notOk(includeStream('$$case-1', undefined), 'stream metadata streams are system streams')
  t.notOk(includeStream('$ce-case', 'case'), 'a projection stream is excluded even if a prefix would let it through')
  t.ok(includeStream('case-1', undefined))
  t.ok(includeStream('case-1', 'case-'))
  t.notOk(includeStream('cases-1', 'case-'))
  t.ok(includeStream('case-1', ''), 'an empty prefix is every user stream')
  t.throws(() => checkStreamIdForAppend('$case-1'), /stream ids starting with \$ are EventStoreDB's system streams/)
  t.doesNotThrow(() => checkStreamIdForAppend('case-$1'))

  t.match(subscriptionFilter('case-'), { filterOn: 'streamName', prefixes: ['case-'] })
  const everyUserStream = subscriptionFilter(undefined)
  t.match(everyUserStream, { filterOn: 'streamName' })
  t.same(subscriptionFilter(''), everyUserStream)
  const regex = new RegExp('regex' in everyUserStream ? everyUserStream.regex : '(no regex)')
  for (const name of ['case-1', 'intake-x', '$stats-1', '$$case-1', '$ce-case']) {
    t.equal(regex.test(name), includeStream(name, undefined), `server-side regex and includeStream agree on ${name}`)
  }
})

void t.test('events written then read back through the client\'s own encoding', async (t) => {
  const streamId = `case-${randomUUID()}`
  const cases: { data: unknown; metadata?: unknown; metadataBack: unknown }[] = [
    { data: { title: 'Çukur — Kadıköy', tags: ['road'], n: 2, ok: true, none: null }, metadata: { correlationId: 'c-1' }, metadataBack: { correlationId: 'c-1' } },
    { data: { n: 1 }, metadataBack: null },
    { data: null, metadata: null, metadataBack: null },
    { data: 42, metadata: 0, metadataBack: 0 },
    { data: 'text', metadata: false, metadataBack: false },
    { data: [1, 'two'], metadata: '', metadataBack: '' },
    { data: { skipped: undefined, kept: 1 }, metadata: [], metadataBack: [] },
  ]
  for (const [index, sample] of cases.entries()) {
    const [serialized] = serialize(streamId, [{ id: randomUUID(), type: 'Noted', data: sample.data, ...(sample.metadata === undefined ? {} : { metadata: sample.metadata }) }])
    if (serialized === undefined) throw new Error('no event')
    const sent = toEventData(serialized)
    t.match(sent, { id: serialized.id, type: 'Noted', contentType: 'application/json' })
    if (sent.metadata !== undefined) t.equal(sent.metadata.constructor, Uint8Array, 'metadata is a plain Uint8Array, which the client sends as is')
    const back = toRecordedEvent(asStoredByServer(streamId, index, sent, { commit: 1000n + BigInt(index), prepare: 1000n + BigInt(index) }))
    t.same(
      back,
      {
        streamId,
        revision: index,
        position: 1000 + index,
        id: serialized.id,
        type: 'Noted',
        data: JSON.parse(serialized.data),
        metadata: sample.metadataBack,
        recordedAt: '2026-01-02T03:04:05.678Z',
      },
      `round trip ${index}: ${JSON.stringify(sample.data) ?? 'undefined'} / ${JSON.stringify(sample.metadata) ?? 'no metadata'}`,
    )
  }
})

void t.test('positions: the log offset as a number, exact both ways, with its limits', async (t) => {
  t.equal(toPortPosition({ commit: 1234n, prepare: 1234n }, 'x'), 1234)
  const max = BigInt(Number.MAX_SAFE_INTEGER)
  t.equal(toPortPosition({ commit: max, prepare: max }, 'x'), Number.MAX_SAFE_INTEGER, '2^53 - 1 is the last offset that maps')
  t.throws(() => toPortPosition({ commit: max + 1n, prepare: max + 1n }, 'case-1@3'), /log position of case-1@3 9007199254740992 does not fit the port's numbers/)
  t.throws(() => toPortPosition({ commit: 5000n, prepare: 4000n }, 'case-1@3'), /commit position 5000 but prepare position 4000: it was written in an explicit transaction/)
  t.throws(() => toPortPosition(undefined, 'case-1@3'), /without its \$all position; stream reads carry it from server version 22.6 on/)
  t.throws(() => toPortPosition({ commit: 0n, prepare: 0n }, 'case-1@3'), /case-1@3 without its \$all position \(log position 0\); stream reads carry it from server version 22.6 on: upgrade/)

  t.equal(fromPortPosition(0), START, '0 reads from the start')
  t.same(fromPortPosition(1234), { commit: 1234n, prepare: 1234n })
  for (const position of [1, 2, 1234, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
    const back = fromPortPosition(position)
    t.equal(back === START ? 0 : toPortPosition(back as { commit: bigint; prepare: bigint }, 'x'), position, `${position} survives the round trip`)
  }
  t.throws(() => fromPortPosition(-1), RangeError)
  t.throws(() => fromPortPosition(1.5), RangeError)
  t.throws(() => fromPortPosition(2 ** 53), RangeError)

  // Order: strictly increasing offsets give strictly increasing numbers, and isAfter is $all order.
  const offsets = [17n, 18n, 4096n, 268_435_456n, max]
  const numbers = offsets.map((offset) => toPortPosition({ commit: offset, prepare: offset }, 'x'))
  t.ok(numbers.every((value, index) => index === 0 || value > (numbers[index - 1] ?? Infinity)), 'strictly increasing')
  t.ok(isAfter({ commit: 10n, prepare: 10n }, { commit: 9n, prepare: 9n }))
  t.ok(isAfter({ commit: 10n, prepare: 11n }, { commit: 10n, prepare: 10n }), 'prepare breaks a commit tie')
  t.notOk(isAfter({ commit: 10n, prepare: 10n }, { commit: 10n, prepare: 10n }), 'not after itself')
  t.notOk(isAfter({ commit: 9n, prepare: 20n }, { commit: 10n, prepare: 0n }), 'commit first')
  t.notOk(isAfter(undefined, { commit: 0n, prepare: 0n }))
})

void t.test('revisions: numbers both ways, bounded', async (t) => {
  t.equal(toSafeNumber(0n, 'revision'), 0)
  t.equal(toSafeNumber(41n, 'revision'), 41)
  t.throws(() => toSafeNumber(-1n, 'revision of s'), /revision of s -1 does not fit/)
  t.throws(() => toSafeNumber(2n ** 53n, 'revision of s'), RangeError)
  t.equal(observedRevision(-1), CLIENT_NO_STREAM, 'a missing stream is expected to stay missing')
  t.equal(observedRevision(0), 0n)
  t.equal(observedRevision(41), 41n)
  t.equal(toActualRevision(CLIENT_NO_STREAM), -1)
  t.equal(toActualRevision(7n), 7)
  t.equal(toActualRevision(-1n), -1)

  const client = asStoredByServer('case-1', 0, toEventData(serialize('case-1', [{ id: randomUUID(), type: 'T', data: {} }])[0]!), undefined)
  // The client decodes an absent position as {commit: 0, prepare: 0}, the protobuf default.
  t.same(client.position, { commit: 0n, prepare: 0n })
  t.throws(() => toRecordedEvent(client), /case-1@0 without its \$all position/, 'a stream read of a pre-22.6 server fails clearly')
})

void t.test('planAppend: the port\'s idempotency and expected-revision rules', async (t) => {
  const streamId = 'case-1'
  const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
  const missing: StreamState = streamStateOf([])
  t.same(missing, { lastRevision: -1, lastPosition: 0, eventIds: new Set(), lastLink: GENESIS_HASH })
  const two = streamStateOf([recorded(streamId, 0, a, 100), recorded(streamId, 1, b, 140)])
  // Events without a chain header (from before the chain) link by their computed hash.
  t.same(two, { lastRevision: 1, lastPosition: 140, eventIds: new Set([a, b]), lastLink: linkOfRecorded(recorded(streamId, 1, b, 140)) })
  t.match(two.lastLink, /^[0-9a-f]{64}$/)
  t.not(two.lastLink, GENESIS_HASH)
  const batch = (...ids: string[]): SerializedEvent[] => serialize(streamId, ids.map((id) => ({ id, type: 'T', data: { id } })))

  // Creation.
  const created = planAppend(streamId, batch(a, b), 'no_stream', missing)
  t.match(created, { kind: 'write', expectedRevision: CLIENT_NO_STREAM })
  t.same(created.kind === 'write' ? created.events.map((event) => event.id) : [], [a, b])
  // The planned events are chained from the genesis hash, each to the one before.
  const links = created.kind === 'write' ? created.events.map((event) => unwrapMetadata(event.metadata)) : []
  t.equal(links[0]?.prev, GENESIS_HASH)
  t.equal(links[1]?.prev, links[0]?.hash)
  t.same(links.map((link) => link?.meta), ['null', 'null'], "the caller's metadata is kept under the header")
  for (const expected of ['stream_exists', 0, 5] as const) {
    t.throws(() => planAppend(streamId, batch(a), expected, missing), new ConcurrencyError(streamId, expected, -1), `${String(expected)} on a missing stream`)
  }
  t.match(planAppend(streamId, batch(a), 'any', missing), { kind: 'write', expectedRevision: CLIENT_NO_STREAM }, "'any' on a missing stream is pinned to no stream")

  // Retries: all known ids → the current revision and position, whatever was expected.
  for (const expected of ['no_stream', 'any', 'stream_exists', 0, 1, 7] as const) {
    t.same(planAppend(streamId, batch(a, b), expected, two), { kind: 'noop', result: { nextRevision: 1, position: 140 } }, `all known, expected ${String(expected)}: no-op`)
  }
  t.same(planAppend(streamId, batch(b), 7, two), { kind: 'noop', result: { nextRevision: 1, position: 140 } }, 'a subset of known ids is a no-op too')
  t.same(planAppend(streamId, batch(b, b), 'no_stream', two), { kind: 'noop', result: { nextRevision: 1, position: 140 } })

  // Known ids are skipped, new ones written, pinned to the observed revision.
  const mixed = planAppend(streamId, batch(b, c, c), 1, two)
  t.match(mixed, { kind: 'write', expectedRevision: 1n })
  t.same(mixed.kind === 'write' ? mixed.events.map((event) => event.id) : [], [c], 'b skipped, c once')
  t.throws(() => planAppend(streamId, batch(c, d), 0, two), new ConcurrencyError(streamId, 0, 1), 'a new id with a stale revision is a conflict')
  t.throws(() => planAppend(streamId, batch(c), 'no_stream', two), new ConcurrencyError(streamId, 'no_stream', 1))
  t.match(planAppend(streamId, batch(c), 'any', two), { kind: 'write', expectedRevision: 1n }, "'any' is pinned to the revision read, so a racing write of the same ids is caught")
  t.match(planAppend(streamId, batch(c), 'stream_exists', two), { kind: 'write', expectedRevision: 1n })
})

void t.test('afterWrongExpectedVersion: racing retries are no-ops, exact expectations fail, any replans', async (t) => {
  const streamId = 'case-2'
  const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()]
  const batch = (...ids: string[]): SerializedEvent[] => serialize(streamId, ids.map((id) => ({ id, type: 'T', data: {} })))
  const wev = (current: bigint | typeof CLIENT_NO_STREAM, expected: bigint | typeof CLIENT_NO_STREAM = CLIENT_NO_STREAM): WrongExpectedVersionError =>
    new WrongExpectedVersionError(undefined, { streamName: streamId, expected, current })
  const afterRace = streamStateOf([recorded(streamId, 0, a, 500)])

  t.same(afterWrongExpectedVersion(streamId, batch(a), 'no_stream', wev(0n), afterRace), { kind: 'noop', result: { nextRevision: 0, position: 500 } }, 'the racing original wrote the same id: same result as the original')

  const conflict = ((): unknown => {
    try {
      return afterWrongExpectedVersion(streamId, batch(b), 'no_stream', wev(0n), afterRace)
    } catch (error) {
      return error
    }
  })()
  t.ok(conflict instanceof ConcurrencyError, 'WrongExpectedVersionError → ConcurrencyError')
  t.match(conflict, { name: 'ConcurrencyError', streamId, expected: 'no_stream', actual: 0 })
  t.throws(() => afterWrongExpectedVersion(streamId, batch(a, b), 0, wev(2n, 0n), streamStateOf([recorded(streamId, 0, a, 1), recorded(streamId, 1, c, 2), recorded(streamId, 2, randomUUID(), 3)])), new ConcurrencyError(streamId, 0, 2), "the server's actual revision is reported")

  t.match(afterWrongExpectedVersion(streamId, batch(a, b), 'any', wev(0n), afterRace), { kind: 'write', expectedRevision: 0n }, "'any': replanned against the new state, known a skipped")
  t.match(afterWrongExpectedVersion(streamId, batch(b), 'stream_exists', wev(0n, CLIENT_NO_STREAM), afterRace), { kind: 'write', expectedRevision: 0n })

  t.same(toConcurrencyError(streamId, 'stream_exists', wev(CLIENT_NO_STREAM)), new ConcurrencyError(streamId, 'stream_exists', -1), 'no stream → actual -1')
  // The same failure as a gRPC status with metadata, which the client turns into the error itself.
  const fromStatus = (actual: string): unknown => grpcFailure('FAILED_PRECONDITION', 'wrong-expected-version', { 'stream-name': streamId, 'expected-version': '0', 'actual-version': actual })
  const missing = fromStatus('-1')
  t.ok(missing instanceof WrongExpectedVersionError)
  if (missing instanceof WrongExpectedVersionError) t.same(toConcurrencyError(streamId, 0, missing), new ConcurrencyError(streamId, 0, -1), "the server's -1 is no stream")
  const moved = fromStatus('4')
  if (moved instanceof WrongExpectedVersionError) t.same(toConcurrencyError(streamId, 0, moved), new ConcurrencyError(streamId, 0, 4))
  t.match(toConcurrencyError(streamId, 3, wev(5n, 3n)).message, /Stream case-2: expected revision 3, actual 5/)
})

void t.test('errors: which ones a reconnect may cure, and how the rest reach the caller', async (t) => {
  for (const code of ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CANCELLED', 'ABORTED']) t.ok(isTransient(grpcFailure(code)), `${code} is retried`)
  const notLeader = new grpc.Metadata()
  notLeader.set('exception', 'not-leader')
  notLeader.set('leader-endpoint-host', '10.0.0.2')
  notLeader.set('leader-endpoint-port', '2113')
  t.ok(isTransient(convertToCommandError(Object.assign(new Error('not leader'), { code: grpc.status['NOT_FOUND'], details: 'x', metadata: notLeader }))), 'a leader change is retried')
  for (const code of ['PERMISSION_DENIED', 'INVALID_ARGUMENT', 'UNAUTHENTICATED']) t.notOk(isTransient(grpcFailure(code)), `${code} is not`)
  t.notOk(isTransient(grpcFailure('UNKNOWN', 'stream-deleted', { 'stream-name': 's' })), 'a deleted stream is not')
  t.notOk(isTransient(new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: 1n })))
  t.notOk(isTransient(new StreamNotFoundError(undefined, 's')))
  t.notOk(isTransient(new Error('handler failed')))
  t.notOk(isTransient(new ConcurrencyError('s', 0, 1)))

  const conflict = new ConcurrencyError('s', 0, 1)
  t.equal(toStoreError(conflict, 'append to s'), conflict, 'ConcurrencyError passes through')
  const unavailable = grpcFailure('UNAVAILABLE')
  const wrapped = toStoreError(unavailable, 'append to s')
  t.match(wrapped.message, /^Event store \(EventStoreDB\) append to s failed: unavailable: /)
  t.equal(wrapped.cause, unavailable, 'the client error stays reachable as cause')
  t.notOk(wrapped.constructor.name.endsWith('UnavailableError'), 'a plain Error: no vendor type crosses the port')

  t.same([1, 2, 3, 4, 5, 6, 7, 10].map(reconnectDelayMs), [100, 200, 400, 800, 1600, 3200, 5000, 5000], 'backoff doubles up to 5 s')
})

void t.test('connection strings in messages: passwords masked', async (t) => {
  t.equal(redactConnectionString('esdb://admin:changeit@db.internal:2113?tls=true'), 'esdb://admin:***@db.internal:2113?tls=true')
  t.equal(redactConnectionString('esdb+discover://ops:p%40ss@cluster.internal:2113'), 'esdb+discover://ops:***@cluster.internal:2113')
  t.equal(redactConnectionString('esdb://127.0.0.1:2113?tls=false'), 'esdb://127.0.0.1:2113?tls=false', 'nothing to mask')
})

// The scans of $all against a log of user and server events, read by a page reader that behaves
// as EventStoreDB's reads do: forwards or backwards, at most `limit` records, starting at a record
// position — once including the record at the start position, once excluding it, since the
// adapter must not depend on which.
void t.test('scanning $all: every user event once, in order, whatever the page size and start semantics', async (t) => {
  const layout = [
    '$stats-1', 'case-1', 'case-1', 'case-2', '$stats-1', '$$case-1', 'other-1', 'case-1',
    ...Array<string>(9).fill('$stats-1'), 'case-3', 'case-2', 'other-1', ...Array<string>(11).fill('$stats-1'),
  ]
  const revisions = new Map<string, number>()
  let offset = 0n
  const log: AllStreamRecordedEvent[] = layout.map((streamId) => {
    const revision = revisions.get(streamId) ?? 0
    revisions.set(streamId, revision + 1)
    offset += 37n + BigInt(revision * 11)
    const [serialized] = serialize(streamId.replace(/^\$+/, 'x'), [{ id: randomUUID(), type: streamId.startsWith('$') ? '$statsCollected' : 'Noted', data: { streamId } }])
    return asStoredByServer(streamId, revision, toEventData(serialized!), { commit: offset, prepare: offset }) as AllStreamRecordedEvent
  })
  const user = log.filter((event) => !event.streamId.startsWith('$')).map(toRecordedEvent)
  t.equal(user.length, 8)

  for (const inclusive of [true, false]) {
    const mode = inclusive ? 'inclusive' : 'exclusive'
    const reads: string[] = []
    const readPage: ReadAllPage = async function* (from, direction, limit) {
      reads.push(`${direction} ${from === START || from === END ? from : from.commit}`)
      const ordered = direction === FORWARDS ? log : [...log].reverse()
      const startsAt = (event: AllStreamRecordedEvent): boolean => {
        if (from === START || from === END) return true
        const before = direction === FORWARDS ? isAfter(from, event.position) : isAfter(event.position, from)
        const at = event.position.commit === from.commit
        return !before && (inclusive || !at)
      }
      for (const event of ordered.filter(startsAt).slice(0, limit)) yield { event }
    }
    for (const pageSize of [2, 3, 5, 100]) {
      for (const after of [0, ...user.map((event) => event.position)]) {
        for (const [prefix, maxCount] of [[undefined, Infinity], ['case-', Infinity], ['case-1', 2], [undefined, 3], ['none-', Infinity]] as const) {
          const expected = user.filter((event) => event.position > after && (prefix === undefined || event.streamId.startsWith(prefix))).slice(0, maxCount)
          const got = await scanAllForward(readPage, pageSize, after, maxCount, prefix)
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            t.same(got, expected, `${mode}, page ${pageSize}, after ${after}, prefix ${String(prefix)}, maxCount ${maxCount}`)
          }
        }
      }
      t.equal(await newestUserPosition(readPage, pageSize), user.at(-1)?.position, `${mode}, page ${pageSize}: the newest user event, past 11 server events`)
    }
    t.pass(`${mode}: every combination of page size, after, prefix and maxCount read what a filter of the log gives`)
    t.ok(reads.length > 0)
  }

  const onlyServer: ReadAllPage = async function* (_from, _direction, limit) {
    for (const event of log.filter((e) => e.streamId.startsWith('$')).slice(0, limit)) yield { event }
  }
  t.equal(await newestUserPosition(onlyServer, 100), 0, 'no user event: 0')
  await t.rejects(scanAllForward(onlyServer, 1, 0, 10, undefined), /page size must be an integer >= 2/)
})

void t.test('chain header: taken apart from the parsed metadata the client hands back, only in its exact shape', async (t) => {
  const integrity = { prev: GENESIS_HASH, hash: 'a'.repeat(64) }
  t.same(unwrapStoredMetadata({ integrity, meta: { correlationId: 'c' } }), { metadata: { correlationId: 'c' }, integrity })
  t.same(unwrapStoredMetadata({ integrity, meta: null }), { metadata: null, integrity }, 'absent metadata stays null')
  t.same(unwrapStoredMetadata({ correlationId: 'c' }), { metadata: { correlationId: 'c' }, integrity: undefined }, 'an event from before the chain')
  t.same(unwrapStoredMetadata({ integrity, meta: 1, extra: true }), { metadata: { integrity, meta: 1, extra: true }, integrity: undefined }, 'other keys: not a header')
  t.same(unwrapStoredMetadata({ integrity: { prev: 1, hash: 2 }, meta: 1 }).integrity, undefined, 'hashes must be text')
  t.same(unwrapStoredMetadata(null), { metadata: null, integrity: undefined })
})
