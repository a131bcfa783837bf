/**
 * WebSocket close codes the server sends when it closes a connection for an auth reason.
 * Numbered 4000 + the closest HTTP status, so the refusal and the close read alike.
 */
export enum CloseCode {
  /** A protocol frame was malformed, or arrived when the protocol does not allow it. */
  BadRequest = 4400,
  /** The credential was refused (invalid, or too many failed renewals with a bad token). */
  Unauthorized = 4401,
  /** The identity is not allowed here (authorize hook refused, or Origin not allowed). */
  Forbidden = 4403,
  /** No `auth` frame arrived in time, or the peer stopped answering heartbeat pings. */
  Timeout = 4408,
  /** Closed to make room for a newer connection of the same subject (connection limit). */
  Superseded = 4409,
  /** The server's send buffer for this peer passed its cap: the peer reads too slowly. */
  SlowConsumer = 4413,
  /** Too many requests: a rate limit, a connection limit, or too many failed renewals. */
  TooManyRequests = 4429,
  /** The credential's deadline passed without a valid renewal. */
  CredentialExpired = 4440,
  /** The credential or its session was revoked, or the application closed the session. */
  CredentialRevoked = 4441,
  /** The server failed while checking the credential. */
  InternalError = 4500,
  /** The server is at capacity, or a service it needs to check credentials is unavailable. */
  ServiceUnavailable = 4503
}

/**
 * What a client does after a close:
 * - `reauthenticate`: obtain a fresh token, then reconnect (immediately the first time, with backoff after).
 * - `reconnect`: reconnect with exponential backoff, reusing the token while it is valid.
 * - `stop`: do not reconnect; report the error to the application.
 */
export type ClosePolicy = 'reauthenticate' | 'reconnect' | 'stop'

const POLICY_BY_CODE: Readonly<Record<CloseCode, ClosePolicy>> = {
  [CloseCode.BadRequest]: 'stop',
  [CloseCode.Unauthorized]: 'reauthenticate',
  [CloseCode.Forbidden]: 'stop',
  [CloseCode.Timeout]: 'reconnect',
  [CloseCode.Superseded]: 'stop',
  [CloseCode.SlowConsumer]: 'reconnect',
  [CloseCode.TooManyRequests]: 'reconnect',
  [CloseCode.CredentialExpired]: 'reauthenticate',
  [CloseCode.CredentialRevoked]: 'stop',
  [CloseCode.InternalError]: 'reconnect',
  [CloseCode.ServiceUnavailable]: 'reconnect'
}

/** Policy for the standard close codes (RFC 6455 §7.4.1) a client may also see. */
const STANDARD_POLICY: Readonly<Record<number, ClosePolicy>> = {
  1000: 'stop',
  1001: 'reconnect',
  1002: 'stop',
  1003: 'stop',
  1005: 'reconnect',
  1006: 'reconnect',
  1007: 'stop',
  1008: 'stop',
  1009: 'stop',
  1010: 'stop',
  1011: 'reconnect',
  1012: 'reconnect',
  1013: 'reconnect',
  1014: 'reconnect',
  1015: 'stop'
}

/** Every close code this protocol defines, in ascending order. */
export const CLOSE_CODES: readonly CloseCode[] = Object.freeze(
  (Object.values(CloseCode).filter((v) => typeof v === 'number') as CloseCode[]).sort((a, b) => a - b)
)

/** Whether `code` is one of the close codes this protocol defines. */
export function isProtocolCloseCode (code: number): code is CloseCode {
  return Object.hasOwn(POLICY_BY_CODE, code)
}

/**
 * What a client should do after the server closed with `code`. Codes this protocol
 * defines follow the table in SPEC.md; standard codes follow RFC 6455's meaning; any
 * other code (an application's own) is treated as `reconnect`, with backoff.
 * `retry` is the `auth_error` that announced the close, if one did: a `reauthenticate`
 * close with `retry: false` is `stop`, since a fresh token cannot fix it (SPEC.md section 7).
 */
export function closePolicy (code: number, retry?: boolean): ClosePolicy {
  const policy = isProtocolCloseCode(code) ? POLICY_BY_CODE[code] : STANDARD_POLICY[code] ?? 'reconnect'
  return policy === 'reauthenticate' && retry === false ? 'stop' : policy
}
