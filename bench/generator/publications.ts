import type { Pool } from './context.ts'
import type { ErrorLog } from './errors.ts'
import type { Session } from './raw/session.ts'

/**
 * Publications fanned out to `subscribers` connections that each receive them in order, so
 * a subscriber's k-th message is publication k: delivery latency is measured from when
 * publication k was sent without parsing a message. Shared by the broadcast job (one
 * instance) and the feed job (a cluster), whose fan-out is counted the same way.
 */
export class Publications {
  /** When each publication was sent (or due, when paced), by number. */
  readonly sentAt: number[] = []
  /** Per publication, the subscribers that have not received it yet. */
  readonly #remaining: number[] = []
  readonly #subscribers: number
  #completed = 0

  constructor (subscribers: number) {
    this.#subscribers = subscribers
  }

  get count (): number {
    return this.sentAt.length
  }

  /** Whether every publication so far has reached every subscriber. */
  get allDelivered (): boolean {
    return this.#completed === this.sentAt.length
  }

  add (sentAt: number): void {
    this.sentAt.push(sentAt)
    this.#remaining.push(this.#subscribers)
  }

  /**
   * A message handler for the subscribers of `pool`: for each delivery, `delivered` gets the
   * publication's send time and whether this was its last subscriber.
   */
  receiver (pool: Pool, errors: ErrorLog, delivered: (sentAt: number, last: boolean) => void): (session: Session) => void {
    const received = pool.sessions.map(() => 0)
    return (session) => {
      const k = received[session.index] as number
      received[session.index] = k + 1
      const sentAt = this.sentAt[k]
      if (sentAt === undefined) {
        errors.add('message without publication')
        return
      }
      const left = (this.#remaining[k] as number) - 1
      this.#remaining[k] = left
      if (left === 0) this.#completed++
      delivered(sentAt, left === 0)
    }
  }
}
