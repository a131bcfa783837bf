/// <reference types="@fastify/websocket" preserve="true" />
// The reference above keeps @fastify/websocket's type augmentation (`websocket: true`, the
// handler's `(socket, request)`) in the emitted .d.ts: the plugin registers it for the
// user, and tsc would otherwise drop an import that no emitted type names.
import fastifyCookie from '@fastify/cookie'
import fastifyJwt from '@fastify/jwt'
import fastifyWebsocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import type {
  ContextConfigDefault, FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyRequest, FastifySchema,
  FastifyTypeProvider, FastifyTypeProviderDefault, RawReplyDefaultExpression, RawRequestDefaultExpression,
  RawServerBase, RawServerDefault, RequestGenericInterface, RouteGenericInterface
} from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import { ERRORS, SUBPROTOCOL, type ErrorCode } from '../protocol/index.ts'
import { systemClock } from './clock.ts'
import { ClosingReads } from './closing-reads.ts'
import { AuthenticatedConnection } from './connection.ts'
import { CookieCredential, type CookieParser } from './credential.ts'
import { couldCarryCredential } from './credential-shape.ts'
import { InvalidRevocationError, NotAWebsocketRouteError, WebsocketAlreadyRegisteredError } from './errors.ts'
import { createAuthenticatedHandler, createHandshakeHook, credentialMissing, kHandshakeOutcome, kQueryCredential, type HandshakeContext, type WebsocketHandler } from './handshake.ts'
import { refuseLaterWebsocketRegistration } from './registration-order.ts'
import { markProtected } from './route-watch.ts'
import { registeredLimiter, storeLimiter, type CreatedRateLimit, type HandshakeLimiter } from './handshake-limit.ts'
import { DeadlineQueue } from './deadlines.ts'
import { HeadersDeadline } from './headers-deadline.ts'
import { Heartbeat } from './heartbeat.ts'
import { Resync } from './resync.ts'
import { JwksKeySource } from './jwks.ts'
import { HookedWebSocket } from './socket-hooks.ts'
import { WsAuthMetrics, type MetricsSnapshot } from './metrics.ts'
import { resolveOptions, resolveRouteOptions, type WsAuthOptions, type WsAuthRouteOptions } from './options.ts'
import { PreAuthBudget } from './pre-auth-budget.ts'
import { redactQueryCredential } from './query-credential.ts'
import { ConnectionRegistry, kRegistry, type ConnectionSelector } from './registry.ts'
import { revocationProblem, type ClusterCommand, type Revocation } from './revocation.ts'
import { RevocationTracker } from './revocation-tracker.ts'
import { TokenVerifier, type SignatureVerifier } from './verifier.ts'

export interface CloseConnectionsOptions {
  /** Error code sent in `auth_error`; its close code closes the socket. @default 'credential_revoked' */
  code?: ErrorCode
  /** Message for `auth_error`, replacing the code's default text. */
  message?: string
}

/** `fastify.wsAuth`: the live connections of this process. */
export interface WsAuthApi {
  /** Number of live authenticated connections. */
  readonly size: number
  /** A live connection by id. */
  get (connectionId: string): AuthenticatedConnection | undefined
  /** Every live authenticated connection. */
  connections (): IterableIterator<AuthenticatedConnection>
  /**
   * Closes every live connection matching all fields of `selector` (a subject, a session,
   * a connection id) with an `auth_error` and the error code's close code. With a shared
   * store, every other instance is told to do the same.
   * @returns how many connections of this process were closed.
   */
  close (selector: ConnectionSelector, options?: CloseConnectionsOptions): number
  /**
   * Revokes credentials: records the revocation in the store (so later handshakes and
   * renewals are refused) and closes every matching live connection at once with
   * `auth_error` `credential_revoked` (4441). `expiresAt` defaults to now plus
   * `revocationRetention`. Resolves once the store has recorded it.
   * @returns how many live connections of this process were closed.
   */
  revoke (revocation: RevocationInput): Promise<number>
  /**
   * Renews every live connection matching `selector` with `token`, on the server's
   * initiative: each gets `renewed`, exactly as if it had sent `renew` itself. For cookie
   * mode, where the page never sees its token: an HTTP refresh endpoint sets the new
   * cookie and renews the session's live sockets. The same checks as a client renewal
   * apply (subject and session pinning, revocation, authorize, no earlier deadline). With
   * a shared store, every other instance is told to renew its matching connections too.
   * @returns per connection id of this process, `undefined` when renewed or the refusing error code.
   */
  renew (selector: ConnectionSelector, token: string): Promise<Map<string, ErrorCode | 'closed' | undefined>>
  /** Counters, current connections and latency histograms of this instance. */
  metrics (): MetricsSnapshot
}

/** A revocation as given to `fastify.wsAuth.revoke`; `expiresAt` is optional there. */
export type RevocationInput =
  | { tokenId: string, expiresAt?: number }
  | { sessionId: string, expiresAt?: number }
  | { subject: string, issuedBefore: number, expiresAt?: number }

/**
 * A `wsAuth` route's handler: `@fastify/websocket`'s, with the request's `wsAuth` known to be
 * set (the handler runs only after the handshake was authenticated).
 */
export type AuthenticatedWebsocketHandler<
  RawServer extends RawServerBase = RawServerDefault,
  RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
  RequestGeneric extends RequestGenericInterface = RequestGenericInterface,
  ContextConfig = ContextConfigDefault,
  SchemaCompiler extends FastifySchema = FastifySchema,
  TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
  Logger extends FastifyBaseLogger = FastifyBaseLogger
> = (
  this: FastifyInstance<RawServer, RawRequest, RawReplyDefaultExpression<RawServer>, Logger, TypeProvider>,
  socket: WebSocket,
  request: FastifyRequest<RequestGeneric, RawServer, RawRequest, SchemaCompiler, TypeProvider, ContextConfig, Logger> & { readonly wsAuth: AuthenticatedConnection }
) => void | Promise<unknown>

/** What a route sets to be authenticated by this plugin. */
export interface WsAuthRouteShorthandOptions {
  websocket: true
  /** Authenticate this WebSocket route with fastify-ws-auth. */
  wsAuth: true | WsAuthRouteOptions
}

declare module 'fastify' {

  // `wsAuth` is deliberately not added to RouteShorthandOptions: only this overload accepts
  // it, so a route literal with `wsAuth` never matches @fastify/websocket's overload (whose
  // handler would see `request.wsAuth` as possibly null) nor a plain HTTP route's.
  interface RouteShorthandMethod<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    <RequestGeneric extends RequestGenericInterface = RequestGenericInterface, ContextConfig = ContextConfigDefault, SchemaCompiler extends FastifySchema = FastifySchema, InnerLogger extends Logger = Logger>(
      path: string,
      opts: RouteShorthandOptions<RawServer, RawRequest, RawReply, RequestGeneric, ContextConfig, SchemaCompiler, TypeProvider, InnerLogger> & WsAuthRouteShorthandOptions,
      handler?: AuthenticatedWebsocketHandler<RawServer, RawRequest, RequestGeneric, ContextConfig, SchemaCompiler, TypeProvider, InnerLogger>
    ): FastifyInstance<RawServer, RawRequest, RawReply, InnerLogger, TypeProvider>
  }

  interface FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider> {
    wsAuth: WsAuthApi
    route<
      RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
      ContextConfig = ContextConfigDefault,
      const SchemaCompiler extends FastifySchema = FastifySchema
    >(
      opts: Omit<RouteOptions<RawServer, RawRequest, RawReply, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>, 'handler' | 'websocket'> &
      WsAuthRouteShorthandOptions & {
        handler: AuthenticatedWebsocketHandler<RawServer, RawRequest, RouteGeneric, ContextConfig, SchemaCompiler, TypeProvider, Logger>
      }
    ): FastifyInstance<RawServer, RawRequest, RawReply, Logger, TypeProvider>
  }

  interface FastifyRequest {
    /**
     * The authenticated connection. Set inside a `wsAuth` route's handler (where its type
     * is non-null); `null` on every other route and in hooks before the upgrade.
     */
    wsAuth: AuthenticatedConnection | null
  }
}

const JWT_NAMESPACE = 'wsAuth'
const SHUTDOWN_SLICE = 500

function selectsProtocol (protocols: Set<string>): string | false {
  if (protocols.has(SUBPROTOCOL)) return SUBPROTOCOL
  // ws would select the first entry offered; never let that be a credential, in any
  // spelling (SPEC §2.1): the bearer prefix in any letter case, another bearer scheme, a JWT.
  for (const protocol of protocols) {
    if (!couldCarryCredential(protocol)) return protocol
  }
  return false
}

type ChildLoggerFactory = FastifyInstance['childLoggerFactory']

/**
 * Wraps a route's child-logger factory, which Fastify calls once per request after routing
 * and before it logs `incoming request`: a credential in the query is redacted from the raw
 * URL there (so from `request.url` and every log line of the request, whatever the
 * application's serializers), and the request is marked so the handshake refuses it. Only
 * the plugin's routes pay for it, one `indexOf` per request without a query.
 */
function redactingLoggerFactory (parent: ChildLoggerFactory): ChildLoggerFactory {
  return function redactingChildLogger (this: FastifyInstance, logger, bindings, options, request) {
    const url = request.url
    if (url !== undefined && url.indexOf('?') !== -1) {
      const redacted = redactQueryCredential(url)
      if (redacted !== undefined) {
        request.url = redacted;
        (request as { [kQueryCredential]?: boolean })[kQueryCredential] = true
      }
    }
    return parent.call(this, logger, bindings, options, request)
  }
}

const plugin: FastifyPluginAsync<WsAuthOptions> = async function fastifyWsAuth (fastify: FastifyInstance, options: WsAuthOptions) {
  const config = resolveOptions(options)
  if (fastify.hasDecorator('websocketServer')) throw new WebsocketAlreadyRegisteredError()
  const clock = config.clock ?? systemClock

  // @fastify/jwt and @fastify/cookie live in an encapsulated scope so that the application
  // can still register them (their decorators, cookie parsing hook) for its own routes.
  let verifySignature: SignatureVerifier | undefined
  let parseCookie: CookieParser | undefined
  let limiter: HandshakeLimiter | undefined
  await fastify.register(async function wsAuthDependencies (scope) {
    if (config.handshakeLimit !== undefined) {
      // When the application registered @fastify/rate-limit first, its settings (store,
      // keyGenerator, allowList) are inherited, with this plugin's max and timeWindow;
      // otherwise @fastify/rate-limit's in-memory store is asked directly, synchronously.
      limiter = scope.hasDecorator('createRateLimit')
        ? registeredLimiter(scope.createRateLimit({ max: config.handshakeLimit.max, timeWindow: config.handshakeLimit.timeWindow }) as CreatedRateLimit)
        : storeLimiter(config.handshakeLimit)
    }
    if (config.cookieName !== undefined) {
      // An application that registered @fastify/cookie before us already gave this scope a
      // parser (a second registration would fail on its decorators).
      if (!scope.hasDecorator('parseCookie')) {
        // hook: false: cookies are parsed only for handshakes of authenticated routes.
        await scope.register(fastifyCookie, { hook: false })
      }
      parseCookie = scope.parseCookie
    }
    // With verify.jwks the keys come from the issuer's key set (jwks.ts), not @fastify/jwt.
    if (config.key === undefined) return
    await scope.register(fastifyJwt, {
      // Verify-only: with no private key @fastify/jwt builds no signer (it refuses public keys for signing).
      secret: { public: config.key },
      // A namespace keeps @fastify/jwt off `request.user` and `fastify.jwt`, which belong to
      // the application's own @fastify/jwt, registered before or after this plugin. (When the
      // application's came first, ours is added to its `fastify.jwt` as `fastify.jwt.wsAuth`.)
      namespace: JWT_NAMESPACE,
      decoratorName: 'wsAuthJwtUser',
      // Time claims are checked by claims.ts against the plugin's clock.
      verify: { algorithms: config.algorithms, ignoreExpiration: true, ignoreNotBefore: true }
    })
    const jwt = (scope.jwt as unknown as Record<string, FastifyInstance['jwt']>)[JWT_NAMESPACE] as FastifyInstance['jwt']
    verifySignature = (token) => jwt.verify(token)
  })

  const registry = new ConnectionRegistry<AuthenticatedConnection>()
  const closingReads = new ClosingReads()
  const deadlines = new DeadlineQueue(clock, () => { closingReads.release() })
  const metrics = new WsAuthMetrics(() => registry.size)
  // Remembered long enough to cover any handshake: its async checks, then the upgrade.
  const revocations = new RevocationTracker(config.revocationStore, clock, config.handshakeTimeoutMs + 60_000)
  const context: HandshakeContext = {
    verifier: new TokenVerifier(config.jwks === undefined
      ? verifySignature as SignatureVerifier
      : new JwksKeySource({ ...config.jwks, algorithms: config.algorithms, timeoutMs: config.handshakeTimeoutMs }, clock), {
      issuers: config.issuers,
      audiences: config.audiences,
      clockToleranceMs: config.clockToleranceMs,
      requiredScopes: config.requiredScopes
    }, { maxTokenLength: config.maxTokenLength, algorithms: config.algorithms, types: config.allowedTypes, typeRequired: config.typeRequired }, clock),
    clock,
    registry,
    deadlines,
    closingReads,
    renewBeforeMs: config.renewBeforeMs,
    maxRenewalFailures: config.maxRenewalFailures,
    closeTimeoutMs: config.closeTimeoutMs,
    authTimeoutMs: config.authTimeoutMs,
    maxPreAuthPayload: config.maxPreAuthPayload,
    preAuthBudget: new PreAuthBudget(config.maxPreAuthPayloadTotal),
    origins: config.origins,
    cookie: config.cookieName === undefined ? undefined : new CookieCredential(config.cookieName, parseCookie as CookieParser),
    credentialMissing: credentialMissing(config.cookieName),
    refusal: config.refusal,
    limiter,
    maxConnections: config.maxConnections,
    maxConnectionsPerSubject: config.maxConnectionsPerSubject,
    connectionLimitPolicy: config.connectionLimitPolicy,
    metrics,
    messageLimit: config.messageLimit,
    renewalLimit: config.renewalLimit,
    maxBufferedAmount: config.maxBufferedAmount,
    revocations,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    connectionCounter: config.connectionCounter,
    supersede (connectionId) {
      if (registry.get(connectionId)?.limit('connection_superseded') === undefined) {
        publish({ type: 'close', selector: { connectionId }, code: 'connection_superseded' }).catch(() => {})
      }
    }
  }

  /** A logger for a background task's failure, by message only: a store's error may carry a command, and so a token. */
  const failed = (event: string, text: string) => (err: unknown): void => {
    fastify.log.warn({ event, err: { message: (err as Error | null)?.message } }, text)
  }
  const publishFailed = failed('ws_auth.publish_failed', 'could not publish a command to other instances')
  /** Sends a command to the other instances, if the store is shared. Never rejects: a failure is logged. */
  const publish = async (command: ClusterCommand): Promise<void> => {
    try {
      await config.revocationStore.publish?.(command)
    } catch (err) {
      publishFailed(err)
    }
  }
  const closeLocal = (selector: ConnectionSelector, code: ErrorCode, message: string | undefined): number => {
    let closed = 0
    for (const connection of registry.select(selector)) {
      if (connection.close(code, message)) closed++
    }
    return closed
  }
  const renewLocal = async (selector: ConnectionSelector, token: string): Promise<Map<string, ErrorCode | 'closed' | undefined>> => {
    const results = new Map<string, ErrorCode | 'closed' | undefined>()
    await Promise.all(registry.select(selector).map(async (connection) => {
      results.set(connection.id, await connection.renew(token))
    }))
    return results
  }

  /** Closes this process's live connections covered by `revocation`. */
  const applyRevocation = (revocation: Revocation): number => {
    revocations.record(revocation)
    const candidates = 'sessionId' in revocation
      ? registry.select({ sessionId: revocation.sessionId })
      : 'subject' in revocation ? registry.select({ subject: revocation.subject }) : registry.withToken(revocation.tokenId)
    let closed = 0
    for (const connection of candidates) {
      if (connection.matches(revocation) && connection.revoke()) closed++
    }
    return closed
  }
  const resync = new Resync({
    connections: () => registry.values(),
    check: (query) => revocations.check(query),
    clock,
    done (connections, revoked) {
      fastify.log.info({ event: 'ws_auth.resynced', connections, revoked }, 'live connections re-checked against the revocation store')
    },
    deferred (retryInMs, attempt) {
      fastify.log.warn({ event: 'ws_auth.resync_deferred', retryInMs, attempt }, 'the revocation store could not answer the re-check of live connections; retrying')
    },
    failed: failed('ws_auth.resync_failed', 'the re-check of live connections failed; retrying')
  })
  const unsubscribe = config.revocationStore.subscribe?.({
    revoked (revocation) { applyRevocation(revocation) },
    command (command) {
      if (command.type === 'close') closeLocal(command.selector, command.code, command.message)
      else renewLocal(command.selector, command.token).catch(failed('ws_auth.remote_renew_failed', 'a renewal asked by another instance failed'))
    },
    resync () { resync.request() }
  })
  const heartbeat = config.heartbeatIntervalMs > 0 ? new Heartbeat(config.heartbeatIntervalMs, () => registry.values()) : undefined

  // Added before @fastify/websocket registers its own onRoute hook, so the handler
  // wrapped here is the one @fastify/websocket calls after the upgrade.
  fastify.addHook('onRoute', function protectRoute (route) {
    const wsAuth = (route as { wsAuth?: unknown }).wsAuth as true | WsAuthRouteOptions | undefined
    if (wsAuth === undefined) return
    markProtected(route)
    // Every request of the route, upgrade or not (a plain GET, a HEAD), has a credential in
    // its query redacted before Fastify's first log line of it.
    route.childLoggerFactory = redactingLoggerFactory(route.childLoggerFactory ?? this.childLoggerFactory)
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every((method) => method === 'HEAD')) return
    if (route.websocket !== true) throw new NotAWebsocketRouteError(route.url)
    const routeOptions = resolveRouteOptions(route.url, wsAuth, config)
    const hook = createHandshakeHook(routeOptions, context)
    route.onRequest = route.onRequest === undefined
      ? [hook]
      : [...(Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]), hook]
    route.handler = createAuthenticatedHandler(route.handler as unknown as WebsocketHandler, routeOptions, context) as unknown as typeof route.handler
  })

  const wsOptions = {
    ...config.websocket,
    // ws selects the first offered subprotocol by default, which could be the token.
    handleProtocols: selectsProtocol,
    WebSocket: HookedWebSocket
  }
  // Before @fastify/websocket's own preClose (which closes every socket without a code).
  // In slices of SHUTDOWN_SLICE per turn, so that a process holding many thousands of
  // sockets still serves its other I/O (health checks, in-flight HTTP) while it drains;
  // `done` waits for the last slice. Each shutdown leaves the registry, so every slice takes
  // the registry's first entries, including sockets that registered meanwhile.
  fastify.addHook('preClose', (done) => {
    const slice = (): void => {
      const batch: AuthenticatedConnection[] = []
      for (const connection of registry.values()) {
        batch.push(connection)
        if (batch.length === SHUTDOWN_SLICE) break
      }
      for (const connection of batch) connection.shutdown()
      // A connection still registered after its shutdown would make this loop forever.
      const progressed = batch.length > 0 && batch.every((connection) => registry.get(connection.id) !== connection)
      if (registry.size > 0 && progressed) setImmediate(slice)
      else done()
    }
    slice()
  })

  await fastify.register(fastifyWebsocket, {
    options: wsOptions as unknown as NonNullable<WebsocketPluginOptions['options']>,
    // @fastify/websocket's default handler terminates the socket, which can drop the
    // close frame ws has just queued (a client would see 1006 instead of 1009).
    errorHandler (error: Error & { code?: string }, socket: WebSocket, request: FastifyRequest) {
      if (typeof error.code === 'string' && (error.code.startsWith('WS_ERR_') || error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        request.log.debug({ event: 'ws_auth.socket_error', code: error.code }, 'websocket protocol error')
        return
      }
      request.log.error({ event: 'ws_auth.handler_error', err: error }, 'websocket route handler failed')
      if (socket.readyState === socket.OPEN) socket.close(1011, ERRORS.internal_error.code)
    }
  })
  refuseLaterWebsocketRegistration(fastify)

  const headersDeadline = HeadersDeadline.for(fastify.server, config.headersTimeoutMs, clock)
  headersDeadline?.start()

  const api: WsAuthApi = {
    get size () { return registry.size },
    get: (id) => registry.get(id),
    connections: () => registry.values(),
    close (selector, closeOptions = {}) {
      const code = closeOptions.code ?? 'credential_revoked'
      const closed = closeLocal(selector, code, closeOptions.message)
      publish({ type: 'close', selector: { ...selector }, code, message: closeOptions.message }).catch(() => {})
      return closed
    },
    async revoke (input) {
      const revocation = { ...input, expiresAt: input?.expiresAt ?? clock.now() + config.revocationRetentionMs } as Revocation
      const problem = revocationProblem(revocation)
      if (problem !== undefined) throw new InvalidRevocationError(problem)
      // Live connections first: closing them needs no store, and must not wait for one.
      const closed = applyRevocation(revocation)
      await config.revocationStore.revoke(revocation)
      return closed
    },
    async renew (selector, token) {
      const [results] = await Promise.all([renewLocal(selector, token), publish({ type: 'renew', selector: { ...selector }, token })])
      return results
    },
    metrics: () => metrics.snapshot()
  }
  // Not part of the API: lets tests and the benchmark count the registry's lookups.
  Object.defineProperty(api, kRegistry, { value: registry })
  fastify.decorate('wsAuth', api)
  fastify.decorateRequest('wsAuth', null)
  fastify.decorateRequest(kHandshakeOutcome, null)

  fastify.addHook('onClose', async () => {
    headersDeadline?.stop()
    heartbeat?.stop()
    deadlines.stop()
    unsubscribe?.()
    resync.stop()
    await config.connectionCounter?.close?.()
    await config.revocationStore.close?.()
  })
}

/** The fastify-ws-auth plugin. */
export const fastifyWsAuth = fp(plugin, { fastify: '5.x', name: 'fastify-ws-auth' })
export default fastifyWsAuth

export { AuthenticatedConnection, type AuthenticatedConnectionEvents } from './connection.ts'
export type { Clock } from './clock.ts'
export type { CredentialSource } from './credential.ts'
export type { ConnectionSelector } from './registry.ts'
export { MemoryRevocationStore, type ClusterCommand, type Revocation, type RevocationQuery, type RevocationStore, type StoreListener } from './revocation.ts'
export type { ConnectionCounter, ConnectionSlot, SlotGrant } from './connection-counter.ts'
export { CHANNELS, LATENCY_BUCKETS_MS, type HistogramSnapshot, type MetricsEvent, type MetricsSnapshot } from './metrics.ts'
export type { RateLimit } from './token-bucket.ts'
export type { StandardClaims } from './claims.ts'
export type { Authorize, ConnectionLimitPolicy, RefusalMode, SigningAlgorithm, WsAuthClaims, WsAuthJwksOptions, WsAuthOptions, WsAuthRouteOptions, WsAuthVerifyOptions } from './options.ts'
export { InvalidOptionError, InvalidRevocationError, NotAWebsocketRouteError, RouteBeforePluginError, WebsocketAlreadyRegisteredError } from './errors.ts'
export * from '../protocol/index.ts'
