import { TokenError } from 'fast-jwt'
import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import { checkClaims, type ClaimRules, type StandardClaims } from './claims.ts'
import type { Clock } from './clock.ts'
import { normaliseType } from './options.ts'

/** A token that passed signature and claim checks. The token itself is not kept. */
export class VerifiedCredential<Claims extends StandardClaims = StandardClaims> {
  readonly claims: Claims
  /** When the server closes the connection unless it renews: `exp` plus the clock tolerance, in ms. */
  readonly deadline: number

  constructor (claims: Claims, deadline: number) {
    this.claims = claims
    this.deadline = deadline
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

  /** The token's `iat` in ms, if any. */
  get issuedAt (): number | undefined {
    const iat = (this.claims as { iat?: unknown }).iat
    return typeof iat === 'number' && Number.isFinite(iat) ? iat * 1000 : undefined
  }
}

const MAX_CACHED_HEADERS = 64

// A protected header is a few dozen bytes; anything this long is refused unread.
const MAX_HEADER_SEGMENT = 1024

/**
 * Checks the protected header before any cryptography: `alg` in the allowlist (exact
 * case), no `crit` (this verifier implements no header extension, so RFC 7515 §4.1.11
 * requires refusing any), `typ` if present in the accepted set. Hand-written because
 * fast-jwt runs these checks only inside `verify`, after more work.
 */
function headerProblem (token: string, algorithms: ReadonlySet<string>, types: ReadonlySet<string>): ErrorDefinition | undefined {
  const end = token.indexOf('.')
  if (end > MAX_HEADER_SEGMENT) return ERRORS.token_malformed
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, end), 'base64url').toString())
  } catch {
    return ERRORS.token_malformed
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return ERRORS.token_malformed
  const { alg, typ, crit } = header as { alg?: unknown, typ?: unknown, crit?: unknown }
  if (typeof alg !== 'string' || !algorithms.has(alg)) return ERRORS.token_algorithm_not_allowed
  if (crit !== undefined) return ERRORS.token_malformed
  if (typ !== undefined && (typeof typ !== 'string' || !types.has(normaliseType(typ)))) return ERRORS.token_type_invalid
  return undefined
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

export class TokenVerifier {
  readonly #verifySignature: SignatureVerifier
  readonly #rules: ClaimRules
  readonly #clock: Clock
  readonly #algorithms: ReadonlySet<string>
  readonly #types: ReadonlySet<string>
  /**
   * Verdicts of the header check by header segment: an issuer's tokens share a handful of
   * headers, so this is usually one entry. Bounded: once full, new headers are checked
   * every time instead of cached, so junk headers cannot grow it.
   */
  readonly #headers = new Map<string, ErrorDefinition | null>()
  readonly maxTokenLength: number

  constructor (verifySignature: SignatureVerifier, rules: ClaimRules, limits: { maxTokenLength: number, algorithms: readonly string[], types: ReadonlySet<string> }, clock: Clock) {
    this.#verifySignature = verifySignature
    this.#rules = rules
    this.#clock = clock
    this.#algorithms = new Set(limits.algorithms)
    this.#types = limits.types
    this.maxTokenLength = limits.maxTokenLength
  }

  verify (token: string): VerifiedCredential | ErrorDefinition {
    if (token.length > this.maxTokenLength) return ERRORS.token_too_large
    if (!COMPACT_JWS.test(token)) return ERRORS.token_malformed
    const header = token.slice(0, token.indexOf('.'))
    let problem = this.#headers.get(header)
    if (problem === undefined) {
      problem = headerProblem(token, this.#algorithms, this.#types) ?? null
      if (this.#headers.size < MAX_CACHED_HEADERS) this.#headers.set(header, problem)
    }
    if (problem !== null) return problem
    let payload: unknown
    try {
      payload = this.#verifySignature(token)
    } catch (err) {
      return errorFromVerification(err)
    }
    const deadline = checkClaims(payload, this.#rules, this.#clock.now())
    if (typeof deadline !== 'number') return deadline
    return new VerifiedCredential(payload as StandardClaims, deadline)
  }
}
