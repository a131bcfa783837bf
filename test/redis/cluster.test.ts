import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Cluster, Redis } from 'ioredis'
import { CloseCode, type ConnectionLimitPolicy } from '../../plugin/index.ts'
import { redisStores } from '../../redis/index.ts'
import { bearer, connect, nowSeconds, sign, startServer, until, within, type RunningServer, type TestClient } from '../helpers.ts'
import { RedisCluster, clusterSkip } from './redis-cluster.ts'
import { RedisServer, redisSkip } from './server.ts'

interface Instance extends RunningServer {
  redis: Redis | Cluster
  prefix: string
}

/** What the shared tests need of a deployment: a standalone redis-server or a Redis Cluster. */
interface Backend {
  /** A client for one instance; `retryMs` is how soon it reconnects (standalone only). */
  client: (retryMs: number) => Redis | Cluster
  /** Subscribers of the channel (over every node of a Cluster: a replica of the shard may serve one). */
  subscribers: (redis: Redis | Cluster, channel: string) => Promise<number>
  /** Kills every pub/sub connection, as a network fault would. */
  killPubsub: (redis: Redis | Cluster) => Promise<void>
  server?: RedisServer
}

const standalone = async (): Promise<Backend> => {
  const server = await RedisServer.start()
  return {
    server,
    client: (retry) => server.client({ retryStrategy: () => retry }),
    subscribers: async (redis, channel) => (await redis.pubsub('NUMSUB', channel) as [string, number])[1],
    killPubsub: async (redis) => { await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub') }
  }
}

const onCluster = (cluster: RedisCluster): Backend => ({
  client: () => cluster.client(),
  subscribers: async (_redis, channel) => [...(await cluster.subscribers(channel)).values()].reduce((a, b) => a + b, 0),
  killPubsub: async (redis) => { await Promise.all((redis as Cluster).nodes().map(async (node) => await node.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))) }
})

// Quiet, the file takes about 15 s; loaded by the whole suite on two cores it has taken 60.
t.setTimeout(150_000)

for (const deployment of ['standalone', 'cluster'] as const) {
  t.test(deployment === 'standalone' ? 'several instances sharing one Redis' : 'several instances sharing one Redis Cluster (3 masters, 3 replicas)',
    { skip: deployment === 'standalone' ? redisSkip : clusterSkip }, async (t) => {
      let backend: Backend
      let cluster: RedisCluster | undefined
      if (deployment === 'standalone') {
        backend = await standalone()
        const server = backend.server as RedisServer
        t.teardown(() => server.close())
      } else {
        const started = await RedisCluster.start()
        t.teardown(() => started.close())
        backend = onCluster(started)
        cluster = started
      }

      /** `count` plugin instances on their own ports, each with its own ioredis client, sharing `prefix`. */
      async function instances (t: Test, count: number, options: { max?: number, policy?: ConnectionLimitPolicy, retryMs?: number[] } = {}): Promise<Instance[]> {
        const prefix = `{c${randomUUID().slice(0, 8)}}:`
        const started: Instance[] = []
        for (let i = 0; i < count; i++) {
          const retry = options.retryMs?.[i] ?? 50
          const redis = backend.client(retry)
          t.teardown(() => { redis.disconnect() })
          await until(() => redis.status === 'ready')
          const running = await startServer(t, {
            plugin: {
              ...redisStores({ redis, prefix }),
              maxConnectionsPerSubject: options.max ?? 100,
              connectionLimitPolicy: options.policy ?? 'refuse'
            }
          })
          started.push({ ...running, redis, prefix })
        }
        // Each instance's channel subscription is up before the test acts.
        await until(async () => await backend.subscribers(started[0]?.redis as Redis | Cluster, `${prefix}events`) === count, 5000)
        return started
      }

      const open = async (instance: Instance, token: string): Promise<TestClient> => {
        const client = connect(instance.url, bearer(token))
        await client.frame('authenticated')
        return client
      }

      t.test('a revocation on one instance closes the matching sockets on every other, at once', async (t) => {
        const [a, b, c] = await instances(t, 3) as [Instance, Instance, Instance]
        const sid = randomUUID()
        const token = sign({ sub: 'alice', sid, jti: randomUUID(), iat: Math.floor(nowSeconds()) })
        const onB = await open(b, token)
        const onC = await open(c, token)
        const other = await open(c, sign({ sub: 'alice', sid: randomUUID() }))
        const started = performance.now()
        const closedHere = await a.app.wsAuth.revoke({ sessionId: sid })
        t.equal(closedHere, 0, 'nothing to close on the instance that revoked')
        const [closeB, closeC] = await Promise.all([onB.closed, onC.closed])
        t.comment(`revoked on A, closed on B and C after ${(performance.now() - started).toFixed(1)} ms`)
        t.equal(closeB.code, CloseCode.CredentialRevoked)
        t.equal(closeC.code, CloseCode.CredentialRevoked)
        t.match(onB.frames('auth_error'), [{ code: 'credential_revoked' }])
        t.equal(other.socket.readyState, other.socket.OPEN, 'another session of the same subject stays')
        const again = connect(b.url, bearer(token))
        t.same(await again.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' }, 'the revoked credential is refused at every handshake')
        other.close()
      })

      t.test('close and renew commands reach every instance', async (t) => {
        const [a, b] = await instances(t, 2) as [Instance, Instance]
        const sid = randomUUID()
        const bob = await open(b, sign({ sub: 'bob', sid }))
        const carol = await open(b, sign({ sub: 'carol', sid: randomUUID() }))

        const fresh = sign({ sub: 'bob', sid, exp: nowSeconds() + 600 })
        const local = await a.app.wsAuth.renew({ sessionId: sid }, fresh)
        t.equal(local.size, 0, 'A has none of the session\'s sockets itself')
        const renewed = await bob.frame('renewed')
        t.ok((renewed.expiresAt as number) > Date.now() + 500_000, 'B renewed its socket with the new token')

        t.equal(a.app.wsAuth.close({ subject: 'bob' }, { code: 'forbidden', message: 'banned' }), 0)
        t.equal((await bob.closed).code, CloseCode.Forbidden)
        t.match(bob.frames('auth_error'), [{ code: 'forbidden', message: 'banned' }])
        t.equal(carol.socket.readyState, carol.socket.OPEN, 'other subjects stay')
        carol.close()
      })

      t.test('maxConnectionsPerSubject holds across instances (refuse)', async (t) => {
        const [a, b, c] = await instances(t, 3, { max: 2 }) as [Instance, Instance, Instance]
        const token = sign({ sub: 'dave' })
        const first = await open(a, token)
        await open(b, token)
        const third = connect(c.url, bearer(token))
        t.same(await third.closed, { code: CloseCode.TooManyRequests, reason: 'too_many_connections' }, 'the third, on a third instance, is refused')
        t.equal(c.app.wsAuth.metrics().refused.too_many_connections, 1)
        first.close()
        await first.closed
        // The slot is released once A sees the socket close; until then C may still refuse.
        let fourth: TestClient | undefined
        await until(async () => {
          fourth?.socket.terminate()
          fourth = connect(c.url, bearer(token))
          const outcome = await Promise.race([fourth.frame('authenticated').then(() => 'open', () => 'refused'), fourth.closed.then(() => 'refused')])
          return outcome === 'open'
        }, 3000)
        t.pass('once one closed, a new one is accepted elsewhere')
      })

      t.test('maxConnectionsPerSubject across instances (close-oldest): the oldest, wherever it is, is superseded', async (t) => {
        const [a, b] = await instances(t, 2, { max: 1, policy: 'close-oldest' }) as [Instance, Instance]
        const token = sign({ sub: 'erin' })
        const old = await open(a, token)
        const newer = await open(b, token)
        t.equal((await old.closed).code, CloseCode.Superseded)
        t.match(old.frames('auth_error'), [{ code: 'connection_superseded' }])
        t.equal(newer.socket.readyState, newer.socket.OPEN)
        const newest = await open(b, token)
        t.equal((await newer.closed).code, CloseCode.Superseded, 'on the same instance too')
        newest.close()
      })

      t.test('revocations published while an instance\'s channel was down are caught when it resubscribes', async (t) => {
        // B reconnects slowly, so A's revocation is published while B hears nothing.
        const [a, b] = await instances(t, 2, { retryMs: [50, 800] }) as [Instance, Instance]
        const sid = randomUUID()
        const onB = await open(b, sign({ sub: 'frank', sid }))
        await backend.killPubsub(a.redis)
        await a.app.wsAuth.revoke({ sessionId: sid })
        t.equal((await onB.closed).code, CloseCode.CredentialRevoked, 'closed after the re-check')
        t.ok(b.logLines.some((line) => line.includes('"event":"ws_auth.resynced"') && line.includes('"revoked":1')), 'by the re-check, not the channel')
      })

      // Standalone only: on a Cluster a node's loss is a failover, tested below.
      if (backend.server !== undefined) {
        t.test('the channel back before the store answers: the re-check waits for the store, then closes what was revoked meanwhile', async (t) => {
          // B's channel comes back 800 ms after the kill, while B's command connection is
          // still down: the store cannot answer the re-check then (the fault suite's
          // redis-sigkill-always caught the re-check giving up there, leaving a revoked socket open).
          const [a, b] = await instances(t, 2, { retryMs: [50, 800] }) as [Instance, Instance]
          const sid = randomUUID()
          const onB = await open(b, sign({ sub: 'hana', sid }))
          const commands = b.redis as Redis
          commands.disconnect()
          await backend.killPubsub(a.redis)
          await a.app.wsAuth.revoke({ sessionId: sid })
          await until(() => b.logLines.some((line) => line.includes('"event":"ws_auth.resync_deferred"')), 5000)
          t.pass('the re-check was deferred while the store could not answer')
          t.equal(onB.socket.readyState, onB.socket.OPEN, 'not closed yet: nothing has said it is revoked')
          t.notOk(b.logLines.some((line) => line.includes('"event":"ws_auth.resynced"')), 'and no pass claimed to be complete')
          await commands.connect()
          t.equal((await onB.closed).code, CloseCode.CredentialRevoked, 'closed once the store answered')
          t.ok(b.logLines.some((line) => line.includes('"event":"ws_auth.resynced"') && line.includes('"revoked":1')), 'by the retried re-check')
        })

        t.test('Redis stopped and restarted: live sockets keep going, handshakes fail closed, nothing is lost', async (t) => {
          const server = backend.server as RedisServer
          const [a, b] = await instances(t, 2) as [Instance, Instance]
          const revokedToken = sign({ sub: 'gina', jti: randomUUID() })
          const sid = randomUUID()
          const live = await open(b, sign({ sub: 'gina', sid, exp: nowSeconds() + 120 }))
          await a.app.wsAuth.revoke({ tokenId: JSON.parse(Buffer.from(revokedToken.split('.')[1] as string, 'base64url').toString()).jti })

          await server.stop()
          await until(() => a.redis.status !== 'ready' && b.redis.status !== 'ready')
          live.send('still here?')
          await live.waitFor((m) => m === 'still here?')
          t.pass('a live socket keeps working while Redis is down')
          const refused = connect(a.url, bearer(sign({ sub: 'gina' })))
          t.same(await refused.closed, { code: CloseCode.ServiceUnavailable, reason: 'revocation_unavailable' }, 'a handshake fails closed')
          live.send({ type: 'renew', token: sign({ sub: 'gina', sid, exp: nowSeconds() + 300 }), id: 'r1' })
          t.match(await live.frame('auth_error'), { code: 'revocation_unavailable', id: 'r1', closing: false, retry: true }, 'a renewal is refused, the old deadline holds')
          t.equal(live.socket.readyState, live.socket.OPEN)

          await server.start()
          await until(() => a.redis.status === 'ready' && b.redis.status === 'ready', 5000)
          const again = connect(b.url, bearer(revokedToken))
          t.same(await again.closed, { code: CloseCode.CredentialRevoked, reason: 'credential_revoked' }, 'the revocation made before the outage still holds')
          await open(a, sign({ sub: 'gina' }))
          t.pass('handshakes are accepted again')
          live.close()
        })
      }

      if (cluster !== undefined) {
        const nodes = cluster
        t.test('on a Cluster the prefix must hold a hash tag, so that every key shares a slot', async (t) => {
          const redis = nodes.client({ lazyConnect: true })
          t.teardown(() => { redis.disconnect() })
          for (const prefix of ['wsauth:', 'ws{}auth:', 'ws{auth:']) {
            t.throws(() => redisStores({ redis, prefix }), { code: 'FST_WS_AUTH_INVALID_OPTION' }, `refused: ${prefix}`)
          }
          t.equal(redisStores({ redis }).revocationStore.channel, '{wsauth}:events', 'the default on a Cluster has one')
          t.equal(redisStores({ redis, prefix: 'app:{ws}:' }).revocationStore.channel, 'app:{ws}:events')
        })
        t.test('failover of the master serving the channel while revocations and handshakes run: none accepted is lost', async (t) => {
          const instances3 = await instances(t, 3)
          const [a] = instances3 as [Instance]
          const sessions: Array<{ sid: string, token: string, socket: TestClient, on: Instance }> = []
          for (let i = 0; i < 30; i++) {
            const sid = randomUUID()
            const token = sign({ sub: `load${i % 10}`, sid, jti: randomUUID(), exp: nowSeconds() + 300 })
            const on = instances3[i % 3] as Instance
            sessions.push({ sid, token, socket: await open(on, token), on })
          }
          const masterPort = await nodes.masterOf(`${a.prefix}events`)
          const accepted: typeof sessions = []
          const rejected: typeof sessions = []
          let handshakes = 0
          let refusedHandshakes = 0
          const failover = nodes.failover(masterPort)
          let failedOver = false
          failover.then(() => { failedOver = true }, () => { failedOver = true })
          // Revocations at a steady pace, from every instance in turn, until the failover is done
          // and a few more after it; a handshake beside each.
          // Every wait below is bounded and named: the whole run failed once on tap's file
          // timeout with no word of which wait hung (the full suite loading the machine).
          for (let i = 0; i < sessions.length; i++) {
            const session = sessions[i] as (typeof sessions)[number]
            const from = instances3[(i + 1) % 3] as Instance
            // A rejection is an answer (retried below); no answer at all fails the test by name.
            const resolved = await within(from.app.wsAuth.revoke({ sessionId: session.sid }).then(() => true, () => false), 10_000, `revoke() ${i} during the failover`)
            if (resolved) accepted.push(session)
            else rejected.push(session)
            const probe = connect((instances3[i % 3] as Instance).url, bearer(sign({ sub: 'probe', sid: randomUUID() })))
            handshakes++
            const outcome = await within(Promise.race([probe.frame('authenticated').then(() => 'open', () => 'refused'), probe.closed.then(() => 'refused')]), 10_000, `handshake ${i} during the failover`)
            if (outcome === 'refused') refusedHandshakes++
            probe.socket.terminate()
            if (!failedOver && i > sessions.length - 6) await within(failover, 20_000, 'the failover')
            else await new Promise((resolve) => setTimeout(resolve, 100))
          }
          const newMaster = await within(failover, 20_000, 'the failover')
          t.comment(`failover ${masterPort} -> ${newMaster}: ${accepted.length} revocations accepted, ${rejected.length} rejected (retried after), ${refusedHandshakes}/${handshakes} handshakes refused meanwhile`)
          await until(async () => await backend.subscribers(a.redis, `${a.prefix}events`) === 3, 10_000)
            .catch(async (err: Error) => { throw new Error(`${err.message}: subscribers per node ${JSON.stringify([...(await nodes.subscribers(`${a.prefix}events`))])}`) })
          // What revoke() rejected is retried, as the README tells callers to.
          for (const session of rejected) await within(session.on.app.wsAuth.revoke({ sessionId: session.sid }), 10_000, 'revoke() retried after the failover')
          let notEnforced = 0
          for (const session of accepted) {
            for (const instance of instances3) {
              const again = connect(instance.url, bearer(session.token))
              const closed = await within(again.closed, 10_000, `the handshake of revoked session ${session.sid} on ${instance.url}`)
              if (closed.code !== CloseCode.CredentialRevoked) notEnforced++
            }
          }
          t.equal(notEnforced, 0, 'every revocation revoke() accepted is enforced at handshakes on every instance after the failover')
          await until(() => sessions.every((s) => s.socket.socket.readyState === s.socket.socket.CLOSED), 10_000).catch(() => {})
          const leftOpen = sessions.filter((s) => s.socket.socket.readyState !== s.socket.socket.CLOSED).length
          t.equal(leftOpen, 0, 'no socket of a revoked session is left open after recovery')
          const after = sign({ sub: 'after', sid: randomUUID() })
          const fresh = await within(open(instances3[2] as Instance, after), 10_000, 'a handshake after the failover')
          await within(a.app.wsAuth.revoke({ sessionId: JSON.parse(Buffer.from(after.split('.')[1] as string, 'base64url').toString()).sid }), 10_000, 'revoke() after the failover')
          const closed = await within(fresh.closed, 10_000, 'the close of a socket revoked through the channel after the failover')
            .catch(async (err: Error) => { throw new Error(`${err.message}: subscribers per node ${JSON.stringify([...(await nodes.subscribers(`${a.prefix}events`))])}`) })
          t.equal(closed.code, CloseCode.CredentialRevoked, 'a revocation after the failover reaches another instance through the channel')
        })
      }
    })
}
