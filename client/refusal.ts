import { ERROR_ACTIONS, FrameType, isAuthErrorFrame, parseJson, type AuthErrorFrame } from '../protocol/core.ts'
import { Timer, type Clock } from './clock.ts'
import type { WebSocketLike } from './socket.ts'

/** A handshake the server refused with an HTTP status (SPEC.md section 3.1), as far as it could be read. */
export interface HttpRefusal {
  status: number
  /** The refusal as the `auth_error` a refusal by close would have sent; absent when the body names no protocol error. */
  authError?: AuthErrorFrame
  /** The error's close code, when the body named a protocol error. */
  closeCode?: number
  /** From `Retry-After`, in ms. */
  retryAfter?: number
}

/** Error bodies are about 150 bytes; a proxy's HTML page is not worth more than this. */
const MAX_BODY_BYTES = 4096
/** How long the body may take once the status arrived. */
const BODY_TIMEOUT_MS = 2000

/** What the client reads of Node's `http.IncomingMessage`, without depending on Node's types. */
interface ResponseLike {
  statusCode?: number
  headers: { [name: string]: string | string[] | undefined }
  on (event: string, listener: (chunk?: Uint8Array) => void): unknown
}

interface EventEmitterLike {
  on (event: 'unexpected-response', listener: (request: unknown, response: ResponseLike) => void): unknown
}

/**
 * Node's `ws` emits `unexpected-response` when the server answers the upgrade with a
 * status instead of 101, and waits for the listener to end the attempt; browsers and
 * Node's global WebSocket expose nothing (close 1006). Reads the status, `Retry-After`
 * and a bounded body within a timeout, maps the body's `code` through the error table,
 * and then closes the socket: its close event follows, with code 1006.
 * Hand-written: `ws` leaves reading the response to its user.
 */
export function watchHttpRefusal (socket: WebSocketLike, clock: Clock, onRefusal: (refusal: HttpRefusal) => void): void {
  const emitter = socket as Partial<EventEmitterLike>
  if (typeof emitter.on !== 'function') return
  emitter.on('unexpected-response', (_request, response) => {
    const decoder = new TextDecoder()
    const timer = new Timer(clock)
    let body = ''
    let bytes = 0
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      timer.cancel()
      onRefusal(readRefusal(response, body, clock.now()))
      socket.close()
    }
    response.on('data', (chunk) => {
      if (done || chunk === undefined) return
      bytes += chunk.byteLength
      if (bytes > MAX_BODY_BYTES) {
        body = ''
        finish()
        return
      }
      body += decoder.decode(chunk, { stream: true })
    })
    response.on('end', finish)
    response.on('error', finish)
    timer.start(BODY_TIMEOUT_MS, finish)
  })
}

function readRefusal (response: ResponseLike, body: string, now: number): HttpRefusal {
  const refusal: HttpRefusal = { status: response.statusCode ?? 0 }
  const retryAfter = retryAfterMs(response.headers['retry-after'], now)
  if (retryAfter !== undefined) refusal.retryAfter = retryAfter
  const parsed = parseJson(body) as { code?: unknown, message?: unknown } | null | undefined
  const code = parsed?.code
  if (typeof code !== 'string' || !Object.hasOwn(ERROR_ACTIONS, code)) return refusal
  const [closeCode, retry] = ERROR_ACTIONS[code as keyof typeof ERROR_ACTIONS]
  const frame = { type: FrameType.AuthError, code, message: typeof parsed?.message === 'string' ? parsed.message : code, closing: true, retry }
  if (isAuthErrorFrame(frame)) {
    refusal.authError = frame
    refusal.closeCode = closeCode
  }
  return refusal
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`. */
function retryAfterMs (header: string | string[] | undefined, now: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim()
  if (value === undefined || value === '') return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
