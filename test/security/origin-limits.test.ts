import { once } from 'node:events'
import { createServer } from 'node:http'
import { connect as tcpConnect } from 'node:net'
import t from 'tap'
import type { WebSocket } from 'ws'
import { CloseCode } from '../../protocol/index.ts'
import { bearer, connect, sign, startServer, until } from '../helpers.ts'
import { bearerHeader, closeCodeOf, closedWith, encodeFrame, rawUpgrade, refusedWith, stillServing } from './harness.ts'

const ORIGIN = 'https://app.test'

t.test('Origin with a cookie credential', async (t) => {
  const server = await startServer(t, { plugin: { cookie: { name: 'access' }, allowedOrigins: [ORIGIN, 'http://localhost:8080'] } })
  const cookie = `access=${sign()}`
  const cases: Array<[string, Record<string, string>]> = [
    ['Origin null (sandboxed iframe, file://)', { origin: 'null', cookie }],
    ['a look-alike host', { origin: 'https://app.test.evil.com', cookie }],
    ['a look-alike prefix', { origin: 'https://evilapp.test', cookie }],
    ['another scheme', { origin: 'http://app.test', cookie }],
    ['another port', { origin: 'https://app.test:8443', cookie }],
    ['the allowed origin with a trailing slash', { origin: 'https://app.test/', cookie }],
    ['localhost on another port', { origin: 'http://localhost:8081', cookie }],
    ['no Origin at all', { cookie }]
  ]
  for (const [name, headers] of cases) {
    t.test(name, async (t) => {
      await refusedWith(t, connect(server.url, undefined, { headers }), 403, 'origin_not_allowed')
      await stillServing(t, server)
    })
  }
  t.test('the allowed Origin, in any letter case', async (t) => {
    const client = connect(server.url, undefined, { headers: { origin: 'HTTPS://APP.TEST', cookie } })
    t.equal((await client.frame('authenticated')).subject, 'alice')
    client.close()
  })
})

t.test('handshake rate limit per address', async (t) => {
  t.test('refused with 429 before any token is verified; a spoofed X-Forwarded-For does not pick the bucket', async (t) => {
    const server = await startServer(t, { plugin: { handshakeLimit: { max: 3, timeWindow: 60_000 } } })
    // A protocol client's credential refusal is told by close (SPEC 3.1); the rate-limited ones get the status.
    for (let i = 0; i < 3; i++) await closedWith(t, connect(server.url, bearer('not.a.jwt')), CloseCode.Unauthorized, 'token_malformed')
    const limited = connect(server.url, bearer(sign()))
    await refusedWith(t, limited, 429, 'handshake_rate_limited')
    const spoofed = connect(server.url, bearer(sign()), { headers: { 'x-forwarded-for': '203.0.113.7' } })
    await refusedWith(t, spoofed, 429, 'handshake_rate_limited')
    t.equal(server.app.wsAuth.metrics().refused.token_malformed, 3, 'the limited handshakes never reached verification')
    t.match(server.app.wsAuth.metrics().rateLimited, { handshake_rate_limited: 2 })
    const response = await rawUpgrade(server.url, [bearerHeader(sign())])
    t.equal(response.status, 429)
    t.ok(Number(response.headers['retry-after']) > 0, 'retry-after is set')
    response.socket.destroy()
  })

  t.test('behind a trusted proxy the forwarded address picks the bucket', async (t) => {
    const server = await startServer(t, {
      fastify: { trustProxy: '127.0.0.1', logger: false },
      plugin: { handshakeLimit: { max: 1, timeWindow: 60_000 } }
    })
    const first = connect(server.url, bearer(sign()), { headers: { 'x-forwarded-for': '198.51.100.1' } })
    await first.frame('authenticated')
    await refusedWith(t, connect(server.url, bearer(sign()), { headers: { 'x-forwarded-for': '198.51.100.1' } }), 429, 'handshake_rate_limited')
    const other = connect(server.url, bearer(sign()), { headers: { 'x-forwarded-for': '198.51.100.2' } })
    t.equal((await other.frame('authenticated')).subject, 'alice', 'another client address has its own bucket')
    first.close()
    other.close()
  })
})

t.test('connection limits', async (t) => {
  t.test('per subject, policy refuse', async (t) => {
    const server = await startServer(t, { plugin: { maxConnectionsPerSubject: 2 } })
    const a = connect(server.url, bearer(sign()))
    const b = connect(server.url, bearer(sign()))
    await a.frame('authenticated')
    await b.frame('authenticated')
    await closedWith(t, connect(server.url, bearer(sign())), CloseCode.TooManyRequests, 'too_many_connections')
    t.equal(a.socket.readyState, a.socket.OPEN)
    await stillServing(t, server)
    a.close()
    await until(() => server.app.wsAuth.size === 1)
    const c = connect(server.url, bearer(sign()))
    t.equal((await c.frame('authenticated')).subject, 'alice', 'accepted again below the limit')
    b.close()
    c.close()
  })

  t.test('per subject, policy close-oldest', async (t) => {
    const server = await startServer(t, { plugin: { maxConnectionsPerSubject: 2, connectionLimitPolicy: 'close-oldest' } })
    const oldest = connect(server.url, bearer(sign()))
    await oldest.frame('authenticated')
    const middle = connect(server.url, bearer(sign()))
    await middle.frame('authenticated')
    const newest = connect(server.url, bearer(sign()))
    await newest.frame('authenticated')
    t.match(await oldest.frame('auth_error'), { code: 'connection_superseded', retry: false })
    await closedWith(t, oldest, CloseCode.Superseded, 'connection_superseded')
    t.equal(middle.socket.readyState, middle.socket.OPEN)
    t.equal(server.app.wsAuth.size, 2)
    middle.close()
    newest.close()
  })

  t.test('in total', async (t) => {
    const server = await startServer(t, { plugin: { maxConnections: 2 } })
    const a = connect(server.url, bearer(sign({ sub: 'a' })))
    const b = connect(server.url, bearer(sign({ sub: 'b' })))
    await a.frame('authenticated')
    await b.frame('authenticated')
    await closedWith(t, connect(server.url, bearer(sign({ sub: 'c' }))), CloseCode.ServiceUnavailable, 'server_busy')
    a.close()
    b.close()
  })
})

t.test('message and frame limits', async (t) => {
  t.test('a message flood closes with 4429', async (t) => {
    const server = await startServer(t, { plugin: { messageLimit: { max: 20, timeWindow: 1000 } } })
    const client = connect(server.url, bearer(sign()))
    await client.frame('authenticated')
    for (let i = 0; i < 100; i++) client.send(`m${i}`)
    t.match(await client.frame('auth_error'), { code: 'message_rate_exceeded', closing: true })
    await closedWith(t, client, CloseCode.TooManyRequests, 'message_rate_exceeded')
    t.ok(client.messages.filter((m) => typeof m === 'string').length <= 20, 'at most the burst was delivered')
    await stillServing(t, server)
  })

  t.test('an oversized message after authentication: 1009', async (t) => {
    const server = await startServer(t, { plugin: { websocket: { maxPayload: 1024 } } })
    const client = connect(server.url, bearer(sign()))
    await client.frame('authenticated')
    client.send('x'.repeat(2048))
    t.equal((await client.closed).code, 1009)
    await stillServing(t, server)
  })

  t.test('a fragment flood past maxPayload: 1009', async (t) => {
    const server = await startServer(t, { plugin: { websocket: { maxPayload: 4096 } } })
    const client = connect(server.url, bearer(sign()))
    await client.frame('authenticated')
    for (let i = 0; i < 100; i++) client.socket.send('f'.repeat(100), { fin: false })
    t.equal((await client.closed).code, 1009)
    await stillServing(t, server)
  })

  t.test('an oversized frame before authentication (auth-frame mode): 1009', async (t) => {
    const server = await startServer(t, { route: { authFrame: true }, plugin: { maxPreAuthPayload: 256 } })
    const client = connect(server.url)
    await client.opened
    client.send('x'.repeat(1024))
    t.equal((await client.closed).code, 1009)
    await stillServing(t, server)
  })

  t.test('no auth frame in time (auth-frame mode): 4408', async (t) => {
    const server = await startServer(t, { route: { authFrame: true }, plugin: { authTimeout: 50 } })
    const client = connect(server.url)
    await closedWith(t, client, CloseCode.Timeout, 'auth_timeout')
    await stillServing(t, server)
  })

  t.test('an unmasked client frame: 1002', async (t) => {
    const server = await startServer(t)
    const response = await rawUpgrade(server.url, [bearerHeader(sign())])
    t.equal(response.status, 101)
    response.socket.write(encodeFrame(0x1, Buffer.from('hello'), { mask: false }))
    t.equal(await closeCodeOf(response), 1002)
    await stillServing(t, server)
  })

  t.test('invalid UTF-8 in a text frame: 1007', async (t) => {
    const server = await startServer(t)
    const response = await rawUpgrade(server.url, [bearerHeader(sign())])
    response.socket.write(encodeFrame(0x1, Buffer.from([0xc3, 0x28])))
    t.equal(await closeCodeOf(response), 1007)
    await stillServing(t, server)
  })

  t.test('an unknown opcode: 1002', async (t) => {
    const server = await startServer(t)
    const response = await rawUpgrade(server.url, [bearerHeader(sign())])
    response.socket.write(encodeFrame(0x3, Buffer.from('?')))
    t.equal(await closeCodeOf(response), 1002)
    await stillServing(t, server)
  })

  t.test('a client that stops answering pings: 4408 heartbeat_timeout', async (t) => {
    const server = await startServer(t, { plugin: { heartbeatInterval: 30 } })
    const client = connect(server.url, bearer(sign()), { autoPong: false })
    await client.frame('authenticated')
    t.match(await client.frame('auth_error'), { code: 'heartbeat_timeout', closing: true })
    await closedWith(t, client, CloseCode.Timeout, 'heartbeat_timeout')
    const healthy = connect(server.url, bearer(sign({ sub: 'healthy' })))
    await healthy.frame('authenticated')
    await new Promise((resolve) => setTimeout(resolve, 150))
    t.equal(healthy.socket.readyState, healthy.socket.OPEN, 'a client that answers pings stays')
    healthy.close()
  })

  t.test('a client that never reads is closed when its send buffer passes the cap', async (t) => {
    let serverSocket: WebSocket | undefined
    const server = await startServer(t, {
      plugin: { maxBufferedAmount: 256 * 1024, closeTimeout: 100 },
      handler: (socket) => { serverSocket = socket }
    })
    const client = connect(server.url, bearer(sign()))
    await client.frame('authenticated')
    // The client's TCP socket stops reading: the kernel buffers fill, then ws's.
    ;(client.socket as unknown as { _socket: { pause: () => void } })._socket.pause()
    const chunk = Buffer.alloc(64 * 1024, 1)
    const socket = serverSocket as WebSocket
    const closed = once(socket, 'close')
    for (let i = 0; i < 2000 && socket.readyState === socket.OPEN; i++) {
      socket.send(chunk)
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve))
    }
    await closed
    t.match(server.app.wsAuth.metrics().rateLimited, { send_buffer_overflow: 1 })
    t.equal(server.app.wsAuth.size, 0)
    client.socket.terminate()
    await stillServing(t, server)
  })
})

t.test('a slow handshake (headers trickled) is cut by the server request timeout the README recommends', async (t) => {
  const server = await startServer(t, {
    fastify: {
      logger: false,
      serverFactory: (handler) => createServer({ requestTimeout: 300, connectionsCheckingInterval: 50 }, handler)
    }
  })
  const { port } = new URL(server.url)
  const socket = tcpConnect(Number(port), '127.0.0.1')
  const received: Buffer[] = []
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  socket.on('error', () => {})
  const request = `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ${'a'.repeat(200)}`
  let i = 0
  const drip = setInterval(() => { if (i < request.length && !socket.destroyed) socket.write(request[i++] as string) }, 20)
  await once(socket, 'close')
  clearInterval(drip)
  t.match(Buffer.concat(received).toString(), /^HTTP\/1\.1 408/, 'answered 408 and closed')
  t.ok(i < request.length, 'before the headers were complete')
  await stillServing(t, server)
})

t.test('permessage-deflate is off unless enabled', async (t) => {
  const server = await startServer(t)
  const client = connect(server.url, bearer(sign()), { perMessageDeflate: true })
  await client.frame('authenticated')
  t.equal(client.socket.extensions, '', 'the offer was declined')
  client.close()
  const enabled = await startServer(t, { plugin: { websocket: { perMessageDeflate: true } } })
  const compressed = connect(enabled.url, bearer(sign()), { perMessageDeflate: true })
  await compressed.frame('authenticated')
  t.match(compressed.socket.extensions, /permessage-deflate/, 'negotiated once the server enables it')
  compressed.close()
})
