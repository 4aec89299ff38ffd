import { createHash } from 'node:crypto'
import t from 'tap'
import { EMPTY_ROOT, MerkleTree, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.ts'

const data = (i: number): Buffer => createHash('sha256').update(`event ${i}`).digest()

/** RFC 9162's MTH written as the RFC states it, recursively, as the reference. */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest()
  if (leaves.length === 1) return createHash('sha256').update(Buffer.from([0])).update(leaves[0]!).digest()
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return createHash('sha256').update(Buffer.from([1])).update(mth(leaves.slice(0, k))).update(mth(leaves.slice(k))).digest()
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

void t.test('roots equal the RFC 9162 definition at every size, including earlier sizes of a grown tree', async (t) => {
  const tree = new MerkleTree()
  const leaves: Buffer[] = []
  t.equal(hex(tree.root()), hex(EMPTY_ROOT), 'the empty tree')
  for (let i = 0; i < 70; i++) {
    leaves.push(data(i))
    t.equal(tree.append(data(i)), i)
  }
  for (let size = 0; size <= 70; size++) t.equal(hex(tree.root(size)), hex(mth(leaves.slice(0, size))), `size ${size}`)
  t.equal(hex(tree.leaf(5)), hex(leafHash(data(5))))
  t.throws(() => tree.root(71), RangeError)
})

void t.test('a known vector: two leaves', async (t) => {
  const tree = new MerkleTree()
  tree.append(data(0))
  tree.append(data(1))
  t.equal(hex(tree.root()), hex(nodeHash(leafHash(data(0)), leafHash(data(1)))))
})

void t.test('every inclusion proof verifies, and fails for another leaf, index, size or root', async (t) => {
  const tree = new MerkleTree()
  for (let i = 0; i < 40; i++) tree.append(data(i))
  let checked = 0
  for (let size = 1; size <= 40; size++) {
    const root = tree.root(size)
    for (let index = 0; index < size; index++) {
      const proof = tree.inclusionProof(index, size)
      if (!verifyInclusion(index, size, tree.leaf(index), proof, root)) t.fail(`inclusion ${index} in ${size}`)
      if (verifyInclusion(index, size, leafHash(data(1000)), proof, root)) t.fail(`another leaf passed at ${index}/${size}`)
      if (size > 1 && verifyInclusion((index + 1) % size, size, tree.leaf(index), proof, root)) t.fail(`another index passed at ${index}/${size}`)
      if (size > 1 && verifyInclusion(index, size, tree.leaf(index), proof, tree.root(size - 1))) t.fail(`another root passed at ${index}/${size}`)
      checked += 1
    }
  }
  t.equal(checked, 820)
  t.notOk(verifyInclusion(0, 1, tree.leaf(0), [tree.leaf(1)], tree.root(1)), 'a proof one node too long fails')
  t.notOk(verifyInclusion(-1, 3, tree.leaf(0), [], tree.root(3)), 'a negative index fails')
})

void t.test('every consistency proof verifies, and fails when the old tree was changed', async (t) => {
  const tree = new MerkleTree()
  for (let i = 0; i < 40; i++) tree.append(data(i))
  const forged = new MerkleTree()
  for (let i = 0; i < 40; i++) forged.append(data(i === 3 ? 999 : i))
  let checked = 0
  for (let to = 1; to <= 40; to++) {
    for (let from = 1; from <= to; from++) {
      const proof = tree.consistencyProof(from, to)
      if (!verifyConsistency(from, to, proof, tree.root(from), tree.root(to))) t.fail(`consistency ${from} → ${to}`)
      if (from > 3 && verifyConsistency(from, to, proof, forged.root(from), tree.root(to))) t.fail(`a forged old tree passed ${from} → ${to}`)
      if (from < to && verifyConsistency(from, to, proof, tree.root(from), tree.root(to - 1))) t.fail(`a wrong new root passed ${from} → ${to}`)
      checked += 1
    }
  }
  t.equal(checked, 820)
  t.throws(() => tree.consistencyProof(0, 5), RangeError)
  t.throws(() => tree.consistencyProof(6, 5), RangeError)
})
