import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { createClock } from '@sinonjs/fake-timers'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { WebSocket, type ClientOptions } from 'ws'
import fastifyWsAuth, { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL, type AuthenticatedWebsocketHandler, type Clock, type WsAuthOptions, type WsAuthRouteOptions } from '../plugin/index.ts'
export { freePort } from '../bench/orchestrator/ports.ts'

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!'

/** Seconds since epoch, fractional: lets tests use sub-second token lifetimes. */
export const nowSeconds = (): number => Date.now() / 1000

interface Test {
  after (fn: () => unknown): void
}

/**
 * Every token and key the tests create, so that each server's log can be searched for
 * them: the whole suite's traffic runs at trace level through {@link startServer}.
 */
const secrets = new Set<string>([SECRET])

/** Registers a value that must never appear in a log line. */
export function secret<T extends string> (value: T): T {
  for (const part of value.split('.')) if (part.length >= 16) secrets.add(part)
  return value
}

/** Lines of `log` that contain a registered secret (or a segment of a registered token). */
export function leaks (log: string): string[] {
  const found: string[] = []
  for (const value of secrets) if (log.includes(value)) found.push(value.slice(0, 12) + '…')
  return found
}

/**
 * Signs `claims` (HS256 with {@link SECRET} unless told otherwise; `exp` defaults to 60 s
 * ahead). HMAC tokens are assembled here because fast-jwt's signer insists on integer
 * `exp`, and RFC 7519 allows fractional NumericDates, which give tests sub-second lifetimes.
 */
export function sign (claims: Record<string, unknown> = {}, options: { key?: string | Buffer, algorithm?: string, header?: Record<string, unknown> } = {}): string {
  const algorithm = options.algorithm ?? 'HS256'
  const payload = { sub: 'alice', exp: nowSeconds() + 60, ...claims }
  if (algorithm.startsWith('HS')) {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
    const input = `${encode({ alg: algorithm, typ: 'JWT', ...options.header })}.${encode(payload)}`
    const mac = createHmac(`sha${algorithm.slice(2)}`, options.key ?? SECRET).update(input).digest('base64url')
    return secret(`${input}.${mac}`)
  }
  const signer = createSigner({ key: options.key, algorithm, header: options.header } as Parameters<typeof createSigner>[0]) as unknown as (payload: unknown) => string
  return secret(signer({ ...payload, exp: Math.floor(payload.exp as number) }))
}

/** An unsigned (`alg: none`) token, as an attacker would hand-craft it. */
export function unsignedToken (claims: Record<string, unknown> = {}, alg = 'none'): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return secret(`${encode({ alg, typ: 'JWT' })}.${encode({ sub: 'alice', exp: Math.floor(nowSeconds()) + 60, ...claims })}.`)
}

export const bearer = (token: string): string[] => [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`]

export interface ServerSetup {
  plugin?: Partial<WsAuthOptions>
  route?: true | WsAuthRouteOptions
  fastify?: FastifyServerOptions
  /** Route handler; by default echoes every message back. */
  handler?: AuthenticatedWebsocketHandler
  /** Called after the plugin is registered, before listen. */
  setup?: (app: FastifyInstance) => unknown
}

export interface RunningServer {
  app: FastifyInstance
  url: string
  origin: string
  /** What the server logged (trace level), unless the test brought its own logger. */
  logLines: string[]
}

export async function startServer (t: Test, setup: ServerSetup = {}): Promise<RunningServer> {
  // Unless a test brings its own logger, the server logs at trace level into memory, and
  // the log is searched for every token and key the tests created once the server closes.
  const lines: string[] = []
  const ownLogger = setup.fastify !== undefined && ('logger' in setup.fastify || 'loggerInstance' in setup.fastify)
  const stream = { write (line: string) { lines.push(line) } }
  const app = Fastify({ logger: ownLogger ? false : { level: 'trace', stream }, ...setup.fastify })
  await app.register(fastifyWsAuth, {
    verify: { algorithms: ['HS256'], key: SECRET },
    ...setup.plugin
  } as WsAuthOptions)
  const handler = setup.handler ?? ((socket: WebSocket) => {
    socket.on('message', (data, isBinary) => { socket.send(data, { binary: isBinary }) })
  })
  app.get('/ws', { websocket: true, wsAuth: setup.route ?? true }, handler)
  await setup.setup?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(async () => {
    await app.close()
    const found = leaks(lines.join(''))
    // A throw here fails the test that owns the server.
    if (found.length > 0) throw new Error(`secret material in the server log: ${found.join(', ')}`)
  })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, url: `ws://127.0.0.1:${port}/ws`, origin: `http://127.0.0.1:${port}`, logLines: lines }
}

/**
 * The error registering the plugin with `options` fails with, for the suites that check
 * each option's refusal; throws if registration succeeds.
 */
export async function registerError (options: unknown): Promise<Error & { code?: string }> {
  const app = Fastify()
  try {
    await app.register(fastifyWsAuth, options as WsAuthOptions)
    await app.ready()
  } catch (err) {
    return err as Error & { code?: string }
  } finally {
    await app.close()
  }
  throw new Error('register succeeded')
}

export interface CloseEvent { code: number, reason: string }

/**
 * A real `ws` client that records everything it receives, so a test can await the next
 * frame, the close, or the HTTP status of a refused upgrade.
 */
export class TestClient {
  readonly socket: WebSocket
  readonly messages: unknown[] = []
  readonly raw: Array<{ data: Buffer, isBinary: boolean }> = []
  readonly opened: Promise<void>
  readonly closed: Promise<CloseEvent>
  /** Resolves with the HTTP status when the server refuses the upgrade. */
  readonly refused: Promise<{ status: number, body: unknown }>
  #waiters: Array<() => void> = []

  constructor (url: string, protocols: string[] | undefined, options: ClientOptions = {}) {
    this.socket = new WebSocket(url, protocols, options)
    this.socket.on('error', () => {})
    this.opened = once(this.socket, 'open').then(() => undefined)
    this.opened.catch(() => {})
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }) })
    })
    this.refused = new Promise((resolve) => {
      this.socket.on('unexpected-response', (_req, res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let body: unknown = text
          try { body = JSON.parse(text) } catch {}
          resolve({ status: res.statusCode ?? 0, body })
          this.socket.terminate()
        })
      })
    })
    this.socket.on('message', (data: Buffer, isBinary) => {
      this.raw.push({ data, isBinary })
      let parsed: unknown = data.toString()
      if (!isBinary) {
        try { parsed = JSON.parse(data.toString()) } catch {}
      }
      this.messages.push(parsed)
      for (const wake of this.#waiters.splice(0)) wake()
    })
  }

  /** The first received frame (from `from` on) that satisfies `predicate`; rejects if the socket closes first. */
  async waitFor<T = Record<string, unknown>> (predicate: (message: unknown) => boolean, from = 0): Promise<T> {
    for (;;) {
      const index = this.messages.findIndex((m, i) => i >= from && predicate(m))
      if (index !== -1) return this.messages[index] as T
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed before the awaited frame; got ${JSON.stringify(this.messages)}`)
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        this.closed
      ])
    }
  }

  frame<T = Record<string, unknown>> (type: string, from = 0): Promise<T> {
    return this.waitFor<T>((m) => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type, from)
  }

  frames (type: string): Array<Record<string, unknown>> {
    return this.messages.filter((m) => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type) as Array<Record<string, unknown>>
  }

  send (value: unknown): void {
    this.socket.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value))
  }

  close (): void {
    this.socket.close()
  }
}

export function connect (url: string, protocols?: string[], options?: ClientOptions): TestClient {
  return new TestClient(url, protocols, options)
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A manual clock for the plugin's `clock` option: expiry and renewal timing are driven
 * by `tick`, deterministically, while sockets stay real.
 */
export function manualClock (start = Date.now()): { clock: Clock, tick: (ms: number) => void, now: () => number, setTime: (ms: number) => void } {
  const fake = createClock(start)
  return {
    clock: {
      now: () => fake.now,
      setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
      clearTimeout: (handle) => { fake.clearTimeout(handle as ReturnType<typeof fake.setTimeout>) }
    },
    tick: (ms) => { fake.tick(ms) },
    now: () => fake.now,
    /** Moves the clock without firing timers: models a timer that fires late on a busy loop. */
    setTime: (ms) => { fake.setSystemTime(ms) }
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a wait that hangs says which one it was. */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: nothing after ${ms} ms`)) }, ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `predicate` holds, polling on the event loop; fails after `ms`. */
export async function until (predicate: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const started = Date.now()
  while (!(await predicate())) {
    if (Date.now() - started > ms) throw new Error('condition not reached')
    await delay(5)
  }
}
