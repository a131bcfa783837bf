import t from 'tap'
import { bearer, connect, sign, startServer } from '../helpers.ts'
import { answerOf, rawUpgrade, stillServing } from './harness.ts'

// Issue 14 item 5: a bearer entry in another letter case was not read as a credential, so
// the handshake went on as "no credential" and ws selected (echoed) the entry, token and
// all, in the 101: on an authFrame route without Origin, or in a refusal by close.
t.test('a credential in another spelling is refused, never selected', async (t) => {
  const server = await startServer(t, { route: { authFrame: true } })
  const closing = await startServer(t, { plugin: { refusal: 'close' } })
  const token = sign()

  for (const [name, protocols] of [
    ['upper-case prefix alone', [`WSAUTH.BEARER.${token}`]],
    ['mixed-case prefix with the version', ['wsauth.v1', `Wsauth.Bearer.${token}`]],
    ['a bare JWT entry', ['wsauth.v1', token]]
  ] as Array<[string, string[]]>) {
    t.test(`${name}, auth-frame route without Origin`, async (t) => {
      t.match(await answerOf(connect(server.url, protocols)), { status: 400, body: { code: 'subprotocol_invalid' } })
    })
    t.test(`${name}, refusal mode close, with an Origin`, async (t) => {
      // 400 is told by status in every mode, so nothing is upgraded and nothing echoed.
      t.match(await answerOf(connect(closing.url, protocols, { origin: closing.origin })), { status: 400, body: { code: 'subprotocol_invalid' } })
    })
  }

  t.test('on the wire: no 101, no Sec-WebSocket-Protocol carrying the token', async (t) => {
    const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: WSAUTH.BEARER.${token}`])
    t.equal(response.status, 400)
    t.notOk(JSON.stringify(response.headers).includes(token.split('.')[2] as string), 'the signature is in no response header')
    response.socket.destroy()
  })

  t.test('the correct spelling still works', async (t) => {
    await stillServing(t, server)
  })
})

t.test('selection never picks an entry that could carry a credential, on any websocket route', async (t) => {
  // A route without wsAuth: only the selection rule stands between the offer and the 101.
  const server = await startServer(t, {
    setup: (app) => { app.get('/open', { websocket: true }, (socket) => { socket.close() }) }
  })
  const token = sign()
  // Raw, because a ws client fails the connection when the server selects none of its offer.
  const selected = async (protocols: string[]): Promise<string> => {
    const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: ${protocols.join(', ')}`], '/open')
    response.socket.destroy()
    t.equal(response.status, 101)
    return response.headers['sec-websocket-protocol'] ?? ''
  }
  t.equal(await selected([`WSAUTH.BEARER.${token}`]), '', 'an upper-case bearer entry: none selected')
  t.equal(await selected([`Wsauth.Bearer.${token}`, 'chat']), 'chat', 'a mixed-case bearer entry is skipped')
  t.equal(await selected([token, 'chat']), 'chat', 'a bare JWT is skipped')
  t.equal(await selected([`base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`, 'chat']), 'chat', 'another bearer scheme is skipped')
  t.equal(await selected(['chat', 'superchat']), 'chat', 'an ordinary entry is selected as before')
  t.equal(await selected(bearer(token).reverse()), 'wsauth.v1', 'wsauth.v1 when offered')
})

// SPEC §3.1: a refusal by close selects wsauth.v1 exactly when it was offered, as an accepted
// handshake does; the client reads the auth_error before judging the selection.
t.test('the 101 of a refusal by close selects wsauth.v1 exactly when offered', async (t) => {
  const server = await startServer(t, { plugin: { refusal: 'close', cookie: { name: 'access' }, allowedOrigins: ['http://app.test'] } })
  const expired = sign({ exp: Date.now() / 1000 - 10 })
  const offered = connect(server.url, bearer(expired), { origin: 'http://app.test' })
  await offered.opened
  t.equal(offered.socket.protocol, 'wsauth.v1', 'offered: selected')
  t.match(await offered.frame('auth_error'), { code: 'token_expired', closing: true })
  const cookie = connect(server.url, undefined, { origin: 'http://app.test', headers: { cookie: `access=${expired}` } })
  await cookie.opened
  t.equal(cookie.socket.protocol, '', 'a cookie client that offered nothing: nothing selected')
  t.match(await cookie.frame('auth_error'), { code: 'token_expired', closing: true })
})

// SPEC §2.1: the same bearer entry twice is "two bearer entries", not "a repeated entry".
t.test('the same bearer entry twice is credential_ambiguous', async (t) => {
  const server = await startServer(t)
  const token = sign()
  // Raw: a ws client refuses to send a repeated entry.
  const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: wsauth.v1, wsauth.bearer.${token}, wsauth.bearer.${token}`])
  response.socket.destroy()
  t.equal(response.status, 400)
  t.match(JSON.parse(response.body), { code: 'credential_ambiguous' })
})
