import { describe, expect, test } from 'tstyche'
import { WebSocket } from 'ws'
import { WsAuthClient, type CloseInfo, type ConnectionState, type WebSocketConstructor } from '../../client/index.ts'
import type { AuthErrorFrame, AuthenticatedFrame } from '../../protocol/index.ts'

const client = new WsAuthClient({ url: 'wss://x', getToken: async () => 't', WebSocket: WebSocket as unknown as WebSocketConstructor })

describe('WsAuthClient', () => {
  test('options', () => {
    expect(new WsAuthClient({ url: 'wss://x', transport: 'cookie', refresh: async () => {} })).type.not.toRaiseError()
    expect(new WsAuthClient({ url: 'wss://x', transport: 'carrier-pigeon' })).type.toRaiseError()
    expect(new WsAuthClient({ url: 'wss://x', getToken: () => 'not a promise' })).type.toRaiseError()
  })
  test('events are typed by name', () => {
    client.on('authenticated', (frame) => { expect(frame).type.toBe<AuthenticatedFrame>() })
    client.on('auth_error', (frame) => { expect(frame).type.toBe<AuthErrorFrame>() })
    client.on('close', (info) => { expect(info).type.toBe<CloseInfo>() })
    client.on('state', (state) => { expect(state).type.toBe<ConnectionState>() })
    expect(client.on('nope', () => {})).type.toRaiseError()
  })
  test('API', () => {
    expect(client.renewNow()).type.toBe<Promise<void>>()
    expect(client.expiresAt).type.toBe<number | undefined>()
    expect(client.send({ not: 'serialised' })).type.toRaiseError()
  })
})
