import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../example-app/app.ts'
import { ConfigError, loadConfig } from '../example-app/config.ts'
import { UserStore } from '../example-app/users.ts'
import { CloseCode, SUBPROTOCOL } from '../protocol/index.ts'
import { bearer, connect, freePort, until, type TestClient } from './helpers.ts'

interface Running { app: FastifyInstance, http: string, ws: string }

async function start (t: Test, env: Record<string, string> = {}): Promise<Running> {
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', TICK_INTERVAL: '50', ...env })
  const app = await buildApp(config)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` }
}

async function post (url: string, body?: unknown, token?: string): Promise<{ status: number, json: Record<string, unknown> }> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const response = await fetch(url, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  return { status: response.status, json: text === '' ? {} : JSON.parse(text) }
}

async function login (server: Running, username: string, password = `${username}-password`): Promise<{ accessToken: string, expiresAt: number }> {
  const { status, json } = await post(`${server.http}/auth/login`, { username, password })
  if (status !== 200) throw new Error(`login of ${username} answered ${status}`)
  return json as { accessToken: string, expiresAt: number }
}

const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString())

t.test('configuration', async (t) => {
  const defaults = loadConfig({})
  t.match(defaults, { host: '127.0.0.1', port: 3000, accessTokenTtl: 300, renewBefore: 60, logLevel: 'info', generatedSecret: true })
  t.ok(Buffer.byteLength(defaults.jwtSecret) >= 32, 'a generated key of at least 32 bytes')
  t.not(loadConfig({}).jwtSecret, defaults.jwtSecret, 'a new key for every start')
  t.same(defaults.allowedOrigins, ['http://127.0.0.1:3000', 'http://localhost:3000'])
  t.same(loadConfig({ ALLOWED_ORIGINS: 'https://a.test, https://b.test' }).allowedOrigins, ['https://a.test', 'https://b.test'])
  t.match(loadConfig({ JWT_SECRET: 'k'.repeat(32), HOST: '0.0.0.0', PORT: '8080' }), { jwtSecret: 'k'.repeat(32), generatedSecret: false, port: 8080 })

  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ JWT_SECRET: 'short-secret' }, /^JWT_SECRET must be at least 32 bytes/],
    [{ PORT: '70000' }, /^PORT must be an integer/],
    [{ PORT: 'abc' }, /^PORT must be an integer/],
    [{ ACCESS_TOKEN_TTL: '0' }, /^ACCESS_TOKEN_TTL must be an integer from 1/],
    [{ ACCESS_TOKEN_TTL: '1.5' }, /^ACCESS_TOKEN_TTL must be an integer/],
    [{ RENEW_BEFORE: '-1' }, /^RENEW_BEFORE must be an integer/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ ALLOWED_ORIGINS: 'not an origin' }, /^ALLOWED_ORIGINS has an invalid origin/]
  ]
  for (const [env, message] of refused) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env))
  }
  try {
    loadConfig({ JWT_SECRET: 'short-secret' })
  } catch (error) {
    t.ok(error instanceof ConfigError)
    t.notMatch((error as Error).message, /short-secret/, 'a refused secret is not echoed')
  }
})

t.test('login', async (t) => {
  const server = await start(t, { ACCESS_TOKEN_TTL: '120' })

  const { accessToken, expiresAt } = await login(server, 'alice')
  const claims = claimsOf(accessToken)
  t.match(claims, { sub: 'alice', scope: 'feed:read market:premium', iss: 'fastify-ws-auth-example', aud: 'feed' })
  t.type(claims.sid, 'string')
  t.type(claims.jti, 'string')
  t.equal((claims.exp as number) - (claims.iat as number), 120, 'ACCESS_TOKEN_TTL sets the lifetime')
  t.equal(expiresAt, (claims.exp as number) * 1000, 'expiresAt is exp in ms')
  t.not(claimsOf((await login(server, 'alice')).accessToken).sid, claims.sid, 'every login is a new session')

  const wrongPassword = await post(`${server.http}/auth/login`, { username: 'alice', password: 'bob-password' })
  const unknownUser = await post(`${server.http}/auth/login`, { username: 'mallory', password: 'alice-password' })
  t.equal(wrongPassword.status, 401)
  // One error shape for the app and the plugin (Fastify's): `code` to branch on, `error` the reason phrase.
  t.same(wrongPassword.json, { statusCode: 401, code: 'invalid_credentials', error: 'Unauthorized', message: 'Unknown user or wrong password.' })
  t.same(unknownUser, wrongPassword, 'an unknown user is indistinguishable from a wrong password')

  for (const body of [{}, { username: 'alice' }, { username: { $ne: '' }, password: 'x' }, { username: 'alice', password: '' }]) {
    t.equal((await post(`${server.http}/auth/login`, body)).status, 400, `400 for ${JSON.stringify(body)}`)
  }
})

t.test('login attempts are rate limited per address', async (t) => {
  const server = await start(t)
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) {
    statuses.push((await post(`${server.http}/auth/login`, { username: 'alice', password: 'wrong' })).status)
  }
  t.same(statuses, [...Array(10).fill(401), 429])
})

t.test('the feed: authenticated, ticks, echo, renewal through /auth/token', async (t) => {
  // A lead time longer than the token's life: renew_required goes out at once.
  const server = await start(t, { ACCESS_TOKEN_TTL: '30', RENEW_BEFORE: '60' })
  const { accessToken } = await login(server, 'alice')
  const sessionId = claimsOf(accessToken).sid

  const client = connect(`${server.ws}/feed`, bearer(accessToken))
  await client.opened
  t.equal(client.socket.protocol, SUBPROTOCOL, 'the server selects wsauth.v1')
  const authenticated = await client.frame('authenticated')
  t.match(authenticated, { subject: 'alice', sessionId })
  const renewRequired = await client.frame('renew_required')
  t.equal(renewRequired.expiresAt, authenticated.expiresAt)

  const ticks = [await client.frame('tick'), await client.frame('tick', client.messages.length)]
  t.match(ticks[0], { type: 'tick', subject: 'alice' })
  t.ok((ticks[1]?.seq as number) > (ticks[0]?.seq as number), 'tick sequence numbers increase')
  client.send('hello')
  t.same(await client.frame('echo'), { type: 'echo', data: 'hello' })

  const unauthenticated = await post(`${server.http}/auth/token`)
  t.equal(unauthenticated.status, 401)
  t.equal(unauthenticated.json.code, 'invalid_token')
  const fresh = await post(`${server.http}/auth/token`, undefined, accessToken)
  t.equal(fresh.status, 200)
  const freshToken = fresh.json.accessToken as string
  t.match(claimsOf(freshToken), { sub: 'alice', sid: sessionId })
  t.not(claimsOf(freshToken).jti, claimsOf(accessToken).jti, 'a new token id')

  client.send({ type: 'renew', token: freshToken, id: 'r1' })
  const renewed = await client.frame('renewed')
  t.equal(renewed.id, 'r1')
  t.ok((renewed.expiresAt as number) >= (authenticated.expiresAt as number), 'the deadline does not move back')
  t.equal(server.app.wsAuth.size, 1)
  const health = await (await fetch(`${server.http}/health`)).json()
  t.match(health, { status: 'ok', connections: 1 })
  client.close()
  await client.closed
})

t.test('the feed refuses a user without feed:read, and a foreign Origin', async (t) => {
  const server = await start(t, { ALLOWED_ORIGINS: 'http://app.test' })
  const { accessToken } = await login(server, 'carol')
  // A protocol client (wsauth.v1 offered), Origin or not, is told by close (SPEC 3.1).
  const refused = connect(`${server.ws}/feed`, bearer(accessToken))
  t.match(await refused.frame('auth_error'), { code: 'forbidden', closing: true, retry: false })
  t.same(await refused.closed, { code: CloseCode.Forbidden, reason: 'forbidden' })

  const { accessToken: alice } = await login(server, 'alice')
  const foreign = await connect(`${server.ws}/feed`, bearer(alice), { headers: { origin: 'http://evil.test' } }).refused
  t.match(foreign, { status: 403, body: { code: 'origin_not_allowed' } })
  // A browser (Origin present) refused on its credential gets a close code it can read.
  const browser = connect(`${server.ws}/feed`, bearer(accessToken), { headers: { origin: 'http://app.test' } })
  t.match(await browser.frame('auth_error'), { code: 'forbidden', closing: true, retry: false })
  t.same(await browser.closed, { code: CloseCode.Forbidden, reason: 'forbidden' })
})

t.test('logout ends the session and closes its sockets with 4441', async (t) => {
  const server = await start(t)
  const { accessToken } = await login(server, 'bob')
  const { accessToken: other } = await login(server, 'bob')
  const client = connect(`${server.ws}/feed`, bearer(accessToken))
  const otherSession = connect(`${server.ws}/feed`, bearer(other))
  await client.frame('authenticated')
  await otherSession.frame('authenticated')

  t.equal((await post(`${server.http}/auth/logout`, undefined, accessToken)).status, 204)
  t.match(await client.frame('auth_error'), { code: 'credential_revoked', closing: true, retry: false })
  t.same(await client.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' })

  const renewal = await post(`${server.http}/auth/token`, undefined, accessToken)
  t.match(renewal, { status: 401, json: { statusCode: 401, code: 'session_ended', error: 'Unauthorized' } })
  t.same(await connect(`${server.ws}/feed`, bearer(accessToken)).closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' },
    'an unexpired token of an ended session is refused')

  const metrics = await (await fetch(`${server.http}/metrics`)).text()
  t.match(metrics, /^ws_auth_revoked_total 1$/m, 'Prometheus: the revocation is counted')
  t.match(metrics, /^ws_auth_refused_total\{code="credential_revoked"\} 1$/m)
  t.match(metrics, /^ws_auth_connections 1$/m, 'the other session is still connected')
  t.match(metrics, /^process_cpu_seconds_total /m, 'process metrics too')

  t.equal(otherSession.socket.readyState, otherSession.socket.OPEN, "the user's other session stays connected")
  otherSession.close()
})

t.test('a connection that does not renew is closed with 4440 at its deadline', async (t) => {
  const server = await start(t, { ACCESS_TOKEN_TTL: '1' })
  const { accessToken, expiresAt } = await login(server, 'alice')
  const client = connect(`${server.ws}/feed`, bearer(accessToken))
  t.match(await client.frame('auth_error'), { code: 'credential_expired', closing: true, retry: true })
  t.same(await client.closed, { code: CloseCode.CredentialExpired, reason: 'credential_expired' })
  t.ok(Date.now() >= expiresAt, 'not before the deadline')
  await until(() => server.app.wsAuth.size === 0)
})

t.test('npm start: embedded defaults, a wscat-style session, graceful stop', async (t) => {
  // Its own process group, so the test can stop it the way Ctrl-C in a terminal does.
  const child = spawn('npm', ['start', '--silent'], {
    detached: true,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JWT_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const group = child.pid as number
  t.after(() => {
    try { process.kill(-group, 'SIGKILL') } catch {} // already gone: the normal case
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await until(() => /Server listening at http:\/\/127\.0\.0\.1:\d+/.test(output), 30_000)
  const origin = (/Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output) as RegExpExecArray)[1] as string
  t.match(output, /JWT_SECRET is not set/, 'warns that the key is generated')

  const server = { http: origin, ws: origin.replace('http', 'ws') } as Running
  const { accessToken } = await login(server, 'alice')
  const client = connect(`${server.ws}/feed`, bearer(accessToken))
  t.match(await client.frame('authenticated'), { subject: 'alice' })
  t.match(await client.frame('tick'), { subject: 'alice' })

  process.kill(-group, 'SIGINT')
  t.same(await client.closed, { code: 1001, reason: 'server_shutdown' }, 'live sockets are closed with 1001')
  const [code, signal] = await once(child, 'exit')
  // npm re-raises the SIGINT it received after its script exits; the app itself exits 0.
  t.ok(code === 0 || signal === 'SIGINT', `npm ends by the signal or with 0 (code ${code}, signal ${signal})`)
  t.match(output, /"msg":"shutting down"/)
  t.notMatch(output, /shutdown failed|"level":50|"level":60/, 'no error logged')
  t.notOk(output.includes(accessToken), 'the token never appears in the log')
  t.notOk(output.includes(accessToken.split('.')[2] as string), 'nor its signature')
})

/** Starts the app on a known port with cookie mode on; `jar` keeps the cookies of one browser. */
async function startWithOrigin (t: Test, env: Record<string, string> = {}, users?: UserStore): Promise<Running & { origin: string }> {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const config = loadConfig({ PORT: String(port), LOG_LEVEL: 'silent', TICK_INTERVAL: '50', ALLOWED_ORIGINS: origin, ...env })
  const app = await buildApp(config, { users })
  await app.listen({ host: '127.0.0.1', port })
  t.after(() => app.close())
  return { app, http: origin, ws: `ws://127.0.0.1:${port}`, origin }
}

class Browser {
  readonly cookies = new Map<string, string>()
  constructor (readonly origin: string) {}

  async post (path: string, body: unknown = {}): Promise<{ status: number, json: Record<string, unknown> }> {
    const response = await fetch(`${this.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: this.origin, cookie: this.cookieHeader() },
      body: JSON.stringify(body)
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const [name, value] = (pair as string).split('=') as [string, string]
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    const text = await response.text()
    return { status: response.status, json: text === '' ? {} : JSON.parse(text) }
  }

  cookieHeader (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  connect (url: string): TestClient {
    return connect(url, undefined, { headers: { origin: this.origin, cookie: this.cookieHeader() } })
  }
}

t.test('refresh tokens rotate; reusing an old one ends the whole session and closes its sockets', async (t) => {
  const server = await startWithOrigin(t)
  const browser = new Browser(server.origin)
  const login = await browser.post('/auth/login', { username: 'alice', password: 'alice-password' })
  t.equal(login.status, 200)
  const first = browser.cookies.get('refresh_token') as string
  t.ok(first.length >= 43, 'an opaque refresh token in a cookie')
  const client = connect(`${server.ws}/feed`, bearer(login.json.accessToken as string))
  await client.frame('authenticated')

  const refreshed = await browser.post('/auth/refresh')
  t.equal(refreshed.status, 200)
  t.match(refreshed.json, { subject: 'alice', sessionId: login.json.sessionId })
  t.type(refreshed.json.accessToken, 'string')
  t.not(browser.cookies.get('refresh_token'), first, 'rotated')
  client.send({ type: 'renew', token: refreshed.json.accessToken })
  await client.frame('renewed')

  const attacker = new Browser(server.origin)
  attacker.cookies.set('refresh_token', first)
  const reuse = await attacker.post('/auth/refresh')
  t.match(reuse, { status: 401, json: { code: 'refresh_reused', error: 'Unauthorized' } })
  t.match(await client.frame('auth_error'), { code: 'credential_revoked', closing: true })
  t.same(await client.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' }, "the family's socket is closed")
  t.match(await browser.post('/auth/refresh'), { status: 401, json: { code: 'invalid_refresh' } }, 'the current refresh token died with its family')
  t.equal((await new Browser(server.origin).post('/auth/refresh')).status, 401, 'no cookie: 401')
})

t.test('cookie mode: the token never reaches page JavaScript, and refresh renews the live socket server-side', async (t) => {
  const server = await startWithOrigin(t, { ACCESS_TOKEN_TTL: '30' })
  const browser = new Browser(server.origin)
  const login = await browser.post('/auth/login', { username: 'bob', password: 'bob-password', mode: 'cookie' })
  t.equal(login.status, 200)
  t.notOk('accessToken' in login.json, 'no token in the body')
  t.ok(browser.cookies.has('access_token'), 'the access token is in a cookie')
  const client = browser.connect(`${server.ws}/feed`)
  const authenticated = await client.frame('authenticated')
  t.match(authenticated, { subject: 'bob', sessionId: login.json.sessionId })
  t.equal(client.socket.protocol, '', 'no subprotocol needed')

  await new Promise((resolve) => setTimeout(resolve, 1100))
  const refreshed = await browser.post('/auth/refresh', { mode: 'cookie' })
  t.match(refreshed, { status: 200, json: { renewed: 1 } })
  t.notOk('accessToken' in refreshed.json)
  const renewed = await client.frame('renewed')
  t.ok((renewed.expiresAt as number) > (authenticated.expiresAt as number), 'renewed on the server, without the page sending the token')
  t.equal(renewed.expiresAt, refreshed.json.expiresAt)

  const foreign = connect(`${server.ws}/feed`, undefined, { headers: { origin: 'http://127.0.0.2:1234', cookie: browser.cookieHeader() } })
  t.match(await foreign.refused, { status: 403, body: { code: 'origin_not_allowed' } }, 'another origin cannot use the cookie')

  t.equal((await browser.post('/auth/logout')).status, 204, 'logout by the refresh cookie')
  t.same(await client.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' })
  t.notOk(browser.cookies.has('refresh_token'), 'cookies cleared')
})

t.test('cookie mode needs an Origin allowlist', async (t) => {
  const server = await start(t)
  const refused = await post(`${server.http}/auth/login`, { username: 'bob', password: 'bob-password', mode: 'cookie' })
  t.match(refused, { status: 400, json: { statusCode: 400, code: 'cookie_mode_unavailable', error: 'Bad Request' } })
})

t.test('topics: scopes checked on subscribe and again after every renewal', async (t) => {
  const users = await UserStore.create()
  const server = await startWithOrigin(t, {}, users)
  const browser = new Browser(server.origin)
  const login = await browser.post('/auth/login', { username: 'alice', password: 'alice-password' })
  const client = connect(`${server.ws}/feed`, bearer(login.json.accessToken as string))
  t.match(await client.frame('subscribed'), { topic: 'ticker' }, 'subscribed to the ticker at once')
  client.send({ type: 'subscribe', topic: 'premium' })
  t.match(await client.waitFor((m) => (m as { topic?: string }).topic === 'premium' && (m as { type?: string }).type === 'subscribed'), { topic: 'premium' })
  t.match(await client.waitFor((m) => (m as { topic?: string, type?: string }).type === 'tick' && (m as { topic?: string }).topic === 'premium'), { subject: 'alice' })
  client.send({ type: 'subscribe', topic: 'nope' })
  t.match(await client.waitFor((m) => (m as { type?: string }).type === 'error'), { code: 'unknown_topic' })

  users.setScope('alice', 'feed:read')
  const refreshed = await browser.post('/auth/refresh')
  client.send({ type: 'renew', token: refreshed.json.accessToken })
  await client.frame('renewed')
  t.match(await client.waitFor((m) => (m as { type?: string }).type === 'unsubscribed'), { topic: 'premium', reason: 'scope_removed' })
  const from = client.messages.length
  client.send({ type: 'subscribe', topic: 'premium' })
  t.match(await client.waitFor((m) => (m as { type?: string }).type === 'error', from), { code: 'forbidden_topic', topic: 'premium' })
  const bob = await post(`${server.http}/auth/login`, { username: 'bob', password: 'bob-password' })
  const bobClient = connect(`${server.ws}/feed`, bearer(bob.json.accessToken as string))
  await bobClient.frame('subscribed')
  bobClient.send({ type: 'subscribe', topic: 'premium' })
  t.match(await bobClient.waitFor((m) => (m as { type?: string }).type === 'error'), { code: 'forbidden_topic' })
  client.close()
  bobClient.close()
})

t.test('the page and the help text are served', async (t) => {
  const server = await start(t)
  const page = await fetch(`${server.http}/`)
  t.equal(page.status, 200)
  t.match(await page.text(), /<form id="login-form">/)
  const help = await (await fetch(`${server.http}/help`)).text()
  t.match(help, /wsauth\.bearer\.\$TOKEN/)
  t.equal((await fetch(`${server.http}/app.ts`)).status, 404, 'sources are not served')
})

t.test('TLS: HTTPS and WSS with a given key and certificate; cookies become Secure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-auth-tls-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  // openssl is part of Debian's base system; a self-signed certificate for 127.0.0.1.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  const port = await freePort()
  const origin = `https://127.0.0.1:${port}`
  const config = loadConfig({ PORT: String(port), LOG_LEVEL: 'silent', TLS_KEY_FILE: key, TLS_CERT_FILE: cert })
  t.same(config.allowedOrigins, [origin, `https://localhost:${port}`], 'the default Origins are https')
  const app = await buildApp(config)
  await app.listen({ host: '127.0.0.1', port })
  t.after(() => app.close())
  const ca = readFileSync(cert)

  const login = await new Promise<{ status: number, setCookie: string[], body: Record<string, unknown> }>((resolve, reject) => {
    const request = httpsRequest(`${origin}/auth/login`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, setCookie: response.headers['set-cookie'] ?? [], body: JSON.parse(body) }) })
    })
    request.on('error', reject)
    request.end(JSON.stringify({ username: 'alice', password: 'alice-password' }))
  })
  t.equal(login.status, 200)
  t.ok(login.setCookie.length > 0 && login.setCookie.every((cookie) => /; Secure/i.test(cookie) && /HttpOnly/i.test(cookie)), 'Secure, HttpOnly cookies')
  const client = connect(`wss://127.0.0.1:${port}/feed`, bearer(login.body.accessToken as string), { ca })
  t.match(await client.frame('authenticated'), { subject: 'alice' }, 'authenticated over WSS')
  client.close()
})

t.test('configuration refuses half a TLS setup and an unsafe TRUST_PROXY', async (t) => {
  t.throws(() => loadConfig({ TLS_KEY_FILE: '/nonexistent.pem' }), { name: 'ConfigError', message: /set together/ })
  t.throws(() => loadConfig({ TLS_KEY_FILE: '/nonexistent.pem', TLS_CERT_FILE: '/nonexistent.pem' }), { name: 'ConfigError', message: /cannot be read/ })
  t.throws(() => loadConfig({ TRUST_PROXY: 'true' }), { name: 'ConfigError', message: /never "true"/ })
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, ['10.0.0.1', '10.1.0.0/16'])
})

// Issue 14: the refusal said "or send an auth frame", but the app had no route that took one.
t.test('the auth-frame route: the same feed for clients that set neither subprotocol nor cookie', async (t) => {
  const server = await start(t)
  const { accessToken } = await login(server, 'bob')
  const client = connect(`${server.ws}/feed/auth-frame`)
  await client.opened
  t.equal(client.socket.protocol, '', 'nothing selected: nothing was offered')
  client.send({ type: 'auth', token: accessToken })
  t.match(await client.frame('authenticated'), { subject: 'bob' })
  t.match(await client.frame('tick'), { topic: 'ticker', subject: 'bob' })
  client.close()

  // /feed takes no auth frame: its refusal names only what it accepts.
  const refused = await connect(`${server.ws}/feed`).refused
  t.match(refused, { status: 401, body: { statusCode: 401, code: 'credential_missing', error: 'Unauthorized' } })
  t.notMatch((refused.body as { message: string }).message, /auth frame/, 'no promise of an auth frame')
})

t.test('error bodies of /auth/* and of a refused handshake have one shape', async (t) => {
  const server = await start(t)
  const keys = (value: unknown): string[] => Object.keys(value as object).sort()
  const app = await post(`${server.http}/auth/token`)
  // No credential and no wsauth.v1 offered: refused by status (a protocol client's refusal is told by close).
  const handshake = await connect(`${server.ws}/feed`).refused
  t.same(keys(app.json), ['code', 'error', 'message', 'statusCode'])
  t.same(keys(handshake.body), keys(app.json))
  t.match(app.json, { statusCode: 401, error: 'Unauthorized', code: 'invalid_token' })
})

t.test('the access-token cookie: named access_token, path /feed, Secure only over HTTPS', async (t) => {
  const server = await start(t, { PORT: String(await freePort()) })
  const response = await fetch(`${server.http}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'bob-password', mode: 'cookie' }) })
  const cookies = response.headers.getSetCookie()
  const access = cookies.find((cookie) => cookie.startsWith('access_token='))
  t.ok(access, 'access_token is set')
  t.match(access, /Path=\/feed/)
  t.match(access, /HttpOnly/)
  t.match(access, /SameSite=Strict/)
  t.notMatch(access, /Secure/, 'not Secure over plain HTTP (a browser would drop it on http://)')
})
