/**
 * Time source of every client timer. Injected so that tests drive renewal and backoff
 * deterministically. It has the shape of the plugin's `clock` option, so one manual
 * clock can drive both ends of a test.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, on this machine's clock. */
  now (): number
  setTimeout (callback: () => void, delayMs: number): unknown
  clearTimeout (handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

/** Browsers and Node clamp larger delays to about 1 ms: a token valid for a month would renew at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** One pending callback, replaced by each `start`; delays past what timers honour are walked in steps. */
export class Timer {
  readonly #clock: Clock
  #handle: unknown = undefined
  #pending = false

  constructor (clock: Clock) {
    this.#clock = clock
  }

  get pending (): boolean {
    return this.#pending
  }

  /** Calls `callback` once, `delayMs` from now, cancelling any call still pending. */
  start (delayMs: number, callback: () => void): void {
    this.cancel()
    this.#pending = true
    this.#arm(this.#clock.now() + Math.max(0, delayMs), callback)
  }

  cancel (): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle)
    this.#handle = undefined
    this.#pending = false
  }

  #arm (at: number, callback: () => void): void {
    const left = Math.max(0, at - this.#clock.now())
    const step = Math.min(left, MAX_TIMER_DELAY_MS)
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined
      if (step < left) {
        this.#arm(at, callback)
        return
      }
      this.#pending = false
      callback()
    }, step)
  }
}
