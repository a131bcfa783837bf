import { createRequire } from 'node:module'
import { isIPv4 } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { FastifyRateLimitStore } from '@fastify/rate-limit'
import type { RateLimit } from './token-bucket.ts'

/**
 * The handshake limit's answer for one request: `undefined` within the limit, else the
 * seconds the client should wait (`Retry-After`). A promise only when the store answers
 * later (the application's own @fastify/rate-limit registration, a Redis store say); it
 * rejects when that store fails.
 */
export type HandshakeLimiter = (request: FastifyRequest) => number | undefined | Promise<number | undefined>

/** @fastify/rate-limit's `createRateLimit()` limiter, as an application's registration provides it. */
export type CreatedRateLimit = (request: FastifyRequest) => Promise<{ isExceeded?: boolean, ttlInSeconds?: number }>

type LocalStoreConstructor = new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => FastifyRateLimitStore

// @fastify/rate-limit's own in-memory store (a bounded LRU of fixed windows), the one its
// plugin would create for us. No public entry point exports it (the package's index exports
// only the plugin), so it is loaded by its file path, which the package's lack of an exports
// map leaves reachable. Because that path is not a promise of the package, the dependency is
// pinned to the tested minor (`~11.2.0` in package.json) and test/plugin/handshake-limit.test.ts
// fails if the store's constructor or `incr` contract changes. The types come with the
// package's `FastifyRateLimitStore` interface.
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore') as LocalStoreConstructor

/** Client addresses remembered at once; past that the least recently seen is forgotten. @fastify/rate-limit's default. */
const REMEMBERED_ADDRESSES = 5000

/**
 * The limiter when the plugin owns the limit: @fastify/rate-limit's store, asked directly.
 * Its `createRateLimit()` wraps every call in an async function and two promises, and the
 * handshake then continues a microtask later; the store itself answers synchronously, so
 * asking it directly keeps the whole pre-upgrade check synchronous (measured in bench/ with
 * `--against`: about 4 % more handshakes per second and 4 % less server CPU per handshake).
 */
export function storeLimiter (limit: RateLimit): HandshakeLimiter {
  const store = new LocalStore(false, false, REMEMBERED_ADDRESSES)
  const { max, timeWindow } = limit
  const fullWindowS = Math.max(1, Math.ceil(timeWindow / 1000))
  // One callback for every call: LocalStore calls it before `incr` returns. Until it has,
  // the answer is "over the limit", so a store that did not answer fails closed.
  let answer: number | undefined
  const settle = (_error: Error | null, result?: { current: number, ttl: number }): void => {
    answer = result === undefined ? fullWindowS : result.current <= max ? undefined : Math.max(1, Math.ceil(result.ttl / 1000))
  }
  return (request) => {
    answer = fullWindowS
    store.incr(clientKey(request.ip), settle, timeWindow, max)
    return answer
  }
}

/** The limiter of an application's own @fastify/rate-limit registration (its store, `keyGenerator`, `allowList`). */
export function registeredLimiter (created: CreatedRateLimit): HandshakeLimiter {
  return async (request) => {
    const limit = await created(request)
    return limit.isExceeded === true ? Math.max(1, limit.ttlInSeconds ?? 1) : undefined
  }
}

/**
 * The bucket of a client address, as @fastify/rate-limit's default key generator forms it:
 * an IPv4 address as it is (also when it arrives IPv4-mapped, `::ffff:a.b.c.d`, on a
 * dual-stack listener), an IPv6 address by its /64 prefix, the smallest network one
 * subscriber is usually given, so that a client cannot take a new bucket per address of
 * its own network. Hand-written: that key generator is not exported.
 */
export function clientKey (ip: string): string {
  if (ip.indexOf(':') === -1) return ip
  const lower = ip.toLowerCase()
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7)
  return ipv6Prefix64(lower)
}

/** The first four groups of an IPv6 address in canonical hex, as `a:b:c:d::/64`. */
function ipv6Prefix64 (ip: string): string {
  const zone = ip.indexOf('%')
  const address = zone === -1 ? ip : ip.slice(0, zone)
  const gap = address.indexOf('::')
  const head = (gap === -1 ? address : address.slice(0, gap)).split(':').filter((group) => group !== '')
  // A dotted IPv4 tail stands for the last two groups, never in the /64 prefix; it only
  // counts towards how many zero groups `::` stands for.
  const tail = gap === -1 ? [] : address.slice(gap + 2).split(':').filter((group) => group !== '')
  const tailGroups = tail.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0)
  const groups = gap === -1 ? head : [...head, ...new Array<string>(Math.max(0, 8 - head.length - tailGroups)).fill('0'), ...tail]
  const prefix: string[] = []
  for (let i = 0; i < 4; i++) prefix.push((Number.parseInt(groups[i] ?? '0', 16) || 0).toString(16))
  return `${prefix.join(':')}::/64`
}
