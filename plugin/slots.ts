import { randomUUID } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { ERRORS } from '../protocol/index.ts'
import type { Verdict } from './authorize.ts'
import type { ConnectionCounter, ConnectionSlot } from './connection-counter.ts'
import type { ConnectionLimitPolicy } from './options.ts'

export interface SlotContext {
  readonly connectionCounter: ConnectionCounter | undefined
  readonly maxConnectionsPerSubject: number
  readonly connectionLimitPolicy: ConnectionLimitPolicy
  /** Closes a connection superseded under `close-oldest`, on this instance or another. */
  readonly supersede: (connectionId: string) => void
}

/** Slots taken for handshakes, until their connection registers with the slot's id. */
const slots = new WeakMap<FastifyRequest, ConnectionSlot>()

/** The slot taken for this request's connection, if a shared counter is in use. */
export function takeSlot (request: FastifyRequest): ConnectionSlot | undefined {
  const slot = slots.get(request)
  slots.delete(request)
  return slot
}

/**
 * Claims a place among the subject's connections in the shared counter. The slot is
 * released when the request's socket closes, whatever happens before (a refusal, a client
 * gone before the upgrade finished, the connection's normal end): one rule instead of one
 * release per exit path. The counter's leases cover a process that dies first.
 */
export function claimSlot (subject: string, request: FastifyRequest, context: SlotContext): Verdict | Promise<Verdict> {
  const counter = context.connectionCounter as ConnectionCounter
  const slot: ConnectionSlot = { subject, connectionId: randomUUID() }
  const release = (): void => {
    try {
      Promise.resolve(counter.release(slot)).catch(() => {})
    } catch {}
  }
  request.raw.socket.once('close', release)
  let grant
  try {
    grant = counter.acquire(slot, { max: context.maxConnectionsPerSubject, policy: context.connectionLimitPolicy })
  } catch {
    return ERRORS.revocation_unavailable
  }
  const verdict = (answer: Awaited<typeof grant>): Verdict => {
    if (answer?.granted !== true) return answer?.granted === false ? ERRORS.too_many_connections : ERRORS.revocation_unavailable
    slots.set(request, slot)
    if (typeof answer.supersedes === 'string') context.supersede(answer.supersedes)
    return undefined
  }
  if (!(grant instanceof Promise)) return verdict(grant)
  return grant.then(verdict, () => ERRORS.revocation_unavailable)
}
