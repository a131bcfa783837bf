import t from 'tap'
import { CloseCode } from '../../protocol/index.ts'
import type { RevocationStore } from '../../plugin/index.ts'
import { bearer, connect, delay, manualClock, sign, startServer, until } from '../helpers.ts'
import { closedWith, refusedWith, stillServing } from './harness.ts'

const S = 1000

async function clocked (t: Parameters<typeof startServer>[0], plugin: Parameters<typeof startServer>[1] = {}) {
  const time = manualClock()
  const server = await startServer(t, { ...plugin, plugin: { clock: time.clock, renewBefore: 10 * S, ...plugin.plugin } })
  const token = (claims: Record<string, unknown> = {}, lifetime = 60 * S) => sign({ sid: 's1', exp: (time.now() + lifetime) / 1000, ...claims })
  return { ...server, ...time, token }
}

t.test('live renewal attacks', async (t) => {
  t.test('renew racing expiry: exactly one outcome', async (t) => {
    const s = await clocked(t)
    const client = connect(s.url, bearer(s.token({}, 60 * S)))
    await client.frame('authenticated')
    const fresh = s.token({}, 120 * S)
    // The clock reaches the deadline before the renewal is read: it must not revive the connection.
    s.setTime(s.now() + 60 * S)
    client.send({ type: 'renew', token: fresh, id: 'late' })
    await closedWith(t, client, CloseCode.CredentialExpired, 'credential_expired')
    t.same(client.frames('renewed'), [], 'no renewed after the deadline')
    t.same(client.frames('auth_error').map((f) => f.code), ['credential_expired'])
    await stillServing(t, s)
  })

  t.test('a renewal with an earlier exp is stale', async (t) => {
    const s = await clocked(t)
    const client = connect(s.url, bearer(s.token({}, 60 * S)))
    await client.frame('authenticated')
    client.send({ type: 'renew', token: s.token({}, 30 * S), id: 'r' })
    t.match(await client.frame('auth_error'), { code: 'token_stale', closing: false, id: 'r' })
    await stillServing(t, s)
  })

  t.test('a replayed renewal does not extend the deadline again', async (t) => {
    const s = await clocked(t)
    const client = connect(s.url, bearer(s.token({}, 60 * S)))
    await client.frame('authenticated')
    const fresh = s.token({}, 90 * S)
    client.send({ type: 'renew', token: fresh, id: 'a' })
    const first = await client.frame('renewed')
    client.send({ type: 'renew', token: fresh, id: 'b' })
    const second = await client.waitFor((m) => (m as { id?: string }).id === 'b')
    t.equal((second as { expiresAt: number }).expiresAt, first.expiresAt, 'same deadline')
    await stillServing(t, s)
  })

  t.test('a renewal flood is refused without verification and closes with 4429', async (t) => {
    const s = await clocked(t, { plugin: { renewalLimit: { max: 2, timeWindow: 60_000 }, maxRenewalFailures: 3 } })
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    for (let i = 0; i < 50; i++) client.send({ type: 'renew', token: s.token({}, 61 * S + i), id: `f${i}` })
    await closedWith(t, client, CloseCode.TooManyRequests, 'renewal_attempts_exceeded')
    t.same(client.frames('renewed').map((f) => f.id), ['f0', 'f1'], 'only the budget was verified')
    t.same(client.frames('auth_error').map((f) => f.code), ['renewal_rate_limited', 'renewal_rate_limited', 'renewal_rate_limited', 'renewal_attempts_exceeded'])
    t.match(s.app.wsAuth.metrics().rateLimited, { renewal_rate_limited: 3 })
    await stillServing(t, s)
  })

  t.test('a renewal that removes a required scope is refused; the old deadline stays', async (t) => {
    const s = await clocked(t, { route: { authorize: (claims) => typeof claims.scope === 'string' && claims.scope.includes('feed') } })
    const client = connect(s.url, bearer(s.token({ scope: 'feed' })))
    const authenticated = await client.frame('authenticated')
    client.send({ type: 'renew', token: s.token({ scope: 'profile' }, 120 * S), id: 'drop' })
    t.match(await client.frame('auth_error'), { code: 'forbidden', closing: false, id: 'drop' })
    s.tick(60 * S)
    await closedWith(t, client, CloseCode.CredentialExpired, 'credential_expired')
    t.equal(authenticated.expiresAt, s.now(), 'closed at the original deadline')
    await stillServing(t, s, { claims: { scope: 'feed' } })
  })

  t.test('a renewal for another subject', async (t) => {
    const s = await clocked(t)
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    client.send({ type: 'renew', token: s.token({ sub: 'mallory' }, 120 * S) })
    t.match(await client.frame('auth_error'), { code: 'subject_mismatch', closing: false })
    await stillServing(t, s)
  })

  t.test('a renew whose type is JSON-escaped is a renewal, never an application message', async (t) => {
    const s = await clocked(t)
    const client = connect(s.url, bearer(s.token()))
    await client.frame('authenticated')
    const escaped = `{"type":"\\u0072enew","token":"${s.token({}, 120 * S)}","id":"esc"}`
    client.send(escaped)
    t.match(await client.frame('renewed'), { id: 'esc', expiresIn: 120 * S }, 'renewed')
    await stillServing(t, s)
    t.notOk(client.messages.some((m) => typeof m === 'object' && m !== null && 'token' in m), 'not echoed by the application handler')
  })
})

t.test('revocation', async (t) => {
  t.test('revoking a session closes its live connections at once with 4441', async (t) => {
    const server = await startServer(t, { plugin: { refusal: 'status' } })
    const victim = connect(server.url, bearer(sign({ sid: 'gone' })))
    const bystander = connect(server.url, bearer(sign({ sid: 'kept' })))
    await victim.frame('authenticated')
    await bystander.frame('authenticated')
    t.equal(await server.app.wsAuth.revoke({ sessionId: 'gone' }), 1)
    t.match(await victim.frame('auth_error'), { code: 'credential_revoked', closing: true, retry: false })
    await closedWith(t, victim, CloseCode.CredentialRevoked, 'credential_revoked')
    t.equal(bystander.socket.readyState, bystander.socket.OPEN)
    await refusedWith(t, connect(server.url, bearer(sign({ sid: 'gone' }))), 401, 'credential_revoked')
    t.match(server.app.wsAuth.metrics(), { revoked: 1, refused: { credential_revoked: 1 } })
    bystander.close()
    await stillServing(t, server)
  })

  t.test('a revoked token id is refused at the handshake', async (t) => {
    const server = await startServer(t, { plugin: { refusal: 'status' } })
    await server.app.wsAuth.revoke({ tokenId: 'jti-1', expiresAt: Date.now() + 60_000 })
    await refusedWith(t, connect(server.url, bearer(sign({ jti: 'jti-1' }))), 401, 'credential_revoked')
    const other = connect(server.url, bearer(sign({ jti: 'jti-2' })))
    await other.frame('authenticated')
    other.close()
  })

  t.test('a subject revoked before a time: older tokens refused, newer accepted', async (t) => {
    const server = await startServer(t, { plugin: { refusal: 'status' } })
    const now = Date.now()
    const old = connect(server.url, bearer(sign({ sub: 'erin', iat: now / 1000 - 10 })))
    await old.frame('authenticated')
    await server.app.wsAuth.revoke({ subject: 'erin', issuedBefore: now })
    await closedWith(t, old, CloseCode.CredentialRevoked, 'credential_revoked')
    await refusedWith(t, connect(server.url, bearer(sign({ sub: 'erin', iat: now / 1000 - 5 }))), 401, 'credential_revoked')
    await refusedWith(t, connect(server.url, bearer(sign({ sub: 'erin' }))), 401, 'credential_revoked')
    const fresh = connect(server.url, bearer(sign({ sub: 'erin', iat: now / 1000 + 1 })))
    t.equal((await fresh.frame('authenticated')).subject, 'erin', 'a token issued after the revocation')
    fresh.close()
  })

  t.test('a renewal with a token of a revoked session closes the connection', async (t) => {
    const server = await startServer(t)
    const client = connect(server.url, bearer(sign({ sid: 'a', jti: 'first' })))
    await client.frame('authenticated')
    // Revoke only the next token's id: the live credential is untouched until it renews.
    await server.app.wsAuth.revoke({ tokenId: 'second' })
    t.equal(client.socket.readyState, client.socket.OPEN)
    client.send({ type: 'renew', token: sign({ sid: 'a', jti: 'second', exp: Date.now() / 1000 + 120 }) })
    await closedWith(t, client, CloseCode.CredentialRevoked, 'credential_revoked')
  })

  t.test('a revocation landing between verification and registration still closes the socket', async (t) => {
    let release: (() => void) | undefined
    const server = await startServer(t, {
      route: { authorize: (claims) => claims.sub !== 'slow' || new Promise<boolean>((resolve) => { release = () => { resolve(true) } }) }
    })
    const client = connect(server.url, bearer(sign({ sub: 'slow', sid: 'racy' })))
    await until(() => release !== undefined)
    t.equal(await server.app.wsAuth.revoke({ sessionId: 'racy' }), 0, 'nothing live to close yet')
    ;(release as () => void)()
    t.match(await client.frame('auth_error'), { code: 'credential_revoked', closing: true })
    await closedWith(t, client, CloseCode.CredentialRevoked, 'credential_revoked')
    t.equal(server.app.wsAuth.size, 0)
    await stillServing(t, server)
  })

  const failing: Array<[string, RevocationStore]> = [
    ['throws', { revoke () {}, isRevoked () { throw new Error('store down') } }],
    ['rejects', { revoke () {}, isRevoked: () => Promise.reject(new Error('store down')) }],
    ['answers something else than a boolean', { revoke () {}, isRevoked: () => Promise.resolve('maybe' as unknown as boolean) }]
  ]
  for (const [name, store] of failing) {
    t.test(`a store that ${name}: handshakes fail closed with 503 revocation_unavailable`, async (t) => {
      const strict = await startServer(t, { plugin: { revocationStore: store, refusal: 'status' } })
      await refusedWith(t, connect(strict.url, bearer(sign())), 503, 'revocation_unavailable')
      // refusal 'auto': a protocol client (wsauth.v1 offered) and a browser (Origin) get auth_error and a close.
      const server = await startServer(t, { plugin: { revocationStore: store } })
      const protocolClient = connect(server.url, bearer(sign()))
      t.match(await protocolClient.frame('auth_error'), { code: 'revocation_unavailable', retry: true })
      await closedWith(t, protocolClient, CloseCode.ServiceUnavailable, 'revocation_unavailable')
      const browser = connect(server.url, bearer(sign()), { headers: { origin: 'http://app.test' } })
      t.match(await browser.frame('auth_error'), { code: 'revocation_unavailable', retry: true })
      await closedWith(t, browser, CloseCode.ServiceUnavailable, 'revocation_unavailable')
    })
  }

  t.test('a store that never answers: handshake_timeout', async (t) => {
    const server = await startServer(t, { plugin: { refusal: 'status', handshakeTimeout: 50, revocationStore: { revoke () {}, isRevoked: () => new Promise<boolean>(() => {}) } } })
    await refusedWith(t, connect(server.url, bearer(sign())), 503, 'handshake_timeout')
  })

  t.test('revocation entries expire with the tokens they cover', async (t) => {
    const s = await clocked(t, { plugin: { refusal: 'status' } })
    await s.app.wsAuth.revoke({ sessionId: 'old', expiresAt: s.now() + 30 * S })
    await refusedWith(t, connect(s.url, bearer(s.token({ sid: 'old' }))), 401, 'credential_revoked')
    s.tick(30 * S)
    const client = connect(s.url, bearer(s.token({ sid: 'old' })))
    t.equal((await client.frame('authenticated')).sessionId, 'old', 'accepted once the entry expired')
    client.close()
  })

  t.test('a malformed revocation is an error of the caller', async (t) => {
    const server = await startServer(t, { plugin: { refusal: 'status' } })
    await t.rejects(server.app.wsAuth.revoke({} as never), { code: 'FST_WS_AUTH_INVALID_REVOCATION' })
    await t.rejects(server.app.wsAuth.revoke({ subject: 'x' } as never), { code: 'FST_WS_AUTH_INVALID_REVOCATION', message: /issuedBefore/ })
    await t.rejects(server.app.wsAuth.revoke({ sessionId: 's', tokenId: 't' } as never), { code: 'FST_WS_AUTH_INVALID_REVOCATION' })
    await delay(1)
    await stillServing(t, server)
  })
})
