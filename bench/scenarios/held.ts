import { ERRORS } from '../../protocol/index.ts'
// The very frame the plugin sends before an expiry close, so the floor writes the same bytes.
import { authErrorFrame } from '../../plugin/socket-io.ts'
import type { CloseBurstResult } from '../server/close-burst.ts'
import type { ServerHandle } from '../orchestrator/processes.ts'
import { control } from '../shared/control-client.ts'
import { controlCommand } from '../shared/control-command.ts'
import { mergeHistograms, summarize, type LatencySummary } from '../shared/histogram.ts'
import type { ExpiryJob, LoopDelaySample, Measurement, MemorySample, StormJob, TargetName } from '../shared/protocol.ts'
import { median, round, spread } from '../shared/stats.ts'
import { sleep } from '../generator/window.ts'
import type { ScenarioResult, VariantResult } from '../report/types.ts'
import { clientSpec } from './clients.ts'
import { closePool, openPool } from './pools.ts'
import type { Scenario, ScenarioContext } from './scenario.ts'

function base (scenario: Pick<Scenario, 'id' | 'title' | 'unit' | 'description'>, context: ScenarioContext, startedS: number): Omit<ScenarioResult, 'variants'> {
  return {
    id: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    description: scenario.description,
    status: 'ok',
    comparisons: [],
    metrics: {},
    notes: [],
    rounds: 1,
    elapsedS: Math.round(context.progress.elapsedS - startedS)
  }
}

/** Latency and CPU figures of single measurements (one per round). */
function variantOf (id: string, label: string, target: string, measurements: readonly Measurement[]): VariantResult {
  const perRound = measurements.map((m) => summarize(mergeHistograms([m.latency])))
  return {
    id,
    label,
    target,
    latencyMs: summarize(mergeHistograms(measurements.map((m) => m.latency))),
    latencyP99Ms: spread(perRound.map((s) => s?.p99 ?? Number.NaN)),
    serverCpuUsPerOp: spread(measurements.map((m) => m.ops > 0 ? round(m.serverCpuUs / m.ops) : Number.NaN)),
    errors: measurements.reduce((n, m) => n + m.errors, 0),
    errorSamples: [...new Set(measurements.flatMap((m) => m.errorSamples))].slice(0, 5)
  }
}

/** Event-loop delay figures of a stretch, as variant metrics (the worst over several stretches). */
export function loopDelayMetrics (samples: readonly LoopDelaySample[]): Record<string, number | null> {
  if (samples.length === 0) return { loopDelayP99Ms: null, loopDelayMaxMs: null }
  return {
    loopDelayP50Ms: Math.max(...samples.map((s) => s.p50)),
    loopDelayP99Ms: Math.max(...samples.map((s) => s.p99)),
    loopDelayMaxMs: Math.max(...samples.map((s) => s.max))
  }
}

const delayText = (s: LoopDelaySample): string => `server event-loop delay p99 ${s.p99} ms, max ${s.max} ms`

export const stormScenario: Scenario = {
  id: 'storm',
  title: 'renewal storm on held connections',
  unit: 'connections',
  description: 'One server process holds the connections (authenticated, HS256); every one of them renews once at a uniformly random moment of the window. Latency from when each renewal was due to its `renewed`.',
  async run (context) {
    const started = context.progress.elapsedS
    const { storm } = context.mode
    const server = await context.servers.get('plugin-hs256')
    const opened = await openPool(context, 'storm', clientSpec(server, 'hold'), storm.connections, { ttlSeconds: 3600 })
    try {
      const held = (await control.connections(server.controlPort)).count
      context.progress.line(`${opened.opened} connections authenticated in ${(opened.durationMs / 1000).toFixed(1)} s; the server holds ${held}`)
      // Idle first: what the plugin's own timers (heartbeat, deadlines) cost the loop.
      await control.loopDelay(server.controlPort, true)
      await sleep(context.mode.held.windowMs)
      const idle = await control.loopDelay(server.controlPort, true)
      context.progress.line(`held idle for ${context.mode.held.windowMs / 1000} s: ${delayText(idle)}`)
      const heldResult: ScenarioResult = {
        ...base({ id: 'held', title: 'held connections, idle, heartbeat on', unit: 'connections', description: 'The storm\'s connections held idle for a window longer than the 30 s heartbeat interval; the server\'s event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution) over that window.' }, context, started),
        variants: [{ id: 'plugin-hs256', label: `plugin, HS256, ${held} held connections`, target: 'plugin-hs256', errors: 0, errorSamples: [], metrics: { held, windowSeconds: context.mode.held.windowMs / 1000, ...loopDelayMetrics([idle]) } }],
        metrics: { held }
      }
      const measurements: Measurement[] = []
      const delays: LoopDelaySample[] = []
      for (let r = 0; r < storm.rounds; r++) {
        await control.loopDelay(server.controlPort, true)
        const m = await context.generator.run<Measurement>({ kind: 'storm', pool: 'storm', windowMs: storm.windowMs, timeoutMs: 30_000 } satisfies StormJob, storm.windowMs + 90_000)
        const delay = await control.loopDelay(server.controlPort, true)
        delays.push(delay)
        context.progress.line(`storm ${r + 1}/${storm.rounds}: ${delayText(delay)}`)
        measurements.push(m)
        const s = summarize(mergeHistograms([m.latency]))
        context.progress.line(`storm ${r + 1}/${storm.rounds}: ${m.extra.renewed} of ${m.extra.held} renewed, last answer after ${((m.extra.lastReplyMs ?? 0) / 1000).toFixed(2)} s; p50 ${s?.p50 ?? '—'} ms, p99 ${s?.p99 ?? '—'} ms, max ${s?.max ?? '—'} ms; ${m.errors} errors`)
      }
      const variant = variantOf('plugin-hs256', `plugin, HS256, ${storm.connections} held connections`, 'plugin-hs256', measurements)
      const renewedShare = Math.min(...measurements.map((m) => (m.extra.renewed ?? 0) / Math.max(1, m.extra.held ?? 0)))
      variant.metrics = {
        held,
        opened: opened.opened,
        openSeconds: round(opened.durationMs / 1000, 3),
        renewedShare: round(renewedShare, 4),
        lastReplySeconds: round(Math.max(...measurements.map((m) => m.extra.lastReplyMs ?? Number.NaN)) / 1000, 3),
        windowSeconds: storm.windowMs / 1000,
        ...loopDelayMetrics(delays)
      }
      return [heldResult, { ...base(this, context, started), rounds: storm.rounds, variants: [variant], metrics: { held, connections: storm.connections } }]
    } finally {
      await closePool(context, 'storm')
    }
  }
}

export const expiryScenario: Scenario = {
  id: 'expiry',
  title: 'expiry precision while thousands of connections are held',
  unit: 'connections',
  description: 'Connections that never renew, deadlines spread uniformly over a few seconds (HS256 tokens with fractional `exp`); lateness is the arrival of the 4440 close frame minus the deadline.',
  async run (context) {
    return [await runExpiry(this, context, context.mode.expiry, false)]
  }
}

export const expiryBurstScenario: Scenario = {
  id: 'expiry-burst',
  title: 'expiry bursts: thousands of deadlines in the same millisecond',
  unit: 'connections',
  description: 'Like `expiry`, but with whole-second `exp`, as most issuers sign it: the deadlines fall on a few seconds, thousands in each same millisecond. Lateness of the 4440 close frames and the server\'s event-loop delay while they are closed; then the floor, bare closing one such burst in one loop. Each round runs both on fresh server processes (order alternating), and the ratio of their p99 is taken per round.',
  async run (context) {
    const started = context.progress.elapsedS
    const expiry = context.mode.expiryBurst
    // One second's share of the deadlines: the crowd that shares one whole-second `exp`.
    const burst = Math.round(expiry.connections * 1000 / expiry.spreadMs)
    const plugin: ExpiryRound[] = []
    const floor: FloorRound[] = []
    // Fresh processes for both, every round: a server that held and closed 19,000
    // connections before (storm, expiry) collects differently (in one traced run its
    // scavenges freed 4–17 MB each instead of about 22, so a burst took twice as many), and
    // the floor's bare server has no such history. Equal conditions, and a ratio per round,
    // as for every other ratio of the suite.
    for (let r = 0; r < context.mode.rounds; r++) {
      for (const side of r % 2 === 0 ? ['plugin', 'floor'] as const : ['floor', 'plugin'] as const) {
        const server = await context.servers.fresh(side === 'plugin' ? 'plugin-hs256' : 'bare')
        try {
          if (side === 'plugin') plugin.push(await expiryRound(context, server, this.id, expiry, true))
          else floor.push(await closeBurstRound(context, server, burst))
        } finally {
          await server.stop()
        }
      }
      const ratio = p99Of(plugin[r]?.measurement) / p99Of(floor[r]?.measurement)
      context.progress.line(`round ${r + 1}/${context.mode.rounds}: plugin p99 ÷ floor p99 = ${Number.isFinite(ratio) ? ratio.toFixed(3) : '—'}`)
    }
    const variant = expiryVariant(expiry, true, plugin)
    const floorVariant = variantOf('bare-close-burst', `bare @fastify/websocket closing ${burst} connections at one instant in one loop (the floor)`, 'bare', floor.map((f) => f.measurement))
    const floorP99 = floorVariant.latencyP99Ms?.rounds ?? []
    variant.ratio = { vs: 'bare-close-burst', latencyP99: spread((variant.latencyP99Ms?.rounds ?? []).map((p99, r) => p99 / (floorP99[r] ?? Number.NaN))) }
    floorVariant.metrics = {
      held: Math.min(...floor.map((f) => f.measurement.extra.held ?? 0)),
      closedWith4440: Math.min(...floor.map((f) => f.measurement.extra.closed ?? 0)),
      sendLoopMs: median(floor.map((f) => f.loopMs)),
      ...loopDelayMetrics(floor.map((f) => f.delay))
    }
    return [{ ...base(this, context, started), rounds: context.mode.rounds, variants: [variant, floorVariant], metrics: { connections: expiry.connections, spreadMs: expiry.spreadMs } }]
  }
}

const p99Of = (m: Measurement | undefined): number => m === undefined ? Number.NaN : summarize(mergeHistograms([m.latency]))?.p99 ?? Number.NaN

interface ExpiryRound { measurement: Measurement, delay: LoopDelaySample, serverLate: LatencySummary | null }
interface FloorRound { measurement: Measurement, delay: LoopDelaySample, loopMs: number }

async function runExpiry (scenario: Scenario, context: ScenarioContext, expiry: { connections: number, spreadMs: number }, wholeSeconds: boolean): Promise<ScenarioResult> {
  const started = context.progress.elapsedS
  const server = await context.servers.get('plugin-hs256')
  const variant = expiryVariant(expiry, wholeSeconds, [await expiryRound(context, server, scenario.id, expiry, wholeSeconds)])
  return { ...base(scenario, context, started), variants: [variant], metrics: { connections: expiry.connections, spreadMs: expiry.spreadMs } }
}

/** The plugin's figures over rounds: lateness merged, per-round p99, the worst server-side lateness and loop delay. */
function expiryVariant (expiry: { connections: number }, wholeSeconds: boolean, rounds: readonly ExpiryRound[]): VariantResult {
  const variant = variantOf('plugin-hs256', `plugin, HS256, ${expiry.connections} expiring connections${wholeSeconds ? ', whole-second exp' : ''}`, 'plugin-hs256', rounds.map((r) => r.measurement))
  const worst = (pick: (late: LatencySummary) => number): number | null => {
    const values = rounds.flatMap((r) => r.serverLate === null ? [] : [pick(r.serverLate)])
    return values.length === 0 ? null : Math.max(...values)
  }
  variant.metrics = {
    held: Math.min(...rounds.map((r) => r.measurement.extra.held ?? 0)),
    closedWith4440: Math.min(...rounds.map((r) => r.measurement.extra.closed ?? 0)),
    closedEarly: rounds.reduce((n, r) => n + (r.measurement.extra.early ?? 0), 0),
    serverLateP50Ms: worst((late) => late.p50),
    serverLateP99Ms: worst((late) => late.p99),
    serverLateMaxMs: worst((late) => late.max),
    ...loopDelayMetrics(rounds.map((r) => r.delay))
  }
  return variant
}

/** Holds `expiry.connections` on `server` with deadlines over `expiry.spreadMs` and measures their closes. */
async function expiryRound (context: ScenarioContext, server: ServerHandle, pool: string, expiry: { connections: number, spreadMs: number }, wholeSeconds: boolean): Promise<ExpiryRound> {
  // Deadlines far enough ahead that every connection is authenticated before the first one.
  const leadSeconds = expiry.connections / 1000 + (expiry.connections < 1000 ? 1 : 3)
  const opened = await openPool(context, pool, clientSpec(server, 'hold'), expiry.connections, { ttlSeconds: leadSeconds, deadlineSpreadMs: expiry.spreadMs, wholeSeconds })
  try {
    context.progress.line(`${opened.opened} connections held; deadlines from ${leadSeconds.toFixed(1)} s to ${(leadSeconds + expiry.spreadMs / 1000).toFixed(1)} s after the first token was signed`)
    const timeoutMs = leadSeconds * 1000 + expiry.spreadMs + 15_000
    await control.loopDelay(server.controlPort, true)
    await controlCommand(server.controlPort, 'expiry-lateness')
    const measurement = await context.generator.run<Measurement>({ kind: 'expiry', pool, timeoutMs } satisfies ExpiryJob, timeoutMs + 60_000)
    const delay = await control.loopDelay(server.controlPort, true)
    const serverLate = await controlCommand<LatencySummary | null>(server.controlPort, 'expiry-lateness')
    const s = summarize(mergeHistograms([measurement.latency]))
    context.progress.line(`closed ${measurement.extra.closed} of ${measurement.extra.held} with 4440; late by p50 ${s?.p50 ?? '—'} ms, p99 ${s?.p99 ?? '—'} ms, max ${s?.max ?? '—'} ms (the server's decision: p50 ${serverLate?.p50 ?? '—'}, p99 ${serverLate?.p99 ?? '—'}, max ${serverLate?.max ?? '—'} ms); ${measurement.errors} errors; ${delayText(delay)}`)
    return { measurement, delay, serverLate }
  } finally {
    await closePool(context, pool)
  }
}

// Far enough ahead that the command's round trip and the generator's start have happened.
const FLOOR_LEAD_MS = 1500

/**
 * The floor of an expiry burst: bare @fastify/websocket holding one burst's worth of
 * connections (as many as share one whole-second deadline in the plugin's run) and closing
 * them all at one instant in a single synchronous loop (server/close-burst.ts). Its lateness
 * is what ws needs to close that crowd on this machine; the plugin's is judged against it.
 */
async function closeBurstRound (context: ScenarioContext, server: ServerHandle, burst: number): Promise<FloorRound> {
  const pool = 'close-burst-floor'
  await openPool(context, pool, clientSpec(server, 'hold'), burst)
  try {
    const at = Date.now() + FLOOR_LEAD_MS
    const timeoutMs = FLOOR_LEAD_MS + 15_000
    const frame = JSON.stringify(authErrorFrame(ERRORS.credential_expired, true))
    await control.loopDelay(server.controlPort, true)
    const [measurement, burstResult] = await Promise.all([
      context.generator.run<Measurement>({ kind: 'expiry', pool, timeoutMs, deadlineAt: at } satisfies ExpiryJob, timeoutMs + 60_000),
      controlCommand<CloseBurstResult>(server.controlPort, 'close-burst', { at, code: ERRORS.credential_expired.closeCode, reason: ERRORS.credential_expired.code, frame }, timeoutMs + 30_000)
    ])
    const delay = await control.loopDelay(server.controlPort, true)
    const s = summarize(mergeHistograms([measurement.latency]))
    context.progress.line(`floor: bare closed ${burstResult.closed} at once in a ${burstResult.loopMs} ms loop; late by p50 ${s?.p50 ?? '—'} ms, p99 ${s?.p99 ?? '—'} ms, max ${s?.max ?? '—'} ms; ${measurement.errors} errors; ${delayText(delay)}`)
    return { measurement, delay, loopMs: burstResult.loopMs }
  } finally {
    await closePool(context, pool)
  }
}

const MEMORY_TARGETS: Array<{ target: TargetName, label: string }> = [
  { target: 'bare', label: 'bare @fastify/websocket' },
  { target: 'plugin-hs256', label: 'plugin, HS256 (authenticated, expiry timer armed)' },
  { target: 'socketio', label: 'socket.io 4 (authenticated socket)' }
]

interface MemoryRound { heap: number, rss: number, external: number }

export const memoryScenario: Scenario = {
  id: 'memory',
  title: 'idle memory per connection',
  unit: 'bytes/connection',
  description: 'A fresh server per target and round: heap after a full GC (node --expose-gc) before and after opening N idle connections, divided by N. Targets alternate between rounds.',
  async run (context) {
    const started = context.progress.elapsedS
    const { memory } = context.mode
    const perTarget = new Map<TargetName, MemoryRound[]>(MEMORY_TARGETS.map(({ target }) => [target, []]))
    for (let r = 0; r < memory.rounds; r++) {
      const order = r % 2 === 0 ? MEMORY_TARGETS : [...MEMORY_TARGETS].reverse()
      for (const { target } of order) {
        const server = await context.servers.fresh(target)
        const pool = `memory-${target}`
        try {
          const before: MemorySample = await control.gc(server.controlPort)
          await openPool(context, pool, clientSpec(server, 'hold'), memory.connections)
          // The server registers a connection a moment after the client sees it authenticated.
          for (let i = 0; i < 200 && (await control.connections(server.controlPort)).count < memory.connections; i++) await sleep(50)
          const after: MemorySample = await control.gc(server.controlPort)
          const n = memory.connections
          const sample = { heap: (after.heapUsed - before.heapUsed) / n, rss: (after.rss - before.rss) / n, external: (after.external - before.external) / n }
          perTarget.get(target)?.push(sample)
          context.progress.line(`round ${r + 1}/${memory.rounds} ${target.padEnd(14)} heap ${Math.round(sample.heap)} B, rss ${Math.round(sample.rss)} B, external ${Math.round(sample.external)} B per connection`)
          await closePool(context, pool)
        } finally {
          await server.stop()
        }
      }
    }
    const bare = perTarget.get('bare') ?? []
    const variants = MEMORY_TARGETS.map(({ target, label }): VariantResult => {
      const rounds = perTarget.get(target) ?? []
      const aboveBare = rounds.map((s, r) => s.heap - (bare[r]?.heap ?? Number.NaN))
      return {
        id: target,
        label,
        target,
        errors: 0,
        errorSamples: [],
        metrics: {
          heapBytesPerConnection: Math.round(median(rounds.map((s) => s.heap))),
          heapBytesMin: Math.round(Math.min(...rounds.map((s) => s.heap))),
          heapBytesMax: Math.round(Math.max(...rounds.map((s) => s.heap))),
          rssBytesPerConnection: Math.round(median(rounds.map((s) => s.rss))),
          externalBytesPerConnection: Math.round(median(rounds.map((s) => s.external))),
          heapAboveBareBytes: target === 'bare' ? 0 : Math.round(median(aboveBare))
        }
      }
    })
    return [{ ...base(this, context, started), rounds: memory.rounds, variants, metrics: { connections: memory.connections } }]
  }
}
