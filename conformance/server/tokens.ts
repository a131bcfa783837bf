import { createHmac, randomBytes } from 'node:crypto'

export interface IssuedToken {
  token: string
  /** When the kit issued it, ms on the kit's clock. */
  issuedAt: number
  /** Its deadline, ms (`exp` × 1000). */
  deadline: number
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Signs the kit's tokens (HS256, a key made for the run). Hand-assembled because fast-jwt's
 * signer insists on an integer `exp` and the kit's tokens live a few seconds, with
 * fractional `exp` as RFC 7519 allows. Clients treat them as opaque (they MAY read `exp`).
 */
export class TokenIssuer {
  readonly #key = randomBytes(32)
  #serial = 0

  issue (claims: { sub: string, sid: string }, lifetimeMs: number, skewMs = 0): IssuedToken {
    const issuedAt = Date.now()
    const deadline = issuedAt + skewMs + lifetimeMs
    const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, iat: (issuedAt + skewMs) / 1000, exp: deadline / 1000, jti: `t${++this.#serial}` })}`
    const token = `${input}.${createHmac('sha256', this.#key).update(input).digest('base64url')}`
    return { token, issuedAt, deadline }
  }
}

/** A token as the timeline shows it: enough to tell tokens apart, not the whole of it. */
export function abbreviate (token: string): string {
  return token.length <= 16 ? token : `${token.slice(0, 6)}…${token.slice(-8)}`
}
