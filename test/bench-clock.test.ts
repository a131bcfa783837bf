// The bench's expiry lateness compares the arrival of a 4440 close with the token's deadline
// (`exp`, signed from the wall clock). Both must be read on the wall clock: the monotonic clock
// does not follow steps of the wall clock, and in the full run of 2026-12-02 every close came out
// about 9.2 s "before" its deadline. Here the wall clock is stepped an hour ahead of the
// monotonic one before anything is loaded (so that the plugin's clock is the stepped one too).
import { createHmac, randomUUID } from 'node:crypto'
import t from 'tap'
import type { ClientSpec } from '../bench/shared/protocol.ts'

const STEP_MS = 3_600_000
const realNow = Date.now.bind(Date)
Date.now = () => realNow() + STEP_MS

const { default: Fastify } = await import('fastify')
const { default: fastifyWsAuth, CloseCode } = await import('../plugin/index.ts')
const { Session } = await import('../bench/generator/raw/session.ts')
const { upgradeRequest } = await import('../bench/generator/raw/request.ts')
const { ROUTES } = await import('../bench/shared/protocol.ts')

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
function sign (secret: string, claims: Record<string, unknown>): string {
  const input = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

t.test('a raw session stamps the server\'s close on the wall clock, as deadlines are', async (t) => {
  t.ok(Math.abs(performance.timeOrigin + performance.now() - Date.now() + STEP_MS) < 1000, 'the wall clock is an hour ahead of the monotonic one')
  const secret = randomUUID() + randomUUID()
  const app = Fastify({ logger: false })
  await app.register(fastifyWsAuth, { verify: { algorithms: ['HS256'], key: secret } })
  app.get(ROUTES.hold, { websocket: true, wsAuth: true }, () => {})
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await app.close() })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  const expMs = Date.now() + 1500
  const token = sign(secret, { sub: 'user-1', jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: expMs / 1000 })
  const spec: ClientSpec = { dialect: 'wsauth', port, controlPort: 0, route: 'hold', credential: 'subprotocol', origin: false, algorithm: 'HS256' }
  const closed = await new Promise<{ code: number, at: number, wall: number }>((resolve, reject) => {
    const session = new Session(0, spec, upgradeRequest(spec, token), undefined, undefined, {
      ready: () => {},
      message: () => {},
      refused: (_session, reason) => { reject(new Error(`refused: ${reason}`)) },
      closing: (s, code) => { resolve({ code, at: s.closingAt, wall: Date.now() }) },
      ended: () => {}
    })
    t.teardown(() => { session.connection.socket.destroy() })
  })
  t.equal(closed.code, CloseCode.CredentialExpired, 'closed at its deadline with 4440')
  t.ok(Math.abs(closed.at - closed.wall) < 1000, `closingAt is the wall clock's time (off by ${(closed.at - closed.wall).toFixed(0)} ms)`)
  const lateness = closed.at - Math.floor(expMs)
  t.ok(lateness >= 0 && lateness < 1000, `lateness against the deadline is what the server did: ${lateness.toFixed(0)} ms`)
})
