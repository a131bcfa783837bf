/**
 * Time source for every expiry decision. Injected so that tests (and applications) can
 * drive deadlines deterministically; the default is the process clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now (): number
  setTimeout (callback: () => void, delayMs: number): unknown
  clearTimeout (handle: unknown): void
}

export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs)
    // Connection timers must never keep a closing server's event loop alive.
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => { clearTimeout(handle as NodeJS.Timeout) }
}

/** Longest delay Node honours: larger values are clamped to 1 ms and would fire at once. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/**
 * One pending callback at an absolute time. Delays past {@link MAX_TIMER_DELAY_MS} are
 * walked in steps, so a credential that expires in months does not "expire" immediately.
 */
export class Alarm {
  readonly #clock: Clock
  #handle: unknown = undefined
  #at = Number.POSITIVE_INFINITY
  #callback: (() => void) | undefined

  constructor (clock: Clock) {
    this.#clock = clock
  }

  /** Replaces any pending callback with `callback` at time `at` (ms since epoch). */
  set (at: number, callback: () => void): void {
    this.cancel()
    this.#at = at
    this.#callback = callback
    this.#arm()
  }

  cancel (): void {
    if (this.#handle !== undefined) {
      this.#clock.clearTimeout(this.#handle)
      this.#handle = undefined
    }
    this.#callback = undefined
    this.#at = Number.POSITIVE_INFINITY
  }

  get pending (): boolean {
    return this.#callback !== undefined
  }

  #arm (): void {
    const delay = Math.max(0, this.#at - this.#clock.now())
    this.#handle = this.#clock.setTimeout(this.#fire, Math.min(delay, MAX_TIMER_DELAY_MS))
  }

  #fire = (): void => {
    this.#handle = undefined
    // A timer can fire early after a long step or a clock adjustment: re-arm until due.
    if (this.#clock.now() < this.#at) {
      this.#arm()
      return
    }
    const callback = this.#callback
    this.#callback = undefined
    this.#at = Number.POSITIVE_INFINITY
    callback?.()
  }
}
