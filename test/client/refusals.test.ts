// A refused handshake is understood in Node, whatever form the refusal takes (SPEC.md
// section 3.1): told by close (refusal 'auto' for every protocol client, or 'close'), or by
// HTTP status, which Node's `ws` lets the client read. Each refusal class ends as its
// policy says: stop, renew then retry, or back off (honouring Retry-After).
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { WebSocket } from 'ws'
import type { CloseInfo } from '../../client/index.ts'
import { CloseCode } from '../../protocol/index.ts'
import { SECRET, delay, manualClock, nowSeconds, startServer, until } from '../helpers.ts'
import { echoServer, makeClient, next, tokenSource } from './setup.ts'

const audienceChecked = { verify: { algorithms: ['HS256' as const], key: SECRET, audience: 'feed' } }

/** Connects and resolves with every close event until the client stops for good, or until `count` closes. */
function closes (client: ReturnType<typeof makeClient>, count = Number.POSITIVE_INFINITY): Promise<CloseInfo[]> {
  const seen: CloseInfo[] = []
  return new Promise((resolve) => {
    client.on('close', (info) => {
      seen.push(info)
      if (!info.willRetry || seen.length >= count) resolve(seen)
    })
    client.connect()
  })
}

t.test('the default server (refusal auto), Node\'s ws, a token of the wrong audience: told, and not retried', async (t) => {
  const s = await echoServer(t, { plugin: audienceChecked })
  const tokens = tokenSource(() => ({ aud: 'admin' }))
  const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
  const [info] = await closes(c)
  t.match(info, {
    code: CloseCode.Unauthorized,
    reason: 'token_audience_invalid',
    policy: 'stop',
    willRetry: false,
    stopReason: 'refused',
    authError: { type: 'auth_error', code: 'token_audience_invalid', closing: true, retry: false }
  })
  t.equal(info?.status, undefined, 'told by close, not by status')
  await delay(150)
  t.equal(tokens.calls, 1, 'getToken was not called again (maxDelay is 50 ms)')
  t.equal(c.state, 'closed')
})

t.test('refused by HTTP status, read from ws\'s unexpected-response', async (t) => {
  t.test('stop: forbidden', async (t) => {
    const s = await echoServer(t, { plugin: { refusal: 'status', authorize: () => false } })
    const tokens = tokenSource()
    const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
    const errors: unknown[] = []
    c.on('auth_error', (frame) => { errors.push(frame) })
    const [info] = await closes(c)
    const authError = { type: 'auth_error', code: 'forbidden', message: 'The identity is not allowed to use this endpoint', closing: true, retry: false }
    t.same(info, { code: CloseCode.Forbidden, reason: 'forbidden', policy: 'stop', willRetry: false, stopReason: 'policy', authError, status: 403 })
    t.same(errors, [authError], 'the auth_error event, as for a refusal by close')
    await delay(150)
    t.equal(tokens.calls, 1)
  })

  t.test('stop: a credential a fresh token cannot fix (retry false)', async (t) => {
    const s = await echoServer(t, { plugin: { ...audienceChecked, refusal: 'status' } })
    const tokens = tokenSource(() => ({ aud: 'admin' }))
    const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
    const [info] = await closes(c)
    t.match(info, { code: CloseCode.Unauthorized, reason: 'token_audience_invalid', policy: 'stop', willRetry: false, stopReason: 'refused', status: 401, authError: { code: 'token_audience_invalid', retry: false } })
    await delay(150)
    t.equal(tokens.calls, 1)
  })

  t.test('renew then retry: an expired token is replaced at once', async (t) => {
    const s = await echoServer(t, { plugin: { refusal: 'status' } })
    const tokens = tokenSource((call) => call === 1 ? { exp: nowSeconds() - 10 } : {})
    const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
    const closed = closes(c, 1)
    const [info] = await closed
    t.match(info, { code: CloseCode.Unauthorized, reason: 'token_expired', policy: 'reauthenticate', willRetry: true, retryIn: 0, status: 401, authError: { code: 'token_expired', retry: true } })
    await next(c, 'authenticated')
    t.equal(tokens.calls, 2, 'a token the server refused is not offered twice')
  })

  t.test('back off: rate limited, at least Retry-After seconds', async (t) => {
    const sockets: WebSocket[] = []
    const s = await startServer(t, { plugin: { handshakeLimit: { max: 1, timeWindow: 1000 } }, handler: (socket) => { sockets.push(socket) } })
    const tokens = tokenSource()
    const c = makeClient(t, { url: s.url, getToken: tokens.getToken })
    const seen = closes(c, 2)
    await next(c, 'authenticated')
    ;(sockets[0] as WebSocket).terminate()
    const [dropped, limited] = await seen
    t.match(dropped, { code: 1006, willRetry: true })
    t.match(limited, { code: CloseCode.TooManyRequests, reason: 'handshake_rate_limited', policy: 'reconnect', willRetry: true, status: 429, authError: { code: 'handshake_rate_limited' } })
    t.ok((limited?.retryIn ?? 0) >= 1000 && (limited?.retryIn ?? 0) % 1000 === 0, `waits the server's Retry-After (${limited?.retryIn} ms), not the 50 ms backoff`)
    await next(c, 'authenticated', 5000)
    t.equal(tokens.calls, 1, 'a rate limit does not call for a new token')
  })
})

/** A server that answers every upgrade with `head` and then `body` (with its length when `complete`), and keeps the socket open. */
async function rawRefusal (t: Test, head: string, body: string, complete = false): Promise<string> {
  const sockets: Socket[] = []
  const server: Server = createServer()
  server.on('upgrade', (_request, socket: Socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.write(`${head}${complete ? `\r\nContent-Length: ${Buffer.byteLength(body)}` : ''}\r\n\r\n${body}`)
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`
}

t.test('the body read is bounded in size and in time', async (t) => {
  t.test('a body past 4 KiB is not read further: a status without a protocol error is close 1006', async (t) => {
    const url = await rawRefusal(t, 'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json', `{"code":"forbidden","pad":"${'x'.repeat(20_000)}`)
    const time = manualClock()
    const c = makeClient(t, { url, getToken: tokenSource().getToken, clock: time.clock })
    const [info] = await closes(c, 1)
    t.match(info, { code: 1006, policy: 'reconnect', willRetry: true, status: 401 }, 'without waiting for its timer: the client clock never moved')
    t.equal(info?.authError, undefined)
  })

  t.test('a body that never ends is given up when the client\'s clock passes 2 s', async (t) => {
    const url = await rawRefusal(t, 'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 100', '{"code":"forb')
    const time = manualClock()
    const c = makeClient(t, { url, getToken: tokenSource().getToken, clock: time.clock })
    let info: CloseInfo | undefined
    c.on('close', (event) => { info ??= event })
    c.connect()
    let ticked = 0
    await until(async () => {
      if (info !== undefined) return true
      await delay(20)
      time.tick(100)
      ticked += 100
      return false
    }, 10_000)
    t.match(info, { code: 1006, status: 403, willRetry: true })
    t.ok(ticked >= 2000, `closed after ${ticked} ms of the client's clock`)
  })

  t.test('Retry-After as an HTTP date', async (t) => {
    const time = manualClock(Date.parse('2030-01-01T00:00:00Z'))
    const url = await rawRefusal(t, 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: Tue, 01 Jan 2030 00:00:07 GMT', '{"statusCode":503,"code":"server_busy","message":"busy"}', true)
    const c = makeClient(t, { url, getToken: tokenSource().getToken, clock: time.clock })
    const [info] = await closes(c, 1)
    t.match(info, { code: CloseCode.ServiceUnavailable, reason: 'server_busy', policy: 'reconnect', willRetry: true, retryIn: 7000, status: 503, authError: { code: 'server_busy', message: 'busy', retry: true } })
  })
})
