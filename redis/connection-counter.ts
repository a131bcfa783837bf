import type { Cluster, Redis } from 'ioredis'
import type { ConnectionCounter, ConnectionLimitPolicy, ConnectionSlot, SlotGrant } from '../plugin/index.ts'
import { InvalidOptionError } from '../plugin/errors.ts'
import { assertReady, prefixFor } from './revocation-store.ts'
import { ACQUIRE, REFRESH } from './scripts.ts'

export interface RedisConnectionCounterOptions {
  /** An ioredis `Redis` (standalone or Sentinel) or `Cluster`; Redis >= 7.0; never quit by the counter. */
  redis: Redis | Cluster
  /** Key prefix; see `RedisStoreOptions.prefix` (a hash tag on a Cluster). @default 'wsauth:', or '{wsauth}:' on a Cluster */
  prefix?: string
  /**
   * How long a slot counts without being refreshed, in ms. Each instance refreshes the
   * slots of its live connections every third of it, so the connections of an instance
   * that crashed stop counting within one lease. @default 60000
   */
  leaseMs?: number
  /**
   * When Redis cannot answer a handshake's `acquire`: `refuse` (the plugin refuses with
   * `revocation_unavailable`) or `allow` (the connection is let in without a slot: the
   * per-subject limit is not enforced for it, and it does not count once Redis is back),
   * as with `RedisStoreOptions.whenUnavailable`. @default 'refuse'
   */
  whenUnavailable?: 'refuse' | 'allow'
}

const ACQUIRE_COMMAND = 'wsauthAcquire'
const REFRESH_COMMAND = 'wsauthRefresh'
const REFRESH_BATCH = 500

type ScriptedRedis = (Redis | Cluster)
  & Record<typeof ACQUIRE_COMMAND, (key: string, connectionId: string, max: string, policy: string, lease: string) => Promise<[0] | [1, string, string?]>>
  & Record<typeof REFRESH_COMMAND, (...args: string[]) => Promise<number>>

interface Held {
  readonly key: string
  readonly member: string
}

/**
 * Per-subject connection counts shared by every instance. A subject's slots are a sorted
 * set of `<registeredAt µs>|<connectionId>` scored by lease expiry; taking a slot is one
 * Lua script (drop expired leases, count, maybe supersede the oldest, add), so the limit
 * holds exactly under concurrent handshakes on several instances. Consistency: a slot
 * outlives its connection only when its instance died without releasing it, and then
 * for at most one lease.
 */
export class RedisConnectionCounter implements ConnectionCounter {
  readonly #redis: ScriptedRedis
  readonly #prefix: string
  readonly #leaseMs: number
  readonly #allow: boolean
  readonly #held = new Map<string, Held>()
  /** Slots being acquired, and those of them released before the answer came. */
  readonly #pending = new Set<string>()
  readonly #cancelled = new Set<string>()
  readonly #timer: NodeJS.Timeout

  constructor (options: RedisConnectionCounterOptions) {
    if (options?.redis === undefined || typeof options.redis.defineCommand !== 'function') {
      throw new InvalidOptionError('redis', 'must be an ioredis client')
    }
    const leaseMs = options.leaseMs ?? 60_000
    if (!Number.isInteger(leaseMs) || leaseMs < 3000) throw new InvalidOptionError('leaseMs', 'must be an integer of at least 3000 (ms)')
    const whenUnavailable = options.whenUnavailable ?? 'refuse'
    if (whenUnavailable !== 'refuse' && whenUnavailable !== 'allow') throw new InvalidOptionError('whenUnavailable', 'must be "refuse" or "allow"')
    this.#allow = whenUnavailable === 'allow'
    this.#prefix = prefixFor(options.redis, options.prefix)
    this.#leaseMs = leaseMs
    const redis = options.redis as ScriptedRedis
    if (typeof redis[ACQUIRE_COMMAND] !== 'function') redis.defineCommand(ACQUIRE_COMMAND, { numberOfKeys: 1, lua: ACQUIRE })
    if (typeof redis[REFRESH_COMMAND] !== 'function') redis.defineCommand(REFRESH_COMMAND, { lua: REFRESH })
    this.#redis = redis
    this.#timer = setInterval(() => { this.refresh().catch(() => {}) }, Math.floor(leaseMs / 3))
    this.#timer.unref()
  }

  /** Slots this instance holds. */
  get size (): number {
    return this.#held.size
  }

  async acquire (slot: ConnectionSlot, limit: { max: number, policy: ConnectionLimitPolicy }): Promise<SlotGrant> {
    if (this.#redis.status !== 'ready') {
      // Granted without a slot: nothing is held, so release has nothing to give back.
      if (this.#allow) return { granted: true }
      assertReady(this.#redis)
    }
    const key = `${this.#prefix}connections:${slot.subject}`
    this.#pending.add(slot.connectionId)
    let answer: [0] | [1, string, string?]
    try {
      answer = await this.#redis[ACQUIRE_COMMAND](key, slot.connectionId, String(limit.max), limit.policy, String(this.#leaseMs))
    } catch (err) {
      this.#cancelled.delete(slot.connectionId)
      if (this.#allow) return { granted: true }
      throw err
    } finally {
      this.#pending.delete(slot.connectionId)
    }
    if (answer[0] !== 1) return { granted: false }
    const [, member, superseded] = answer
    if (this.#cancelled.delete(slot.connectionId)) {
      // The socket closed while Redis answered: give the slot straight back.
      await this.#redis.zrem(key, member)
    } else {
      this.#held.set(slot.connectionId, { key, member })
    }
    return { granted: true, supersedes: superseded === undefined ? undefined : superseded.slice(superseded.indexOf('|') + 1) }
  }

  async release (slot: ConnectionSlot): Promise<void> {
    const held = this.#held.get(slot.connectionId)
    if (held === undefined) {
      if (this.#pending.has(slot.connectionId)) this.#cancelled.add(slot.connectionId)
      return
    }
    this.#held.delete(slot.connectionId)
    // Not ready: the lease runs out by itself.
    if (this.#redis.status === 'ready') await this.#redis.zrem(held.key, held.member)
  }

  /** Extends the leases of every slot held here (run by the counter's own timer). */
  async refresh (): Promise<void> {
    if (this.#redis.status !== 'ready' || this.#held.size === 0) return
    const held = [...this.#held.values()]
    for (let i = 0; i < held.length; i += REFRESH_BATCH) {
      const batch = held.slice(i, i + REFRESH_BATCH)
      await this.#redis[REFRESH_COMMAND](String(batch.length), ...batch.map((h) => h.key), String(this.#leaseMs), ...batch.map((h) => h.member))
    }
  }

  /** Releases every slot held here and stops refreshing. */
  async close (): Promise<void> {
    clearInterval(this.#timer)
    const held = [...this.#held.values()]
    this.#held.clear()
    if (held.length === 0 || this.#redis.status !== 'ready') return
    const pipeline = this.#redis.pipeline()
    for (const { key, member } of held) pipeline.zrem(key, member)
    await pipeline.exec()
  }
}
