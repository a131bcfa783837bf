import { TokenError } from 'fast-jwt'
import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import { checkClaims, type ClaimRules, type StandardClaims } from './claims.ts'
import type { Clock } from './clock.ts'
import { isErrorDefinition } from './credential.ts'
import { normaliseType } from './options.ts'

/** A token that passed signature and claim checks. The token itself is not kept. */
export class VerifiedCredential<Claims extends StandardClaims = StandardClaims> {
  readonly claims: Claims
  /** When the server closes the connection unless it renews: `exp` plus the clock tolerance, in ms. */
  readonly deadline: number
  /** When it was verified (ms): no later than that is it considered issued. */
  readonly #verifiedAt: number

  constructor (claims: Claims, deadline: number, verifiedAt = Number.POSITIVE_INFINITY) {
    this.claims = claims
    this.deadline = deadline
    this.#verifiedAt = verifiedAt
  }

  get subject (): string {
    return this.claims.sub
  }

  get sessionId (): string | undefined {
    return this.claims.sid
  }

  /** The token's `jti`, if any. */
  get tokenId (): string | undefined {
    const jti = (this.claims as { jti?: unknown }).jti
    return typeof jti === 'string' ? jti : undefined
  }

  /**
   * The token's `iat` in ms, if any, clamped to when it was verified: an `iat` ahead of the
   * server's clock (within the clock tolerance) must not let the token escape a revocation
   * of its subject's tokens issued before now.
   */
  get issuedAt (): number | undefined {
    const iat = (this.claims as { iat?: unknown }).iat
    return typeof iat === 'number' && Number.isFinite(iat) ? Math.min(iat * 1000, this.#verifiedAt) : undefined
  }
}

const MAX_CACHED_HEADERS = 64

// A protected header is a few dozen bytes; anything this long is refused unread.
const MAX_HEADER_SEGMENT = 1024

/** The parts of a protected header that pick the key. */
interface SignedHeader {
  readonly alg: string
  readonly kid: unknown
}

/**
 * Checks the protected header before any cryptography: `alg` in the allowlist (exact
 * case), no `crit` (this verifier implements no header extension, so RFC 7515 §4.1.11
 * requires refusing any), `typ` if present in the accepted set (and present, when the
 * access-token profile requires it). Hand-written because fast-jwt runs these checks only
 * inside `verify`, after more work.
 */
function readHeader (token: string, algorithms: ReadonlySet<string>, types: ReadonlySet<string>, typeRequired: boolean): ErrorDefinition | SignedHeader {
  const end = token.indexOf('.')
  if (end > MAX_HEADER_SEGMENT) return ERRORS.token_malformed
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString())
  } catch {
    return ERRORS.token_malformed
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return ERRORS.token_malformed
  const { alg, typ, crit, kid } = header as { alg?: unknown, typ?: unknown, crit?: unknown, kid?: unknown }
  if (typeof alg !== 'string' || !algorithms.has(alg)) return ERRORS.token_algorithm_not_allowed
  if (crit !== undefined) return ERRORS.token_malformed
  if (typ === undefined ? typeRequired : (typeof typ !== 'string' || !types.has(normaliseType(typ)))) return ERRORS.token_type_invalid
  return { alg, kid }
}

// Compact JWS: three base64url segments. Checked before any decoding or cryptography.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

const FAST_JWT_ERRORS: Readonly<Record<string, ErrorDefinition>> = {
  [TokenError.codes.malformed]: ERRORS.token_malformed,
  [TokenError.codes.invalidPayload]: ERRORS.token_malformed,
  [TokenError.codes.invalidType]: ERRORS.token_malformed,
  [TokenError.codes.invalidCritHeader]: ERRORS.token_malformed,
  [TokenError.codes.invalidAlgorithm]: ERRORS.token_algorithm_not_allowed,
  [TokenError.codes.invalidSignature]: ERRORS.token_signature_invalid,
  [TokenError.codes.missingSignature]: ERRORS.token_signature_invalid,
  [TokenError.codes.verifyError]: ERRORS.token_signature_invalid,
  [TokenError.codes.expired]: ERRORS.token_expired,
  [TokenError.codes.inactive]: ERRORS.token_not_yet_valid,
  [TokenError.codes.missingRequiredClaim]: ERRORS.token_claims_invalid,
  [TokenError.codes.invalidClaimType]: ERRORS.token_claims_invalid,
  [TokenError.codes.invalidClaimValue]: ERRORS.token_claims_invalid
}

/**
 * Maps a verification failure to a protocol error. fast-jwt errors carry the decoded
 * token as enumerable properties, so only their `code` is ever read; anything unknown
 * fails closed as `unauthorized`.
 */
export function errorFromVerification (err: unknown): ErrorDefinition {
  const code = (err as { code?: unknown } | null)?.code
  return (typeof code === 'string' && FAST_JWT_ERRORS[code]) || ERRORS.unauthorized
}

/** Signature check of a compact JWT, returning its payload. @fastify/jwt's `verify`. */
export type SignatureVerifier = (token: string) => unknown

/** Keys chosen by the token's `kid` (a JWKS): synchronous when the key is at hand. */
export interface KeySource {
  /** Whether `kid` can be resolved without a fetch. */
  holds (kid: string): boolean
  resolve (kid: string, alg: string): SignatureVerifier | ErrorDefinition | Promise<SignatureVerifier | ErrorDefinition>
}

export type Verification = VerifiedCredential | ErrorDefinition

export class TokenVerifier {
  readonly #verifySignature: SignatureVerifier | undefined
  readonly #keys: KeySource | undefined
  readonly #rules: ClaimRules
  readonly #clock: Clock
  readonly #algorithms: ReadonlySet<string>
  readonly #types: ReadonlySet<string>
  readonly #typeRequired: boolean
  /**
   * Verdicts of the header check by header segment: an issuer's tokens share a handful of
   * headers, so this is usually one entry per key. Bounded: once full, new headers are
   * checked every time instead of cached, so junk headers cannot grow it.
   */
  readonly #headers = new Map<string, ErrorDefinition | SignedHeader>()
  readonly maxTokenLength: number

  /** `keys`: one static key (a signature verifier) or a key source such as a JWKS. */
  constructor (keys: SignatureVerifier | KeySource, rules: ClaimRules, limits: { maxTokenLength: number, algorithms: readonly string[], types: ReadonlySet<string>, typeRequired?: boolean }, clock: Clock) {
    if (typeof keys === 'function') this.#verifySignature = keys
    else this.#keys = keys
    this.#rules = rules
    this.#clock = clock
    this.#algorithms = new Set(limits.algorithms)
    this.#types = limits.types
    this.#typeRequired = limits.typeRequired ?? false
    this.maxTokenLength = limits.maxTokenLength
  }

  /**
   * Verifies a token. Synchronous with a static key or a cached key; a promise (which
   * never rejects) only while a key source fetches a key it does not hold.
   */
  verify (token: string): Verification | Promise<Verification> {
    if (token.length > this.maxTokenLength) return ERRORS.token_too_large
    if (!COMPACT_JWS.test(token)) return ERRORS.token_malformed
    const segment = token.slice(0, token.indexOf('.'))
    let header = this.#headers.get(segment)
    if (header === undefined) {
      header = readHeader(token, this.#algorithms, this.#types, this.#typeRequired)
      if (this.#headers.size < MAX_CACHED_HEADERS) this.#headers.set(segment, header)
    }
    if (isErrorDefinition(header)) return header
    if (this.#verifySignature !== undefined) return this.#check(this.#verifySignature, token)
    // A key set is searched by `kid` only: trying every key would let one key stand in for another.
    if (typeof header.kid !== 'string' || header.kid.length === 0) return ERRORS.token_malformed
    const keys = this.#keys as KeySource
    if (!keys.holds(header.kid)) {
      // Before fetching a key, the claims are read unverified: a token they refuse anyway
      // (another issuer's, another audience's, expired) costs no fetch and is told why.
      // Refusing on unverified claims is safe; only accepting needs the signature.
      const problem = this.#unverifiedClaimsProblem(token)
      if (problem !== undefined) return problem
    }
    const key = keys.resolve(header.kid, header.alg)
    if (typeof key === 'function') return this.#check(key, token)
    if (key instanceof Promise) return key.then((found) => typeof found === 'function' ? this.#check(found, token) : found)
    return key
  }

  #unverifiedClaimsProblem (token: string): ErrorDefinition | undefined {
    let payload: unknown
    try {
      payload = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')), 'base64url').toString())
    } catch {
      return ERRORS.token_malformed
    }
    const verdict = checkClaims(payload, this.#rules, this.#clock.now())
    return typeof verdict === 'number' ? undefined : verdict
  }

  #check (verifySignature: SignatureVerifier, token: string): Verification {
    let payload: unknown
    try {
      payload = verifySignature(token)
    } catch (err) {
      return errorFromVerification(err)
    }
    const now = this.#clock.now()
    const deadline = checkClaims(payload, this.#rules, now)
    if (typeof deadline !== 'number') return deadline
    return new VerifiedCredential(payload as StandardClaims, deadline, now)
  }
}
