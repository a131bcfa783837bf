import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { hash, newRefreshToken, type RotateResult, type Sessions } from './sessions.ts'

/**
 * Rotation in one step, so two instances handed the same refresh token at once cannot both
 * rotate it: the second sees a retired token and ends the session, as reuse detection
 * requires. KEYS[1]: refresh:<presented hash>. ARGV: now, new hash, prefix, presented hash.
 */
const ROTATE = `
local sid = redis.call('GET', KEYS[1])
if not sid then return {'unknown'} end
local key = ARGV[3] .. 'session:' .. sid
local session = redis.call('HMGET', key, 'subject', 'expiresAt', 'current')
if not session[1] or tonumber(session[2]) <= tonumber(ARGV[1]) then return {'unknown'} end
if session[3] ~= ARGV[4] then
  redis.call('DEL', key)
  return {'reused', sid, session[1]}
end
redis.call('HSET', key, 'current', ARGV[2])
redis.call('SET', ARGV[3] .. 'refresh:' .. ARGV[2], sid, 'PXAT', session[2])
return {'rotated', sid, session[1]}
`

type ScriptedRedis = Redis & { exampleRotate: (key: string, now: string, next: string, prefix: string, presented: string) => Promise<string[]> }

/**
 * {@link Sessions} in Redis, shared by every instance (with REDIS_URL): a hash per session
 * (subject, end, current refresh hash) and a key per refresh token, current or retired,
 * all expiring with their session.
 */
export class RedisSessions implements Sessions {
  readonly #redis: ScriptedRedis
  readonly #ttlMs: number
  readonly #prefix: string

  constructor (redis: Redis, ttlMs: number, prefix = 'example:') {
    redis.defineCommand('exampleRotate', { numberOfKeys: 1, lua: ROTATE })
    this.#redis = redis as ScriptedRedis
    this.#ttlMs = ttlMs
    this.#prefix = prefix
  }

  async create (subject: string): Promise<{ sessionId: string, refreshToken: string }> {
    const sessionId = randomUUID()
    const refreshToken = newRefreshToken()
    const expiresAt = Date.now() + this.#ttlMs
    await this.#redis.multi()
      .hset(`${this.#prefix}session:${sessionId}`, { subject, expiresAt, current: hash(refreshToken) })
      .pexpireat(`${this.#prefix}session:${sessionId}`, expiresAt)
      .set(`${this.#prefix}refresh:${hash(refreshToken)}`, sessionId, 'PXAT', expiresAt)
      .exec()
    return { sessionId, refreshToken }
  }

  async rotate (refreshToken: string): Promise<RotateResult> {
    const next = newRefreshToken()
    const [outcome, sessionId, subject] = await this.#redis.exampleRotate(
      `${this.#prefix}refresh:${hash(refreshToken)}`, String(Date.now()), hash(next), this.#prefix, hash(refreshToken))
    if (outcome === 'rotated') return { outcome, sessionId: sessionId as string, subject: subject as string, refreshToken: next }
    if (outcome === 'reused') return { outcome, sessionId: sessionId as string, subject: subject as string }
    return { outcome: 'unknown' }
  }

  async sessionOf (refreshToken: string): Promise<{ sessionId: string, subject: string } | undefined> {
    const sessionId = await this.#redis.get(`${this.#prefix}refresh:${hash(refreshToken)}`)
    if (sessionId === null) return undefined
    const subject = await this.#redis.hget(`${this.#prefix}session:${sessionId}`, 'subject')
    return subject === null ? undefined : { sessionId, subject }
  }

  async isActive (sessionId: unknown, subject: unknown): Promise<boolean> {
    if (typeof sessionId !== 'string') return false
    const [owner, expiresAt] = await this.#redis.hmget(`${this.#prefix}session:${sessionId}`, 'subject', 'expiresAt')
    return owner !== null && owner === subject && Number(expiresAt) > Date.now()
  }

  async expiresAt (sessionId: string): Promise<number | undefined> {
    const expiresAt = await this.#redis.hget(`${this.#prefix}session:${sessionId}`, 'expiresAt')
    return expiresAt === null ? undefined : Number(expiresAt)
  }

  async delete (sessionId: string): Promise<boolean> {
    return await this.#redis.del(`${this.#prefix}session:${sessionId}`) === 1
  }

  async size (): Promise<undefined> {
    return undefined
  }
}
