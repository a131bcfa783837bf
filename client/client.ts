import {
  FrameType, MAX_TOKEN_LENGTH, SUBPROTOCOL, closePolicy,
  type AuthErrorFrame, type AuthenticatedFrame, type ClosePolicy, type RenewFrame, type RenewRequiredFrame, type RenewedFrame, type ServerFrame
} from '../protocol/core.ts'
import { backoffDelay, type BackoffOptions } from './backoff.ts'
import { Timer, systemClock, type Clock } from './clock.ts'
import { Emitter } from './emitter.ts'
import { onWake } from './environment.ts'
import { RenewalError, SendError, TokenError, isUnauthorized, type UnauthorizedError } from './errors.ts'
import { INVALID_FRAME, readFrame } from './frames.ts'
import { watchHttpRefusal, type HttpRefusal } from './refusal.ts'
import { Renewal, renewalLead, type RenewalOptions } from './renewal.ts'
import { OPEN, fitsSubprotocol, subprotocols, type MessageData, type SendData, type WebSocketConstructor, type WebSocketLike } from './socket.ts'

/** How the credential reaches the server (SPEC.md section 2). */
export type Transport = 'subprotocol' | 'cookie' | 'auth-frame'

/**
 * - `idle`: created, `connect()` not called yet;
 * - `connecting`: the first connection is being opened (token request included);
 * - `authenticating`: the socket is open, `authenticated` has not arrived yet;
 * - `open`: authenticated; messages flow;
 * - `reconnecting`: waiting to reconnect, or opening a later connection;
 * - `closed`: for good, after `close()`, a close the client must not retry, or `maxAttempts`;
 * - `logged_out`: for good, because `getToken()` (or `refresh()`) threw an {@link UnauthorizedError}.
 */
export type ConnectionState = 'idle' | 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closed' | 'logged_out'

/**
 * Why the client stopped for good (SPEC.md sections 7 and 9):
 * - `closed`: the application called `close()`;
 * - `policy`: the close code's policy is `stop` (revoked, forbidden, superseded, a protocol error, …);
 * - `refused`: a credential refusal that a fresh token cannot fix (`auth_error` with `retry: false`);
 * - `max_attempts`: `reconnect.maxAttempts` attempts in a row failed;
 * - `logged_out`: `getToken()` or `refresh()` threw an {@link UnauthorizedError}.
 */
export type StopReason = 'closed' | 'policy' | 'refused' | 'max_attempts' | 'logged_out'

export interface ReconnectOptions extends BackoffOptions {
  /** Reconnection attempts in a row before the client gives up (state `closed`). @default Infinity */
  maxAttempts?: number
  /** A connection that stayed authenticated this long (from `authenticated` to its close) resets the attempt count to 0, in ms. @default 5000 */
  resetAfter?: number
}

export interface WsAuthClientOptions {
  /** `ws:` or `wss:` URL of the authenticated route. Never put a token in it (SPEC.md section 11). */
  url: string
  /** How the credential travels. @default 'subprotocol' */
  transport?: Transport
  /**
   * Resolves to a fresh access token (a compact JWT). Required unless `transport` is
   * `'cookie'`. Called before a connection when no token known to be valid is at hand,
   * and once per renewal. Reject with an {@link UnauthorizedError} to say that no token
   * will come (the user logged out): the client then stops for good, in state
   * `logged_out`. Any other rejection is retried with backoff.
   */
  getToken?: () => Promise<string>
  /**
   * Cookie transport only: makes the application renew server-side (for example
   * `POST /auth/refresh` with `{"mode":"cookie"}`); the server then sends `renewed`.
   * Without it, the client only reports `renew_required` and `renewed`, and renewal is
   * left to the application. Reject with an {@link UnauthorizedError} to log out, as for `getToken`.
   */
  refresh?: () => Promise<void>
  /** The WebSocket class. @default globalThis.WebSocket (in Node, pass `ws`'s `WebSocket`) */
  WebSocket?: WebSocketConstructor
  /** Reconnection backoff (full jitter) and its limits. */
  reconnect?: ReconnectOptions
  /** When the client renews on its own, and how a refused renewal is retried. */
  renewal?: RenewalOptions
  /**
   * Messages `send` holds while the client is not open; they go out in order right after
   * the next `authenticated`. One more throws {@link SendError}; 0 refuses at once. @default 100
   */
  queueLimit?: number
  /** Source of the backoff jitter, in `[0, 1)`. @default Math.random */
  random?: () => number
  /** Time source of the client's timers. @default the system clock */
  clock?: Clock
}

/** Who the server says the open connection is. */
export interface Identity {
  connectionId: string
  subject: string
  sessionId?: string
}

export interface CloseInfo {
  code: number
  reason: string
  /** What the close code asks a client to do (SPEC.md section 7). */
  policy: ClosePolicy
  /** Whether the client reconnects by itself. */
  willRetry: boolean
  /** When it does, in how many ms. */
  retryIn?: number
  /** When it does not: why. */
  stopReason?: StopReason
  /**
   * The `auth_error` that announced the close, if one did: its `code` says why. For a
   * handshake refused with an HTTP status that the WebSocket exposes (Node's `ws`), the
   * same frame built from the response body, and `code` is the error's close code.
   */
  authError?: AuthErrorFrame
  /** The HTTP status of a handshake refused before the upgrade, when the WebSocket exposes it (Node's `ws`). */
  status?: number
}

export interface ClientEvents {
  state: [state: ConnectionState]
  /** The socket opened; `authenticated` has not arrived yet. */
  open: []
  authenticated: [frame: AuthenticatedFrame]
  renew_required: [frame: RenewRequiredFrame]
  renewed: [frame: RenewedFrame]
  auth_error: [frame: AuthErrorFrame]
  close: [info: CloseInfo]
  /** An application message; protocol frames never arrive here. */
  message: [data: MessageData]
  /**
   * A failure that is not a close: `getToken()` failed ({@link TokenError}; the client
   * retries with backoff), or a renewal failed for good ({@link RenewalError}).
   */
  error: [error: Error]
  /** `getToken()` or `refresh()` threw an {@link UnauthorizedError}: the client stopped for good (state `logged_out`); `close` follows. */
  logged_out: [error: UnauthorizedError]
}

interface Expiry {
  /** Local time at which the server closes unless renewed: receipt time + `expiresIn`. */
  deadline: number
  /** Local time of the client's own renewal. */
  renewAt: number
  /** The credential's lifetime when it was issued to the connection, for the renewal lead. */
  lifetime: number
}

/**
 * The reference client of the `wsauth.v1` protocol. It connects with a token, renews it
 * on the open connection before the deadline (on `renew_required`, and on its own timer
 * from the server-relative `expiresIn`), reconnects with backoff after network loss as
 * each close code's policy says, and stops for good on fatal codes.
 */
export class WsAuthClient extends Emitter<ClientEvents> {
  readonly #url: string
  readonly #transport: Transport
  readonly #getToken: (() => Promise<string>) | undefined
  readonly #refresh: (() => Promise<void>) | undefined
  readonly #WebSocket: WebSocketConstructor
  readonly #reconnect: ReconnectOptions
  readonly #renewalOptions: RenewalOptions
  readonly #queueLimit: number
  readonly #random: () => number
  readonly #clock: Clock
  readonly #renewal: Renewal
  readonly #renewTimer: Timer
  readonly #reconnectTimer: Timer

  #state: ConnectionState = 'idle'
  #socket: WebSocketLike | undefined
  #identity: Identity | undefined
  #expiry: Expiry | undefined
  /** The last token the server accepted, and until when (local time) it is reused for reconnecting. */
  #token: string | undefined
  #tokenReusableUntil = 0
  /** The token the connection being opened presents. */
  #connectToken: string | undefined
  /** Tokens sent in `renew` frames, by `id`, until their reply. */
  readonly #renewTokens = new Map<string, string>()
  /** Set by a renewal refused with `retry: false`: no automatic renewal until the next credential. */
  #renewalRefused = false
  #closingError: AuthErrorFrame | undefined
  /** What the server's HTTP refusal of the socket being opened said (Node's `ws` only). */
  #httpRefusal: HttpRefusal | undefined
  #attempts = 0
  #authenticatedAt = 0
  #queue: SendData[] = []
  #unwatch: (() => void) | undefined

  constructor (options: WsAuthClientOptions) {
    super()
    this.#url = checkUrl(options.url)
    this.#transport = options.transport ?? 'subprotocol'
    if (!['subprotocol', 'cookie', 'auth-frame'].includes(this.#transport)) {
      throw new TypeError(`options.transport must be 'subprotocol', 'cookie' or 'auth-frame', got ${String(this.#transport)}`)
    }
    if (this.#transport !== 'cookie' && typeof options.getToken !== 'function') {
      throw new TypeError(`options.getToken is required with transport '${this.#transport}': an async function that returns an access token`)
    }
    this.#getToken = options.getToken
    this.#refresh = this.#transport === 'cookie' ? options.refresh : undefined
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof WebSocketClass !== 'function') {
      throw new TypeError('no WebSocket implementation: pass options.WebSocket (in Node, the WebSocket class of the ws package)')
    }
    this.#WebSocket = WebSocketClass
    this.#reconnect = options.reconnect ?? {}
    this.#renewalOptions = options.renewal ?? {}
    this.#queueLimit = options.queueLimit ?? 100
    if (!Number.isInteger(this.#queueLimit) || this.#queueLimit < 0) throw new TypeError(`options.queueLimit must be a non-negative integer, got ${String(options.queueLimit)}`)
    this.#random = options.random ?? Math.random
    this.#clock = options.clock ?? systemClock
    this.#renewTimer = new Timer(this.#clock)
    this.#reconnectTimer = new Timer(this.#clock)
    this.#renewal = new Renewal({
      clock: this.#clock,
      random: this.#random,
      options: this.#renewalOptions,
      ids: this.#transport !== 'cookie',
      send: (id) => this.#sendRenewal(id),
      onFailure: (error) => {
        // The connection is going away: its close event tells the rest.
        if (error.code === 'not_open' || this.#ended) return
        if (!error.retry) this.#renewalRefused = true
        this.emit('error', error)
      }
    })
  }

  get state (): ConnectionState {
    return this.#state
  }

  /** Stopped for good: `closed` or `logged_out`. */
  get #ended (): boolean {
    return this.#state === 'closed' || this.#state === 'logged_out'
  }

  /** Who the server says this connection is; `undefined` unless `state` is `open`. */
  get identity (): Identity | undefined {
    return this.#identity
  }

  /**
   * When the server closes the connection unless it renews, in ms since the epoch on
   * this machine's clock (receipt time + `expiresIn`, so a skewed clock does not matter):
   * `expiresAt - Date.now()` is a correct countdown. `undefined` unless `state` is `open`.
   */
  get expiresAt (): number | undefined {
    return this.#expiry?.deadline
  }

  /** Milliseconds left until {@link expiresAt}, now. */
  get expiresIn (): number | undefined {
    return this.#expiry === undefined ? undefined : Math.max(0, this.#expiry.deadline - this.#clock.now())
  }

  /** When the client's own renewal timer fires, on this machine's clock (unless `renew_required` comes first). */
  get renewsAt (): number | undefined {
    return this.#expiry?.renewAt
  }

  /** Messages waiting for the next `authenticated`. */
  get queued (): number {
    return this.#queue.length
  }

  /** Opens the connection and keeps it open until `close()` or a close it must not retry. Once only. */
  connect (): void {
    if (this.#ended) throw new Error(`this client is ${this.#state === 'closed' ? 'closed' : 'logged out'}; create a new one`)
    if (this.#state !== 'idle') return
    this.#unwatch = onWake(() => { this.#onWake() })
    this.#attempt().catch(() => {})
  }

  /**
   * Sends an application message. While the client is not open, the message is queued (up
   * to `queueLimit`, else {@link SendError}) and sent after the next `authenticated`, in
   * order. After `close()` or a fatal close it throws {@link SendError}.
   */
  send (data: SendData): void {
    if (this.#ended) throw new SendError(`the client is ${this.#state === 'closed' ? 'closed' : 'logged out'}`)
    const socket = this.#socket
    if (this.#state === 'open' && socket?.readyState === OPEN) {
      socket.send(data)
      return
    }
    if (this.#queue.length >= this.#queueLimit) {
      throw new SendError(this.#queueLimit === 0
        ? `not connected (state ${this.#state}) and queueLimit is 0`
        : `not connected (state ${this.#state}) and the send queue is full (queueLimit ${this.#queueLimit})`)
    }
    this.#queue.push(data)
  }

  /**
   * Renews now. Concurrent calls, and the client's own triggers, share one flight: one
   * `getToken()` call and one `renew`. Resolves on `renewed`; rejects with {@link RenewalError}.
   */
  renewNow (): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new RenewalError('not_open', `cannot renew in state ${this.#state}`, false))
    if (this.#transport === 'cookie' && this.#refresh === undefined) {
      return Promise.reject(new RenewalError('unsupported', 'cookie transport without a refresh option: the application renews', false))
    }
    return this.#renewal.run()
  }

  /** Closes for good: no reconnection; queued messages are dropped. Emits `close` unless already closed. */
  close (code = 1000, reason = 'client_closed'): void {
    // The only codes browsers let a page send; checked first so that a bad one throws before anything changes.
    if (code !== 1000 && !(code >= 3000 && code <= 4999 && Number.isInteger(code))) throw new RangeError(`close code must be 1000 or 3000-4999, got ${code}`)
    if (this.#ended) return
    this.#closeSocket(code, reason)
    this.#finish({ code, reason, policy: 'stop', willRetry: false, stopReason: 'closed' })
  }

  #closeSocket (code: number, reason: string): void {
    const socket = this.#socket
    this.#socket = undefined
    if (socket !== undefined && socket.readyState <= OPEN) socket.close(code, reason)
  }

  /** `getToken()` or `refresh()` said that no token will come: stop for good, without another attempt. */
  #logOut (error: UnauthorizedError): void {
    if (this.#ended) return
    this.#closeSocket(1000, 'logged_out')
    this.#finish({ code: 1000, reason: 'logged_out', policy: 'stop', willRetry: false, stopReason: 'logged_out' }, error)
  }

  async #attempt (): Promise<void> {
    this.#setState(this.#state === 'idle' ? 'connecting' : 'reconnecting')
    let token: string | undefined
    if (this.#transport !== 'cookie') {
      try {
        token = await this.#tokenToConnect()
      } catch (error) {
        if (this.#ended) return
        if (isUnauthorized(error)) {
          this.#logOut(error)
          return
        }
        this.emit('error', error as Error)
        // No close frame, as for any connection that could not be opened.
        this.#afterClose(1006, 'token_unavailable', false)
        return
      }
      if (this.#ended) return
    }
    this.#connectToken = token
    let socket: WebSocketLike
    try {
      socket = new this.#WebSocket(this.#url, subprotocols(this.#transport === 'subprotocol' ? token : undefined))
    } catch (error) {
      this.emit('error', error as Error)
      this.#afterClose(1006, 'websocket_failed', false)
      return
    }
    this.#socket = socket
    this.#httpRefusal = undefined
    socket.binaryType = 'arraybuffer'
    watchHttpRefusal(socket, this.#clock, (refusal) => { if (socket === this.#socket) this.#httpRefusal = refusal })
    // Every handler first checks that its socket is still the current one: a socket the
    // client has given up on must not move the state machine.
    socket.onopen = () => { if (socket === this.#socket) this.#onOpen(socket) }
    socket.onmessage = (event: { data: unknown }) => { if (socket === this.#socket) this.#onMessage(event.data) }
    // A close event always follows an error one, with the code that matters.
    socket.onerror = () => {}
    socket.onclose = (event: { code: number, reason: string }) => {
      if (socket !== this.#socket) return
      this.#socket = undefined
      const refusal = this.#httpRefusal
      this.#httpRefusal = undefined
      if (refusal?.authError === undefined) {
        this.#afterClose(event.code, event.reason, this.#state === 'open', refusal)
        return
      }
      // Told as a refusal by close would have been: the auth_error, then its close code.
      this.#closingError = refusal.authError
      this.emit('auth_error', refusal.authError)
      if (this.#ended) return
      this.#afterClose(refusal.closeCode as number, refusal.authError.code, false, refusal)
    }
  }

  /** The last accepted token while it is safely valid; else a new one from `getToken()`. */
  async #tokenToConnect (): Promise<string> {
    if (this.#token !== undefined && this.#clock.now() < this.#tokenReusableUntil) return this.#token
    const token = await this.#fetchToken()
    if (this.#transport === 'subprotocol' && !fitsSubprotocol(token)) {
      throw new TokenError('getToken() returned a token with characters a subprotocol cannot carry (expected a compact JWT)')
    }
    return token
  }

  async #fetchToken (): Promise<string> {
    let token: unknown
    try {
      token = await (this.#getToken as () => Promise<string>)()
    } catch (error) {
      if (isUnauthorized(error)) throw error
      throw new TokenError(`getToken() failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenError(`getToken() must resolve to a token of 1 to ${MAX_TOKEN_LENGTH} characters`)
    }
    return token
  }

  #onOpen (socket: WebSocketLike): void {
    if (socket.protocol !== SUBPROTOCOL) {
      // Not a wsauth.v1 server (SPEC.md section 11): retrying cannot help. Browsers let a
      // client close only with 1000 or 3000-4999, so the socket closes without a code and
      // the application is told 1002 (protocol error).
      this.#socket = undefined
      socket.close()
      this.#finish({ code: 1002, reason: 'subprotocol_not_selected', policy: 'stop', willRetry: false, stopReason: 'policy' })
      return
    }
    if (this.#transport === 'auth-frame') socket.send(JSON.stringify({ type: FrameType.Auth, token: this.#connectToken as string }))
    this.#setState('authenticating')
    this.emit('open')
  }

  #onMessage (data: unknown): void {
    const frame = readFrame(data)
    if (frame === undefined) this.emit('message', data as MessageData)
    else if (frame !== INVALID_FRAME) this.#onFrame(frame)
  }

  #onFrame (frame: ServerFrame): void {
    switch (frame.type) {
      case FrameType.Authenticated:
        this.#onAuthenticated(frame)
        break
      case FrameType.RenewRequired:
        if (this.#expiry !== undefined) this.#setExpiry(frame.expiresIn, this.#expiry.lifetime)
        this.emit('renew_required', frame)
        this.#renewByItself()
        break
      case FrameType.Renewed: {
        const token = frame.id === undefined ? undefined : this.#renewTokens.get(frame.id)
        if (frame.id !== undefined) this.#renewTokens.delete(frame.id)
        this.#renewalRefused = false
        this.#setExpiry(frame.expiresIn, frame.expiresIn)
        // A `renewed` without our id is a server-side renewal with a token this client
        // never saw; the one it holds keeps its old validity for reconnecting.
        if (token !== undefined) this.#keepToken(token)
        this.#renewal.settle(frame)
        this.emit('renewed', frame)
        break
      }
      case FrameType.AuthError:
        if (frame.closing) {
          this.#closingError = frame
        } else {
          if (frame.id !== undefined) this.#renewTokens.delete(frame.id)
          this.#renewal.settle(frame)
        }
        this.emit('auth_error', frame)
        break
    }
  }

  #onAuthenticated (frame: AuthenticatedFrame): void {
    if (this.#state !== 'authenticating') return
    this.#identity = { connectionId: frame.connectionId, subject: frame.subject, ...(frame.sessionId === undefined ? {} : { sessionId: frame.sessionId }) }
    this.#authenticatedAt = this.#clock.now()
    this.#renewalRefused = false
    this.#setExpiry(frame.expiresIn, frame.expiresIn)
    if (this.#connectToken !== undefined) this.#keepToken(this.#connectToken)
    // Queued messages go first, so that whatever listeners send on `authenticated` follows them.
    const socket = this.#socket as WebSocketLike
    for (const data of this.#queue.splice(0)) socket.send(data)
    this.#setState('open')
    this.emit('authenticated', frame)
  }

  /** Records the deadline from the server-relative `expiresIn`, and arms the fallback renewal. */
  #setExpiry (expiresIn: number, lifetime: number): void {
    const now = this.#clock.now()
    const deadline = now + expiresIn
    const renewAt = deadline - renewalLead(lifetime, this.#renewalOptions)
    this.#expiry = { deadline, renewAt, lifetime }
    this.#renewTimer.start(renewAt - now, () => { this.#renewByItself() })
  }

  /** The server accepted `token`: reconnections reuse it until the client would renew it anyway. */
  #keepToken (token: string): void {
    this.#token = token
    this.#tokenReusableUntil = this.#expiry?.renewAt ?? 0
  }

  /** An automatic renewal (`renew_required`, the fallback timer, the page waking up). */
  #renewByItself (): void {
    if (this.#state !== 'open' || this.#renewalRefused) return
    if (this.#transport === 'cookie' && this.#refresh === undefined) return
    // Failures reach the `error` event through the renewal's onFailure.
    this.#renewal.run().catch(() => {})
  }

  async #sendRenewal (id: string | undefined): Promise<void> {
    if (this.#transport === 'cookie') {
      try {
        await (this.#refresh as () => Promise<void>)()
      } catch (error) {
        if (isUnauthorized(error)) this.#logOut(error)
        throw new RenewalError('token_unavailable', `refresh() failed: ${error instanceof Error ? error.message : String(error)}`, true, { cause: error })
      }
      return
    }
    let token: string
    try {
      token = await this.#fetchToken()
    } catch (error) {
      if (isUnauthorized(error)) this.#logOut(error)
      throw error
    }
    const socket = this.#socket
    if (this.#state !== 'open' || socket?.readyState !== OPEN) throw new RenewalError('not_open', 'the connection closed while the token was obtained', false)
    this.#renewTokens.set(id as string, token)
    // Tries that timed out never get a reply: keep only the latest few.
    if (this.#renewTokens.size > 8) this.#renewTokens.delete(this.#renewTokens.keys().next().value as string)
    const frame: RenewFrame = { type: FrameType.Renew, token, id }
    socket.send(JSON.stringify(frame))
  }

  /**
   * Applies the close's policy (SPEC.md section 7): reconnect after a delay, or stop.
   * `attempts` counts the attempts since the last connection that stayed authenticated
   * for `resetAfter` (5 s): attempt n waits random × min(maxDelay, baseDelay × 2^n), except
   * that a `reauthenticate` close with n = 0 reconnects at once (with a fresh token).
   */
  #afterClose (code: number, reason: string, wasOpen: boolean, refusal?: HttpRefusal): void {
    const authError = this.#closingError
    this.#closingError = undefined
    this.#endConnection()
    const policy = closePolicy(code, authError?.retry)
    if (policy === 'reauthenticate') this.#tokenReusableUntil = 0
    if (wasOpen && this.#clock.now() - this.#authenticatedAt >= (this.#reconnect.resetAfter ?? 5000)) this.#attempts = 0
    const base: CloseInfo = { code, reason, policy, willRetry: false }
    if (authError !== undefined) base.authError = authError
    if (refusal !== undefined) base.status = refusal.status
    if (policy === 'stop') {
      this.#finish({ ...base, stopReason: policy === closePolicy(code) ? 'policy' : 'refused' })
      return
    }
    if (this.#attempts >= (this.#reconnect.maxAttempts ?? Number.POSITIVE_INFINITY)) {
      this.#finish({ ...base, stopReason: 'max_attempts' })
      return
    }
    // A fresh token fixes a `reauthenticate` close: the first retry goes at once. The
    // server's Retry-After, when it could be read, is a floor.
    const backoff = policy === 'reauthenticate' && this.#attempts === 0 ? 0 : backoffDelay(this.#attempts, this.#reconnect, this.#random)
    const delay = Math.max(backoff, refusal?.retryAfter ?? 0)
    this.#attempts++
    this.#reconnectTimer.start(delay, () => { this.#attempt().catch(() => {}) })
    this.#setState('reconnecting')
    // A `state` listener may have closed the client: its own `close` event was the last word.
    if (this.#state === 'reconnecting') this.emit('close', { ...base, willRetry: true, retryIn: delay })
  }

  /** Forgets the connection that ended: its identity, deadline and renewal. */
  #endConnection (loggedOut = false): void {
    this.#identity = undefined
    this.#expiry = undefined
    this.#renewTimer.cancel()
    this.#renewTokens.clear()
    this.#renewal.abort(loggedOut
      ? new RenewalError('logged_out', 'no token will come: getToken() threw an UnauthorizedError', false)
      : new RenewalError('closed', 'the connection closed before the renewal completed', true))
  }

  /** Stops for good; logged out when `loggedOut` is the UnauthorizedError that said so. */
  #finish (info: CloseInfo, loggedOut?: UnauthorizedError): void {
    this.#endConnection(loggedOut !== undefined)
    this.#reconnectTimer.cancel()
    this.#unwatch?.()
    this.#unwatch = undefined
    this.#queue = []
    this.#setState(loggedOut === undefined ? 'closed' : 'logged_out')
    if (loggedOut !== undefined) this.emit('logged_out', loggedOut)
    this.emit('close', info)
  }

  /**
   * The page was possibly asleep (tab hidden, laptop closed, network gone): timers may
   * have fired late or not at all. Reconnect now if waiting to; renew now if the renewal
   * time has passed.
   */
  #onWake (): void {
    if (this.#reconnectTimer.pending) {
      this.#reconnectTimer.cancel()
      this.#attempt().catch(() => {})
    } else if (this.#expiry !== undefined && this.#clock.now() >= this.#expiry.renewAt) {
      this.#renewByItself()
    }
  }

  #setState (state: ConnectionState): void {
    if (this.#state === state) return
    this.#state = state
    this.emit('state', state)
  }
}

function checkUrl (url: unknown): string {
  let parsed: URL
  try {
    parsed = new URL(url as string)
  } catch {
    throw new TypeError(`options.url must be an absolute ws: or wss: URL, got ${String(url)}`)
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) throw new TypeError(`options.url must be a ws: or wss: URL, got ${parsed.protocol}`)
  return url as string
}
