export {
  WsAuthClient, SendError,
  type ClientEvents, type CloseInfo, type ConnectionState, type Identity, type Timers, type Transport,
  type WebSocketConstructor, type WebSocketLike, type WsAuthClientOptions
} from './client.ts'
export { backoffDelay, type BackoffOptions } from './backoff.ts'
