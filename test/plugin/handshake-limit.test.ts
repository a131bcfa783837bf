import fastifyRateLimit from '@fastify/rate-limit'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import type { WebSocket } from 'ws'
import { fastifyWsAuth, type WsAuthOptions } from '../../plugin/index.ts'
import { clientKey, storeLimiter } from '../../plugin/handshake-limit.ts'
import { SECRET, bearer, connect, sign } from '../helpers.ts'
import { bearerHeader, rawUpgrade, refusedWith } from '../security/harness.ts'

t.test('client address buckets, as @fastify/rate-limit forms them', async (t) => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:198.51.100.7', '198.51.100.7'],
    ['::1', '0:0:0:0::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1::', '2001:db8:1:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    ['2001:db8:1:2:3:4:192.0.2.1', '2001:db8:1:2::/64']
  ]
  for (const [address, key] of cases) t.equal(clientKey(address), key, address)
  t.not(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'), 'another /64 is another bucket')
})

t.test('@fastify/rate-limit\'s LocalStore, loaded by its file path, keeps the contract the limiter relies on', async (t) => {
  // The store is not a public entry point of @fastify/rate-limit (plugin/handshake-limit.ts):
  // this pins what the pinned minor does, synchronously, for one address and another.
  const limiter = storeLimiter({ max: 2, timeWindow: 60_000 })
  const request = (ip: string): FastifyRequest => ({ ip }) as FastifyRequest
  t.equal(limiter(request('192.0.2.1')), undefined, 'first within the limit, answered synchronously')
  t.equal(limiter(request('192.0.2.1')), undefined, 'second within the limit')
  const third = limiter(request('192.0.2.1'))
  t.type(third, 'number', 'third over the limit, with a retry-after')
  t.ok((third as number) >= 1 && (third as number) <= 60, `retry-after ${String(third)} s within the window`)
  t.equal(limiter(request('192.0.2.2')), undefined, 'another address has its own bucket')
})

async function listen (t: Test, app: FastifyInstance, host = '127.0.0.1'): Promise<string> {
  app.get('/ws', { websocket: true, wsAuth: true }, (socket: WebSocket) => { socket.send('hello') })
  await app.listen({ host, port: 0 })
  t.after(async () => { await app.close() })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return host.includes(':') ? `ws://[${host}]:${port}/ws` : `ws://${host}:${port}/ws`
}

const plugin = (options: Partial<WsAuthOptions>): WsAuthOptions => ({ verify: { algorithms: ['HS256'], key: SECRET }, ...options }) as WsAuthOptions

t.test('the plugin\'s own limit, over IPv6: one bucket per /64, 429 with retry-after past it', async (t) => {
  const app = Fastify()
  await app.register(fastifyWsAuth, plugin({ handshakeLimit: { max: 2, timeWindow: 60_000 } }))
  const url = await listen(t, app, '::1')
  for (let i = 0; i < 2; i++) {
    const client = connect(url, bearer(sign()))
    t.equal((await client.frame('authenticated')).subject, 'alice', `handshake ${i + 1} is within the limit`)
    client.close()
  }
  await refusedWith(t, connect(url, bearer(sign())), 429, 'handshake_rate_limited')
  const response = await rawUpgrade(url, [bearerHeader(sign())])
  t.equal(response.status, 429)
  t.ok(Number(response.headers['retry-after']) >= 59, 'retry-after counts the rest of the window in seconds')
  response.socket.destroy()
})

t.test('an application\'s own @fastify/rate-limit registration is used: its keyGenerator, its allowList', async (t) => {
  t.test('keyGenerator', async (t) => {
    const app = Fastify()
    await app.register(fastifyRateLimit, { global: false, keyGenerator: (request) => String(request.headers['x-client'] ?? request.ip) })
    await app.register(fastifyWsAuth, plugin({ handshakeLimit: { max: 1, timeWindow: 60_000 } }))
    const url = await listen(t, app)
    const first = connect(url, bearer(sign()), { headers: { 'x-client': 'a' } })
    await first.frame('authenticated')
    await refusedWith(t, connect(url, bearer(sign()), { headers: { 'x-client': 'a' } }), 429, 'handshake_rate_limited')
    const other = connect(url, bearer(sign()), { headers: { 'x-client': 'b' } })
    t.equal((await other.frame('authenticated')).subject, 'alice', 'the application\'s key picks the bucket')
    const response = await rawUpgrade(url, [bearerHeader(sign()), 'x-client: b'])
    t.equal(response.status, 429)
    t.ok(Number(response.headers['retry-after']) > 0, 'retry-after is set on the asynchronous path too')
    response.socket.destroy()
    first.close()
    other.close()
  })

  t.test('allowList', async (t) => {
    const app = Fastify()
    await app.register(fastifyRateLimit, { global: false, allowList: ['127.0.0.1'] })
    await app.register(fastifyWsAuth, plugin({ handshakeLimit: { max: 1, timeWindow: 60_000 } }))
    const url = await listen(t, app)
    for (let i = 0; i < 3; i++) {
      const client = connect(url, bearer(sign()))
      t.equal((await client.frame('authenticated')).subject, 'alice', `allow-listed handshake ${i + 1} is not limited`)
      client.close()
    }
  })
})
