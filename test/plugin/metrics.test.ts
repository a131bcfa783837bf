import diagnosticsChannel from 'node:diagnostics_channel'
import t from 'tap'
import { CHANNELS, MemoryRevocationStore, type MetricsEvent } from '../../plugin/index.ts'
import { TokenBucket } from '../../plugin/token-bucket.ts'
import { bearer, connect, manualClock, sign, startServer } from '../helpers.ts'

t.test('metrics and diagnostics channels follow a connection through its life', async (t) => {
  const events: Array<[string, MetricsEvent]> = []
  const subscriptions = Object.entries(CHANNELS).map(([name, channel]) => {
    const listener = (message: unknown): void => { events.push([name, message as MetricsEvent]) }
    diagnosticsChannel.subscribe(channel, listener)
    return () => diagnosticsChannel.unsubscribe(channel, listener)
  })
  t.after(() => { for (const unsubscribe of subscriptions) unsubscribe() })

  const time = manualClock()
  const server = await startServer(t, { plugin: { clock: time.clock, renewBefore: 1000, refusal: 'status' } })
  const token = (lifetime: number, claims: Record<string, unknown> = {}) => sign({ sid: 'm', exp: (time.now() + lifetime) / 1000, ...claims })
  await connect(server.url, bearer(sign({ exp: time.now() / 1000 - 1 }))).refused
  const client = connect(server.url, bearer(token(10_000)))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: token(20_000) })
  await client.frame('renewed')
  client.send({ type: 'renew', token: token(30_000, { sub: 'bob' }) })
  await client.frame('auth_error')
  time.tick(20_000)
  await client.closed

  const metrics = server.app.wsAuth.metrics()
  t.match(metrics, {
    connections: 0,
    accepted: 1,
    refused: { token_expired: 1 },
    renewed: 1,
    renewalRefused: { subject_mismatch: 1 },
    expired: 1,
    revoked: 0
  })
  t.equal(metrics.renewalLatencyMs.count, 1)
  t.equal(metrics.renewalLatencyMs.counts.length, metrics.renewalLatencyMs.buckets.length + 1)
  t.equal(metrics.expiryLatenessMs.count, 1)
  t.equal(metrics.expiryLatenessMs.max, 0, 'the manual clock fires exactly at the deadline')
  t.same(events.map(([name]) => name).filter((name) => name !== 'closed'),
    ['refused', 'accepted', 'renewed', 'renewalRefused', 'expired'])
  t.match(events.find(([name]) => name === 'renewalRefused')?.[1], { code: 'subject_mismatch', subject: 'alice' })
  t.notOk(JSON.stringify(events).includes('eyJ'), 'no token on any channel')
})

t.test('MemoryRevocationStore', async (t) => {
  const time = manualClock()
  const store = new MemoryRevocationStore({ clock: time.clock })
  store.revoke({ tokenId: 'j', expiresAt: time.now() + 1000 })
  store.revoke({ sessionId: 's', expiresAt: time.now() + 2000 })
  store.revoke({ subject: 'u', issuedBefore: time.now(), expiresAt: time.now() + 3000 })
  t.ok(store.isRevoked({ subject: 'x', tokenId: 'j' }))
  t.ok(store.isRevoked({ subject: 'x', sessionId: 's' }))
  t.ok(store.isRevoked({ subject: 'u', issuedAt: time.now() - 1 }))
  t.ok(store.isRevoked({ subject: 'u' }), 'no iat: covered')
  t.notOk(store.isRevoked({ subject: 'u', issuedAt: time.now() }), 'issued at the revocation time: not covered')
  t.notOk(store.isRevoked({ subject: 'x', tokenId: 'other', sessionId: 'other' }))
  time.tick(1000)
  t.notOk(store.isRevoked({ subject: 'x', tokenId: 'j' }), 'expired with the token it covered')
  t.ok(store.isRevoked({ subject: 'x', sessionId: 's' }))
  for (let i = 0; i < 10; i++) store.revoke({ subject: 'u', issuedBefore: time.now() + i, expiresAt: time.now() + 5000 + i })
  t.equal(store.size, 2, 'repeated subject revocations collapse into the widest one (plus the session entry)')
})

t.test('TokenBucket', async (t) => {
  const bucket = new TokenBucket({ max: 2, timeWindow: 1000 }, 0)
  t.same([bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, false])
  t.notOk(bucket.take(499), 'half a token is not a token')
  t.ok(bucket.take(500))
  t.same([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)], [true, true, false], 'refills up to max only')
})
