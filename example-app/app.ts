import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import fastifyCookie from '@fastify/cookie'
import fastifyJwt from '@fastify/jwt'
import fastifyRateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { Type, type Static } from 'typebox'
import fastifyWsAuth from '../plugin/index.ts'
import type { AppConfig } from './config.ts'
import { hasScope, registerFeed } from './feed.ts'
import { registerMetrics } from './metrics.ts'
import { registerPage } from './page.ts'
import { redisStores } from '../redis/index.ts'
import { connectRedis, reportRedisError } from './redis.ts'
import { RedisSessions } from './redis-sessions.ts'
import { MemorySessions, type Sessions } from './sessions.ts'
import { UserStore, type User } from './users.ts'

export const ISSUER = 'fastify-ws-auth-example'
export const AUDIENCE = 'feed'
/** How long a login session can be kept alive by `/auth/token` renewals. */
const SESSION_TTL_MS = 12 * 60 * 60 * 1000

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string, sid: string, scope: string, jti: string }
    user: { sub: string, sid: string, scope: string, exp: number }
  }
}

const Mode = Type.Union([Type.Literal('token'), Type.Literal('cookie')], { default: 'token' })

const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 256 }),
  /** `token`: the access token in the body (subprotocol transport); `cookie`: only in an HttpOnly cookie. */
  mode: Type.Optional(Mode)
}, { additionalProperties: false })

const RefreshBody = Type.Object({ mode: Type.Optional(Mode) }, { additionalProperties: false })

const TokenReply = Type.Object({
  /** Absent in cookie mode: the page never sees the token. */
  accessToken: Type.Optional(Type.String()),
  /** ms since the epoch, like the protocol's `expiresAt`. */
  expiresAt: Type.Integer(),
  subject: Type.String(),
  sessionId: Type.String(),
  /** Cookie-mode refresh: live connections of the session renewed server-side. */
  renewed: Type.Optional(Type.Integer())
})

// The shape of Fastify's own errors and of the plugin's handshake refusals: `code` is the
// stable value to branch on, `error` the HTTP reason phrase.
const ErrorReply = Type.Object({ statusCode: Type.Integer(), code: Type.String(), error: Type.String(), message: Type.String() })

/** Sends an error in {@link ErrorReply}'s shape. */
function sendError (reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send({ statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message })
}

export const ACCESS_COOKIE = 'access_token'
export const REFRESH_COOKIE = 'refresh_token'

export interface BuildOptions {
  /** Extra Fastify options (tests pass `logger`/`loggerInstance`). */
  fastify?: FastifyServerOptions
  users?: UserStore
}

/** Builds the example app (not listening). */
export async function buildApp (config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    ...(config.tls === undefined ? {} : { https: config.tls }),
    ...options.fastify
  } as FastifyServerOptions)
  const users = options.users ?? await UserStore.create()
  // With REDIS_URL, everything several instances must agree on lives in Redis: revocations,
  // per-subject connection counts, sessions and the feed. Without it, nothing leaves the process.
  const redis = config.redisUrl === undefined ? undefined : await connectRedis(app, config.redisUrl)
  const sessions: Sessions = redis === undefined ? new MemorySessions(SESSION_TTL_MS) : new RedisSessions(redis, SESSION_TTL_MS)
  if (redis !== undefined) {
    // Sessions are in Redis: while it is down, /auth/* answers 503 rather than a bare 500.
    app.setErrorHandler((error, _request, reply) => {
      if (redis.status !== 'ready' && (error as { statusCode?: number }).statusCode === undefined) {
        return sendError(reply.header('retry-after', '5'), 503, 'service_unavailable', 'The session store cannot be reached; try again shortly.')
      }
      return reply.send(error)
    })
  }
  const cookieMode = config.allowedOrigins.length > 0
  const secure = config.tls !== undefined

  // The app's own @fastify/jwt: it signs tokens and verifies the Bearer token of /auth/*.
  // The ws-auth plugin registers its own, verify-only, in an encapsulated scope.
  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    // @fastify/jwt reads a numeric expiresIn as seconds.
    sign: { algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: config.accessTokenTtl },
    verify: { algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE, requiredClaims: ['exp', 'sub', 'sid'] }
  })
  // Registered before the plugin, which then reads its cookie through this registration.
  await app.register(fastifyCookie)
  await app.register(fastifyRateLimit, { global: false })

  await app.register(fastifyWsAuth, {
    verify: config.oidc === undefined
      ? { algorithms: ['HS256'], key: config.jwtSecret, issuer: ISSUER, audience: AUDIENCE }
      // An external issuer: its keys from the JWKS its discovery document names.
      : { algorithms: config.oidc.algorithms, jwks: {}, issuer: config.oidc.issuer, audience: config.oidc.audience, ...(config.oidc.profile === 'rfc9068' ? { profile: 'rfc9068' } : {}) },
    ...(cookieMode ? { allowedOrigins: config.allowedOrigins, cookie: { name: ACCESS_COOKIE } } : {}),
    renewBefore: config.renewBefore * 1000,
    // Checked at the handshake and at every renewal: a logged-out session is refused even
    // with a token that has not expired yet.
    // An external issuer's tokens belong to its sessions, not the app's: only the scope is checked.
    authorize: async (claims) => hasScope(claims, 'feed:read') && (config.oidc !== undefined || await sessions.isActive(claims.sid, claims.sub)),
    ...(redis === undefined ? {} : redisStores({ redis, onError: (error) => { reportRedisError(app, error) } }))
  })
  if (config.oidc !== undefined) {
    // Tokens come from the issuer: the app's own login would only mint tokens /feed refuses.
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith('/auth/')) return await sendError(reply, 404, 'external_issuer', `Obtain an access token from ${config.oidc?.issuer ?? ''}.`)
    })
  }
  if (!cookieMode) app.log.warn('ALLOWED_ORIGINS is empty (PORT=0?): cookie mode is off, only the subprotocol transport works')

  const cookieOptions = (path: string, maxAgeSeconds: number) =>
    ({ path, httpOnly: true, sameSite: 'strict', secure, maxAge: maxAgeSeconds }) as const

  function issue (reply: FastifyReply, user: User, sessionId: string, mode: 'token' | 'cookie'): Static<typeof TokenReply> & { token: string } {
    const accessToken = app.jwt.sign({ sub: user.username, sid: sessionId, scope: user.scope, jti: randomUUID() })
    const { exp } = app.jwt.decode<{ exp: number }>(accessToken) as { exp: number }
    if (mode === 'cookie') reply.setCookie(ACCESS_COOKIE, accessToken, cookieOptions('/feed', config.accessTokenTtl))
    const body: Static<typeof TokenReply> = { expiresAt: exp * 1000, subject: user.username, sessionId }
    if (mode === 'token') body.accessToken = accessToken
    return { ...body, token: accessToken }
  }

  const setRefresh = async (reply: FastifyReply, refreshToken: string, sessionId: string): Promise<void> => {
    const expiresAt = await sessions.expiresAt(sessionId) ?? Date.now()
    reply.setCookie(REFRESH_COOKIE, refreshToken, cookieOptions('/auth', Math.max(0, Math.floor((expiresAt - Date.now()) / 1000))))
  }
  const clearCookies = (reply: FastifyReply): void => {
    reply.clearCookie(REFRESH_COOKIE, { path: '/auth' })
    reply.clearCookie(ACCESS_COOKIE, { path: '/feed' })
  }

  const unauthorized = (reply: FastifyReply, code: string, message: string): FastifyReply =>
    sendError(reply.header('www-authenticate', 'Bearer'), 401, code, message)

  const refuseCookieMode = (reply: FastifyReply): FastifyReply =>
    sendError(reply, 400, 'cookie_mode_unavailable', 'Cookie mode needs ALLOWED_ORIGINS (the page origin); use mode "token".')

  /** Ends a session everywhere: no more refresh, its tokens revoked, its live sockets closed (4441). */
  async function endSession (sessionId: string): Promise<number> {
    const expiresAt = await sessions.expiresAt(sessionId) ?? Date.now() + SESSION_TTL_MS
    await sessions.delete(sessionId)
    return await app.wsAuth.revoke({ sessionId, expiresAt: Math.max(expiresAt, Date.now() + config.accessTokenTtl * 1000) })
  }

  /** The verified access token of a `Bearer` request, or `undefined` after replying 401. */
  async function bearer (request: FastifyRequest, reply: FastifyReply): Promise<{ sub: string, sid: string } | undefined> {
    try {
      const claims = await request.jwtVerify<{ sub: string, sid: string }>()
      if (await sessions.isActive(claims.sid, claims.sub)) return claims
      unauthorized(reply, 'session_ended', 'The session has ended; log in again.')
    } catch {
      // fast-jwt's error carries the decoded token: only a generic answer goes out.
      unauthorized(reply, 'invalid_token', 'A valid access token is required in the Authorization header.')
    }
    return undefined
  }

  app.post<{ Body: Static<typeof LoginBody> }>('/auth/login', {
    schema: { body: LoginBody, response: { 200: TokenReply, 400: ErrorReply, 401: ErrorReply } },
    config: { rateLimit: { max: 10, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const mode = request.body.mode ?? 'token'
    if (mode === 'cookie' && !cookieMode) return refuseCookieMode(reply)
    const user = await users.authenticate(request.body.username, request.body.password)
    if (user === undefined) {
      request.log.info({ event: 'login_failed' }, 'login refused')
      return unauthorized(reply, 'invalid_credentials', 'Unknown user or wrong password.')
    }
    const { sessionId, refreshToken } = await sessions.create(user.username)
    await setRefresh(reply, refreshToken, sessionId)
    request.log.info({ event: 'login', subject: user.username, sessionId, mode }, 'logged in')
    const { token: _token, ...body } = issue(reply, user, sessionId, mode)
    return body
  })

  // Rotates the refresh token (HttpOnly cookie, path /auth) and issues an access token. In
  // cookie mode the token goes only into the access cookie and to the session's live
  // sockets, renewed server-side: page JavaScript never sees it.
  app.post<{ Body: Static<typeof RefreshBody> }>('/auth/refresh', {
    // A JSON body is required: a cross-site form cannot send one without a CORS preflight.
    schema: { body: RefreshBody, response: { 200: TokenReply, 400: ErrorReply, 401: ErrorReply } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const mode = request.body.mode ?? 'token'
    if (mode === 'cookie' && !cookieMode) return refuseCookieMode(reply)
    const presented = request.cookies[REFRESH_COOKIE]
    if (presented === undefined || presented === '') return unauthorized(reply, 'invalid_refresh', 'No refresh token: log in.')
    const result = await sessions.rotate(presented)
    if (result.outcome === 'unknown') {
      clearCookies(reply)
      return unauthorized(reply, 'invalid_refresh', 'The refresh token is unknown or expired: log in.')
    }
    if (result.outcome === 'reused') {
      // A retired refresh token came back: it leaked. End the whole family.
      await sessions.delete(result.sessionId)
      const closed = await app.wsAuth.revoke({ sessionId: result.sessionId, expiresAt: Date.now() + SESSION_TTL_MS })
      request.log.warn({ event: 'refresh_reused', subject: result.subject, sessionId: result.sessionId, closed }, 'refresh token reuse: session revoked')
      clearCookies(reply)
      return unauthorized(reply, 'refresh_reused', 'This refresh token was already used; the session was ended for safety. Log in again.')
    }
    const user = users.get(result.subject)
    if (user === undefined) return unauthorized(reply, 'session_ended', 'The session has ended; log in again.')
    await setRefresh(reply, result.refreshToken, result.sessionId)
    const { token, ...body } = issue(reply, user, result.sessionId, mode)
    if (mode === 'cookie') {
      const outcomes = await app.wsAuth.renew({ sessionId: result.sessionId }, token)
      body.renewed = [...outcomes.values()].filter((outcome) => outcome === undefined).length
    }
    return body
  })

  // A fresh access token for the session of a valid Bearer access token (clients without cookies).
  app.post('/auth/token', {
    schema: { response: { 200: TokenReply, 401: ErrorReply } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const claims = await bearer(request, reply)
    if (claims === undefined) return reply
    const user = users.get(claims.sub)
    if (user === undefined) return unauthorized(reply, 'session_ended', 'The session has ended; log in again.')
    const { token: _token, ...body } = issue(reply, user, claims.sid, 'token')
    return body
  })

  // Identified by the refresh cookie (the page) or a Bearer access token (scripts).
  app.post('/auth/logout', {
    schema: { response: { 204: Type.Null(), 401: ErrorReply } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    let session: { sessionId: string, subject: string } | undefined
    const presented = request.cookies[REFRESH_COOKIE]
    if (presented !== undefined && presented !== '') session = await sessions.sessionOf(presented)
    if (session === undefined) {
      if (request.headers.authorization === undefined && presented !== undefined) {
        clearCookies(reply)
        return unauthorized(reply, 'session_ended', 'The session has ended.')
      }
      const claims = await bearer(request, reply)
      if (claims === undefined) return reply
      session = { sessionId: claims.sid, subject: claims.sub }
    }
    const closed = await endSession(session.sessionId)
    request.log.info({ event: 'logout', subject: session.subject, sessionId: session.sessionId, closed }, 'logged out')
    clearCookies(reply)
    return reply.code(204).send()
  })

  registerFeed(app, config.tickInterval, redis)
  registerMetrics(app)
  await registerPage(app, { cookieMode })

  // `pid` tells the instances apart behind one port (npm run start:cluster).
  app.get('/health', async () => ({ status: 'ok', pid: process.pid, connections: app.wsAuth.size, sessions: await sessions.size(), redis: redis?.status }))

  return app
}
