import { WebSocket } from 'ws'
import { FrameType, type AuthErrorFrame, type ErrorDefinition, type ServerFrame } from '../protocol/index.ts'
import type { Clock } from './clock.ts'

// The prototype's send, so protocol frames bypass the per-connection deadline guard.
const protoSend = WebSocket.prototype.send as (this: WebSocket, data: string) => void

export function sendFrame (socket: WebSocket, frame: ServerFrame): void {
  if (socket.readyState === WebSocket.OPEN) protoSend.call(socket, JSON.stringify(frame))
}

export function authErrorFrame (error: ErrorDefinition, closing: boolean, message: string = error.message, id?: string): AuthErrorFrame {
  const frame: AuthErrorFrame = { type: FrameType.AuthError, code: error.code, message, closing, retry: error.retry }
  if (id !== undefined) frame.id = id
  return frame
}

/**
 * Starts the closing handshake and destroys the socket if the peer does not complete it
 * within `timeoutMs`: ws would otherwise wait 30 s, and no refused or expired socket may
 * linger that long. The reason is the error code (well under the 123-byte limit).
 */
export function closeSocket (socket: WebSocket, code: number, reason: string, timeoutMs: number, clock: Clock): void {
  if (socket.readyState === WebSocket.CLOSED) return
  if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) socket.close(code, reason)
  const handle = clock.setTimeout(() => {
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate()
  }, timeoutMs)
  socket.once('close', () => { clock.clearTimeout(handle) })
}

/** Sends `auth_error` with `closing: true`, then closes with the error's close code. */
export function closeWithError (socket: WebSocket, error: ErrorDefinition, timeoutMs: number, clock: Clock, message?: string): void {
  sendFrame(socket, authErrorFrame(error, true, message))
  closeSocket(socket, error.closeCode, error.code, timeoutMs, clock)
}
