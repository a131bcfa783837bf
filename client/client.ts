import {
  BEARER_SUBPROTOCOL_PREFIX, FrameType, SUBPROTOCOL, closePolicy, isServerFrame,
  type AuthErrorFrame, type AuthenticatedFrame, type ClosePolicy, type RenewRequiredFrame, type RenewedFrame
} from '../protocol/index.ts'
import { backoffDelay, type BackoffOptions } from './backoff.ts'
import { Emitter } from './emitter.ts'

/** The part of the WebSocket API the client uses: the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number
  readonly protocol: string
  binaryType: string
  send (data: string | ArrayBufferLike | ArrayBufferView): void
  close (code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number, reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

export type Transport = 'subprotocol' | 'cookie' | 'auth-frame'

export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closed'

export interface Timers {
  now (): number
  setTimeout (callback: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

export interface WsAuthClientOptions {
  /** `ws://` or `wss://` URL of the authenticated route. Never put a token in it. */
  url: string
  /** How the credential travels (SPEC.md section 2). @default 'subprotocol' */
  transport?: Transport
  /** Returns a valid access token (subprotocol and auth-frame transports). Called once per connect and per renewal. */
  getToken?: () => Promise<string>
  /**
   * Cookie transport: asks the application to renew server-side (for example `POST /auth/refresh`), after which
   * the server sends `renewed`. The page never sees the token.
   */
  refresh?: () => Promise<void>
  /** The WebSocket class: the global one in browsers; pass `ws`'s `WebSocket` in Node. */
  WebSocket?: WebSocketConstructor
  /** Reconnection backoff, and how many attempts in a row before giving up. */
  reconnect?: BackoffOptions & { maxAttempts?: number }
  /** Messages `send` may hold while not connected; more throws. @default 100 */
  queueLimit?: number
  /** How long a renewal may take before it counts as failed, ms. @default 10000 */
  renewTimeout?: number
  /** Random source of the backoff jitter (tests). */
  random?: () => number
  /** Timer functions (tests). */
  timers?: Timers
}

export interface Identity {
  connectionId: string
  subject: string
  sessionId?: string
}

export interface CloseInfo {
  code: number
  reason: string
  /** What the close code asks for (SPEC.md section 7). */
  policy: ClosePolicy
  /** Whether the client will reconnect by itself. */
  willRetry: boolean
}

export interface ClientEvents {
  state: [state: ConnectionState]
  open: []
  authenticated: [frame: AuthenticatedFrame]
  renew_required: [frame: RenewRequiredFrame]
  renewed: [frame: RenewedFrame]
  auth_error: [frame: AuthErrorFrame]
  close: [info: CloseInfo]
  /** An application message: a string, or binary data as the WebSocket delivered it. */
  message: [data: unknown]
}

/** Thrown by `send` when the message can be neither sent nor queued. */
export class SendError extends Error {
  override name = 'SendError'
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) }
}

const OPEN = 1
const RENEWAL_RETRIES = 3

/**
 * The reference client of the wsauth.v1 protocol: connects with a token, renews it in-band
 * before the deadline (on `renew_required` and on its own timer), reconnects with backoff
 * after network loss, and stops for good on fatal close codes.
 */
export class WsAuthClient extends Emitter<ClientEvents> {
  readonly #options: WsAuthClientOptions
  readonly #timers: Timers
  readonly #transport: Transport
  readonly #WebSocket: WebSocketConstructor
  #socket: WebSocketLike | undefined
  #state: ConnectionState = 'idle'
  #identity: Identity | undefined
  /** Local time at which the server closes unless renewed (receipt time + expiresIn). */
  #deadline: number | undefined
  #token: string | undefined
  #tokenDeadline = 0
  #needsFreshToken = false
  #attempts = 0
  #queue: unknown[] = []
  #renewal: Promise<void> | undefined
  #renewalWaiter: { id: string | undefined, resolve: () => void, reject: (error: Error) => void } | undefined
  #renewalTimer: unknown
  #reconnectTimer: unknown
  #requestIds = 0
  #stopped = false
  #detach: (() => void) | undefined

  constructor (options: WsAuthClientOptions) {
    super()
    this.#options = options
    this.#timers = options.timers ?? defaultTimers
    this.#transport = options.transport ?? 'subprotocol'
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (WebSocketClass === undefined) throw new TypeError('no WebSocket implementation: pass options.WebSocket (in Node, ws\'s WebSocket)')
    this.#WebSocket = WebSocketClass
    if (this.#transport !== 'cookie' && options.getToken === undefined) throw new TypeError(`transport "${this.#transport}" needs getToken()`)
  }

  get state (): ConnectionState {
    return this.#state
  }

  /** Who the server says this connection is, once authenticated. */
  get identity (): Identity | undefined {
    return this.#identity
  }

  /** Local time (ms, this clock) at which the credential expires on the server; undefined before `authenticated`. */
  get expiresAt (): number | undefined {
    return this.#deadline
  }

  /** Opens the connection (and keeps it open until `close()` or a fatal close). */
  connect (): void {
    if (this.#state !== 'idle') return
    this.#watchEnvironment()
    this.#open().catch(() => {})
  }

  /**
   * Sends an application message. While not connected it is queued (at most
   * `queueLimit`, then {@link SendError}) and sent in order once authenticated again;
   * after `close()` or a fatal close it throws.
   */
  send (data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.#stopped) throw new SendError('the client is closed')
    if (this.#state === 'open' && this.#socket?.readyState === OPEN) {
      this.#socket.send(data)
      return
    }
    if (this.#queue.length >= (this.#options.queueLimit ?? 100)) throw new SendError('not connected and the send queue is full')
    this.#queue.push(data)
  }

  /** Renews now (single flight: concurrent calls share one token request and one `renew`). */
  renewNow (): Promise<void> {
    this.#renewal ??= this.#renew().finally(() => { this.#renewal = undefined })
    return this.#renewal
  }

  /** Closes for good: no reconnection. */
  close (code = 1000, reason = 'client_closed'): void {
    this.#stopped = true
    this.#clearTimers()
    this.#detach?.()
    const socket = this.#socket
    this.#socket = undefined
    if (socket !== undefined && socket.readyState <= OPEN) socket.close(code, reason)
    this.#rejectRenewal(new Error('closed'))
    this.#setState('closed')
  }

  async #open (): Promise<void> {
    this.#setState(this.#attempts === 0 ? 'connecting' : 'reconnecting')
    let token: string | undefined
    if (this.#transport !== 'cookie') {
      try {
        token = await this.#currentToken()
      } catch {
        this.#scheduleReconnect({ code: 4401, reason: 'get_token_failed', policy: 'reconnect', willRetry: true })
        return
      }
    }
    if (this.#stopped) return
    const protocols = this.#transport === 'subprotocol' ? [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token as string}`] : [SUBPROTOCOL]
    const socket = new this.#WebSocket(this.#options.url, protocols)
    this.#socket = socket
    socket.binaryType = 'arraybuffer'
    socket.onopen = () => {
      this.#setState('authenticating')
      this.emit('open')
      if (this.#transport === 'auth-frame') socket.send(JSON.stringify({ type: FrameType.Auth, token }))
    }
    socket.onmessage = (event) => { this.#onMessage(event.data) }
    socket.onerror = () => {}
    socket.onclose = (event) => { if (this.#socket === socket) this.#onClose(event.code, event.reason) }
  }

  /** The cached token while the server would still accept it, else a new one. */
  async #currentToken (): Promise<string> {
    if (this.#token !== undefined && !this.#needsFreshToken && this.#timers.now() < this.#tokenDeadline) return this.#token
    const token = await (this.#options.getToken as () => Promise<string>)()
    this.#token = token
    this.#needsFreshToken = false
    // Unknown until the server says: trust it for one connection attempt.
    this.#tokenDeadline = Number.POSITIVE_INFINITY
    return token
  }

  #onMessage (data: unknown): void {
    if (typeof data === 'string' && data.includes('"type"')) {
      let frame: unknown
      try { frame = JSON.parse(data) } catch {}
      if (isServerFrame(frame)) {
        this.#onFrame(frame)
        return
      }
    }
    this.emit('message', data)
  }

  #onFrame (frame: AuthenticatedFrame | RenewRequiredFrame | RenewedFrame | AuthErrorFrame): void {
    switch (frame.type) {
      case FrameType.Authenticated: {
        this.#identity = { connectionId: frame.connectionId, subject: frame.subject, ...(frame.sessionId === undefined ? {} : { sessionId: frame.sessionId }) }
        this.#setDeadline(frame.expiresIn)
        this.#attempts = 0
        this.#setState('open')
        this.emit('authenticated', frame)
        for (const data of this.#queue.splice(0)) this.#socket?.send(data as string)
        break
      }
      case FrameType.RenewRequired:
        this.#setDeadline(frame.expiresIn)
        this.emit('renew_required', frame)
        this.renewNow().catch(() => {})
        break
      case FrameType.Renewed:
        this.#setDeadline(frame.expiresIn)
        this.emit('renewed', frame)
        if (this.#renewalWaiter !== undefined && (this.#renewalWaiter.id === undefined || this.#renewalWaiter.id === frame.id)) this.#renewalWaiter.resolve()
        break
      case FrameType.AuthError:
        this.emit('auth_error', frame)
        if (frame.closing) this.#needsFreshToken ||= frame.retry
        else if (this.#renewalWaiter !== undefined && (frame.id === undefined || frame.id === this.#renewalWaiter.id)) {
          this.#renewalWaiter.reject(Object.assign(new Error(frame.message), { code: frame.code, retry: frame.retry }))
        }
        break
    }
  }

  /** Records the deadline from a server-relative duration, and arms the fallback renewal timer. */
  #setDeadline (expiresIn: number): void {
    const now = this.#timers.now()
    this.#deadline = now + expiresIn
    this.#tokenDeadline = this.#deadline
    if (this.#renewalTimer !== undefined) this.#timers.clearTimeout(this.#renewalTimer)
    // A fallback in case `renew_required` is lost or the server sends it late: renew when
    // 10 % of the lifetime (at least 5 s) is left, but never before half of it has passed,
    // so that short-lived tokens are not renewed in a tight loop.
    const margin = Math.max(5000, expiresIn * 0.1)
    this.#renewalTimer = this.#timers.setTimeout(() => {
      this.#renewalTimer = undefined
      this.renewNow().catch(() => {})
    }, Math.max(expiresIn / 2, expiresIn - margin))
  }

  async #renew (): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#renewOnce()
        return
      } catch (error) {
        const retry = (error as { retry?: boolean }).retry !== false
        if (!retry || attempt + 1 >= RENEWAL_RETRIES || this.#stopped || this.#state !== 'open') throw error
        await new Promise((resolve) => this.#timers.setTimeout(() => { resolve(undefined) }, backoffDelay(attempt, { baseDelay: 250, maxDelay: 2000 }, this.#options.random)))
      }
    }
  }

  async #renewOnce (): Promise<void> {
    if (this.#state !== 'open') throw new Error('not connected')
    const id = this.#transport === 'cookie' ? undefined : `r${++this.#requestIds}`
    const settled = new Promise<void>((resolve, reject) => {
      const timer = this.#timers.setTimeout(() => { reject(new Error('renewal timed out')) }, this.#options.renewTimeout ?? 10_000)
      this.#renewalWaiter = {
        id,
        resolve: () => { this.#timers.clearTimeout(timer); this.#renewalWaiter = undefined; resolve() },
        reject: (error) => { this.#timers.clearTimeout(timer); this.#renewalWaiter = undefined; reject(error) }
      }
    })
    settled.catch(() => {})
    try {
      if (this.#transport === 'cookie') {
        await this.#options.refresh?.()
      } else {
        this.#needsFreshToken = true
        const token = await this.#currentToken()
        if (this.#socket?.readyState !== OPEN) throw new Error('not connected')
        this.#socket.send(JSON.stringify({ type: FrameType.Renew, token, id }))
      }
    } catch (error) {
      this.#rejectRenewal(error as Error)
    }
    await settled
  }

  #rejectRenewal (error: Error): void {
    this.#renewalWaiter?.reject(error)
  }

  #onClose (code: number, reason: string): void {
    this.#socket = undefined
    this.#clearTimers()
    this.#rejectRenewal(new Error('connection closed'))
    if (this.#stopped) return
    const policy = closePolicy(code)
    // Refused before `authenticated` (a browser sees 1006 for an HTTP refusal): the token
    // may be the problem, so the next attempt asks for a new one.
    if (policy === 'reauthenticate' || this.#state !== 'open') this.#needsFreshToken = true
    const maxAttempts = this.#options.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY
    const willRetry = policy !== 'stop' && this.#attempts < maxAttempts
    const info: CloseInfo = { code, reason, policy, willRetry }
    if (!willRetry) {
      this.#stopped = true
      this.#detach?.()
      this.emit('close', info)
      this.#setState('closed')
      return
    }
    this.#scheduleReconnect(info)
  }

  #scheduleReconnect (info: CloseInfo): void {
    this.emit('close', info)
    this.#setState('reconnecting')
    // The first reconnection after a reauthenticate close is immediate (a new token fixes it).
    const delay = info.policy === 'reauthenticate' && this.#attempts === 0 ? 0 : backoffDelay(this.#attempts, this.#options.reconnect, this.#options.random)
    this.#attempts++
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#reconnectTimer = undefined
      if (!this.#stopped) this.#open().catch(() => {})
    }, delay)
  }

  #clearTimers (): void {
    if (this.#renewalTimer !== undefined) this.#timers.clearTimeout(this.#renewalTimer)
    if (this.#reconnectTimer !== undefined) this.#timers.clearTimeout(this.#reconnectTimer)
    this.#renewalTimer = undefined
    this.#reconnectTimer = undefined
  }

  #setState (state: ConnectionState): void {
    if (this.#state === state) return
    this.#state = state
    this.emit('state', state)
  }

  /**
   * Browsers suspend timers in hidden tabs and while offline: when the page comes back,
   * renew at once if the deadline is near or past, and reconnect at once if waiting.
   */
  #watchEnvironment (): void {
    const target = globalThis as unknown as { addEventListener?: (type: string, listener: () => void) => void, removeEventListener?: (type: string, listener: () => void) => void, document?: { visibilityState?: string, addEventListener?: (type: string, listener: () => void) => void, removeEventListener?: (type: string, listener: () => void) => void } }
    if (typeof target.addEventListener !== 'function' || target.document === undefined) return
    const wake = (): void => {
      if (target.document?.visibilityState === 'hidden' || this.#stopped) return
      if (this.#state === 'reconnecting' && this.#reconnectTimer !== undefined) {
        this.#timers.clearTimeout(this.#reconnectTimer)
        this.#reconnectTimer = undefined
        this.#open().catch(() => {})
      } else if (this.#state === 'open' && this.#deadline !== undefined && this.#deadline - this.#timers.now() < 10_000) {
        this.renewNow().catch(() => {})
      }
    }
    target.addEventListener('online', wake)
    target.document.addEventListener?.('visibilitychange', wake)
    this.#detach = () => {
      target.removeEventListener?.('online', wake)
      target.document?.removeEventListener?.('visibilitychange', wake)
    }
  }
}
