import type { FastifyInstance } from 'fastify'
import { createHistogram, summarize, type LatencySummary } from '../shared/histogram.ts'

/** What the `revoke-token-ids` command reports. */
export interface TokenRevocationResult {
  revocations: number
  /** Connections closed by them (the matching ones). */
  closed: number
  held: number
  elapsedMs: number
  /** The synchronous part of each `wsAuth.revoke` call (the in-memory store answers at once), µs. */
  callUs: LatencySummary | undefined
  /** Connections the registry examined, per revocation: the cost the index bounds. */
  visitedPerRevocation: number | null
}

// The plugin build keeps its registry under this registered symbol (plugin/registry.ts).
const kRegistry = Symbol.for('fastify-ws-auth.registry')

/**
 * `count` token-id revocations, `matching` of them for token ids of live connections (each
 * closes one), the rest for ids no connection holds. Back to back (one per turn of the event
 * loop, as separate requests would arrive at full speed) when `intervalMs` is 0, else one every
 * `intervalMs`. Runs in the server process, so the call's own cost is timed without the
 * control round trip.
 */
export async function revokeTokenIds (app: FastifyInstance, count: number, matching: number, intervalMs = 0): Promise<TokenRevocationResult> {
  const live: string[] = []
  for (const connection of app.wsAuth.connections()) {
    if (live.length >= matching) break
    const jti = (connection.claims as { jti?: unknown }).jti
    if (typeof jti === 'string') live.push(jti)
  }
  const ids: string[] = []
  // The matching ones spread evenly among the others.
  const every = live.length === 0 ? Infinity : count / live.length
  for (let i = 0, next = 0; i < count; i++) ids.push(i >= next * every && next < live.length ? live[next++] as string : `not-held-${i}-${Math.random().toString(36).slice(2)}`)
  const registry = (app.wsAuth as unknown as Record<symbol, { visited: number } | undefined>)[kRegistry]
  const visitedBefore = registry?.visited
  const held = app.wsAuth.size
  // Recorded in ns, so that summarize's µs → ms step yields µs.
  const histogram = createHistogram()
  let closed = 0
  const started = performance.now()
  for (const tokenId of ids) {
    await new Promise((resolve) => intervalMs > 0 ? setTimeout(resolve, intervalMs) : setImmediate(resolve))
    const t0 = performance.now()
    const revoked = app.wsAuth.revoke({ tokenId })
    histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)))
    closed += await revoked
  }
  const elapsedMs = performance.now() - started
  const visited = registry === undefined || visitedBefore === undefined ? null : (registry.visited - visitedBefore) / count
  return { revocations: count, closed, held, elapsedMs, callUs: summarize(histogram), visitedPerRevocation: visited }
}
