import t, { type Test } from 'tap'
import { CloseCode } from '../../protocol/index.ts'
import type { Clock } from '../../plugin/clock.ts'
import { DeadlineQueue, kDue, kDueAt, kQueueIndex, SLICE, type Scheduled } from '../../plugin/deadlines.ts'
import type { RevocationStore, StoreListener } from '../../plugin/index.ts'
import { kRegistry, type ConnectionRegistry } from '../../plugin/registry.ts'
import type { AuthenticatedConnection } from '../../plugin/connection.ts'
import { MemoryRevocationStore } from '../../plugin/revocation.ts'
import { bearer, connect, manualClock, sign, startServer, until, type RunningServer, type TestClient } from '../helpers.ts'

// Costs that must follow the matches, not the crowd: the registry counts every connection a
// lookup examines, and sliced work is observed between event-loop turns. No timing here.

const registryOf = (s: RunningServer): ConnectionRegistry<AuthenticatedConnection> =>
  (s.app.wsAuth as unknown as Record<symbol, ConnectionRegistry<AuthenticatedConnection>>)[kRegistry] as ConnectionRegistry<AuthenticatedConnection>

/** Plugin options for a crowd from one address: the per-address and per-subject limits would refuse it. */
const CROWD = { handshakeLimit: false, maxConnectionsPerSubject: 1000 } as const

/** Opens `n` authenticated clients: token id `t<i>`, session `s<i>`, subject `u<i % 3>`. */
async function crowd (s: RunningServer, n: number, claims: (i: number) => Record<string, unknown> = () => ({})): Promise<TestClient[]> {
  const clients: TestClient[] = []
  for (let i = 0; i < n; i++) clients.push(connect(s.url, bearer(sign({ sub: `u${i % 3}`, sid: `s${i}`, jti: `t${i}`, ...claims(i) }))))
  await Promise.all(clients.map(async (c) => await c.frame('authenticated')))
  await until(() => registryOf(s).size === n)
  return clients
}

async function visits (s: RunningServer, operation: () => unknown): Promise<number> {
  const before = registryOf(s).visited
  await operation()
  return registryOf(s).visited - before
}

t.test('targeted operations examine only the connections they match', async (t) => {
  const s = await startServer(t)
  const clients = await crowd(s, 30)

  t.equal(await visits(s, () => s.app.wsAuth.revoke({ tokenId: 'nobody' })), 0, 'a token id no connection holds examines none')
  let closed = 0
  t.equal(await visits(s, async () => { closed = await s.app.wsAuth.revoke({ tokenId: 't7' }) }), 1, 'a token-id revocation examines its one connection')
  t.equal(closed, 1)
  t.same(await (clients[7] as TestClient).closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' })

  t.equal(await visits(s, async () => { closed = await s.app.wsAuth.revoke({ sessionId: 's8' }) }), 1, 'a session revocation examines the session\'s connections')
  t.equal(closed, 1)

  // Subjects u1 and u2 hold ten connections each; t7 (u1) and s8 (u2) are closed already.
  const u1 = clients.filter((_, i) => i % 3 === 1 && i !== 7).length
  t.equal(await visits(s, () => { closed = s.app.wsAuth.close({ subject: 'u1' }) }), u1, 'close by subject examines that subject\'s connections')
  t.equal(closed, u1)
  const u2 = clients.filter((_, i) => i % 3 === 2 && i !== 8).length
  t.equal(await visits(s, async () => { closed = await s.app.wsAuth.revoke({ subject: 'u2', issuedBefore: Date.now() + 60_000 }) }), u2, 'a subject revocation examines that subject\'s connections')
  t.equal(closed, u2)

  t.equal(registryOf(s).size, 30 - 2 - u1 - u2, 'everything else is still connected')
  const closes = await Promise.all(clients.filter((_, i) => i % 3 !== 0).map(async (c) => (await c.closed).code))
  t.ok(closes.every((code) => code === CloseCode.CredentialRevoked), 'every matched socket closed with 4441')
  t.ok(clients.filter((_, i) => i % 3 === 0).every((c) => c.socket.readyState === c.socket.OPEN), 'the other subject\'s sockets are open')
})

t.test('a renewed connection is revoked by its new token id, no longer by its old one', async (t) => {
  const s = await startServer(t)
  const client = connect(s.url, bearer(sign({ jti: 'first', exp: Date.now() / 1000 + 60 })))
  await client.frame('authenticated')
  client.send({ type: 'renew', token: sign({ jti: 'second', exp: Date.now() / 1000 + 120 }), id: 'r' })
  await client.frame('renewed')
  t.equal(await s.app.wsAuth.revoke({ tokenId: 'first' }), 0, 'the replaced token id matches nothing')
  t.equal(s.app.wsAuth.size, 1)
  t.equal(await s.app.wsAuth.revoke({ tokenId: 'second' }), 1, 'the current token id closes it')
  t.same(await client.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' })
})

t.test('two sockets on one token are both revoked by its id', async (t) => {
  const s = await startServer(t)
  const token = sign({ jti: 'shared' })
  const a = connect(s.url, bearer(token))
  const b = connect(s.url, bearer(token))
  await Promise.all([a.frame('authenticated'), b.frame('authenticated')])
  t.equal(await s.app.wsAuth.revoke({ tokenId: 'shared' }), 2)
  t.same((await Promise.all([a.closed, b.closed])).map((c) => c.code), [CloseCode.CredentialRevoked, CloseCode.CredentialRevoked])
})

class Entry implements Scheduled {
  [kDueAt] = Number.POSITIVE_INFINITY;
  [kQueueIndex] = -1
  fired = 0;
  [kDue] (): void { this.fired++ }
}

t.test('a burst of due entries is handled in slices, one timer turn each, and every entry fires', async (t) => {
  // A clock whose timers run only when the test says so: each run is one turn of the loop.
  let now = 1_000
  const timers: Array<() => void> = []
  const clock: Clock = { now: () => now, setTimeout: (callback) => { timers.push(callback); return callback }, clearTimeout: (handle) => { timers.splice(timers.indexOf(handle as () => void), 1) } }
  const settledAfter: number[] = []
  let turn = 0
  const queue = new DeadlineQueue(clock, () => { settledAfter.push(turn) })
  const entries = Array.from({ length: 3 * SLICE + 10 }, () => new Entry())
  for (const entry of entries) queue.schedule(entry, 2_000)
  now = 2_000
  const perTurn: number[] = []
  while (timers.length > 0) {
    const before = entries.filter((e) => e.fired > 0).length
    turn++
    ;(timers.shift() as () => void)()
    perTurn.push(entries.filter((e) => e.fired > 0).length - before)
  }
  t.same(perTurn, [SLICE, SLICE, SLICE, 10], 'at most SLICE entries per turn')
  t.ok(entries.every((e) => e.fired === 1), 'every entry fired exactly once')
  t.equal(queue.size, 0)
  t.same(settledAfter, [4], 'the burst is settled once, after the turn that left nothing due')
  queue.stop()
  t.same(settledAfter, [4, 4], 'and again when the queue stops')
})

t.test('the peers\' answers to a burst\'s close frames are read once the burst\'s last close frame is out', async (t) => {
  const time = manualClock()
  // A close timeout far past the test: a socket whose reads were never resumed would not close.
  const s = await startServer(t, { plugin: { ...CROWD, clock: time.clock, closeTimeout: 600_000 } })
  const n = SLICE + 44
  const exp = (time.now() + 60_000) / 1000
  const clients = await crowd(s, n, () => ({ exp }))
  const closing = (): number => [...s.app.websocketServer.clients].filter((ws) => ws.readyState === ws.CLOSING).length
  time.tick(60_000)
  t.equal(closing(), SLICE, 'the first turn sent one slice its close frames')
  // Every client of the first slice answers with its own close frame; a few turns later those
  // frames are in the server's socket buffers, and read at once unless reading is held.
  await until(() => clients.filter((c) => c.socket.readyState === c.socket.CLOSING).length === SLICE)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(closing(), SLICE, 'their answers wait while the burst still has close frames to send')
  for (let turn = 0; turn < 10 && registryOf(s).size > 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve))
    time.tick(1)
  }
  t.equal(registryOf(s).size, 0, 'the next turn closed the rest')
  const closes = await Promise.all(clients.map(async (c) => await c.closed))
  t.equal(closes.filter((c) => c.code === CloseCode.CredentialExpired).length, n, 'every one closed as expired')
  await until(() => s.app.websocketServer.clients.size === 0)
  t.equal(s.app.wsAuth.metrics().expired, n)
})

t.test('connections expiring in the same millisecond, more than a slice of them, all close with 4440', async (t) => {
  const time = manualClock()
  const s = await startServer(t, { plugin: { ...CROWD, clock: time.clock } })
  const n = SLICE + 44
  const exp = (time.now() + 60_000) / 1000
  const clients = await crowd(s, n, () => ({ exp }))
  time.tick(60_000)
  t.equal(registryOf(s).size, n - SLICE, 'the first turn closed one slice')
  // The rest wait for the next turn: a 0 ms timer, which a fake clock runs 1 ms later.
  for (let turn = 0; turn < 10 && registryOf(s).size > 0; turn++) {
    await new Promise((resolve) => setImmediate(resolve))
    time.tick(1)
  }
  t.equal(registryOf(s).size, 0, 'the next turn closed the rest')
  const closes = await Promise.all(clients.map(async (c) => await c.closed))
  t.equal(closes.filter((c) => c.code === CloseCode.CredentialExpired && c.reason === 'credential_expired').length, n, 'every one closed as expired')
  t.equal(registryOf(s).size, 0)
  t.equal(s.app.wsAuth.metrics().expired, n)
})

/** Registry sizes seen at every check phase from now until it is empty (or `turns` pass). */
function watchSizes (registry: ConnectionRegistry<AuthenticatedConnection>, turns = 10_000): Promise<number[]> {
  const sizes: number[] = []
  return new Promise((resolve) => {
    const look = (): void => {
      sizes.push(registry.size)
      if (registry.size === 0 || sizes.length >= turns) resolve(sizes)
      else setImmediate(look)
    }
    setImmediate(look)
  })
}

t.test('shutdown closes every socket with 1001, over several turns of the loop', async (t) => {
  const s = await startServer(t, { plugin: CROWD })
  const n = 600
  const clients = await crowd(s, n)
  const registry = registryOf(s)
  const sizes = watchSizes(registry)
  const closing = s.app.close()
  const seen = await sizes
  await closing
  const closes = await Promise.all(clients.map(async (c) => await c.closed))
  t.equal(closes.filter((c) => c.code === 1001 && c.reason === 'server_shutdown').length, n, 'every socket got 1001 server_shutdown')
  t.ok(seen.some((size) => size > 0 && size < n), `the loop ran between slices (sizes seen: ${[...new Set(seen)].join(', ')})`)
})

/** A store that answers synchronously and hands the test its listener, as a shared store would be driven. */
function drivenStore (revoked: (sessionId: string | undefined) => boolean): RevocationStore & { listener?: StoreListener } {
  const memory = new MemoryRevocationStore()
  const store: RevocationStore & { listener?: StoreListener } = {
    revoke: (revocation) => { memory.revoke(revocation) },
    isRevoked: (query) => revoked(query.sessionId),
    subscribe (listener) {
      store.listener = listener
      return () => { delete store.listener }
    },
    publish () {}
  }
  return store
}

async function resynced (t: Test, s: RunningServer): Promise<void> {
  await until(() => s.logLines.some((line) => line.includes('"ws_auth.resynced"')), 10_000)
  t.pass('the resync finished')
}

t.test('a resync re-checks every connection in batches, yielding to the loop between them', async (t) => {
  // Nothing is revoked while the crowd connects; then session s3 is, then everything.
  let revoked: (sessionId: string | undefined) => boolean = () => false
  const store = drivenStore((sid) => revoked(sid))
  const s = await startServer(t, { plugin: { ...CROWD, revocationStore: store } })
  const n = 300
  const clients = await crowd(s, n)
  revoked = (sid) => sid === 's3'
  store.listener?.resync()
  await resynced(t, s)
  t.same(await (clients[3] as TestClient).closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' }, 'the revoked session was closed')
  t.equal(registryOf(s).size, n - 1, 'the others stay')

  revoked = () => true
  const sizes = watchSizes(registryOf(s))
  store.listener?.resync()
  const seen = await sizes
  const closes = await Promise.all(clients.map(async (c) => await c.closed))
  t.equal(closes.filter((c) => c.code === CloseCode.CredentialRevoked).length, n, 'every revoked connection closed')
  t.ok(seen.some((size) => size > 0 && size < n - 1), `the loop ran between batches (sizes seen: ${[...new Set(seen)].join(', ')})`)
})
