/**
 * A Merkle tree over the global log, hashed as Certificate Transparency's (RFC 9162 §2.1): a leaf
 * is SHA-256(0x00 ‖ data), a node SHA-256(0x01 ‖ left ‖ right), the tree of n leaves splits at the
 * largest power of two below n. A leaf's data is the event's canonical bytes, so its leaf hash is
 * the event hash itself (integrity.ts: SHA-256 of 0x00 and those bytes): the tree commits to every
 * event's content, stream, revision and chain link, in global order, and takes the event hashes
 * as its leaves as they are (`appendLeafHash`).
 *
 * The tree keeps every complete, aligned subtree (64 bytes per leaf in all), so the root of any
 * earlier size and any inclusion or consistency proof take O(log n) hash operations.
 */
import * as crypto from 'node:crypto'

const HASH_BYTES = 32

const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash
const sha256: (data: Buffer) => Buffer = oneShot === undefined ? (data) => crypto.createHash('sha256').update(data).digest() : (data) => oneShot('sha256', data, 'buffer')

const nodeScratch = Buffer.alloc(1 + 2 * HASH_BYTES)
nodeScratch[0] = 1

/** RFC 9162 leaf hash of some leaf data (the tree of events takes event hashes, already leaf hashes). */
export function leafHash(data: Uint8Array): Buffer {
  return sha256(Buffer.concat([Buffer.alloc(1), data]))
}

/** RFC 9162 interior node hash. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch.set(left, 1)
  nodeScratch.set(right, 1 + HASH_BYTES)
  return sha256(nodeScratch)
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0))

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** A growing list of 32-byte hashes in one buffer (a tree level: complete aligned subtrees of 2^level leaves). */
export class HashList {
  buffer = Buffer.alloc(HASH_BYTES * 1024)
  count = 0
  push(hash: Uint8Array): void {
    if ((this.count + 1) * HASH_BYTES > this.buffer.length) {
      const bigger = Buffer.alloc(this.buffer.length * 2)
      this.buffer.copy(bigger)
      this.buffer = bigger
    }
    this.buffer.set(hash, this.count * HASH_BYTES)
    this.count += 1
  }
  at(index: number): Buffer {
    return this.buffer.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)
  }
}

export class MerkleTree {
  private readonly levels: HashList[] = [new HashList()]

  /** Number of leaves. */
  get size(): number {
    return this.levels[0]!.count
  }

  /** Appends a leaf for some leaf data (hashed here); returns its index. */
  append(data: Uint8Array): number {
    return this.appendLeafHash(leafHash(data))
  }

  /** Appends an already hashed leaf (an event hash); returns its index. */
  appendLeafHash(leaf: Uint8Array): number {
    if (leaf.length !== HASH_BYTES) throw new Error(`a leaf hash has ${HASH_BYTES} bytes, got ${leaf.length}`)
    const index = this.size
    this.levels[0]!.push(leaf)
    // Every completed pair makes a node one level up, as far as pairs complete.
    for (let level = 0; this.levels[level]!.count % 2 === 0; level++) {
      const below = this.levels[level]!
      const node = nodeHash(below.at(below.count - 2), below.at(below.count - 1))
      if (this.levels[level + 1] === undefined) this.levels.push(new HashList())
      this.levels[level + 1]!.push(node)
    }
    return index
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Buffer {
    this.checkIndex(index, this.size)
    return this.levels[0]!.at(index)
  }

  /** The root of the tree of the first `size` leaves (default: all). */
  root(size: number = this.size): Buffer {
    this.checkSize(size)
    return size === 0 ? EMPTY_ROOT : this.rangeHash(0, size)
  }

  /** RFC 9162 inclusion proof (PATH) of leaf `index` in the tree of the first `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize(size)
    this.checkIndex(index, size)
    const proof: Buffer[] = []
    // PATH(m, D[lo:hi]) from the top: the sibling subtree of each split, deepest last.
    let lo = 0
    let hi = size
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo)
      if (index - lo < k) {
        proof.push(this.rangeHash(lo + k, hi))
        hi = lo + k
      } else {
        proof.push(this.rangeHash(lo, lo + k))
        lo += k
      }
    }
    return proof.reverse()
  }

  /** RFC 9162 consistency proof between the trees of the first `from` and `to` leaves. */
  consistencyProof(from: number, to: number = this.size): Buffer[] {
    this.checkSize(to)
    if (!Number.isSafeInteger(from) || from < 1 || from > to) throw new RangeError(`a consistency proof needs 1 ≤ from ≤ to, got from ${from}, to ${to}`)
    const proof: Buffer[] = []
    // SUBPROOF(m, D[lo:hi], b) from the top.
    let lo = 0
    let hi = to
    let m = from
    let complete = true
    while (m !== hi - lo) {
      const k = splitPoint(hi - lo)
      if (m <= k) {
        proof.push(this.rangeHash(lo + k, hi))
        hi = lo + k
      } else {
        proof.push(this.rangeHash(lo, lo + k))
        lo += k
        m -= k
        complete = false
      }
    }
    if (!complete) proof.push(this.rangeHash(lo, hi))
    return proof.reverse()
  }

  /** MTH(D[lo:hi]) for a range of the shape the RFC's recursion produces (lo aligned to its split). */
  private rangeHash(lo: number, hi: number): Buffer {
    const n = hi - lo
    if ((n & (n - 1)) === 0 && lo % n === 0) {
      const level = Math.log2(n)
      return this.levels[level]!.at(lo / n)
    }
    const k = splitPoint(n)
    return nodeHash(this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi))
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`the tree has ${this.size} leaves; no tree of size ${size}`)
  }

  private checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`no leaf ${index} in a tree of ${size}`)
  }
}

/**
 * RFC 9162 §2.1.3.2: whether `proof` shows the leaf `leaf` (its leaf hash) at `index` in the tree
 * of `size` leaves whose root is `root`.
 */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false
  let fn = index
  let sn = size - 1
  let r: Uint8Array = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && Buffer.compare(Buffer.from(r), Buffer.from(root)) === 0
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows the tree of `size2` leaves (root `root2`) extends the
 * tree of `size1` leaves (root `root1`), with no leaf of the first changed or removed.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) return false
  const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0
  if (size1 === size2) return proof.length === 0 && same(root1, root2)
  const path = [...proof]
  // A first tree that is a complete subtree is its own first proof node.
  if ((size1 & (size1 - 1)) === 0) path.unshift(root1)
  if (path.length === 0) return false
  let fn = size1 - 1
  let sn = size2 - 1
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  let fr: Uint8Array = path[0]!
  let sr: Uint8Array = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && same(fr, root1) && same(sr, root2)
}
