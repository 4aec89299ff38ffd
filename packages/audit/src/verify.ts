/**
 * The offline verifier: a whole store (every stream's chain, the Merkle tree rebuilt from the
 * events, every signed checkpoint against it) or one case's bundle. It stops at the first problem
 * and names it: which stream and revision (or global position), and what differs.
 */
import type { KeyObject } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { GENESIS_HASH, eventHash, unwrapMetadata, type BulkLog, type StoredRow } from '@civic-desk/event-store'
import { AuditBundle, type BundleEvent } from './bundle.ts'
import { RangeChecker, revisionProblem, short, whereOf, type RangePage, type RangeProblem, type RangeSummary, type StreamEntry } from './range-check.ts'
import { Checkpoint, checkpointSignatureProblem, keyIdOf, logIdOf, publicKeyFromPem } from './checkpoint.ts'
import { MerkleTree, verifyInclusion } from './merkle.ts'

/** The first problem found; `where` names the event or checkpoint. */
export class AuditProblem extends Error {
  override readonly name = 'AuditProblem'
  constructor(
    readonly where: string,
    readonly what: string,
  ) {
    super(`${where}: ${what}`)
  }
}

/** How far a store's recorded times may run ahead of the checkpoint that covers them (two clocks). */
export const CLOCK_SKEW_MS = 120_000

export interface StoreVerification {
  readonly events: number
  readonly streams: number
  readonly checkpoints: number
  /** Events stored before the chain existed (no header; linked by their computed hash). */
  readonly unchained: number
  /** Events (checkpoints aside) after the newest checkpoint's coverage: chained, not yet under a signature. */
  readonly uncovered: number
  readonly lastCheckpoint: Checkpoint | undefined
  readonly logId: string | undefined
  /** Whether checkpoint signatures were checked (a public key was given or found). */
  readonly signaturesChecked: boolean
  readonly pinned: number
  readonly seconds: number
}

export interface VerifyStoreOptions {
  readonly publicKey?: KeyObject | undefined
  /** Checkpoints kept outside the store (printed, e-mailed): the store must still extend each. */
  readonly pinned?: readonly Checkpoint[]
  readonly onProgress?: (done: number, total: number) => void
  readonly pageSize?: number
  /** Threads that read and hash ranges of the log side by side; default 2 (or the cores, if fewer). */
  readonly threads?: number
}

/** One range's thread: its messages in order, acknowledged page by page (the thread stays a few pages ahead). */
interface RangeThread {
  next(): Promise<RangeMessage>
  ack(): void
  stop(): Promise<void>
}

type RangeMessage =
  | { readonly kind: 'page'; readonly page: RangePage }
  | { readonly kind: 'problem'; readonly problem: RangeProblem; readonly summary: RangeSummary }
  | { readonly kind: 'done'; readonly summary: RangeSummary }

/** The first range's share of the log against another range's 1: this thread also builds the tree. */
const FIRST_RANGE_WEIGHT = 0.6

/** A range read in this thread, a page at a time as the tree asks for it. */
function readRangeHere(log: BulkLog, after: number, until: number, pageSize: number): RangeThread {
  const checker = new RangeChecker(after)
  let from = after
  /** What comes after the page that held a problem: the problem itself. */
  let last: RangeMessage | undefined
  return {
    async next() {
      if (last !== undefined) return last
      const rows = await log.readRows(from, until, pageSize)
      if (rows.length === 0) {
        last = { kind: 'done', summary: checker.summary() }
        return last
      }
      const { page, problem } = checker.page(rows)
      if (problem !== undefined) last = { kind: 'problem', problem, summary: checker.summary() }
      from = rows.at(-1)![0]
      return { kind: 'page', page }
    },
    ack: () => undefined,
    stop: async () => undefined,
  }
}

function startRange(log: BulkLog, after: number, until: number, pageSize: number): RangeThread {
  const worker = new Worker(new URL('./verify-range.worker.mjs', import.meta.url), {
    workerData: { location: log.opened.location, defaultSchema: log.opened.defaultSchema, after, until, pageSize },
    // Every row makes a few short-lived strings of a kilobyte: a larger young generation collects
    // them in fewer pauses (as bench:projections' --max-semi-space-size).
    resourceLimits: { maxYoungGenerationSizeMb: 96 },
  })
  const queue: RangeMessage[] = []
  let failure: Error | undefined
  let waiting: (() => void) | undefined
  let exited = false
  worker.on('message', (message: RangeMessage) => {
    queue.push(message)
    waiting?.()
  })
  worker.on('error', (error) => {
    failure = error
    waiting?.()
  })
  worker.on('exit', (code) => {
    exited = true
    if (code !== 0) failure ??= new Error(`a verifier thread stopped with exit code ${code}`)
    waiting?.()
  })
  return {
    async next() {
      for (;;) {
        const message = queue.shift()
        if (message !== undefined) return message
        if (failure !== undefined) throw failure
        if (exited) throw new Error('a verifier thread ended before its range was read')
        await new Promise<void>((resolve) => (waiting = resolve))
      }
    },
    ack: () => worker.postMessage('ack'),
    async stop() {
      if (!exited) await worker.terminate()
    },
  }
}

/**
 * The store's log id is derived from its first event (logIdOf), so a store whose first event was
 * rewritten (its stream rechained) or deleted with its stream shows every checkpoint as "another
 * log's": the message says both.
 */
const FIRST_EVENT_NOTE = ' ya da deponun ilk olayı değiştirilmiş ya da silinmiş (günlük kimliği ilk olaydan türetilir)'

/** Checks a store's rows (the bytes as stored) from the first to the newest. */
export async function verifyStore(log: BulkLog, options: VerifyStoreOptions = {}): Promise<StoreVerification> {
  const started = performance.now()
  const head = await log.head()
  // For the progress line only: positions are numbered without gaps in SQLite and PostgreSQL.
  const total = head
  const pageSize = options.pageSize ?? 5000
  const tree = new MerkleTree()
  const positions: number[] = []
  // The latest recorded time among the first n events, for each n (checked against checkpoint times).
  let recordedMax = new Float64Array(1024)
  // Events other than checkpoints among the first n + 1 (the uncovered tail is counted in them).
  let ordinaryCount = new Float64Array(1024)
  let ordinary = 0
  let unchained = 0
  let checkpoints = 0
  let lastCheckpoint: Checkpoint | undefined
  let logId: string | undefined
  const publicKey = options.publicKey
  const keyId = publicKey === undefined ? undefined : keyIdOf(publicKey)

  const checkCheckpoint = (row: StoredRow, index: number): void => {
    const where = `kontrol noktası #${row.revision} (konum ${row.position})`
    let parsed: ReturnType<typeof Checkpoint.safeParse>
    try {
      parsed = Checkpoint.safeParse(JSON.parse(row.data))
    } catch {
      throw new AuditProblem(where, 'verisi JSON değil')
    }
    if (!parsed.success) throw new AuditProblem(where, `biçimi bozuk (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`)
    const c = parsed.data
    if (c.logId !== logId) throw new AuditProblem(where, `başka bir günlüğe ait (günlük kimliği ${c.logId}, bu deponun ${logId ?? '—'})${FIRST_EVENT_NOTE}`)
    if (publicKey !== undefined) {
      const problem = checkpointSignatureProblem(c, publicKey)
      if (problem !== undefined) throw new AuditProblem(where, `imzası geçersiz: ${translateSignatureProblem(problem, c.keyId, keyId)}`)
    }
    if (c.treeSize > index) throw new AuditProblem(where, `${c.treeSize} olayı kapsadığını söylüyor, ama ondan önce depoda yalnızca ${index} olay var: olaylar silinmiş (kuyruk kesilmiş ya da aradan olay çıkarılmış)`)
    const root = tree.root(c.treeSize).toString('hex')
    if (root !== c.rootHash) {
      throw new AuditProblem(where, `ilk ${c.treeSize} olayın Merkle kökü ${short(root)}, imzalı kök ${short(c.rootHash)}: kapsadığı olaylardan biri imzadan sonra değiştirilmiş, silinmiş, araya eklenmiş ya da yer değiştirmiş`)
    }
    if (positions[c.treeSize - 1] !== c.lastPosition) throw new AuditProblem(where, `son kapsadığı olayın konumu ${c.lastPosition} diyor, depoda ${positions[c.treeSize - 1] ?? '—'}`)
    if (lastCheckpoint !== undefined) {
      if (c.treeSize < lastCheckpoint.treeSize) throw new AuditProblem(where, `bir öncekinden (${lastCheckpoint.treeSize}) daha az olay kapsıyor`)
      if (Date.parse(c.issuedAt) < Date.parse(lastCheckpoint.issuedAt)) throw new AuditProblem(where, `zamanı (${c.issuedAt}) bir öncekinden (${lastCheckpoint.issuedAt}) önce`)
    }
    const latestRecorded = recordedMax[c.treeSize - 1]!
    if (latestRecorded > Date.parse(c.issuedAt) + CLOCK_SKEW_MS) {
      throw new AuditProblem(where, `kapsadığı bir olayın kayıt zamanı (${new Date(latestRecorded).toISOString()}) imza zamanından (${c.issuedAt}) sonra: kayıt zamanları değiştirilmiş`)
    }
    checkpoints += 1
    lastCheckpoint = c
  }

  /** Each stream's last revision and link in the ranges read so far. */
  const joined = new Map<string, { revision: number; link: string }>()

  /** The tree's side of one page: leaves in order, each checkpoint checked as soon as its own leaf is in. */
  const addPage = (page: RangePage, recordedBefore: number): void => {
    let next = 0
    let nextEntry = 0
    for (let i = 0; i < page.count; i++) {
      // A stream whose earlier events were in an earlier range (all read by now): joined here, in order.
      for (let entry = page.entries[nextEntry]; entry !== undefined && entry.at === i; entry = page.entries[++nextEntry]) join(entry.entry)
      const index = tree.appendLeafHash(page.leaves.subarray(i * 32, i * 32 + 32))
      if (index === 0) logId = logIdOf(page.firstLink ?? '')
      positions.push(page.positions[i]!)
      if (index >= recordedMax.length) {
        recordedMax = grown(recordedMax)
        ordinaryCount = grown(ordinaryCount)
      }
      recordedMax[index] = Math.max(recordedBefore, page.recorded[i]!)
      const checkpoint = page.checkpoints[next]
      if (checkpoint !== undefined && checkpoint.at === i) {
        next += 1
        ordinaryCount[index] = ordinary
        checkCheckpoint(checkpoint.row, index)
      } else {
        ordinary += 1
        ordinaryCount[index] = ordinary
      }
    }
    // The row a range stopped at: its join is checked first (a missing revision explains a hash that differs).
    for (let entry = page.entries[nextEntry]; entry !== undefined; entry = page.entries[++nextEntry]) join(entry.entry)
  }

  /** The ranges before are complete: their last event of the stream must be the one this event follows. */
  const join = ([streamId, revision, prev, position]: StreamEntry): void => {
    const where = whereOf({ streamId, revision, position })
    const before = joined.get(streamId)
    const expected = before === undefined ? 0 : before.revision + 1
    if (revision !== expected) throw new AuditProblem(where, revisionProblem(expected, revision))
    if (prev !== null && before !== undefined && prev !== before.link) {
      throw new AuditProblem(where, `önceki olay özeti ${short(prev)} diyor, ama akışın önceki olayının özeti ${short(before.link)}: önceki olay değiştirilmiş, silinmiş ya da bu olay başka yerden taşınmış`)
    }
  }

  // The log is cut into ranges of positions, one thread each: they read and hash (the costly part)
  // side by side while this thread builds the tree; streams crossing a range boundary are joined here.
  // The first range is read here, in this thread, which also builds the tree: it gets a smaller share.
  const threads = Math.max(1, Math.min(options.threads ?? Math.min(2, availableParallelism()), 8))
  const weights = Array.from({ length: threads }, (_, k) => (k === 0 ? FIRST_RANGE_WEIGHT : 1))
  const totalWeight = weights.reduce((a, b) => a + b, 0)
  const bounds = [0]
  for (let k = 0, sum = 0; k < threads; k++) {
    sum += weights[k]!
    bounds.push(k === threads - 1 ? head : Math.floor((head * sum) / totalWeight))
  }
  const workers = bounds.slice(0, -1).map((after, k) => (k === 0 ? readRangeHere(log, after, bounds[k + 1]!, pageSize) : startRange(log, after, bounds[k + 1]!, pageSize)))
  let done = 0
  let nextReport = 100_000
  let chainedBefore: number | null = null
  try {
    for (const range of workers) {
      const recordedBefore = recordedMax[Math.max(0, tree.size - 1)] ?? 0
      for (;;) {
        const message = await range.next()
        if (message.kind === 'page') {
          addPage(message.page, tree.size === 0 ? 0 : recordedBefore)
          range.ack()
          done += message.page.count
          if (done >= nextReport) {
            options.onProgress?.(done, total)
            nextReport += 100_000
          }
          continue
        }
        const summary = message.summary
        if (message.kind === 'problem') throw new AuditProblem(message.problem.where, message.problem.what)
        if (summary.firstUnchained !== null && chainedBefore !== null) {
          throw new AuditProblem(`konum ${summary.firstUnchained}`, 'bütünlük başlığı yok, oysa zincir daha önce başlamış: başlık silinmiş ya da olay sonradan eklenmiş')
        }
        chainedBefore ??= summary.firstChained
        unchained += summary.unchained
        for (const [streamId, revision, link] of summary.exits) joined.set(streamId, { revision, link })
        break
      }
    }
  } finally {
    await Promise.all(workers.map((range) => range.stop()))
  }
  options.onProgress?.(done, total)
  const streamCount = joined.size

  for (const [i, pinned] of (options.pinned ?? []).entries()) {
    const where = `sabitlenmiş kontrol noktası ${i + 1} (${pinned.treeSize} olay, ${pinned.issuedAt})`
    if (publicKey !== undefined) {
      const problem = checkpointSignatureProblem(pinned, publicKey)
      if (problem !== undefined) throw new AuditProblem(where, `imzası geçersiz: ${translateSignatureProblem(problem, pinned.keyId, keyId)}`)
    }
    if (logId !== undefined && pinned.logId !== logId) throw new AuditProblem(where, `başka bir günlüğe ait (günlük kimliği ${pinned.logId}, bu deponun ${logId})${FIRST_EVENT_NOTE}`)
    if (pinned.treeSize > tree.size) throw new AuditProblem(where, `${pinned.treeSize} olayı kapsıyordu, depoda şimdi ${tree.size} olay var: günlüğün sonu kesilmiş`)
    const root = tree.root(pinned.treeSize).toString('hex')
    if (root !== pinned.rootHash) throw new AuditProblem(where, `depodaki ilk ${pinned.treeSize} olayın kökü ${short(root)}, sabitlenen kök ${short(pinned.rootHash)}: o tarihten önceki olaylar değiştirilmiş`)
  }

  return {
    events: tree.size,
    streams: streamCount,
    checkpoints,
    unchained,
    uncovered: ordinary - (lastCheckpoint === undefined ? 0 : ordinaryCount[lastCheckpoint.treeSize - 1]!),
    lastCheckpoint,
    logId,
    signaturesChecked: publicKey !== undefined,
    pinned: options.pinned?.length ?? 0,
    seconds: (performance.now() - started) / 1000,
  }
}

function grown(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2)
  bigger.set(array)
  return bigger
}

function translateSignatureProblem(problem: string, signedBy: string, expected: string | undefined): string {
  if (problem.startsWith('it was signed by key')) return `${signedBy} anahtarıyla imzalanmış, bu günlüğün anahtarı ${expected ?? '—'}`
  return 'imza içerikle (olay sayısı, kök, konum, zaman ya da günlük) uyuşmuyor'
}

export interface BundleVerification {
  readonly caseId: string
  readonly streamId: string
  readonly events: number
  readonly checkpoint: Checkpoint
  readonly keyId: string
  /** Whether the key was given by the caller (pinned) rather than taken from the bundle. */
  readonly keyPinned: boolean
}

/** Checks one case's bundle (parsed JSON) with nothing but itself and, optionally, a pinned key. */
export function verifyBundle(input: unknown, options: { readonly publicKey?: KeyObject | undefined } = {}): BundleVerification {
  const parsed = AuditBundle.safeParse(input)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new AuditProblem('denetim paketi', `biçimi tanınmıyor (${issue?.path.join('.') || 'kök'}: ${issue?.message ?? ''}); GET /v1/cases/{caseId}/audit-bundle ile indirilen dosyayı verin`)
  }
  const bundle = parsed.data
  const bundleKey = publicKeyFromPem(bundle.log.publicKey, 'the bundle public key')
  const key = options.publicKey ?? bundleKey
  const keyId = keyIdOf(key)
  if (keyIdOf(bundleKey) !== bundle.log.keyId) throw new AuditProblem('denetim paketi', `içindeki açık anahtarın kimliği ${keyIdOf(bundleKey)}, paketin yazdığı ${bundle.log.keyId}`)
  const c = bundle.checkpoint
  const problem = checkpointSignatureProblem(c, key)
  if (problem !== undefined) throw new AuditProblem(`kontrol noktası (${c.treeSize} olay, ${c.issuedAt})`, `imzası geçersiz: ${translateSignatureProblem(problem, c.keyId, keyId)}`)
  if (c.logId !== bundle.log.logId) throw new AuditProblem('kontrol noktası', `başka bir günlüğe ait (${c.logId}, paketin günlüğü ${bundle.log.logId})`)
  const root = Buffer.from(c.rootHash, 'hex')
  let prev = GENESIS_HASH
  bundle.events.forEach((event: BundleEvent, i: number) => {
    const where = `${bundle.streamId} akışı, sıra ${event.revision} (konum ${event.position})`
    if (event.revision !== i) throw new AuditProblem(where, `pakette ${i}. sırada olmalıydı: olaylar eksik ya da yer değiştirmiş`)
    const unwrapped = unwrapMetadata(event.metadata)
    let link: string
    if (unwrapped === undefined) {
      link = eventHash(bundle.streamId, event.revision, event.eventId, event.type, GENESIS_HASH, event.data, event.metadata)
    } else {
      if (unwrapped.prev !== prev) throw new AuditProblem(where, `önceki olay özeti ${short(unwrapped.prev)} diyor, ama önceki olayın özeti ${short(prev)}`)
      link = eventHash(bundle.streamId, event.revision, event.eventId, event.type, unwrapped.prev, event.data, unwrapped.meta)
      if (link !== unwrapped.hash) throw new AuditProblem(where, `içeriğin özeti ${short(link)}, kayıtlı özet ${short(unwrapped.hash)}: verisi ya da üst verisi değiştirilmiş`)
    }
    if (link !== event.hash) throw new AuditProblem(where, `paketin yazdığı özet ${short(event.hash)}, içeriğin özeti ${short(link)}`)
    if (event.leafIndex >= c.treeSize || event.position > c.lastPosition) throw new AuditProblem(where, `kontrol noktasının kapsamı dışında (${c.treeSize} olay, son konum ${c.lastPosition})`)
    if (!verifyInclusion(event.leafIndex, c.treeSize, Buffer.from(link, 'hex'), event.inclusionProof.map((node: string) => Buffer.from(node, 'hex')), root)) {
      throw new AuditProblem(where, `imzalı kontrol noktasının ağacına dahil olduğu kanıtlanamıyor (kanıt ya da olay değiştirilmiş)`)
    }
    prev = link
  })
  if (bundle.streamId !== `case-${bundle.caseId}`) throw new AuditProblem('denetim paketi', `akış ${bundle.streamId}, başvuru ${bundle.caseId} ile uyuşmuyor`)
  return { caseId: bundle.caseId, streamId: bundle.streamId, events: bundle.events.length, checkpoint: c, keyId, keyPinned: options.publicKey !== undefined }
}
