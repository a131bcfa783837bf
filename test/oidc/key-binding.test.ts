import { generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import type { SigningAlgorithm, WsAuthOptions } from '../../plugin/index.ts'
import { bearer, connect, sign, until } from '../helpers.ts'
import { JwksServer, publicJwk, signWithJwk } from './jwks-server.ts'
import { signingKey, type KeyAlgorithm } from './provider.ts'
import { clockedServer } from './resource-server.ts'

// Keys from a JWKS the test writes itself: how each key is bound to one algorithm, which
// keys are unusable, and how the cache lives.

const S = 1000
const ISSUER = 'https://issuer.example'
const AUDIENCE = 'urn:wsauth:feed'

async function keySet (t: Test): Promise<JwksServer> {
  const server = await new JwksServer().start()
  t.after(() => server.close())
  return server
}

async function resourceServer (t: Test, keys: JwksServer, verify: Partial<WsAuthOptions['verify']> = {}) {
  return await clockedServer(t, {
    plugin: {
      handshakeLimit: false,
      verify: { algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], issuer: ISSUER, audience: AUDIENCE, jwks: { url: keys.url, cacheTtl: 60 * S, refetchInterval: 1 }, ...verify }
    }
  })
}

const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice' }
const accepted = async (url: string, token: string): Promise<boolean> => {
  const client = connect(url, bearer(token))
  const outcome = await Promise.race([client.frame('authenticated').then(() => true), client.refused.then(() => false)])
  client.close()
  return outcome
}
const refusal = async (url: string, token: string): Promise<unknown> => (await connect(url, bearer(token)).refused).body

t.test('each of RS256, PS256, ES256 and EdDSA verifies with its published key', async (t) => {
  const keys = await keySet(t)
  const s = await resourceServer(t, keys)
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as KeyAlgorithm[]) {
    const key = signingKey(alg)
    keys.keys.push(publicJwk(key))
    // Each new kid waits out the refetch interval (1 ms here): unknown kids are rate limited.
    s.tick(1)
    t.ok(await accepted(s.url, signWithJwk(key, { alg, kid: key.kid }, claims)), alg)
  }
})

t.test('a key without alg is bound to the one accepted algorithm its type fits, and unusable if several fit', async (t) => {
  const keys = await keySet(t)
  const rsa = signingKey('RS256')
  const { alg: _alg, ...withoutAlg } = publicJwk(rsa)
  keys.keys.push(withoutAlg)
  const rs256 = signWithJwk(rsa, { alg: 'RS256', kid: rsa.kid }, claims)
  const ps256 = signWithJwk(rsa, { alg: 'PS256', kid: rsa.kid }, claims)
  const ambiguous = await resourceServer(t, keys, { algorithms: ['RS256', 'PS256'] })
  t.match(await refusal(ambiguous.url, rs256), { code: 'token_signature_invalid' }, 'RS256 or PS256: neither')
  const onlyRs = await resourceServer(t, keys, { algorithms: ['RS256', 'ES256'] })
  t.ok(await accepted(onlyRs.url, rs256), 'RSA key, RS256 the only RSA algorithm: RS256')
  const onlyPs = await resourceServer(t, keys, { algorithms: ['PS256', 'RS256'].slice(0, 1) as SigningAlgorithm[] })
  t.ok(await accepted(onlyPs.url, ps256), 'and PS256 where PS256 is the only one')
  t.match(await refusal(onlyPs.url, rs256), { code: 'token_algorithm_not_allowed' })
})

t.test('keys that must not verify signatures are unusable', async (t) => {
  const keys = await keySet(t)
  const s = await resourceServer(t, keys)
  const encryption = signingKey('ES256')
  const verifyOps = signingKey('ES256')
  const signOnly = signingKey('ES256')
  const mislabelled = signingKey('ES256')
  const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' })
  keys.keys.push(
    { ...publicJwk(encryption), use: 'enc' },
    { ...publicJwk(verifyOps), key_ops: ['verify'], use: undefined },
    { ...publicJwk(signOnly), key_ops: ['encrypt'], use: undefined },
    { ...publicJwk(mislabelled), alg: 'RS256' },
    { ...publicJwk(short), kid: 'short', alg: 'RS256', use: 'sig' }
  )
  const check = async (key: { kid: string } & Record<string, unknown>, alg = 'ES256'): Promise<unknown> => {
    s.tick(1)
    return await refusal(s.url, signWithJwk(key, { alg, kid: key.kid }, claims))
  }
  t.match(await refusal(s.url, signWithJwk(encryption, { alg: 'ES256', kid: encryption.kid }, claims)), { code: 'token_signature_invalid' }, 'use: enc')
  s.tick(1)
  t.ok(await accepted(s.url, signWithJwk(verifyOps, { alg: 'ES256', kid: verifyOps.kid }, claims)), 'key_ops with verify')
  t.match(await check(signOnly), { code: 'token_signature_invalid' }, 'key_ops without verify')
  t.match(await check(mislabelled), { code: 'token_signature_invalid' }, 'an EC key labelled RS256')
  t.match(await check({ ...short, kid: 'short' }, 'RS256'), { code: 'token_signature_invalid' }, 'RSA under 2048 bits')
  t.equal(keys.fetches, 5, 'each kid was looked up: refused for the key, not for the rate limit')
})

t.test('a token without kid is refused, a static HS256 token too', async (t) => {
  const keys = await keySet(t)
  const s = await resourceServer(t, keys)
  const key = signingKey('ES256')
  keys.keys.push(publicJwk(key))
  t.match(await refusal(s.url, signWithJwk(key, { alg: 'ES256' }, claims)), { code: 'token_malformed' })
  t.match(await refusal(s.url, sign(claims)), { code: 'token_algorithm_not_allowed' })
  t.equal(keys.fetches, 0)
})

t.test('a key past its cache TTL keeps working while it is fetched again; a retired key stops', async (t) => {
  const keys = await keySet(t)
  const s = await resourceServer(t, keys)
  const key = signingKey('ES256')
  keys.keys.push(publicJwk(key))
  const token = (): string => signWithJwk(key, { alg: 'ES256', kid: key.kid }, { ...claims, exp: Math.floor(s.now() / 1000) + 600 })
  t.ok(await accepted(s.url, token()))
  t.equal(keys.fetches, 1)
  s.tick(30 * S)
  t.ok(await accepted(s.url, token()))
  t.equal(keys.fetches, 1, 'fresh: no fetch')

  keys.keys = []
  s.tick(31 * S)
  const refetched = keys.nextRequest()
  t.ok(await accepted(s.url, token()), 'stale: still accepted while the set is asked again')
  await refetched
  t.equal(keys.fetches, 2)
  // The refetch found the key gone: retired, tokens it signed are refused from then on.
  await until(async () => !(await accepted(s.url, token())))
  t.match(await refusal(s.url, token()), { code: 'token_signature_invalid' })
})

t.test('required scopes: every one must be granted, else forbidden', async (t) => {
  const keys = await keySet(t)
  const key = signingKey('ES256')
  keys.keys.push(publicJwk(key))
  const s = await resourceServer(t, keys, { requiredScopes: ['feed:read', 'market:premium'] })
  const withScope = (scope: unknown): string => signWithJwk(key, { alg: 'ES256', kid: key.kid }, { ...claims, scope })
  t.ok(await accepted(s.url, withScope('openid feed:read market:premium')))
  t.match(await connect(s.url, bearer(withScope('feed:read'))).refused, { status: 403, body: { code: 'forbidden' } })
  t.match(await refusal(s.url, withScope(undefined)), { code: 'forbidden' })
  t.match(await refusal(s.url, withScope(['feed:read', 'market:premium'])), { code: 'token_claims_invalid' }, 'scope is a string (RFC 9068)')
})
