/** Something that can be pinged, and closes itself when a ping goes unanswered. */
export interface Beating {
  heartbeat (): void
}

/**
 * Connections pinged per event-loop turn. One synchronous pass over 19,000 sockets stalled
 * the server for about 250 ms; slices of 500 still held the loop for 100–300 ms at a beat,
 * because a ping is a write system call each (about 27 µs on loopback) and the next turn
 * reads the 500 pongs it provoked (a CPU profile of the bench's `held` stretch, Node 24).
 */
export const HEARTBEAT_SLICE = 100

/**
 * One interval timer for every connection of a plugin instance (cheaper than a timer per
 * socket), each beat spread over event-loop turns in slices. It runs on real time, not the
 * injectable clock: liveness is about the network, and a test that fast-forwards a fake
 * clock by hours must not see every peer as dead.
 */
export class Heartbeat {
  readonly #timer: NodeJS.Timeout
  #pending: Beating[] = []
  #next = 0

  constructor (intervalMs: number, connections: () => Iterable<Beating>) {
    this.#timer = setInterval(() => {
      if (this.#next < this.#pending.length) return
      // Copied first: a heartbeat may close a connection, which leaves the registry.
      this.#pending = [...connections()]
      this.#next = 0
      this.#beat()
    }, intervalMs)
    this.#timer.unref()
  }

  #beat = (): void => {
    const pending = this.#pending
    const end = Math.min(pending.length, this.#next + HEARTBEAT_SLICE)
    while (this.#next < end) (pending[this.#next++] as Beating).heartbeat()
    if (this.#next < pending.length) {
      setImmediate(this.#beat).unref()
    } else {
      this.#pending = []
      this.#next = 0
    }
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#pending = []
    this.#next = 0
  }
}
