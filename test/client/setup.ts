// Shared set-up of the client tests: real servers (test/helpers.ts) and real `ws` sockets.
import type { Test } from 'tap'
import { WebSocket } from 'ws'
import { WsAuthClient, type ClientEvents, type WsAuthClientOptions } from '../../client/index.ts'
import { sign, startServer, type ServerSetup } from '../helpers.ts'

export const S = 1000

/**
 * A server whose handler greets each connection with an application message naming the
 * token it was opened with (`jti`) and echoes everything else.
 */
export async function echoServer (t: Test, setup: ServerSetup = {}) {
  return await startServer(t, {
    handler: (socket, request) => {
      socket.send(JSON.stringify({ type: 'hello', jti: request.wsAuth.claims.jti, connectionId: request.wsAuth.id }))
      socket.on('message', (data, isBinary) => { socket.send(isBinary ? data : `echo:${data.toString()}`, { binary: isBinary }) })
    },
    ...setup
  })
}

/** A client on Node's `ws`, with small backoff delays, closed when the test ends (before its server). */
export function makeClient (t: Test, options: Partial<WsAuthClientOptions> & { url: string }): WsAuthClient {
  const client = new WsAuthClient({ WebSocket, reconnect: { baseDelay: 10, maxDelay: 50 }, ...options })
  t.after(() => { client.close() })
  return client
}

/** Resolves with the arguments of the next `event`. */
export function next<E extends keyof ClientEvents> (client: WsAuthClient, event: E, ms?: number): Promise<ClientEvents[E]> {
  return nextWhere(client, event, () => true, ms)
}

/**
 * Resolves with the first `event` whose arguments satisfy `predicate`; rejects after `ms`
 * (real time), so that a broken client fails its test at once instead of at tap's timeout.
 */
export function nextWhere<E extends keyof ClientEvents> (client: WsAuthClient, event: E, predicate: (...args: ClientEvents[E]) => boolean, ms = 5000): Promise<ClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no ${String(event)} event within ${ms} ms`))
    }, ms)
    const off = client.on(event, (...args) => {
      if (!predicate(...args)) return
      off()
      clearTimeout(timer)
      resolve(args)
    })
  })
}

/**
 * `getToken` for a test: signs a token (`jti` = `t1`, `t2`, …) whose claims `claims()`
 * decides, and counts the calls.
 */
export function tokenSource (claims: (call: number) => Record<string, unknown> = () => ({})) {
  const source = {
    calls: 0,
    getToken: async (): Promise<string> => {
      const call = ++source.calls
      return sign({ jti: `t${call}`, ...claims(call) })
    }
  }
  return source
}

/** A promise with its resolve function outside, to hold a callback until the test lets it go. */
export function deferred<T = void> (): { promise: Promise<T>, resolve: (value: T) => void } {
  let settle!: (value: T) => void
  const promise = new Promise<T>((resolve) => { settle = resolve })
  return { promise, resolve: settle }
}
