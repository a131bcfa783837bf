import { CloseCode } from './close-codes.ts'

/**
 * One row of the error table. The same row answers a refused handshake (HTTP `status`),
 * a refused `renew` (an `auth_error` frame that keeps the connection open), and a close
 * (an `auth_error` frame followed by `closeCode`).
 */
export interface ErrorDefinition {
  /** Stable snake_case code: the `code` field of `auth_error` and of HTTP error bodies. */
  readonly code: ErrorCode
  /** HTTP status when the error refuses a handshake before the upgrade. */
  readonly status: number
  /** Close code when the error closes an open connection. */
  readonly closeCode: CloseCode
  /** Whether fetching a new token and trying again (renew or reconnect) can succeed. */
  readonly retry: boolean
  /** Human-readable text, in English; clients must branch on `code`, never on this. */
  readonly message: string
}

/** Every error code of the protocol, in the order of SPEC.md's table. */
export const ERROR_CODES = [
  'credential_missing',
  'credential_in_query',
  'credential_ambiguous',
  'subprotocol_invalid',
  'token_too_large',
  'token_malformed',
  'token_signature_invalid',
  'token_algorithm_not_allowed',
  'token_expired',
  'token_not_yet_valid',
  'token_issuer_invalid',
  'token_audience_invalid',
  'token_claims_invalid',
  'token_type_invalid',
  'token_stale',
  'unauthorized',
  'forbidden',
  'origin_not_allowed',
  'subject_mismatch',
  'frame_invalid',
  'auth_timeout',
  'handshake_timeout',
  'heartbeat_timeout',
  'handshake_rate_limited',
  'too_many_connections',
  'connection_superseded',
  'server_busy',
  'message_rate_exceeded',
  'renewal_rate_limited',
  'renewal_attempts_exceeded',
  'send_buffer_overflow',
  'credential_expired',
  'credential_revoked',
  'revocation_unavailable',
  'jwks_unavailable',
  'internal_error'
] as const

export type ErrorCode = typeof ERROR_CODES[number]

function define (code: ErrorCode, status: number, closeCode: CloseCode, retry: boolean, message: string): ErrorDefinition {
  return Object.freeze({ code, status, closeCode, retry, message })
}

/** The error table: stable code → HTTP status, close code, retry hint and message. */
export const ERRORS: Readonly<Record<ErrorCode, ErrorDefinition>> = Object.freeze({
  credential_missing: define('credential_missing', 401, CloseCode.Unauthorized, true,
    'No credential: offer the wsauth.bearer.<token> subprotocol'),
  credential_in_query: define('credential_in_query', 400, CloseCode.BadRequest, false,
    'Credentials are not accepted in the URL query'),
  credential_ambiguous: define('credential_ambiguous', 400, CloseCode.BadRequest, false,
    'More than one credential was presented'),
  subprotocol_invalid: define('subprotocol_invalid', 400, CloseCode.BadRequest, false,
    'Sec-WebSocket-Protocol is malformed, repeats an entry, or lacks the protocol version'),
  token_too_large: define('token_too_large', 400, CloseCode.BadRequest, false,
    'The token is longer than the server accepts'),
  token_malformed: define('token_malformed', 401, CloseCode.Unauthorized, false,
    'The token is not a well-formed compact JWT'),
  token_signature_invalid: define('token_signature_invalid', 401, CloseCode.Unauthorized, true,
    'The token signature is missing or invalid'),
  token_algorithm_not_allowed: define('token_algorithm_not_allowed', 401, CloseCode.Unauthorized, false,
    'The token is signed with an algorithm the server does not accept'),
  token_expired: define('token_expired', 401, CloseCode.Unauthorized, true,
    'The token has expired'),
  token_not_yet_valid: define('token_not_yet_valid', 401, CloseCode.Unauthorized, true,
    'The token is not valid yet'),
  token_issuer_invalid: define('token_issuer_invalid', 401, CloseCode.Unauthorized, false,
    'The token issuer is not accepted'),
  token_audience_invalid: define('token_audience_invalid', 401, CloseCode.Unauthorized, false,
    'The token audience is not accepted'),
  token_claims_invalid: define('token_claims_invalid', 401, CloseCode.Unauthorized, false,
    'The token lacks a required claim or has a claim of the wrong type'),
  token_type_invalid: define('token_type_invalid', 401, CloseCode.Unauthorized, false,
    'The token type (typ header) is not an access token type the server accepts'),
  token_stale: define('token_stale', 401, CloseCode.Unauthorized, true,
    'The renewal token expires before the current credential'),
  unauthorized: define('unauthorized', 401, CloseCode.Unauthorized, false,
    'The credential was not accepted'),
  forbidden: define('forbidden', 403, CloseCode.Forbidden, false,
    'The identity is not allowed to use this endpoint'),
  origin_not_allowed: define('origin_not_allowed', 403, CloseCode.Forbidden, false,
    'The Origin is not allowed'),
  subject_mismatch: define('subject_mismatch', 403, CloseCode.Forbidden, false,
    'The renewal token belongs to another subject or session'),
  frame_invalid: define('frame_invalid', 400, CloseCode.BadRequest, false,
    'The protocol frame is malformed or not allowed now'),
  auth_timeout: define('auth_timeout', 408, CloseCode.Timeout, true,
    'No auth frame arrived in time'),
  handshake_timeout: define('handshake_timeout', 503, CloseCode.ServiceUnavailable, true,
    'The server could not finish checking the credential in time'),
  heartbeat_timeout: define('heartbeat_timeout', 408, CloseCode.Timeout, true,
    'The connection stopped answering heartbeat pings'),
  handshake_rate_limited: define('handshake_rate_limited', 429, CloseCode.TooManyRequests, true,
    'Too many handshakes from this address; retry later'),
  too_many_connections: define('too_many_connections', 429, CloseCode.TooManyRequests, true,
    'This identity has too many open connections'),
  connection_superseded: define('connection_superseded', 409, CloseCode.Superseded, false,
    'Closed to make room for a newer connection of the same identity'),
  server_busy: define('server_busy', 503, CloseCode.ServiceUnavailable, true,
    'The server has reached its connection limit; retry later'),
  message_rate_exceeded: define('message_rate_exceeded', 429, CloseCode.TooManyRequests, true,
    'Too many messages on this connection'),
  renewal_rate_limited: define('renewal_rate_limited', 429, CloseCode.TooManyRequests, true,
    'Too many renewals; wait before renewing again'),
  renewal_attempts_exceeded: define('renewal_attempts_exceeded', 429, CloseCode.TooManyRequests, true,
    'Too many failed renewals'),
  send_buffer_overflow: define('send_buffer_overflow', 413, CloseCode.SlowConsumer, true,
    'The client reads too slowly: data waiting for it passed the server limit'),
  credential_expired: define('credential_expired', 401, CloseCode.CredentialExpired, true,
    'The credential expired without a valid renewal'),
  credential_revoked: define('credential_revoked', 401, CloseCode.CredentialRevoked, false,
    'The credential or its session was revoked'),
  revocation_unavailable: define('revocation_unavailable', 503, CloseCode.ServiceUnavailable, true,
    'The server could not check whether the credential was revoked'),
  jwks_unavailable: define('jwks_unavailable', 503, CloseCode.ServiceUnavailable, true,
    'The server could not fetch the keys needed to check the token'),
  internal_error: define('internal_error', 500, CloseCode.InternalError, true,
    'The server could not check the credential')
})

/** Whether `value` is an error code of this protocol. */
export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value)
}
