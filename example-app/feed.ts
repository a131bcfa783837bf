import type { FastifyInstance } from 'fastify'

/**
 * `/feed`: an authenticated WebSocket route that sends `{"type":"tick"}` every
 * `tickInterval` ms and answers each text message with `{"type":"echo"}`. The protocol's own
 * frames (`renew`, `renewed`, …) are handled by the plugin and never reach this handler.
 */
export function registerFeed (app: FastifyInstance, tickInterval: number): void {
  app.get('/feed', { websocket: true, wsAuth: true }, (socket, request) => {
    const connection = request.wsAuth
    let seq = 0
    const timer = setInterval(() => {
      seq++
      socket.send(JSON.stringify({ type: 'tick', seq, at: Date.now(), subject: connection.subject }))
    }, tickInterval)
    socket.on('close', () => { clearInterval(timer) })
    socket.on('message', (data, isBinary) => {
      if (isBinary) return
      socket.send(JSON.stringify({ type: 'echo', data: data.toString() }))
    })
  })
}
