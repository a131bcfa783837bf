import type { BroadcastJob, EchoJob, Measurement, RenewalJob, TargetName } from '../shared/protocol.ts'
import { roundFigures, runRounds, type VariantPlan } from '../orchestrator/rounds.ts'
import { round } from '../shared/stats.ts'
import { BASE_COMPARISON, BASE_VARIANT, withBase } from './against.ts'
import { clientSpec } from './clients.ts'
import { closePool, openPool } from './pools.ts'
import { jobTimeout, resultFromRounds, type Scenario, type ScenarioContext } from './scenario.ts'

interface PoolVariant { id: string, label: string, target: TargetName, baseline?: string }

const ECHO_VARIANTS: PoolVariant[] = [
  { id: 'bare', label: 'bare @fastify/websocket', target: 'bare' },
  { id: 'plugin-hs256', label: 'plugin, HS256 (authenticated connections)', target: 'plugin-hs256', baseline: 'bare' },
  { id: 'socketio', label: 'socket.io 4 (authenticated sockets)', target: 'socketio', baseline: 'bare' }
]

/** Opens one pool per variant on `route`, runs `body`, and always closes the pools. */
async function withPools<T> (context: ScenarioContext, prefix: string, route: 'echo' | 'broadcast' | 'renew', variants: readonly PoolVariant[], count: number,
  body: (pools: Map<string, string>) => Promise<T>): Promise<T> {
  const pools = new Map<string, string>()
  try {
    for (const variant of variants) {
      const server = await context.servers.get(variant.target)
      const name = `${prefix}-${variant.id}`
      await openPool(context, name, clientSpec(server, route), count)
      pools.set(variant.id, name)
    }
    return await body(pools)
  } finally {
    for (const name of pools.values()) await closePool(context, name)
  }
}

export const echoScenario: Scenario = {
  id: 'echo',
  title: 'echo messages per second on authenticated connections',
  unit: 'messages/s',
  description: 'Connections held open, 64-byte text messages echoed by the route handler. Capacity: each connection keeps a window of messages in flight. Latency: an open-loop run at a fixed share of bare\'s capacity, measured from when each message was due.',
  async run (context) {
    const started = context.progress.elapsedS
    const { echo } = context.mode
    const variants: PoolVariant[] = withBase(ECHO_VARIANTS, context.options.against, { ...BASE_VARIANT, label: `plugin, HS256, as of ${context.options.against ?? ''}` })
    return withPools(context, 'echo', 'echo', variants, echo.connections, async (pools) => {
      const plan = (variant: PoolVariant, mode: 'saturate' | 'paced', rate: () => number): VariantPlan => ({
        ...variant,
        visit: (durationMs) => context.generator.run<Measurement>({
          kind: 'echo', pool: pools.get(variant.id) as string, mode, window: echo.window, rate: rate(), payloadBytes: echo.payloadBytes, durationMs
        } satisfies EchoJob, jobTimeout(durationMs))
      })
      const saturate = variants.map((variant) => plan(variant, 'saturate', () => 0))
      const capacity = await runRounds(saturate, { ...context.mode, progress: context.progress, unit: 'messages/s' })
      const capacityResult = resultFromRounds(this, saturate, capacity, context.mode.rounds, started, context.progress, {
        compare: [['plugin-hs256 / socketio', 'plugin-hs256', 'socketio'], BASE_COMPARISON],
        metrics: { connections: echo.connections, windowPerConnection: echo.window, payloadBytes: echo.payloadBytes }
      })

      // The same fixed rate for every target, well below bare's capacity, so latency
      // reflects the work per message rather than a queue at saturation.
      const bareRate = capacityResult.variants.find((v) => v.id === 'bare')?.rate?.median ?? 1000
      const pacedRate = Math.max(100, Math.round(bareRate * echo.pacedFraction))
      const pacedStarted = context.progress.elapsedS
      context.progress.line(`latency at a fixed ${pacedRate} messages/s (${echo.pacedFraction} of bare's capacity)`)
      const paced = variants.map((variant) => plan(variant, 'paced', () => pacedRate))
      const latency = await runRounds(paced, { ...context.mode, warmupMs: 0, progress: context.progress, unit: 'messages/s' })
      const latencyResult = resultFromRounds({
        id: 'echo-latency',
        title: 'echo delivery latency at a fixed rate',
        unit: 'messages/s',
        description: `Open loop: ${pacedRate} messages/s in total over ${echo.connections} connections, 64 bytes each; latency from when each message was due to its echo.`
      }, paced, latency, context.mode.rounds, pacedStarted, context.progress, { metrics: { pacedRate } })
      return [capacityResult, latencyResult]
    })
  }
}

export const broadcastScenario: Scenario = {
  id: 'broadcast',
  title: 'broadcast deliveries per second',
  unit: 'deliveries/s',
  description: 'One publisher, N subscribers on the same route; the handler sends each 64-byte publication to every other connection (socket.io: a room). A few publications in flight; latency from publication to each delivery.',
  async run (context) {
    const started = context.progress.elapsedS
    const { broadcast } = context.mode
    return withPools(context, 'broadcast', 'broadcast', ECHO_VARIANTS, broadcast.subscribers + 1, async (pools) => {
      const plans = ECHO_VARIANTS.map((variant): VariantPlan => ({
        ...variant,
        visit: (durationMs) => context.generator.run<Measurement>({
          kind: 'broadcast', pool: pools.get(variant.id) as string, window: broadcast.window, payloadBytes: broadcast.payloadBytes, durationMs
        } satisfies BroadcastJob, jobTimeout(durationMs))
      }))
      const samples = await runRounds(plans, { ...context.mode, progress: context.progress, unit: this.unit })
      return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
        metrics: { subscribers: broadcast.subscribers, publicationsInFlight: broadcast.window }
      })]
    })
  }
}

const RENEWAL_VARIANTS: PoolVariant[] = [
  { id: 'bare', label: 'bare: a `renewed`-sized answer to every message, no verification', target: 'bare' },
  { id: 'plugin-hs256', label: 'plugin, HS256: verify, authorize, move the deadline, answer `renewed`', target: 'plugin-hs256', baseline: 'bare' }
]

export const renewalScenario: Scenario = {
  id: 'renewal',
  title: 'renewals per second and renewal round trip',
  unit: 'renewals/s',
  description: 'Held connections each send `renew` with a fresh token (same sub, sid and exp, new jti), wait for `renewed`, and renew again. Baseline: bare answering the same frames with a frame of the same size, which is the transport\'s share of a renewal.',
  async run (context) {
    const started = context.progress.elapsedS
    return withPools(context, 'renewal', 'renew', RENEWAL_VARIANTS, context.mode.renewal.connections, async (pools) => {
      const plans = RENEWAL_VARIANTS.map((variant): VariantPlan => ({
        ...variant,
        visit: (durationMs) => context.generator.run<Measurement>({
          kind: 'renewal', pool: pools.get(variant.id) as string, expectRenewed: true, durationMs
        } satisfies RenewalJob, jobTimeout(durationMs))
      }))
      const samples = await runRounds(plans, { ...context.mode, progress: context.progress, unit: this.unit })
      const plugin = (samples.get('plugin-hs256') ?? []).map(roundFigures)
      const bare = (samples.get('bare') ?? []).map(roundFigures)
      const verifyShare = plugin.map((f, r) => f.cpuPerOp - (bare[r]?.cpuPerOp ?? Number.NaN))
      return [resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
        metrics: { connections: context.mode.renewal.connections, pluginExtraCpuUsPerRenewal: round(verifyShare.sort((a, b) => a - b)[verifyShare.length >> 1] ?? Number.NaN) }
      })]
    })
  }
}
