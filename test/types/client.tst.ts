import { describe, expect, test } from 'tstyche'
import { WebSocket as NodeWebSocket } from 'ws'
import {
  RenewalError, SendError, UnauthorizedError, WsAuthClient, backoffDelay,
  type AuthErrorFrame, type AuthenticatedFrame, type CloseInfo, type ConnectionState, type Identity, type MessageData,
  type RenewalFailure, type RenewedFrame, type RenewRequiredFrame, type StopReason, type WebSocketConstructor, type WsAuthClientOptions
} from '../../client/index.ts'
import type { ClosePolicy, ErrorCode } from '../../protocol/index.ts'

const url = 'wss://api.test/feed'
const getToken = async (): Promise<string> => 'token'
const client = new WsAuthClient({ url, getToken, WebSocket: NodeWebSocket })

describe('options', () => {
  test('the browser\'s WebSocket and ws\'s both fit, without a cast', () => {
    expect(NodeWebSocket).type.toBeAssignableTo<WebSocketConstructor>()
    expect(WebSocket).type.toBeAssignableTo<WebSocketConstructor>()
    expect(new WsAuthClient({ url, getToken })).type.not.toRaiseError()
  })
  test('transports', () => {
    expect(new WsAuthClient({ url, transport: 'cookie', refresh: async () => {} })).type.not.toRaiseError()
    expect(new WsAuthClient({ url, transport: 'auth-frame', getToken })).type.not.toRaiseError()
    expect(new WsAuthClient({ url, transport: 'carrier-pigeon' })).type.toRaiseError()
  })
  test('getToken is asynchronous and yields a string', () => {
    expect(new WsAuthClient({ url, getToken: () => 'not a promise' })).type.toRaiseError()
    expect(new WsAuthClient({ url, getToken: async () => 42 })).type.toRaiseError()
  })
  test('getToken says "logged out" by throwing UnauthorizedError', () => {
    expect(new WsAuthClient({ url, getToken: async () => { throw new UnauthorizedError() } })).type.not.toRaiseError()
    expect(new WsAuthClient({ url, transport: 'cookie', refresh: async () => { throw new UnauthorizedError('session ended', { cause: 401 }) } })).type.not.toRaiseError()
    expect(new UnauthorizedError()).type.toBeAssignableTo<Error>()
    expect(new UnauthorizedError(42)).type.toRaiseError()
  })
  test('reconnect, renewal, queue and test hooks', () => {
    expect(new WsAuthClient({
      url,
      getToken,
      reconnect: { baseDelay: 500, maxDelay: 30_000, maxAttempts: 10, resetAfter: 5000 },
      renewal: { minLead: 5000, leadRatio: 0.1, retries: 2, baseDelay: 500, maxDelay: 4000, timeout: 10_000 },
      queueLimit: 100,
      random: Math.random,
      clock: { now: Date.now, setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: () => {} }
    })).type.not.toRaiseError()
    expect(new WsAuthClient({ url, getToken, reconnect: { base: 1 } })).type.toRaiseError()
    expect<WsAuthClientOptions['queueLimit']>().type.toBe<number | undefined>()
  })
})

describe('events', () => {
  test('listeners are typed by event name', () => {
    client.on('state', (state) => { expect(state).type.toBe<ConnectionState>() })
    client.on('authenticated', (frame) => { expect(frame).type.toBe<AuthenticatedFrame>() })
    client.on('renew_required', (frame) => { expect(frame).type.toBe<RenewRequiredFrame>() })
    client.on('renewed', (frame) => { expect(frame).type.toBe<RenewedFrame>() })
    client.on('auth_error', (frame) => { expect(frame).type.toBe<AuthErrorFrame>() })
    client.on('close', (info) => { expect(info).type.toBe<CloseInfo>() })
    client.on('message', (data) => { expect(data).type.toBe<MessageData>() })
    client.on('error', (error) => { expect(error).type.toBe<Error>() })
    client.on('logged_out', (error) => { expect(error).type.toBe<UnauthorizedError>() })
    client.once('open', () => {})
  })
  test('unknown events and wrong listener signatures are errors', () => {
    expect(client.on('nope', () => {})).type.toRaiseError()
    expect(client.on('close', (code: number) => code)).type.toRaiseError()
  })
  test('on() returns its unsubscribe function', () => {
    expect(client.on('open', () => {})).type.toBe<() => void>()
  })
  test('close info', () => {
    expect<CloseInfo['policy']>().type.toBe<ClosePolicy>()
    expect<CloseInfo['willRetry']>().type.toBe<boolean>()
    expect<CloseInfo['authError']>().type.toBe<AuthErrorFrame | undefined>()
    expect<CloseInfo['status']>().type.toBe<number | undefined>()
    expect<CloseInfo['stopReason']>().type.toBe<StopReason | undefined>()
    expect<StopReason>().type.toBe<'closed' | 'policy' | 'refused' | 'max_attempts' | 'logged_out'>()
  })
  test('logged_out is a state of its own', () => {
    expect<'logged_out'>().type.toBeAssignableTo<ConnectionState>()
    expect<'closed'>().type.toBeAssignableTo<ConnectionState>()
    expect<'logged-out'>().type.not.toBeAssignableTo<ConnectionState>()
  })
  test('emit is internal', () => {
    expect(client.emit('open')).type.toRaiseError()
  })
})

describe('API', () => {
  test('methods', () => {
    expect(client.connect()).type.toBe<void>()
    expect(client.renewNow()).type.toBe<Promise<void>>()
    expect(client.close(4000, 'bye')).type.toBe<void>()
    expect(client.send('text')).type.toBe<void>()
    expect(client.send(new Uint8Array(2))).type.toBe<void>()
    expect(client.send({ not: 'serialised' })).type.toRaiseError()
  })
  test('state for UIs is read-only', () => {
    expect(client.state).type.toBe<ConnectionState>()
    expect(client.identity).type.toBe<Identity | undefined>()
    expect(client.expiresAt).type.toBe<number | undefined>()
    expect(client.expiresIn).type.toBe<number | undefined>()
    expect(client.renewsAt).type.toBe<number | undefined>()
    expect(client.queued).type.toBe<number>()
    expect(() => { client.expiresAt = 1 }).type.toRaiseError()
  })
  test('errors', () => {
    expect(new RenewalError('timeout', 'm', true).code).type.toBe<RenewalFailure>()
    expect<'logged_out'>().type.toBeAssignableTo<RenewalFailure>()
    expect<ErrorCode>().type.toBeAssignableTo<RenewalFailure>()
    expect(new SendError('m')).type.toBeAssignableTo<Error>()
  })
  test('backoffDelay', () => {
    expect(backoffDelay(3, { baseDelay: 100 }, Math.random)).type.toBe<number>()
  })
})
