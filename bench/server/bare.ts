import fastifyJwt from '@fastify/jwt'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../protocol/version.ts'
import { closeBurst } from './close-burst.ts'
import { fastifyTarget } from './fastify-target.ts'
import { registerRoutes } from './routes.ts'
import type { BenchKeys } from '../shared/protocol.ts'
import type { RunningTarget } from './target.ts'

/**
 * Plain @fastify/websocket with the plugin's `ws` defaults (1 MiB maxPayload, no
 * compression) and a `handleProtocols` that selects `wsauth.v1` as the plugin does: it
 * receives the same headers, bearer subprotocol included, and checks nothing.
 */
export async function startBare (): Promise<RunningTarget> {
  const app = Fastify({ logger: false })
  await registerWebsocket(app)
  registerRoutes(app, false)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    ...fastifyTarget(app),
    async command (name, body) {
      if (name !== 'close-burst') throw new Error(`unknown command ${name}`)
      const { at, code, reason, frame } = body as { at: number, code: number, reason: string, frame: string }
      return await closeBurst(app, at, code, reason, frame)
    }
  }
}

/**
 * The reference point for what verification alone costs: bare plus the `onRequest` hook an
 * application would write by hand (the benchmark issue's "naive hook"): the token from the
 * bearer subprotocol entry, `@fastify/jwt` verify, 401 if it fails. No rate limit, Origin
 * check, revocation, registry, deadline or `authenticated` frame.
 */
export async function startHook (keys: BenchKeys): Promise<RunningTarget> {
  const app = Fastify({ logger: false })
  await app.register(fastifyJwt, { secret: keys.hmacSecret, verify: { algorithms: ['HS256'] } })
  await registerWebsocket(app)
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers['sec-websocket-protocol'] ?? ''
    const entry = header.split(',').map((part) => part.trim()).find((part) => part.startsWith(BEARER_SUBPROTOCOL_PREFIX))
    try {
      if (entry === undefined) throw new Error('no token')
      app.jwt.verify(entry.slice(BEARER_SUBPROTOCOL_PREFIX.length))
    } catch {
      return await reply.code(401).send({ error: 'Unauthorized' })
    }
    return undefined
  })
  registerRoutes(app, false)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return fastifyTarget(app)
}

/** @fastify/websocket as every Fastify target of the bench registers it (the floors too, server/floor.ts). */
export async function registerWebsocket (app: FastifyInstance): Promise<void> {
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
      // ws would otherwise select the first offered entry, which may be the bearer token.
      handleProtocols: (protocols: Set<string>) => {
        if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL
        for (const protocol of protocols) if (!protocol.startsWith(BEARER_SUBPROTOCOL_PREFIX)) return protocol
        return false
      }
    }
  })
}
