import { createHash, randomBytes, randomUUID } from 'node:crypto'

interface Session {
  subject: string
  /** Absolute end of the session, ms: no token is issued for it after this. */
  expiresAt: number
  /** Hashes of every refresh token issued to the session; the last one is current. */
  refreshHashes: string[]
}

export type RotateResult =
  | { outcome: 'rotated', sessionId: string, subject: string, refreshToken: string }
  /** A refresh token that was already used: the whole session (the token family) is ended. */
  | { outcome: 'reused', sessionId: string, subject: string }
  | { outcome: 'unknown' }

export const hash = (token: string): string => createHash('sha256').update(token).digest('base64url')
// Refresh tokens are 256 random bits, opaque (not JWTs): they can never pass as access tokens.
export const newRefreshToken = (): string => randomBytes(32).toString('base64url')

/**
 * Login sessions and their rotating refresh tokens. A session id (`sid`) goes in every
 * access token. Each refresh returns a new refresh token and retires the old one;
 * presenting a retired one again means it was stolen or replayed, and ends the session
 * (RFC 9700 §4.14.2, refresh token rotation with reuse detection).
 */
export interface Sessions {
  create (subject: string): Promise<{ sessionId: string, refreshToken: string }>
  rotate (refreshToken: string): Promise<RotateResult>
  /** The session a refresh token (current or retired) belongs to. */
  sessionOf (refreshToken: string): Promise<{ sessionId: string, subject: string } | undefined>
  /** Whether `sessionId` is a live session of `subject`. */
  isActive (sessionId: unknown, subject: unknown): Promise<boolean>
  expiresAt (sessionId: string): Promise<number | undefined>
  /** Ends a session; returns whether it existed. */
  delete (sessionId: string): Promise<boolean>
  /** Live sessions, when the store can count them cheaply. */
  size (): Promise<number | undefined>
}

/** {@link Sessions} in memory: one process (the default, without REDIS_URL). */
export class MemorySessions implements Sessions {
  readonly #sessions = new Map<string, Session>()
  /** refresh token hash → session id, for current and retired tokens alike. */
  readonly #byRefresh = new Map<string, string>()
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs
    this.#now = now
  }

  async create (subject: string): Promise<{ sessionId: string, refreshToken: string }> {
    this.#sweep()
    const sessionId = randomUUID()
    const refreshToken = newRefreshToken()
    this.#sessions.set(sessionId, { subject, expiresAt: this.#now() + this.#ttlMs, refreshHashes: [hash(refreshToken)] })
    this.#byRefresh.set(hash(refreshToken), sessionId)
    return { sessionId, refreshToken }
  }

  async rotate (refreshToken: string): Promise<RotateResult> {
    const tokenHash = hash(refreshToken)
    const sessionId = this.#byRefresh.get(tokenHash)
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId)
    if (sessionId === undefined || session === undefined || session.expiresAt <= this.#now()) return { outcome: 'unknown' }
    if (session.refreshHashes.at(-1) !== tokenHash) {
      this.#delete(sessionId)
      return { outcome: 'reused', sessionId, subject: session.subject }
    }
    const next = newRefreshToken()
    session.refreshHashes.push(hash(next))
    this.#byRefresh.set(hash(next), sessionId)
    return { outcome: 'rotated', sessionId, subject: session.subject, refreshToken: next }
  }

  async sessionOf (refreshToken: string): Promise<{ sessionId: string, subject: string } | undefined> {
    const sessionId = this.#byRefresh.get(hash(refreshToken))
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId)
    return session === undefined ? undefined : { sessionId: sessionId as string, subject: session.subject }
  }

  async isActive (sessionId: unknown, subject: unknown): Promise<boolean> {
    if (typeof sessionId !== 'string') return false
    const session = this.#sessions.get(sessionId)
    return session !== undefined && session.subject === subject && session.expiresAt > this.#now()
  }

  async expiresAt (sessionId: string): Promise<number | undefined> {
    return this.#sessions.get(sessionId)?.expiresAt
  }

  async delete (sessionId: string): Promise<boolean> {
    return this.#delete(sessionId)
  }

  #delete (sessionId: string): boolean {
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return false
    for (const tokenHash of session.refreshHashes) this.#byRefresh.delete(tokenHash)
    return this.#sessions.delete(sessionId)
  }

  async size (): Promise<number> {
    return this.#sessions.size
  }

  #sweep (): void {
    const now = this.#now()
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt <= now) this.#delete(id)
    }
  }
}
