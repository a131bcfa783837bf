import type { AuthErrorFrame, ErrorCode } from '../protocol/core.ts'

/** Thrown by `send` when a message can be neither sent nor queued. */
export class SendError extends Error {
  override name = 'SendError'
}

/** `getToken()` (or `refresh()` in cookie mode) failed, or returned something that is not a usable token. */
export class TokenError extends Error {
  override name = 'TokenError'
}

/** Marks an UnauthorizedError even when a bundle holds two copies of this module. */
const UNAUTHORIZED = Symbol.for('fastify-ws-auth.UnauthorizedError')

/**
 * What `getToken()` (or `refresh()`) throws, or rejects with, to say that no token will
 * come: the user logged out, or their session is gone. The client then stops for good
 * (state `logged_out`, event `logged_out`) and makes no further attempt. Any other
 * error is retried with backoff. The same idea as centrifuge-js's `UnauthorizedError`.
 */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError'
  readonly [UNAUTHORIZED] = true

  constructor (message = 'no token will come: the user is logged out', options?: { cause?: unknown }) {
    super(message, options)
  }
}

export function isUnauthorized (error: unknown): error is UnauthorizedError {
  return typeof error === 'object' && error !== null && (error as { [UNAUTHORIZED]?: unknown })[UNAUTHORIZED] === true
}

/**
 * Why a renewal failed: a protocol error code from the server's `auth_error`, or one of
 * the client's own reasons.
 */
export type RenewalFailure =
  | ErrorCode
  /** No reply within `renewal.timeout`. */
  | 'timeout'
  /** `getToken()` or `refresh()` failed. */
  | 'token_unavailable'
  /** The client is not connected and authenticated. */
  | 'not_open'
  /** The connection closed (or the client was closed) before the reply. */
  | 'closed'
  /** Cookie transport without a `refresh` option: renewal is left to the application. */
  | 'unsupported'
  /** `getToken()` or `refresh()` threw an {@link UnauthorizedError}: the client logged out. */
  | 'logged_out'

/** How `renewNow()` rejects, and what the `error` event carries when a renewal fails for good. */
export class RenewalError extends Error {
  override name = 'RenewalError'
  readonly code: RenewalFailure
  /** Whether trying again, with a new token, can succeed. */
  readonly retry: boolean
  /** The server's refusal, when there was one. */
  readonly frame: AuthErrorFrame | undefined

  constructor (code: RenewalFailure, message: string, retry: boolean, options: { frame?: AuthErrorFrame, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retry = retry
    this.frame = options.frame
  }
}
