/** A limit of `max` events per `timeWindow` ms, as the options express it. */
export interface RateLimit {
  /** Events allowed in a burst (the bucket's capacity). */
  max: number
  /** Time, in ms, in which `max` events are replenished. */
  timeWindow: number
}

/**
 * A token bucket driven by the caller's clock reading, so the per-message path costs two
 * numbers and no timer. (Small enough not to justify a dependency; @fastify/rate-limit's
 * fixed windows are per key and asynchronous, meant for requests rather than frames.)
 */
export class TokenBucket {
  #tokens: number
  #updatedAt: number
  readonly #max: number
  readonly #perMs: number

  constructor (limit: RateLimit, now: number) {
    this.#max = limit.max
    this.#perMs = limit.max / limit.timeWindow
    this.#tokens = limit.max
    this.#updatedAt = now
  }

  /** Takes one token; false when the bucket is empty. */
  take (now: number): boolean {
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(this.#max, this.#tokens + (now - this.#updatedAt) * this.#perMs)
      this.#updatedAt = now
    }
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
