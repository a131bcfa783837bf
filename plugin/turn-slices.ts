/**
 * Work over many items spread over turns of the event loop: `perTurn` items a turn, with a
 * setImmediate between slices so that pending I/O runs in between. Items added while a walk
 * is under way join its end. The first slice runs at once, in the caller's turn. The
 * immediates are unref'd: this work never keeps a process alive. Hand-written: no package
 * of this ecosystem slices a synchronous walk this way without promises per item.
 */
export class TurnSlices<T> {
  readonly #perTurn: number
  readonly #visit: (item: T) => void
  #items: T[] = []
  #next = 0
  #scheduled = false

  constructor (perTurn: number, visit: (item: T) => void) {
    this.#perTurn = perTurn
    this.#visit = visit
  }

  /** Items added and not yet visited. */
  get pending (): number {
    return this.#items.length - this.#next
  }

  /** Copies `items` (the caller may change its collection while they are visited) and visits them. */
  add (items: Iterable<T>): void {
    const idle = this.pending === 0 && !this.#scheduled
    for (const item of items) this.#items.push(item)
    if (idle && this.pending > 0) this.#run()
  }

  /** Drops every item not yet visited. */
  clear (): void {
    this.#items = []
    this.#next = 0
  }

  #run = (): void => {
    this.#scheduled = false
    const items = this.#items
    const end = Math.min(items.length, this.#next + this.#perTurn)
    while (this.#next < end) this.#visit(items[this.#next++] as T)
    if (this.#next < items.length) {
      this.#scheduled = true
      setImmediate(this.#run).unref()
    } else {
      this.clear()
    }
  }
}
