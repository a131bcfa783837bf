import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { JWKS_AUDIENCE, JWKS_ISSUER, type BenchKeys, type SigningAlgorithm } from './protocol.ts'

export interface TokenClaims {
  sub: string
  sid: string
  /** Seconds since the epoch; fractional for HS256 so deadlines can be spread by the millisecond. */
  exp: number
  jti?: string
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Signs tokens for one algorithm. HS256 tokens are assembled by hand because fast-jwt's
 * signer rounds `exp` to whole seconds, and the expiry scenario spreads deadlines by the
 * millisecond (RFC 7519 NumericDates may be fractional; the plugin accepts them).
 */
export class TokenFactory {
  readonly #algorithm: SigningAlgorithm
  readonly #hmacKey: string
  readonly #sign: ((payload: Record<string, unknown>) => string) | undefined
  /** `iss` and `aud` of a JWKS token, as an identity provider would set them. */
  readonly #issuedBy: { iss?: string, aud?: string } = {}
  #counter = 0
  readonly #prefix = randomBytes(4).toString('hex')

  constructor (keys: BenchKeys, algorithm: SigningAlgorithm, badSignature = false) {
    this.#algorithm = algorithm
    // A bad signature: the right algorithm and a well-formed token, signed with another key.
    this.#hmacKey = badSignature ? `${keys.hmacSecret}-not-the-key` : keys.hmacSecret
    if (algorithm.startsWith('jwks-')) {
      const alg = algorithm.slice(5) as keyof BenchKeys['jwks']
      const key = badSignature ? otherKey(alg) : keys.jwks[alg].privateKey
      this.#sign = createSigner({ key, algorithm: alg, kid: jwksKeyId(alg) }) as unknown as (payload: Record<string, unknown>) => string
      this.#issuedBy = { iss: JWKS_ISSUER, aud: JWKS_AUDIENCE }
    } else if (algorithm !== 'HS256') {
      const alg = algorithm as 'ES256' | 'EdDSA' | 'RS256'
      const key = badSignature ? otherKey(alg) : staticKeyPair(keys, alg).privateKey
      this.#sign = createSigner({ key, algorithm: alg }) as unknown as (payload: Record<string, unknown>) => string
    }
  }

  sign (claims: TokenClaims): string {
    const payload = { ...claims, jti: claims.jti ?? `${this.#prefix}-${this.#counter++}`, iat: Math.floor(Date.now() / 1000) }
    if (this.#sign !== undefined) return this.#sign({ ...payload, ...this.#issuedBy, exp: Math.floor(payload.exp) })
    const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`
    return `${input}.${createHmac('sha256', this.#hmacKey).update(input).digest('base64url')}`
  }
}

/** The run's static key pair for a public-key algorithm (not the JWKS keys). */
export function staticKeyPair (keys: BenchKeys, algorithm: 'ES256' | 'EdDSA' | 'RS256'): { privateKey: string, publicKey: string } {
  return algorithm === 'ES256' ? keys.es256 : algorithm === 'EdDSA' ? keys.eddsa : keys.rs256
}

/** The `kid` of the run's JWKS key for `alg`. */
export const jwksKeyId = (alg: string): string => `bench-${alg.toLowerCase()}`

function otherKey (algorithm: 'RS256' | 'ES256' | 'EdDSA'): string {
  const pair = algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : algorithm === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}
