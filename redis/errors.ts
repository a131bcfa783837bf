// Named import and explicit type: see plugin/errors.ts.
import { createError, type FastifyErrorConstructor } from '@fastify/error'

/**
 * Thrown (or rejected) by the Redis stores when Redis is not ready: they fail at once
 * instead of letting ioredis queue the command until Redis is back. The plugin turns it
 * into `revocation_unavailable`; `revoke()` and `publish()` callers see it as is.
 */
export const RedisUnavailableError: FastifyErrorConstructor<{ code: 'FST_WS_AUTH_REDIS_UNAVAILABLE', statusCode: 503 }, [status: string]> = createError(
  'FST_WS_AUTH_REDIS_UNAVAILABLE',
  'fastify-ws-auth: Redis is not ready (status "%s")',
  503
)
