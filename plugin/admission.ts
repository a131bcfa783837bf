import type { FastifyRequest } from 'fastify'
import { ERRORS } from '../protocol/index.ts'
import { authorizeVerdict, type Verdict } from './authorize.ts'
import type { Clock } from './clock.ts'
import type { Authorize, WsAuthClaims } from './options.ts'
import { queryOf, type RevocationTracker } from './revocation-tracker.ts'
import { claimSlot, type SlotContext } from './slots.ts'
import type { VerifiedCredential } from './verifier.ts'

export interface AdmissionContext extends SlotContext {
  readonly revocations: RevocationTracker
  readonly clock: Clock
  readonly handshakeTimeoutMs: number
}

/**
 * The checks a verified credential passes at the handshake, after an `auth` frame and at
 * each renewal: not revoked, then allowed by `authorize`, then (for a new connection, with
 * a shared connection counter) a slot among the subject's connections. Synchronous when
 * the store and the hook are; otherwise bounded by `handshakeTimeout` (then `handshake_timeout`).
 */
export function admit (credential: VerifiedCredential, authorize: Authorize | undefined, request: FastifyRequest, context: AdmissionContext): Verdict | Promise<Verdict> {
  const revoked = context.revocations.check(queryOf(credential))
  // A request whose connection is registered is renewing: it holds its slot already.
  const counted = context.connectionCounter !== undefined && request.wsAuth === null
  const slotted = (verdict: Verdict): Verdict | Promise<Verdict> =>
    verdict !== undefined || !counted ? verdict : claimSlot(credential.subject, request, context)
  const authorized = (verdict: Verdict): Verdict | Promise<Verdict> => {
    if (verdict !== undefined) return verdict
    const allowed = authorizeVerdict(authorize, credential.claims as WsAuthClaims, request)
    return allowed instanceof Promise ? allowed.then(slotted) : slotted(allowed)
  }
  const verdict = revoked instanceof Promise ? revoked.then(authorized) : authorized(revoked)
  return verdict instanceof Promise ? bounded(verdict, context) : verdict
}

function bounded (verdict: Promise<Verdict>, context: AdmissionContext): Promise<Verdict> {
  return new Promise((resolve) => {
    const timer = context.clock.setTimeout(() => { resolve(ERRORS.handshake_timeout) }, context.handshakeTimeoutMs)
    verdict.then((value) => {
      context.clock.clearTimeout(timer)
      resolve(value)
    }, () => {
      context.clock.clearTimeout(timer)
      resolve(ERRORS.internal_error)
    })
  })
}
