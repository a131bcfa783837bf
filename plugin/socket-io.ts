import { WebSocket } from 'ws'
import { FrameType, type AuthErrorFrame, type ErrorDefinition, type ServerFrame } from '../protocol/index.ts'
import type { Clock } from './clock.ts'

// The prototype's send, so protocol frames bypass the per-connection deadline guard.
const protoSend = WebSocket.prototype.send as (this: WebSocket, data: string) => void

export function sendFrame (socket: WebSocket, frame: ServerFrame): void {
  if (socket.readyState === WebSocket.OPEN) protoSend.call(socket, JSON.stringify(frame))
}

/** Sends a frame already encoded as JSON text (see {@link encodeAuthenticated}). */
export function sendEncodedFrame (socket: WebSocket, text: string): void {
  if (socket.readyState === WebSocket.OPEN) protoSend.call(socket, text)
}

/**
 * `authenticated` as JSON text, the same text `JSON.stringify` gives for the frame object.
 * It goes out on every handshake, so it is written straight from its fields: strings
 * through `JSON.stringify` (escaping), numbers as they print (finite, as the schema requires).
 */
export function encodeAuthenticated (connectionId: string, subject: string, sessionId: string | undefined, expiresAt: number, expiresIn: number): string {
  const session = sessionId === undefined ? '' : `,"sessionId":${JSON.stringify(sessionId)}`
  return `{"type":"${FrameType.Authenticated}","connectionId":${JSON.stringify(connectionId)},"subject":${JSON.stringify(subject)},"expiresAt":${expiresAt},"expiresIn":${expiresIn}${session}}`
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

// Closing `auth_error` texts with the default message, one per error definition: a burst of
// expiries sends thousands of the same text.
const closingTexts = new WeakMap<ErrorDefinition, string>()

/** `auth_error` with `closing: true`, as JSON text. */
export function encodeClosingAuthError (error: ErrorDefinition, message: string = error.message): string {
  if (message !== error.message) return JSON.stringify(authErrorFrame(error, true, message))
  let text = closingTexts.get(error)
  if (text === undefined) {
    text = JSON.stringify(authErrorFrame(error, true))
    closingTexts.set(error, text)
  }
  return text
}

/**
 * Sends `auth_error` with `closing: true`, then the close frame with the error's close code
 * (the reason is the error code). Nothing bounds the closing handshake: see {@link closeWithError}.
 */
export function sendClosingError (socket: WebSocket, error: ErrorDefinition, message?: string): void {
  sendEncodedFrame(socket, encodeClosingAuthError(error, message))
  if (socket.readyState === WebSocket.OPEN) socket.close(error.closeCode, error.code)
}

/** {@link sendClosingError}, and the socket destroyed if the peer does not complete the close within `timeoutMs`. */
export function closeWithError (socket: WebSocket, error: ErrorDefinition, timeoutMs: number, clock: Clock, message?: string): void {
  sendClosingError(socket, error, message)
  closeSocket(socket, error.closeCode, error.code, timeoutMs, clock)
}
