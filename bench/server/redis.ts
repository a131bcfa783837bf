import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import type { WebSocket } from 'ws'
import { ROUTES, type BenchKeys } from '../shared/protocol.ts'
import { fastifyTarget } from './fastify-target.ts'
import { loadPlugin, pluginOptions } from './plugin.ts'
import { registerRoutes } from './routes.ts'
import type { RunningTarget } from './target.ts'

/** Prefix of the plugin's keys and channel in the shared Redis; the feed has a channel of its own. */
export const REDIS_PREFIX = 'bench:'
export const FEED_CHANNEL = `${REDIS_PREFIX}feed`

/** The Redis stores as compiled JavaScript (see orchestrator/build.ts), typed by their source. */
async function loadRedisStores (buildDir: string): Promise<typeof import('../../redis/index.ts')> {
  return await import(pathToFileURL(join(buildDir, 'redis', 'index.js')).href) as typeof import('../../redis/index.ts')
}

async function ready (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`Redis not ready after 10 s (${redis.status})`)) }, 10_000)
    redis.once('ready', () => { clearTimeout(timer); resolve() })
  })
}

/**
 * One of several plugin instances sharing a redis-server (revocation-cluster and
 * feed-fanout-redis scenarios): the plugin as `plugin-hs256` deploys it, plus the Redis
 * revocation store and connection counter (`redisStores`), the usual routes, and a feed:
 * `/feed` sockets receive every publication delivered to this instance; a message on
 * `/feed/publish-local` goes straight to them (the in-process feed, the baseline); a message
 * on `/feed/publish-redis` is published on Redis, and every instance, this one included,
 * forwards what its subscription receives to its own `/feed` sockets.
 *
 * Control commands (`POST /x/<name>`): `revoke` `{ sessionIds }` through `app.wsAuth.revoke`;
 * `redis-cpu` (the redis-server's CPU time, from `INFO cpu`); `subscribers` (how many
 * connections listen on the plugin's channel and on the feed's); `noop` (the call's own cost).
 */
export async function startRedisInstance (keys: BenchKeys, buildDir: string, redisUrl: string | undefined): Promise<RunningTarget> {
  if (redisUrl === undefined) throw new Error('plugin-redis needs a redisUrl')
  const [{ fastifyWsAuth }, { redisStores }] = await Promise.all([loadPlugin(buildDir), loadRedisStores(buildDir)])
  // Fail fast rather than queue commands while Redis is away: the benchmark would only hang.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
  const feed = redis.duplicate()
  redis.on('error', () => {})
  feed.on('error', () => {})
  await Promise.all([ready(redis), ready(feed)])

  const subscribers = new Set<WebSocket>()
  const deliver = (data: Buffer): void => {
    for (const subscriber of subscribers) subscriber.send(data, { binary: false })
  }
  feed.on('messageBuffer', (_channel: Buffer, message: Buffer) => { deliver(message) })
  await feed.subscribe(FEED_CHANNEL)

  const app = Fastify({ logger: false })
  await app.register(fastifyWsAuth, { ...pluginOptions('plugin-hs256', keys), ...redisStores({ redis, prefix: REDIS_PREFIX }) })
  registerRoutes(app, true)
  const options = { websocket: true, wsAuth: true } as const
  app.get(ROUTES.feed, options, (socket: WebSocket) => {
    subscribers.add(socket)
    socket.on('close', () => { subscribers.delete(socket) })
  })
  app.get(ROUTES.feedLocal, options, (socket: WebSocket) => {
    socket.on('message', (data) => { deliver(data as Buffer) })
  })
  app.get(ROUTES.feedRedis, options, (socket: WebSocket) => {
    socket.on('message', (data) => { redis.publish(FEED_CHANNEL, data as Buffer).catch(() => {}) })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })

  const target = fastifyTarget(app)
  return {
    ...target,
    async close () {
      await target.close()
      feed.disconnect()
      redis.disconnect()
    },
    async command (name, body) {
      if (name === 'revoke') {
        const { sessionIds } = body as { sessionIds: string[] }
        const closed = await Promise.all(sessionIds.map((sessionId) => app.wsAuth.revoke({ sessionId })))
        return { closed: closed.reduce((a, b) => a + b, 0) }
      }
      if (name === 'noop') return {}
      if (name === 'redis-cpu') {
        const info = await redis.info('cpu')
        const seconds = (field: string): number => Number(new RegExp(`^${field}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
        return { us: Math.round((seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6) }
      }
      if (name === 'subscribers') {
        const counts = await redis.pubsub('NUMSUB', `${REDIS_PREFIX}events`, FEED_CHANNEL) as Array<string | number>
        return { plugin: Number(counts[1]), feed: Number(counts[3]) }
      }
      throw new Error(`unknown command ${name}`)
    }
  }
}
