import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** Settings of the example app, read from the environment (see the README's table). */
export interface AppConfig {
  host: string
  port: number
  /** HS256 key the app signs with and the plugin verifies with. */
  jwtSecret: string
  /** True when `jwtSecret` was generated at start (tokens do not survive a restart). */
  generatedSecret: boolean
  /** Access-token lifetime, seconds. */
  accessTokenTtl: number
  /** Lead time of `renew_required`, seconds. */
  renewBefore: number
  /** Origins allowed to open `/feed` from a browser. */
  allowedOrigins: string[]
  logLevel: string
  /** Interval between two feed ticks, ms. */
  tickInterval: number
  /** Key and certificate (PEM) to serve HTTPS/WSS; cookies are then `Secure`. */
  tls: { key: Buffer, cert: Buffer } | undefined
  /** Fastify `trustProxy`: the proxies whose X-Forwarded-* headers are believed. */
  trustProxy: string[] | undefined
  /**
   * Redis shared by several instances (revocations, connection limits, sessions, the feed).
   * Unset: everything stays in this process.
   */
  redisUrl: string | undefined
  /**
   * An external OpenID Connect issuer whose access tokens `/feed` accepts, with keys from its
   * JWKS, instead of the app's own login (`OIDC_ISSUER`, `OIDC_AUDIENCE`, `OIDC_ALGORITHMS`).
   */
  oidc: { issuer: string, audience: string, algorithms: Array<'RS256' | 'PS256' | 'ES256' | 'EdDSA'>, profile: 'rfc9068' | 'jwt' } | undefined
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const MIN_SECRET_BYTES = 32

function integer (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  }
  return value
}

/** Reads and validates the configuration; throws a {@link ConfigError} naming the variable at fault. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): AppConfig {
  const host = env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const accessTokenTtl = integer(env, 'ACCESS_TOKEN_TTL', 300, 1, 86_400)
  const renewBefore = integer(env, 'RENEW_BEFORE', 60, 0, 86_400)
  const tickInterval = integer(env, 'TICK_INTERVAL', 1000, 10, 3_600_000)

  const logLevel = env.LOG_LEVEL === undefined || env.LOG_LEVEL === '' ? 'info' : env.LOG_LEVEL
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(logLevel)}`)

  let jwtSecret = env.JWT_SECRET ?? ''
  const generatedSecret = jwtSecret === ''
  if (generatedSecret) {
    jwtSecret = randomBytes(MIN_SECRET_BYTES).toString('base64url')
  } else if (Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    // The value itself is never echoed: it is a secret.
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (an HS256 key), got ${Buffer.byteLength(jwtSecret)}`)
  }

  const allowedOrigins = env.ALLOWED_ORIGINS === undefined || env.ALLOWED_ORIGINS === ''
    ? defaultOrigins(host, port, env.TLS_KEY_FILE !== undefined && env.TLS_KEY_FILE !== '' ? 'https' : 'http')
    : env.ALLOWED_ORIGINS.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')
  for (const origin of allowedOrigins) {
    if (!URL.canParse(origin)) throw new ConfigError(`ALLOWED_ORIGINS has an invalid origin ${JSON.stringify(origin)}`)
  }

  const keyFile = env.TLS_KEY_FILE ?? ''
  const certFile = env.TLS_CERT_FILE ?? ''
  if ((keyFile === '') !== (certFile === '')) throw new ConfigError('TLS_KEY_FILE and TLS_CERT_FILE must be set together')
  let tls: AppConfig['tls']
  if (keyFile !== '') {
    try {
      tls = { key: readFileSync(keyFile), cert: readFileSync(certFile) }
    } catch (error) {
      throw new ConfigError(`TLS_KEY_FILE or TLS_CERT_FILE cannot be read: ${(error as Error).message}`)
    }
  }

  let trustProxy: string[] | undefined
  if (env.TRUST_PROXY !== undefined && env.TRUST_PROXY !== '') {
    trustProxy = env.TRUST_PROXY.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
    // `true` would let any direct client choose its own address with X-Forwarded-For.
    if (trustProxy.some((entry) => /^(true|\*)$/i.test(entry))) {
      throw new ConfigError('TRUST_PROXY must list proxy addresses or CIDRs (e.g. 10.0.0.1,10.1.0.0/16), never "true"')
    }
  }

  const redisUrl = env.REDIS_URL === undefined || env.REDIS_URL === '' ? undefined : env.REDIS_URL
  if (redisUrl !== undefined) {
    if (!/^rediss?:\/\/|^\//.test(redisUrl)) throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL, or a Unix socket path')
    // Instances verify each other's tokens: a key generated per process would not do.
    if (generatedSecret) throw new ConfigError('REDIS_URL runs several instances: set JWT_SECRET, the same on each of them')
  }

  return { host, port, jwtSecret, generatedSecret, accessTokenTtl, renewBefore, allowedOrigins, logLevel, tickInterval, tls, trustProxy, redisUrl, oidc: oidcConfig(env) }
}

const OIDC_ALGORITHMS = new Set(['RS256', 'PS256', 'ES256', 'EdDSA'])

function oidcConfig (env: NodeJS.ProcessEnv): AppConfig['oidc'] {
  const issuer = env.OIDC_ISSUER ?? ''
  const audience = env.OIDC_AUDIENCE ?? ''
  if (issuer === '' && audience === '') return undefined
  if (issuer === '' || audience === '') throw new ConfigError('OIDC_ISSUER and OIDC_AUDIENCE must be set together')
  // The JWKS is found through discovery at the issuer: fetched over TLS, except on this machine.
  const url = URL.canParse(issuer) ? new URL(issuer) : undefined
  if (url === undefined || !(url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)))) {
    throw new ConfigError(`OIDC_ISSUER must be the issuer's https:// URL (http:// only on a loopback address), got ${JSON.stringify(issuer)}`)
  }
  // PS256 is off by default: an RSA key published without `alg` would fit both it and RS256, and is then unusable.
  const algorithms = (env.OIDC_ALGORITHMS ?? 'RS256,ES256,EdDSA').split(',').map((alg) => alg.trim()).filter((alg) => alg !== '')
  if (algorithms.length === 0 || !algorithms.every((alg) => OIDC_ALGORITHMS.has(alg))) {
    throw new ConfigError(`OIDC_ALGORITHMS must list some of ${[...OIDC_ALGORITHMS].join(', ')}, got ${JSON.stringify(env.OIDC_ALGORITHMS)}`)
  }
  // Some issuers (Keycloak, Entra ID) type their access tokens `JWT`, not RFC 9068's `at+jwt`.
  const profile = env.OIDC_PROFILE === undefined || env.OIDC_PROFILE === '' ? 'rfc9068' : env.OIDC_PROFILE
  if (profile !== 'rfc9068' && profile !== 'jwt') throw new ConfigError(`OIDC_PROFILE must be rfc9068 or jwt, got ${JSON.stringify(profile)}`)
  return { issuer, audience, algorithms: algorithms as NonNullable<AppConfig['oidc']>['algorithms'], profile }
}

/** The app's own page, under the names a browser may use for a loopback address. */
function defaultOrigins (host: string, port: number, scheme: 'http' | 'https'): string[] {
  if (port === 0) return []
  const hosts = host === '127.0.0.1' || host === 'localhost' || host === '0.0.0.0'
    ? ['127.0.0.1', 'localhost']
    : [host.includes(':') ? `[${host}]` : host]
  return hosts.map((name) => `${scheme}://${name}:${port}`)
}
