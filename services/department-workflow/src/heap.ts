/** A binary min-heap of items keyed by a number: O(log n) push and pop, O(1) peek. */
export class MinHeap<T> {
  readonly #items: { key: number; value: T }[] = []

  /** Number of items held. */
  get size(): number {
    return this.#items.length
  }

  /** Adds an item. */
  push(key: number, value: T): void {
    const items = this.#items
    items.push({ key, value })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.key <= items[i]!.key) break
      ;[items[parent], items[i]] = [items[i]!, items[parent]!]
      i = parent
    }
  }

  /** The smallest item, without removing it. */
  peek(): { readonly key: number; readonly value: T } | undefined {
    return this.#items[0]
  }

  /** Removes and returns the smallest item. */
  pop(): { readonly key: number; readonly value: T } | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && items[left]!.key < items[smallest]!.key) smallest = left
      if (right < items.length && items[right]!.key < items[smallest]!.key) smallest = right
      if (smallest === i) return top
      ;[items[smallest], items[i]] = [items[i]!, items[smallest]!]
      i = smallest
    }
  }
}
