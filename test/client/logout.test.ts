// A way to stop: getToken() throws UnauthorizedError when no token will come (the user
// logged out), and the client stops for good in state logged_out; any other failure keeps
// the backoff and, after reconnect.maxAttempts, stops with reason max_attempts.
import t from 'tap'
import WebSocket from 'ws'
import { UnauthorizedError, type CloseInfo, type ConnectionState } from '../../client/index.ts'
import { delay, sign, startServer, until } from '../helpers.ts'
import { echoServer, makeClient, next, nextWhere } from './setup.ts'

const loggedOutClose = { code: 1000, reason: 'logged_out', policy: 'stop', willRetry: false, stopReason: 'logged_out' }

t.test('getToken throws UnauthorizedError before the first connection: logged out, no attempt', async (t) => {
  const s = await echoServer(t)
  let calls = 0
  const c = makeClient(t, { url: s.url, getToken: async () => { calls++; throw new UnauthorizedError() } })
  const states: ConnectionState[] = []
  const errors: Error[] = []
  const loggedOut: Error[] = []
  const order: string[] = []
  c.on('state', (state) => { states.push(state) })
  c.on('error', (error) => { errors.push(error) })
  c.on('logged_out', (error) => { loggedOut.push(error); order.push('logged_out') })
  const closed = next(c, 'close')
  c.on('close', () => { order.push('close') })
  c.connect()
  const [info] = await closed
  t.same(info, loggedOutClose)
  t.same(states, ['connecting', 'logged_out'], 'a state of its own, not closed')
  t.equal(loggedOut.length, 1)
  t.type(loggedOut[0], UnauthorizedError)
  t.same(order, ['logged_out', 'close'])
  t.same(errors, [], 'not reported as a token failure')
  await delay(150)
  t.equal(calls, 1, 'no further attempt (maxDelay is 50 ms)')
  t.equal(s.app.wsAuth.metrics().accepted, 0)
  t.throws(() => { c.send('x') }, { name: 'SendError', message: 'the client is logged out' })
  t.throws(() => { c.connect() }, /logged out; create a new one/)
  c.close()
  t.equal(c.state, 'logged_out', 'close() after logging out changes nothing')
})

t.test('while reconnecting: the next getToken says logged out, and the client stops there', async (t) => {
  const sockets: WebSocket[] = []
  const s = await startServer(t, { handler: (socket) => { sockets.push(socket) } })
  let calls = 0
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => {
      if (++calls === 1) return sign({ exp: Date.now() / 1000 + 60 })
      throw new UnauthorizedError('session gone')
    }
  })
  c.connect()
  const [frame] = await next(c, 'authenticated')
  const closes: CloseInfo[] = []
  c.on('close', (info) => { closes.push(info) })
  // A close that calls for a fresh token (4440): the refusal of the next one is final.
  t.equal(s.app.wsAuth.close({ connectionId: frame.connectionId }, { code: 'credential_expired' }), 1)
  await until(() => c.state === 'logged_out')
  t.match(closes, [{ code: 4440, policy: 'reauthenticate', willRetry: true }, loggedOutClose])
  await delay(150)
  t.equal(calls, 2)
})

t.test('during a renewal: the open connection is closed (1000) and renewNow rejects with logged_out', async (t) => {
  const s = await echoServer(t)
  let calls = 0
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => {
      if (++calls === 1) return sign({ exp: Date.now() / 1000 + 60 })
      throw new UnauthorizedError()
    }
  })
  c.connect()
  await next(c, 'authenticated')
  const closed = next(c, 'close')
  await t.rejects(c.renewNow(), { name: 'RenewalError', code: 'logged_out', retry: false })
  t.same((await closed)[0], loggedOutClose)
  t.equal(c.state, 'logged_out')
  await until(() => s.app.wsAuth.size === 0)
  await delay(150)
  t.equal(calls, 2, 'no renewal retry, no reconnection')
})

t.test('cookie transport: refresh() throwing UnauthorizedError logs out, by renewNow and by renew_required', async (t) => {
  const origin = 'http://app.test'
  const s = await echoServer(t, { plugin: { cookie: { name: 'access' }, allowedOrigins: [origin] } })
  // A 4 s cookie: the server sends renew_required at its midpoint, 2 s after the upgrade.
  let cookie = ''
  class BrowserLikeWebSocket extends WebSocket {
    constructor (url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin, cookie: `access=${cookie}` } })
    }
  }
  for (const trigger of ['renewNow', 'renew_required'] as const) {
    cookie = sign({ sid: 'cookie-session', exp: Date.now() / 1000 + 4 })
    let refreshes = 0
    let attempts = 0
    const c = makeClient(t, {
      url: s.url,
      transport: 'cookie',
      WebSocket: class extends BrowserLikeWebSocket {
        constructor (url: string, protocols?: string | string[]) { attempts++; super(url, protocols) }
      },
      refresh: async () => { refreshes++; throw new UnauthorizedError('refresh cookie revoked') }
    })
    const loggedOut: Error[] = []
    c.on('logged_out', (error) => { loggedOut.push(error) })
    c.on('error', () => {})
    const closed = nextWhere(c, 'close', (info) => info.stopReason !== undefined, 10_000)
    if (trigger === 'renewNow') {
      c.connect()
      await next(c, 'authenticated')
      await t.rejects(c.renewNow(), { name: 'RenewalError', code: 'logged_out', retry: false }, `${trigger}: rejects as logged out`)
    } else {
      c.connect()
    }
    t.same((await closed)[0], loggedOutClose, `${trigger}: closed 1000 logged_out, for good`)
    t.equal(c.state, 'logged_out', trigger)
    t.equal(loggedOut.length, 1, `${trigger}: one logged_out event`)
    await delay(150)
    t.equal(refreshes, 1, `${trigger}: refresh() is not retried`)
    t.equal(attempts, 1, `${trigger}: no reconnection`)
  }
  await until(() => s.app.wsAuth.size === 0)
})

t.test('an UnauthorizedError from another copy of the client module is recognised', async (t) => {
  const s = await echoServer(t)
  const foreign = Object.assign(new Error('logged out elsewhere'), { [Symbol.for('fastify-ws-auth.UnauthorizedError')]: true })
  const c = makeClient(t, { url: s.url, getToken: async () => { throw foreign } })
  const closed = next(c, 'close')
  c.connect()
  t.same((await closed)[0], loggedOutClose)
})

t.test('other rejections keep the backoff, then stop after maxAttempts with reason max_attempts', async (t) => {
  const s = await echoServer(t)
  let calls = 0
  const c = makeClient(t, { url: s.url, getToken: async () => { calls++; throw new Error('identity provider down') }, reconnect: { baseDelay: 4, maxDelay: 8, maxAttempts: 3 } })
  const closes: CloseInfo[] = []
  const errors: Error[] = []
  c.on('error', (error) => { errors.push(error) })
  c.on('close', (info) => { closes.push(info) })
  c.connect()
  await until(() => c.state === 'closed')
  t.same(closes.map(({ willRetry, stopReason }) => [willRetry, stopReason]), [[true, undefined], [true, undefined], [true, undefined], [false, 'max_attempts']])
  t.match(closes.at(-1), { code: 1006, reason: 'token_unavailable', policy: 'reconnect', willRetry: false, stopReason: 'max_attempts' })
  t.equal(calls, 4, 'the first attempt and maxAttempts more')
  t.equal(errors.length, 4)
  t.match(errors[0], { name: 'TokenError', message: /identity provider down/ })
})
