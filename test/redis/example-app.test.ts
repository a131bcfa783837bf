import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { get } from 'node:http'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../example-app/app.ts'
import { ConfigError, loadConfig } from '../../example-app/config.ts'
import { CloseCode } from '../../protocol/index.ts'
import { bearer, connect, freePort, secret, until, type TestClient } from '../helpers.ts'
import { RedisServer, redisSkip } from './server.ts'

interface Running { app: FastifyInstance, http: string, ws: string }

const JWT_SECRET = secret(randomBytes(32).toString('base64url'))

async function start (t: Test, redisUrl: string): Promise<Running> {
  const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', TICK_INTERVAL: '50', JWT_SECRET, REDIS_URL: redisUrl }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` }
}

/** The `pid` of `/health`, over a new TCP connection (fetch would reuse one, and so reach one instance). */
async function healthPid (url: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { resolve((JSON.parse(body) as { pid: number }).pid) })
    }).on('error', reject)
  })
}

interface Reply { status: number, json: Record<string, unknown>, refresh: string | undefined }

async function post (url: string, options: { body?: unknown, token?: string, refresh?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.refresh !== undefined) headers.cookie = `refresh_token=${options.refresh}`
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(options.body ?? {}) })
  const text = await response.text()
  const refresh = response.headers.getSetCookie().map((c) => /^refresh_token=([^;]+)/.exec(c)?.[1]).find((v) => v !== undefined)
  return { status: response.status, json: text === '' ? {} : JSON.parse(text), refresh: refresh === undefined ? undefined : secret(refresh) }
}

t.test('configuration with REDIS_URL', async (t) => {
  t.throws(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }), new ConfigError('REDIS_URL runs several instances: set JWT_SECRET, the same on each of them'))
  t.throws(() => loadConfig({ REDIS_URL: 'http://127.0.0.1', JWT_SECRET }), /REDIS_URL must be a redis:\/\//)
  t.equal(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET }).redisUrl, 'redis://127.0.0.1:6379')
  t.equal(loadConfig({}).redisUrl, undefined, 'no Redis by default')
})

t.test('the example app on two instances sharing Redis', { skip: redisSkip }, async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.close())
  const a = await start(t, server.url)
  const b = await start(t, server.url)

  t.test('a Redis that cannot be reached stops the start with a clear error', async (t) => {
    await t.rejects(buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', JWT_SECRET, REDIS_URL: 'redis://127.0.0.1:1' })), /cannot connect to REDIS_URL/)
  })

  t.test('one session across instances: feed from one producer, refresh anywhere, logout closes everywhere', async (t) => {
    const login = await post(`${a.http}/auth/login`, { body: { username: 'alice', password: 'alice-password' } })
    t.equal(login.status, 200)
    const token = secret(login.json.accessToken as string)
    const onA: TestClient = connect(`${a.ws}/feed`, bearer(token))
    const onB: TestClient = connect(`${b.ws}/feed`, bearer(token))
    await Promise.all([onA.frame('authenticated'), onB.frame('authenticated')])

    const tickA = await onA.frame<{ seq: number, source: string }>('tick')
    const tickB = await onB.waitFor<{ seq: number, source: string }>((m) => (m as { type?: string, seq?: number, topic?: string }).type === 'tick' &&
      (m as { topic?: string }).topic === 'ticker' && (m as { seq: number }).seq > tickA.seq)
    t.equal(tickB.source, tickA.source, 'one instance produces the ticks; both deliver them')

    const refreshed = await post(`${b.http}/auth/refresh`, { refresh: login.refresh })
    t.equal(refreshed.status, 200, 'a session made on A refreshes on B')
    t.not(refreshed.refresh, login.refresh, 'with a rotated refresh token')

    const logout = await post(`${b.http}/auth/logout`, { token })
    t.equal(logout.status, 204)
    t.equal((await onA.closed).code, CloseCode.CredentialRevoked, 'the socket on A closed')
    t.equal((await onB.closed).code, CloseCode.CredentialRevoked, 'and the one on B')
    t.equal((await post(`${a.http}/auth/refresh`, { refresh: refreshed.refresh })).status, 401, 'the session is over on A too')
  })

  t.test('reusing a rotated refresh token on another instance ends the family everywhere', async (t) => {
    const login = await post(`${a.http}/auth/login`, { body: { username: 'bob', password: 'bob-password' } })
    const socket = connect(`${a.ws}/feed`, bearer(secret(login.json.accessToken as string)))
    await socket.frame('authenticated')
    const rotated = await post(`${a.http}/auth/refresh`, { refresh: login.refresh })
    t.equal(rotated.status, 200)
    const reuse = await post(`${b.http}/auth/refresh`, { refresh: login.refresh })
    t.match(reuse, { status: 401, json: { code: 'refresh_reused' } })
    t.equal((await socket.closed).code, CloseCode.CredentialRevoked, 'the live socket on A closed')
    t.equal((await post(`${b.http}/auth/refresh`, { refresh: rotated.refresh })).status, 401, 'the newest refresh token is dead too')
  })

  t.test('Redis down: /auth answers 503 at once, live feed sockets stay, and it all comes back', async (t) => {
    const login = await post(`${a.http}/auth/login`, { body: { username: 'alice', password: 'alice-password' } })
    const token = secret(login.json.accessToken as string)
    const socket = connect(`${b.ws}/feed`, bearer(token))
    await socket.frame('authenticated')
    await server.stop()
    await until(async () => ((await (await fetch(`${a.http}/health`)).json()) as { redis: string }).redis !== 'ready')
    t.match(await post(`${a.http}/auth/login`, { body: { username: 'alice', password: 'alice-password' } }), { status: 503, json: { statusCode: 503, code: 'service_unavailable', error: 'Service Unavailable' } })
    const refused = connect(`${a.ws}/feed`, bearer(token))
    t.same(await refused.closed, { code: 4503, reason: 'revocation_unavailable' })
    t.equal(socket.socket.readyState, socket.socket.OPEN, 'the live socket stays open')
    await server.start()
    await until(async () => (await post(`${a.http}/auth/login`, { body: { username: 'alice', password: 'alice-password' } })).status === 200, 5000)
    const again = connect(`${a.ws}/feed`, bearer(token))
    await again.frame('authenticated')
    t.pass('logins and handshakes work again')
    socket.close()
    again.close()
  })

  t.test('npm run start:cluster: two instances behind one port share sessions and revocations', async (t) => {
    const port = await freePort()
    const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/cluster.ts'], {
      env: { ...process.env, REDIS_URL: server.url, INSTANCES: '2', PORT: String(port), LOG_LEVEL: 'warn', TICK_INTERVAL: '100' },
      stdio: 'ignore'
    })
    t.teardown(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
    })
    const http = `http://127.0.0.1:${port}`
    const pids = new Set<number>()
    await until(async () => {
      try {
        pids.add(await healthPid(`${http}/health`))
      } catch {}
      return pids.size === 2
    }, 30_000)
    t.equal(pids.size, 2, 'two instances answer on one port')
    const login = await post(`${http}/auth/login`, { body: { username: 'alice', password: 'alice-password' } })
    const token = secret(login.json.accessToken as string)
    const sockets = [connect(`ws://127.0.0.1:${port}/feed`, bearer(token)), connect(`ws://127.0.0.1:${port}/feed`, bearer(token))]
    await Promise.all(sockets.map(async (s) => await s.frame('tick')))
    t.equal((await post(`${http}/auth/logout`, { token })).status, 204)
    t.same((await Promise.all(sockets.map(async (s) => await s.closed))).map((c) => c.code), [CloseCode.CredentialRevoked, CloseCode.CredentialRevoked])
  })
})
