import { RedisConnectionCounter, type RedisConnectionCounterOptions } from './connection-counter.ts'
import { RedisRevocationStore, type RedisStoreOptions } from './revocation-store.ts'

export { RedisConnectionCounter, type RedisConnectionCounterOptions } from './connection-counter.ts'
export { RedisUnavailableError } from './errors.ts'
export { RedisRevocationStore, type RedisStoreOptions } from './revocation-store.ts'

/**
 * Both shared stores on one ioredis client, to spread into the plugin's options:
 * `fastify.register(fastifyWsAuth, { verify, ...redisStores({ redis }) })`.
 */
export function redisStores (options: RedisStoreOptions & Pick<RedisConnectionCounterOptions, 'leaseMs' | 'whenUnavailable'>): {
  revocationStore: RedisRevocationStore
  connectionCounter: RedisConnectionCounter
} {
  return {
    revocationStore: new RedisRevocationStore(options),
    connectionCounter: new RedisConnectionCounter(options)
  }
}
