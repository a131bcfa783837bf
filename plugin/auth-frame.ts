import type { FastifyRequest } from 'fastify'
import { WebSocket } from 'ws'
import { ERRORS, isAuthFrame, parseJson, type ErrorDefinition } from '../protocol/index.ts'
import { admit } from './admission.ts'
import { Alarm } from './clock.ts'
import type { ConnectionContext } from './connection.ts'
import { isErrorDefinition } from './credential.ts'
import type { Authorize } from './options.ts'
import type { PreAuthBudget } from './pre-auth-budget.ts'
import { hook, kClosed, kMessage } from './socket-hooks.ts'
import { closeSocket, closeWithError } from './socket-io.ts'
import type { Verification, VerifiedCredential } from './verifier.ts'

export interface AuthFrameContext extends ConnectionContext {
  readonly authTimeoutMs: number
  /** Bytes one connection may send before it is authenticated, in total. */
  readonly maxPreAuthPayload: number
  /** The process-wide cap on bytes held for connections not yet authenticated. */
  readonly preAuthBudget: PreAuthBudget
}

// Application frames pipelined behind `auth` while it is being checked are held, in order,
// up to this many; more is a protocol violation.
const MAX_HELD_MESSAGES = 32

const BUDGET_SPENT_MESSAGE = 'The server holds too much data of connections not yet authenticated; retry later'

/**
 * Auth-frame transport: the socket is open but unauthenticated until its first frame, an
 * `auth` frame, carries a valid token. Nothing else is accepted before it, and the route
 * handler is not called until it succeeds.
 */
export function awaitAuthFrame (socket: WebSocket, request: FastifyRequest, authorize: Authorize | undefined,
  context: AuthFrameContext, onAuthenticated: (credential: VerifiedCredential, sequence: number) => void, onRefused: (error: ErrorDefinition) => void): void {
  const { clock, preAuthBudget } = context
  let settled = false
  let checking = false
  const held: Array<[Buffer, boolean]> = []
  /** Bytes of this connection counted against `maxPreAuthPayload` and reserved in the process budget. */
  let heldBytes = 0
  const alarm = new Alarm(clock)

  /** Ends the wait: no more timeout, and the bytes held are the process's to give out again. */
  const settle = (): void => {
    settled = true
    alarm.cancel()
    preAuthBudget.release(heldBytes)
    heldBytes = 0
  }

  const refuse = (error: ErrorDefinition, message?: string): void => {
    if (settled) return
    settle()
    held.length = 0
    onRefused(error)
    closeWithError(socket, error, context.closeTimeoutMs, clock, message)
  }

  const accept = (credential: VerifiedCredential, sequence: number): void => {
    if (settled || socket.readyState !== WebSocket.OPEN) return
    settle()
    // The authenticated connection installs its own hooks.
    hook(socket, undefined)
    onAuthenticated(credential, sequence)
    for (const [data, isBinary] of held) socket.emit('message', data, isBinary)
    held.length = 0
  }

  const onMessage = (data: Buffer, isBinary: boolean): void => {
    // The cap is on everything sent before acceptance, the auth frame included, not on
    // each message: the messages held behind it are as much memory as it is.
    if (heldBytes + data.length > context.maxPreAuthPayload) {
      settle()
      held.length = 0
      onRefused(ERRORS.frame_invalid)
      closeSocket(socket, 1009, 'message_too_big', context.closeTimeoutMs, clock)
      return
    }
    if (!preAuthBudget.reserve(data.length)) {
      refuse(ERRORS.server_busy, BUDGET_SPENT_MESSAGE)
      return
    }
    heldBytes += data.length
    if (checking) {
      if (held.length >= MAX_HELD_MESSAGES) refuse(ERRORS.frame_invalid)
      else held.push([data, isBinary])
      return
    }
    const frame = isBinary ? undefined : parseJson(data.toString())
    if (!isAuthFrame(frame)) {
      refuse(ERRORS.frame_invalid)
      return
    }
    checking = true
    const result = context.verifier.verify(frame.token)
    // A promise only while a key set fetches a key it does not hold; frames that arrive
    // meanwhile are held like those behind an asynchronous authorize.
    if (result instanceof Promise) result.then(verified, () => { refuse(ERRORS.internal_error) })
    else verified(result)
  }

  const verified = (result: Verification): void => {
    if (settled) return
    if (isErrorDefinition(result)) {
      refuse(result)
      return
    }
    const sequence = context.revocations.sequence
    const verdict = admit(result, authorize, request, context)
    if (verdict instanceof Promise) {
      verdict.then((v) => { v === undefined ? accept(result, sequence) : refuse(v) }, () => { refuse(ERRORS.internal_error) })
    } else if (verdict === undefined) {
      accept(result, sequence)
    } else {
      refuse(verdict)
    }
  }

  // Until authenticated, every message goes to the gate and none to the application.
  hook(socket, {
    [kMessage]: (data, isBinary) => {
      if (!settled) onMessage(data, isBinary)
      return false
    },
    [kClosed]: () => {
      if (settled) return
      settle()
      held.length = 0
    }
  })
  alarm.set(clock.now() + context.authTimeoutMs, () => { refuse(ERRORS.auth_timeout) })
}
