import t from 'tap'
import { startServer } from '../helpers.ts'
import { rawUpgrade, stillServing } from './harness.ts'

// Found by `npm run fuzz` (families handshake-hook and handshake): a Sec-WebSocket-Protocol
// header without a bearer entry that ws cannot parse passed the plugin's hook (no credential
// in it, so nothing to refuse yet) and reached ws, which answered a bare
// `400 Invalid Sec-WebSocket-Protocol header`: a refusal naming no documented error code.
const HEADERS = [
  'wsauth.v1, wsauth.v1',
  'chat, chat',
  'wsauth.v1,,chat',
  'chat,',
  'a b',
  'chat/1'
]

t.test('a malformed subprotocol header without a credential is refused subprotocol_invalid', async (t) => {
  for (const authFrame of [false, true]) {
    const server = await startServer(t, { route: { authFrame } })
    for (const header of HEADERS) {
      const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: ${header}`])
      response.socket.destroy()
      t.equal(response.status, 400, `${authFrame ? 'auth-frame route' : 'route'}: "${header}" refused with 400`)
      t.match(JSON.parse(response.body || '{}'), { statusCode: 400, code: 'subprotocol_invalid' }, `"${header}": the body names subprotocol_invalid`)
    }
    await stillServing(t, server)
  }
})

t.test('a well-formed header without a credential still reaches the auth-frame wait', async (t) => {
  const server = await startServer(t, { route: { authFrame: true } })
  const response = await rawUpgrade(server.url, ['Sec-WebSocket-Protocol: chat, wsauth.v1'])
  response.socket.destroy()
  t.equal(response.status, 101, 'upgraded, to wait for an auth frame')
  t.equal(response.headers['sec-websocket-protocol'], 'wsauth.v1', 'selects the protocol version')
})
