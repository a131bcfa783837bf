import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import { fetchJson } from './fetch-json.ts'
import { isKeySetUrl } from './options.ts'
import type { KeySource, SignatureVerifier } from './verifier.ts'

export interface JwksSettings {
  /** The issuer: the exact `iss` expected, and where discovery starts when `url` is absent. */
  readonly issuer: string
  /** The JWKS URL; `undefined`: found through OpenID Connect discovery from `issuer`. */
  readonly url: string | undefined
  /** Algorithms the plugin accepts; a key whose algorithm is not one of them is unusable. */
  readonly algorithms: readonly string[]
  readonly cacheTtlMs: number
  readonly refetchIntervalMs: number
  readonly maxKeys: number
  /** How long a verification may wait for the key set before `handshake_timeout`. */
  readonly timeoutMs: number
}

/** What `createPublicKey` must return for each algorithm: the key is bound to exactly one. */
const KEY_TYPES: Readonly<Record<string, { type: string, curve?: string }>> = {
  RS256: { type: 'rsa' },
  RS384: { type: 'rsa' },
  RS512: { type: 'rsa' },
  PS256: { type: 'rsa' },
  PS384: { type: 'rsa' },
  PS512: { type: 'rsa' },
  ES256: { type: 'ec', curve: 'prime256v1' },
  ES384: { type: 'ec', curve: 'secp384r1' },
  ES512: { type: 'ec', curve: 'secp521r1' },
  EdDSA: { type: 'ed25519' }
}

// Below this an RSA signature is forgeable in practice (RFC 7518 §3.3 requires 2048).
const MIN_RSA_BITS = 2048

interface CachedKey {
  readonly alg: string
  readonly verify: SignatureVerifier
  /** Until then the key is used without asking the JWKS. */
  readonly freshUntil: number
  /** Until then a stale key is still used while it is fetched again (an outage of the JWKS). */
  readonly usableUntil: number
  /** A stale key is fetched again at most once per refetch interval, like an unknown one. */
  nextRefresh: number
}

/**
 * The algorithm a JWK is for. A JWK naming its `alg` is bound to it; one that does not is
 * bound to the only accepted algorithm its key type fits, and unusable when several fit
 * (an RSA key without `alg` when both RS256 and PS256 are accepted), so one key can never
 * verify tokens of two algorithms.
 */
function algorithmOf (jwk: JsonWebKey & { alg?: unknown, use?: unknown, key_ops?: unknown }, key: KeyObject, accepted: readonly string[]): string | undefined {
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined
  const fits = (alg: string): boolean => {
    const wanted = KEY_TYPES[alg]
    if (wanted === undefined || key.asymmetricKeyType !== wanted.type) return false
    const details = key.asymmetricKeyDetails
    if (wanted.type === 'rsa') return (details?.modulusLength ?? 0) >= MIN_RSA_BITS
    return wanted.curve === undefined || details?.namedCurve === wanted.curve
  }
  if (typeof jwk.alg === 'string') return accepted.includes(jwk.alg) && fits(jwk.alg) ? jwk.alg : undefined
  const candidates = accepted.filter(fits)
  return candidates.length === 1 ? candidates[0] : undefined
}

/**
 * The keys of one issuer's JWKS, fetched (fetch-json.ts) and kept, by `kid`, as ready
 * fast-jwt verifiers: a token whose key is cached is verified synchronously, as cheaply
 * as with a static key. Only a key that is not cached costs a fetch, and a `kid` the
 * cache does not know triggers at most one fetch per `refetchIntervalMs`, so tokens with
 * invented `kid`s cannot make the server hammer the issuer.
 */
export class JwksKeySource implements KeySource {
  readonly #settings: JwksSettings
  readonly #clock: Clock
  /** The set's URL: configured, or found by discovery (under way while a promise). */
  #set: string | Promise<string | ErrorDefinition> | undefined
  readonly #keys = new Map<string, CachedKey>()
  /** Fetches under way, by `kid`: concurrent handshakes with one new key share one fetch. */
  readonly #pending = new Map<string, Promise<CachedKey | ErrorDefinition>>()
  #nextUnknownFetch = Number.NEGATIVE_INFINITY
  /** What an unknown `kid` gets while fetches are held back: the last fetch's failure. */
  #heldBack: ErrorDefinition = ERRORS.token_signature_invalid
  constructor (settings: JwksSettings, clock: Clock) {
    this.#settings = settings
    this.#clock = clock
    this.#set = settings.url
  }

  /**
   * The key set's URL through OpenID Connect discovery. The document is checked: its
   * `issuer` must be exactly the configured one (OpenID Connect Discovery §4.3) and its
   * `jwks_uri` must be fetchable safely. A failed discovery is tried again at the next fetch.
   */
  async #discover (): Promise<string | ErrorDefinition> {
    const issuer = this.#settings.issuer
    const location = `${issuer.endsWith('/') ? issuer : `${issuer}/`}.well-known/openid-configuration`
    try {
      const document = await fetchJson(location, this.#settings.timeoutMs, this.#clock) as { issuer?: unknown, jwks_uri?: unknown } | null
      if (document?.issuer !== issuer || !isKeySetUrl(document.jwks_uri)) return ERRORS.jwks_unavailable
      return document.jwks_uri
    } catch {
      return ERRORS.jwks_unavailable
    }
  }

  #keySetUrl (): string | Promise<string | ErrorDefinition> {
    if (this.#set === undefined) {
      const discovered = this.#discover()
      this.#set = discovered
      discovered.then((result) => { this.#set = typeof result === 'string' ? result : undefined }, () => { this.#set = undefined })
    }
    return this.#set
  }

  holds (kid: string): boolean {
    return this.#keys.has(kid)
  }

  resolve (kid: string, alg: string): SignatureVerifier | ErrorDefinition | Promise<SignatureVerifier | ErrorDefinition> {
    const now = this.#clock.now()
    const cached = this.#keys.get(kid)
    if (cached !== undefined) {
      if (now < cached.freshUntil) return matching(cached, alg)
      let refreshed = this.#pending.get(kid)
      if (refreshed === undefined && now >= cached.nextRefresh) {
        cached.nextRefresh = now + this.#settings.refetchIntervalMs
        refreshed = this.#fetch(kid)
      }
      // Stale while revalidating: the key keeps working while the set is fetched again,
      // so a short outage of the issuer does not stop keys it published a moment ago.
      if (now < cached.usableUntil) return matching(cached, alg)
      // Past that, only a fetch can vouch for the key; the last one failed.
      return refreshed === undefined ? ERRORS.jwks_unavailable : this.#bounded(refreshed, alg)
    }
    const pending = this.#pending.get(kid)
    if (pending !== undefined) return this.#bounded(pending, alg)
    if (now < this.#nextUnknownFetch) return this.#heldBack
    this.#nextUnknownFetch = now + this.#settings.refetchIntervalMs
    const fetched = this.#fetch(kid)
    fetched.then((result) => {
      this.#heldBack = result === ERRORS.jwks_unavailable ? result : ERRORS.token_signature_invalid
    }, () => {})
    return this.#bounded(fetched, alg)
  }

  /** A fetch's outcome for a token signed with `alg`, or `handshake_timeout` if it takes too long. */
  #bounded (fetched: Promise<CachedKey | ErrorDefinition>, alg: string): Promise<SignatureVerifier | ErrorDefinition> {
    const clock = this.#clock
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => { resolve(ERRORS.handshake_timeout) }, this.#settings.timeoutMs)
      fetched.then((result) => {
        clock.clearTimeout(timer)
        resolve('verify' in result ? matching(result, alg) : result)
      }, () => {
        clock.clearTimeout(timer)
        resolve(ERRORS.jwks_unavailable)
      })
    })
  }

  /** Fetches `kid` from the set once, however many verifications ask meanwhile. Never rejects. */
  #fetch (kid: string): Promise<CachedKey | ErrorDefinition> {
    const pending = this.#pending.get(kid)
    if (pending !== undefined) return pending
    const fetched = Promise.resolve(this.#keySetUrl()).then(async (url) => {
      if (typeof url !== 'string') return url
      let document: unknown
      try {
        document = await fetchJson(url, this.#settings.timeoutMs, this.#clock)
      } catch {
        return ERRORS.jwks_unavailable
      }
      // Anything but a JWKS means the set could not be read, which must not pass for a bad token.
      const keys = (document as { keys?: unknown } | null)?.keys
      if (!Array.isArray(keys)) return ERRORS.jwks_unavailable
      const jwk = keys.find((candidate: unknown) => typeof candidate === 'object' && candidate !== null && (candidate as { kid?: unknown }).kid === kid) as Record<string, unknown> | undefined
      if (jwk === undefined) {
        // The set does not have this key (any more): it was retired, so tokens it signed are refused.
        this.#keys.delete(kid)
        return ERRORS.token_signature_invalid
      }
      return this.#store(kid, jwk)
    }).finally(() => { this.#pending.delete(kid) })
    this.#pending.set(kid, fetched)
    return fetched
  }

  #store (kid: string, jwk: Record<string, unknown>): CachedKey | ErrorDefinition {
    this.#keys.delete(kid)
    let key: KeyObject
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    } catch {
      return ERRORS.token_signature_invalid
    }
    const alg = key.type === 'public' ? algorithmOf(jwk, key, this.#settings.algorithms) : undefined
    if (alg === undefined) return ERRORS.token_signature_invalid
    const verify = createVerifier({
      key: key.export({ type: 'spki', format: 'pem' }).toString(),
      algorithms: [alg as 'RS256'],
      // Time claims are checked by claims.ts against the plugin's clock.
      ignoreExpiration: true,
      ignoreNotBefore: true
    }) as SignatureVerifier
    if (this.#keys.size >= this.#settings.maxKeys) {
      // Oldest first: Map iteration follows insertion, and a refreshed key is re-inserted.
      const oldest = this.#keys.keys().next().value
      if (oldest !== undefined) this.#keys.delete(oldest)
    }
    const now = this.#clock.now()
    const freshUntil = now + this.#settings.cacheTtlMs
    const entry = { alg, verify, freshUntil, usableUntil: freshUntil + this.#settings.cacheTtlMs, nextRefresh: freshUntil }
    this.#keys.set(kid, entry)
    return entry
  }
}

function matching (key: CachedKey, alg: string): SignatureVerifier | ErrorDefinition {
  return key.alg === alg ? key.verify : ERRORS.token_algorithm_not_allowed
}
