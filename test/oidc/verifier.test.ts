import { createHmac } from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import t from 'tap'
import { JwksKeySource } from '../../plugin/jwks.ts'
import { TokenVerifier, VerifiedCredential } from '../../plugin/verifier.ts'
import { manualClock, secret } from '../helpers.ts'
import { JwksServer, publicJwk, signWithJwk } from './jwks-server.ts'
import { signingKey } from './provider.ts'

// The design constraint behind the call sites: verification is synchronous with a static
// key and with a cached JWKS key; only a key that must be fetched makes it a promise.

const rules = { issuers: ['https://issuer.example'], audiences: ['urn:feed'], clockToleranceMs: 0 }
const claims = { iss: 'https://issuer.example', aud: 'urn:feed', sub: 'alice' }

t.test('a static HMAC key verifies synchronously', async (t) => {
  const key = secret('static-hmac-key-that-is-long-enough-for-hs256')
  const time = manualClock()
  const verifier = new TokenVerifier(createVerifier({ key, algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: true }) as (token: string) => unknown,
    rules, { maxTokenLength: 8192, algorithms: ['HS256'], types: new Set(['jwt']) }, time.clock)
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ ...claims, exp: Math.floor(time.now() / 1000) + 60 })}`
  const result = verifier.verify(secret(`${input}.${createHmac('sha256', key).update(input).digest('base64url')}`))
  t.ok(result instanceof VerifiedCredential, 'a credential, not a promise')
})

t.test('a JWKS key: a promise while it is fetched, synchronous once cached', async (t) => {
  const keys = await new JwksServer().start()
  t.after(() => keys.close())
  const key = signingKey('ES256')
  keys.keys.push(publicJwk(key))
  const time = manualClock()
  const source = new JwksKeySource({ issuer: 'https://issuer.example', url: keys.url, algorithms: ['ES256'], cacheTtlMs: 60_000, refetchIntervalMs: 1000, maxKeys: 4, timeoutMs: 5000 }, time.clock)
  const verifier = new TokenVerifier(source, rules, { maxTokenLength: 8192, algorithms: ['ES256'], types: new Set(['jwt']) }, time.clock)
  const token = signWithJwk(key, { alg: 'ES256', kid: key.kid }, { ...claims, exp: Math.floor(time.now() / 1000) + 60 })
  const first = verifier.verify(token)
  t.ok(first instanceof Promise, 'uncached: a promise')
  t.ok(await first instanceof VerifiedCredential)
  const second = verifier.verify(token)
  t.ok(second instanceof VerifiedCredential, 'cached: synchronous')
  t.equal(keys.fetches, 1)
})
