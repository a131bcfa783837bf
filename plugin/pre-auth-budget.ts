/**
 * Bytes held, across every connection of the process, for sockets that have not been
 * authenticated yet: their `auth` frames and the messages queued behind them while the
 * asynchronous checks run. Each connection is capped on its own (`maxPreAuthPayload`);
 * this caps their sum, so that many sockets waiting on one slow key-set fetch or
 * `authorize` cannot make the process hold unbounded memory for unauthenticated peers.
 */
export class PreAuthBudget {
  readonly max: number
  #held = 0

  constructor (max: number) {
    this.max = max
  }

  /** Bytes currently held. */
  get held (): number {
    return this.#held
  }

  /** Reserves `bytes`; false (and nothing reserved) when that would pass the maximum. */
  reserve (bytes: number): boolean {
    if (this.#held + bytes > this.max) return false
    this.#held += bytes
    return true
  }

  release (bytes: number): void {
    this.#held -= bytes
  }
}
