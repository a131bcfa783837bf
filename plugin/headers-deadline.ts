import { Server as HttpServer, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { Server as TlsServer } from 'node:tls'
import type { Clock } from './clock.ts'

// What Node itself writes when its headersTimeout strikes (then it destroys the socket).
const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
// A consumed FIFO prefix longer than this is cut off, so the arrays do not grow forever.
const COMPACT_AFTER = 1024

// Where a socket's place in the FIFO is kept, so that its upgrade can release it.
const kPosition = Symbol('fastify-ws-auth.headersDeadlinePosition')

type HttpSocket = Socket & { _httpMessage?: unknown, [kPosition]?: number }

/**
 * Bounds how long a connection of the server may take to deliver the complete headers of
 * its first request: after `timeoutMs` from its accept (from the end of the TLS handshake on
 * a TLS server) a connection that has not is answered 408 and destroyed, as Node does.
 *
 * Node's own `headersTimeout` is not a dependable bound: it is enforced by a sweep every
 * `connectionsCheckingInterval` (30 s), so 60 to 90 s by default, and a partial request was
 * seen open past 125 s on the example app after upgrades had been served (PITFALLS.md). A
 * handshake is never counted by the plugin's own limits until its headers are complete.
 *
 * Cost: one array slot per connection, nothing per request. Every connection waits the same
 * time, so the deadlines are in arrival order: a FIFO behind one timer, not a heap. An
 * upgraded socket leaves the FIFO at its upgrade (the `upgrade` listener runs before any
 * other): held there until its deadline, every socket of the last `timeoutMs` stayed alive
 * with its WebSocket and connection, closed or not: about 6.7 KB of heap per handshake of
 * the last `timeoutMs`, hundreds of MB at benchmark rates (bench/README.md, Caveats). When a deadline is due, its socket is left alone if a request arrived on
 * it: a response in progress (`_httpMessage`, Node's own field for it) or written
 * (`bytesWritten`, which Node checks the same way before its 408). Keep-alive connections are
 * Node's `keepAliveTimeout` after that first request.
 */
export class HeadersDeadline {
  readonly #server: HttpServer | TlsServer
  readonly #event: 'connection' | 'secureConnection'
  readonly #timeoutMs: number
  readonly #clock: Clock
  readonly #sockets: Socket[] = []
  readonly #due: number[] = []
  #head = 0
  /** Entries cut off the front of the arrays so far: a socket's position minus this is its index. */
  #dropped = 0
  #timer: unknown = undefined

  /** The deadline for `server`, or `undefined` when it is neither an HTTP/1 nor a TLS server (HTTP/2). */
  static for (server: unknown, timeoutMs: number, clock: Clock): HeadersDeadline | undefined {
    if (timeoutMs === 0) return undefined
    if (server instanceof TlsServer) return new HeadersDeadline(server, 'secureConnection', timeoutMs, clock)
    if (server instanceof HttpServer) return new HeadersDeadline(server, 'connection', timeoutMs, clock)
    return undefined
  }

  private constructor (server: HttpServer | TlsServer, event: 'connection' | 'secureConnection', timeoutMs: number, clock: Clock) {
    this.#server = server
    this.#event = event
    this.#timeoutMs = timeoutMs
    this.#clock = clock
  }

  start (): void {
    this.#server.prependListener(this.#event, this.#accepted)
    this.#server.prependListener('upgrade', this.#upgrade)
  }

  stop (): void {
    this.#server.removeListener(this.#event, this.#accepted)
    this.#server.removeListener('upgrade', this.#upgrade)
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#reset()
  }

  #reset (): void {
    this.#dropped += this.#sockets.length
    this.#sockets.length = 0
    this.#due.length = 0
    this.#head = 0
  }

  #accepted = (socket: Socket): void => {
    (socket as HttpSocket)[kPosition] = this.#dropped + this.#sockets.length
    this.#sockets.push(socket)
    this.#due.push(this.#clock.now() + this.#timeoutMs)
    if (this.#timer === undefined) this.#arm()
  }

  #upgrade = (request: IncomingMessage): void => {
    const socket = request.socket as HttpSocket
    const position = socket[kPosition]
    if (position === undefined) return
    const index = position - this.#dropped
    // Its deadline stays in `#due`, so the timer's schedule is unchanged; only the socket goes.
    if (index >= this.#head && this.#sockets[index] === socket) this.#sockets[index] = undefined as unknown as Socket
  }

  #arm (): void {
    const due = this.#due[this.#head] as number
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, due - this.#clock.now()))
  }

  #fire = (): void => {
    this.#timer = undefined
    const now = this.#clock.now()
    while (this.#head < this.#sockets.length && (this.#due[this.#head] as number) <= now) {
      const socket = this.#sockets[this.#head] as HttpSocket | undefined
      this.#sockets[this.#head] = undefined as unknown as Socket
      this.#head++
      // undefined: upgraded, released by #upgrade.
      if (socket === undefined || socket.destroyed || socket._httpMessage != null || socket.bytesWritten > 0) continue
      if (socket.writable) socket.write(REQUEST_TIMEOUT_RESPONSE)
      socket.destroy()
    }
    if (this.#head === this.#sockets.length) {
      this.#reset()
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#sockets.length) {
      this.#sockets.splice(0, this.#head)
      this.#due.splice(0, this.#head)
      this.#dropped += this.#head
      this.#head = 0
    }
    if (this.#head < this.#sockets.length) this.#arm()
  }
}
