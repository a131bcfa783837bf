import { randomBytes } from 'node:crypto'

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
    ? defaultOrigins(host, port)
    : env.ALLOWED_ORIGINS.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')
  for (const origin of allowedOrigins) {
    if (!URL.canParse(origin)) throw new ConfigError(`ALLOWED_ORIGINS has an invalid origin ${JSON.stringify(origin)}`)
  }

  return { host, port, jwtSecret, generatedSecret, accessTokenTtl, renewBefore, allowedOrigins, logLevel, tickInterval }
}

/** The app's own page, under the names a browser may use for a loopback address. */
function defaultOrigins (host: string, port: number): string[] {
  if (port === 0) return []
  const hosts = host === '127.0.0.1' || host === 'localhost' || host === '0.0.0.0'
    ? ['127.0.0.1', 'localhost']
    : [host.includes(':') ? `[${host}]` : host]
  return hosts.map((name) => `http://${name}:${port}`)
}
