/** Something that can be pinged, and closes itself when a ping goes unanswered. */
export interface Beating {
  heartbeat (): void
}

/**
 * One interval timer for every connection of a plugin instance (cheaper than a timer per
 * socket). It runs on real time, not the injectable clock: liveness is about the network,
 * and a test that fast-forwards a fake clock by hours must not see every peer as dead.
 */
export class Heartbeat {
  readonly #timer: NodeJS.Timeout

  constructor (intervalMs: number, connections: () => Iterable<Beating>) {
    this.#timer = setInterval(() => {
      // Copied first: a heartbeat may close a connection, which leaves the registry.
      for (const connection of [...connections()]) connection.heartbeat()
    }, intervalMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }
}
