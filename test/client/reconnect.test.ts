// Closes and what the client does after them: reconnect with backoff (reusing a valid
// token), reauthenticate with a fresh token, or stop for good, as closePolicy() says.
import t from 'tap'
import type { WebSocket } from 'ws'
import type { CloseInfo, ConnectionState } from '../../client/index.ts'
import { CloseCode, type ErrorCode } from '../../protocol/index.ts'
import { delay, manualClock, nowSeconds, sign, startServer, until } from '../helpers.ts'
import { S, echoServer, makeClient, next, tokenSource } from './setup.ts'

t.test('reconnects after the server drops the connection, reusing the valid token, and sends what was queued', async (t) => {
  const sockets: WebSocket[] = []
  const s = await startServer(t, {
    handler: (socket, request) => {
      sockets.push(socket)
      socket.send(JSON.stringify({ type: 'hello', jti: request.wsAuth.claims.jti }))
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    }
  })
  const tokens = tokenSource()
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, random: () => 0.5 })
  const states: ConnectionState[] = []
  const messages: unknown[] = []
  c.on('state', (state) => { states.push(state) })
  c.on('message', (data) => { messages.push(data) })
  c.connect()
  const [first] = await next(c, 'authenticated')
  const closed = next(c, 'close')
  ;(sockets[0] as WebSocket).terminate()
  const [info] = await closed
  t.same(info, { code: 1006, reason: '', policy: 'reconnect', willRetry: true, retryIn: 5 }, 'after baseDelay × 2^0 × jitter (10 × 0.5)')
  t.equal(c.state, 'reconnecting')
  t.equal(c.identity, undefined, 'no identity while not open')
  c.send('q1')
  c.send('q2')
  c.send('q3')
  const [second] = await next(c, 'authenticated')
  t.not(second.connectionId, first.connectionId, 'a new connection')
  await until(() => messages.includes('echo:q3'))
  t.same(messages.filter((m) => typeof m === 'string' && m.startsWith('echo:')), ['echo:q1', 'echo:q2', 'echo:q3'], 'queued messages, in order, once')
  t.same(messages.filter((m) => typeof m === 'string' && m.includes('hello')).map((m) => JSON.parse(m as string).jti), ['t1', 't1'], 'the same token twice')
  t.equal(tokens.calls, 1, 'the token was still valid: no new one')
  t.same(states, ['connecting', 'authenticating', 'open', 'reconnecting', 'authenticating', 'open'])
})

t.test('backoff: exponential with full jitter, bounded, and it gives up after maxAttempts', async (t) => {
  const s = await echoServer(t)
  const randoms = [0.5, 0.25, 0.75, 0.999]
  let draws = 0
  const reconnect = { baseDelay: 8, maxDelay: 40, maxAttempts: 4 }
  const tokens = tokenSource()
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, reconnect, random: () => randoms[draws++] as number })
  const closes: CloseInfo[] = []
  c.on('close', (info) => { closes.push(info) })
  c.connect()
  await next(c, 'authenticated')
  // The server goes away (1001) and stays away: every later attempt fails (1006).
  await s.app.close()
  await until(() => c.state === 'closed')
  t.same(closes.map(({ code, willRetry }) => [code, willRetry]), [[1001, true], [1006, true], [1006, true], [1006, true], [1006, false]])
  t.equal(closes[0]?.reason, 'server_shutdown')
  const delays = closes.slice(0, 4).map((info) => info.retryIn as number)
  t.same(delays, [4, 4, 24, 39], 'floor(random × min(maxDelay, baseDelay × 2^attempt))')
  delays.forEach((ms, attempt) => { t.ok(ms >= 0 && ms < Math.min(40, 8 * 2 ** attempt), `attempt ${attempt}: ${ms} ms within [0, ${Math.min(40, 8 * 2 ** attempt)})`) })
  t.equal(closes[4]?.retryIn, undefined)
  t.equal(draws, 4, 'one draw per scheduled attempt')
  t.equal(tokens.calls, 1, 'a reconnect policy reuses the token while it is valid')
})

t.test('backoff keeps growing while connections flap, and starts over after a stable one', async (t) => {
  const sockets: WebSocket[] = []
  const s = await startServer(t, { handler: (socket) => { sockets.push(socket) } })
  const dropTwice = async (resetAfter: number | undefined): Promise<Array<number | undefined>> => {
    const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken, random: () => 0.5, reconnect: { baseDelay: 10, maxDelay: 1000, resetAfter } })
    const delays: Array<number | undefined> = []
    c.on('close', (info) => { delays.push(info.retryIn) })
    c.connect()
    for (let drop = 0; drop < 2; drop++) {
      await next(c, 'authenticated')
      ;(sockets.at(-1) as WebSocket).terminate()
      await next(c, 'close')
    }
    c.close()
    return delays.slice(0, 2)
  }
  t.same(await dropTwice(undefined), [5, 10], 'connections shorter than resetAfter (5 s): attempt 0, then attempt 1')
  t.same(await dropTwice(0), [5, 5], 'each connection counted as stable: attempt 0 every time')
})

t.test('no retry after a close whose policy is stop', async (t) => {
  const s = await echoServer(t)
  const cases: Array<[ErrorCode, CloseCode]> = [
    ['credential_revoked', CloseCode.CredentialRevoked],
    ['forbidden', CloseCode.Forbidden],
    ['frame_invalid', CloseCode.BadRequest],
    ['connection_superseded', CloseCode.Superseded]
  ]
  for (const [error, code] of cases) {
    const tokens = tokenSource(() => ({ sid: `session-${error}` }))
    const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
    c.connect()
    const [frame] = await next(c, 'authenticated')
    const closed = next(c, 'close')
    if (error === 'credential_revoked') await s.app.wsAuth.revoke({ sessionId: `session-${error}` })
    else s.app.wsAuth.close({ connectionId: frame.connectionId }, { code: error })
    const [info] = await closed
    t.match(info, { code, reason: error, policy: 'stop', willRetry: false, authError: { type: 'auth_error', code: error, closing: true } }, `${code} ${error}`)
    t.equal(info.retryIn, undefined)
    t.equal(c.state, 'closed')
    t.throws(() => { c.send('x') }, { name: 'SendError' })
    t.equal(tokens.calls, 1)
  }
  await delay(120)
  t.equal(s.app.wsAuth.metrics().accepted, cases.length, 'none came back (maxDelay is 50 ms)')
})

t.test('superseded by a newer connection of the same subject: the older client stops, the newer stays', async (t) => {
  const s = await echoServer(t, { plugin: { maxConnectionsPerSubject: 1, connectionLimitPolicy: 'close-oldest' } })
  const older = makeClient(t, { url: s.url, getToken: tokenSource().getToken })
  older.connect()
  await next(older, 'authenticated')
  const closed = next(older, 'close')
  const newer = makeClient(t, { url: s.url, getToken: tokenSource().getToken })
  newer.connect()
  await next(newer, 'authenticated')
  const [info] = await closed
  t.match(info, { code: CloseCode.Superseded, policy: 'stop', willRetry: false })
  await delay(120)
  t.equal(older.state, 'closed')
  t.equal(newer.state, 'open', 'no ping-pong between the two')
  t.equal(s.app.wsAuth.metrics().accepted, 2)
})

t.test('after an expiry (4440) it fetches a fresh token, then reconnects at once', async (t) => {
  const time = manualClock()
  const s = await echoServer(t, { plugin: { clock: time.clock, renewBefore: 0 } })
  const timeline: string[] = []
  let calls = 0
  const c = makeClient(t, {
    url: s.url,
    getToken: async () => {
      timeline.push(`token t${++calls}`)
      return sign({ jti: `t${calls}`, exp: (time.now() + 100 * S) / 1000 })
    }
  })
  const accepted: number[] = []
  c.on('close', (info) => { timeline.push(`close ${info.code}`) })
  c.on('authenticated', (frame) => { accepted.push(frame.expiresIn) })
  c.on('message', (data) => { if (typeof data === 'string' && data.includes('hello')) timeline.push(`hello ${JSON.parse(data).jti}`) })
  const hellos = (): string[] => timeline.filter((event) => event.startsWith('hello'))
  c.connect()
  await until(() => hellos().length === 1)
  const closed = next(c, 'close')
  time.tick(100 * S)
  const [info] = await closed
  t.match(info, { code: CloseCode.CredentialExpired, reason: 'credential_expired', policy: 'reauthenticate', willRetry: true, authError: { code: 'credential_expired' } })
  t.equal(info.retryIn, 0, 'a reauthenticate close retries at once the first time')
  await until(() => hellos().length === 2)
  const fresh = (hellos()[1] as string).slice('hello '.length)
  t.not(fresh, 't1', 'not the expired token')
  t.ok(timeline.indexOf(`token ${fresh}`) > timeline.indexOf('close 4440'), `the new connection's token (${fresh}) was obtained after the close: ${timeline.join(', ')}`)
  t.same(accepted, [100 * S, 100 * S], 'and the server accepted it')
})

t.test('a handshake refused by close (expired token) gets a fresh token at once', async (t) => {
  const s = await echoServer(t, { plugin: { refusal: 'close' } })
  const tokens = tokenSource((call) => call === 1 ? { exp: nowSeconds() - 10 } : {})
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
  const states: ConnectionState[] = []
  c.on('state', (state) => { states.push(state) })
  const closed = next(c, 'close')
  c.connect()
  const [info] = await closed
  t.match(info, { code: CloseCode.Unauthorized, reason: 'token_expired', policy: 'reauthenticate', willRetry: true, retryIn: 0, authError: { code: 'token_expired', closing: true, retry: true } })
  await next(c, 'authenticated')
  t.equal(tokens.calls, 2)
  t.same(states, ['connecting', 'authenticating', 'reconnecting', 'authenticating', 'open'])
})

t.test('a handshake refused by close as forbidden stops at once', async (t) => {
  const s = await echoServer(t, { plugin: { refusal: 'close', authorize: (claims) => claims.sub !== 'eve' } })
  const tokens = tokenSource(() => ({ sub: 'eve' }))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
  const [info] = await new Promise<[CloseInfo]>((resolve) => { c.once('close', (...args) => { resolve(args) }); c.connect() })
  t.match(info, { code: CloseCode.Forbidden, reason: 'forbidden', policy: 'stop', willRetry: false, authError: { code: 'forbidden' } })
  await delay(120)
  t.equal(tokens.calls, 1, 'never tried again')
  t.equal(c.state, 'closed')
})

t.test('backoff reset, on the client\'s clock (SPEC 7): 5 s authenticated resets the count; 4,999 ms does not', async (t) => {
  const time = manualClock()
  const sockets: WebSocket[] = []
  const s = await startServer(t, { handler: (socket) => { sockets.push(socket) } })
  const c = makeClient(t, { url: s.url, getToken: tokenSource().getToken, clock: time.clock, random: () => 0.5, reconnect: { baseDelay: 100, maxDelay: 10_000 } })
  const delays: Array<number | undefined> = []
  c.on('close', (info) => { delays.push(info.retryIn) })
  /** Keeps the connection authenticated for `ms` of the client's clock, then drops it; returns the next delay. */
  const dropAfter = async (ms: number): Promise<number | undefined> => {
    await next(c, 'authenticated')
    time.tick(ms)
    const closed = next(c, 'close')
    ;(sockets.at(-1) as WebSocket).terminate()
    const [info] = await closed
    // The reconnection timer runs on the client's clock too.
    time.tick(info.retryIn as number)
    return info.retryIn
  }
  c.connect()
  t.equal(await dropAfter(4999), 50, 'attempt 0: 0.5 × 100 ms')
  t.equal(await dropAfter(4999), 100, 'not stable: attempt 1, 0.5 × 200 ms')
  t.equal(await dropAfter(4999), 200, 'attempt 2')
  t.equal(await dropAfter(5000), 50, 'stable for exactly 5 s: attempt 0 again')
  t.same(delays, [50, 100, 200, 50])
})

t.test('reauthenticate at once the first time, with backoff from the second in a row', async (t) => {
  const time = manualClock()
  const s = await echoServer(t)
  const tokens = tokenSource()
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken, clock: time.clock, random: () => 0.5, reconnect: { baseDelay: 100, maxDelay: 10_000 } })
  const expire = async (): Promise<CloseInfo> => {
    const [frame] = await next(c, 'authenticated')
    const closed = next(c, 'close')
    s.app.wsAuth.close({ connectionId: frame.connectionId }, { code: 'credential_expired' })
    const [info] = await closed
    time.tick(info.retryIn as number)
    return info
  }
  c.connect()
  t.match(await expire(), { code: CloseCode.CredentialExpired, policy: 'reauthenticate', retryIn: 0 }, 'n = 0: at once')
  t.match(await expire(), { retryIn: 100 }, 'n = 1 (the connection lasted less than 5 s): 0.5 × 200 ms')
  await next(c, 'authenticated')
  time.tick(5000)
  const closed = next(c, 'close')
  s.app.wsAuth.close({ connectionId: c.identity?.connectionId as string }, { code: 'credential_expired' })
  t.match((await closed)[0], { retryIn: 0 }, 'after a stable connection, n = 0 again: at once')
  t.equal(tokens.calls, 3, 'a fresh token for each reconnection after 4440 (the third is still to come)')
})
