import { WebSocket } from 'ws'

/** Where the plugin's per-socket hooks live on a socket. */
export const kHooks = Symbol('fastify-ws-auth.socketHooks')
export const kMessage = Symbol('fastify-ws-auth.onMessage')
export const kBeforeSend = Symbol('fastify-ws-auth.beforeSend')
export const kAfterSend = Symbol('fastify-ws-auth.afterSend')
export const kPong = Symbol('fastify-ws-auth.onPong')
export const kClosed = Symbol('fastify-ws-auth.onClose')

/**
 * What the plugin needs to see of a socket's life: inbound messages (to filter protocol
 * frames and late messages before any application listener), sends (the deadline guard
 * and the send-buffer cap), pongs (heartbeat) and the close. Symbol keys keep these off
 * the public surface of the objects that implement them.
 */
export interface SocketHooks {
  /** Returns whether the message goes on to the application's listeners. */
  [kMessage] (data: Buffer, isBinary: boolean): boolean
  [kBeforeSend]? (): void
  [kAfterSend]? (socket: WebSocket): void
  [kPong]? (): void
  [kClosed]? (code: number): void
}

/**
 * The socket class the plugin gives `ws` (its `WebSocket` server option). One class with
 * one hooks slot replaces per-socket closures overriding `emit` and `send` (measured in
 * bench/: about 360 bytes per connection, and a megamorphic call on every message), and
 * lets the route handler keep the plain `ws` API. Sockets without hooks (routes without
 * `wsAuth`) behave exactly like `ws`'s.
 */
export class HookedWebSocket extends WebSocket {
  [kHooks]: SocketHooks | undefined = undefined
}

// Both methods are assigned with fixed parameters rather than declared with rest
// parameters: `emit` and `send` run for every message, and a rest array plus a spread
// per call showed in bench/ as about a microsecond per echoed message.
const baseEmit = WebSocket.prototype.emit as (this: WebSocket, ...args: unknown[]) => boolean
const baseSend = WebSocket.prototype.send as (this: WebSocket, ...args: unknown[]) => void

HookedWebSocket.prototype.emit = function hookedEmit (this: HookedWebSocket, event: string | symbol, a?: unknown, b?: unknown): boolean {
  const hooks = this[kHooks]
  if (event === 'message') {
    if (hooks !== undefined && !hooks[kMessage](a as Buffer, b as boolean)) return false
    return baseEmit.call(this, event, a, b)
  }
  if (hooks !== undefined) {
    if (event === 'pong') hooks[kPong]?.()
    else if (event === 'close') hooks[kClosed]?.(a as number)
  }
  // Other events keep their exact arguments.
  return baseEmit.apply(this, arguments as unknown as unknown[])
} as WebSocket['emit']

HookedWebSocket.prototype.send = function hookedSend (this: HookedWebSocket, data: unknown, options?: unknown, callback?: unknown): void {
  const hooks = this[kHooks]
  if (hooks === undefined) {
    baseSend.call(this, data, options, callback)
    return
  }
  hooks[kBeforeSend]?.()
  baseSend.call(this, data, options, callback)
  hooks[kAfterSend]?.(this)
} as WebSocket['send']

/** Installs (or, with `undefined`, removes) the plugin's hooks on a socket. */
export function hook (socket: WebSocket, hooks: SocketHooks | undefined): void {
  (socket as HookedWebSocket)[kHooks] = hooks
}
