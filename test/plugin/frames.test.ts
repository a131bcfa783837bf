import { Writable } from 'node:stream'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { CloseCode } from '../../protocol/index.ts'
import { bearer, connect, manualClock, sign, startServer } from '../helpers.ts'

t.test('protocol frames after authentication', async (t) => {
  const server = await startServer(t, { plugin: { maxRenewalFailures: 5 } })
  const client = connect(server.url, bearer(sign()))
  await client.frame('authenticated')
  const cases: Array<[string, unknown]> = [
    ['renew without token', { type: 'renew' }],
    ['renew with a numeric token', { type: 'renew', token: 42 }],
    ['a second auth', { type: 'auth', token: sign() }],
    ['a server frame type', { type: 'renewed', expiresAt: 1, expiresIn: 1 }]
  ]
  for (const [name, frame] of cases) {
    const from = client.messages.length
    client.send(frame)
    t.match(await client.frame('auth_error', from), { code: 'frame_invalid', closing: false }, name)
  }
  const passThrough: Array<[string, string]> = [
    ['text that mentions "renew but is not JSON', 'please "renew my subscription'],
    ['JSON with an application type that starts like a reserved one', '{"type":"renewal_stats","n":1}'],
    ['JSON with "authority" in it', '{"type":"chat","text":"\\"authority\\""}'],
    ['a JSON array', '["renew"]'],
    ['a JSON string', '"renew"']
  ]
  for (const [name, text] of passThrough) {
    let expected: unknown = text
    try { expected = JSON.parse(text) } catch {}
    client.send(text)
    await client.waitFor((m) => isDeepStrictEqual(m, expected))
    t.pass(`${name}: delivered to the application`)
  }
  client.socket.send(Buffer.from('{"type":"renew","token":"x"}'), { binary: true })
  await client.waitFor((m) => m === '{"type":"renew","token":"x"}')
  t.pass('binary frames always belong to the application')
  t.equal(client.socket.readyState, client.socket.OPEN)
  client.send({ type: 'renew' })
  t.same(await client.closed, { code: CloseCode.TooManyRequests, reason: 'renewal_attempts_exceeded' }, 'invalid frames count as failed renewals')
})

t.test('an oversized message closes with 1009, cleanly', async (t) => {
  const server = await startServer(t, { plugin: { websocket: { maxPayload: 1024 } } })
  for (let i = 0; i < 5; i++) {
    const client = connect(server.url, bearer(sign()))
    await client.frame('authenticated')
    client.send('x'.repeat(2048))
    t.equal((await client.closed).code, 1009, `attempt ${i}: 1009, not 1006`)
  }
  const healthy = connect(server.url, bearer(sign()))
  await healthy.frame('authenticated')
  healthy.send('ok')
  await healthy.waitFor((m) => m === 'ok')
  healthy.close()
})

t.test('auth-frame transport', async (t) => {
  const time = manualClock()
  const calls: string[] = []
  const server = await startServer(t, {
    route: { authFrame: true },
    plugin: { clock: time.clock, authTimeout: 5000, maxPreAuthPayload: 4096, refusal: 'status' },
    handler: (socket, request) => {
      calls.push(request.wsAuth.subject)
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    }
  })
  const token = () => sign({ exp: time.now() / 1000 + 60 })

  t.test('authenticates with the first frame; pipelined frames keep their order', async (t) => {
    const client = connect(server.url)
    await client.opened
    client.send({ type: 'auth', token: token() })
    client.send('one')
    client.send('two')
    t.match(await client.frame('authenticated'), { subject: 'alice' })
    await client.waitFor((m) => m === 'echo:two')
    const echoes = client.messages.filter((m) => typeof m === 'string')
    t.same(echoes, ['echo:one', 'echo:two'])
    t.same(calls, ['alice'])
    client.close()
  })

  t.test('the subprotocol still works on the same route', async (t) => {
    const client = connect(server.url, bearer(token()))
    await client.frame('authenticated')
    client.close()
  })

  const refusals: Array<[string, unknown, number, string | undefined]> = [
    ['a first frame that is not auth', { type: 'chat' }, CloseCode.BadRequest, 'frame_invalid'],
    ['not JSON', 'hello', CloseCode.BadRequest, 'frame_invalid'],
    ['auth without token', { type: 'auth' }, CloseCode.BadRequest, 'frame_invalid'],
    ['an expired token', { type: 'auth', token: sign({ exp: time.now() / 1000 - 1 }) }, CloseCode.Unauthorized, 'token_expired'],
    ['a forged token', { type: 'auth', token: sign({}, { key: 'y'.repeat(40) }) }, CloseCode.Unauthorized, 'token_signature_invalid'],
    ['a pre-auth message over the limit', 'x'.repeat(5000), 1009, undefined]
  ]
  for (const [name, frame, code, error] of refusals) {
    t.test(name, async (t) => {
      const client = connect(server.url)
      await client.opened
      client.send(frame)
      t.equal((await client.closed).code, code)
      if (error === undefined) t.same(client.frames('auth_error'), [])
      else t.match(client.frames('auth_error'), [{ code: error, closing: true }])
    })
  }

  t.test('a binary first frame', async (t) => {
    const client = connect(server.url)
    await client.opened
    client.socket.send(Buffer.from(JSON.stringify({ type: 'auth', token: token() })), { binary: true })
    t.equal((await client.closed).code, CloseCode.BadRequest)
  })

  t.test('no auth frame in time', async (t) => {
    const client = connect(server.url)
    await client.opened
    time.tick(4999)
    await new Promise((resolve) => setTimeout(resolve, 20))
    t.equal(client.socket.readyState, client.socket.OPEN, 'not before the timeout')
    time.tick(1)
    t.same(await client.closed, { code: CloseCode.Timeout, reason: 'auth_timeout' })
    t.match(client.frames('auth_error'), [{ code: 'auth_timeout', closing: true, retry: true }])
  })

  t.test('the handler ran only for authenticated sockets', async (t) => {
    t.same(calls, ['alice', 'alice'])
  })

  t.test('a route without authFrame refuses a handshake with no credential', async (t) => {
    const strict = await startServer(t, { plugin: { refusal: 'status' } })
    const client = connect(strict.url)
    t.match(await client.refused, { status: 401, body: { code: 'credential_missing' } })
  })
})

t.test('no token, cookie or query credential reaches the log, even at trace level', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, callback) { lines.push(chunk.toString()); callback() } })
  const origin = 'http://app.test'
  const server = await startServer(t, {
    fastify: { logger: { level: 'trace', stream } },
    plugin: { cookie: { name: 'access_token' }, allowedOrigins: [origin], renewBefore: 60_000 }
  })
  const tokens = [sign({ sid: 'log-1' }), sign({ sid: 'log-2' }), sign({ sid: 'log-3' }), sign({ exp: Date.now() / 1000 - 1 }), sign({}, { key: 'z'.repeat(40) })]
  const [first, second, third, expired, forged] = tokens as [string, string, string, string, string]
  const sub = connect(server.url, bearer(first))
  await sub.frame('authenticated')
  sub.send({ type: 'renew', token: sign({ sid: 'log-1', exp: Date.now() / 1000 + 120 }) })
  sub.send({ type: 'renew', token: second })
  await sub.frame('renewed')
  await sub.frame('auth_error')
  sub.close()
  const cookie = connect(server.url, undefined, { origin, headers: { cookie: `access_token=${third}` } })
  await cookie.frame('authenticated')
  cookie.close()
  await connect(server.url, bearer(expired)).closed
  await connect(server.url, bearer(forged), { origin }).closed
  await connect(`${server.url}?access_token=${first}`, bearer(first)).refused
  await connect(server.url, undefined, { origin: 'http://evil.test', headers: { cookie: `access_token=${third}` } }).refused
  await server.app.close()

  const log = lines.join('')
  t.ok(lines.length > 10, `captured ${lines.length} log lines`)
  t.match(log, /ws_auth\.accepted/)
  t.match(log, /ws_auth\.refused/)
  t.match(log, /ws_auth\.renewal_refused/)
  t.match(log, /access_token=\[redacted\]/, 'the query is redacted in the request log')
  for (const token of [...tokens, sign({ sid: 'log-1', exp: Date.now() / 1000 + 120 })]) {
    for (const part of token.split('.')) {
      if (part.length > 10) t.notOk(log.includes(part), 'no token segment in the log')
    }
  }
  t.notOk(log.includes('SECRET') || log.includes('test-secret'), 'no key in the log')
})
