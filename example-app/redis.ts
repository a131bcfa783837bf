import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'

const reported = new WeakMap<FastifyInstance, string>()

/** Logs a Redis problem once, not on every reconnection attempt while Redis stays down. */
export function reportRedisError (app: FastifyInstance, error: Error): void {
  if (reported.get(app) === error.message) return
  reported.set(app, error.message)
  app.log.warn({ event: 'redis_error', message: error.message }, 'redis connection problem')
}

/**
 * The app's Redis client (REDIS_URL), closed with the app. The first connection must
 * succeed, so a wrong URL fails at start rather than at the first login; later outages
 * are ridden out by ioredis's reconnection, with the plugin failing handshakes closed.
 */
export async function connectRedis (app: FastifyInstance, url: string): Promise<Redis> {
  // No offline queue: while Redis is down a request fails at once (503) instead of waiting
  // for a reconnection that may not come.
  const options = { lazyConnect: true, enableOfflineQueue: false }
  const redis = url.startsWith('/') ? new Redis({ ...options, path: url }) : new Redis(url, options)
  redis.on('error', (error: Error) => { reportRedisError(app, error) })
  redis.on('ready', () => { reported.delete(app) })
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw new Error(`cannot connect to REDIS_URL: ${(error as Error).message}`)
  }
  app.addHook('onClose', async () => { redis.disconnect() })
  return redis
}
