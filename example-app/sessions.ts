import { randomUUID } from 'node:crypto'

interface Session {
  subject: string
  /** Absolute end of the session, ms: no token is issued for it after this. */
  expiresAt: number
}

/**
 * Login sessions of the example app, in memory (one process). A session id (`sid`) goes in
 * every access token; logging out deletes the session, after which its tokens are neither
 * renewed by `/auth/token` nor accepted by `/feed`'s `authorize` hook.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs
    this.#now = now
  }

  create (subject: string): string {
    this.#sweep()
    const id = randomUUID()
    this.#sessions.set(id, { subject, expiresAt: this.#now() + this.#ttlMs })
    return id
  }

  /** Whether `sessionId` is a live session of `subject`. */
  isActive (sessionId: unknown, subject: unknown): boolean {
    if (typeof sessionId !== 'string') return false
    const session = this.#sessions.get(sessionId)
    return session !== undefined && session.subject === subject && session.expiresAt > this.#now()
  }

  /** Ends a session; returns whether it existed. */
  delete (sessionId: string): boolean {
    return this.#sessions.delete(sessionId)
  }

  get size (): number {
    return this.#sessions.size
  }

  #sweep (): void {
    const now = this.#now()
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt <= now) this.#sessions.delete(id)
    }
  }
}
