import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { ClusterCommand, Revocation, StoreListener } from '../../plugin/index.ts'
import { RedisConnectionCounter, RedisRevocationStore, RedisUnavailableError } from '../../redis/index.ts'
import { decode, encode } from '../../redis/messages.ts'
import { until } from '../helpers.ts'
import { RedisServer, redisSkip } from './server.ts'

const HOUR = 3_600_000

function recorder (): StoreListener & { revocations: Revocation[], commands: ClusterCommand[], resyncs: number } {
  const seen = {
    revocations: [] as Revocation[],
    commands: [] as ClusterCommand[],
    resyncs: 0,
    revoked (revocation: Revocation) { seen.revocations.push(revocation) },
    command (command: ClusterCommand) { seen.commands.push(command) },
    resync () { seen.resyncs++ }
  }
  return seen
}

t.test('channel messages', async (t) => {
  const revoked = { v: 1, origin: 'a', kind: 'revoked', revocation: { sessionId: 's1', expiresAt: 5 } } as const
  t.same(decode(encode(revoked)), revoked, 'a revocation round-trips')
  const close = { v: 1, origin: 'a', kind: 'command', command: { type: 'close', selector: { subject: 'u' }, code: 'forbidden', message: 'bye' } } as const
  t.same(decode(encode(close)), close, 'a close command round-trips')
  const renew = { v: 1, origin: 'a', kind: 'command', command: { type: 'renew', selector: { sessionId: 's' }, token: 'x.y.z' } } as const
  t.same(decode(encode(renew)), renew, 'a renew command round-trips')
  for (const bad of [
    'not json', 'null', '[]', '{"v":2,"origin":"a","kind":"revoked","revocation":{"sessionId":"s","expiresAt":1}}',
    '{"v":1,"kind":"revoked","revocation":{"sessionId":"s","expiresAt":1}}',
    '{"v":1,"origin":"a","kind":"revoked","revocation":{"sessionId":"s"}}',
    '{"v":1,"origin":"a","kind":"revoked","revocation":{"subject":"u","expiresAt":1}}',
    '{"v":1,"origin":"a","kind":"command","command":{"type":"close","selector":{},"code":"forbidden"}}',
    '{"v":1,"origin":"a","kind":"command","command":{"type":"close","selector":{"subject":"u"},"code":"made_up"}}',
    '{"v":1,"origin":"a","kind":"command","command":{"type":"close","selector":{"subject":7},"code":"forbidden"}}',
    '{"v":1,"origin":"a","kind":"command","command":{"type":"renew","selector":{"subject":"u"},"token":""}}',
    '{"v":1,"origin":"a","kind":"command","command":{"type":"explode","selector":{"subject":"u"}}}'
  ]) {
    t.equal(decode(bad), undefined, `ignored: ${bad.slice(0, 60)}`)
  }
})

t.test('RedisRevocationStore against a real redis-server', { skip: redisSkip }, async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.close())
  const redis = server.client()
  t.teardown(() => { redis.disconnect() })
  const prefix = `t${randomUUID().slice(0, 8)}:`
  const store = new RedisRevocationStore({ redis, prefix })
  t.teardown(() => store.close())
  await until(() => redis.status === 'ready')

  t.test('token id and session: revoked until expiresAt, which becomes the key\'s expiry', async (t) => {
    const expiresAt = Date.now() + HOUR
    await store.revoke({ tokenId: 'jti-1', expiresAt })
    await store.revoke({ sessionId: 'sid-1', expiresAt })
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'jti-1' }), true)
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'jti-2' }), false)
    t.equal(await store.isRevoked({ subject: 'u', sessionId: 'sid-1' }), true)
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'jti-2', sessionId: 'sid-2' }), false)
    t.equal(await redis.pexpiretime(`${prefix}revoked:jti:jti-1`), expiresAt, 'PXAT expiresAt')
    await store.revoke({ tokenId: 'jti-old', expiresAt: Date.now() - 1000 })
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'jti-old' }), false, 'an entry already past its expiry is not kept')
  })

  t.test('subject: tokens issued before issuedBefore; merges keep the larger bound and the later expiry', async (t) => {
    const now = Date.now()
    await store.revoke({ subject: 'alice', issuedBefore: now, expiresAt: now + HOUR })
    t.equal(await store.isRevoked({ subject: 'alice', issuedAt: now - 1 }), true)
    t.equal(await store.isRevoked({ subject: 'alice', issuedAt: now }), false, 'issued at the bound: not covered')
    t.equal(await store.isRevoked({ subject: 'alice' }), true, 'no iat: covered')
    t.equal(await store.isRevoked({ subject: 'bob', issuedAt: now - 1 }), false)
    await store.revoke({ subject: 'alice', issuedBefore: now - 5000, expiresAt: now + 2 * HOUR })
    t.equal(await store.isRevoked({ subject: 'alice', issuedAt: now - 1 }), true, 'a smaller bound does not shrink the entry')
    t.equal(await redis.pexpiretime(`${prefix}revoked:sub:alice`), now + 2 * HOUR, 'the later expiry wins')
    await store.revoke({ subject: 'alice', issuedBefore: now + 1000, expiresAt: now + HOUR })
    t.equal(await store.isRevoked({ subject: 'alice', issuedAt: now + 500 }), true, 'a larger bound extends it')
    t.equal(await redis.pexpiretime(`${prefix}revoked:sub:alice`), now + 2 * HOUR, 'and the expiry never shortens')
  })

  t.test('instances hear each other, never themselves; malformed messages are reported and ignored', async (t) => {
    const errors: Error[] = []
    const other = new RedisRevocationStore({ redis, prefix, onError: (error) => { errors.push(error) } })
    t.teardown(() => other.close())
    const here = recorder()
    const there = recorder()
    t.teardown(store.subscribe(here))
    t.teardown(other.subscribe(there))
    await until(async () => (await redis.pubsub('NUMSUB', store.channel) as [string, number])[1] === 2)
    const revocation = { sessionId: 'sid-heard', expiresAt: Date.now() + HOUR }
    await store.revoke(revocation)
    await store.publish({ type: 'close', selector: { subject: 'u' }, code: 'forbidden' })
    await until(() => there.commands.length === 1)
    t.same(there.revocations, [revocation], 'the other instance heard the revocation')
    t.same(there.commands, [{ type: 'close', selector: { subject: 'u' }, code: 'forbidden' }])
    await redis.publish(store.channel, '{"v":1,"origin":"x","kind":"command","command":{"type":"renew"}}')
    await until(() => errors.length > 0)
    t.match(errors[0]?.message, /malformed message/)
    t.same(here.revocations, [], 'its own revocation is not echoed back')
    t.same(here.commands, [])
    t.equal(there.commands.length, 1, 'the malformed one was not acted on')
  })

  t.test('after the channel drops, the listener is told to resync once it is subscribed again', async (t) => {
    const subscribers = async (): Promise<number> => (await redis.pubsub('NUMSUB', store.channel) as [string, number])[1]
    await until(async () => await subscribers() === 0)
    const listener = recorder()
    t.teardown(store.subscribe(listener))
    await until(async () => await subscribers() === 1)
    t.equal(listener.resyncs, 0, 'not on the first connection')
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await until(() => listener.resyncs === 1)
    t.equal(listener.resyncs, 1)
  })

  t.test('Redis unreachable: lookups fail closed by default, or pass with whenUnavailable "allow"', async (t) => {
    const gone = server.client({ lazyConnect: true })
    t.teardown(() => { gone.disconnect() })
    const closed = new RedisRevocationStore({ redis: gone, prefix })
    const open = new RedisRevocationStore({ redis: gone, prefix, whenUnavailable: 'allow' })
    t.throws(() => closed.isRevoked({ subject: 'u' }), RedisUnavailableError)
    t.equal(open.isRevoked({ subject: 'u' }), false)
    await t.rejects(closed.revoke({ tokenId: 'x', expiresAt: Date.now() + HOUR }), RedisUnavailableError, 'a revocation that cannot be recorded is an error')
    await t.rejects(closed.publish({ type: 'close', selector: { subject: 'u' }, code: 'forbidden' }), RedisUnavailableError)
    t.throws(() => new RedisRevocationStore({ redis, whenUnavailable: 'maybe' as 'allow' }), /whenUnavailable/)
    t.throws(() => new RedisRevocationStore({} as never), /ioredis client/)
  })

  t.test('Redis restarted: with its append-only file revocations survive; restarted empty, they are gone', async (t) => {
    const expiresAt = Date.now() + HOUR
    await store.revoke({ tokenId: 'survivor', expiresAt })
    await server.stop()
    await until(() => redis.status !== 'ready')
    t.throws(() => store.isRevoked({ subject: 'u', tokenId: 'survivor' }), RedisUnavailableError, 'fails closed while down')
    await server.start()
    await until(() => redis.status === 'ready', 5000)
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'survivor' }), true, 'still revoked after a restart')
    await server.stop()
    server.wipe()
    await server.start()
    await until(() => redis.status === 'ready', 5000)
    t.equal(await store.isRevoked({ subject: 'u', tokenId: 'survivor' }), false, 'the documented consequence of an empty restart')
  })
})

t.test('RedisConnectionCounter against a real redis-server', { skip: redisSkip }, async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.close())
  const redis = server.client()
  t.teardown(() => { redis.disconnect() })
  await until(() => redis.status === 'ready')
  const counters: RedisConnectionCounter[] = []
  const counter = (leaseMs?: number): RedisConnectionCounter => {
    const made = new RedisConnectionCounter({ redis, prefix: `c${randomUUID().slice(0, 8)}:`, leaseMs })
    counters.push(made)
    return made
  }
  t.teardown(async () => { for (const c of counters) await c.close() })
  const slot = (subject: string) => ({ subject, connectionId: randomUUID() })

  t.test('refuse: the slot past max is refused until one is released', async (t) => {
    const c = counter()
    const limit = { max: 2, policy: 'refuse' } as const
    const [a, b, extra] = [slot('u'), slot('u'), slot('u')]
    t.same(await c.acquire(a, limit), { granted: true, supersedes: undefined })
    t.same(await c.acquire(b, limit), { granted: true, supersedes: undefined })
    t.same(await c.acquire(extra, limit), { granted: false })
    t.same(await c.acquire(slot('v'), limit), { granted: true, supersedes: undefined }, 'another subject has its own count')
    await c.release(a)
    await c.release(a)
    t.same(await c.acquire(extra, limit), { granted: true, supersedes: undefined }, 'released (twice: idempotent)')
    t.equal(c.size, 3)
  })

  t.test('close-oldest: the new slot takes over the oldest one', async (t) => {
    const c = counter()
    const limit = { max: 2, policy: 'close-oldest' } as const
    const first = slot('u')
    await c.acquire(first, limit)
    await c.acquire(slot('u'), limit)
    const grant = await c.acquire(slot('u'), limit)
    t.same(grant, { granted: true, supersedes: first.connectionId })
  })

  t.test('two instances racing for the same subject never exceed max', async (t) => {
    const prefix = `race${randomUUID().slice(0, 8)}:`
    const a = new RedisConnectionCounter({ redis, prefix })
    const second = server.client()
    t.teardown(() => { second.disconnect() })
    const b = new RedisConnectionCounter({ redis: second, prefix })
    counters.push(a, b)
    await until(() => second.status === 'ready')
    const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).acquire(slot('u'), { max: 5, policy: 'refuse' })))
    t.equal(grants.filter((g) => g.granted).length, 5)
    t.equal(await redis.zcard(`${prefix}connections:u`), 5)
  })

  t.test('a slot released before Redis answered is given back, not held', async (t) => {
    const c = counter()
    const s = slot('u')
    const pending = c.acquire(s, { max: 5, policy: 'refuse' })
    await c.release(s)
    t.same(await pending, { granted: true, supersedes: undefined })
    t.equal(c.size, 0, 'not held')
    t.same(await c.acquire(slot('u'), { max: 1, policy: 'refuse' }), { granted: true, supersedes: undefined }, 'and not counted')
  })

  t.test('slots of a crashed instance stop counting when their lease ends', async (t) => {
    const prefix = `crash${randomUUID().slice(0, 8)}:`
    const c = new RedisConnectionCounter({ redis, prefix })
    counters.push(c)
    // A slot whose lease ended (as if its instance died a lease ago): score in the past.
    await redis.zadd(`${prefix}connections:u`, Date.now() - 1, `${Date.now() - 120_000}|dead-instance-connection`)
    t.same(await c.acquire(slot('u'), { max: 1, policy: 'refuse' }), { granted: true, supersedes: undefined })
    t.equal(await redis.zcard(`${prefix}connections:u`), 1, 'the dead slot was dropped')
  })

  t.test('refresh restores the counts after Redis lost them; close releases everything', async (t) => {
    const prefix = `refresh${randomUUID().slice(0, 8)}:`
    const c = new RedisConnectionCounter({ redis, prefix, leaseMs: 30_000 })
    counters.push(c)
    await c.acquire(slot('u'), { max: 5, policy: 'refuse' })
    await c.acquire(slot('w'), { max: 5, policy: 'refuse' })
    await redis.del(`${prefix}connections:u`, `${prefix}connections:w`)
    await c.refresh()
    t.equal(await redis.zcard(`${prefix}connections:u`), 1)
    t.equal(await redis.zcard(`${prefix}connections:w`), 1)
    const ttl = await redis.pttl(`${prefix}connections:u`)
    t.ok(ttl > 0 && ttl <= 30_000, 'the key lives as long as its newest lease')
    await c.close()
    t.equal(await redis.exists(`${prefix}connections:u`, `${prefix}connections:w`), 0)
  })

  t.test('Redis unreachable: acquire fails (the plugin refuses the handshake), or grants without a slot with whenUnavailable "allow"', async (t) => {
    const gone = server.client({ lazyConnect: true })
    t.teardown(() => { gone.disconnect() })
    const c = new RedisConnectionCounter({ redis: gone })
    counters.push(c)
    await t.rejects(c.acquire(slot('u'), { max: 1, policy: 'refuse' }), RedisUnavailableError)
    const open = new RedisConnectionCounter({ redis: gone, whenUnavailable: 'allow' })
    counters.push(open)
    const first = slot('u')
    t.same(await open.acquire(first, { max: 1, policy: 'refuse' }), { granted: true })
    t.same(await open.acquire(slot('u'), { max: 1, policy: 'refuse' }), { granted: true }, 'past the limit: the limit is not enforced while Redis is gone')
    t.equal(open.size, 0, 'no slot is held for them')
    await open.release(first)
    t.throws(() => new RedisConnectionCounter({ redis, leaseMs: 10 }), /leaseMs/)
    t.throws(() => new RedisConnectionCounter({ redis, whenUnavailable: 'maybe' as 'allow' }), /whenUnavailable/)
  })
})
