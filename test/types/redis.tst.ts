import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { describe, expect, test } from 'tstyche'
import fastifyWsAuth, { type ClusterCommand, type ConnectionCounter, type RevocationStore, type SlotGrant, type StoreListener } from '../../plugin/index.ts'
import { RedisConnectionCounter, RedisRevocationStore, redisStores } from '../../redis/index.ts'

const app = Fastify()
const verify = { algorithms: ['HS256'], key: 'x'.repeat(32) } as const
const redis = new Redis({ lazyConnect: true })

describe('fastify-ws-auth/redis', () => {
  test('the stores spread into the plugin options', () => {
    expect(app.register(fastifyWsAuth, { verify, ...redisStores({ redis }) })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, revocationStore: new RedisRevocationStore({ redis, prefix: '{a}:', whenUnavailable: 'allow' }) })).type.not.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, connectionCounter: new RedisConnectionCounter({ redis, leaseMs: 30_000 }) })).type.not.toRaiseError()
  })
  test('options are checked', () => {
    expect(new RedisRevocationStore({ redis, whenUnavailable: 'sometimes' })).type.toRaiseError()
    expect(new RedisRevocationStore({ prefix: 'x' })).type.toRaiseError()
    expect(app.register(fastifyWsAuth, { verify, connectionCounter: { acquire: () => ({ granted: true }) } })).type.toRaiseError()
  })
  test('the store classes implement the plugin interfaces', () => {
    expect<RedisRevocationStore>().type.toBeAssignableTo<RevocationStore>()
    expect<RedisConnectionCounter>().type.toBeAssignableTo<ConnectionCounter>()
  })
})

describe('shared-store interfaces', () => {
  test('commands are a closed union', () => {
    expect<ClusterCommand['type']>().type.toBe<'close' | 'renew'>()
    expect<ClusterCommand>().type.not.toBeAssignableFrom({ type: 'close' as const, selector: {}, code: 'made_up' as const })
  })
  test('a listener handles revocations, commands and resyncs', () => {
    expect<keyof StoreListener>().type.toBe<'revoked' | 'command' | 'resync'>()
  })
  test('a refused grant has no superseded connection', () => {
    expect<Extract<SlotGrant, { granted: false }>>().type.toBe<{ readonly granted: false }>()
  })
})
