import { control } from '../shared/control-client.ts'
import { controlCommand } from '../shared/control-command.ts'
import type { LoopDelaySample } from '../shared/protocol.ts'
import { round } from '../shared/stats.ts'
import type { TokenRevocationResult } from '../server/revocations.ts'
import type { ScenarioResult, VariantResult } from '../report/types.ts'
import { clientSpec } from './clients.ts'
import { loopDelayMetrics } from './held.ts'
import { closePool, openPool } from './pools.ts'
import type { Scenario } from './scenario.ts'

/**
 * `wsAuth.revoke({ tokenId })` in one process, first with few connections held, then with
 * many: the cost of one revocation must not depend on how many others are held. The calls
 * run in the server (control command `revoke-token-ids`): once back to back, one per
 * event-loop turn (rate, cost per call), then once paced (the event-loop delay over seconds).
 */
export const revocationTokensScenario: Scenario = {
  id: 'revocation-tokens',
  title: 'token-id revocations while connections are held',
  unit: 'revocations',
  description: 'In the server process, `wsAuth.revoke({ tokenId })` (in-memory store), one in ten for the token of a held connection (which closes), the rest for ids no connection holds; first with the small hold, then with the large one. Called once per event-loop turn: the rate over the whole sequence, the synchronous cost of each call and the connections the registry examined per revocation (a count, not a timing). Then as many again, one every few ms: the server\'s event-loop delay over those seconds.',
  async run (context) {
    const started = context.progress.elapsedS
    const { small, large, revocations, matching, pacedIntervalMs } = context.mode.revocation
    const server = await context.servers.get('plugin-hs256')
    const variants: VariantResult[] = []
    const pools: string[] = []
    const revoke = async (intervalMs: number): Promise<TokenRevocationResult> =>
      await controlCommand<TokenRevocationResult>(server.controlPort, 'revoke-token-ids', { count: revocations, matching, intervalMs }, 120_000)
    try {
      // The second pool tops the hold up to `large`, counting the connections the first hold's two passes closed.
      for (const [pool, add] of [['revocation-small', small], ['revocation-large', large - small + 2 * matching]] as const) {
        await openPool(context, pool, clientSpec(server, 'hold'), add)
        pools.push(pool)
        // Back to back: the rate, each call's cost and the connections examined.
        const result = await revoke(0)
        // Paced, as requests spread over seconds would come: the event-loop delay meanwhile.
        await control.loopDelay(server.controlPort, true)
        const paced = await revoke(pacedIntervalMs)
        const delay: LoopDelaySample = await control.loopDelay(server.controlPort, true)
        const rate = round(result.revocations / (result.elapsedMs / 1000))
        const closed = result.closed + paced.closed
        context.progress.line(`${result.held} held: ${result.revocations} revocations back to back (${result.closed} closed) in ${round(result.elapsedMs)} ms, ${rate}/s; call p50 ${result.callUs?.p50 ?? '—'} µs, max ${result.callUs?.max ?? '—'} µs; ${String(result.visitedPerRevocation)} connections examined per revocation; ${paced.revocations} more, one every ${pacedIntervalMs} ms (${paced.closed} closed, ${round(paced.elapsedMs)} ms): event-loop delay p99 ${delay.p99} ms, max ${delay.max} ms`)
        variants.push({
          id: `held-${result.held}`,
          label: `${result.held} connections held`,
          target: 'plugin-hs256',
          errors: closed === 2 * matching ? 0 : 1,
          errorSamples: closed === 2 * matching ? [] : [`${closed} of ${2 * matching} matching connections closed`],
          metrics: {
            held: result.held,
            revocations: result.revocations,
            closed: result.closed,
            revocationsPerSecond: rate,
            callP50Us: result.callUs?.p50 ?? null,
            callP99Us: result.callUs?.p99 ?? null,
            callMaxUs: result.callUs?.max ?? null,
            visitedPerRevocation: result.visitedPerRevocation,
            pacedRevocations: paced.revocations,
            pacedClosed: paced.closed,
            pacedIntervalMs,
            pacedElapsedMs: round(paced.elapsedMs),
            pacedVisitedPerRevocation: paced.visitedPerRevocation,
            ...loopDelayMetrics([delay])
          }
        })
      }
    } finally {
      for (const pool of pools) await closePool(context, pool)
    }
    const [few, many] = variants
    const ratio = (key: string): number | null => {
      const a = few?.metrics?.[key]
      const b = many?.metrics?.[key]
      return typeof a === 'number' && typeof b === 'number' && a > 0 ? round(b / a, 3) : null
    }
    const result: ScenarioResult = {
      id: this.id,
      title: this.title,
      unit: this.unit,
      description: this.description,
      status: 'ok',
      variants,
      comparisons: [],
      metrics: { small, large, revocations, matching, callP50LargeOverSmall: ratio('callP50Us'), rateLargeOverSmall: ratio('revocationsPerSecond') },
      notes: [],
      rounds: 1,
      elapsedS: Math.round(context.progress.elapsedS - started)
    }
    return [result]
  }
}
