import { generateKeyPairSync } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import t from 'tap'
import fastifyWsAuth from '../../plugin/index.ts'
import { SECRET, bearer, registerError, sign } from '../helpers.ts'

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
const verify = { algorithms: ['HS256'], key: SECRET } as const

t.test('misconfiguration fails at register with a clear error', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no options', undefined, /option "verify" is required/],
    ['no verify', {}, /option "verify" is required/],
    ['no algorithms', { verify: { key: SECRET } }, /"verify.algorithms" must list/],
    ['empty algorithms', { verify: { algorithms: [], key: SECRET } }, /"verify.algorithms" must list/],
    ['alg none', { verify: { algorithms: ['none'], key: SECRET } }, /must not contain "none"/],
    ['alg NONE', { verify: { algorithms: ['HS256', 'NONE'], key: SECRET } }, /must not contain "none"/],
    ['unknown algorithm', { verify: { algorithms: ['HS257'], key: SECRET } }, /unsupported algorithm "HS257"/],
    ['duplicate algorithm', { verify: { algorithms: ['HS256', 'HS256'], key: SECRET } }, /lists an algorithm twice/],
    ['mixed families', { verify: { algorithms: ['HS256', 'ES256'], key: SECRET } }, /mixes HMAC and public-key/],
    ['empty key', { verify: { algorithms: ['HS256'], key: '' } }, /"verify.key" must be a non-empty/],
    ['numeric key', { verify: { algorithms: ['HS256'], key: 42 } }, /"verify.key" must be a non-empty/],
    ['short HMAC key', { verify: { algorithms: ['HS256'], key: 'short' } }, /HS256 needs at least 32/],
    ['short key for HS512', { verify: { algorithms: ['HS512'], key: SECRET } }, /HS512 needs at least 64/],
    ['public key as HMAC secret', { verify: { algorithms: ['HS256'], key: pem } }, /public key must never be used as an HMAC secret/],
    ['secret for a public-key algorithm', { verify: { algorithms: ['ES256'], key: SECRET } }, /must be a PEM public key/],
    ['infinite tolerance', { verify: { ...verify, clockTolerance: Infinity } }, /"verify.clockTolerance" must be a number of seconds from 0 to 300/],
    ['negative tolerance', { verify: { ...verify, clockTolerance: -1 } }, /clockTolerance/],
    ['huge tolerance', { verify: { ...verify, clockTolerance: 3600 } }, /clockTolerance/],
    ['empty issuer list', { verify: { ...verify, issuer: [] } }, /"verify.issuer" must be a non-empty/],
    ['zero maxTokenLength', { verify: { ...verify, maxTokenLength: 0 } }, /"verify.maxTokenLength" must be positive/],
    ['cookie without origins', { verify, cookie: { name: 'token' } }, /"allowedOrigins" is required with cookie credentials/],
    ['invalid cookie name', { verify, cookie: { name: 'a b' }, allowedOrigins: ['https://a.test'] }, /"cookie.name" must be a valid cookie name/],
    ['empty origins', { verify, allowedOrigins: [] }, /"allowedOrigins" must be a non-empty array/],
    ['origin with a path', { verify, allowedOrigins: ['https://a.test/app'] }, /path, query/],
    ['null origin', { verify, allowedOrigins: ['null'] }, /not an origin|not an http/],
    ['negative renewBefore', { verify, renewBefore: -1 }, /"renewBefore" must be an integer/],
    ['fractional renewBefore', { verify, renewBefore: 1.5 }, /"renewBefore" must be an integer/],
    ['zero maxRenewalFailures', { verify, maxRenewalFailures: 0 }, /"maxRenewalFailures" must be at least 1/],
    ['zero authTimeout', { verify, authTimeout: 0 }, /"authTimeout" must be positive/],
    ['authTimeout past setTimeout\'s limit', { verify, authTimeout: 2 ** 31 }, /"authTimeout" must be an integer from 0 to 2147483647/],
    ['unknown refusal mode', { verify, refusal: 'silent' }, /"refusal" must be "auto", "status" or "close"/],
    ['authorize not a function', { verify, authorize: true }, /"authorize" must be a function/],
    ['clock without timers', { verify, clock: { now: Date.now } }, /"clock" must have now\(\), setTimeout\(\) and clearTimeout\(\)/],
    ['managed ws option', { verify, websocket: { handleProtocols: () => false } }, /"websocket.handleProtocols" is managed/],
    ['noServer', { verify, websocket: { noServer: true } }, /"websocket.noServer" is managed/]
  ]
  for (const [name, options, message] of cases) {
    const err = await registerError(options)
    t.equal(err.code, 'FST_WS_AUTH_INVALID_OPTION', `${name}: code`)
    t.match(err.message, message, `${name}: message`)
  }
})

t.test('an unknown option key is refused at register, naming it and the closest known key', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['misspelt verify.audience', { verify: { ...verify, audiance: 'feed' } }, /option "verify\.audiance" is not an option of fastify-ws-auth \(did you mean "verify\.audience"\?\)/],
    ['misspelt top-level option', { verify, renewBefor: 1000 }, /option "renewBefor" .*did you mean "renewBefore"/],
    ['letter case', { verify, allowedorigins: ['https://a.test'] }, /option "allowedorigins" .*did you mean "allowedOrigins"/],
    ['transposed letters', { verify: { ...verify, isuser: 'x' } }, /did you mean "verify\.issuer"/],
    ['nothing close', { verify, somethingElse: true }, /option "somethingElse" is not an option of fastify-ws-auth \(known keys: verify, /],
    ['rate limit key', { verify, renewalLimit: { max: 5, timeWindow: 1000, burst: 2 } }, /option "renewalLimit\.burst"/],
    ['jwks key', { verify: { algorithms: ['RS256'], issuer: 'https://id.test', audience: 'a', jwks: { cacheTTL: 5 } } }, /option "verify\.jwks\.cacheTTL" .*did you mean "verify\.jwks\.cacheTtl"/],
    ['cookie key', { verify, allowedOrigins: ['https://a.test'], cookie: { name: 'a', path: '/' } }, /option "cookie\.path"/]
  ]
  for (const [name, options, message] of cases) {
    const err = await registerError(options)
    t.equal(err.code, 'FST_WS_AUTH_INVALID_OPTION', `${name}: code`)
    t.match(err.message, message, `${name}: message`)
  }
})

t.test('an unknown route option key fails at route definition', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyWsAuth, { verify })
  // @ts-expect-error the types refuse it too
  t.throws(() => app.get('/x', { websocket: true, wsAuth: { authframe: true } }, () => {}), {
    code: 'FST_WS_AUTH_INVALID_OPTION', message: /"wsAuth \(route \/x\)\.authframe" .*did you mean "wsAuth \(route \/x\)\.authFrame"/
  })
})

t.test('a public-key algorithm that does not fit the key fails at register', async (t) => {
  const err = await registerError({ verify: { algorithms: ['RS256'], key: pem } })
  t.match(err.message, /RS256/)
})

t.test('registering @fastify/websocket first is refused with advice', async (t) => {
  const app = Fastify()
  await app.register(fastifyWebsocket)
  await t.rejects(async () => { await app.register(fastifyWsAuth, { verify }).ready() }, { code: 'FST_WS_AUTH_WEBSOCKET_REGISTERED' })
  await app.close()
})

t.test('registering @fastify/websocket after the plugin fails at ready() instead of crashing the process', async (t) => {
  for (const scope of ['root', 'child scope'] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyWsAuth, { verify })
    if (scope === 'root') app.register(fastifyWebsocket)
    else app.register(async (child) => { await child.register(fastifyWebsocket) })
    await t.rejects(async () => { await app.ready() }, { code: 'FST_WS_AUTH_WEBSOCKET_REGISTERED', message: /registers @fastify\/websocket itself/ }, scope)
  }
})

t.test('a wsAuth route the plugin never saw fails ready() with FST_WS_AUTH_ROUTE_BEFORE_PLUGIN', async (t) => {
  const handler = (): void => {}
  const misuses: Record<string, (app: FastifyInstance) => Promise<void>> = {
    async 'un-awaited register, route in the same scope' (app) {
      // eslint-disable-next-line no-void -- not awaited: the misuse under test
      void app.register(fastifyWsAuth, { verify })
      app.get('/ws', { websocket: true, wsAuth: true }, handler)
    },
    async 'sibling scope registered first' (app) {
      await app.register(async (scope) => { scope.get('/ws', { websocket: true, wsAuth: true }, handler) })
      await app.register(fastifyWsAuth, { verify })
    },
    async 'plugin registered in a sibling scope' (app) {
      await app.register(async (scope) => { await scope.register(fastifyWsAuth, { verify }) })
      await app.register(async (scope) => { scope.get('/ws', { websocket: true, wsAuth: true }, handler) })
    },
    async 'route() form, route options given as an object' (app) {
      // eslint-disable-next-line no-void -- not awaited: the misuse under test
      void app.register(fastifyWsAuth, { verify })
      app.route({ method: 'GET', url: '/ws', websocket: true, wsAuth: { authFrame: true }, handler })
    }
  }
  for (const [name, misuse] of Object.entries(misuses)) {
    const app = Fastify()
    await misuse(app)
    await t.rejects(async () => { await app.ready() }, { code: 'FST_WS_AUTH_ROUTE_BEFORE_PLUGIN', message: /route GET \/ws .*register fastify-ws-auth with await/ }, name)
    await app.close().catch(() => {})
  }

  const orders: Record<string, (app: FastifyInstance) => Promise<void>> = {
    async 'awaited register, route after it' (app) {
      await app.register(fastifyWsAuth, { verify })
      app.get('/ws', { websocket: true, wsAuth: true }, handler)
    },
    async 'un-awaited register, route in a plugin registered after it' (app) {
      // eslint-disable-next-line no-void -- avvio loads the two in order
      void app.register(fastifyWsAuth, { verify })
      // eslint-disable-next-line no-void -- as above
      void app.register(async (scope) => { scope.get('/ws', { websocket: true, wsAuth: true }, handler) }, { prefix: '/v1' })
    },
    async 'plugin and route in one child scope' (app) {
      await app.register(async (scope) => {
        await scope.register(fastifyWsAuth, { verify })
        scope.get('/ws', { websocket: true, wsAuth: true }, handler)
      })
    }
  }
  for (const [name, order] of Object.entries(orders)) {
    const app = Fastify()
    await order(app)
    await t.resolves(async () => { await app.ready() }, name)
    await app.close()
  }
})

t.test('an instance created before the package was imported still fails closed on an early route', async (t) => {
  // The watch starts when the package is imported (README, Usage); an instance created
  // earlier is not watched, and its early wsAuth route must still open no socket.
  const { spawnSync } = await import('node:child_process')
  const script = `
    import Fastify from 'fastify'
    import WebSocket from 'ws'
    const app = Fastify()
    const { default: fastifyWsAuth } = await import(${JSON.stringify(new URL('../../plugin/index.ts', import.meta.url).href)})
    void app.register(fastifyWsAuth, { verify: { algorithms: ['HS256'], key: ${JSON.stringify(SECRET)} } })
    app.get('/ws', { websocket: true, wsAuth: true }, () => {})
    const sockets = new Set()
    app.server.on('connection', (socket) => sockets.add(socket))
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const outcome = await new Promise((resolve) => {
      const ws = new WebSocket(address.replace('http', 'ws') + '/ws', ['wsauth.v1', ${JSON.stringify(bearer(sign())[1])}], { handshakeTimeout: 1000 })
      ws.on('open', () => resolve('opened'))
      ws.on('error', () => resolve('not opened'))
    })
    for (const socket of sockets) socket.destroy()
    await app.close()
    console.log(JSON.stringify({ outcome }))
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })
  t.equal(child.status, 0, child.stderr)
  t.same(JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}'), { outcome: 'not opened' }, 'no socket opened on the unwatched early route')
})

t.test('wsAuth on a route that is not a WebSocket route', async (t) => {
  const app = Fastify()
  await app.register(fastifyWsAuth, { verify })
  // @ts-expect-error the types refuse it too: wsAuth is accepted only beside websocket: true
  t.throws(() => app.get('/x', { wsAuth: true }, async () => 'no'), { code: 'FST_WS_AUTH_NOT_WEBSOCKET_ROUTE' })
  await app.close()
})

t.test('the application can still register @fastify/jwt for its own routes', async (t) => {
  const { default: fastifyJwt } = await import('@fastify/jwt')
  const app = Fastify()
  await app.register(fastifyWsAuth, { verify })
  await app.register(fastifyJwt, { secret: SECRET })
  await app.ready()
  t.type(app.jwt.sign, 'function')
  await app.close()
})
