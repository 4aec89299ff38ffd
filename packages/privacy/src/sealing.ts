/**
 * Sealed events: which fields of which case event are personal (the table in docs/privacy.md), how
 * they are sealed when an event is appended and opened when it is read, and the event store
 * wrapper that does both, so a service works with plain events while the log, the topics and every
 * copy of them hold only ciphertext.
 *
 * - **Append**: an event of a type with personal fields is stored at schema version 2 with those
 *   fields sealed under the case's data key (made durable first, see `KeyStore.keyFor`). The
 *   coordinates are sealed together as `location.point`. An event appended to a case whose data was
 *   already erased keeps none of its personal text: the fields read "kişisel veri silindi".
 * - **Read**: a version-2 record is opened with the case's key. A destroyed key (erasure) makes each
 *   field read "kişisel veri silindi" and drops the contact addresses and coordinates, so nothing is
 *   ever sent to an erased person; a key that cannot be read makes them read "kişisel veri şu an
 *   okunamıyor"; a view never fails over it. Version-1 records (written before sealing) pass as they
 *   are: that is their upcast, and why they cannot be shredded.
 * - What leaves the process (the relay's messages, dead letters) takes the record as stored
 *   (`storedFormOf` in the event-store port).
 */
import { LRUCache } from 'lru-cache'
import { ERASED_PERSONAL_TEXT, UNAVAILABLE_PERSONAL_TEXT } from '@civic-desk/contracts'
import { RECORD_VARIANT, STORED_FORM, type EventStore, type EventToAppend, type RecordedEvent, type RewrittenRecord } from '@civic-desk/event-store'
import { SealedValueError, isSealed, openField, sealField } from './cipher.ts'
import { DataKeyDestroyedError, type DataKeyLookup, type KeyStore, type SubjectIdentifier } from './key-store.ts'

/** Schema version of an event whose personal fields are sealed. */
export const SEALED_SCHEMA_VERSION = 2

/**
 * The personal fields of each event type, as paths into its data; `fields.*` is every string value
 * of a workflow step's fields. `location.point` (the coordinates) is handled on its own.
 */
export const PERSONAL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // `answers.*`: every text answer to the category's questions (a free-text answer can name anyone);
  // numbers and the keys of a multivaluelist stay clear.
  CaseSubmitted: ['description', 'externalId', 'citizen.name', 'citizen.phone', 'citizen.email', 'location.address', 'answers.*'],
  CaseDuplicateUnlinked: ['reason'],
  CaseWorkStarted: ['note'],
  CaseNoteAdded: ['text'],
  CitizenInfoRequested: ['question'],
  CitizenReplied: ['text'],
  CaseTransferred: ['reason'],
  CaseResolved: ['resolution'],
  CaseRejected: ['reason'],
  CaseClosed: ['reason'],
  CaseReopened: ['reason', 'beyondLimit.reason'],
  CitizenNotified: ['to'],
  NotificationFailed: ['to', 'error.message'],
  WorkflowStepRecorded: ['fields.*'],
}

/** Fields that are left out, not marked, when they cannot be opened: an address to send to, an id, coordinates. */
const DROPPED_WHEN_CLOSED: ReadonlySet<string> = new Set(['externalId', 'citizen.phone', 'citizen.email', 'location.point'])

const POINT = 'location.point'

/** True when events of this type carry personal fields. */
export function hasPersonalFields(type: string): boolean {
  return Object.hasOwn(PERSONAL_FIELDS, type)
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Calls `visit` for each string-valued personal field of the data: with its path and a setter (undefined removes it). */
function eachPersonalString(type: string, data: Json, visit: (path: string, value: string, set: (next: string | undefined) => void) => void): void {
  for (const path of PERSONAL_FIELDS[type] ?? []) {
    const parts = path.split('.')
    const leaf = parts.pop() as string
    let holder: unknown = data
    for (const part of parts) holder = isObject(holder) ? holder[part] : undefined
    if (!isObject(holder)) continue
    const target = holder
    const keys = leaf === '*' ? Object.keys(target) : [leaf]
    for (const key of keys) {
      const value = target[key]
      if (typeof value !== 'string') continue
      const fieldPath = leaf === '*' ? `${parts.join('.')}.${key}` : path
      visit(fieldPath, value, (next) => {
        if (next === undefined) delete target[key]
        else target[key] = next
      })
    }
  }
}

/** A deep copy of plain JSON data (event data is plain JSON). */
const copy = (data: unknown): Json => (isObject(data) ? (structuredClone(data) as Json) : {})

/**
 * The data with its personal fields sealed under the case's key; with no key (the case's data was
 * erased) the personal fields are replaced as an erased case reads them, so nothing personal is kept.
 */
export function sealEventData(type: string, data: unknown, caseId: string, key: Buffer | null): Json {
  const sealed = copy(data)
  if (!hasPersonalFields(type)) return sealed
  eachPersonalString(type, sealed, (path, value, set) => {
    if (isSealed(value)) return // sealed before (a retried append)
    set(key === null ? closedValue(path, 'erased') : sealField(key, caseId, path, value))
  })
  const location = sealed['location']
  if (type === 'CaseSubmitted' && isObject(location) && typeof location['lat'] === 'number' && typeof location['lon'] === 'number') {
    const { lat, lon } = location
    delete location['lat']
    delete location['lon']
    if (key !== null) location['point'] = sealField(key, caseId, POINT, JSON.stringify([lat, lon]))
  }
  return sealed
}

/**
 * The data as an erased case reads it, whatever form its personal fields are in (sealed, opened, or
 * clear in a version-1 event): each reads "kişisel veri silindi", or is gone where a marker would
 * mislead (addresses to write to, ids, coordinates).
 */
export function erasedEventData(type: string, data: unknown): Json {
  const erased = copy(data)
  if (!hasPersonalFields(type)) return erased
  eachPersonalString(type, erased, (path, _value, set) => set(closedValue(path, 'erased')))
  const location = erased['location']
  if (isObject(location)) {
    delete location['lat']
    delete location['lon']
    delete location['point']
  }
  return erased
}

/** What a closed field reads as: dropped for addresses, ids and coordinates; else the erased or unavailable text. */
function closedValue(path: string, why: 'erased' | 'unavailable'): string | undefined {
  if (DROPPED_WHEN_CLOSED.has(path)) return undefined
  return why === 'erased' ? ERASED_PERSONAL_TEXT : UNAVAILABLE_PERSONAL_TEXT
}

/** How an event's personal fields came out when opened. */
export type OpeningVariant = 'open' | 'erased' | 'unavailable'

/**
 * The data with its sealed fields opened under the case's key (`lookup`), or marked erased /
 * unavailable when they cannot be. A field that does not open under an active key (damaged bytes)
 * reads as unavailable on its own.
 */
export function openEventData(type: string, data: unknown, caseId: string, lookup: DataKeyLookup): { readonly data: Json; readonly variant: OpeningVariant } {
  const opened = copy(data)
  let variant: OpeningVariant = lookup.state === 'active' ? 'open' : lookup.state === 'destroyed' ? 'erased' : 'unavailable'
  const open = (path: string, value: string): string | undefined => {
    if (lookup.state === 'destroyed') return closedValue(path, 'erased')
    if (lookup.state === 'none') return closedValue(path, 'unavailable')
    try {
      return openField(lookup.key, caseId, path, value)
    } catch (error) {
      if (!(error instanceof SealedValueError)) throw error
      variant = 'unavailable'
      return closedValue(path, 'unavailable')
    }
  }
  eachPersonalString(type, opened, (path, value, set) => {
    if (isSealed(value)) set(open(path, value))
  })
  const location = opened['location']
  if (isObject(location) && isSealed(location['point'])) {
    const point = open(POINT, location['point'])
    delete location['point']
    const parsed: unknown = point === undefined ? undefined : JSON.parse(point)
    if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'number') {
      location['lat'] = parsed[0]
      location['lon'] = parsed[1]
    }
  }
  return { data: opened, variant }
}

/**
 * Every personal value of one (opened) event's data, with its field: what a data-subject access
 * answer lists. The coordinates come as one `location.point` value.
 */
export function personalValuesOf(type: string, data: unknown): Array<{ readonly field: string; readonly value: unknown }> {
  const out: Array<{ field: string; value: unknown }> = []
  if (!isObject(data)) return out
  eachPersonalString(type, data, (field, value) => void out.push({ field, value }))
  const location = data['location']
  if (type === 'CaseSubmitted' && isObject(location) && typeof location['lat'] === 'number' && typeof location['lon'] === 'number') {
    out.push({ field: POINT, value: { lat: location['lat'], lon: location['lon'] } })
  }
  return out
}

/** The applicant's phone number and e-mail address in a submission's data (plain), for the subject index. */
export function subjectsOfSubmission(data: unknown): SubjectIdentifier[] {
  const citizen = isObject(data) ? data['citizen'] : undefined
  if (!isObject(citizen)) return []
  const subjects: SubjectIdentifier[] = []
  if (typeof citizen['phone'] === 'string') subjects.push({ kind: 'phone', value: citizen['phone'] })
  if (typeof citizen['email'] === 'string') subjects.push({ kind: 'email', value: citizen['email'] })
  return subjects
}

const versionOf = (metadata: unknown): unknown => (isObject(metadata) ? metadata['schemaVersion'] : undefined)

/** Opens one case's records: one key lookup for the lot. Records without sealed fields come back as they are. */
async function openCaseRecords(keys: KeyStore, opened: OpenedData, caseId: string, records: readonly RecordedEvent[]): Promise<RecordedEvent[]> {
  let lookup: DataKeyLookup | undefined
  const out: RecordedEvent[] = []
  for (const record of records) {
    if (versionOf(record.metadata) !== SEALED_SCHEMA_VERSION || !hasPersonalFields(record.type)) {
      out.push(record)
      continue
    }
    lookup ??= await keys.lookup(caseId)
    // Readers read the same young streams again and again: an event opened under the case's key is
    // opened once, and used again only while that key is still there (never after an erasure).
    let data = lookup.state === 'active' ? opened.get(record.id) : undefined
    let variant: OpeningVariant = 'open'
    if (data === undefined) {
      const result = openEventData(record.type, record.data, caseId, lookup)
      data = result.data
      variant = result.variant
      // Shared by every later read: frozen, so no reader can change what the next one gets.
      if (variant === 'open') opened.set(record.id, deepFreeze(data))
    }
    const rewritten: RewrittenRecord = { ...record, data, [STORED_FORM]: record, [RECORD_VARIANT]: variant }
    out.push(rewritten)
  }
  return out
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** Opened event data by event id, bounded; an entry is used only while the case's key is active. */
type OpenedData = LRUCache<string, Json>

/**
 * The key store with the keys it hands out kept in memory for a while (`ttlMs`, default 30 s), so
 * that reading a case does not cost a key-store read and an unwrap each time: every read of the log
 * opens records. A destroyed key is remembered for good (it never comes back); `destroy` through
 * this store forgets the cached keys at once. Another process (or thread) may keep opening an
 * erased case's events for at most `ttlMs`: the case fold (`PersonalDataErased`) and the notifier's
 * check of it make sure no view and no message shows the person in that window.
 */
export function cachingKeyStore(keys: KeyStore, options: { readonly ttlMs?: number; readonly max?: number } = {}): KeyStore {
  const ttlMs = options.ttlMs ?? 30_000
  const max = options.max ?? 50_000
  const cache = new Map<string, { readonly lookup: DataKeyLookup; readonly until: number }>()
  const remember = (caseId: string, lookup: DataKeyLookup): void => {
    if (lookup.state === 'none') return
    if (cache.size >= max) cache.delete(cache.keys().next().value as string)
    cache.set(caseId, { lookup, until: lookup.state === 'destroyed' ? Number.POSITIVE_INFINITY : Date.now() + ttlMs })
  }
  return {
    get masterFingerprint() {
      return keys.masterFingerprint
    },
    async keyFor(caseId, subjects = []) {
      if (subjects.length === 0) {
        const hit = cache.get(caseId)
        if (hit !== undefined && hit.until > Date.now() && hit.lookup.state === 'active') return hit.lookup.key
      }
      const key = await keys.keyFor(caseId, subjects)
      remember(caseId, { state: 'active', key })
      return key
    },
    async lookup(caseId) {
      const hit = cache.get(caseId)
      if (hit !== undefined && hit.until > Date.now()) return hit.lookup
      const found = await keys.lookup(caseId)
      remember(caseId, found)
      return found
    },
    async destroy(caseIds, destructionId, at) {
      for (const caseId of caseIds) cache.delete(caseId)
      return keys.destroy(caseIds, destructionId, at)
    },
    subjectHash: (subject) => keys.subjectHash(subject),
    addSubjects: (caseId, subjects) => keys.addSubjects(caseId, subjects),
    casesOf: (subject) => keys.casesOf(subject),
    async rotateMasterKey(next, onProgress) {
      cache.clear()
      return keys.rotateMasterKey(next, onProgress)
    },
    close: () => keys.close(),
  }
}

export interface SealingStoreOptions {
  /** The case a stream belongs to; null for a stream that is not a case's (passed through untouched). */
  readonly caseIdOf: (streamId: string) => string | null
  /** How many opened events are kept to be handed out again (default 20,000). */
  readonly openedCacheSize?: number
  readonly logger?: { warn(obj: object, msg: string): void }
}

/**
 * The event store as services use it under KVKK: personal fields sealed on append, opened on read
 * (see the module comment). The inner store is what the relay and the dashboards read: ciphertext.
 */
export function sealingEventStore(inner: EventStore, keys: KeyStore, options: SealingStoreOptions): EventStore {
  const opened: OpenedData = new LRUCache({ max: options.openedCacheSize ?? 20_000 })
  const openRecords = async (records: readonly RecordedEvent[]): Promise<RecordedEvent[]> => {
    if (!records.some((r) => versionOf(r.metadata) === SEALED_SCHEMA_VERSION && hasPersonalFields(r.type))) return [...records]
    // One key lookup per case, the records kept in their order.
    const byCase = new Map<string, RecordedEvent[]>()
    for (const r of records) {
      const caseId = options.caseIdOf(r.streamId)
      if (caseId === null) continue
      let list = byCase.get(caseId)
      if (list === undefined) byCase.set(caseId, (list = []))
      list.push(r)
    }
    const openedRecords = new Map<RecordedEvent, RecordedEvent>()
    for (const [caseId, list] of byCase) {
      const done = await openCaseRecords(keys, opened, caseId, list)
      list.forEach((r, i) => openedRecords.set(r, done[i] as RecordedEvent))
    }
    return records.map((r) => openedRecords.get(r) ?? r)
  }

  const sealFor = async (caseId: string, events: readonly EventToAppend[]): Promise<EventToAppend[]> => {
    const unsealed = (e: EventToAppend): boolean => hasPersonalFields(e.type) && versionOf(e.metadata) !== SEALED_SCHEMA_VERSION
    const personal = events.filter(unsealed)
    if (personal.length === 0) return [...events]
    // The applicant's phone and e-mail go into the subject index in the commit that makes the key.
    const subjects = events.filter((e) => e.type === 'CaseSubmitted').flatMap((e) => subjectsOfSubmission(e.data))
    let key: Buffer | null
    try {
      key = await keys.keyFor(caseId, subjects)
    } catch (error) {
      if (!(error instanceof DataKeyDestroyedError)) throw error
      // The case's personal data was erased: what staff write now is not kept either.
      options.logger?.warn({ caseId, types: personal.map((e) => e.type) }, 'personal data of this case was erased; the personal fields of the new events are not stored')
      key = null
    }
    return events.map((e) =>
      unsealed(e)
        ? { ...e, data: sealEventData(e.type, e.data, caseId, key), metadata: { ...(isObject(e.metadata) ? e.metadata : {}), schemaVersion: SEALED_SCHEMA_VERSION } }
        : e,
    )
  }

  return {
    async append(streamId, events, appendOptions) {
      const caseId = options.caseIdOf(streamId)
      return inner.append(streamId, caseId === null ? events : await sealFor(caseId, events), appendOptions)
    },
    async readStream(streamId, readOptions) {
      return openRecords(await inner.readStream(streamId, readOptions))
    },
    async readAll(readOptions) {
      return openRecords(await inner.readAll(readOptions))
    },
    subscribeToAll(subscribeOptions, handler) {
      return inner.subscribeToAll(subscribeOptions, async (record) => {
        const [opened] = await openRecords([record])
        await handler(opened as RecordedEvent)
      })
    },
    headPosition: () => inner.headPosition(),
    close: () => inner.close(),
  }
}

/**
 * Opens the event of a `civic.case-events.v1` message (distributed mode: the relay publishes the
 * stored, sealed form) for a consumer that needs the personal data.
 */
export function caseEventOpener(keys: KeyStore): (caseId: string, envelope: Readonly<Record<string, unknown>>) => Promise<{ readonly envelope: Readonly<Record<string, unknown>>; readonly variant: OpeningVariant | undefined }> {
  return async (caseId, envelope) => {
    const type = typeof envelope['type'] === 'string' ? envelope['type'] : ''
    if (envelope['schemaVersion'] !== SEALED_SCHEMA_VERSION || !hasPersonalFields(type)) return { envelope, variant: undefined }
    const { data, variant } = openEventData(type, envelope['data'], caseId, await keys.lookup(caseId))
    return { envelope: { ...envelope, data }, variant }
  }
}
