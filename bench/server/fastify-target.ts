import type { FastifyInstance } from 'fastify'
import type { RunningTarget } from './target.ts'

/** A listening Fastify target (bare or plugin) as the control endpoint sees it. */
export function fastifyTarget (app: FastifyInstance): RunningTarget {
  const address = app.server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: () => app.websocketServer.clients.size,
    closeAll: () => {
      let closed = 0
      for (const client of app.websocketServer.clients) {
        client.close(1000)
        closed++
      }
      return closed
    },
    close: () => app.close()
  }
}
