import { TurnSlices } from './turn-slices.ts'

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
  readonly #pinging = new TurnSlices<Beating>(HEARTBEAT_SLICE, (connection) => { connection.heartbeat() })

  constructor (intervalMs: number, connections: () => Iterable<Beating>) {
    this.#timer = setInterval(() => {
      if (this.#pinging.pending > 0) return
      // Copied first (TurnSlices.add): a heartbeat may close a connection, which leaves the registry.
      this.#pinging.add(connections())
    }, intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#pinging.clear()
  }
}
