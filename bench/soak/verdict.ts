import type { SoakResult } from './soak.ts'

/** The soak's targets a run missed (empty when it met them); the test passes looser bounds. */
export function soakProblems (result: SoakResult, bounds: { growthPct: number, latenessMs: number }): string[] {
  const problems: string[] = []
  if (result.samples.length < 2) problems.push(`only ${result.samples.length} samples`)
  if (!(result.growth.heapPct < bounds.growthPct)) problems.push(`heap after GC grew ${result.growth.heapPct} % from ${result.baselineAtS} s`)
  if (!(result.growth.rssPct < bounds.growthPct)) problems.push(`RSS grew ${result.growth.rssPct} % from ${result.baselineAtS} s`)
  if (result.growth.registryMax > result.options.connections) problems.push(`the registry held ${result.growth.registryMax} connections for ${result.options.connections} sockets`)
  // Handles: one per socket and a few of the process; more than 2 % above the baseline is a leak.
  if (result.growth.handles > result.options.connections * 0.02 + 20) problems.push(`active handles grew by ${result.growth.handles}`)
  if (result.expiry.notClosed > 0) problems.push(`${result.expiry.notClosed} expired connections not closed within 5 s of their deadline`)
  // The server's own figure (its expiryLatenessMs histogram): the client's includes its own event-loop lag.
  if (!(result.expiry.serverExpiryLatenessMaxMs <= bounds.latenessMs)) problems.push(`an expired connection closed ${result.expiry.serverExpiryLatenessMaxMs} ms after its deadline`)
  if (Object.keys(result.unexpectedCloses).length > 0) problems.push(`unexpected closes: ${JSON.stringify(result.unexpectedCloses)}`)
  if (result.serverExit !== undefined) problems.push(`the server exited: ${result.serverExit}`)
  return problems
}
