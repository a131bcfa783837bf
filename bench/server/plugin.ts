import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import type { WsAuthOptions } from '../../plugin/index.ts'
import { BENCH_ORIGIN, COOKIE_NAME, JWKS_AUDIENCE, JWKS_ISSUER, type BenchKeys, type TargetName } from '../shared/protocol.ts'
import { ExpiryLateness } from './expiry-lateness.ts'
import { fastifyTarget } from './fastify-target.ts'
import { startJwksServer } from './jwks.ts'
import { revokeTokenIds } from './revocations.ts'
import { registerRoutes } from './routes.ts'
import type { RunningTarget } from './target.ts'

/**
 * The plugin as an application would deploy it, every default protection on: the handshake
 * rate limit (clients come from thousands of addresses, so it is checked and not hit), the
 * revocation lookup (default in-memory store), connection limits, the registry, expiry
 * timers, heartbeat, the `authenticated` frame, and an Origin allowlist (every client sends
 * an allowed Origin, so the check runs). Three limits are raised, not removed, so that their
 * checks still run on every handshake and message without refusing what is measured:
 * `maxConnections` (19,000 are held; default 10,000), and the per-connection message and
 * renewal buckets (the echo and renewal scenarios exceed 1,000 messages/s and 5 renewals a
 * minute per connection by design).
 */
export function pluginOptions (target: TargetName, keys: BenchKeys, jwksUrl?: string): WsAuthOptions {
  const common: Partial<WsAuthOptions> = {
    allowedOrigins: [BENCH_ORIGIN],
    maxConnections: 20_000,
    messageLimit: { max: 1_000_000, timeWindow: 1000 },
    renewalLimit: { max: 1_000_000, timeWindow: 1000 }
  }
  switch (target) {
    case 'plugin-hs256':
    case 'plugin-hs256-base': return { ...common, verify: { algorithms: ['HS256'], key: keys.hmacSecret } }
    case 'plugin-es256': return { ...common, verify: { algorithms: ['ES256'], key: keys.es256.publicKey } }
    case 'plugin-eddsa': return { ...common, verify: { algorithms: ['EdDSA'], key: keys.eddsa.publicKey } }
    case 'plugin-rs256': return { ...common, verify: { algorithms: ['RS256'], key: keys.rs256.publicKey } }
    case 'plugin-jwks-rs256':
    case 'plugin-jwks-es256':
    case 'plugin-jwks-eddsa':
      // An identity provider's tokens: keys by `kid` from a JWKS, the issuer and audience checked.
      return { ...common, verify: { algorithms: ['RS256', 'ES256', 'EdDSA'], issuer: JWKS_ISSUER, audience: JWKS_AUDIENCE, jwks: { url: jwksUrl } } }
    case 'plugin-cookie': return { ...common, verify: { algorithms: ['HS256'], key: keys.hmacSecret }, cookie: { name: COOKIE_NAME } }
    default: throw new Error(`${target} is not a plugin target`)
  }
}

/** The plugin as compiled JavaScript (see orchestrator/build.ts), typed by its source. */
export async function loadPlugin (buildDir: string): Promise<typeof import('../../plugin/index.ts')> {
  return await import(pathToFileURL(join(buildDir, 'plugin', 'index.js')).href) as typeof import('../../plugin/index.ts')
}

export async function startPlugin (target: TargetName, keys: BenchKeys, buildDir: string): Promise<RunningTarget> {
  const { fastifyWsAuth } = await loadPlugin(buildDir)
  // Logging is off for every target: a logger's cost would swamp what is compared here.
  const app = Fastify({ logger: false })
  const jwks = target.startsWith('plugin-jwks-') ? await startJwksServer(keys) : undefined
  if (jwks !== undefined) app.addHook('onClose', async () => { jwks.server.close() })
  const lateness = new ExpiryLateness()
  await app.register(fastifyWsAuth, pluginOptions(target, keys, jwks?.url))
  registerRoutes(app, true)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    ...fastifyTarget(app),
    async command (name, body) {
      if (name === 'expiry-lateness') return lateness.take()
      if (name !== 'revoke-token-ids') throw new Error(`unknown command ${name}`)
      const { count, matching, intervalMs } = body as { count: number, matching: number, intervalMs?: number }
      return await revokeTokenIds(app, count, matching, intervalMs)
    }
  }
}
