import type { Algorithm } from 'fast-jwt'
import type { FastifyRequest } from 'fastify'
import type { ServerOptions as WsServerOptions } from 'ws'
import { MAX_TOKEN_LENGTH } from '../protocol/index.ts'
import type { StandardClaims } from './claims.ts'
import { MAX_TIMER_DELAY_MS, type Clock } from './clock.ts'
import type { ConnectionCounter } from './connection-counter.ts'
import { InvalidOptionError } from './errors.ts'
import { COOKIE_KEYS, JWKS_KEYS, OPTION_KEYS, RATE_LIMIT_KEYS, ROUTE_KEYS, unknownKey, VERIFY_KEYS } from './option-keys.ts'
import { OriginPolicy } from './origin.ts'
import { MemoryRevocationStore, type RevocationStore } from './revocation.ts'
import type { RateLimit } from './token-bucket.ts'

/** Claims of a verified token. Augment this interface to type your own claims. */
export interface WsAuthClaims extends StandardClaims {}

/**
 * Decides whether a verified identity may use a route. Called at the handshake and again
 * on every renewal. Return `false` to refuse with `forbidden` (HTTP 403 before the
 * upgrade, close code 4403 after it; a refused renewal keeps the old deadline). A throw
 * or rejection refuses with the generic `unauthorized` and is logged by its message only.
 */
export type Authorize = (claims: WsAuthClaims, request: FastifyRequest) => boolean | Promise<boolean>

export type SigningAlgorithm = Exclude<Algorithm, 'none'>

/**
 * Keys from an issuer's JSON Web Key Set, chosen by the token's `kid`. Each key is bound to
 * one algorithm: its JWK's `alg`, or the only accepted algorithm its key type fits.
 */
export interface WsAuthJwksOptions {
  /**
   * The JWKS URL (`https:`, or `http:` on a loopback address).
   * @default found by OpenID Connect discovery: `jwks_uri` of `<issuer>/.well-known/openid-configuration`
   */
  url?: string
  /**
   * How long a fetched key is used without asking the set again, in ms. A stale key keeps
   * working for as long again while it is fetched again (an outage of the issuer), then
   * tokens it signed are refused with `jwks_unavailable` until the set answers.
   * @default 600000 (10 min)
   */
  cacheTtl?: number
  /**
   * Fewest ms between two fetches caused by a `kid` the cache does not hold (and between two
   * refreshes of one stale key): tokens with invented `kid`s cannot make the server hammer
   * the issuer. Meanwhile such tokens are refused with `token_signature_invalid` (or
   * `jwks_unavailable` if the last fetch failed). @default 30000
   */
  refetchInterval?: number
  /** Most keys kept. @default 32 */
  maxKeys?: number
}

export interface WsAuthVerifyOptions {
  /** Accepted signing algorithms. Required; `none` is never accepted. All must fit `key` (or be public-key algorithms, with `jwks`). */
  algorithms: readonly SigningAlgorithm[]
  /**
   * The one verification key: an HMAC secret (at least as many bytes as the hash, e.g.
   * 32 for HS256) or a PEM public key. fast-jwt binds it to its algorithm family, so an
   * HS256 token "signed" with an RSA/EC public key is refused. Exactly one of `key` and
   * `jwks` is required.
   */
  key?: string | Buffer
  /**
   * Verify with the keys an issuer publishes (OpenID Connect, OAuth 2.0). Requires one
   * `issuer` (its URL) and `audience`. Exactly one of `key` and `jwks` is required.
   */
  jwks?: WsAuthJwksOptions
  /**
   * `'rfc9068'`: the JWT access-token profile. The header `typ` must be `at+jwt` (a token
   * without `typ`, such as an OpenID Connect ID token, is refused with `token_type_invalid`),
   * and `issuer` and `audience` are required. @default undefined (any `allowedTypes`, `typ` optional)
   */
  profile?: 'rfc9068'
  /** Scopes the token's `scope` claim must all grant; a token lacking one is refused with `forbidden`. */
  requiredScopes?: readonly string[]
  /** Accepted `iss` values. When set, `iss` is required and must equal one of them. With `jwks`: exactly one, the issuer's URL. */
  issuer?: string | readonly string[]
  /** Accepted audiences. When set, `aud` is required and must contain one of them. */
  audience?: string | readonly string[]
  /** Allowed clock skew, in seconds, for `exp` and `nbf`. @default 0 (at most 300) */
  clockTolerance?: number
  /** Longest token accepted, in characters. @default 8192 */
  maxTokenLength?: number
  /**
   * Accepted values of the token header's `typ`, compared case-insensitively without an
   * `application/` prefix; a token without `typ` is accepted. Keeps refresh tokens and ID
   * tokens with their own `typ` out. @default ['JWT', 'at+jwt']
   */
  allowedTypes?: readonly string[]
}

/** What happens when a subject already has `maxConnectionsPerSubject` live connections. */
export type ConnectionLimitPolicy = 'refuse' | 'close-oldest'

export type RefusalMode = 'auto' | 'status' | 'close'

export interface WsAuthOptions {
  /** Token verification. Required. */
  verify: WsAuthVerifyOptions
  /**
   * Exact list of allowed Origins (`scheme://host[:port]`). A handshake with an Origin
   * not in it is refused with 403 `origin_not_allowed`; one without Origin is allowed
   * only when its credential is not a cookie. Required when `cookie` is set.
   * @default undefined (Origin not checked)
   */
  allowedOrigins?: readonly string[]
  /** Accept the credential from this HttpOnly cookie. Requires `allowedOrigins`. @default undefined (off) */
  cookie?: { name: string }
  /**
   * How long before the deadline `renew_required` is sent, in ms, but never more than half
   * the time the credential had left when it was accepted: a credential with less than
   * twice this left is asked at its midpoint (SPEC.md section 6, rule 2).
   * @default 30000
   */
  renewBefore?: number
  /** Failed renewals in a row before the connection is closed with 4429 `renewal_attempts_exceeded`. @default 3 */
  maxRenewalFailures?: number
  /** Time a client has to send its `auth` frame on routes that allow it, in ms; then 4408 `auth_timeout`. @default 5000 */
  authTimeout?: number
  /**
   * Bytes a connection may send before it is authenticated (auth-frame mode), in total: the
   * `auth` frame and every message held behind it while it is checked. More closes with 1009.
   * @default 16384
   */
  maxPreAuthPayload?: number
  /**
   * Bytes held for all connections of the process not yet authenticated (auth-frame mode),
   * in total: a message that would pass it closes its connection with `server_busy`
   * (4503, retry). At least `maxPreAuthPayload`.
   * @default 67108864 (64 MiB)
   */
  maxPreAuthPayloadTotal?: number
  /**
   * How a handshake with a bad credential is refused. `status`: an HTTP error response.
   * `close`: the upgrade completes, the server sends one `auth_error` and closes with its
   * close code, and the route handler never runs (browsers hide HTTP statuses of failed
   * upgrades, but not close codes; so does Node's global WebSocket). `auto`: `close` when
   * the request offers the `wsauth.v1` subprotocol (every protocol client does) or has an
   * Origin header (it comes from a browser), `status` otherwise. Malformed requests (HTTP
   * 400, query credentials included), foreign Origins and rate-limited handshakes are
   * always refused with an HTTP status.
   * @default 'auto'
   */
  refusal?: RefusalMode
  /** Authorization hook for every authenticated route; a route's own `authorize` replaces it. */
  authorize?: Authorize
  /** After the server sends a close frame, how long the peer has to answer before the socket is destroyed, in ms. @default 2000 */
  closeTimeout?: number
  /**
   * Handshakes per client address (`request.ip`, which honours Fastify's `trustProxy`)
   * through @fastify/rate-limit, checked before anything else; over it: HTTP 429
   * `handshake_rate_limited` with `retry-after`. `false` disables it.
   * @default { max: 100, timeWindow: 10000 }
   */
  handshakeLimit?: RateLimit | false
  /** Live authenticated connections of this process; more are refused with `server_busy` (503 / 4503). @default 10000 */
  maxConnections?: number
  /** Live connections per subject (`sub`), in this process. @default 100 */
  maxConnectionsPerSubject?: number
  /**
   * At the per-subject limit, `refuse` refuses the new connection (`too_many_connections`,
   * 429 / 4429); `close-oldest` accepts it and closes the subject's oldest connection with
   * `connection_superseded` (4409). @default 'refuse'
   */
  connectionLimitPolicy?: ConnectionLimitPolicy
  /** Inbound messages per connection (a token bucket); over it the connection is closed with 4429 `message_rate_exceeded`. `false` disables it. @default { max: 1000, timeWindow: 1000 } */
  messageLimit?: RateLimit | false
  /**
   * Budget for unsolicited renewals, per connection (a token bucket). A `renew` the schedule
   * asked for (from the midpoint of the current credential's life, so always after
   * `renew_required`, while no other renewal is being checked) is never charged; any other
   * `renew` or reserved frame is, and over the budget it is refused with
   * `renewal_rate_limited` before any verification and counts as a failed renewal.
   * `false` disables it. @default { max: 5, timeWindow: 60000 }
   */
  renewalLimit?: RateLimit | false
  /** Time the asynchronous checks of a handshake or renewal (revocation store, `authorize`) have, in ms; then `handshake_timeout`. @default 5000 */
  handshakeTimeout?: number
  /**
   * Time a connection of the server has, from its accept (on a TLS server, from the end of
   * the TLS handshake), to deliver the complete headers of its first request, in ms; then it
   * is answered 408 and closed. Applies to every connection of the server the plugin is
   * registered on (the route is not known before the headers are), not to HTTP/2. 0 disables
   * it (Node's own `headersTimeout` then applies, enforced only every 30 s). @default 10000
   */
  headersTimeout?: number
  /** Interval of heartbeat pings, in ms; a peer that has not answered the previous ping is closed with 4408 `heartbeat_timeout`. 0 disables. @default 30000 */
  heartbeatInterval?: number
  /** Bytes that may wait in the send buffer of one connection; more closes it with 4413 `send_buffer_overflow`. @default 4194304 (4 MiB) */
  maxBufferedAmount?: number
  /**
   * Where revocations are kept and looked up. A shared store (`fastify-ws-auth/redis`)
   * also carries revocations and `close`/`renew` commands to every instance.
   * @default a new `MemoryRevocationStore` (this process only)
   */
  revocationStore?: RevocationStore
  /**
   * Counts connections per subject across instances, so `maxConnectionsPerSubject` holds
   * for the whole deployment (`fastify-ws-auth/redis`). @default undefined (this process's connections only)
   */
  connectionCounter?: ConnectionCounter
  /** How long a revocation given without `expiresAt` is kept, in ms: make it your longest credential lifetime. @default 86400000 (24 h) */
  revocationRetention?: number
  /** Options for the `ws` server (passed to @fastify/websocket). `maxPayload` defaults to 1 MiB here. */
  websocket?: Omit<WsServerOptions, 'noServer' | 'server' | 'port' | 'host' | 'path' | 'handleProtocols' | 'WebSocket'>
  /** Time source for deadlines. @default the system clock */
  clock?: Clock
}

export interface WsAuthRouteOptions {
  /** Accept the credential in an `auth` frame after the upgrade when the handshake carried none. @default false */
  authFrame?: boolean
  /** Authorization for this route, replacing the plugin-wide `authorize`. */
  authorize?: Authorize
}

const SUPPORTED_ALGORITHMS: ReadonlySet<string> = new Set([
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'
])
const HMAC_MIN_KEY_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 }

/** `jwks` with its defaults; the key source's other settings come from the plugin's. */
export interface ResolvedJwks {
  readonly issuer: string
  readonly url: string | undefined
  readonly cacheTtlMs: number
  readonly refetchIntervalMs: number
  readonly maxKeys: number
}

export interface ResolvedOptions {
  readonly algorithms: SigningAlgorithm[]
  /** The static key; `undefined` when keys come from `jwks`. */
  readonly key: string | Buffer | undefined
  readonly jwks: ResolvedJwks | undefined
  readonly typeRequired: boolean
  readonly requiredScopes: readonly string[] | undefined
  readonly issuers: readonly string[] | undefined
  readonly audiences: readonly string[] | undefined
  readonly clockToleranceMs: number
  readonly maxTokenLength: number
  readonly allowedTypes: ReadonlySet<string>
  readonly origins: OriginPolicy | undefined
  readonly cookieName: string | undefined
  readonly renewBeforeMs: number
  readonly maxRenewalFailures: number
  readonly authTimeoutMs: number
  readonly maxPreAuthPayload: number
  readonly maxPreAuthPayloadTotal: number
  readonly refusal: RefusalMode
  readonly authorize: Authorize | undefined
  readonly closeTimeoutMs: number
  readonly websocket: WsServerOptions
  readonly clock: Clock | undefined
  readonly handshakeLimit: RateLimit | undefined
  readonly maxConnections: number
  readonly maxConnectionsPerSubject: number
  readonly connectionLimitPolicy: ConnectionLimitPolicy
  readonly messageLimit: RateLimit | undefined
  readonly renewalLimit: RateLimit | undefined
  readonly handshakeTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly maxBufferedAmount: number
  readonly revocationStore: RevocationStore
  readonly revocationRetentionMs: number
  readonly connectionCounter: ConnectionCounter | undefined
}

/** Normalises a `typ` header value for comparison (RFC 7515 §4.1.9: `application/` may be omitted). */
export function normaliseType (typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice(12) : lower
}

function rateLimit (option: string, value: unknown, fallback: RateLimit): RateLimit | undefined {
  if (value === false) return undefined
  if (value === undefined) return fallback
  const { max, timeWindow } = (value ?? {}) as Partial<RateLimit>
  if (typeof value !== 'object' || !Number.isInteger(max) || (max as number) < 1 || !Number.isInteger(timeWindow) || (timeWindow as number) < 1) {
    fail(option, 'must be false or { max, timeWindow } with positive integers (events, ms)')
  }
  refuseUnknownKeys(option, value as object, RATE_LIMIT_KEYS)
  return { max: max as number, timeWindow: timeWindow as number }
}

/**
 * Refuses a key that `known` does not list: a misspelt option (`verify.audiance`) would
 * otherwise turn its check off without a word.
 */
function refuseUnknownKeys (option: string, value: object, known: readonly string[]): void {
  const unknown = unknownKey(value, known)
  if (unknown === undefined) return
  const prefix = option === '' ? '' : `${option}.`
  const hint = unknown.closest === undefined ? `known keys: ${known.join(', ')}` : `did you mean "${prefix}${unknown.closest}"?`
  fail(`${prefix}${unknown.key}`, `is not an option of fastify-ws-auth (${hint})`)
}

function fail (option: string, problem: string): never {
  throw new InvalidOptionError(option, problem)
}

function nonNegativeInteger (option: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    fail(option, `must be an integer from 0 to ${max}, got ${String(value)}`)
  }
  return value
}

function stringList (option: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
    fail(option, 'must be a non-empty string or a non-empty array of non-empty strings')
  }
  return Object.freeze([...list] as string[])
}

function isPem (key: string | Buffer): boolean {
  return key.toString('utf8', 0, 64).includes('-----BEGIN')
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * Whether keys may be fetched from `value`: over TLS (a JWKS over plain HTTP could be
 * swapped by anyone on the path), or plain HTTP on a loopback address, with no
 * credentials or fragment in the URL. Also applied to a discovered `jwks_uri`.
 */
export function isKeySetUrl (value: unknown): value is string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {}
  return url !== undefined && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) &&
    url.username === '' && url.password === '' && url.hash === ''
}

function keySetUrl (option: string, value: unknown): string {
  if (!isKeySetUrl(value)) fail(option, `must be an https: URL (http: only on a loopback address), got ${JSON.stringify(value)}`)
  return value
}

function resolveJwks (jwks: WsAuthJwksOptions, issuers: readonly string[] | undefined): ResolvedJwks {
  if (jwks === null || typeof jwks !== 'object') fail('verify.jwks', 'must be an object: { url?, cacheTtl?, refetchInterval?, maxKeys? }')
  refuseUnknownKeys('verify.jwks', jwks, JWKS_KEYS)
  if (issuers?.length !== 1) fail('verify.issuer', 'is required with verify.jwks: the one issuer URL its tokens carry as `iss`')
  const issuer = issuers[0] as string
  const url = jwks.url === undefined ? undefined : keySetUrl('verify.jwks.url', jwks.url)
  // Discovery starts at the issuer, so then the issuer must be a URL fit to fetch from.
  if (url === undefined) keySetUrl('verify.issuer', issuer)
  const cacheTtlMs = nonNegativeInteger('verify.jwks.cacheTtl', jwks.cacheTtl, 600_000, 86_400_000) || fail('verify.jwks.cacheTtl', 'must be positive')
  return {
    issuer,
    url,
    cacheTtlMs,
    refetchIntervalMs: nonNegativeInteger('verify.jwks.refetchInterval', jwks.refetchInterval, 30_000, 86_400_000) || fail('verify.jwks.refetchInterval', 'must be positive'),
    maxKeys: nonNegativeInteger('verify.jwks.maxKeys', jwks.maxKeys, 32, 1000) || fail('verify.jwks.maxKeys', 'must be positive')
  }
}

function resolveVerify (verify: WsAuthVerifyOptions | undefined): Pick<ResolvedOptions, 'algorithms' | 'key' | 'jwks' | 'typeRequired' | 'requiredScopes' | 'issuers' | 'audiences' | 'clockToleranceMs' | 'maxTokenLength' | 'allowedTypes'> {
  if (verify === undefined || verify === null || typeof verify !== 'object') fail('verify', 'is required: { algorithms, key } or { algorithms, jwks, issuer, audience }')
  refuseUnknownKeys('verify', verify, VERIFY_KEYS)
  const { algorithms, key } = verify
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    fail('verify.algorithms', 'must list the accepted signing algorithms, e.g. ["HS256"]')
  }
  for (const alg of algorithms) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') fail('verify.algorithms', 'must not contain "none": unsigned tokens are never accepted')
    if (!SUPPORTED_ALGORITHMS.has(alg)) fail('verify.algorithms', `contains unsupported algorithm "${String(alg)}"`)
  }
  if (new Set(algorithms).size !== algorithms.length) fail('verify.algorithms', 'lists an algorithm twice')
  const hmac = algorithms.filter((alg) => alg.startsWith('HS'))
  const issuers = stringList('verify.issuer', verify.issuer)
  const audiences = stringList('verify.audience', verify.audience)
  let jwks: ResolvedJwks | undefined
  if (verify.jwks !== undefined) {
    if (key !== undefined) fail('verify.key', 'and verify.jwks are exclusive: give one static key or an issuer\'s key set')
    if (hmac.length > 0) fail('verify.algorithms', 'must be public-key algorithms with verify.jwks: a key set holds public keys, never an HMAC secret')
    if (audiences === undefined) fail('verify.audience', 'is required with verify.jwks: an issuer signs tokens for many audiences')
    jwks = resolveJwks(verify.jwks, issuers)
  } else {
    if (!(typeof key === 'string' || Buffer.isBuffer(key)) || key.length === 0) {
      fail('verify.key', 'must be a non-empty string or Buffer (an HMAC secret or a PEM public key), unless verify.jwks is given')
    }
    if (hmac.length > 0 && hmac.length !== algorithms.length) {
      fail('verify.algorithms', 'mixes HMAC and public-key algorithms: one key serves one algorithm family')
    }
    if (hmac.length > 0) {
      if (isPem(key)) fail('verify.key', 'is a PEM key but the algorithms are HMAC: a public key must never be used as an HMAC secret')
      const bytes = Buffer.byteLength(key)
      for (const alg of hmac) {
        const min = HMAC_MIN_KEY_BYTES[alg] as number
        if (bytes < min) fail('verify.key', `is ${bytes} bytes; ${alg} needs at least ${min} (RFC 7518 §3.2)`)
      }
    } else if (!isPem(key)) {
      fail('verify.key', 'must be a PEM public key for public-key algorithms')
    }
  }
  const clockTolerance = verify.clockTolerance ?? 0
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0 || clockTolerance > 300) {
    fail('verify.clockTolerance', `must be a number of seconds from 0 to 300, got ${String(clockTolerance)}`)
  }
  const profile = verify.profile
  if (profile !== undefined && profile !== 'rfc9068') fail('verify.profile', 'must be "rfc9068" or undefined')
  if (profile === 'rfc9068') {
    if (verify.allowedTypes !== undefined) fail('verify.allowedTypes', 'cannot be set with profile "rfc9068", which accepts only typ at+jwt')
    if (issuers === undefined || audiences === undefined) fail(issuers === undefined ? 'verify.issuer' : 'verify.audience', 'is required by profile "rfc9068" (RFC 9068 §4)')
  }
  const allowedTypes = profile === 'rfc9068' ? ['at+jwt'] : verify.allowedTypes ?? ['JWT', 'at+jwt']
  if (!Array.isArray(allowedTypes) || allowedTypes.length === 0 || !allowedTypes.every((v) => typeof v === 'string' && v.length > 0)) {
    fail('verify.allowedTypes', 'must be a non-empty array of typ values such as ["JWT", "at+jwt"]')
  }
  const requiredScopes = verify.requiredScopes
  if (requiredScopes !== undefined && (!Array.isArray(requiredScopes) || requiredScopes.length === 0 ||
      !requiredScopes.every((scope) => typeof scope === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)))) {
    fail('verify.requiredScopes', 'must be a non-empty array of scope tokens (RFC 6749 §3.3: no spaces, quotes or backslashes)')
  }
  return {
    allowedTypes: new Set(allowedTypes.map(normaliseType)),
    typeRequired: profile === 'rfc9068',
    requiredScopes: requiredScopes === undefined ? undefined : Object.freeze([...requiredScopes]),
    algorithms: [...algorithms],
    key,
    jwks,
    issuers,
    audiences,
    clockToleranceMs: Math.round(clockTolerance * 1000),
    maxTokenLength: nonNegativeInteger('verify.maxTokenLength', verify.maxTokenLength, 8192, MAX_TOKEN_LENGTH) || fail('verify.maxTokenLength', 'must be positive')
  }
}

function resolveAuthorize (option: string, value: unknown): Authorize | undefined {
  if (value !== undefined && typeof value !== 'function') fail(option, 'must be a function (claims, request) => boolean | Promise<boolean>')
  return value as Authorize | undefined
}

export function resolveOptions (options: WsAuthOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') fail('options', 'must be an object')
  refuseUnknownKeys('', options, OPTION_KEYS)
  const verify = resolveVerify(options.verify)

  let origins: OriginPolicy | undefined
  if (options.allowedOrigins !== undefined) {
    if (!Array.isArray(options.allowedOrigins) || options.allowedOrigins.length === 0) {
      fail('allowedOrigins', 'must be a non-empty array of origins such as "https://app.example.com"')
    }
    try {
      origins = new OriginPolicy(options.allowedOrigins)
    } catch (err) {
      fail('allowedOrigins', (err as Error).message)
    }
  }

  let cookieName: string | undefined
  if (options.cookie !== undefined) {
    if (options.cookie === null || typeof options.cookie !== 'object') fail('cookie', 'must be { name }')
    refuseUnknownKeys('cookie', options.cookie, COOKIE_KEYS)
    const name = options.cookie.name
    if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) fail('cookie.name', 'must be a valid cookie name')
    if (origins === undefined) {
      fail('allowedOrigins', 'is required with cookie credentials: a browser sends cookies with cross-site WebSocket handshakes, so only the Origin check stops cross-site hijacking')
    }
    cookieName = name
  }

  const refusal = options.refusal ?? 'auto'
  if (refusal !== 'auto' && refusal !== 'status' && refusal !== 'close') fail('refusal', 'must be "auto", "status" or "close"')

  const clock = options.clock
  if (clock !== undefined && (typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function')) {
    fail('clock', 'must have now(), setTimeout() and clearTimeout()')
  }

  const websocket = options.websocket ?? {}
  if (typeof websocket !== 'object') fail('websocket', 'must be an object of ws server options')
  for (const forbidden of ['noServer', 'server', 'port', 'host', 'path', 'handleProtocols', 'WebSocket']) {
    if (forbidden in websocket) fail(`websocket.${forbidden}`, 'is managed by fastify-ws-auth and cannot be set')
  }

  const connectionLimitPolicy = options.connectionLimitPolicy ?? 'refuse'
  if (connectionLimitPolicy !== 'refuse' && connectionLimitPolicy !== 'close-oldest') fail('connectionLimitPolicy', 'must be "refuse" or "close-oldest"')

  const revocationStore = options.revocationStore ?? new MemoryRevocationStore({ clock })
  if (typeof revocationStore !== 'object' || revocationStore === null || typeof revocationStore.revoke !== 'function' || typeof revocationStore.isRevoked !== 'function') {
    fail('revocationStore', 'must implement revoke() and isRevoked()')
  }
  const connectionCounter = options.connectionCounter
  if (connectionCounter !== undefined && (typeof connectionCounter !== 'object' || connectionCounter === null ||
      typeof connectionCounter.acquire !== 'function' || typeof connectionCounter.release !== 'function')) {
    fail('connectionCounter', 'must implement acquire() and release()')
  }

  const maxPreAuthPayload = nonNegativeInteger('maxPreAuthPayload', options.maxPreAuthPayload, 16_384) || fail('maxPreAuthPayload', 'must be positive')
  const maxPreAuthPayloadTotal = nonNegativeInteger('maxPreAuthPayloadTotal', options.maxPreAuthPayloadTotal, 64 * 1024 * 1024)
  if (maxPreAuthPayloadTotal < maxPreAuthPayload) fail('maxPreAuthPayloadTotal', `must be at least maxPreAuthPayload (${maxPreAuthPayload}), got ${maxPreAuthPayloadTotal}`)

  return {
    ...verify,
    origins,
    cookieName,
    renewBeforeMs: nonNegativeInteger('renewBefore', options.renewBefore, 30_000),
    maxRenewalFailures: nonNegativeInteger('maxRenewalFailures', options.maxRenewalFailures, 3, 1000) || fail('maxRenewalFailures', 'must be at least 1'),
    authTimeoutMs: nonNegativeInteger('authTimeout', options.authTimeout, 5000, MAX_TIMER_DELAY_MS) || fail('authTimeout', 'must be positive'),
    maxPreAuthPayload,
    maxPreAuthPayloadTotal,
    refusal,
    authorize: resolveAuthorize('authorize', options.authorize),
    closeTimeoutMs: nonNegativeInteger('closeTimeout', options.closeTimeout, 2000, MAX_TIMER_DELAY_MS),
    websocket: { maxPayload: 1024 * 1024, perMessageDeflate: false, ...websocket },
    clock,
    handshakeLimit: rateLimit('handshakeLimit', options.handshakeLimit, { max: 100, timeWindow: 10_000 }),
    maxConnections: nonNegativeInteger('maxConnections', options.maxConnections, 10_000) || fail('maxConnections', 'must be positive'),
    maxConnectionsPerSubject: nonNegativeInteger('maxConnectionsPerSubject', options.maxConnectionsPerSubject, 100) || fail('maxConnectionsPerSubject', 'must be positive'),
    connectionLimitPolicy,
    messageLimit: rateLimit('messageLimit', options.messageLimit, { max: 1000, timeWindow: 1000 }),
    renewalLimit: rateLimit('renewalLimit', options.renewalLimit, { max: 5, timeWindow: 60_000 }),
    handshakeTimeoutMs: nonNegativeInteger('handshakeTimeout', options.handshakeTimeout, 5000, MAX_TIMER_DELAY_MS) || fail('handshakeTimeout', 'must be positive'),
    headersTimeoutMs: nonNegativeInteger('headersTimeout', options.headersTimeout, 10_000, MAX_TIMER_DELAY_MS),
    heartbeatIntervalMs: nonNegativeInteger('heartbeatInterval', options.heartbeatInterval, 30_000, MAX_TIMER_DELAY_MS),
    maxBufferedAmount: nonNegativeInteger('maxBufferedAmount', options.maxBufferedAmount, 4 * 1024 * 1024) || fail('maxBufferedAmount', 'must be positive'),
    revocationStore,
    revocationRetentionMs: nonNegativeInteger('revocationRetention', options.revocationRetention, 86_400_000) || fail('revocationRetention', 'must be positive'),
    connectionCounter
  }
}

export interface ResolvedRouteOptions {
  readonly authFrame: boolean
  readonly authorize: Authorize | undefined
}

export function resolveRouteOptions (url: string, value: true | WsAuthRouteOptions, defaults: ResolvedOptions): ResolvedRouteOptions {
  if (value === true) return { authFrame: false, authorize: defaults.authorize }
  if (typeof value !== 'object' || value === null) fail(`wsAuth (route ${url})`, 'must be true or an object')
  refuseUnknownKeys(`wsAuth (route ${url})`, value, ROUTE_KEYS)
  if (value.authFrame !== undefined && typeof value.authFrame !== 'boolean') fail(`wsAuth.authFrame (route ${url})`, 'must be a boolean')
  return {
    authFrame: value.authFrame ?? false,
    authorize: resolveAuthorize(`wsAuth.authorize (route ${url})`, value.authorize) ?? defaults.authorize
  }
}
