import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { WebSocket } from 'ws'
import fastifyWsAuth, {
  AuthenticatedConnection, CloseCode, ERRORS, closePolicy,
  MemoryRevocationStore, type AuthErrorFrame, type ClosePolicy, type ErrorCode, type MetricsSnapshot, type RenewFrame,
  type Revocation, type RevocationStore, type WsAuthOptions
} from '../../plugin/index.ts'

import type { WsAuthJwksOptions, WsAuthVerifyOptions } from '../../plugin/index.ts'

declare module '../../plugin/index.ts' {
  interface WsAuthClaims {
    scope?: string
  }
}

const app = Fastify()
const verify = { algorithms: ['HS256'], key: 'x'.repeat(32) } as const

describe('register', () => {
  test('accepts valid options', () => {
    expect(app.register(fastifyWsAuth, { verify })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, {
      verify: { algorithms: ['ES256', 'ES384'], key: Buffer.from(''), issuer: ['a'], audience: 'b', clockTolerance: 5 },
      cookie: { name: 'at' },
      allowedOrigins: ['https://app.test'],
      refusal: 'close',
      authorize: async (claims, request) => claims.sub.length > 0 && request.ip !== ''
    })).type.not.toRaiseError()
  })
  test('rejects alg none, a missing verify, an unknown refusal mode', () => {
    expect(app.register(fastifyWsAuth, { verify: { algorithms: ['none'], key: 'k' } })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, {})).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, refusal: 'quiet' })).type.toRaiseError()
  })
  test('rejects a misspelt option key', () => {
    expect(app.register(fastifyWsAuth, { verify: { ...verify, audiance: 'feed' } })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, renewBefor: 1000 })).type.toRaiseError()
  })
  test('options type is exported', () => {
    expect<WsAuthOptions['renewBefore']>().type.toBe<number | undefined>()
  })
})

describe('routes', () => {
  test('wsAuth route option', () => {
    expect(app.get('/a', { websocket: true, wsAuth: true }, (socket, request) => {
      expect(socket).type.toBe<WebSocket>()
      expect(request.wsAuth).type.toBe<AuthenticatedConnection>()
      expect(request.wsAuth.subject).type.toBe<string>()
      expect(request.wsAuth.sessionId).type.toBe<string | undefined>()
      expect(request.wsAuth.expiresAt).type.toBe<number>()
      expect(request.wsAuth.claims.exp).type.toBe<number>()
      expect(request.wsAuth.claims.scope).type.toBe<string | undefined>()
      expect(request.wsAuth.close('credential_revoked', 'bye')).type.toBe<boolean>()
      expect(request.wsAuth.close).type.not.toBeCallableWith('no_such_code')
      request.wsAuth.on('renewed', (claims) => { expect(claims.sub).type.toBe<string>() })
      request.wsAuth.on('close', (code) => { expect(code).type.toBe<number>() })
    })).type.not.toRaiseError()
    expect(app.get('/b', { websocket: true, wsAuth: { authFrame: true, authorize: (claims) => claims.scope === 'x' } }, () => {})).type.not.toRaiseError()
    expect(app.get('/c', { websocket: true, wsAuth: 'yes' }, () => {})).type.toRaiseError()
  })
  test('wsAuth needs websocket: true, and a misspelt route option is an error', () => {
    expect(app.get('/d', { wsAuth: true }, async () => 'no')).type.toRaiseError()
    expect(app.get('/e', { websocket: true, wsAuth: { authframe: true } }, () => {})).type.toRaiseError()
  })
  test('request.wsAuth is honest outside an authenticated handler', () => {
    app.get('/plain', async (request) => {
      expect(request.wsAuth).type.toBe<AuthenticatedConnection | null>()
      return 'ok'
    })
    app.get('/ws-plain', { websocket: true }, (socket, request) => {
      expect(socket).type.toBe<WebSocket>()
      expect(request.wsAuth).type.toBe<AuthenticatedConnection | null>()
    })
    app.addHook('onRequest', async (request) => {
      expect(request.wsAuth).type.toBe<AuthenticatedConnection | null>()
    })
  })
  test('route() with wsAuth types its handler as an authenticated one', () => {
    expect(app.route({
      method: 'GET',
      url: '/f',
      websocket: true,
      wsAuth: true,
      handler: (socket, request) => {
        expect(socket).type.toBe<WebSocket>()
        expect(request.wsAuth).type.toBe<AuthenticatedConnection>()
      }
    })).type.not.toRaiseError()
  })
})

describe('instance API', () => {
  test('fastify.wsAuth', () => {
    expect(app.wsAuth.close({ subject: 's' })).type.toBe<number>()
    expect(app.wsAuth.close({ sessionId: 's' }, { code: 'forbidden', message: 'm' })).type.toBe<number>()
    expect(app.wsAuth.close).type.not.toBeCallableWith({ subject: 's' }, { code: 'nope' })
    expect(app.wsAuth.size).type.toBe<number>()
    expect(app.wsAuth.get('id')).type.toBe<AuthenticatedConnection | undefined>()
  })
})

describe('protocol', () => {
  test('codes and frames', () => {
    expect(closePolicy(4401)).type.toBe<ClosePolicy>()
    expect(ERRORS.token_expired.closeCode).type.toBe<CloseCode>()
    expect<AuthErrorFrame['code']>().type.toBe<ErrorCode>()
    expect<RenewFrame>().type.toBeAssignableFrom({ type: 'renew' as const, token: 't', id: 'x' })
    expect<RenewFrame>().type.not.toBeAssignableFrom({ type: 'renew' as const })
  })
})

describe('limits, revocation and metrics', () => {
  test('limit options', () => {
    expect(app.register(fastifyWsAuth, {
      verify,
      handshakeLimit: { max: 10, timeWindow: 1000 },
      messageLimit: false,
      renewalLimit: { max: 1, timeWindow: 60_000 },
      maxConnections: 10,
      maxConnectionsPerSubject: 2,
      connectionLimitPolicy: 'close-oldest',
      heartbeatInterval: 0,
      maxBufferedAmount: 1024,
      handshakeTimeout: 100
    })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, connectionLimitPolicy: 'kick' })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, messageLimit: true })).type.toRaiseError()
  })
  test('a custom revocation store', () => {
    const store: RevocationStore = {
      revoke: async (revocation: Revocation) => { expect(revocation).type.toBe<Revocation>() },
      isRevoked: (query) => query.subject === 'x'
    }
    expect(app.register(fastifyWsAuth, { verify, revocationStore: store })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, revocationStore: { revoke () {} } })).type.toRaiseError()
    expect(new MemoryRevocationStore()).type.toBeAssignableTo<RevocationStore>()
  })
  test('fastify.wsAuth.revoke and metrics', () => {
    expect(app.wsAuth.revoke({ sessionId: 's' })).type.toBe<Promise<number>>()
    expect(app.wsAuth.revoke({ subject: 's', issuedBefore: 1 })).type.toBe<Promise<number>>()
    expect(app.wsAuth.revoke({ subject: 's' })).type.toRaiseError()
    expect(app.wsAuth.metrics()).type.toBe<MetricsSnapshot>()
    expect(app.wsAuth.metrics().refused.token_expired).type.toBe<number | undefined>()
  })
})

describe('issuer verification (verify.jwks)', () => {
  const app = Fastify()
  test('a JWKS URL or discovery, the RFC 9068 profile, required scopes', () => {
    expect(app.register(fastifyWsAuth, {
      verify: { algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], issuer: 'https://idp.example', audience: 'api', jwks: {}, profile: 'rfc9068', requiredScopes: ['feed:read'] }
    })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, {
      verify: { algorithms: ['ES256'], issuer: 'https://idp.example', audience: 'api', jwks: { url: 'https://idp.example/jwks', cacheTtl: 1, refetchInterval: 1, maxKeys: 1 } }
    })).type.not.toRaiseError()
    expect<WsAuthVerifyOptions['jwks']>().type.toBe<WsAuthJwksOptions | undefined>()
    expect<WsAuthVerifyOptions['key']>().type.toBe<string | Buffer | undefined>()
  })
  test('rejects an unknown profile, a non-numeric TTL, scopes as a string', () => {
    expect(app.register(fastifyWsAuth, { verify: { algorithms: ['ES256'], jwks: {}, profile: 'oauth' } })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify: { algorithms: ['ES256'], jwks: { cacheTtl: '10m' } } })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify: { algorithms: ['ES256'], jwks: {}, requiredScopes: 'feed:read' } })).type.toRaiseError()
  })
  test('jwks_unavailable is an error code', () => {
    expect(ERRORS.jwks_unavailable.code).type.toBe<ErrorCode>()
    expect<'jwks_unavailable'>().type.toBeAssignableTo<ErrorCode>()
  })
})
