import fastifyWebsocket from '@fastify/websocket'
import Fastify from 'fastify'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../protocol/version.ts'
import { fastifyTarget } from './fastify-target.ts'
import { registerRoutes } from './routes.ts'
import type { RunningTarget } from './target.ts'

/**
 * Plain @fastify/websocket with the plugin's `ws` defaults (1 MiB maxPayload, no
 * compression) and a `handleProtocols` that selects `wsauth.v1` as the plugin does: it
 * receives the same headers, bearer subprotocol included, and checks nothing.
 */
export async function startBare (): Promise<RunningTarget> {
  const app = Fastify({ logger: false })
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
  registerRoutes(app, false)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return fastifyTarget(app)
}
