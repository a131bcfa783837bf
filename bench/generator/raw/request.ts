import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../../../protocol/index.ts'
import { BENCH_ORIGIN, COOKIE_NAME, ROUTES, type ClientSpec } from '../../shared/protocol.ts'
import { clientFrame, Opcode } from './frames.ts'

// A fixed key: the server hashes whatever it gets, and the client does not check the answer.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

function path (spec: ClientSpec): string {
  return spec.dialect === 'socketio' ? `/socket.io/?EIO=4&transport=websocket&mode=${spec.route}` : ROUTES[spec.route]
}

/**
 * The upgrade request of one connection, as bytes. A target and its bare baseline get the
 * same headers: the bearer subprotocol, the cookie and the Origin, whether they use them or not.
 */
export function upgradeRequest (spec: ClientSpec, token: string): Buffer {
  const lines = [
    `GET ${path(spec)} HTTP/1.1`,
    `Host: 127.0.0.1:${spec.port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${KEY}`
  ]
  if (spec.credential === 'subprotocol') lines.push(`Sec-WebSocket-Protocol: ${SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}${token}`)
  if (spec.credential === 'cookie') lines.push(`Sec-WebSocket-Protocol: ${SUBPROTOCOL}`, `Cookie: ${COOKIE_NAME}=${token}`)
  if (spec.origin) lines.push(`Origin: ${BENCH_ORIGIN}`)
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
}

/** socket.io's CONNECT packet for the default namespace, carrying the token in its `auth` payload. */
export function connectPacket (token: string): Buffer {
  return clientFrame(Opcode.Text, `40${JSON.stringify({ token })}`)
}

/** An application message: plain text for bare and plugin, a socket.io EVENT for socket.io. */
export function messageFrame (spec: ClientSpec, event: string, text: string): Buffer {
  return clientFrame(Opcode.Text, spec.dialect === 'socketio' ? `42${JSON.stringify([event, text])}` : text)
}
