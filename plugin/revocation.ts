import type { ErrorCode } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import type { ConnectionSelector } from './registry.ts'

/**
 * A revocation: every credential it matches is refused at the handshake and at renewal,
 * and live connections it matches are closed with `credential_revoked`. `expiresAt` (ms
 * since the epoch) is when the entry may be forgotten: when the last credential it covers
 * expires anyway.
 */
export type Revocation =
  | { readonly tokenId: string, readonly expiresAt: number }
  | { readonly sessionId: string, readonly expiresAt: number }
  | { readonly subject: string, readonly issuedBefore: number, readonly expiresAt: number }

/** What the plugin asks a store about one credential. */
export interface RevocationQuery {
  readonly subject: string
  /** The token's `jti`. */
  readonly tokenId?: string | undefined
  /** The token's `sid`. */
  readonly sessionId?: string | undefined
  /** The token's `iat`, in ms; a credential without one is covered by every subject revocation. */
  readonly issuedAt?: number | undefined
}

/**
 * A command one instance publishes to every other instance through a shared store: close
 * or renew the matching live connections there too. `selector` matches like
 * `fastify.wsAuth.close()`'s.
 */
export type ClusterCommand =
  | { readonly type: 'close', readonly selector: ConnectionSelector, readonly code: ErrorCode, readonly message?: string | undefined }
  | { readonly type: 'renew', readonly selector: ConnectionSelector, readonly token: string }

/** What a shared store tells the plugin of one instance. */
export interface StoreListener {
  /** A revocation recorded by another instance: close the matching live connections. */
  revoked (revocation: Revocation): void
  /** A command published by another instance. */
  command (command: ClusterCommand): void
  /**
   * Revocations may have been missed (the store's channel was down): re-check every live
   * connection against the store. Call it once the channel is back; if `isRevoked` cannot
   * answer yet, the plugin retries the re-check with backoff until it can.
   */
  resync (): void
}

/**
 * Where revocations live. The plugin ships {@link MemoryRevocationStore} (one process); a
 * shared store (`fastify-ws-auth/redis`, or your own) implements the same interface plus
 * `subscribe` and `publish`, and lets every instance see every revocation and command.
 * Methods may answer synchronously (the fast path) or with a promise; a throw or a
 * rejection of `isRevoked` makes the plugin fail closed with `revocation_unavailable`.
 */
export interface RevocationStore {
  /** Records a revocation (for a shared store: durable and published once this settles). */
  revoke (revocation: Revocation): void | Promise<void>
  /** Whether any recorded revocation matches the credential. */
  isRevoked (query: RevocationQuery): boolean | Promise<boolean>
  /**
   * Revocations and commands of other instances, so this instance acts on them at once.
   * Returns an unsubscribe function. Only shared stores implement it.
   */
  subscribe? (listener: StoreListener): () => void
  /** Sends a command to every other instance. Only shared stores implement it. */
  publish? (command: ClusterCommand): void | Promise<void>
  /** Called when the Fastify instance closes. */
  close? (): void | Promise<void>
}

/** Whether `revocation` covers the credential described by `query`. */
export function revocationMatches (revocation: Revocation, query: RevocationQuery): boolean {
  if ('tokenId' in revocation) return query.tokenId === revocation.tokenId
  if ('sessionId' in revocation) return query.sessionId === revocation.sessionId
  return query.subject === revocation.subject && (query.issuedAt === undefined || query.issuedAt < revocation.issuedBefore)
}

/** Validates a revocation given to the public API; returns a problem description or undefined. */
export function revocationProblem (value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'must be an object'
  const r = value as Record<string, unknown>
  const keys = ['tokenId', 'sessionId', 'subject'].filter((key) => r[key] !== undefined)
  if (keys.length !== 1) return 'must have exactly one of tokenId, sessionId or subject'
  const key = keys[0] as string
  if (typeof r[key] !== 'string' || (r[key] as string).length === 0) return `${key} must be a non-empty string`
  if (key === 'subject' && !Number.isFinite(r.issuedBefore)) return 'issuedBefore (ms since the epoch) is required with subject'
  if (!Number.isFinite(r.expiresAt)) return 'expiresAt must be a time in ms since the epoch'
  return undefined
}

/**
 * The default store: revocations of this process, in memory. Lookups are synchronous map
 * reads; entries are dropped once expired (lazily on lookup, and by a sweep on insertion).
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #tokens = new Map<string, number>()
  readonly #sessions = new Map<string, number>()
  /** subject → [issuedBefore, expiresAt] pairs; usually one. */
  readonly #subjects = new Map<string, Array<[number, number]>>()
  readonly #now: () => number
  #insertions = 0

  constructor (options: { clock?: Pick<Clock, 'now'> } = {}) {
    this.#now = options.clock === undefined ? Date.now : () => (options.clock as Clock).now()
  }

  /** Number of entries held (expired ones included until swept). */
  get size (): number {
    let size = this.#tokens.size + this.#sessions.size
    for (const list of this.#subjects.values()) size += list.length
    return size
  }

  revoke (revocation: Revocation): void {
    if (++this.#insertions % 256 === 0) this.#sweep()
    if ('tokenId' in revocation) {
      keepLatest(this.#tokens, revocation.tokenId, revocation.expiresAt)
    } else if ('sessionId' in revocation) {
      keepLatest(this.#sessions, revocation.sessionId, revocation.expiresAt)
    } else {
      const { issuedBefore, expiresAt } = revocation
      // An entry that covers fewer tokens for less time than the new one is dropped, so
      // repeated revocations of one subject keep the list short.
      const list = (this.#subjects.get(revocation.subject) ?? []).filter(([b, e]) => b > issuedBefore || e > expiresAt)
      list.push([issuedBefore, expiresAt])
      this.#subjects.set(revocation.subject, list)
    }
  }

  isRevoked (query: RevocationQuery): boolean {
    const now = this.#now()
    if (query.tokenId !== undefined && live(this.#tokens, query.tokenId, now)) return true
    if (query.sessionId !== undefined && live(this.#sessions, query.sessionId, now)) return true
    const list = this.#subjects.get(query.subject)
    if (list === undefined) return false
    for (const [issuedBefore, expiresAt] of list) {
      if (expiresAt > now && (query.issuedAt === undefined || query.issuedAt < issuedBefore)) return true
    }
    return false
  }

  #sweep (): void {
    const now = this.#now()
    for (const map of [this.#tokens, this.#sessions]) {
      for (const [key, expiresAt] of map) if (expiresAt <= now) map.delete(key)
    }
    for (const [subject, list] of this.#subjects) {
      const kept = list.filter(([, expiresAt]) => expiresAt > now)
      if (kept.length === 0) this.#subjects.delete(subject)
      else this.#subjects.set(subject, kept)
    }
  }
}

function keepLatest (map: Map<string, number>, key: string, expiresAt: number): void {
  const existing = map.get(key)
  if (existing === undefined || existing < expiresAt) map.set(key, expiresAt)
}

function live (map: Map<string, number>, key: string, now: number): boolean {
  const expiresAt = map.get(key)
  if (expiresAt === undefined) return false
  if (expiresAt > now) return true
  map.delete(key)
  return false
}
