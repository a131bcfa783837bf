import t, { type Test } from 'tap'
import type { WebSocket } from 'ws'
import { CloseCode, ERRORS, type ErrorCode } from '../../protocol/index.ts'
import { bearer, connect, delay, manualClock, sign, startServer, until, type TestClient } from '../helpers.ts'

const S = 1000

/** Server on a manual clock; the handler echoes and reports renewals it observes through request.wsAuth. */
async function clockedServer (t: Test, options: { renewBefore?: number, maxRenewalFailures?: number, renewalLimit?: false } = {}) {
  const time = manualClock()
  const sockets: WebSocket[] = []
  const server = await startServer(t, {
    plugin: { clock: time.clock, renewBefore: options.renewBefore ?? 40 * S, maxRenewalFailures: options.maxRenewalFailures, renewalLimit: options.renewalLimit },
    handler: (socket, request) => {
      sockets.push(socket)
      request.wsAuth.on('renewed', (claims) => { socket.send(JSON.stringify({ type: 'app.renewed', scope: claims.scope, expiresAt: request.wsAuth.expiresAt })) })
      socket.on('message', (data) => { socket.send(`echo:${data.toString()}`) })
    }
  })
  const T0 = time.now()
  const token = (claims: Record<string, unknown> = {}, lifetimeMs = 100 * S) => sign({ exp: (T0 + lifetimeMs) / 1000, sid: 'sess-1', ...claims })
  return { ...server, ...time, T0, token, sockets }
}

/** Round trip through the echo handler: everything the server sent before it has arrived. */
async function sync (client: TestClient, tag: string): Promise<void> {
  client.send(tag)
  await client.waitFor((m) => m === `echo:${tag}`)
}

t.test('renew_required is sent renewBefore ahead of the deadline', async (t) => {
  const s = await clockedServer(t)
  const client = connect(s.url, bearer(s.token()))
  const authenticated = await client.frame('authenticated')
  t.equal(authenticated.expiresAt, s.T0 + 100 * S)
  t.equal(authenticated.expiresIn, 100 * S)
  s.tick(60 * S - 1)
  await sync(client, 'a')
  t.same(client.frames('renew_required'), [], 'not one ms early')
  s.tick(1)
  t.same(await client.frame('renew_required'), { type: 'renew_required', expiresAt: s.T0 + 100 * S, expiresIn: 40 * S })
  client.close()
})

t.test('a lead time longer than half the remaining lifetime asks at the midpoint, not at once', async (t) => {
  // Asked at once, a client would renew the moment each short-lived token is installed, in a loop.
  const s = await clockedServer(t, { renewBefore: 200 * S })
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  s.tick(50 * S - 1)
  await sync(client, 'a')
  t.same(client.frames('renew_required'), [], 'not before the midpoint')
  s.tick(1)
  t.same(await client.frame('renew_required'), { type: 'renew_required', expiresAt: s.T0 + 100 * S, expiresIn: 50 * S })
  client.send({ type: 'renew', token: s.token({}, 110 * S), id: 'r' })
  t.same(await client.frame('renewed'), { type: 'renewed', id: 'r', expiresAt: s.T0 + 110 * S, expiresIn: 60 * S })
  s.tick(30 * S - 1)
  await sync(client, 'b')
  t.equal(client.frames('renew_required').length, 1, 'once per credential, and not at once after renewed')
  s.tick(1)
  await client.waitFor((m) => (m as { type?: string, expiresIn?: number }).type === 'renew_required' && (m as { expiresIn?: number }).expiresIn === 30 * S)
  client.close()
})

t.test('renewal moves the deadline, updates claims, and restarts the cycle', async (t) => {
  const s = await clockedServer(t)
  const client = connect(s.url, bearer(s.token({ scope: 'a' })))
  await client.frame('authenticated')
  s.tick(60 * S)
  await client.frame('renew_required')
  client.send({ type: 'renew', token: s.token({ scope: 'b' }, 200 * S), id: 'r1' })
  t.same(await client.frame('renewed'), { type: 'renewed', id: 'r1', expiresAt: s.T0 + 200 * S, expiresIn: 140 * S })
  t.same(await client.frame('app.renewed'), { type: 'app.renewed', scope: 'b', expiresAt: s.T0 + 200 * S }, 'handler sees new claims')
  s.tick(40 * S)
  await sync(client, 'past-old-deadline')
  t.equal(client.socket.readyState, client.socket.OPEN, 'open past the old deadline')
  s.tick(60 * S - 1)
  await sync(client, 'b')
  t.equal(client.frames('renew_required').length, 1)
  s.tick(1)
  await client.frame('renew_required', client.messages.indexOf(client.frames('renew_required')[0]) + 1)
  s.tick(40 * S)
  const closed = await client.closed
  t.equal(closed.code, CloseCode.CredentialExpired)
  t.equal(closed.reason, 'credential_expired')
})

t.test('a client that does not renew is closed at its deadline', async (t) => {
  const s = await clockedServer(t)
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  s.tick(100 * S - 1)
  await sync(client, 'still-open')
  s.tick(1)
  t.same(await client.closed, { code: CloseCode.CredentialExpired, reason: 'credential_expired' })
  t.same(client.messages.at(-1), { type: 'auth_error', code: 'credential_expired', message: 'The credential expired without a valid renewal', closing: true, retry: true })
  t.equal(s.app.wsAuth.size, 0, 'unregistered')
})

t.test('refused renewals keep the old deadline', async (t) => {
  const s = await clockedServer(t, { maxRenewalFailures: 10, renewalLimit: false })
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  const attempts: Array<[string, string, ErrorCode]> = [
    ['another subject', s.token({ sub: 'bob' }, 200 * S), 'subject_mismatch'],
    ['another session', s.token({ sid: 'sess-2' }, 200 * S), 'subject_mismatch'],
    ['no session', s.token({ sid: undefined }, 200 * S), 'subject_mismatch'],
    ['an earlier expiry (stale, e.g. replayed)', s.token({}, 50 * S), 'token_stale'],
    ['a bad signature', sign({ exp: (s.T0 + 200 * S) / 1000, sid: 'sess-1' }, { key: 'x'.repeat(40) }), 'token_signature_invalid'],
    ['an expired token', s.token({}, -1), 'token_expired']
  ]
  for (const [name, token, code] of attempts) {
    const from = client.messages.length
    client.send({ type: 'renew', token, id: name.slice(0, 20) })
    const expected = { type: 'auth_error', code, message: ERRORS[code].message, closing: false, retry: ERRORS[code].retry, id: name.slice(0, 20) }
    t.same(await client.frame('auth_error', from), expected, name)
  }
  t.same(client.frames('renewed'), [])
  s.tick(100 * S - 1)
  await sync(client, 'open')
  s.tick(1)
  t.equal((await client.closed).code, CloseCode.CredentialExpired, 'closed at the original deadline')
})

t.test('too many failed renewals close the connection', async (t) => {
  const s = await clockedServer(t, { maxRenewalFailures: 3 })
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  for (let i = 0; i < 3; i++) client.send({ type: 'renew', token: s.token({ sub: 'bob' }) })
  t.same(await client.closed, { code: CloseCode.TooManyRequests, reason: 'renewal_attempts_exceeded' })
  t.same(client.frames('auth_error').map((f) => [f.code, f.closing]), [
    ['subject_mismatch', false], ['subject_mismatch', false], ['subject_mismatch', false], ['renewal_attempts_exceeded', true]
  ])
})

t.test('flow 3: the last allowed refusal is answered twice, then 4429', async (t) => {
  // SPEC.md flow 3: the renewal's own auth_error (with its id, closing: false), then
  // renewal_attempts_exceeded (closing: true, no id), then the close.
  const s = await clockedServer(t, { maxRenewalFailures: 2 })
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: s.token({ sub: 'bob' }), id: 'r1' })
  client.send({ type: 'renew', token: s.token({ sub: 'bob' }), id: 'r2' })
  t.same(await client.closed, { code: CloseCode.TooManyRequests, reason: 'renewal_attempts_exceeded' })
  const refusal = (id: string) => ({ type: 'auth_error', code: 'subject_mismatch', message: ERRORS.subject_mismatch.message, closing: false, retry: false, id })
  t.same(client.messages.slice(1), [
    refusal('r1'),
    refusal('r2'),
    { type: 'auth_error', code: 'renewal_attempts_exceeded', message: ERRORS.renewal_attempts_exceeded.message, closing: true, retry: true }
  ])
})

t.test('a server-only frame from the client: frame_invalid, closing: false, echoing its id, counted as a failed renewal', async (t) => {
  for (const type of ['authenticated', 'renew_required', 'renewed', 'auth_error', 'auth']) {
    const s = await clockedServer(t, { maxRenewalFailures: 2 })
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    client.send({ type, id: 'x1', expiresAt: 1, expiresIn: 1 })
    t.same(await client.frame('auth_error'), { type: 'auth_error', code: 'frame_invalid', message: ERRORS.frame_invalid.message, closing: false, retry: false, id: 'x1' }, type)
    client.send({ type, id: 'x2' })
    t.same(await client.closed, { code: CloseCode.TooManyRequests, reason: 'renewal_attempts_exceeded' }, `${type}: the second one reaches maxRenewalFailures`)
  }
})

t.test('a renewal refused as forbidden keeps the connection to its current deadline', async (t) => {
  // SPEC.md section 8: a refused renewal never shortens the credential the connection already
  // has; it only declines to extend it. Cutting access at once is revocation's job.
  const time = manualClock()
  const server = await startServer(t, {
    plugin: { clock: time.clock, renewBefore: 40 * S },
    route: { authorize: (claims) => claims.scope === 'feed' }
  })
  const T0 = time.now()
  const client = connect(server.url, bearer(sign({ exp: (T0 + 100 * S) / 1000, scope: 'feed' })))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: sign({ exp: (T0 + 200 * S) / 1000, scope: 'none' }), id: 'f' })
  t.same(await client.frame('auth_error'), { type: 'auth_error', code: 'forbidden', message: ERRORS.forbidden.message, closing: false, retry: false, id: 'f' })
  time.tick(100 * S - 1)
  client.send('still')
  await client.waitFor((m) => m === 'still')
  time.tick(1)
  t.same(await client.closed, { code: CloseCode.CredentialExpired, reason: 'credential_expired' }, 'closed at the deadline it had')
})

t.test('a successful renewal resets the failure count', async (t) => {
  const s = await clockedServer(t, { maxRenewalFailures: 2 })
  const client = connect(s.url, bearer(s.token()))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: s.token({ sub: 'bob' }) })
  client.send({ type: 'renew', token: s.token({}, 150 * S) })
  await client.frame('renewed')
  client.send({ type: 'renew', token: s.token({ sub: 'bob' }) })
  await sync(client, 'x')
  t.equal(client.socket.readyState, client.socket.OPEN)
  client.close()
})

t.test('no application message crosses the deadline, even when the timer is late', async (t) => {
  t.test('inbound', async (t) => {
    const s = await clockedServer(t)
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    await sync(client, 'before')
    s.setTime(s.T0 + 100 * S) // the deadline, without firing the timer
    client.send('after')
    t.equal((await client.closed).code, CloseCode.CredentialExpired)
    t.notOk(client.messages.includes('echo:after'), 'not delivered to the handler')
  })
  t.test('outbound', async (t) => {
    const s = await clockedServer(t)
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    await sync(client, 'before')
    s.setTime(s.T0 + 100 * S)
    s.sockets[0]?.send('late')
    t.equal((await client.closed).code, CloseCode.CredentialExpired)
    t.notOk(client.messages.includes('late'), 'not delivered to the client')
  })
  t.test('a renewal racing expiry has one outcome: expired', async (t) => {
    const s = await clockedServer(t)
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    s.setTime(s.T0 + 100 * S)
    client.send({ type: 'renew', token: s.token({}, 200 * S) })
    t.equal((await client.closed).code, CloseCode.CredentialExpired)
    t.same(client.frames('renewed'), [])
  })
})

t.test('application messages keep their order across renewals (real clock)', async (t) => {
  const server = await startServer(t, { plugin: { renewBefore: 0, renewalLimit: false } })
  const client = connect(server.url, bearer(sign({ sid: 's' })))
  await client.frame('authenticated')
  const total = 400
  for (let i = 0; i < total; i++) {
    if (i % 50 === 25) client.send({ type: 'renew', token: sign({ sid: 's', exp: Date.now() / 1000 + 60 + i }), id: `r${i}` })
    client.send({ type: 'chat', seq: i })
  }
  await client.waitFor((m) => typeof m === 'object' && m !== null && (m as { seq?: number }).seq === total - 1)
  const seqs = client.messages.filter((m) => typeof m === 'object' && m !== null && (m as { type?: string }).type === 'chat').map((m) => (m as { seq: number }).seq)
  t.same(seqs, Array.from({ length: total }, (_, i) => i), 'every message, in order')
  t.equal(client.frames('renewed').length, 8, 'every renewal answered')
  client.close()
})

t.test('a credential valid for months does not misfire (setTimeout clamping)', async (t) => {
  const server = await startServer(t)
  const client = connect(server.url, bearer(sign({ exp: Date.now() / 1000 + 60 * 24 * 3600 })))
  await client.frame('authenticated')
  await new Promise((resolve) => setTimeout(resolve, 50))
  client.send('still here')
  await client.waitFor((m) => m === 'still here')
  t.equal(client.socket.readyState, client.socket.OPEN)
  client.close()
})

t.test('the application closes connections by subject, session or id', async (t) => {
  const server = await startServer(t)
  const a1 = connect(server.url, bearer(sign({ sub: 'alice', sid: 'a-1' })))
  const a2 = connect(server.url, bearer(sign({ sub: 'alice', sid: 'a-2' })))
  const b1 = connect(server.url, bearer(sign({ sub: 'bob', sid: 'b-1' })))
  const b2 = connect(server.url, bearer(sign({ sub: 'bob', sid: 'b-2' })))
  const ids = await Promise.all([a1, a2, b1, b2].map(async (c) => (await c.frame('authenticated')).connectionId as string))
  t.equal(server.app.wsAuth.size, 4)
  t.equal(server.app.wsAuth.close({ sessionId: 'a-1' }), 1)
  t.same(await a1.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' })
  t.match(a1.frames('auth_error'), [{ code: 'credential_revoked', closing: true, retry: false }])
  t.equal(server.app.wsAuth.close({ subject: 'bob', sessionId: 'b-1' }), 1)
  t.equal((await b1.closed).code, CloseCode.CredentialRevoked)
  t.equal(server.app.wsAuth.close({ connectionId: ids[3] as string }, { code: 'forbidden', message: 'Your role changed' }), 1)
  t.same(await b2.closed, { code: CloseCode.Forbidden, reason: 'forbidden' })
  t.match(b2.frames('auth_error'), [{ code: 'forbidden', message: 'Your role changed' }])
  t.equal(server.app.wsAuth.close({ subject: 'nobody' }), 0)
  t.equal(server.app.wsAuth.close({}), 0, 'an empty selector closes nothing')
  t.equal(server.app.wsAuth.size, 1)
  t.equal(server.app.wsAuth.close({ subject: 'alice' }), 1)
  t.equal((await a2.closed).code, CloseCode.CredentialRevoked)
  t.equal(server.app.wsAuth.size, 0)
})

t.test('server shutdown closes authenticated connections with 1001', async (t) => {
  const server = await startServer(t)
  const client = connect(server.url, bearer(sign()))
  await client.frame('authenticated')
  await server.app.close()
  t.same(await client.closed, { code: 1001, reason: 'server_shutdown' })
  t.equal(server.app.wsAuth.size, 0)
})

t.test('server-side renewal (as cookie mode uses it): fastify.wsAuth.renew', async (t) => {
  const s = await clockedServer(t)
  const live = connect(s.url, bearer(s.token()))
  const authenticated = await live.frame('authenticated')
  const other = connect(s.url, bearer(s.token({ sid: 'sess-2' })))
  await other.frame('authenticated')

  const refused = await s.app.wsAuth.renew({ sessionId: 'sess-1' }, s.token({ sub: 'bob' }, 200 * S))
  t.same([...refused.values()], ['subject_mismatch'], 'a refusal is returned to the caller')
  const stale = await s.app.wsAuth.renew({ sessionId: 'sess-1' }, s.token({}, 50 * S))
  t.same([...stale.values()], ['token_stale'])
  await sync(live, 'after-refusals')
  t.same(live.frames('auth_error'), [], 'and not sent to the client')

  const results = await s.app.wsAuth.renew({ sessionId: 'sess-1' }, s.token({}, 200 * S))
  t.same([...results.values()], [undefined], 'renewed')
  const renewed = await live.frame('renewed')
  t.equal(renewed.expiresAt, s.T0 + 200 * S)
  t.notOk('id' in renewed, 'no request id: the client did not ask')
  t.ok((renewed.expiresAt as number) > (authenticated.expiresAt as number))
  await sync(other, 'other')
  t.same(other.frames('renewed'), [], 'another session is untouched')
  t.same([...(await s.app.wsAuth.renew({ sessionId: 'nobody' }, s.token())).keys()], [], 'no connection: an empty result')
  live.close()
  other.close()
})

t.test('a peer that never answers the close frame is cut off closeTimeout after the close, on the plugin\'s clock', async (t) => {
  const time = manualClock()
  const s = await startServer(t, { plugin: { clock: time.clock, closeTimeout: 3 * S } })
  const serverSockets = (): WebSocket[] => [...s.app.websocketServer.clients]
  for (const [what, close] of [
    ['expired', () => { time.tick(10 * S) }],
    ['revoked', async () => { t.equal(await s.app.wsAuth.revoke({ sessionId: 'mute' }), 1) }],
    ['shut down', () => { for (const c of s.app.wsAuth.connections()) c.shutdown() }]
  ] as const) {
    // The revoked session stays revoked: every case has its own.
    const client = connect(s.url, bearer(sign({ sid: what === 'revoked' ? 'mute' : `other-${what}`, exp: (time.now() + 10 * S) / 1000 })))
    await client.frame('authenticated')
    // Reading nothing more, the client never sees the close frame, so never answers it.
    client.socket.pause()
    await close()
    await until(() => serverSockets().length === 1 && serverSockets()[0]?.readyState === 2)
    await delay(50)
    t.equal(serverSockets()[0]?.readyState, 2, `${what}: still closing while the clock stands`)
    time.tick(3 * S - 1)
    await delay(20)
    t.equal(serverSockets()[0]?.readyState, 2, `${what}: still closing 1 ms before the close timeout`)
    time.tick(1)
    await until(() => serverSockets().length === 0)
    t.pass(`${what}: cut off at the close timeout`)
    client.socket.terminate()
  }
})
