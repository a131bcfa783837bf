import { randomUUID } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import fastifyRateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { Type, type Static } from 'typebox'
import fastifyWsAuth, { type WsAuthClaims } from '../plugin/index.ts'
import type { AppConfig } from './config.ts'
import { registerFeed } from './feed.ts'
import { registerMetrics } from './metrics.ts'
import { SessionStore } from './sessions.ts'
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

const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 256 })
}, { additionalProperties: false })

const TokenReply = Type.Object({
  accessToken: Type.String(),
  /** ms since the epoch, like the protocol's `expiresAt`. */
  expiresAt: Type.Integer()
})

const ErrorReply = Type.Object({ error: Type.String(), message: Type.String() })

export interface BuildOptions {
  /** Extra Fastify options (tests pass `logger`/`loggerInstance`). */
  fastify?: FastifyServerOptions
  users?: UserStore
}

export function hasScope (claims: WsAuthClaims, scope: string): boolean {
  return typeof claims.scope === 'string' && claims.scope.split(' ').includes(scope)
}

/** Builds the example app (not listening). */
export async function buildApp (config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: config.logLevel }, ...options.fastify })
  const users = options.users ?? await UserStore.create()
  const sessions = new SessionStore(SESSION_TTL_MS)

  // The app's own @fastify/jwt: it signs tokens and verifies the Bearer token of /auth/*.
  // The ws-auth plugin registers its own, verify-only, in an encapsulated scope.
  await app.register(fastifyJwt, {
    secret: config.jwtSecret,
    // @fastify/jwt reads a numeric expiresIn as seconds.
    sign: { algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: config.accessTokenTtl },
    verify: { algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE, requiredClaims: ['exp', 'sub', 'sid'] }
  })
  await app.register(fastifyRateLimit, { global: false })

  await app.register(fastifyWsAuth, {
    verify: { algorithms: ['HS256'], key: config.jwtSecret, issuer: ISSUER, audience: AUDIENCE },
    allowedOrigins: config.allowedOrigins.length > 0 ? config.allowedOrigins : undefined,
    renewBefore: config.renewBefore * 1000,
    // Checked at the handshake and at every renewal: a logged-out session is refused even
    // with a token that has not expired yet.
    authorize: (claims) => sessions.isActive(claims.sid, claims.sub) && hasScope(claims, 'feed:read')
  })

  function issue (user: User, sessionId: string): Static<typeof TokenReply> {
    const accessToken = app.jwt.sign({ sub: user.username, sid: sessionId, scope: user.scope, jti: randomUUID() })
    const { exp } = app.jwt.decode<{ exp: number }>(accessToken) as { exp: number }
    return { accessToken, expiresAt: exp * 1000 }
  }

  const unauthorized = (reply: FastifyReply, error: string, message: string): FastifyReply =>
    reply.code(401).header('www-authenticate', 'Bearer').send({ error, message })

  /** The verified access token of a `Bearer` request, or `undefined` after replying 401. */
  async function bearer (request: FastifyRequest, reply: FastifyReply): Promise<{ sub: string, sid: string } | undefined> {
    try {
      const claims = await request.jwtVerify<{ sub: string, sid: string }>()
      if (sessions.isActive(claims.sid, claims.sub)) return claims
      unauthorized(reply, 'session_ended', 'The session has ended; log in again.')
    } catch {
      // fast-jwt's error carries the decoded token: only a generic answer goes out.
      unauthorized(reply, 'invalid_token', 'A valid access token is required in the Authorization header.')
    }
    return undefined
  }

  app.post<{ Body: Static<typeof LoginBody> }>('/auth/login', {
    schema: { body: LoginBody, response: { 200: TokenReply, 401: ErrorReply } },
    config: { rateLimit: { max: 10, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const user = await users.authenticate(request.body.username, request.body.password)
    if (user === undefined) {
      request.log.info({ event: 'login_failed' }, 'login refused')
      return unauthorized(reply, 'invalid_credentials', 'Unknown user or wrong password.')
    }
    const sessionId = sessions.create(user.username)
    request.log.info({ event: 'login', subject: user.username, sessionId }, 'logged in')
    return issue(user, sessionId)
  })

  // Renewal source for clients: a fresh access token for the same session, taking the
  // user's current scopes. (A later version adds refresh-token cookies.)
  app.post('/auth/token', {
    schema: { response: { 200: TokenReply, 401: ErrorReply } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const claims = await bearer(request, reply)
    if (claims === undefined) return reply
    const user = users.get(claims.sub)
    if (user === undefined) return unauthorized(reply, 'session_ended', 'The session has ended; log in again.')
    return issue(user, claims.sid)
  })

  app.post('/auth/logout', {
    schema: { response: { 204: Type.Null(), 401: ErrorReply } },
    config: { rateLimit: { max: 60, timeWindow: 60_000 } }
  }, async (request, reply) => {
    const claims = await bearer(request, reply)
    if (claims === undefined) return reply
    sessions.delete(claims.sid)
    // Closes the session's live sockets with 4441, and refuses its unexpired tokens from now on.
    const closed = await app.wsAuth.revoke({ sessionId: claims.sid, expiresAt: Date.now() + SESSION_TTL_MS })
    request.log.info({ event: 'logout', subject: claims.sub, sessionId: claims.sid, closed }, 'logged out')
    return reply.code(204).send()
  })

  registerFeed(app, config.tickInterval)
  registerMetrics(app)

  app.get('/health', async () => ({ status: 'ok', connections: app.wsAuth.size, sessions: sessions.size }))

  app.get('/', async (request, reply) => {
    const origin = `${request.protocol}://${request.host}`
    return reply.type('text/plain; charset=utf-8').send(help(origin))
  })

  return app
}

function help (origin: string): string {
  const ws = origin.replace(/^http/, 'ws')
  return `fastify-ws-auth example app

POST ${origin}/auth/login    {"username":"alice","password":"alice-password"} -> {"accessToken","expiresAt"}
POST ${origin}/auth/token    Authorization: Bearer <access token> -> a fresh token for the same session
POST ${origin}/auth/logout   Authorization: Bearer <access token> -> ends the session, closes its sockets (4441)
GET  ${ws}/feed              WebSocket; subprotocols "wsauth.v1" and "wsauth.bearer.<access token>"
GET  ${origin}/health
GET  ${origin}/metrics           Prometheus metrics of the plugin and the process

Try it:
  TOKEN=$(curl -s -X POST ${origin}/auth/login -H 'content-type: application/json' \\
    -d '{"username":"alice","password":"alice-password"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
  npx wscat -c ${ws}/feed -s wsauth.v1 -s "wsauth.bearer.$TOKEN"

Renew in the same wscat session by sending {"type":"renew","token":"<a token from /auth/token>"}.
Demo users: alice/alice-password, bob/bob-password, carol/carol-password (no feed access).
The protocol: SPEC.md.
`
}
