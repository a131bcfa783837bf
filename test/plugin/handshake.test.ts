import { generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import { BEARER_SUBPROTOCOL_PREFIX, CloseCode, SUBPROTOCOL } from '../../protocol/index.ts'
import { SECRET, bearer, connect, nowSeconds, sign, startServer, unsignedToken, type TestClient } from '../helpers.ts'

async function refused (t: Test, client: TestClient, status: number, code: string): Promise<void> {
  const result = await client.refused
  t.equal(result.status, status, `HTTP ${status}`)
  t.match(result.body, { statusCode: status, code }, `code ${code}`)
}

/** A server whose handler counts calls, so tests can prove refusals never reach it. */
async function countingServer (t: Test, setup: Parameters<typeof startServer>[1] = {}) {
  const calls = { count: 0 }
  const server = await startServer(t, {
    ...setup,
    handler: (socket, request) => {
      calls.count++
      socket.send(JSON.stringify({ type: 'hello', subject: request.wsAuth.subject, claims: request.wsAuth.claims, source: request.wsAuth.source }))
    }
  })
  return { ...server, calls }
}

t.test('subprotocol transport', async (t) => {
  const server = await countingServer(t)

  t.test('accepted, version selected, token never echoed', async (t) => {
    const token = sign({ sid: 'sess-1', scope: 'read' })
    const client = connect(server.url, bearer(token))
    await client.opened
    t.equal(client.socket.protocol, SUBPROTOCOL)
    const authenticated = await client.frame('authenticated')
    t.match(authenticated, { type: 'authenticated', subject: 'alice', sessionId: 'sess-1' })
    t.type(authenticated.connectionId, 'string')
    const hello = await client.frame('hello')
    t.match(hello, { subject: 'alice', claims: { scope: 'read', sid: 'sess-1' }, source: 'subprotocol' })
    t.ok(client.messages.indexOf(authenticated) < client.messages.indexOf(hello), 'authenticated precedes application messages')
    client.close()
  })

  t.test('bearer entry offered first is still not selected', async (t) => {
    const token = sign()
    const client = connect(server.url, [`${BEARER_SUBPROTOCOL_PREFIX}${token}`, SUBPROTOCOL])
    await client.opened
    t.equal(client.socket.protocol, SUBPROTOCOL)
    t.notMatch(client.socket.protocol, token)
    client.close()
  })
})

t.test('refusals before the upgrade (status mode)', async (t) => {
  const server = await countingServer(t, {
    plugin: { verify: { algorithms: ['HS256'], key: SECRET, issuer: 'https://issuer.test', audience: 'feed' }, refusal: 'status' }
  })
  const good = { iss: 'https://issuer.test', aud: 'feed' }
  const cases: Array<[string, () => TestClient, number, string]> = [
    ['no credential', () => connect(server.url), 401, 'credential_missing'],
    ['only the version offered', () => connect(server.url, [SUBPROTOCOL]), 401, 'credential_missing'],
    ['token in the query', () => connect(`${server.url}?token=${sign(good)}`, bearer(sign(good))), 400, 'credential_in_query'],
    ['bad signature', () => connect(server.url, bearer(sign(good, { key: 'another-secret-that-is-32-bytes-long!!' }))), 401, 'token_signature_invalid'],
    ['flipped signature bit', () => {
      const token = sign(good)
      const last = token.at(-2) === 'A' ? 'B' : 'A'
      return connect(server.url, bearer(`${token.slice(0, -2)}${last}${token.at(-1)}`))
    }, 401, 'token_signature_invalid'],
    ['alg none', () => connect(server.url, bearer(unsignedToken(good))), 401, 'token_algorithm_not_allowed'],
    ['alg NoNe with a fake signature', () => connect(server.url, bearer(`${unsignedToken(good, 'NoNe')}c2ln`)), 401, 'token_algorithm_not_allowed'],
    ['algorithm outside the allowlist', () => connect(server.url, bearer(sign(good, { algorithm: 'HS512', key: SECRET + SECRET }))), 401, 'token_algorithm_not_allowed'],
    ['expired', () => connect(server.url, bearer(sign({ ...good, exp: nowSeconds() - 1 }))), 401, 'token_expired'],
    ['not yet valid', () => connect(server.url, bearer(sign({ ...good, nbf: nowSeconds() + 60 }))), 401, 'token_not_yet_valid'],
    ['wrong issuer', () => connect(server.url, bearer(sign({ ...good, iss: 'https://evil.test' }))), 401, 'token_issuer_invalid'],
    ['wrong audience', () => connect(server.url, bearer(sign({ ...good, aud: 'admin' }))), 401, 'token_audience_invalid'],
    ['missing exp', () => connect(server.url, bearer(sign({ ...good, exp: undefined }))), 401, 'token_claims_invalid'],
    ['not a JWT', () => connect(server.url, bearer('not-a-jwt')), 401, 'token_malformed'],
    ['three segments of garbage', () => connect(server.url, bearer('abc.def.ghi')), 401, 'token_malformed'],
    ['bearer without the version', () => connect(server.url, [`${BEARER_SUBPROTOCOL_PREFIX}${sign(good)}`]), 400, 'subprotocol_invalid'],
    ['two different tokens', () => connect(server.url, [...bearer(sign(good)), `${BEARER_SUBPROTOCOL_PREFIX}${sign({ ...good, sub: 'bob' })}`]), 400, 'credential_ambiguous'],
    ['duplicate entries', () => connect(server.url, [], { headers: { 'sec-websocket-protocol': `chat, chat, ${bearer(sign(good)).join(', ')}` } }), 400, 'subprotocol_invalid'],
    ['illegal character', () => connect(server.url, [], { headers: { 'sec-websocket-protocol': `wsauth.v1, wsauth.bearer.${sign(good)}@` } }), 400, 'subprotocol_invalid'],
    ['oversized token', () => connect(server.url, bearer(`${sign(good)}${'A'.repeat(9000)}`)), 400, 'token_too_large']
  ]
  for (const [name, open, status, code] of cases) {
    t.test(name, async (t) => { await refused(t, open(), status, code) })
  }
  t.test('no refused handshake reached the handler', async (t) => {
    t.equal(server.calls.count, 0)
    const ok = connect(server.url, bearer(sign(good)))
    await ok.frame('hello')
    t.equal(server.calls.count, 1, 'and a good one still does')
    ok.close()
  })
})

t.test('public-key verification refuses an HS256 token keyed with the public key', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const server = await countingServer(t, { plugin: { verify: { algorithms: ['ES256'], key: pem }, refusal: 'status' } })
  const es = sign({}, { algorithm: 'ES256', key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() })
  const accepted = connect(server.url, bearer(es))
  await accepted.frame('hello')
  accepted.close()
  await refused(t, connect(server.url, bearer(sign({}, { algorithm: 'HS256', key: pem }))), 401, 'token_algorithm_not_allowed')
  t.equal(server.calls.count, 1)
})

t.test('refusal told over the socket (close mode)', async (t) => {
  const server = await countingServer(t, { plugin: { allowedOrigins: ['http://app.test'] } })

  t.test('auto: a browser (Origin present) gets auth_error and a close code', async (t) => {
    const client = connect(server.url, bearer(sign({ exp: nowSeconds() - 5 })), { origin: 'http://app.test' })
    const closed = await client.closed
    t.equal(closed.code, CloseCode.Unauthorized)
    t.equal(closed.reason, 'token_expired')
    t.same(client.messages, [{ type: 'auth_error', code: 'token_expired', message: 'The token has expired', closing: true, retry: true }])
  })

  t.test('auto: a protocol client without Origin (Node\'s ws or global WebSocket) gets auth_error and a close code too', async (t) => {
    const client = connect(server.url, bearer(sign({ aud: 'elsewhere', exp: nowSeconds() - 5 })))
    await client.opened
    t.equal(client.socket.protocol, SUBPROTOCOL, 'the 101 selects the offered version')
    const closed = await client.closed
    t.equal(closed.code, CloseCode.Unauthorized)
    t.equal(closed.reason, 'token_expired')
    t.match(client.messages, [{ type: 'auth_error', code: 'token_expired', closing: true, retry: true }])
  })

  t.test('auto: wsauth.v1 is recognised as an entry of its own, with optional whitespace', async (t) => {
    for (const header of ['wsauth.v1', ' wsauth.v1\t', 'chat, wsauth.v1', 'chat,wsauth.v1 ,x']) {
      const client = connect(server.url, [], { headers: { 'sec-websocket-protocol': header } })
      // ws rejects a selected subprotocol it did not offer itself: the 101 is what counts.
      const upgraded = await new Promise<boolean>((resolve) => {
        client.socket.on('upgrade', () => { resolve(true) })
        client.socket.on('unexpected-response', () => { resolve(false) })
      })
      t.ok(upgraded, `${JSON.stringify(header)}: refused by close`)
      await client.closed
    }
    for (const header of ['wsauth.v10', 'xwsauth.v1', 'chat']) {
      await refused(t, connect(server.url, [], { headers: { 'sec-websocket-protocol': header } }), 401, 'credential_missing')
    }
  })

  t.test('auto: neither Origin nor wsauth.v1 gets the HTTP status', async (t) => {
    await refused(t, connect(server.url), 401, 'credential_missing')
  })

  t.test('auto: a rate-limited protocol client gets the HTTP status', async (t) => {
    const limited = await countingServer(t, { plugin: { handshakeLimit: { max: 1, timeWindow: 60_000 } } })
    const first = connect(limited.url, bearer(sign({ exp: nowSeconds() - 5 })))
    t.equal((await first.closed).code, CloseCode.Unauthorized)
    const second = connect(limited.url, bearer(sign()), { origin: 'http://app.test' })
    await refused(t, second, 429, 'handshake_rate_limited')
  })

  t.test('a foreign Origin is always an HTTP refusal', async (t) => {
    await refused(t, connect(server.url, bearer(sign()), { origin: 'http://evil.test' }), 403, 'origin_not_allowed')
  })

  t.test('a malformed request is always an HTTP refusal', async (t) => {
    await refused(t, connect(server.url, [`${BEARER_SUBPROTOCOL_PREFIX}${sign()}`], { origin: 'http://app.test' }), 400, 'subprotocol_invalid')
  })

  t.test('forced close mode without Origin', async (t) => {
    const forced = await countingServer(t, { plugin: { refusal: 'close' } })
    const client = connect(forced.url)
    t.equal((await client.closed).code, CloseCode.Unauthorized)
    t.match(client.messages, [{ type: 'auth_error', code: 'credential_missing', closing: true }])
    t.equal(forced.calls.count, 0)
  })

  t.test('handler never ran for refused sockets', async (t) => {
    t.equal(server.calls.count, 0)
  })
})

t.test('cookie transport', async (t) => {
  const origin = 'http://app.test'
  const server = await countingServer(t, { plugin: { cookie: { name: 'access_token' }, allowedOrigins: [origin], refusal: 'status' } })

  t.test('accepted with an allowed Origin', async (t) => {
    const client = connect(server.url, undefined, { origin, headers: { cookie: `theme=dark; access_token=${sign()}` } })
    t.match(await client.frame('hello'), { source: 'cookie', subject: 'alice' })
    t.equal(client.socket.protocol, '', 'no subprotocol needed')
    client.close()
  })

  t.test('accepted when cookie and subprotocol carry the same token', async (t) => {
    const token = sign()
    const client = connect(server.url, bearer(token), { origin, headers: { cookie: `access_token=${token}` } })
    t.match(await client.frame('hello'), { source: 'subprotocol' })
    client.close()
  })

  const cases: Array<[string, () => TestClient, number, string]> = [
    ['no Origin', () => connect(server.url, undefined, { headers: { cookie: `access_token=${sign()}` } }), 403, 'origin_not_allowed'],
    ['foreign Origin', () => connect(server.url, undefined, { origin: 'http://evil.test', headers: { cookie: `access_token=${sign()}` } }), 403, 'origin_not_allowed'],
    ['Origin null', () => connect(server.url, undefined, { origin: 'null', headers: { cookie: `access_token=${sign()}` } }), 403, 'origin_not_allowed'],
    ['two cookies of the same name', () => connect(server.url, undefined, { origin, headers: { cookie: `access_token=${sign()}; access_token=${sign({ sub: 'bob' })}` } }), 400, 'credential_ambiguous'],
    ['cookie and subprotocol differ', () => connect(server.url, bearer(sign({ sub: 'bob' })), { origin, headers: { cookie: `access_token=${sign()}` } }), 400, 'credential_ambiguous'],
    ['expired cookie', () => connect(server.url, undefined, { origin, headers: { cookie: `access_token=${sign({ exp: nowSeconds() - 1 })}` } }), 401, 'token_expired']
  ]
  for (const [name, open, status, code] of cases) {
    t.test(name, async (t) => { await refused(t, open(), status, code) })
  }
})

t.test('authorize hook', async (t) => {
  const server = await countingServer(t, {
    plugin: {
      refusal: 'status',
      authorize: (claims) => {
        if (claims.sub === 'mallory') throw new Error('database exploded at /srv/app/secret.js:42')
        if (claims.sub === 'async-bob') return Promise.resolve(true)
        if (claims.sub === 'async-eve') return Promise.reject(new Error('boom'))
        return claims.scope === 'feed'
      }
    }
  })
  const ok = connect(server.url, bearer(sign({ scope: 'feed' })))
  await ok.frame('hello')
  ok.close()
  const asyncOk = connect(server.url, bearer(sign({ sub: 'async-bob' })))
  await asyncOk.frame('hello')
  asyncOk.close()
  await refused(t, connect(server.url, bearer(sign({ scope: 'other' }))), 403, 'forbidden')
  const thrown = connect(server.url, bearer(sign({ sub: 'mallory' })))
  const result = await thrown.refused
  t.same(result, { status: 401, body: { statusCode: 401, code: 'unauthorized', error: 'Unauthorized', message: 'The credential was not accepted' } },
    'a throwing hook is a generic 401, no stack or message')
  await refused(t, connect(server.url, bearer(sign({ sub: 'async-eve' }))), 401, 'unauthorized')
  t.equal(server.calls.count, 2)
})

t.test('per-route options', async (t) => {
  const server = await startServer(t, {
    plugin: { refusal: 'status' },
    setup: (app) => {
      app.get('/admin', { websocket: true, wsAuth: { authorize: (claims) => claims.role === 'admin' } }, (socket) => { socket.send('admin') })
      app.get('/open', { websocket: true }, (socket) => { socket.send('open') })
    }
  })
  const base = server.url.replace(/\/ws$/, '')
  await refused(t, connect(`${base}/admin`, bearer(sign())), 403, 'forbidden')
  const admin = connect(`${base}/admin`, bearer(sign({ role: 'admin' })))
  await admin.waitFor((m) => m === 'admin')
  admin.close()
  const open = connect(`${base}/open`, ['chat'])
  await open.waitFor((m) => m === 'open')
  t.equal(open.socket.protocol, 'chat', 'unauthenticated routes keep normal subprotocol selection')
  open.close()
  const plain = await fetch(`${base.replace('ws:', 'http:')}/ws`)
  t.equal(plain.status, 404, 'a plain GET to a WebSocket route is not upgraded')
})
