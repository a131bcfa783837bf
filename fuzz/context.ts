import { fastifyCookie } from '@fastify/cookie'
import { createVerifier } from 'fast-jwt'
import type { Clock } from '../plugin/clock.ts'
import { CookieCredential } from '../plugin/credential.ts'
import { ClosingReads } from '../plugin/closing-reads.ts'
import { DeadlineQueue } from '../plugin/deadlines.ts'
import { credentialMissing, type HandshakeContext } from '../plugin/handshake.ts'
import { WsAuthMetrics } from '../plugin/metrics.ts'
import { resolveOptions, type RefusalMode } from '../plugin/options.ts'
import { PreAuthBudget } from '../plugin/pre-auth-budget.ts'
import { ConnectionRegistry } from '../plugin/registry.ts'
import { MemoryRevocationStore } from '../plugin/revocation.ts'
import { RevocationTracker } from '../plugin/revocation-tracker.ts'
import { TokenVerifier } from '../plugin/verifier.ts'
import type { AuthenticatedConnection } from '../plugin/connection.ts'
import { FIXED_NOW } from './family.ts'
import { ALLOWED_ORIGIN, COOKIE_NAME } from './target.ts'
import { FUZZ_KEY } from './tokens.ts'

export const fixedClock: Clock = { now: () => FIXED_NOW, setTimeout: () => undefined, clearTimeout: () => {} }

// The options of the socket target (target.ts), resolved by the plugin's own code.
export const config = resolveOptions({
  verify: { algorithms: ['HS256'], key: FUZZ_KEY },
  allowedOrigins: [ALLOWED_ORIGIN],
  cookie: { name: COOKIE_NAME },
  handshakeLimit: false,
  clock: fixedClock
})

/** The plugin's verifier as index.ts builds it for a static key (@fastify/jwt verifies with fast-jwt so). */
export function fuzzVerifier (clock: Clock = fixedClock): TokenVerifier {
  const verify = createVerifier({ key: FUZZ_KEY, algorithms: config.algorithms, ignoreExpiration: true, ignoreNotBefore: true })
  return new TokenVerifier((token) => verify(token), {
    issuers: config.issuers, audiences: config.audiences, clockToleranceMs: config.clockToleranceMs, requiredScopes: config.requiredScopes
  }, { maxTokenLength: config.maxTokenLength, algorithms: config.algorithms, types: config.allowedTypes, typeRequired: config.typeRequired }, clock)
}

/** What index.ts gives the handshake hook, built the same way, for one refusal mode. */
export function handshakeContext (refusal: RefusalMode): HandshakeContext {
  const registry = new ConnectionRegistry<AuthenticatedConnection>()
  return {
    verifier: fuzzVerifier(),
    clock: fixedClock,
    registry,
    deadlines: new DeadlineQueue(fixedClock),
    closingReads: new ClosingReads(),
    renewBeforeMs: config.renewBeforeMs,
    maxRenewalFailures: config.maxRenewalFailures,
    closeTimeoutMs: config.closeTimeoutMs,
    authTimeoutMs: config.authTimeoutMs,
    maxPreAuthPayload: config.maxPreAuthPayload,
    preAuthBudget: new PreAuthBudget(config.maxPreAuthPayloadTotal),
    origins: config.origins,
    cookie: new CookieCredential(COOKIE_NAME, (header) => fastifyCookie.parse(header)),
    credentialMissing: credentialMissing(COOKIE_NAME),
    refusal,
    limiter: undefined,
    maxConnections: config.maxConnections,
    maxConnectionsPerSubject: config.maxConnectionsPerSubject,
    connectionLimitPolicy: config.connectionLimitPolicy,
    metrics: new WsAuthMetrics(() => registry.size),
    messageLimit: config.messageLimit,
    renewalLimit: config.renewalLimit,
    maxBufferedAmount: config.maxBufferedAmount,
    revocations: new RevocationTracker(new MemoryRevocationStore(), fixedClock, 60_000),
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    connectionCounter: undefined,
    supersede: () => {}
  }
}
