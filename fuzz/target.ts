import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { WebSocket } from 'ws'
import fastifyWsAuth, { type AuthenticatedConnection } from '../plugin/index.ts'
import { isReservedMessage } from './invariants.ts'
import { FUZZ_KEY } from './tokens.ts'

export const ALLOWED_ORIGIN = 'https://app.example'
export const COOKIE_NAME = 'wsauth'

/** Paths of the target's routes: subprotocol and cookie credentials, and `auth` frames. */
export const ROUTES = { handshake: '/ws', authFrame: '/pre' } as const

/** What the application saw, per subject: the fuzz's cases each use their own. */
export interface Delivery {
  readonly reserved: string[]
  messages: number
}

export interface Target {
  readonly app: FastifyInstance
  readonly port: number
  /** Messages the application handler received, by the connection's subject. */
  readonly deliveries: Map<string, Delivery>
  close (): Promise<void>
}

/**
 * The real server under fuzz: the plugin with its defaults but for the limits a fuzz run
 * would trip by volume alone (handshakes per address, connections per subject), an Origin
 * allowlist and the cookie transport. Its handler records every message it is given.
 */
export async function startTarget (): Promise<Target> {
  const app = Fastify({ logger: false })
  await app.register(fastifyWsAuth, {
    verify: { algorithms: ['HS256'], key: FUZZ_KEY },
    allowedOrigins: [ALLOWED_ORIGIN],
    cookie: { name: COOKIE_NAME },
    handshakeLimit: false,
    maxConnectionsPerSubject: 10_000,
    closeTimeout: 2000
  })
  const deliveries = new Map<string, Delivery>()
  const handler = (socket: WebSocket, request: { wsAuth: AuthenticatedConnection }): void => {
    const subject = request.wsAuth.subject
    let delivery = deliveries.get(subject)
    if (delivery === undefined) deliveries.set(subject, delivery = { reserved: [], messages: 0 })
    const seen = delivery
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      seen.messages++
      if (isReservedMessage(data, isBinary)) seen.reserved.push(data.toString().slice(0, 200))
    })
  }
  app.get(ROUTES.handshake, { websocket: true, wsAuth: true }, handler)
  app.get(ROUTES.authFrame, { websocket: true, wsAuth: { authFrame: true } }, handler)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  return { app, port, deliveries, close: async () => { await app.close() } }
}
