import type { FastifyInstance } from 'fastify'

/** What the `close-burst` command of the bare target reports. */
export interface CloseBurstResult {
  closed: number
  /** How long the one synchronous loop that sent every close held the event loop, ms. */
  loopMs: number
}

/**
 * The floor of an expiry burst: at `at` (ms since epoch), every held connection gets a text
 * frame of the plugin's `auth_error` size and a close with `code`, in one synchronous loop,
 * as a hand-written server would close a crowd that expired together. It is what `ws` itself
 * needs to close that many sockets at once, with no slicing and no bookkeeping.
 */
export async function closeBurst (app: FastifyInstance, at: number, code: number, reason: string, frame: string): Promise<CloseBurstResult> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
  const started = performance.now()
  let closed = 0
  for (const client of app.websocketServer.clients) {
    client.send(frame)
    client.close(code, reason)
    closed++
  }
  return { closed, loopMs: Math.round((performance.now() - started) * 100) / 100 }
}
