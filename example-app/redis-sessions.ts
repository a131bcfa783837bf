import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { hash, newRefreshToken, type RotateResult, type Sessions } from './sessions.ts'

/**
 * Rotation in one step, so two instances handed the same refresh token at once cannot both
 * rotate it: the second sees a retired token and ends the session, as reuse detection
 * requires. Every key it touches is declared (as Redis Cluster requires; with a hash tag in
 * the prefix they share a slot): KEYS[1] refresh:<presented hash>, KEYS[2] the session the
 * caller read from it, KEYS[3] refresh:<new hash>. ARGV: now, new hash, session id,
 * presented hash. A refresh key never changes its session, so a different answer here
 * means it is gone.
 */
const ROTATE = `
local sid = redis.call('GET', KEYS[1])
if not sid or sid ~= ARGV[3] then return {'unknown'} end
local session = redis.call('HMGET', KEYS[2], 'subject', 'expiresAt', 'current')
if not session[1] or tonumber(session[2]) <= tonumber(ARGV[1]) then return {'unknown'} end
if session[3] ~= ARGV[4] then
  redis.call('DEL', KEYS[2])
  return {'reused', sid, session[1]}
end
redis.call('HSET', KEYS[2], 'current', ARGV[2])
redis.call('SET', KEYS[3], sid, 'PXAT', session[2])
return {'rotated', sid, session[1]}
`

type ScriptedRedis = Redis & { exampleRotate: (refresh: string, session: string, nextRefresh: string, now: string, next: string, sessionId: string, presented: string) => Promise<string[]> }

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
    redis.defineCommand('exampleRotate', { numberOfKeys: 3, lua: ROTATE })
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
    const presented = `${this.#prefix}refresh:${hash(refreshToken)}`
    const known = await this.#redis.get(presented)
    if (known === null) return { outcome: 'unknown' }
    const [outcome, sessionId, subject] = await this.#redis.exampleRotate(presented, `${this.#prefix}session:${known}`,
      `${this.#prefix}refresh:${hash(next)}`, String(Date.now()), hash(next), known, hash(refreshToken))
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
