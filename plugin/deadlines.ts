import { MAX_TIMER_DELAY_MS, type Clock } from './clock.ts'

/** Where the queue keeps its bookkeeping on an entry: symbol keys, so no allocation per entry. */
export const kDueAt = Symbol('fastify-ws-auth.dueAt')
export const kQueueIndex = Symbol('fastify-ws-auth.queueIndex')
export const kDue = Symbol('fastify-ws-auth.due')

/** Something with one pending time: a connection's next renewal request or deadline. */
export interface Scheduled {
  /** When it is due (ms since epoch); `Infinity` while not queued. */
  [kDueAt]: number
  /** Its position in the queue; -1 while not queued. */
  [kQueueIndex]: number
  /** Called once the time has come (and the entry has left the queue). */
  [kDue] (now: number): void
}

/**
 * Entries handled per timer turn. Tokens are issued with `exp` in whole seconds, so a crowd
 * that signed in together expires in the same millisecond (thousands at once); each close
 * writes two frames and arms a timer. Past this many the rest wait for the next turn of
 * the loop (a 0 ms timer, after pending I/O), so one burst never holds the loop for long.
 * Lateness this adds to a close: one turn per SLICE entries due before it.
 */
export const SLICE = 256

/**
 * Every connection's next due time in one binary min-heap, behind one timer of the clock.
 * A Node timer per connection cost about 300 bytes (Timeout, its duration list, a bound
 * callback) and a timer insertion per handshake; here a connection costs a heap slot and
 * two fields, and scheduling is O(log n) without touching the timer unless the earliest
 * time moves earlier. Hand-written: Node keeps its own timer heap private, and no
 * ecosystem package offers an indexed heap with removal.
 */
export class DeadlineQueue {
  readonly #clock: Clock
  readonly #heap: Scheduled[] = []
  #timer: unknown = undefined
  /** When the armed timer fires; it may be earlier than the heap's top (then it just re-arms). */
  #timerAt = Number.POSITIVE_INFINITY
  #stopped = false

  readonly #onSettled: (() => void) | undefined

  /** `onSettled` runs after a turn that left nothing due (the end of a burst), and on stop. */
  constructor (clock: Clock, onSettled?: () => void) {
    this.#clock = clock
    this.#onSettled = onSettled
  }

  get size (): number {
    return this.#heap.length
  }

  /** Queues `entry` at `at`, or moves it there if it is queued already. */
  schedule (entry: Scheduled, at: number): void {
    const heap = this.#heap
    const index = entry[kQueueIndex]
    const previous = entry[kDueAt]
    entry[kDueAt] = at
    if (index === -1) {
      entry[kQueueIndex] = heap.length
      heap.push(entry)
      this.#up(heap.length - 1)
    } else if (at < previous) {
      this.#up(index)
    } else {
      this.#down(index)
    }
    if (at < this.#timerAt) this.#arm(at)
  }

  /** Takes `entry` out of the queue, if it is in it. The timer is left: firing early is harmless. */
  cancel (entry: Scheduled): void {
    const index = entry[kQueueIndex]
    if (index === -1) return
    this.#removeAt(index)
  }

  /** Stops the timer for good (the plugin is closing). */
  stop (): void {
    this.#stopped = true
    this.#disarm()
    this.#onSettled?.()
  }

  #fire = (): void => {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const heap = this.#heap
    let now = this.#clock.now()
    let handled = 0
    for (let top = heap[0]; top !== undefined && top[kDueAt] <= now && handled < SLICE; top = heap[0], handled++) {
      this.#removeAt(0)
      top[kDue](now)
      now = this.#clock.now()
    }
    // Entries still due are re-armed with a 0 ms delay: the next slice runs after the
    // I/O that waited behind this one.
    const next = heap[0]
    if (next !== undefined && next[kDueAt] < this.#timerAt) this.#arm(next[kDueAt])
    if (next === undefined || next[kDueAt] > now) this.#onSettled?.()
  }

  #arm (at: number): void {
    if (this.#stopped) return
    this.#disarm()
    this.#timerAt = at
    // Delays past what timers honour are walked in steps: #fire re-arms until due.
    this.#timer = this.#clock.setTimeout(this.#fire, Math.min(Math.max(0, at - this.#clock.now()), MAX_TIMER_DELAY_MS))
  }

  #disarm (): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  #removeAt (index: number): void {
    const heap = this.#heap
    const removed = heap[index] as Scheduled
    const last = heap.pop() as Scheduled
    removed[kQueueIndex] = -1
    removed[kDueAt] = Number.POSITIVE_INFINITY
    if (last === removed) return
    heap[index] = last
    last[kQueueIndex] = index
    this.#up(index)
    this.#down(last[kQueueIndex])
  }

  #up (index: number): void {
    const heap = this.#heap
    const entry = heap[index] as Scheduled
    const at = entry[kDueAt]
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = heap[parentIndex] as Scheduled
      if (parent[kDueAt] <= at) break
      heap[index] = parent
      parent[kQueueIndex] = index
      index = parentIndex
    }
    heap[index] = entry
    entry[kQueueIndex] = index
  }

  #down (index: number): void {
    const heap = this.#heap
    const length = heap.length
    const entry = heap[index] as Scheduled
    const at = entry[kDueAt]
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      let child = left
      if (right < length && (heap[right] as Scheduled)[kDueAt] < (heap[left] as Scheduled)[kDueAt]) child = right
      const smaller = heap[child] as Scheduled
      if (smaller[kDueAt] >= at) break
      heap[index] = smaller
      smaller[kQueueIndex] = index
      index = child
    }
    heap[index] = entry
    entry[kQueueIndex] = index
  }
}
