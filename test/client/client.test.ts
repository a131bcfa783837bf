import t from 'tap'
import { WebSocket } from 'ws'
import { WsAuthClient, backoffDelay, type CloseInfo, type WebSocketConstructor, type WsAuthClientOptions } from '../../client/index.ts'
import { CloseCode } from '../../protocol/index.ts'
import { delay, sign, startServer, until } from '../helpers.ts'

const nowSeconds = (): number => Date.now() / 1000

type Setup = Parameters<typeof startServer>[1]

/** An echo server that also tells each connection its id in an application message. */
async function server (t: Parameters<typeof startServer>[0], setup: Setup = {}) {
  return await startServer(t, {
    handler: (socket, request) => {
      socket.send(JSON.stringify({ type: 'hello', connectionId: request.wsAuth.id }))
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    },
    ...setup
  })
}

function client (t: Parameters<typeof startServer>[0], options: Partial<WsAuthClientOptions> & { url: string }): WsAuthClient {
  const c = new WsAuthClient({ WebSocket: WebSocket as unknown as WebSocketConstructor, reconnect: { baseDelay: 20, maxDelay: 100 }, ...options })
  t.after(() => { c.close() })
  return c
}

function next<T extends unknown[]> (c: WsAuthClient, event: Parameters<WsAuthClient['on']>[0]): Promise<T> {
  return new Promise((resolve) => { const off = c.on(event, (...args: unknown[]) => { off(); resolve(args as T) }) })
}

t.test('connects, authenticates, and delivers only application messages', async (t) => {
  const s = await server(t)
  const messages: unknown[] = []
  const c = client(t, { url: s.url, getToken: async () => sign({ sid: 's1' }) })
  c.on('message', (data) => { messages.push(data) })
  const states: string[] = []
  c.on('state', (state) => { states.push(state) })
  c.connect()
  const [frame] = await next<[{ subject: string }]>(c, 'authenticated')
  t.equal(frame.subject, 'alice')
  t.match(c.identity, { subject: 'alice', sessionId: 's1' })
  t.ok((c.expiresAt as number) > Date.now() + 50_000, 'local deadline from expiresIn')
  await until(() => messages.length > 0)
  t.match(JSON.parse(messages[0] as string), { type: 'hello' })
  c.send('ping')
  await until(() => messages.includes('echo:ping'))
  t.notOk(messages.some((m) => typeof m === 'string' && m.includes('"authenticated"')), 'protocol frames never reach message listeners')
  t.same(states, ['connecting', 'authenticating', 'open'])
})

t.test('renews on renew_required, on the same socket', async (t) => {
  const s = await server(t, { plugin: { renewBefore: 60_000 } })
  let calls = 0
  const c = client(t, { url: s.url, getToken: async () => { calls++; return sign({ sid: 's1', exp: nowSeconds() + 30 + calls }) } })
  const renewed = next<[{ expiresAt: number }]>(c, 'renewed')
  c.connect()
  const [authenticated] = await next<[{ connectionId: string, expiresAt: number }]>(c, 'authenticated')
  const [frame] = await renewed
  t.ok(frame.expiresAt > authenticated.expiresAt, 'a later deadline')
  t.equal(calls, 2, 'one token for the connection, one for the renewal')
  t.equal(c.identity?.connectionId, authenticated.connectionId, 'no reconnection')
})

t.test('single flight: concurrent renewals share one token request and one renew', async (t) => {
  const s = await server(t)
  let calls = 0
  const c = client(t, { url: s.url, getToken: async () => { calls++; await delay(20); return sign({ exp: nowSeconds() + 60 + calls }) } })
  c.connect()
  await next(c, 'authenticated')
  let renewedFrames = 0
  c.on('renewed', () => { renewedFrames++ })
  await Promise.all([c.renewNow(), c.renewNow(), c.renewNow()])
  t.equal(calls, 2, 'one getToken for three renewNow calls (plus the first connect)')
  t.equal(renewedFrames, 1, 'one renew sent')
  t.match(s.app.wsAuth.metrics(), { renewed: 1 })
})

t.test('the fallback timer renews when no renew_required comes in time', async (t) => {
  // renewBefore 0: the server never asks before the deadline itself.
  const s = await server(t, { plugin: { renewBefore: 0 } })
  let calls = 0
  const c = client(t, { url: s.url, getToken: async () => { calls++; return sign({ exp: nowSeconds() + 6 + calls }) } })
  c.connect()
  await next(c, 'authenticated')
  const [frame] = await next<[{ expiresIn: number }]>(c, 'renewed')
  t.ok(frame.expiresIn > 5000, 'renewed at half the lifetime (the 5 s margin would be earlier)')
  t.equal(calls, 2)
})

t.test('short-lived tokens are not renewed in a tight loop', async (t) => {
  const s = await server(t, { plugin: { renewBefore: 0 } })
  const c = client(t, { url: s.url, getToken: async () => sign({ exp: nowSeconds() + 2 }) })
  let renewed = 0
  c.on('renewed', () => { renewed++ })
  c.connect()
  await next(c, 'authenticated')
  await delay(1500)
  t.ok(renewed >= 1 && renewed <= 2, `${renewed} renewals in 1.5 s of a 2 s token (at half-life, not continuously)`)
})

t.test('backoff: full jitter, bounded', async (t) => {
  t.equal(backoffDelay(0, { baseDelay: 100, maxDelay: 1000 }, () => 0), 0)
  const ceilings = [0, 1, 2, 3, 4, 5, 10, 40].map((attempt) => backoffDelay(attempt, { baseDelay: 100, maxDelay: 1000 }, () => 0.999999))
  t.same(ceilings, [99, 199, 399, 799, 999, 999, 999, 999], 'min(max, base × 2^attempt), never reached')
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(3, { baseDelay: 100, maxDelay: 1000 })
    t.ok(d >= 0 && d < 800, `delay ${d} within [0, 800)`)
  }
})

t.test('reconnects after the server drops the connection, and delivers queued messages', async (t) => {
  const sockets: WebSocket[] = []
  const s = await server(t, {
    handler: (socket) => {
      sockets.push(socket)
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    }
  })
  const messages: unknown[] = []
  const delays: number[] = []
  const c = client(t, {
    url: s.url,
    getToken: async () => sign(),
    random: () => 0.5,
    timers: { now: Date.now, setTimeout: (fn, ms) => { delays.push(ms); return setTimeout(fn, ms) }, clearTimeout: (h) => { clearTimeout(h as NodeJS.Timeout) } }
  })
  c.on('message', (data) => { messages.push(data) })
  c.connect()
  const [first] = await next<[{ connectionId: string }]>(c, 'authenticated')
  const closed = next<[CloseInfo]>(c, 'close')
  ;(sockets[0] as WebSocket).terminate()
  const [info] = await closed
  t.match(info, { code: 1006, policy: 'reconnect', willRetry: true })
  c.send('queued while reconnecting')
  const [second] = await next<[{ connectionId: string }]>(c, 'authenticated')
  t.not(second.connectionId, first.connectionId, 'a new connection')
  await until(() => messages.includes('echo:queued while reconnecting'))
  t.ok(delays.includes(10), 'the reconnection waited base × 2^0 × jitter (20 × 0.5)')
})

t.test('no retry on fatal close codes', async (t) => {
  const s = await server(t)
  const c = client(t, { url: s.url, getToken: async () => sign({ sid: 'doomed' }) })
  c.connect()
  await next(c, 'authenticated')
  const closed = next<[CloseInfo]>(c, 'close')
  await s.app.wsAuth.revoke({ sessionId: 'doomed' })
  const [info] = await closed
  t.same(info, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked', policy: 'stop', willRetry: false })
  t.equal(c.state, 'closed')
  await delay(150)
  t.equal(s.app.wsAuth.metrics().accepted, 1, 'it never came back')
  t.throws(() => { c.send('x') }, { name: 'SendError' })
})

t.test('after an expiry it fetches a fresh token before reconnecting', async (t) => {
  const s = await server(t, { plugin: { renewBefore: 0 } })
  let phase: 'short' | 'failing' | 'fresh' = 'short'
  const issued: string[] = []
  const c = client(t, {
    url: s.url,
    getToken: async () => {
      if (phase === 'failing') throw new Error('authorization server down')
      const token = sign({ exp: nowSeconds() + (phase === 'short' ? 1 : 60) })
      issued.push(phase)
      if (phase === 'short') phase = 'failing'
      return token
    }
  })
  c.connect()
  const [first] = await next<[{ connectionId: string }]>(c, 'authenticated')
  const [info] = await next<[CloseInfo]>(c, 'close')
  t.match(info, { code: CloseCode.CredentialExpired, policy: 'reauthenticate', willRetry: true })
  phase = 'fresh'
  const [second] = await next<[{ connectionId: string, expiresIn: number }]>(c, 'authenticated')
  t.not(second.connectionId, first.connectionId)
  t.ok(second.expiresIn > 50_000, 'authenticated with the fresh token')
  t.same(issued, ['short', 'fresh'])
})

t.test('auth-frame transport', async (t) => {
  const s = await server(t, { route: { authFrame: true } })
  const c = client(t, { url: s.url, transport: 'auth-frame', getToken: async () => sign({ sub: 'frank' }) })
  c.connect()
  const [frame] = await next<[{ subject: string }]>(c, 'authenticated')
  t.equal(frame.subject, 'frank')
})

t.test('cookie transport: the application refreshes, the server renews', async (t) => {
  const origin = 'http://app.test'
  let session = sign({ sid: 'cookie-session' })
  const s = await server(t, { plugin: { cookie: { name: 'access' }, allowedOrigins: [origin], renewBefore: 60_000 } })
  class CookieWebSocket extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin, cookie: `access=${session}` } })
    }
  }
  let refreshes = 0
  const c = client(t, {
    url: s.url,
    transport: 'cookie',
    WebSocket: CookieWebSocket as unknown as WebSocketConstructor,
    refresh: async () => {
      refreshes++
      session = sign({ sid: 'cookie-session', exp: nowSeconds() + 120 })
      await s.app.wsAuth.renew({ sessionId: 'cookie-session' }, session)
    }
  })
  c.connect()
  await next(c, 'authenticated')
  const [renewed] = await next<[{ expiresIn: number }]>(c, 'renewed')
  t.ok(renewed.expiresIn > 100_000)
  t.equal(refreshes, 1)
})
