import type { WsAuthJwksOptions, WsAuthOptions, WsAuthRouteOptions, WsAuthVerifyOptions } from './options.ts'
import type { RateLimit } from './token-bucket.ts'

/**
 * Every key each options object accepts. `satisfies` and {@link Exhaustive} make the
 * compiler fail when an option is added to an interface but not here, so the runtime
 * check below can never refuse a documented option.
 */
type Exhaustive<T, K extends readonly PropertyKey[]> = [Exclude<keyof T, K[number]>] extends [never] ? K : ['these keys are missing:', Exclude<keyof T, K[number]>]
function keys<T> () {
  return <const K extends ReadonlyArray<keyof T>>(list: Exhaustive<T, K>): readonly string[] => list as readonly string[]
}

export const OPTION_KEYS = keys<WsAuthOptions>()(['verify', 'allowedOrigins', 'cookie', 'renewBefore', 'maxRenewalFailures',
  'authTimeout', 'maxPreAuthPayload', 'maxPreAuthPayloadTotal', 'refusal', 'authorize', 'closeTimeout', 'handshakeLimit', 'maxConnections',
  'maxConnectionsPerSubject', 'connectionLimitPolicy', 'messageLimit', 'renewalLimit', 'handshakeTimeout',
  'heartbeatInterval', 'headersTimeout', 'maxBufferedAmount', 'revocationStore', 'connectionCounter', 'revocationRetention', 'websocket',
  'clock'])
export const VERIFY_KEYS = keys<WsAuthVerifyOptions>()(['algorithms', 'key', 'jwks', 'profile', 'requiredScopes', 'issuer',
  'audience', 'clockTolerance', 'maxTokenLength', 'allowedTypes'])
export const JWKS_KEYS = keys<WsAuthJwksOptions>()(['url', 'cacheTtl', 'refetchInterval', 'maxKeys'])
export const ROUTE_KEYS = keys<WsAuthRouteOptions>()(['authFrame', 'authorize'])
export const RATE_LIMIT_KEYS = keys<RateLimit>()(['max', 'timeWindow'])
export const COOKIE_KEYS = keys<NonNullable<WsAuthOptions['cookie']>>()(['name'])

/**
 * The first own key of `value` that `known` does not list, with the closest known key
 * when one is near enough to be a typo. Hand-written: an edit distance over a dozen short
 * names does not justify a dependency.
 */
export function unknownKey (value: object, known: readonly string[]): { key: string, closest: string | undefined } | undefined {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    let closest: string | undefined
    let best = Math.max(2, Math.floor(key.length / 3)) + 1
    for (const candidate of known) {
      const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
      if (distance < best) {
        best = distance
        closest = candidate
      }
    }
    return { key, closest }
  }
  return undefined
}

/** Levenshtein distance with adjacent transpositions counted as one edit ("audiance"/"audience" is 1). */
function editDistance (a: string, b: string): number {
  let previous2: number[] = []
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let distance = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, (previous2[j - 2] as number) + 1)
      current.push(distance)
    }
    previous2 = previous
    previous = current
  }
  return previous[b.length] as number
}
