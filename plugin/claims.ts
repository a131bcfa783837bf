import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'

/** The registered claims the plugin reads; tokens may carry any others. */
export interface StandardClaims {
  sub: string
  exp: number
  sid?: string
  iat?: number
  nbf?: number
  iss?: string
  aud?: string | string[]
  jti?: string
  [claim: string]: unknown
}

export interface ClaimRules {
  /** Accepted `iss` values; the claim is then required. */
  readonly issuers: readonly string[] | undefined
  /** Accepted `aud` values; the claim is then required and must contain one of them. */
  readonly audiences: readonly string[] | undefined
  readonly clockToleranceMs: number
  /** Scopes the token's `scope` (space-separated, RFC 9068 §2.2.3) must all grant; else `forbidden`. */
  readonly requiredScopes?: readonly string[] | undefined
}

// Dates past this are not representable (ECMAScript's time value limit).
const MAX_EPOCH_MS = 8.64e15
const MAX_SUBJECT_LENGTH = 1024

function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value * 1000 <= MAX_EPOCH_MS
}

function isIdentifier (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBJECT_LENGTH
}

/**
 * Checks the claims of a token whose signature is already verified, at time `now`.
 * Done here rather than in fast-jwt because fast-jwt accepts `exp == now` (RFC 7519
 * says "on or after which the JWT MUST NOT be accepted") and reads the process clock,
 * where expiry must follow the plugin's injectable clock; and so that each failure gets
 * its own stable error code. Returns the connection deadline in ms, or the error.
 */
export function checkClaims (payload: unknown, rules: ClaimRules, now: number): number | ErrorDefinition {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return ERRORS.token_claims_invalid
  const claims = payload as Record<string, unknown>
  const { exp, nbf, iat, sub, sid, iss, aud } = claims
  if (!isNumericDate(exp) || !isIdentifier(sub)) return ERRORS.token_claims_invalid
  if (nbf !== undefined && !isNumericDate(nbf)) return ERRORS.token_claims_invalid
  if (iat !== undefined && !isNumericDate(iat)) return ERRORS.token_claims_invalid
  if (sid !== undefined && !isIdentifier(sid)) return ERRORS.token_claims_invalid

  if (rules.issuers !== undefined) {
    if (typeof iss !== 'string' || !rules.issuers.includes(iss)) return ERRORS.token_issuer_invalid
  } else if (iss !== undefined && typeof iss !== 'string') {
    return ERRORS.token_claims_invalid
  }

  if (rules.audiences !== undefined) {
    const audiences = rules.audiences
    const ok = typeof aud === 'string'
      ? audiences.includes(aud)
      : Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.some((a) => audiences.includes(a as string))
    if (!ok) return ERRORS.token_audience_invalid
  }

  // Whole ms (the protocol's integer `expiresAt`), rounded down: a fractional `exp` (RFC 7519
  // allows one) or tolerance never moves the deadline later.
  const deadline = Math.floor(exp * 1000 + rules.clockToleranceMs)
  if (now >= deadline) return ERRORS.token_expired
  if (nbf !== undefined && now < nbf * 1000 - rules.clockToleranceMs) return ERRORS.token_not_yet_valid
  // An `iat` ahead of this clock is not refused (an issuer's clock a second ahead would
  // refuse its fresh tokens under the default tolerance of 0); VerifiedCredential.issuedAt
  // clamps it to the verification time, so it cannot escape a revocation by `issuedBefore`.

  // Last: a token that is valid but grants too little is an authorization refusal (RFC 6750
  // insufficient_scope is a 403), not a bad credential.
  if (rules.requiredScopes !== undefined) {
    const { scope } = claims
    if (scope !== undefined && typeof scope !== 'string') return ERRORS.token_claims_invalid
    const granted = typeof scope === 'string' ? scope.split(' ') : []
    if (!rules.requiredScopes.every((wanted) => granted.includes(wanted))) return ERRORS.forbidden
  }
  return deadline
}
