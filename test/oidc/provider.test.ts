import t, { type Test } from 'tap'
import type { WsAuthOptions, WsAuthRouteOptions } from '../../plugin/index.ts'
import { bearer, connect } from '../helpers.ts'
import { headerOf, payloadOf, withHeader } from './jwks-server.ts'
import { OTHER_CLIENT_ID, SCOPES, type TestIssuer, startIssuer, trustingVerify } from './provider.ts'
import { clockedServer } from './resource-server.ts'

// Tokens of a real OpenID Connect provider (oidc-provider, client credentials grant, JWT
// access tokens for a resource indicator), verified through its published JWKS.

const S = 1000
const REFETCH = 30 * S

/** A plugin server trusting `idp`, on a manual clock so the refetch interval is crossed on demand. */
async function resourceServer (t: Test, idp: TestIssuer, verify: Partial<WsAuthOptions['verify']> = {}, route?: WsAuthRouteOptions) {
  return await clockedServer(t, {
    route,
    plugin: { verify: { ...trustingVerify(idp, { refetchInterval: REFETCH }), ...verify } },
    handler: (socket, request) => {
      socket.send(JSON.stringify({ type: 'app.hello', subject: request.wsAuth.subject, scope: request.wsAuth.claims.scope, iss: request.wsAuth.claims.iss }))
      request.wsAuth.on('renewed', (claims) => { socket.send(JSON.stringify({ type: 'app.renewed', jti: claims.jti })) })
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    }
  })
}

t.test('a provider token through the subprotocol authenticates; renewal takes a newer token', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const first = await idp.accessToken()
  const client = connect(s.url, bearer(first))
  const authenticated = await client.frame('authenticated')
  t.equal(authenticated.subject, 'feed-service', 'client credentials: sub is the client id')
  t.match(await client.frame('app.hello'), { subject: 'feed-service', scope: SCOPES, iss: idp.issuer })
  t.equal(idp.jwksFetches, 1, 'the key set was fetched once')

  const second = await idp.accessToken()
  client.send({ type: 'renew', token: second, id: 'r1' })
  t.match(await client.frame('renewed'), { id: 'r1' })
  t.not((await client.frame('app.renewed')).jti, undefined)
  t.equal(idp.jwksFetches, 1, 'the renewal used the cached key')
  client.close()
})

t.test('OpenID Connect discovery finds the JWKS from the issuer URL', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp, { jwks: {} })
  const client = connect(s.url, bearer(await idp.accessToken()))
  t.equal((await client.frame('authenticated')).subject, 'feed-service')
  t.equal(idp.jwksFetches, 1, 'jwks_uri from the discovery document was fetched')
  client.close()
})

t.test('key rotation: old-key tokens keep working, a new key costs one fetch, also in a renewal', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const oldKid = idp.currentKid
  const oldToken = await idp.accessToken()
  const live = connect(s.url, bearer(oldToken))
  await live.frame('authenticated')
  t.equal(idp.jwksFetches, 1)

  idp.rotate()
  t.not(idp.currentKid, oldKid, 'the provider signs with a new key')
  const oldAgain = connect(s.url, bearer(oldToken))
  await oldAgain.frame('authenticated')
  t.equal(idp.jwksFetches, 1, 'a token signed by the old key needs no fetch')

  s.tick(REFETCH)
  const newToken = await idp.accessToken()
  t.equal(headerOf(newToken).kid, idp.currentKid)
  live.send({ type: 'renew', token: newToken, id: 'rotated' })
  t.match(await live.frame('renewed'), { id: 'rotated' }, 'the live connection renews onto the new key')
  t.equal(idp.jwksFetches, 2, 'exactly one refetch for the new key')

  const fresh = connect(s.url, bearer(await idp.accessToken()))
  await fresh.frame('authenticated')
  const oldOnceMore = connect(s.url, bearer(oldToken))
  await oldOnceMore.frame('authenticated')
  t.equal(idp.jwksFetches, 2, 'both keys now come from the cache')
  for (const client of [live, oldAgain, fresh, oldOnceMore]) client.close()

  // Valid until it expires, and not a moment longer.
  s.setTime((payloadOf(oldToken).exp as number) * 1000)
  t.match(await connect(s.url, bearer(oldToken)).refused, { status: 401, body: { code: 'token_expired' } })
})

t.test('random kids: at most one fetch per refetch interval, however many tokens', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const genuine = await idp.accessToken()
  const good = connect(s.url, bearer(genuine))
  await good.frame('authenticated')
  t.equal(idp.jwksFetches, 1)
  const forged = (i: number): string => withHeader(genuine, { ...headerOf(genuine), kid: `forged-${i}-${Math.random()}` })

  // Within the interval of the first fetch: refused without asking the provider.
  for (let i = 0; i < 20; i++) {
    const refused = await connect(s.url, bearer(forged(i))).refused
    t.match(refused, { status: 401, body: { code: 'token_signature_invalid' } })
  }
  t.equal(idp.jwksFetches, 1, 'no fetch for 20 unknown kids inside the interval')

  // Each new interval allows one fetch, and only one, whatever the number of tokens.
  for (let interval = 1; interval <= 3; interval++) {
    s.tick(REFETCH)
    const refused = await Promise.all(Array.from({ length: 10 }, async (_, i) => await connect(s.url, bearer(forged(100 * interval + i))).refused))
    t.ok(refused.every((r) => r.status === 401 && (r.body as { code: string }).code === 'token_signature_invalid'), `interval ${interval}: all refused`)
    t.equal(idp.jwksFetches, 1 + interval, `interval ${interval}: one fetch for 10 unknown kids`)
  }

  const stillGood = connect(s.url, bearer(genuine))
  await stillGood.frame('authenticated')
  t.equal(idp.jwksFetches, 4, 'the genuine key stayed cached through the flood')
  good.close()
  stillGood.close()
})

t.test('a renewal must keep the subject, even with a valid token of the same issuer', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp)
  const client = connect(s.url, bearer(await idp.accessToken()))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: await idp.accessToken({ client: OTHER_CLIENT_ID }), id: 'other' })
  t.match(await client.frame('auth_error'), { id: 'other', code: 'subject_mismatch', closing: false })
  client.close()
})

t.test('an auth frame whose key must first be fetched: messages behind it wait, then arrive in order', async (t) => {
  const idp = await startIssuer(t)
  const s = await resourceServer(t, idp, {}, { authFrame: true })
  const client = connect(s.url)
  await client.opened
  client.send({ type: 'auth', token: await idp.accessToken() })
  client.send('first')
  client.send('second')
  t.equal((await client.frame('authenticated')).subject, 'feed-service')
  await client.waitFor((m) => m === 'echo:second')
  t.same(client.messages.filter((m) => typeof m === 'string'), ['echo:first', 'echo:second'])
  t.equal(idp.jwksFetches, 1, 'the frame\'s key was fetched')
  client.close()
})
