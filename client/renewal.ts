import type { AuthErrorFrame, RenewedFrame } from '../protocol/core.ts'
import { backoffDelay } from './backoff.ts'
import { Timer, type Clock } from './clock.ts'
import { RenewalError } from './errors.ts'

export interface RenewalOptions {
  /** Renew on the client's own timer at least this long before the local deadline, in ms. @default 5000 */
  minLead?: number
  /** ... or this fraction of the credential's lifetime before it, if that is longer. @default 0.1 */
  leadRatio?: number
  /** How many times a renewal refused with `retry: true` (or timed out) is tried again. @default 2 */
  retries?: number
  /** Backoff between those tries: upper bound of the first delay, in ms. @default 500 */
  baseDelay?: number
  /** Backoff between those tries: upper bound of every delay, in ms. @default 4000 */
  maxDelay?: number
  /** How long one try may take, token request included, before it counts as failed, in ms. @default 10000 */
  timeout?: number
}

/**
 * How long before the local deadline the client renews by itself (SPEC.md section 6,
 * rule 3): max(`minLead`, `leadRatio` × lifetime), but never more than half the lifetime,
 * so that a token shorter-lived than `minLead` is not renewed the moment it arrives, in a loop.
 */
export function renewalLead (lifetimeMs: number, options: RenewalOptions = {}): number {
  const lead = Math.max(options.minLead ?? 5000, (options.leadRatio ?? 0.1) * lifetimeMs)
  return Math.min(lead, lifetimeMs / 2)
}

export interface RenewalDependencies {
  clock: Clock
  random: () => number
  options: RenewalOptions
  /** Whether each try carries a fresh `id` (token transports) or is answered by any `renewed` (cookie). */
  ids: boolean
  /** Starts one try: obtains the token and sends `renew` with `id` (or asks the application to refresh). */
  send: (id: string | undefined) => Promise<void>
  /** A flight failed for good (not when aborted by a close). */
  onFailure: (error: RenewalError) => void
}

interface Pending {
  id: string | undefined
  resolve: () => void
  reject: (error: RenewalError) => void
}

interface Flight {
  promise: Promise<void>
  aborted: RenewalError | undefined
  wake: (() => void) | undefined
}

/**
 * Renewal as a single flight: every trigger (`renew_required`, the fallback timer,
 * `renewNow()`, the page waking up) that arrives while a renewal is under way shares it,
 * so there is one token request and one `renew` at a time. One flight is a few tries,
 * each settled by the `renewed` or `auth_error` that carries its `id`.
 */
export class Renewal {
  readonly #deps: RenewalDependencies
  readonly #timeout: Timer
  readonly #pause: Timer
  #flight: Flight | undefined
  #pending: Pending | undefined
  #ids = 0

  constructor (deps: RenewalDependencies) {
    this.#deps = deps
    this.#timeout = new Timer(deps.clock)
    this.#pause = new Timer(deps.clock)
  }

  get active (): boolean {
    return this.#flight !== undefined
  }

  /** Renews, or joins the renewal under way. */
  run (): Promise<void> {
    if (this.#flight !== undefined) return this.#flight.promise
    const flight: Flight = { promise: Promise.resolve(), aborted: undefined, wake: undefined }
    // Registered before the first try starts, so that a trigger it causes joins it.
    this.#flight = flight
    flight.promise = this.#fly(flight).then(() => {
      this.#flight = undefined
    }, (error: unknown) => {
      this.#flight = undefined
      const failure = error as RenewalError
      if (flight.aborted === undefined) this.#deps.onFailure(failure)
      throw failure
    })
    // Triggers that do not wait for the outcome learn of a failure from `onFailure`.
    flight.promise.catch(() => {})
    return flight.promise
  }

  /**
   * A reply from the server. Settles the try it answers (by `id`; in cookie mode any
   * `renewed`) and returns whether it did; late replies to abandoned tries return false.
   */
  settle (frame: RenewedFrame | AuthErrorFrame): boolean {
    const pending = this.#pending
    if (pending === undefined || frame.id !== pending.id) return false
    if (frame.type === 'renewed') {
      pending.resolve()
    } else {
      pending.reject(new RenewalError(frame.code, frame.message, frame.retry, { frame }))
    }
    return true
  }

  /** Ends the flight under way at once, with `error` (the connection closed, or the client did). */
  abort (error: RenewalError): void {
    const flight = this.#flight
    if (flight === undefined) return
    flight.aborted = error
    this.#pending?.reject(error)
    this.#pause.cancel()
    flight.wake?.()
  }

  async #fly (flight: Flight): Promise<void> {
    const retries = this.#deps.options.retries ?? 2
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#try()
        return
      } catch (error) {
        const failure = flight.aborted ?? asRenewalError(error)
        if (flight.aborted !== undefined || !failure.retry || attempt >= retries) throw failure
      }
      await new Promise<void>((resolve) => {
        flight.wake = resolve
        const delay = backoffDelay(attempt, { baseDelay: this.#deps.options.baseDelay ?? 500, maxDelay: this.#deps.options.maxDelay ?? 4000 }, this.#deps.random)
        this.#pause.start(delay, resolve)
      })
      flight.wake = undefined
      if (flight.aborted !== undefined) throw flight.aborted
    }
  }

  #try (): Promise<void> {
    const id = this.#deps.ids ? `r${++this.#ids}` : undefined
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#timeout.cancel()
        this.#pending = undefined
      }
      const pending: Pending = {
        id,
        resolve: () => { done(); resolve() },
        reject: (error) => { done(); reject(error) }
      }
      this.#pending = pending
      this.#timeout.start(this.#deps.options.timeout ?? 10_000, () => {
        pending.reject(new RenewalError('timeout', 'no reply to the renewal in time', true))
      })
      // Armed before sending: in cookie mode the server's `renewed` can overtake the HTTP
      // response of the refresh that caused it.
      this.#deps.send(id).catch((error: unknown) => {
        if (this.#pending === pending) pending.reject(asRenewalError(error))
      })
    })
  }
}

function asRenewalError (error: unknown): RenewalError {
  if (error instanceof RenewalError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new RenewalError('token_unavailable', `could not obtain a token: ${message}`, true, { cause: error })
}
