import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import { revocationMatches, type Revocation, type RevocationQuery, type RevocationStore } from './revocation.ts'

/** The lookup key of a verified credential. */
export function queryOf (credential: { subject: string, tokenId: string | undefined, sessionId: string | undefined, issuedAt: number | undefined }): RevocationQuery {
  return { subject: credential.subject, tokenId: credential.tokenId, sessionId: credential.sessionId, issuedAt: credential.issuedAt }
}

interface Recent {
  readonly sequence: number
  readonly at: number
  readonly revocation: Revocation
}

/**
 * The plugin's side of revocation: asks the store (failing closed when it cannot answer)
 * and remembers recent revocations, so that a handshake checked just before a revocation
 * and upgraded just after it is still caught when its connection registers.
 */
export class RevocationTracker {
  readonly store: RevocationStore
  readonly #clock: Clock
  readonly #windowMs: number
  #recent: Recent[] = []
  #sequence = 0

  /** `windowMs`: how long a revocation is remembered here; longer than any handshake lasts. */
  constructor (store: RevocationStore, clock: Clock, windowMs: number) {
    this.store = store
    this.#clock = clock
    this.#windowMs = windowMs
  }

  /** Marks a point in time; pass it to {@link revokedSince} later. */
  get sequence (): number {
    return this.#sequence
  }

  /** Remembers a revocation applied to this process. */
  record (revocation: Revocation): void {
    const now = this.#clock.now()
    this.#recent.push({ sequence: ++this.#sequence, at: now, revocation })
    const horizon = now - this.#windowMs
    if ((this.#recent[0] as Recent).at < horizon) this.#recent = this.#recent.filter((r) => r.at >= horizon)
  }

  /** Whether a revocation recorded after `sequence` matches `query`. */
  revokedSince (sequence: number, query: RevocationQuery): boolean {
    if (sequence === this.#sequence) return false
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const recent = this.#recent[i] as Recent
      if (recent.sequence <= sequence) break
      if (revocationMatches(recent.revocation, query)) return true
    }
    return false
  }

  /**
   * `credential_revoked`, `revocation_unavailable` (the store threw or rejected), or
   * `undefined` when the credential may proceed; synchronous when the store is.
   */
  check (query: RevocationQuery): ErrorDefinition | undefined | Promise<ErrorDefinition | undefined> {
    let answer: boolean | Promise<boolean>
    try {
      answer = this.store.isRevoked(query)
    } catch {
      return ERRORS.revocation_unavailable
    }
    if (typeof answer === 'boolean') return answer ? ERRORS.credential_revoked : undefined
    return Promise.resolve(answer).then(
      (revoked) => revoked === true ? ERRORS.credential_revoked : revoked === false ? undefined : ERRORS.revocation_unavailable,
      () => ERRORS.revocation_unavailable)
  }
}
