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

const hash = (token: string): string => createHash('sha256').update(token).digest('base64url')
// Refresh tokens are 256 random bits, opaque (not JWTs): they can never pass as access tokens.
const newRefreshToken = (): string => randomBytes(32).toString('base64url')

/**
 * Login sessions and their rotating refresh tokens, in memory (one process). A session id
 * (`sid`) goes in every access token. Each refresh returns a new refresh token and retires
 * the old one; presenting a retired one again means it was stolen or replayed, and ends
 * the session (RFC 9700 §4.14.2, refresh token rotation with reuse detection).
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  /** refresh token hash → session id, for current and retired tokens alike. */
  readonly #byRefresh = new Map<string, string>()
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs
    this.#now = now
  }

  create (subject: string): { sessionId: string, refreshToken: string } {
    this.#sweep()
    const sessionId = randomUUID()
    const refreshToken = newRefreshToken()
    this.#sessions.set(sessionId, { subject, expiresAt: this.#now() + this.#ttlMs, refreshHashes: [hash(refreshToken)] })
    this.#byRefresh.set(hash(refreshToken), sessionId)
    return { sessionId, refreshToken }
  }

  rotate (refreshToken: string): RotateResult {
    const tokenHash = hash(refreshToken)
    const sessionId = this.#byRefresh.get(tokenHash)
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId)
    if (sessionId === undefined || session === undefined || session.expiresAt <= this.#now()) return { outcome: 'unknown' }
    if (session.refreshHashes.at(-1) !== tokenHash) {
      this.delete(sessionId)
      return { outcome: 'reused', sessionId, subject: session.subject }
    }
    const next = newRefreshToken()
    session.refreshHashes.push(hash(next))
    this.#byRefresh.set(hash(next), sessionId)
    return { outcome: 'rotated', sessionId, subject: session.subject, refreshToken: next }
  }

  /** The session a refresh token (current or retired) belongs to. */
  sessionOf (refreshToken: string): { sessionId: string, subject: string } | undefined {
    const sessionId = this.#byRefresh.get(hash(refreshToken))
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId)
    return session === undefined ? undefined : { sessionId: sessionId as string, subject: session.subject }
  }

  /** Whether `sessionId` is a live session of `subject`. */
  isActive (sessionId: unknown, subject: unknown): boolean {
    if (typeof sessionId !== 'string') return false
    const session = this.#sessions.get(sessionId)
    return session !== undefined && session.subject === subject && session.expiresAt > this.#now()
  }

  expiresAt (sessionId: string): number | undefined {
    return this.#sessions.get(sessionId)?.expiresAt
  }

  /** Ends a session; returns whether it existed. */
  delete (sessionId: string): boolean {
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return false
    for (const tokenHash of session.refreshHashes) this.#byRefresh.delete(tokenHash)
    return this.#sessions.delete(sessionId)
  }

  get size (): number {
    return this.#sessions.size
  }

  #sweep (): void {
    const now = this.#now()
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt <= now) this.delete(id)
    }
  }
}
