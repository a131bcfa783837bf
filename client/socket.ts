import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/core.ts'

/** What `send` accepts: what both the browser's WebSocket and `ws` send (not a view on a SharedArrayBuffer). */
export type SendData = string | ArrayBuffer | ArrayBufferView<ArrayBuffer>

/** An application message: text, or binary data as an `ArrayBuffer` (the client sets `binaryType` so). */
export type MessageData = string | ArrayBuffer

/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket` and `ws`'s
 * both fit as they are. The handlers take `never` so that each implementation's own event
 * types are accepted; the client reads only `data`, `code` and `reason` from them.
 */
export interface WebSocketLike {
  readonly readyState: number
  /** The subprotocol the server selected. */
  readonly protocol: string
  binaryType: string
  send (data: SendData): void
  close (code?: number, reason?: string): void
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** `WebSocket.OPEN`, the same in every implementation. */
export const OPEN = 1

/** RFC 7230 `token` characters: anything else in a subprotocol makes the WebSocket constructor throw. */
const SUBPROTOCOL_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Whether `token` can travel in a `wsauth.bearer.` subprotocol entry. */
export function fitsSubprotocol (token: string): boolean {
  return SUBPROTOCOL_TOKEN.test(token)
}

/**
 * The subprotocols to offer (SPEC.md section 2). `wsauth.v1` always comes first: some
 * servers select the first entry they are offered, and the bearer entry must never be
 * echoed back. Cookie and `auth`-frame clients offer `wsauth.v1` alone, so that they too
 * can check that the server speaks the protocol.
 */
export function subprotocols (token: string | undefined): string[] {
  return token === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`]
}
