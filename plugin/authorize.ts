import type { FastifyRequest } from 'fastify'
import { ERRORS, type ErrorDefinition } from '../protocol/index.ts'
import type { Authorize, WsAuthClaims } from './options.ts'

export type Verdict = ErrorDefinition | undefined

function thrown (request: FastifyRequest, err: unknown): ErrorDefinition {
  // The hook sees claims, never the token, so its error's message is safe to log.
  const { name, code, message } = (err ?? {}) as { name?: unknown, code?: unknown, message?: unknown }
  request.log.error({ event: 'ws_auth.authorize_failed', err: { name, code, message } }, 'wsAuth authorize hook threw; refusing')
  return ERRORS.unauthorized
}

/**
 * Runs an authorize hook. `undefined` means allowed; anything but `true` refuses
 * (fail closed), and a throw or rejection refuses with the generic `unauthorized`.
 * Stays synchronous when the hook is, so the common path adds no promise.
 */
export function authorizeVerdict (authorize: Authorize | undefined, claims: WsAuthClaims, request: FastifyRequest): Verdict | Promise<Verdict> {
  if (authorize === undefined) return undefined
  let result: boolean | Promise<boolean>
  try {
    result = authorize(claims, request)
  } catch (err) {
    return thrown(request, err)
  }
  if (result === true) return undefined
  if (result !== null && typeof result === 'object' && typeof (result as Promise<boolean>).then === 'function') {
    return Promise.resolve(result).then((ok) => ok === true ? undefined : ERRORS.forbidden, (err) => thrown(request, err))
  }
  return ERRORS.forbidden
}
