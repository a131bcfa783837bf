import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, ERRORS, FrameType, RESERVED_FRAME_TYPES, isAuthFrame, isRenewFrame, parseJson, type ErrorCode } from '../../protocol/index.ts'
import { CaseFailed, RecordedRun } from './recorded-run.ts'
import type { TimelineEvent } from './timeline.ts'
import { abbreviate, TokenIssuer, type IssuedToken } from './tokens.ts'

/** Thrown by a case script to end the case at once as failed. */
export { CaseFailed }

export interface ReceivedMessage {
  t: number
  binary: boolean
  data: Buffer
  /** The parsed JSON object, when the message is a text JSON object. */
  json: Record<string, unknown> | undefined
  /** Received after the kit had sent its close frame. */
  afterClose: boolean
}

const TEXT_DECODER = new TextDecoder('utf-8', { fatal: false })

function describe (data: Buffer, binary: boolean): string {
  return binary ? `binary ${data.length} bytes: ${data.subarray(0, 24).toString('hex')}` : redactTokens(TEXT_DECODER.decode(data))
}

/** Long tokens in a timeline line are shortened, so a report stays readable. */
function redactTokens (text: string): string {
  return text.replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, (token) => abbreviate(token))
}

/** A connection the kit accepted: what it sends, what it received, how it ended. */
export class Peer {
  readonly messages: ReceivedMessage[] = []
  readonly acceptedAt: number
  /** When the kit sent its close frame. */
  kitClosedAt: number | undefined
  /** When the connection ended, with the client's close code (1006 if none came). */
  ended: { t: number, code: number, reason: string } | undefined
  readonly #ws: WebSocket
  readonly #run: CaseRun

  constructor (ws: WebSocket, run: CaseRun) {
    this.#ws = ws
    this.#run = run
    this.acceptedAt = run.timeline.now()
    ws.on('message', (data: Buffer, binary: boolean) => {
      const text = binary ? undefined : TEXT_DECODER.decode(data)
      const value = text === undefined ? undefined : parseJson(text)
      const json = typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
      const message: ReceivedMessage = { t: run.timeline.now(), binary, data, json, afterClose: this.kitClosedAt !== undefined }
      this.messages.push(message)
      run.timeline.add('c→s', binary ? 'binary' : 'text', describe(data, binary))
      if (message.afterClose) run.violation('SPEC §6 rule 7: the client sent a message after the kit\'s close frame')
      if (json !== undefined && typeof json.type === 'string' && RESERVED_FRAME_TYPES.has(json.type)) this.#checkClientFrame(json)
      run.changed()
    })
    ws.on('close', (code: number, reason: Buffer) => {
      this.ended = { t: run.timeline.now(), code, reason: reason.toString() }
      run.timeline.add('c→s', 'closed', `connection ended, close code ${code}${reason.length > 0 ? ` "${reason.toString()}"` : ''}`)
      run.changed()
    })
    ws.on('error', () => {})
  }

  #checkClientFrame (frame: Record<string, unknown>): void {
    if (frame.type === FrameType.Renew && !isRenewFrame(frame)) this.#run.violation('SPEC §4: a malformed renew frame')
    else if (frame.type === FrameType.Auth && !isAuthFrame(frame)) this.#run.violation('SPEC §4: a malformed auth frame')
    else if (frame.type !== FrameType.Renew && frame.type !== FrameType.Auth) this.#run.violation(`SPEC §4: the client sent a server frame type (${String(frame.type)})`)
    else if (frame.type === FrameType.Renew && !this.#run.issuedToken(frame.token as string)) this.#run.violation('SPEC §9: a renew frame with a token the kit did not issue for this case')
  }

  get open (): boolean {
    return this.ended === undefined && this.kitClosedAt === undefined
  }

  /** The client's renew frames, in order. */
  get renews (): ReceivedMessage[] {
    return this.messages.filter((m) => m.json?.type === FrameType.Renew)
  }

  /** Messages that are not protocol frames. */
  get applicationMessages (): ReceivedMessage[] {
    return this.messages.filter((m) => !(m.json !== undefined && typeof m.json.type === 'string' && RESERVED_FRAME_TYPES.has(m.json.type)))
  }

  send (data: string | Buffer | Record<string, unknown>): void {
    if (this.ended !== undefined || this.kitClosedAt !== undefined) return
    const payload = Buffer.isBuffer(data) ? data : typeof data === 'string' ? data : JSON.stringify(data)
    this.#run.timeline.add('s→c', Buffer.isBuffer(payload) ? 'binary' : 'text', Buffer.isBuffer(payload) ? describe(payload, true) : redactTokens(payload))
    this.#ws.send(payload, { binary: Buffer.isBuffer(payload) })
  }

  authenticated (expiresIn: number, skewMs = 0): void {
    this.send({ type: FrameType.Authenticated, connectionId: `kit-${this.#run.id}-${this.acceptedAt}`, subject: 'conformance', sessionId: `case-${this.#run.id}`, expiresAt: Date.now() + skewMs + expiresIn, expiresIn })
  }

  renewRequired (expiresIn: number, skewMs = 0): void {
    this.send({ type: FrameType.RenewRequired, expiresAt: Date.now() + skewMs + expiresIn, expiresIn })
  }

  renewed (id: unknown, expiresIn: number, skewMs = 0): void {
    this.send({ type: FrameType.Renewed, ...(typeof id === 'string' ? { id } : {}), expiresAt: Date.now() + skewMs + expiresIn, expiresIn })
  }

  authError (code: ErrorCode, closing: boolean, id?: unknown): void {
    const { message, retry } = ERRORS[code]
    this.send({ type: FrameType.AuthError, code, message, closing, retry, ...(typeof id === 'string' ? { id } : {}) })
  }

  /** `auth_error` with `closing: true`, then the close code of `code` with `code` as the reason (SPEC §7). */
  closeWithError (code: ErrorCode): void {
    this.authError(code, true)
    this.close(ERRORS[code].closeCode, code)
  }

  close (code: number, reason = ''): void {
    if (this.kitClosedAt !== undefined || this.ended !== undefined) return
    this.kitClosedAt = this.#run.timeline.now()
    this.#run.timeline.add('s→c', 'close', `close frame, code ${code}${reason === '' ? '' : ` "${reason}"`}`)
    this.#ws.close(code, reason)
  }

  terminate (): void {
    this.#ws.terminate()
  }
}

/** One upgrade request of the client, waiting for the case to accept or refuse it. */
export class Handshake {
  readonly t: number
  readonly url: string
  readonly offered: string[]
  readonly cookie: string | undefined
  readonly origin: string | undefined
  #answered = false
  readonly #request: IncomingMessage
  readonly #socket: Duplex
  readonly #head: Buffer
  readonly #run: CaseRun
  readonly #wss: WebSocketServer

  constructor (request: IncomingMessage, socket: Duplex, head: Buffer, run: CaseRun, wss: WebSocketServer) {
    this.#request = request
    this.#socket = socket
    this.#head = head
    this.#run = run
    this.#wss = wss
    this.t = run.timeline.now()
    this.url = request.url ?? '/'
    const header = request.headers['sec-websocket-protocol']
    this.offered = header === undefined ? [] : header.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0)
    this.cookie = request.headers.cookie
    this.origin = request.headers.origin
    socket.on('error', () => {})
  }

  get answered (): boolean {
    return this.#answered
  }

  /** The tokens of the `wsauth.bearer.` entries offered. */
  get bearerTokens (): string[] {
    return this.offered.filter((entry) => entry.startsWith(BEARER_SUBPROTOCOL_PREFIX)).map((entry) => entry.slice(BEARER_SUBPROTOCOL_PREFIX.length))
  }

  /** The single bearer token, when exactly one was offered. */
  get token (): string | undefined {
    const tokens = this.bearerTokens
    return tokens.length === 1 ? tokens[0] : undefined
  }

  accept (): Promise<Peer> {
    this.#answered = true
    return new Promise((resolve) => {
      this.#wss.handleUpgrade(this.#request, this.#socket, this.#head, (ws) => {
        this.#run.timeline.add('s→c', 'http', `101 Switching Protocols${ws.protocol === '' ? '' : `, Sec-WebSocket-Protocol: ${ws.protocol}`}`)
        const peer = new Peer(ws, this.#run)
        this.#run.peers.push(peer)
        resolve(peer)
      })
    })
  }

  refuse (status: number, code: ErrorCode | 'case_over', headers: Record<string, string> = {}): void {
    if (this.#answered) return
    this.#answered = true
    const definition = code === 'case_over' ? undefined : ERRORS[code]
    const body = JSON.stringify({ statusCode: status, code, error: 'Refused', message: definition?.message ?? 'This case is over; ask GET /cases/<id>/result' })
    const lines = [`HTTP/1.1 ${status} Refused`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Cache-Control: no-store', 'Connection: close',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
    this.#run.timeline.add('s→c', 'http', `${status} ${code}${Object.entries(headers).map(([n, v]) => `, ${n}: ${v}`).join('')}`)
    this.#socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`)
  }
}

export type Transport = 'subprotocol' | 'auth-frame'
/** What a client under test declares it can do beyond the SPEC's minimum. */
export type Feature = 'retry-after'

export interface CaseDefinition {
  /** `<SPEC section>.<n>`, for example `9.3.1`. */
  id: string
  /** The SPEC section it checks, as in the SPEC's contents. */
  section: string
  title: string
  /** The documented pass rule. */
  rule: string
  /** A transport the client must use for this case; without it, the client uses its own. */
  transport?: Transport
  requires?: Feature[]
  /** The kit's 101 selects no subprotocol (a server that does not speak wsauth.v1). */
  selectsNoSubprotocol?: boolean
  /** Lifetime of the tokens the kit issues for this case, in ms. @default 10000 */
  tokenLifetimeMs?: number
  run (run: CaseRun): Promise<void>
}

export interface CaseResult {
  id: string
  section: string
  title: string
  rule: string
  status: 'pass' | 'fail' | 'not run'
  reasons: string[]
  durationMs: number
  timeline: TimelineEvent[]
}

/** Waiting time after which a case gives up on a client step it expects. */
export const STEP_TIMEOUT_MS = 5000

/**
 * One run of one case: the tokens the kit issued, the handshakes and connections of the
 * client, the failures found. The case's script drives it; `until` waits for any change.
 */
export class CaseRun extends RecordedRun {
  readonly id: string
  readonly tokens: IssuedToken[] = []
  readonly handshakes: Handshake[] = []
  readonly peers: Peer[] = []
  /** Scripts set these to shape the token endpoint. */
  tokenLifetimeMs: number
  tokenSkewMs = 0
  tokenDelayMs = 0
  readonly #issuer: TokenIssuer
  #taken = 0

  constructor (definition: CaseDefinition, issuer: TokenIssuer) {
    super()
    this.id = definition.id
    this.#issuer = issuer
    this.tokenLifetimeMs = definition.tokenLifetimeMs ?? 10_000
  }

  issuedToken (token: string): IssuedToken | undefined {
    return this.tokens.find((issued) => issued.token === token)
  }

  /** Answers `POST /cases/<id>/token`. */
  async issueToken (): Promise<IssuedToken> {
    const delay = this.tokenDelayMs
    this.timeline.add('c→s', 'http', `POST /cases/${this.id}/token`)
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    const issued = this.#issuer.issue({ sub: 'conformance', sid: `case-${this.id}` }, this.tokenLifetimeMs, this.tokenSkewMs)
    this.tokens.push(issued)
    this.timeline.add('s→c', 'http', `200 token ${abbreviate(issued.token)} (lives ${this.tokenLifetimeMs} ms${delay > 0 ? `, answered after ${delay} ms` : ''})`)
    this.changed()
    return issued
  }

  /** Records an upgrade request and applies the checks every handshake must pass. */
  addHandshake (handshake: Handshake): void {
    const offered = handshake.offered.map((entry) => entry.startsWith(BEARER_SUBPROTOCOL_PREFIX) ? `${BEARER_SUBPROTOCOL_PREFIX}${abbreviate(entry.slice(BEARER_SUBPROTOCOL_PREFIX.length))}` : entry)
    this.timeline.add('c→s', 'handshake', `GET ${redactUrl(handshake.url)}${offered.length > 0 ? `, Sec-WebSocket-Protocol: ${offered.join(', ')}` : ''}${handshake.cookie === undefined ? '' : ', Cookie: …'}`)
    const decoded = safeDecode(handshake.url)
    for (const issued of this.tokens) {
      if (issued.token.split('.').some((segment) => segment.length >= 8 && (handshake.url.includes(segment) || decoded.includes(segment)))) {
        this.violation('SPEC §2.4 and §11 rule 2: the handshake URL carries a token')
        break
      }
    }
    if (handshake.bearerTokens.length > 1) this.violation('SPEC §2: more than one wsauth.bearer. entry offered')
    this.handshakes.push(handshake)
    this.changed()
  }

  /** The next handshake no script step has taken yet, waiting up to `timeoutMs`. */
  async handshake (timeoutMs = STEP_TIMEOUT_MS): Promise<Handshake | undefined> {
    await this.until(() => this.handshakes.length > this.#taken, timeoutMs)
    return this.handshakes.length > this.#taken ? this.handshakes[this.#taken++] : undefined
  }

  /** Waits for the client's next handshake and accepts it; fails the case if none comes. */
  async accept (what = 'the client did not connect', timeoutMs = STEP_TIMEOUT_MS): Promise<{ handshake: Handshake, peer: Peer }> {
    const handshake = await this.handshake(timeoutMs)
    if (handshake === undefined) this.fail(`${what} within ${timeoutMs} ms`)
    return { handshake, peer: await handshake.accept() }
  }

  /** Ends the case: refuses what is still waiting, drops what is still open. */
  finish (): void {
    for (const handshake of this.handshakes) handshake.refuse(410, 'case_over')
    for (const peer of this.peers) if (peer.ended === undefined) peer.terminate()
  }
}

function safeDecode (url: string): string {
  try {
    return decodeURIComponent(url)
  } catch {
    return url
  }
}

function redactUrl (url: string): string {
  return redactTokens(url)
}
