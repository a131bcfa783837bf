import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { ClusterCommand, Revocation, RevocationQuery, RevocationStore, StoreListener } from '../plugin/index.ts'
import { decode, encode, type ChannelMessage } from './messages.ts'
import { InvalidOptionError } from '../plugin/errors.ts'
import { RedisUnavailableError } from './errors.ts'
import { REVOKE } from './scripts.ts'
import { subscribeShardChannel } from './shard-subscriber.ts'

export interface RedisStoreOptions {
  /**
   * An ioredis client: a `Redis` (standalone or Sentinel) or a `Cluster`; Redis >= 7.0.
   * The store uses it for commands, and for the channel a duplicate of a `Redis` or a
   * connection of its own to the channel's shard of a `Cluster`; it never quits the
   * client you pass.
   */
  redis: Redis | Cluster
  /**
   * Prefix of every key and of the channel. On a `Cluster` it must hold a hash tag
   * (`{…}`): every key and the channel then share one slot, as the scripts need.
   * @default 'wsauth:', or '{wsauth}:' on a Cluster
   */
  prefix?: string
  /**
   * When Redis cannot answer a lookup: `refuse` fails the handshake or renewal closed
   * with `revocation_unavailable`; `allow` lets it through unchecked (availability over
   * revocation; live connections are re-checked once Redis is back). @default 'refuse'
   */
  whenUnavailable?: 'refuse' | 'allow'
  /** Problems the store cannot report to a caller (a malformed channel message, a failed re-subscription). */
  onError?: (error: Error) => void
}

const REVOKE_COMMAND = 'wsauthRevoke'

type ScriptedRedis = (Redis | Cluster) & Record<typeof REVOKE_COMMAND, (key: string, channel: string, value: string, expiresAt: string, command: string, message: string) => Promise<number>>

/** Fails at once instead of letting ioredis queue the command until Redis is back. */
export function assertReady (redis: Redis | Cluster): void {
  if (redis.status !== 'ready') throw new RedisUnavailableError(redis.status)
}

/**
 * The prefix to use with `redis`; on a Cluster, one whose hash tag ends inside it (Redis
 * hashes the text between the first `{` and the next `}`), so that every key shares a slot.
 */
export function prefixFor (redis: Redis | Cluster, prefix: string | undefined): string {
  if (!redis.isCluster) return prefix ?? 'wsauth:'
  if (prefix === undefined) return '{wsauth}:'
  const open = prefix.indexOf('{')
  if (open === -1 || prefix.indexOf('}', open + 1) <= open + 1) {
    throw new InvalidOptionError('prefix', 'must hold a hash tag such as {wsauth} on a Redis Cluster')
  }
  return prefix
}

/**
 * A revocation store shared by every instance through Redis. Each revocation is a key
 * that expires when what it covers would have (`SET … PXAT expiresAt`), and is published
 * on the channel in the same script, so every instance closes its matching connections at
 * once. `close`/`renew` commands travel on the same channel. After the channel was down,
 * each instance re-checks its live connections against the keys, so a revocation made
 * meanwhile is not lost.
 */
export class RedisRevocationStore implements RevocationStore {
  /** This instance on the channel; messages it sent itself are skipped. */
  readonly instanceId = randomUUID()
  readonly channel: string
  readonly #redis: ScriptedRedis
  readonly #prefix: string
  readonly #allow: boolean
  readonly #onError: (error: Error) => void
  #subscriber: (() => void) | undefined

  constructor (options: RedisStoreOptions) {
    if (options?.redis === undefined || typeof options.redis.duplicate !== 'function') {
      throw new InvalidOptionError('redis', 'must be an ioredis client')
    }
    const whenUnavailable = options.whenUnavailable ?? 'refuse'
    if (whenUnavailable !== 'refuse' && whenUnavailable !== 'allow') {
      throw new InvalidOptionError('whenUnavailable', 'must be "refuse" or "allow"')
    }
    this.#prefix = prefixFor(options.redis, options.prefix)
    this.channel = `${this.#prefix}events`
    this.#allow = whenUnavailable === 'allow'
    this.#onError = options.onError ?? (() => {})
    const redis = options.redis as ScriptedRedis
    if (typeof redis[REVOKE_COMMAND] !== 'function') redis.defineCommand(REVOKE_COMMAND, { numberOfKeys: 2, lua: REVOKE })
    this.#redis = redis
  }

  #key (revocation: Revocation): [key: string, value: number] {
    if ('tokenId' in revocation) return [`${this.#prefix}revoked:jti:${revocation.tokenId}`, 1]
    if ('sessionId' in revocation) return [`${this.#prefix}revoked:sid:${revocation.sessionId}`, 1]
    return [`${this.#prefix}revoked:sub:${revocation.subject}`, revocation.issuedBefore]
  }

  #message (message: { kind: 'revoked', revocation: Revocation } | { kind: 'command', command: ClusterCommand }): string {
    return encode({ v: 1, origin: this.instanceId, ...message } as ChannelMessage)
  }

  async revoke (revocation: Revocation): Promise<void> {
    assertReady(this.#redis)
    const [key, value] = this.#key(revocation)
    await this.#redis[REVOKE_COMMAND](key, this.channel, String(Math.floor(value)), String(Math.ceil(revocation.expiresAt)),
      this.#redis.isCluster ? 'SPUBLISH' : 'PUBLISH', this.#message({ kind: 'revoked', revocation }))
  }

  isRevoked (query: RevocationQuery): boolean | Promise<boolean> {
    if (this.#redis.status !== 'ready') {
      if (this.#allow) return false
      throw new RedisUnavailableError(this.#redis.status)
    }
    const p = this.#prefix
    const keys = [`${p}revoked:sub:${query.subject}`]
    if (query.tokenId !== undefined) keys.push(`${p}revoked:jti:${query.tokenId}`)
    if (query.sessionId !== undefined) keys.push(`${p}revoked:sid:${query.sessionId}`)
    return this.#redis.mget(keys).then(([issuedBefore, ...others]) => {
      if (others.some((value) => value !== null)) return true
      if (issuedBefore === null || issuedBefore === undefined) return false
      return query.issuedAt === undefined || query.issuedAt < Number(issuedBefore)
    }, (err: unknown) => {
      if (this.#allow) return false
      throw err
    })
  }

  async publish (command: ClusterCommand): Promise<void> {
    assertReady(this.#redis)
    const message = this.#message({ kind: 'command', command })
    await (this.#redis.isCluster ? this.#redis.spublish(this.channel, message) : this.#redis.publish(this.channel, message))
  }

  subscribe (listener: StoreListener): () => void {
    let connectedBefore = false
    const subscribed = (): void => {
      if (connectedBefore) listener.resync()
      connectedBefore = true
    }
    const heard = (text: string): void => {
      const message = decode(text)
      if (message === undefined) {
        this.#onError(new Error(`ignored a malformed message on ${this.channel}`))
        return
      }
      if (message.origin === this.instanceId) return
      if (message.kind === 'revoked') listener.revoked(message.revocation)
      else listener.command(message.command)
    }
    const stop = this.#redis.isCluster
      ? subscribeShardChannel(this.#redis as Cluster, this.channel, { message: heard, subscribed, error: (err) => { this.#onError(err) } })
      : this.#subscribeStandalone(this.#redis as Redis, heard, subscribed)
    this.#subscriber = stop
    return () => {
      if (this.#subscriber === stop) this.#subscriber = undefined
      stop()
    }
  }

  #subscribeStandalone (redis: Redis, heard: (text: string) => void, subscribed: () => void): () => void {
    // Subscribed again by hand on every reconnection (not by ioredis), so the re-check of
    // live connections starts only once no revocation can slip past both.
    const subscriber = redis.duplicate({ autoResubscribe: false, lazyConnect: false })
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(subscribed, (err: Error) => { this.#onError(err) })
    })
    // ioredis reconnects by itself; without a listener its errors would be thrown as unhandled.
    subscriber.on('error', (err: Error) => { this.#onError(err) })
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) heard(text)
    })
    return () => { subscriber.disconnect() }
  }

  async close (): Promise<void> {
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    if (subscriber !== undefined) subscriber()
  }
}
