import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import type { WsAuthOptions } from '../../plugin/index.ts'
import { bearer, connect, secret } from '../helpers.ts'
import { JwksServer, headerOf, payloadOf, publicJwk, signWithJwk } from './jwks-server.ts'
import { OTHER_RESOURCE, RESOURCE, signingKey, startIssuer, trustingVerify } from './provider.ts'
import { clockedServer } from './resource-server.ts'

// What a resource server trusting one provider must refuse, each with its own error code.

const S = 1000

async function resourceServer (t: Test, idp: { issuer: string, jwksUrl: string }, verify: Partial<WsAuthOptions['verify']> = {}, plugin: Partial<WsAuthOptions> = {}) {
  return await clockedServer(t, {
    plugin: { verify: { ...trustingVerify(idp, { cacheTtl: 60 * S, refetchInterval: 30 * S }), ...verify }, ...plugin }
  })
}

const refusedWith = async (url: string, token: string | undefined): Promise<unknown> => (await connect(url, bearer(token as string)).refused)

t.test('a token of another issuer: token_issuer_invalid, and no key fetched for it', async (t) => {
  const trusted = await startIssuer(t)
  const other = await startIssuer(t)
  const s = await resourceServer(t, trusted)
  t.match(await refusedWith(s.url, await other.accessToken()), { status: 401, body: { code: 'token_issuer_invalid' } })
  t.equal(trusted.jwksFetches + other.jwksFetches, 0, 'refused on its claims before any fetch')

  // Same refusal when the foreign token reuses a kid the server holds: the signature fails first.
  const good = connect(s.url, bearer(await trusted.accessToken()))
  await good.frame('authenticated')
  const foreign = await other.accessToken()
  const forgedKid = signWithJwk(signingKey('ES256'), { ...headerOf(foreign), kid: trusted.currentKid }, payloadOf(foreign))
  t.match(await refusedWith(s.url, forgedKid), { status: 401, body: { code: 'token_signature_invalid' } })
  good.close()
})

t.test('a token for another audience of the same provider: token_audience_invalid, cached key or not', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const elsewhere = await idp.accessToken({ resource: OTHER_RESOURCE })
  t.equal(payloadOf(elsewhere).aud, OTHER_RESOURCE)
  t.match(await refusedWith(s.url, elsewhere), { status: 401, body: { code: 'token_audience_invalid' } })
  t.equal(idp.jwksFetches, 0, 'no fetch for a token its claims refuse')
  const good = connect(s.url, bearer(await idp.accessToken()))
  await good.frame('authenticated')
  t.match(await refusedWith(s.url, elsewhere), { status: 401, body: { code: 'token_audience_invalid' } }, 'signature valid, audience not')
  good.close()
})

t.test('an ID token of the provider is not an access token', async (t) => {
  const idp = await startIssuer(t)
  // A real ID token, issued by the provider through CIBA (no browser): typ absent, aud = the client.
  const idToken = await idp.idToken('alice')
  t.equal(headerOf(idToken).typ, undefined)
  t.equal(headerOf(idToken).kid, idp.currentKid, 'signed with the same key as access tokens')
  const strict = await resourceServer(t, idp)
  t.match(await refusedWith(strict.url, idToken), { status: 401, body: { code: 'token_type_invalid' } }, 'RFC 9068 profile: typ must be at+jwt')
  const lax = await resourceServer(t, idp, { profile: undefined })
  const accessToken = connect(lax.url, bearer(await idp.accessToken()))
  await accessToken.frame('authenticated')
  t.match(await refusedWith(lax.url, idToken), { status: 401, body: { code: 'token_audience_invalid' } }, 'without the profile its audience (the client) refuses it')
  accessToken.close()
})

t.test('a token whose alg is not the algorithm its key is bound to', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp, { algorithms: ['ES256', 'RS256', 'EdDSA'] })
  const genuine = await idp.accessToken()
  // Signed with an RSA key of the attacker, naming the provider's EC key.
  const rsa = signWithJwk(signingKey('RS256'), { alg: 'RS256', typ: 'at+jwt', kid: idp.currentKid }, payloadOf(genuine))
  t.match(await refusedWith(s.url, rsa), { status: 401, body: { code: 'token_algorithm_not_allowed' } }, 'key not cached yet')
  const good = connect(s.url, bearer(genuine))
  await good.frame('authenticated')
  const ed = signWithJwk(signingKey('EdDSA'), { alg: 'EdDSA', typ: 'at+jwt', kid: idp.currentKid }, payloadOf(genuine))
  t.match(await refusedWith(s.url, ed), { status: 401, body: { code: 'token_algorithm_not_allowed' } }, 'key cached')
  good.close()
})

t.test('an HS256 token keyed with the provider\'s public key is refused before any cryptography', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const genuine = await idp.accessToken()
  const jwk = (await idp.jwks()).keys[0] as JsonWebKey
  const fetchesBefore = idp.jwksFetches
  const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  for (const hmacKey of [pem, JSON.stringify(jwk), Buffer.from(String(jwk.x), 'base64url')]) {
    const input = `${encode({ alg: 'HS256', typ: 'at+jwt', kid: idp.currentKid })}.${encode(payloadOf(genuine))}`
    const forged = secret(`${input}.${createHmac('sha256', hmacKey).update(input).digest('base64url')}`)
    t.match(await refusedWith(s.url, forged), { status: 401, body: { code: 'token_algorithm_not_allowed' } })
  }
  t.equal(idp.jwksFetches, fetchesBefore, 'no fetch for them')
})

t.test('JWKS down at the handshake: refused with jwks_unavailable, by close under refusal auto', async (t) => {
  const idp = await startIssuer(t)
  idp.jwksDown = true
  const s = await resourceServer(t, idp, {}, { refusal: 'auto' })
  const token = await idp.accessToken()
  const protocolClient = connect(s.url, bearer(token))
  t.match(await protocolClient.frame('auth_error'), { code: 'jwks_unavailable', closing: true, retry: true })
  t.same(await protocolClient.closed, { code: 4503, reason: 'jwks_unavailable' }, 'a protocol client without Origin')
  const browser = connect(s.url, bearer(token), { origin: 'https://app.example' })
  t.match(await browser.frame('auth_error'), { code: 'jwks_unavailable', closing: true, retry: true })
  t.same(await browser.closed, { code: 4503, reason: 'jwks_unavailable' })
  t.equal(idp.jwksFetches, 1, 'the second handshake, inside the refetch interval, did not ask again')

  idp.jwksDown = false
  t.same(await connect(s.url, bearer(token)).closed, { code: 4503, reason: 'jwks_unavailable' }, 'still inside the interval')
  s.tick(30 * S)
  const client = connect(s.url, bearer(token))
  await client.frame('authenticated')
  t.equal(idp.jwksFetches, 2, 'after the interval, one fetch, and the key works')
  client.close()
})

t.test('JWKS down while connections are live: they keep their deadlines, renewals needing the set fail closed', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const token = await idp.accessToken()
  const deadline = (payloadOf(token).exp as number) * 1000
  const client = connect(s.url, bearer(token))
  t.equal((await client.frame('authenticated')).expiresAt, deadline)

  idp.jwksDown = true
  idp.rotate()
  const newKeyToken = await idp.accessToken()
  s.tick(30 * S)
  client.send({ type: 'renew', token: newKeyToken, id: 'new-key' })
  t.match(await client.frame('auth_error'), { id: 'new-key', code: 'jwks_unavailable', closing: false })

  // Past twice the cache TTL, the old key can no longer be vouched for either.
  s.tick(100 * S)
  client.send({ type: 'renew', token: await idp.accessToken(), id: 'again' })
  const refusals = await client.waitFor((m) => (m as { id?: string }).id === 'again')
  t.match(refusals, { code: 'jwks_unavailable', closing: false })
  client.send('still here?')
  t.equal(await client.waitFor((m) => m === 'still here?'), 'still here?', 'the connection is still served')

  s.tick(deadline - 1 - s.now())
  client.send('alive?')
  t.equal(await client.waitFor((m) => m === 'alive?'), 'alive?', 'still served 1 ms before its deadline')
  s.tick(1)
  t.match(await client.waitFor((m) => (m as { closing?: boolean }).closing === true), { type: 'auth_error', code: 'credential_expired' })
  t.same(await client.closed, { code: 4440, reason: 'credential_expired' }, 'closed at its deadline, not before')
})

t.test('a JWKS that never answers: the handshake fails with handshake_timeout after handshakeTimeout', async (t) => {
  const keys = await new JwksServer().start()
  t.after(() => keys.close())
  keys.hang = true
  const issuerUrl = 'https://issuer.example'
  const s = await resourceServer(t, { issuer: issuerUrl, jwksUrl: keys.url }, {}, { handshakeTimeout: 2 * S })
  const key = signingKey('ES256')
  const token = signWithJwk(key, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { iss: issuerUrl, aud: RESOURCE, sub: 'alice' })
  const arrived = keys.nextRequest()
  const abandoned = keys.nextAbandoned()
  const client = connect(s.url, bearer(token))
  await arrived
  s.tick(2 * S - 1)
  s.tick(1)
  t.match(await client.refused, { status: 503, body: { code: 'handshake_timeout' } })
  await abandoned
  t.pass('the key-set request itself was given up at the same deadline, not left open')
})

t.test('a key set that redirects, is too large or is not a JWKS: jwks_unavailable, nothing followed', async (t) => {
  const keys = await new JwksServer().start()
  t.after(() => keys.close())
  const elsewhere = await new JwksServer().start()
  t.after(() => elsewhere.close())
  const key = signingKey('ES256')
  elsewhere.keys = [publicJwk(key)]
  const issuerUrl = 'https://issuer.example'
  const token = signWithJwk(key, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { iss: issuerUrl, aud: RESOURCE, sub: 'alice' })
  const answers: Array<[string, (res: ServerResponse) => void]> = [
    ['a redirect to a set that has the key', (res) => { res.writeHead(302, { location: elsewhere.url }).end() }],
    ['a document over 256 KiB', (res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [], padding: 'x'.repeat(300 * 1024) })) }],
    ['a document over 256 KiB without content-length', (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
      res.write(`{"keys":[],"padding":"${'x'.repeat(200 * 1024)}`)
      res.end(`${'x'.repeat(100 * 1024)}"}`)
    }],
    ['a JSON document without keys', (res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer":"https://issuer.example"}') }],
    ['not JSON', (res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>') }]
  ]
  for (const [name, answer] of answers) {
    keys.answer = answer
    // A fresh server each time: an unknown kid is fetched at most once per refetch interval.
    const s = await resourceServer(t, { issuer: issuerUrl, jwksUrl: keys.url })
    t.match(await refusedWith(s.url, token), { status: 503, body: { code: 'jwks_unavailable' } }, name)
  }
  t.equal(elsewhere.fetches, 0, 'the redirect was not followed')
})
