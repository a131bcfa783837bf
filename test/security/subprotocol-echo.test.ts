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
