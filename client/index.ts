// The reference client of the wsauth.v1 protocol (SPEC.md). Plain ESM without Node
// builtins: it runs in browsers (global WebSocket) and in Node (pass ws's WebSocket).
export {
  WsAuthClient,
  type ClientEvents, type CloseInfo, type ConnectionState, type Identity, type ReconnectOptions, type StopReason, type Transport, type WsAuthClientOptions
} from './client.ts'
export { RenewalError, SendError, TokenError, UnauthorizedError, type RenewalFailure } from './errors.ts'
export { backoffDelay, type BackoffOptions } from './backoff.ts'
export { renewalLead, type RenewalOptions } from './renewal.ts'
export type { Clock } from './clock.ts'
export type { MessageData, SendData, WebSocketConstructor, WebSocketLike } from './socket.ts'
// The protocol's names a client application branches on, so that it imports one module.
export {
  CloseCode, closePolicy,
  type AuthErrorFrame, type AuthenticatedFrame, type ClosePolicy, type ErrorCode, type RenewRequiredFrame, type RenewedFrame
} from '../protocol/core.ts'
