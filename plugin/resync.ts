import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import type { RevocationQuery } from './revocation.ts'

/** What a resync needs of a live connection. */
export interface Recheckable {
  revocationQuery (): RevocationQuery
  /** Closes with `credential_revoked`; false when it was closed already. */
  revoke (): boolean
}

export interface ResyncOptions<C extends Recheckable> {
  /** The live connections, read afresh at the start of every pass. */
  connections: () => Iterable<C>
  check: (query: RevocationQuery) => ErrorDefinition | undefined | Promise<ErrorDefinition | undefined>
  clock: Clock
  /** A pass finished: every connection was asked about. */
  done: (connections: number, revoked: number) => void
  /** The store could not answer; the whole pass runs again after `retryInMs`. */
  deferred: (retryInMs: number, attempt: number) => void
  /** A check threw or rejected unexpectedly (not `revocation_unavailable`); the pass is retried as above. */
  failed: (error: unknown) => void
}

/** Store queries in flight at once in a pass: bounded, so a large instance does not flood the store. */
export const RESYNC_BATCH = 256
/** The first retry after the store could not answer, doubled on each further failure up to {@link RESYNC_MAX_RETRY_MS}. */
export const RESYNC_FIRST_RETRY_MS = 100
export const RESYNC_MAX_RETRY_MS = 5000

/**
 * Re-checks every live connection against the revocation store after its channel was down,
 * so a revocation published while this instance was deaf still closes its sockets. The
 * store's channel can come back before the store answers lookups (two connections that
 * reconnect independently), so a pass that meets `revocation_unavailable` is not dropped:
 * it runs again, with backoff, until one pass has asked about every connection. A request
 * during a pass (the channel dropped again) runs one more pass after it.
 */
export class Resync<C extends Recheckable> {
  readonly #options: ResyncOptions<C>
  #running = false
  #again = false
  #attempt = 0
  #timer: unknown = undefined
  #stopped = false

  constructor (options: ResyncOptions<C>) {
    this.#options = options
  }

  /** Whether a pass is under way or waiting for its retry. */
  get pending (): boolean {
    return this.#running || this.#timer !== undefined
  }

  request (): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    // A retry already scheduled covers this request too: its pass reads the connections afresh.
    if (this.#timer !== undefined) return
    this.#start()
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #start (): void {
    this.#running = true
    this.#again = false
    this.#pass().then((complete) => { this.#finished(complete) }, (err: unknown) => {
      this.#options.failed(err)
      this.#finished(false)
    })
  }

  #finished (complete: boolean): void {
    this.#running = false
    if (this.#stopped) return
    if (complete) {
      this.#attempt = 0
      if (this.#again) this.#start()
      return
    }
    const delay = Math.min(RESYNC_FIRST_RETRY_MS * 2 ** this.#attempt, RESYNC_MAX_RETRY_MS)
    this.#attempt++
    this.#options.deferred(delay, this.#attempt)
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined
      if (!this.#stopped) this.#start()
    }, delay)
  }

  /** One pass over a snapshot of the connections; false when the store could not answer. */
  async #pass (): Promise<boolean> {
    const { connections, check, done } = this.#options
    const live = [...connections()]
    let revoked = 0
    for (let i = 0; i < live.length; i += RESYNC_BATCH) {
      // A store that answers synchronously (or from a cache) settles every batch within one
      // turn of microtasks: yield to the loop between batches so I/O is not held behind them.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve))
      if (this.#stopped) return true
      const batch = live.slice(i, i + RESYNC_BATCH)
      const answers = await Promise.all(batch.map(async (connection) => await check(connection.revocationQuery())))
      let unavailable = false
      for (let j = 0; j < batch.length; j++) {
        const answer = answers[j]
        // What the store did answer is acted on at once, even if the pass must run again.
        if (answer === ERRORS.credential_revoked && (batch[j] as C).revoke()) revoked++
        else if (answer === ERRORS.revocation_unavailable) unavailable = true
      }
      if (unavailable) return false
    }
    done(live.length, revoked)
    return true
  }
}
