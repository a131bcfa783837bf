import Fastify from 'fastify'
import t from 'tap'
import fastifyWsAuth, { InvalidOptionError, type WsAuthOptions } from '../../plugin/index.ts'
import { SECRET, bearer, connect, registerError, sign, startServer } from '../helpers.ts'

const ISSUER = 'https://issuer.example'
const jwksVerify = { algorithms: ['ES256'], issuer: ISSUER, audience: 'urn:feed', jwks: {} }

t.test('issuer verification is misconfigured loudly at register', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['key and jwks', { ...jwksVerify, key: SECRET }, /"verify.key" and verify.jwks are exclusive/],
    ['neither key nor jwks', { algorithms: ['ES256'] }, /"verify.key" must be a non-empty string or Buffer .* unless verify.jwks/],
    ['HMAC with jwks', { ...jwksVerify, algorithms: ['HS256'] }, /must be public-key algorithms with verify.jwks/],
    ['HMAC mixed in', { ...jwksVerify, algorithms: ['ES256', 'HS256'] }, /must be public-key algorithms with verify.jwks/],
    ['no issuer', { ...jwksVerify, issuer: undefined }, /"verify.issuer" is required with verify.jwks/],
    ['two issuers', { ...jwksVerify, issuer: [ISSUER, 'https://other.example'] }, /"verify.issuer" is required with verify.jwks: the one issuer/],
    ['no audience', { ...jwksVerify, audience: undefined }, /"verify.audience" is required with verify.jwks/],
    ['jwks not an object', { ...jwksVerify, jwks: 'https://issuer.example/jwks' }, /"verify.jwks" must be an object/],
    ['plain http JWKS', { ...jwksVerify, jwks: { url: 'http://issuer.example/jwks' } }, /"verify.jwks.url" must be an https: URL \(http: only on a loopback address\)/],
    ['not a URL', { ...jwksVerify, jwks: { url: 'jwks.json' } }, /"verify.jwks.url" must be an https: URL/],
    ['credentials in the URL', { ...jwksVerify, jwks: { url: 'https://user:pw@issuer.example/jwks' } }, /"verify.jwks.url" must be an https: URL/],
    ['discovery from a plain http issuer', { ...jwksVerify, issuer: 'http://issuer.example' }, /"verify.issuer" must be an https: URL/],
    ['discovery from an issuer that is no URL', { ...jwksVerify, issuer: 'issuer' }, /"verify.issuer" must be an https: URL/],
    ['zero cache TTL', { ...jwksVerify, jwks: { cacheTtl: 0 } }, /"verify.jwks.cacheTtl" must be positive/],
    ['fractional refetch interval', { ...jwksVerify, jwks: { refetchInterval: 1.5 } }, /"verify.jwks.refetchInterval" must be an integer from 0 to 86400000/],
    ['too many keys', { ...jwksVerify, jwks: { maxKeys: 5000 } }, /"verify.jwks.maxKeys" must be an integer from 0 to 1000/],
    ['unknown profile', { ...jwksVerify, profile: 'oauth' }, /"verify.profile" must be "rfc9068"/],
    ['profile with allowedTypes', { ...jwksVerify, profile: 'rfc9068', allowedTypes: ['JWT'] }, /"verify.allowedTypes" cannot be set with profile "rfc9068"/],
    ['profile without audience', { algorithms: ['HS256'], key: SECRET, issuer: ISSUER, profile: 'rfc9068' }, /"verify.audience" is required by profile "rfc9068"/],
    ['profile without issuer', { algorithms: ['HS256'], key: SECRET, audience: 'a', profile: 'rfc9068' }, /"verify.issuer" is required by profile "rfc9068"/],
    ['empty scopes', { ...jwksVerify, requiredScopes: [] }, /"verify.requiredScopes" must be a non-empty array of scope tokens/],
    ['scope with a space', { ...jwksVerify, requiredScopes: ['feed:read market:premium'] }, /"verify.requiredScopes" must be a non-empty array/],
    ['scopes as a string', { ...jwksVerify, requiredScopes: 'feed:read' }, /"verify.requiredScopes" must be a non-empty array/]
  ]
  for (const [name, verify, message] of cases) {
    const err = await registerError({ verify })
    t.ok(err instanceof InvalidOptionError, `${name}: an InvalidOptionError`)
    t.equal(err.code, 'FST_WS_AUTH_INVALID_OPTION', name)
    t.match(err.message, message, name)
  }
})

t.test('valid issuer configurations register', async (t) => {
  for (const verify of [
    jwksVerify,
    { ...jwksVerify, jwks: { url: 'https://keys.example/.well-known/jwks.json?tenant=1', cacheTtl: 1000, refetchInterval: 1000, maxKeys: 1 } },
    { ...jwksVerify, issuer: 'http://127.0.0.1:8080', profile: 'rfc9068', requiredScopes: ['feed:read'] },
    { ...jwksVerify, issuer: 'http://localhost:8080/realms/a', algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] }
  ]) {
    const app = Fastify()
    await app.register(fastifyWsAuth, { verify } as WsAuthOptions)
    await app.ready()
    await app.close()
    t.pass(JSON.stringify(verify))
  }
})

t.test('the RFC 9068 profile and required scopes also apply to a static key', async (t) => {
  const s = await startServer(t, {
    plugin: { refusal: 'status', verify: { algorithms: ['HS256'], key: SECRET, issuer: ISSUER, audience: 'urn:feed', profile: 'rfc9068', requiredScopes: ['feed:read'] } }
  })
  const claims = { iss: ISSUER, aud: 'urn:feed', scope: 'feed:read' }
  t.match(await connect(s.url, bearer(sign(claims))).refused, { status: 401, body: { code: 'token_type_invalid' } }, 'typ JWT')
  t.match(await connect(s.url, bearer(sign(claims, { header: { typ: undefined } }))).refused, { status: 401, body: { code: 'token_type_invalid' } }, 'no typ')
  t.match(await connect(s.url, bearer(sign({ ...claims, scope: 'feed:write' }, { header: { typ: 'at+jwt' } }))).refused, { status: 403, body: { code: 'forbidden' } }, 'scope missing')
  const client = connect(s.url, bearer(sign(claims, { header: { typ: 'application/at+jwt' } })))
  await client.frame('authenticated')
  client.close()
})

t.test('with several accepted issuers, a renewal must come from the issuer of the first token', async (t) => {
  const s = await startServer(t, { plugin: { verify: { algorithms: ['HS256'], key: SECRET, issuer: ['https://a.example', 'https://b.example'] } } })
  const client = connect(s.url, bearer(sign({ iss: 'https://a.example', exp: Date.now() / 1000 + 60 })))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: sign({ iss: 'https://b.example', exp: Date.now() / 1000 + 120 }), id: 'b' })
  t.match(await client.frame('auth_error'), { id: 'b', code: 'subject_mismatch', closing: false }, 'same sub, other issuer: another identity')
  client.send({ type: 'renew', token: sign({ iss: 'https://a.example', exp: Date.now() / 1000 + 120 }), id: 'a' })
  t.match(await client.frame('renewed'), { id: 'a' })
  client.close()
})
