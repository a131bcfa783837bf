import type { FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import { HELLO, ROUTES } from '../shared/protocol.ts'

/** Same size as the plugin's `renewed` answer, so the bare renewal baseline moves the same bytes. */
const RENEWED_LIKE = JSON.stringify({ type: 'renewed', id: 'r', expiresAt: 1_700_000_000_000, expiresIn: 3_600_000 })

/**
 * The WebSocket routes of a Fastify target. Bare and plugin targets register the very same
 * handlers; the only difference is `wsAuth: true`, so every ratio measures the plugin alone.
 */
export function registerRoutes (app: FastifyInstance, authenticated: boolean): void {
  const options = authenticated ? { websocket: true, wsAuth: true } as const : { websocket: true } as const

  // The server closes first: the TIME_WAIT sockets then pile up on the server side, where
  // they cost nothing, instead of exhausting the client's ephemeral ports.
  app.get(ROUTES.handshake, options, (socket: WebSocket) => {
    socket.send(HELLO)
    socket.close(1000)
  })

  app.get(ROUTES.echo, options, (socket: WebSocket) => {
    socket.on('message', (data, isBinary) => { socket.send(data as Buffer, { binary: isBinary }) })
  })

  const subscribers = new Set<WebSocket>()
  app.get(ROUTES.broadcast, options, (socket: WebSocket) => {
    subscribers.add(socket)
    socket.on('close', () => { subscribers.delete(socket) })
    socket.on('message', (data, isBinary) => {
      for (const subscriber of subscribers) {
        if (subscriber !== socket) subscriber.send(data as Buffer, { binary: isBinary })
      }
    })
  })

  app.get(ROUTES.hold, options, () => {})

  app.get(ROUTES.renew, options, (socket: WebSocket) => {
    // With the plugin, `renew` frames never reach the handler: the plugin answers them.
    if (!authenticated) socket.on('message', () => { socket.send(RENEWED_LIKE) })
  })
}
