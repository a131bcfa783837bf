import t from 'tap'
import { SUBPROTOCOL } from '../../protocol/index.ts'
import { bearer, connect, sign, startServer } from '../helpers.ts'
import { bearerHeader, rawUpgrade, refusedWith, stillServing } from './harness.ts'

const ORIGIN = 'http://app.test'

t.test('handshake attacks (refusal by status)', async (t) => {
  let handlerCalls = 0
  const server = await startServer(t, {
    plugin: { refusal: 'status', cookie: { name: 'access' }, allowedOrigins: [ORIGIN] },
    handler: (socket, request) => {
      if (request.wsAuth.subject !== 'canary') handlerCalls++
      socket.send('hello')
    }
  })
  const good = sign({ sid: 's1' })

  t.test('no credential at all', async (t) => {
    await refusedWith(t, connect(server.url), 401, 'credential_missing')
    await stillServing(t, server)
  })

  t.test('token in the query under a known name', async (t) => {
    await refusedWith(t, connect(`${server.url}?access_token=${good}`), 400, 'credential_in_query')
    await stillServing(t, server)
  })

  t.test('token in the query under an innocent name, with a valid subprotocol credential too', async (t) => {
    await refusedWith(t, connect(`${server.url}?q=${good}`, bearer(good)), 400, 'credential_in_query')
    await stillServing(t, server)
  })

  t.test('the bearer entry offered first is never echoed', async (t) => {
    const client = connect(server.url, [`wsauth.bearer.${good}`, SUBPROTOCOL])
    await client.opened
    t.equal(client.socket.protocol, SUBPROTOCOL)
    client.close()
    await stillServing(t, server)
  })

  t.test('a bearer entry without the version', async (t) => {
    await refusedWith(t, connect(server.url, [`wsauth.bearer.${good}`]), 400, 'subprotocol_invalid')
    await stillServing(t, server)
  })

  t.test('the version offered twice', async (t) => {
    const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: wsauth.v1, wsauth.v1, wsauth.bearer.${good}`])
    t.equal(response.status, 400)
    t.match(JSON.parse(response.body), { code: 'subprotocol_invalid' })
    response.socket.destroy()
    await stillServing(t, server)
  })

  t.test('two bearer entries', async (t) => {
    await refusedWith(t, connect(server.url, [SUBPROTOCOL, `wsauth.bearer.${good}`, `wsauth.bearer.${sign({ sub: 'bob' })}`]), 400, 'credential_ambiguous')
    await stillServing(t, server)
  })

  t.test('the same bearer entry twice, in two header lines', async (t) => {
    const response = await rawUpgrade(server.url, [bearerHeader(good), `Sec-WebSocket-Protocol: wsauth.bearer.${good}`])
    t.equal(response.status, 400)
    response.socket.destroy()
    await stillServing(t, server)
  })

  t.test('illegal characters in a subprotocol entry', async (t) => {
    const response = await rawUpgrade(server.url, [`Sec-WebSocket-Protocol: wsauth.v1, wsauth.bearer.${good}, évil/entry`])
    t.equal(response.status, 400)
    t.match(JSON.parse(response.body), { code: 'subprotocol_invalid' })
    response.socket.destroy()
    await stillServing(t, server)
  })

  t.test('an empty bearer entry', async (t) => {
    await refusedWith(t, connect(server.url, [SUBPROTOCOL, 'wsauth.bearer.']), 401, 'token_malformed')
    await stillServing(t, server)
  })

  t.test('an oversized token', async (t) => {
    await refusedWith(t, connect(server.url, bearer('a'.repeat(9000))), 400, 'token_too_large')
    await stillServing(t, server)
  })

  t.test('oversized headers are refused by Node before any plugin code', async (t) => {
    const response = await rawUpgrade(server.url, [`X-Padding: ${'p'.repeat(20_000)}`, bearerHeader(good)])
    t.equal(response.status, 431)
    response.socket.destroy()
    await stillServing(t, server)
  })

  t.test('differing cookie and subprotocol credentials', async (t) => {
    const client = connect(server.url, bearer(good), { headers: { origin: ORIGIN, cookie: `access=${sign({ sub: 'mallory' })}` } })
    await refusedWith(t, client, 400, 'credential_ambiguous')
    await stillServing(t, server)
  })

  t.test('two cookies of the same name', async (t) => {
    const client = connect(server.url, undefined, { headers: { origin: ORIGIN, cookie: `access=${good}; access=${sign({ sub: 'mallory' })}` } })
    await refusedWith(t, client, 400, 'credential_ambiguous')
    await stillServing(t, server)
  })

  t.test('a plain GET on the WebSocket route', async (t) => {
    const response = await fetch(server.url.replace('ws:', 'http:'))
    t.equal(response.status, 404)
    await stillServing(t, server)
  })

  // Subtests run in order, after the parent's body: this one runs last.
  t.test('no refused handshake reached the route handler', async (t) => {
    t.equal(handlerCalls, 1, 'only the accepted "bearer entry first" connection did')
  })
})

t.test('a throwing or misbehaving authorize hook', async (t) => {
  const cases: Array<[string, () => unknown, number, string]> = [
    ['throws', () => { throw new Error('database exploded at /srv/app/secret.js:42') }, 401, 'unauthorized'],
    ['rejects', () => Promise.reject(new Error('boom')), 401, 'unauthorized'],
    ['answers a truthy non-boolean', () => 'yes', 403, 'forbidden'],
    ['answers a promise of a truthy non-boolean', () => Promise.resolve(1), 403, 'forbidden']
  ]
  for (const [name, authorize, status, code] of cases) {
    t.test(name, async (t) => {
      const server = await startServer(t, {
        plugin: { refusal: 'status' },
        route: { authorize: (claims) => claims.sub === 'canary' || (authorize() as boolean) }
      })
      const { status: actual, body } = await connect(server.url, bearer(sign())).refused
      t.equal(actual, status)
      t.match(body, { statusCode: status, code })
      t.notMatch(JSON.stringify(body), /exploded|secret\.js|stack|at /, 'a generic body, no stack or message of the hook')
      await stillServing(t, server)
    })
  }

  t.test('never answers: refused after handshakeTimeout', async (t) => {
    const server = await startServer(t, {
      plugin: { refusal: 'status', handshakeTimeout: 50 },
      route: { authorize: (claims) => claims.sub === 'canary' || new Promise<boolean>(() => {}) }
    })
    await refusedWith(t, connect(server.url, bearer(sign())), 503, 'handshake_timeout')
    await stillServing(t, server)
  })
})

t.test('refusal by close (a browser): the handler never runs and the socket does not stay open', async (t) => {
  let handlerCalls = 0
  const server = await startServer(t, { handler: (socket) => { handlerCalls++; socket.send('hello') } })
  const client = connect(server.url, bearer(sign({ exp: Date.now() / 1000 - 5 })), { headers: { origin: ORIGIN } })
  t.match(await client.frame('auth_error'), { code: 'token_expired', closing: true, retry: true })
  t.same(await client.closed, { code: 4401, reason: 'token_expired' })
  t.equal(handlerCalls, 0)
  t.equal(server.app.wsAuth.size, 0)
})
