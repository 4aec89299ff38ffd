/**
 * The offline verifier: a whole store (every stream's chain, the Merkle tree rebuilt from the
 * events, every signed checkpoint against it) or one case's bundle. It stops at the first problem
 * and names it: which stream and revision (or global position), and what differs.
 */
import type { KeyObject } from 'node:crypto'
import { GENESIS_HASH, eventHash, unwrapMetadata, type BulkLog, type StoredRow } from '@civic-desk/event-store'
import { AuditBundle, type BundleEvent } from './bundle.ts'
import { CHECKPOINT_EVENT_TYPE, CHECKPOINT_STREAM, Checkpoint, checkpointSignatureProblem, keyIdOf, logIdOf, publicKeyFromPem } from './checkpoint.ts'
import { MerkleTree, leafHash, verifyInclusion } from './merkle.ts'

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
}

const short = (hash: string): string => `${hash.slice(0, 16)}…`

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
  const total = await log.count(head)
  const pageSize = options.pageSize ?? 5000
  const tree = new MerkleTree()
  const positions: number[] = []
  const streams = new Map<string, { revision: number; link: string }>()
  // The latest recorded time among the first n events, for each n (checked against checkpoint times).
  let recordedMax = new Float64Array(1024)
  // Events other than checkpoints among the first n + 1 (the uncovered tail is counted in them).
  let ordinaryCount = new Float64Array(1024)
  let ordinary = 0
  let runningMax = 0
  let chainStarted = false
  let unchained = 0
  let checkpoints = 0
  let lastCheckpoint: Checkpoint | undefined
  let logId: string | undefined
  let lastPosition = 0
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

  const checkRow = (row: StoredRow): void => {
    const where = `${row.streamId} akışı, sıra ${row.revision} (konum ${row.position})`
    if (row.position <= lastPosition) throw new AuditProblem(where, `konumu bir öncekinden (${lastPosition}) büyük değil`)
    lastPosition = row.position
    const stream = streams.get(row.streamId)
    const expectedRevision = stream === undefined ? 0 : stream.revision + 1
    if (row.revision !== expectedRevision) {
      throw new AuditProblem(
        where,
        row.revision > expectedRevision
          ? `akışta ${expectedRevision}${row.revision - 1 > expectedRevision ? `–${row.revision - 1}` : ''} sıralı olay${row.revision - 1 > expectedRevision ? 'lar' : ''} yok: silinmiş ya da yeri değiştirilmiş`
          : `beklenen sıra ${expectedRevision}: olaylar yer değiştirmiş ya da araya olay eklenmiş`,
      )
    }
    const prev = stream?.link ?? GENESIS_HASH
    const unwrapped = unwrapMetadata(row.metadata)
    let link: string
    if (unwrapped === undefined) {
      if (row.metadata.startsWith('{"integrity"')) throw new AuditProblem(where, 'üst verisindeki bütünlük başlığı bozuk')
      if (chainStarted) throw new AuditProblem(where, 'bütünlük başlığı yok, oysa zincir daha önce başlamış: başlık silinmiş ya da olay sonradan eklenmiş')
      unchained += 1
      link = eventHash(row.streamId, row.revision, row.eventId, row.type, GENESIS_HASH, row.data, row.metadata)
    } else {
      chainStarted = true
      if (unwrapped.prev !== prev) throw new AuditProblem(where, `önceki olay özeti ${short(unwrapped.prev)} diyor, ama akışın önceki olayının özeti ${short(prev)}: önceki olay değiştirilmiş, silinmiş ya da bu olay başka yerden taşınmış`)
      const computed = eventHash(row.streamId, row.revision, row.eventId, row.type, unwrapped.prev, row.data, unwrapped.meta)
      if (computed !== unwrapped.hash) throw new AuditProblem(where, `içeriğin özeti ${short(computed)}, kayıtlı özet ${short(unwrapped.hash)}: verisi, üst verisi, kimliği, türü ya da sırası değiştirilmiş`)
      link = unwrapped.hash
    }
    streams.set(row.streamId, { revision: row.revision, link })
    const index = tree.append(Buffer.from(link, 'hex'))
    if (index === 0) logId = logIdOf(link)
    positions.push(row.position)
    if (index >= recordedMax.length) {
      recordedMax = grown(recordedMax)
      ordinaryCount = grown(ordinaryCount)
    }
    runningMax = Math.max(runningMax, Date.parse(row.recordedAt) || 0)
    recordedMax[index] = runningMax
    const isCheckpoint = row.streamId === CHECKPOINT_STREAM && row.type === CHECKPOINT_EVENT_TYPE
    if (!isCheckpoint) ordinary += 1
    ordinaryCount[index] = ordinary
    if (isCheckpoint) checkCheckpoint(row, index)
  }

  let after = 0
  let done = 0
  let nextReport = 100_000
  for (;;) {
    const rows = await log.read(after, head, pageSize)
    if (rows.length === 0) break
    for (const row of rows) checkRow(row)
    done += rows.length
    after = rows.at(-1)!.position
    if (done >= nextReport) {
      options.onProgress?.(done, total)
      nextReport += 100_000
    }
  }
  options.onProgress?.(done, total)

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
    streams: streams.size,
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
    if (!verifyInclusion(event.leafIndex, c.treeSize, leafHash(Buffer.from(link, 'hex')), event.inclusionProof.map((node: string) => Buffer.from(node, 'hex')), root)) {
      throw new AuditProblem(where, `imzalı kontrol noktasının ağacına dahil olduğu kanıtlanamıyor (kanıt ya da olay değiştirilmiş)`)
    }
    prev = link
  })
  if (bundle.streamId !== `case-${bundle.caseId}`) throw new AuditProblem('denetim paketi', `akış ${bundle.streamId}, başvuru ${bundle.caseId} ile uyuşmuyor`)
  return { caseId: bundle.caseId, streamId: bundle.streamId, events: bundle.events.length, checkpoint: c, keyId, keyPinned: options.publicKey !== undefined }
}
