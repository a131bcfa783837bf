import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { FastifyRequest } from 'fastify'
import { WebSocket } from 'ws'
import {
  ERRORS, FrameType, MAX_CLIENT_FRAME_BYTES, isRenewFrame, parseJson, reservedTypeOf,
  type ErrorCode, type ErrorDefinition, type RenewFrame
} from '../protocol/index.ts'
import { admit, type AdmissionContext } from './admission.ts'
import type { ClosingReads } from './closing-reads.ts'
import type { Verdict } from './authorize.ts'
import { DeadlineQueue, kDue, kDueAt, kQueueIndex, type Scheduled } from './deadlines.ts'
import { isErrorDefinition, type CredentialSource } from './credential.ts'
import { mayBeReservedFrame } from './frame-detection.ts'
import { logs } from './log.ts'
import type { WsAuthMetrics } from './metrics.ts'
import type { Authorize, WsAuthClaims } from './options.ts'
import type { ConnectionRegistry } from './registry.ts'
import { revocationMatches, type Revocation, type RevocationQuery } from './revocation.ts'
import { queryOf } from './revocation-tracker.ts'
import { hook, type SocketHooks, kAfterSend, kBeforeSend, kClosed, kMessage, kPong } from './socket-hooks.ts'
import { authErrorFrame, encodeAuthenticated, sendClosingError, sendEncodedFrame, sendFrame } from './socket-io.ts'
import { TokenBucket, type RateLimit } from './token-bucket.ts'
import type { TokenVerifier, Verification, VerifiedCredential } from './verifier.ts'

/** What every connection of one plugin instance shares. */
export interface ConnectionContext extends AdmissionContext {
  /** Renewal requests and deadlines of every connection, behind one timer. */
  readonly deadlines: DeadlineQueue
  /** Reading of the sockets the deadline queue closes, held until its burst is over. */
  readonly closingReads: ClosingReads
  readonly verifier: TokenVerifier
  readonly renewBeforeMs: number
  readonly maxRenewalFailures: number
  readonly closeTimeoutMs: number
  readonly registry: ConnectionRegistry<AuthenticatedConnection>
  readonly metrics: WsAuthMetrics
  readonly messageLimit: RateLimit | undefined
  readonly renewalLimit: RateLimit | undefined
  readonly maxBufferedAmount: number
}

export interface AuthenticatedConnectionEvents {
  /** A renewal was accepted; `claims` are the new token's. */
  renewed: [claims: WsAuthClaims]
  /** A renewal was refused; the old deadline still holds. */
  renewalRefused: [code: ErrorCode]
  /** The socket closed, for any reason. */
  close: [code: number]
}

const OVERSIZED_FRAME_MESSAGE = `A protocol frame larger than ${MAX_CLIENT_FRAME_BYTES} bytes`

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

/**
 * A live, authenticated WebSocket connection: its identity, its credential's deadline,
 * and the renewal protocol. Available to the route handler as `request.wsAuth`.
 *
 * The deadline is enforced by one timer, not by re-verifying on each message; the only
 * per-message work is one clock read and, for text frames, a few byte searches (frame-detection.ts).
 */
export class AuthenticatedConnection extends EventEmitter<AuthenticatedConnectionEvents> implements SocketHooks, Scheduled {
  /** Unique id of this connection, sent to the client in `authenticated`. */
  readonly id: string
  /** Where the credential came from. */
  readonly source: CredentialSource
  readonly #socket: WebSocket
  readonly #request: FastifyRequest
  readonly #context: ConnectionContext
  readonly #authorize: Authorize | undefined
  /** @internal The deadline queue's bookkeeping. */
  [kDueAt] = Number.POSITIVE_INFINITY;
  /** @internal */
  [kQueueIndex] = -1
  #credential: VerifiedCredential
  #renewRequiredSent = false
  /**
   * When the current credential's renewal window opens: half its time left when it was
   * installed. A `renew` from then on was asked for by the schedule and is never charged
   * to the renewal budget (SPEC.md section 6, rule 2).
   */
  #renewWindowAt = 0
  /** Client `renew` frames being checked (only asynchronous checks leave one pending). */
  #renewing = 0
  #failures = 0
  #state = OPEN
  /** Cleared by each heartbeat ping, set by the pong. */
  #alive = true
  /**
   * Made on the first message: a bucket made then is as full as one made at the upgrade
   * and refilled since, and idle connections (most of a large server's) never pay for it.
   */
  #messages: TokenBucket | undefined
  /** Made on the first `renew`: most connections renew rarely, many never. */
  #renewals: TokenBucket | undefined

  constructor (socket: WebSocket, request: FastifyRequest, credential: VerifiedCredential, source: CredentialSource,
    authorize: Authorize | undefined, context: ConnectionContext, id: string = randomUUID()) {
    super()
    // EventEmitter gives every instance a null-prototype object for its listeners, which V8
    // keeps in dictionary mode: about 200 bytes, for connections that mostly never get a
    // listener. EventEmitter creates it on the first listener when it is undefined (its
    // methods all check), so it is dropped here.
    ;(this as { _events?: unknown })._events = undefined
    this.id = id
    this.#socket = socket
    this.#request = request
    this.#credential = credential
    this.source = source
    this.#authorize = authorize
    this.#context = context
  }

  /** The token's `sub`. Pinned for the life of the connection: renewals must keep it. */
  get subject (): string {
    return this.#credential.subject
  }

  /** The token's `sid`, if any. Pinned like the subject. */
  get sessionId (): string | undefined {
    return this.#credential.sessionId
  }

  /** The current credential's `jti`, if any; replaced on each renewal. */
  get tokenId (): string | undefined {
    return this.#credential.tokenId
  }

  /** Claims of the current credential, replaced on each renewal. */
  get claims (): WsAuthClaims {
    return this.#credential.claims as WsAuthClaims
  }

  /** When the server closes the connection unless it renews (ms since epoch). */
  get expiresAt (): number {
    return this.#credential.deadline
  }

  get open (): boolean {
    return this.#state === OPEN
  }

  /** Whether `revocation` covers this connection's current credential. */
  matches (revocation: Revocation): boolean {
    return revocationMatches(revocation, queryOf(this.#credential))
  }

  /** What a revocation store is asked about this connection's current credential. */
  revocationQuery (): RevocationQuery {
    return queryOf(this.#credential)
  }

  /** Closes the connection because its credential was revoked. */
  revoke (): boolean {
    const wasOpen = this.#closeWith(ERRORS.credential_revoked)
    if (wasOpen) {
      this.#log('info', 'revoked', {}, 'websocket credential revoked; closing')
      this.#context.metrics.revoked(this.id, this.subject)
    }
    return wasOpen
  }

  /** Closes the connection because a limit was reached (connection policy, for example). */
  limit (code: ErrorCode): boolean {
    const wasOpen = this.#closeWith(ERRORS[code])
    if (wasOpen) {
      this.#log('info', 'limited', { code }, 'websocket closed by a limit')
      this.#context.metrics.limited(this.id, this.subject, code)
    }
    return wasOpen
  }

  /** One heartbeat: closes the connection if the previous ping went unanswered, else pings. */
  heartbeat (): void {
    if (this.#state !== OPEN) return
    if (!this.#alive) {
      this.#log('info', 'heartbeat_timeout', {}, 'websocket peer stopped answering pings; closing')
      this.#closeWith(ERRORS.heartbeat_timeout)
      return
    }
    this.#alive = false
    this.#socket.ping()
  }

  /**
   * Closes the connection with an `auth_error` of `code` and that code's close code.
   * @returns whether the connection was open.
   */
  close (code: ErrorCode = 'credential_revoked', message?: string): boolean {
    const error = ERRORS[code]
    if (error === undefined) throw new TypeError(`unknown error code "${String(code)}"`)
    const wasOpen = this.#closeWith(error, message)
    if (wasOpen) this.#log('info', 'closed_by_server', { code }, 'websocket closed by the application')
    return wasOpen
  }

  /** Server shutdown: 1001 Going Away tells the client to reconnect (to another instance). */
  shutdown (): void {
    if (this.#state !== OPEN) return
    this.#startClosing()
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(1001, 'server_shutdown')
  }

  /** Wires the connection to its socket, sends `authenticated` and arms the deadline. */
  start (): void {
    const socket = this.#socket
    // Through HookedWebSocket the route handler keeps the plain `ws` API while the plugin
    // filters protocol frames and late messages before any listener sees them.
    hook(socket, this)
    const now = this.#context.clock.now()
    const expiresAt = this.#credential.deadline
    sendEncodedFrame(socket, encodeAuthenticated(this.id, this.subject, this.sessionId, expiresAt, remainingMs(expiresAt, now)))
    this.#schedule(now)
  }

  /** @internal Socket hook: whether an inbound message goes on to the application. */
  [kMessage] (data: Buffer, isBinary: boolean): boolean {
    return this.#admit(data, isBinary)
  }

  /** @internal Socket hook: nothing is sent after the deadline. */
  [kBeforeSend] (): void {
    if (this.#state === OPEN && this.#context.clock.now() >= this.#credential.deadline) this.#expire()
  }

  /** @internal Socket hook: a peer that does not read makes the send buffer grow without bound; cap it. */
  [kAfterSend] (socket: WebSocket): void {
    if (socket.bufferedAmount > this.#context.maxBufferedAmount) this.limit('send_buffer_overflow')
  }

  /** @internal Socket hook. */
  [kPong] (): void {
    this.#alive = true
  }

  /** @internal Socket hook. */
  [kClosed] (code: number): void {
    if (this.#state !== CLOSED) this.#onSocketClose(code)
  }

  #admit (data: Buffer, isBinary: boolean): boolean {
    if (this.#state !== OPEN) return false
    const now = this.#context.clock.now()
    if (now >= this.#credential.deadline) {
      this.#expire()
      return false
    }
    const limit = this.#context.messageLimit
    if (limit !== undefined && !(this.#messages ??= new TokenBucket(limit, now)).take(now)) {
      this.limit('message_rate_exceeded')
      return false
    }
    if (!isBinary && mayBeReservedFrame(data)) {
      const frame = parseJson(data.toString())
      const type = reservedTypeOf(frame)
      if (type === undefined) return true
      // No reserved frame reaches the application, whatever its size; one over the
      // protocol's limit is a broken or hostile peer, not a renewal attempt.
      if (data.length > MAX_CLIENT_FRAME_BYTES) {
        if (this.#closeWith(ERRORS.frame_invalid, OVERSIZED_FRAME_MESSAGE)) {
          this.#log('info', 'frame_too_large', { bytes: data.length }, 'protocol frame over the size limit; closing')
        }
        return false
      }
      const renew = type === FrameType.Renew && isRenewFrame(frame) ? frame : undefined
      // A renewal the schedule asked for is never charged; any other reserved frame is,
      // before any verification, so renew floods cost no crypto.
      if (renew !== undefined && this.#inRenewalWindow(now)) this.#renew(renew, now)
      else if (!this.#charge(now)) this.#refuseRenewal(ERRORS.renewal_rate_limited, idOf(frame))
      else if (renew !== undefined) this.#renew(renew, now)
      else this.#refuseRenewal(ERRORS.frame_invalid, idOf(frame))
      return false
    }
    return true
  }

  /** Whether a `renew` now answers the schedule: the window is open and no other renewal is being checked. */
  #inRenewalWindow (now: number): boolean {
    return now >= this.#renewWindowAt && this.#renewing === 0
  }

  /** Takes one unit of the renewal budget; false when it is spent. */
  #charge (now: number): boolean {
    const limit = this.#context.renewalLimit
    return limit === undefined || (this.#renewals ??= new TokenBucket(limit, now)).take(now)
  }

  /** Arms a newly installed credential: its renewal window, `renew_required`, then its deadline. */
  #schedule (now: number): void {
    const deadline = this.#credential.deadline
    // Half the time left (as the client reads it from `expiresIn`, whole ms): a lead longer
    // than that would ask a short-lived credential to renew the moment it is installed, and
    // every renewal would be followed by the next, in a loop.
    const half = remainingMs(deadline, now) / 2
    this.#renewWindowAt = now + half
    const renewAt = deadline - Math.min(this.#context.renewBeforeMs, half)
    if (renewAt > now) {
      this.#context.deadlines.schedule(this, renewAt)
      return
    }
    this.#sendRenewRequired(now)
    this.#context.deadlines.schedule(this, deadline)
  }

  /** @internal The deadline queue: the renewal request or the deadline has come. */
  [kDue] (now: number): void {
    if (this.#state === CLOSING) {
      // The close timeout: the peer did not complete the closing handshake in time.
      this.#socket.terminate()
      return
    }
    if (this.#state !== OPEN) return
    if (this.#renewRequiredSent) {
      if (this.#expire()) this.#context.closingReads.hold(this.#request.raw.socket)
      return
    }
    this.#sendRenewRequired(now)
    this.#context.deadlines.schedule(this, this.#credential.deadline)
  }

  #sendRenewRequired (now: number): void {
    this.#renewRequiredSent = true
    const expiresAt = this.#credential.deadline
    sendFrame(this.#socket, { type: FrameType.RenewRequired, expiresAt, expiresIn: remainingMs(expiresAt, now) })
    if (this.#logs('debug')) this.#log('debug', 'renew_required', { expiresAt }, 'renewal requested')
  }

  /** Closes the connection because its credential expired; false if it was closing already. */
  #expire (): boolean {
    const lateMs = this.#context.clock.now() - this.#credential.deadline
    if (!this.#closeWith(ERRORS.credential_expired)) return false
    this.#log('info', 'expired', { lateMs }, 'websocket credential expired; closing')
    this.#context.metrics.expired(this.id, this.subject, lateMs)
    return true
  }

  #renew (frame: RenewFrame, receivedAt: number): void {
    this.#renewing++
    const settled = (): void => { this.#renewing-- }
    this.#check(frame.token, frame.id, receivedAt, (error) => {
      settled()
      this.#refuseRenewal(error, frame.id)
    }, settled)
  }

  /**
   * Renews the connection with `token` on the server's initiative (for example after an
   * HTTP refresh in cookie mode, where page JavaScript never sees the token). The same
   * checks as a client's `renew` apply; on success the client receives `renewed`. A
   * refusal is only returned, not sent to the client, and does not count as a failure.
   * @returns `undefined` when renewed, else the error code (`closed` if the connection is not open).
   */
  renew (token: string): Promise<ErrorCode | 'closed' | undefined> {
    return new Promise((resolve) => {
      if (this.#state !== OPEN) {
        resolve('closed')
        return
      }
      this.#check(token, undefined, this.#context.clock.now(), (error) => { resolve(error.code) }, () => { resolve(this.#state === OPEN ? undefined : 'closed') })
    })
  }

  /** Verifies a renewal token and applies it, or calls `refuse` with why not. */
  #check (token: string, id: string | undefined, receivedAt: number, refuse: (error: ErrorDefinition) => void, renewed?: () => void): void {
    const result = this.#context.verifier.verify(token)
    // A promise only while a key set fetches a key it does not hold (a renewal signed by a
    // newer key); the deadline check in #completeRenewal still decides a race with expiry.
    if (result instanceof Promise) {
      result.then((verification) => { this.#checkVerified(verification, id, receivedAt, refuse, renewed) }, () => { refuse(ERRORS.internal_error) })
    } else {
      this.#checkVerified(result, id, receivedAt, refuse, renewed)
    }
  }

  #checkVerified (result: Verification, id: string | undefined, receivedAt: number, refuse: (error: ErrorDefinition) => void, renewed?: () => void): void {
    if (isErrorDefinition(result)) {
      refuse(result)
      return
    }
    // Identity is pinned: the subject and session, and the issuer that vouches for them
    // (one `sub` names different people at two issuers).
    if (result.subject !== this.subject || result.sessionId !== this.sessionId || result.claims.iss !== this.#credential.claims.iss) {
      refuse(ERRORS.subject_mismatch)
      return
    }
    const complete = (verdict: Verdict): void => {
      const error = this.#completeRenewal(result, verdict, id, receivedAt)
      if (error !== undefined) refuse(error)
      else renewed?.()
    }
    const verdict = admit(result, this.#authorize, this.#request, this.#context)
    if (verdict instanceof Promise) verdict.then(complete, () => { refuse(ERRORS.internal_error) })
    else complete(verdict)
  }

  /** Applies a checked renewal; returns the error that refuses it, if any. */
  #completeRenewal (credential: VerifiedCredential, verdict: Verdict, id: string | undefined, receivedAt: number): ErrorDefinition | undefined {
    // Renewal racing the deadline has exactly one outcome: once expired, it stays expired.
    if (this.#state !== OPEN) return undefined
    const now = this.#context.clock.now()
    if (now >= this.#credential.deadline) {
      this.#expire()
      return undefined
    }
    if (verdict === ERRORS.credential_revoked) {
      // The new token is revoked (its session, say): so is this connection.
      this.revoke()
      return undefined
    }
    if (verdict !== undefined) return verdict
    // A token that expires before the current one would roll claims back (a replayed
    // older token may carry scopes since removed), so it is refused.
    if (credential.deadline < this.#credential.deadline) return ERRORS.token_stale
    const previousTokenId = this.#credential.tokenId
    this.#credential = credential
    // A revocation of the new token's id must find this connection, and one of the old id must not.
    this.#context.registry.retoken(this, previousTokenId)
    this.#failures = 0
    this.#renewRequiredSent = false
    this.#schedule(now)
    const expiresAt = credential.deadline
    const frame = { type: FrameType.Renewed, expiresAt, expiresIn: remainingMs(expiresAt, now) } as const
    sendFrame(this.#socket, id === undefined ? frame : { ...frame, id })
    if (this.#logs('debug')) this.#log('debug', 'renewed', { expiresAt }, 'websocket credential renewed')
    this.#context.metrics.renewed(this.id, this.subject, this.#context.clock.now() - receivedAt)
    this.emit('renewed', credential.claims as WsAuthClaims)
    return undefined
  }

  #refuseRenewal (error: ErrorDefinition, id: string | undefined): void {
    if (this.#state !== OPEN) return
    this.#failures++
    sendFrame(this.#socket, authErrorFrame(error, false, error.message, id))
    this.#log('info', 'renewal_refused', { code: error.code, failures: this.#failures }, 'websocket renewal refused')
    this.#context.metrics.renewalRefused(this.id, this.subject, error.code)
    this.emit('renewalRefused', error.code)
    if (this.#failures >= this.#context.maxRenewalFailures) this.#closeWith(ERRORS.renewal_attempts_exceeded)
  }

  #closeWith (error: ErrorDefinition, message?: string): boolean {
    if (this.#state !== OPEN) return false
    this.#startClosing()
    // `auth_error` and the close frame in one write (ws corks each frame on its own, so
    // apart they are two system calls): half the writes of a burst of expiries.
    const stream = this.#request.raw.socket
    stream.cork()
    sendClosingError(this.#socket, error, message)
    stream.uncork()
    return true
  }

  /**
   * Leaves OPEN: out of the registry, and in the deadline queue until the close timeout,
   * after which a peer that has not completed the closing handshake is cut off ([kDue]).
   * The queue rather than a timer and a 'close' listener per socket: a burst of expiries
   * would arm thousands of each; #onSocketClose takes the entry out.
   */
  #startClosing (): void {
    this.#state = CLOSING
    this.#context.registry.remove(this)
    this.#context.deadlines.schedule(this, this.#context.clock.now() + this.#context.closeTimeoutMs)
  }

  #onSocketClose (code: number): void {
    this.#state = CLOSED
    this.#context.deadlines.cancel(this)
    this.#context.registry.remove(this)
    if (this.#logs('debug')) this.#log('debug', 'closed', { closeCode: code }, 'websocket closed')
    this.#context.metrics.closed(this.id, this.subject, code)
    this.emit('close', code)
  }

  #logs (level: 'info' | 'debug'): boolean {
    return logs(this.#request.log, level)
  }

  /**
   * Debug events come once per connection or renewal: their callers ask {@link #logs}
   * first, so that their `fields` are not even built while debug is off.
   */
  #log (level: 'info' | 'debug', event: string, fields: Record<string, unknown>, message: string): void {
    const log = this.#request.log
    if (logs(log, level)) log[level]({ event: `ws_auth.${event}`, connectionId: this.id, subject: this.subject, ...fields }, message)
  }
}

/** `expiresIn`: whole ms, as the protocol's integer field requires, even from a clock that reads fractions. */
function remainingMs (deadline: number, now: number): number {
  return Math.max(0, Math.floor(deadline - now))
}

function idOf (frame: unknown): string | undefined {
  const id = (frame as { id?: unknown }).id
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined
}
