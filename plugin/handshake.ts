import { STATUS_CODES } from 'node:http'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { WebSocket } from 'ws'
import { ERRORS, SUBPROTOCOL, type ErrorDefinition } from '../protocol/index.ts'
import { admit } from './admission.ts'
import { awaitAuthFrame, type AuthFrameContext } from './auth-frame.ts'
import type { Verdict } from './authorize.ts'
import { AuthenticatedConnection } from './connection.ts'
import { isErrorDefinition, tokenFromSubprotocols, type CookieCredential, type CredentialSource } from './credential.ts'
import type { HandshakeLimiter } from './handshake-limit.ts'
import { logs } from './log.ts'
import type { ConnectionLimitPolicy, RefusalMode, ResolvedRouteOptions } from './options.ts'
import { queryOf } from './revocation-tracker.ts'
import type { OriginPolicy } from './origin.ts'
import { takeSlot } from './slots.ts'
import { closeWithError } from './socket-io.ts'
import type { Verification, VerifiedCredential } from './verifier.ts'

/** Set on the raw request by the upgrade listener when the URL query carried a credential. */
export const kQueryCredential = Symbol('fastify-ws-auth.queryCredential')

/** Outcome of the pre-upgrade checks, read by the handler once the socket is open. */
export interface HandshakeOutcome {
  readonly credential?: VerifiedCredential
  readonly source?: CredentialSource
  /** The revocation tracker's sequence before the credential was checked. */
  readonly sequence?: number
  /** Refused, to be told over the socket (refusal by close). */
  readonly refusal?: ErrorDefinition
}

export interface HandshakeContext extends AuthFrameContext {
  readonly origins: OriginPolicy | undefined
  readonly cookie: CookieCredential | undefined
  readonly refusal: RefusalMode
  readonly limiter: HandshakeLimiter | undefined
  readonly maxConnections: number
  readonly maxConnectionsPerSubject: number
  readonly connectionLimitPolicy: ConnectionLimitPolicy
  /** `credential_missing`, its message naming the transports this server accepts on a route without `auth` frames. */
  readonly credentialMissing: ErrorDefinition
}

/**
 * `credential_missing` as this server tells it: only routes without `auth` frames refuse a
 * handshake without a credential, so the message names the subprotocol and, when the server
 * reads one, the cookie, and nothing the route would not take.
 */
export function credentialMissing (cookieName: string | undefined): ErrorDefinition {
  if (cookieName === undefined) return ERRORS.credential_missing
  return Object.freeze({ ...ERRORS.credential_missing, message: `${ERRORS.credential_missing.message}, or send the ${cookieName} cookie from an allowed Origin` })
}

/**
 * Where the hook leaves its outcome for the handler: a request decoration (`null` on every
 * request, see index.ts) rather than a WeakMap, whose ephemeron entries cost the garbage
 * collector more than a field on an object that dies with the request anyway.
 */
export const kHandshakeOutcome = Symbol('fastify-ws-auth.handshakeOutcome')
type WithOutcome = { [kHandshakeOutcome]: HandshakeOutcome | null }

function setOutcome (request: FastifyRequest, outcome: HandshakeOutcome): void {
  (request as unknown as WithOutcome)[kHandshakeOutcome] = outcome
}

function takeOutcome (request: FastifyRequest): HandshakeOutcome | null {
  const holder = request as unknown as WithOutcome
  const outcome = holder[kHandshakeOutcome]
  holder[kHandshakeOutcome] = null
  return outcome
}

const NO_CREDENTIAL: HandshakeOutcome = Object.freeze({})

/**
 * Lets the upgrade proceed with the TCP socket corked: the 101 response, `authenticated`
 * (or the refusal's `auth_error` and close frame) and whatever the handler sends at once
 * leave in one write instead of three. The upgrade and the handler run synchronously
 * inside `done()`; if some future version made them asynchronous, the uncork would only
 * come earlier, costing the batching and nothing else.
 */
function proceedCorked (request: FastifyRequest, done: HookHandlerDoneFunction): void {
  const socket = request.raw.socket
  socket.cork()
  try {
    done()
  } finally {
    socket.uncork()
  }
}

/**
 * Whether Sec-WebSocket-Protocol offers `wsauth.v1` as an entry of its own (the 101 then
 * selects it). Asked only on a refusal, never on an accepted handshake.
 */
function offersProtocolVersion (header: string | undefined): boolean {
  if (header === undefined || !header.includes(SUBPROTOCOL)) return false
  for (const entry of header.split(',')) if (entry.trim() === SUBPROTOCOL) return true
  return false
}

function refuseWithStatus (reply: FastifyReply, error: ErrorDefinition): void {
  reply.code(error.status).header('cache-control', 'no-store').send({
    statusCode: error.status,
    code: error.code,
    error: STATUS_CODES[error.status],
    message: error.message
  })
}

function logRefusal (context: HandshakeContext, request: FastifyRequest, error: ErrorDefinition, phase: 'handshake' | 'auth_frame' | 'registration'): void {
  context.metrics.refused(error.code)
  if (!logs(request.log, 'info')) return
  request.log.info({
    event: 'ws_auth.refused',
    code: error.code,
    phase,
    remoteAddress: request.ip,
    origin: request.headers.origin
  }, 'websocket authentication refused')
}

/**
 * Builds the route's `onRequest` hook: everything is checked before the 101 response,
 * cheapest first (query, Origin, credential shape), cryptography last.
 */
export function createHandshakeHook (route: ResolvedRouteOptions, context: HandshakeContext) {
  const { origins, cookie, verifier } = context

  // Browsers, and Node's own WebSocket (undici), hide the status of a refused upgrade, so
  // a refusal a client must act on is told over the socket to every protocol client (they
  // all offer wsauth.v1) and to every browser (they all send an Origin); errors that must
  // not even upgrade always use a status.
  const tellOverSocket = (request: FastifyRequest, error: ErrorDefinition): boolean => {
    // Rate-limited handshakes are refused as cheaply as possible: never upgraded.
    if (error === ERRORS.origin_not_allowed || error === ERRORS.handshake_rate_limited || error.status === 400) return false
    if (context.refusal === 'close') return true
    return context.refusal === 'auto' && (request.headers.origin !== undefined || offersProtocolVersion(request.headers['sec-websocket-protocol']))
  }

  const refuse = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, error: ErrorDefinition): void => {
    logRefusal(context, request, error, 'handshake')
    if (tellOverSocket(request, error)) {
      setOutcome(request, { refusal: error })
      proceedCorked(request, done)
    } else {
      refuseWithStatus(reply, error)
    }
  }

  const settle = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction,
    credential: VerifiedCredential, source: CredentialSource, sequence: number, verdict: Verdict): void => {
    if (verdict !== undefined) {
      refuse(request, reply, done, verdict)
      return
    }
    setOutcome(request, { credential, source, sequence })
    proceedCorked(request, done)
  }

  const limiter = context.limiter
  return function wsAuthHandshake (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // A plain GET to a WebSocket route is answered 404 by @fastify/websocket.
    if (!request.ws) {
      done()
      return
    }
    const retryAfter = limiter === undefined ? undefined : limiter(request)
    if (retryAfter === undefined) {
      check(request, reply, done)
    } else if (typeof retryAfter === 'number') {
      limited(request, reply, done, retryAfter)
    } else {
      // Only an application's own @fastify/rate-limit store answers later.
      retryAfter.then((seconds) => {
        if (seconds === undefined) check(request, reply, done)
        else limited(request, reply, done, seconds)
      }, (err: unknown) => {
        request.log.error({ event: 'ws_auth.rate_limit_failed', err: { message: (err as Error | null)?.message } }, 'handshake rate limiter failed; refusing')
        refuse(request, reply, done, ERRORS.internal_error)
      })
    }
  }

  function limited (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, retryAfterSeconds: number): void {
    reply.header('retry-after', String(retryAfterSeconds))
    refuse(request, reply, done, ERRORS.handshake_rate_limited)
  }

  function check (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if ((request.raw as { [kQueryCredential]?: boolean })[kQueryCredential] === true) {
      refuse(request, reply, done, ERRORS.credential_in_query)
      return
    }
    const headers = request.headers
    const origin = headers.origin
    if (origins !== undefined && origin !== undefined && !origins.allows(origin)) {
      refuse(request, reply, done, ERRORS.origin_not_allowed)
      return
    }

    const fromProtocol = tokenFromSubprotocols(headers['sec-websocket-protocol'], verifier.maxTokenLength)
    if (isErrorDefinition(fromProtocol)) {
      refuse(request, reply, done, fromProtocol)
      return
    }
    let token = fromProtocol
    let source: CredentialSource = 'subprotocol'
    if (cookie !== undefined) {
      const fromCookie = cookie.read(headers.cookie, verifier.maxTokenLength)
      if (isErrorDefinition(fromCookie)) {
        refuse(request, reply, done, fromCookie)
        return
      }
      if (fromCookie !== undefined) {
        if (token !== undefined && token !== fromCookie) {
          refuse(request, reply, done, ERRORS.credential_ambiguous)
          return
        }
        if (token === undefined) {
          // A cookie is ambient: only a known Origin proves the page asked for this.
          if (origin === undefined) {
            refuse(request, reply, done, ERRORS.origin_not_allowed)
            return
          }
          token = fromCookie
          source = 'cookie'
        }
      }
    }

    if (token === undefined) {
      if (route.authFrame) {
        setOutcome(request, NO_CREDENTIAL)
        done()
      } else {
        refuse(request, reply, done, context.credentialMissing)
      }
      return
    }

    const result = verifier.verify(token)
    // A promise only while a key set fetches a key it does not hold (bounded by handshakeTimeout; never rejects).
    if (result instanceof Promise) {
      result.then((verification) => { verified(request, reply, done, verification, source) }, () => { refuse(request, reply, done, ERRORS.internal_error) })
    } else {
      verified(request, reply, done, result, source)
    }
  }

  function verified (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, result: Verification, source: CredentialSource): void {
    if (isErrorDefinition(result)) {
      refuse(request, reply, done, result)
      return
    }
    const limited = connectionLimit(result.subject, context)
    if (limited !== undefined) {
      refuse(request, reply, done, limited)
      return
    }
    // Taken before the store is asked: a revocation recorded from here on is caught at registration.
    const sequence = context.revocations.sequence
    const verdict = admit(result, route.authorize, request, context)
    if (verdict instanceof Promise) {
      verdict.then((v) => { settle(request, reply, done, result, source, sequence, v) }, () => { refuse(request, reply, done, ERRORS.internal_error) })
    } else {
      settle(request, reply, done, result, source, sequence, verdict)
    }
  }
}

/** The connection limit a new connection of `subject` would break, if any (with policy `refuse`). */
function connectionLimit (subject: string, context: HandshakeContext): ErrorDefinition | undefined {
  if (context.registry.size >= context.maxConnections) return ERRORS.server_busy
  // A shared counter decides the per-subject limit for the whole deployment, at admission.
  if (context.connectionLimitPolicy === 'refuse' && context.connectionCounter === undefined &&
      context.registry.countSubject(subject) >= context.maxConnectionsPerSubject) {
    return ERRORS.too_many_connections
  }
  return undefined
}

/**
 * Runs a handler outside @fastify/websocket's call (after an `auth` frame), so its
 * errors are caught here: a throwing handler closes its socket with 1011, never the process.
 */
function runDetached (socket: WebSocket, request: FastifyRequest, run: () => unknown): void {
  const fail = (err: unknown): void => {
    request.log.error({ event: 'ws_auth.handler_error', err }, 'websocket route handler failed')
    if (socket.readyState === socket.OPEN) socket.close(1011, 'internal_error')
  }
  try {
    const result = run()
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, fail)
    }
  } catch (err) {
    fail(err)
  }
}

export type WebsocketHandler = (this: unknown, socket: WebSocket, request: FastifyRequest) => unknown

/**
 * Wraps the route's WebSocket handler: it runs only for an authenticated connection,
 * after `authenticated` was sent, with `request.wsAuth` set.
 */
export function createAuthenticatedHandler (handler: WebsocketHandler, route: ResolvedRouteOptions, context: HandshakeContext): WebsocketHandler {
  const open = (thisArg: unknown, socket: WebSocket, request: FastifyRequest, credential: VerifiedCredential, source: CredentialSource, sequence: number): unknown => {
    // Checked again now that the socket is open: the handshake's checks and this moment
    // are apart by the upgrade (and by asynchronous checks), and other handshakes ran.
    const refusal = context.revocations.revokedSince(sequence, queryOf(credential))
      ? ERRORS.credential_revoked
      : connectionLimit(credential.subject, context)
    if (refusal !== undefined) {
      logRefusal(context, request, refusal, 'registration')
      closeWithError(socket, refusal, context.closeTimeoutMs, context.clock)
      return undefined
    }
    const slot = takeSlot(request)
    if (context.connectionCounter === undefined && context.registry.countSubject(credential.subject) >= context.maxConnectionsPerSubject) {
      context.registry.oldestOf(credential.subject)?.limit('connection_superseded')
    }
    const connection = new AuthenticatedConnection(socket, request, credential, source, route.authorize, context, slot?.connectionId)
    request.wsAuth = connection
    context.registry.add(connection)
    context.metrics.accepted(connection.id, connection.subject)
    connection.start()
    if (logs(request.log, 'info')) {
      request.log.info({
        event: 'ws_auth.accepted',
        connectionId: connection.id,
        subject: connection.subject,
        sessionId: connection.sessionId,
        source,
        expiresAt: connection.expiresAt,
        remoteAddress: request.ip,
        origin: request.headers.origin
      }, 'websocket authenticated')
    }
    return handler.call(thisArg, socket, request)
  }

  return function wsAuthHandler (this: unknown, socket: WebSocket, request: FastifyRequest): unknown {
    const outcome = takeOutcome(request)
    if (outcome === null) {
      // Unreachable while the hook runs first; fail closed if a future change breaks that.
      closeWithError(socket, ERRORS.internal_error, context.closeTimeoutMs, context.clock)
      return undefined
    }
    if (outcome.refusal !== undefined) {
      closeWithError(socket, outcome.refusal, context.closeTimeoutMs, context.clock)
      return undefined
    }
    if (outcome.credential !== undefined) {
      return open(this, socket, request, outcome.credential, outcome.source as CredentialSource, outcome.sequence as number)
    }
    awaitAuthFrame(socket, request, route.authorize, context,
      (credential, sequence) => { runDetached(socket, request, () => open(this, socket, request, credential, 'auth_frame', sequence)) },
      (error) => { logRefusal(context, request, error, 'auth_frame') })
    return undefined
  }
}
