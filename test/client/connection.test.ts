// Connecting, the three transports, what reaches `message`, the send queue and close(),
// against the real plugin on 127.0.0.1 with Node's `ws` as the WebSocket.
import t from 'tap'
import { WebSocket } from 'ws'
import { SendError, TokenError, WsAuthClient, type ConnectionState, type WebSocketConstructor } from '../../client/index.ts'
import { SUBPROTOCOL } from '../../protocol/index.ts'
import { nowSeconds, sign, startServer, until } from '../helpers.ts'
import { echoServer, makeClient, next, tokenSource } from './setup.ts'

t.test('connects with the subprotocol transport and reports who and until when', async (t) => {
  let offered: string | undefined
  const s = await echoServer(t, { setup: (app) => { app.addHook('onRequest', async (request) => { offered = request.headers['sec-websocket-protocol'] }) } })
  const tokens = tokenSource(() => ({ sid: 's-1' }))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
  const states: ConnectionState[] = []
  const events: string[] = []
  c.on('state', (state) => { states.push(state) })
  c.on('open', () => { events.push('open') })
  c.on('authenticated', () => { events.push('authenticated') })
  t.equal(c.state, 'idle')
  const before = Date.now()
  c.connect()
  const [frame] = await next(c, 'authenticated')
  t.match(frame, { type: 'authenticated', subject: 'alice', sessionId: 's-1' })
  t.same(c.identity, { connectionId: frame.connectionId, subject: 'alice', sessionId: 's-1' })
  t.match(offered, /^wsauth\.v1, ?wsauth\.bearer\.eyJ[\w.-]+$/, 'wsauth.v1 first, then the bearer entry')
  const expiresAt = c.expiresAt as number
  t.ok(expiresAt >= before + frame.expiresIn && expiresAt <= Date.now() + frame.expiresIn, 'local deadline = receipt time + expiresIn')
  t.ok((c.expiresIn as number) <= frame.expiresIn && (c.expiresIn as number) > frame.expiresIn - 1000)
  t.equal(Math.round(expiresAt - (c.renewsAt as number)), Math.round(frame.expiresIn / 10), 'renews 10 % of a 60 s lifetime early')
  t.same(states, ['connecting', 'authenticating', 'open'])
  t.same(events, ['open', 'authenticated'])
  t.equal(tokens.calls, 1)
})

t.test('protocol frames never reach message listeners; application messages all do', async (t) => {
  const s = await startServer(t, {
    handler: (socket) => {
      socket.send('{"type":"renewed"}')
      socket.send('{"type":"auth","token":"x"}')
      socket.send('{"type":"tick","price":1}')
      socket.send('plain text')
      socket.send(Buffer.from([1, 2, 3]))
      socket.send('{"type":"done"}')
    }
  })
  const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken })
  const messages: unknown[] = []
  c.on('message', (data) => { messages.push(data) })
  let authenticatedBeforeMessages = false
  c.on('authenticated', () => { authenticatedBeforeMessages = messages.length === 0 })
  c.connect()
  await until(() => messages.includes('{"type":"done"}'))
  t.ok(authenticatedBeforeMessages)
  t.equal(messages.length, 4, 'the two messages with a reserved type were dropped')
  t.same(messages.slice(0, 2), ['{"type":"tick","price":1}', 'plain text'])
  t.ok(messages[2] instanceof ArrayBuffer, 'binary data arrives as an ArrayBuffer')
  t.same([...new Uint8Array(messages[2] as ArrayBuffer)], [1, 2, 3])
  t.notOk(messages.some((m) => typeof m === 'string' && m.includes('authenticated')))
})

t.test('auth-frame transport: the token goes in the first frame; queued messages follow it', async (t) => {
  let offered: string | undefined
  const s = await echoServer(t, { route: { authFrame: true }, setup: (app) => { app.addHook('onRequest', async (request) => { offered = request.headers['sec-websocket-protocol'] }) } })
  const c = makeClient(t, { url: s.url, transport: 'auth-frame', getToken: tokenSource(() => ({ sub: 'frank' })).getToken })
  const messages: unknown[] = []
  c.on('message', (data) => { messages.push(data) })
  c.send('sent before connect()')
  t.equal(c.queued, 1)
  c.connect()
  const [frame] = await next(c, 'authenticated')
  t.equal(frame.subject, 'frank')
  t.equal(offered, SUBPROTOCOL, 'no token in the handshake')
  await until(() => messages.includes('echo:sent before connect()'))
  t.equal(c.queued, 0)
})

t.test('cookie transport: no token in page code; refresh() makes the server renew', async (t) => {
  const origin = 'http://app.test'
  let cookie = sign({ sid: 'cookie-session' })
  const s = await echoServer(t, { plugin: { cookie: { name: 'access' }, allowedOrigins: [origin] } })
  // What a browser does by itself: send the page's Origin and the HttpOnly cookie.
  class BrowserLikeWebSocket extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin, cookie: `access=${cookie}` } })
    }
  }
  let refreshes = 0
  const c = makeClient(t, {
    url: s.url,
    transport: 'cookie',
    WebSocket: BrowserLikeWebSocket,
    refresh: async () => {
      refreshes++
      cookie = sign({ sid: 'cookie-session', exp: nowSeconds() + 120 })
      await s.app.wsAuth.renew({ sessionId: 'cookie-session' }, cookie)
    }
  })
  c.connect()
  const [authenticated] = await next(c, 'authenticated')
  t.equal(authenticated.sessionId, 'cookie-session')
  const renewed = next(c, 'renewed')
  await c.renewNow()
  const [frame] = await renewed
  t.ok(frame.expiresIn > 100_000, 'the new cookie\'s deadline')
  t.equal(frame.id, undefined, 'a server-side renewal carries no id')
  t.equal(refreshes, 1)
  t.equal(c.identity?.connectionId, authenticated.connectionId, 'the same connection')

  const plain = makeClient(t, { url: s.url, transport: 'cookie', WebSocket: BrowserLikeWebSocket })
  plain.connect()
  await next(plain, 'authenticated')
  await t.rejects(plain.renewNow(), { name: 'RenewalError', code: 'unsupported' }, 'without refresh, renewal is the application\'s')
})

t.test('send: queued (bounded) while not open, refused when queueLimit is 0 or the client is closed', async (t) => {
  const s = await echoServer(t)
  const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken, queueLimit: 2 })
  c.send('one')
  c.send(new Uint8Array([2]))
  t.throws(() => { c.send('three') }, { name: 'SendError', message: /queue is full \(queueLimit 2\)/ })
  const messages: unknown[] = []
  c.on('message', (data) => { messages.push(data) })
  c.connect()
  await until(() => messages.length === 3)
  t.equal(messages[1], 'echo:one', 'in order, right after authenticated')
  t.same([...new Uint8Array(messages[2] as ArrayBuffer)], [2])

  const refusing = makeClient(t, { url: s.url, getToken: tokenSource().getToken, queueLimit: 0 })
  t.throws(() => { refusing.send('x') }, { name: 'SendError', message: /not connected \(state idle\) and queueLimit is 0/ })
})

t.test('close(): ends for good with 1000, reported once', async (t) => {
  const serverSide: number[] = []
  const s = await startServer(t, { handler: (socket) => { socket.on('close', (code) => { serverSide.push(code) }) } })
  const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken })
  c.connect()
  await next(c, 'authenticated')
  const closes: unknown[] = []
  c.on('close', (info) => { closes.push(info) })
  t.throws(() => { c.close(1006) }, RangeError, 'a code a browser would refuse')
  t.equal(c.state, 'open', 'and nothing changed')
  c.close()
  c.close()
  t.same(closes, [{ code: 1000, reason: 'client_closed', policy: 'stop', willRetry: false, stopReason: 'closed' }])
  t.equal(c.state, 'closed')
  t.equal(c.identity, undefined)
  t.equal(c.expiresAt, undefined)
  t.throws(() => { c.send('x') }, SendError)
  t.throws(() => { c.connect() }, { message: /closed/ })
  await t.rejects(c.renewNow(), { code: 'not_open' })
  await until(() => serverSide.length === 1)
  t.same(serverSide, [1000])
})

t.test('getToken() failing at connect: reported, then retried with backoff', async (t) => {
  const s = await echoServer(t)
  let calls = 0
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => {
      if (++calls === 1) throw new Error('authorization server down')
      return sign()
    }
  })
  const errors: Error[] = []
  c.on('error', (error) => { errors.push(error) })
  const closed = next(c, 'close')
  c.connect()
  const [info] = await closed
  t.match(info, { code: 1006, reason: 'token_unavailable', policy: 'reconnect', willRetry: true })
  t.ok(errors[0] instanceof TokenError)
  t.match(errors[0], { message: /authorization server down/ })
  await next(c, 'authenticated')
  t.equal(calls, 2)
})

t.test('options are checked when the client is created', async (t) => {
  t.throws(() => new WsAuthClient({ url: 'ws://127.0.0.1/ws', WebSocket }), { name: 'TypeError', message: /getToken is required/ })
  t.throws(() => new WsAuthClient({ url: '/ws', transport: 'cookie', WebSocket }), { message: /absolute ws: or wss: URL/ })
  t.throws(() => new WsAuthClient({ url: 'ftp://x/ws', transport: 'cookie', WebSocket }), { message: /ws: or wss:/ })
  t.throws(() => new WsAuthClient({ url: 'ws://x/ws', transport: 'cookie', WebSocket, queueLimit: -1 }), { message: /queueLimit/ })
  t.throws(() => new WsAuthClient({ url: 'ws://x/ws', transport: 'pigeon' as 'cookie', WebSocket }), { message: /transport/ })
})

t.test('the WebSocket defaults to globalThis.WebSocket, as in browsers', async (t) => {
  const global = globalThis as { WebSocket?: unknown }
  const saved = global.WebSocket
  t.after(() => { global.WebSocket = saved })
  global.WebSocket = undefined
  t.throws(() => new WsAuthClient({ url: 'ws://x/ws', transport: 'cookie' }), { message: /no WebSocket implementation/ })
  const s = await echoServer(t)
  global.WebSocket = WebSocket satisfies WebSocketConstructor
  const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken, WebSocket: undefined })
  c.connect()
  const [frame] = await next(c, 'authenticated')
  t.equal(frame.subject, 'alice')
})
