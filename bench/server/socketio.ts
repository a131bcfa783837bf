import { createServer } from 'node:http'
import { createVerifier } from 'fast-jwt'
import { Server } from 'socket.io'
import { BENCH_ORIGIN, HELLO, type BenchKeys } from '../shared/protocol.ts'
import type { RunningTarget } from './target.ts'

/**
 * socket.io 4 as its users deploy it with JWT auth: the token in the CONNECT packet's
 * `auth` payload, verified by a namespace middleware with fast-jwt (HS256, `exp` and `sub`
 * required), and the same Origin allowlist as the plugin targets. WebSocket transport only,
 * so it is compared with the plugin on the same transport. The route behaviours mirror
 * routes.ts, selected by the `mode` query parameter.
 */
export async function startSocketIo (keys: BenchKeys): Promise<RunningTarget> {
  const http = createServer()
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    maxHttpBufferSize: 1024 * 1024,
    allowRequest: (req, callback) => { callback(null, req.headers.origin === undefined || req.headers.origin === BENCH_ORIGIN) }
  })
  const verify = createVerifier({ key: keys.hmacSecret, algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] })

  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token
    if (typeof token !== 'string') {
      next(new Error('credential_missing'))
      return
    }
    try {
      socket.data.claims = verify(token)
      next()
    } catch {
      next(new Error('unauthorized'))
    }
  })

  io.on('connection', (socket) => {
    switch (socket.handshake.query.mode) {
      case 'handshake':
        socket.emit('hello', HELLO)
        socket.disconnect(true)
        break
      case 'echo':
        socket.on('e', (data: unknown) => { socket.emit('e', data) })
        break
      case 'broadcast':
        socket.join('b')
        socket.on('b', (data: unknown) => { socket.to('b').emit('b', data) })
        break
      default:
        break
    }
  })

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const address = http.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    connections: () => io.engine.clientsCount,
    closeAll: () => {
      const count = io.engine.clientsCount
      io.disconnectSockets(true)
      return count
    },
    close: () => io.close()
  }
}
