import { detectPinning, type ServerHandle } from '../orchestrator/processes.ts'
import { REDIS_SERVER, redisServerVersion, startRedisServer, type RedisHandle } from '../orchestrator/redis.ts'
import { roundFigures, runRounds, type Samples, type VariantPlan } from '../orchestrator/rounds.ts'
import { control } from '../shared/control-client.ts'
import { controlCommand } from '../shared/control-command.ts'
import { createHistogram, recordMs, summarize } from '../shared/histogram.ts'
import type { FeedJob, Measurement, RevokeJob } from '../shared/protocol.ts'
import type { ScenarioResult } from '../report/types.ts'
import { median, round } from '../shared/stats.ts'
import { sleep } from '../generator/window.ts'
import { clientSpec } from './clients.ts'
import { closePool, openPool } from './pools.ts'
import { jobTimeout, resultFromRounds, type Scenario, type ScenarioContext } from './scenario.ts'

/**
 * Several plugin instances (separate processes, pinned to the server core like every
 * server under test) sharing one redis-server (pinned there too). Started by the first
 * scale-out scenario that runs and kept for the next one if it is selected; every child is
 * killed when the run ends in any case.
 */
interface Cluster {
  redis: RedisHandle
  version: string
  instances: ServerHandle[]
  /** Control ports of every instance; the first (instance A) also answers for Redis. */
  controlPorts: number[]
  stop (): Promise<void>
}

const CLUSTER_SCENARIOS = ['revocation-cluster', 'feed-fanout-redis']
let shared: Promise<Cluster> | undefined

async function startCluster (context: ScenarioContext): Promise<Cluster> {
  const version = redisServerVersion()
  if (version === undefined) throw new Error(`${REDIS_SERVER} not found: install Debian's redis-server package (or set REDIS_SERVER_PATH)`)
  const { instances: count } = context.mode.cluster
  if (count < 2) throw new Error('the scale-out scenarios need at least two instances')
  const startedAt = performance.now()
  const redis = await startRedisServer(detectPinning())
  const instances: ServerHandle[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(instances.map((server) => server.stop()))
    await redis.stop()
  }
  try {
    // The first alone (it is checked end to end with a real client), the others side by side.
    instances.push(await context.servers.fresh('plugin-redis', { redisUrl: redis.url }))
    const rest = await Promise.allSettled(Array.from({ length: count - 1 }, () => context.servers.fresh('plugin-redis', { redisUrl: redis.url })))
    for (const outcome of rest) if (outcome.status === 'fulfilled') instances.push(outcome.value)
    for (const outcome of rest) if (outcome.status === 'rejected') throw outcome.reason
    const a = instances[0] as ServerHandle
    // Every instance listens on the plugin's channel and the feed's before anything is measured.
    let subscribed = { plugin: 0, feed: 0 }
    for (let i = 0; i < 100 && (subscribed.plugin < count || subscribed.feed < count); i++) {
      subscribed = await controlCommand<{ plugin: number, feed: number }>(a.controlPort, 'subscribers')
      if (subscribed.plugin < count || subscribed.feed < count) await sleep(50)
    }
    if (subscribed.plugin < count || subscribed.feed < count) throw new Error(`only ${subscribed.plugin} instances on the plugin's channel and ${subscribed.feed} on the feed's after 5 s`)
  } catch (err) {
    await stop()
    throw err
  }
  const short = /v=(\S+)/.exec(version)?.[1] ?? version
  context.progress.line(`${count} plugin instances (pids ${instances.map((s) => s.pid).join(', ')}) sharing redis-server ${short} on port ${redis.port}, started in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`)
  return { redis, version: short, instances, controlPorts: instances.map((s) => s.controlPort), stop }
}

function acquireCluster (context: ScenarioContext): Promise<Cluster> {
  shared ??= startCluster(context)
  return shared
}

/** Stops the cluster unless a scale-out scenario after `id` will use it in this run. */
async function releaseCluster (context: ScenarioContext, id: string): Promise<void> {
  const later = CLUSTER_SCENARIOS.slice(CLUSTER_SCENARIOS.indexOf(id) + 1)
  if (later.some((other) => context.options.only === undefined || context.options.only.includes(other))) return
  const cluster = shared
  shared = undefined
  await (await cluster?.catch(() => undefined))?.stop()
}

/**
 * Without a redis-server these scenarios are listed, not run (like the Redis tests, which
 * skip); under CI=true a missing redis-server is a failure instead (startCluster throws).
 */
function withoutRedis (scenario: Scenario, context: ScenarioContext, alsoIds: string[] = []): ScenarioResult[] | undefined {
  if (process.env.CI === 'true' || redisServerVersion() !== undefined) return undefined
  const error = `not run: no ${REDIS_SERVER} here (install Debian's redis-server package, or set REDIS_SERVER_PATH)`
  context.progress.line(error)
  return [scenario.id, ...alsoIds].map((id) => ({
    id,
    title: scenario.title,
    unit: scenario.unit,
    description: scenario.description,
    status: 'todo',
    error,
    variants: [],
    comparisons: [],
    metrics: {},
    notes: [],
    rounds: 0,
    elapsedS: 0
  }))
}

/** Per round, `a`'s p50 (or p99) ÷ `b`'s; the median over rounds. */
function latencyRatio (samples: Samples, a: string, b: string, pick: 'p50' | 'p99'): number {
  const num = (samples.get(a) ?? []).map(roundFigures)
  const den = (samples.get(b) ?? []).map(roundFigures)
  return round(median(num.map((f, r) => (f.latency?.[pick] ?? Number.NaN) / (den[r]?.latency?.[pick] ?? Number.NaN)).filter(Number.isFinite)), 4)
}

/** The round-trip time of a control call that does nothing: part of every revocation latency measured. */
async function controlRoundTrip (port: number, calls: number): Promise<number | undefined> {
  const histogram = createHistogram()
  for (let i = 0; i < calls; i++) {
    const started = performance.now()
    await controlCommand(port, 'noop')
    recordMs(histogram, performance.now() - started)
  }
  return summarize(histogram)?.p50
}

export const revocationClusterScenario: Scenario = {
  id: 'revocation-cluster',
  title: 'revocation latency across instances sharing Redis',
  unit: 'revocations/s',
  description: 'Plugin instances A, B, C (separate processes; A and B in smoke mode) share one redis-server through the Redis stores and hold connections, each with a session of its own. Sessions are revoked through A (`app.wsAuth.revoke({ sessionId })`, called over A\'s control port), one per call or in batches, one call at a time. Latency per connection: from sending the call to the client receiving the close frame (4441). `remote`: the connections are on B and C, reached through Redis; `local`: on A itself (closed before Redis is written), the baseline. Every latency includes the way there of a loopback HTTP call to A (a whole no-op call takes `controlRoundTripP50Ms`). Visits are counted in revocations (fresh connections each), not time.',
  async run (context) {
    const skipped = withoutRedis(this, context)
    if (skipped !== undefined) return skipped
    const started = context.progress.elapsedS
    const sizes = context.mode.cluster
    const held: string[] = []
    try {
      const cluster = await acquireCluster(context)
      const [a, ...others] = cluster.instances as [ServerHandle, ...ServerHandle[]]
      for (const [i, server] of cluster.instances.entries()) {
        const name = `revocation-held-${i}`
        await openPool(context, name, clientSpec(server, 'hold'), sizes.heldPerInstance, { sessionPrefix: `held${i}-` })
        held.push(name)
      }
      const counts = await Promise.all(cluster.instances.map(async (server) => (await control.connections(server.controlPort)).count))
      context.progress.line(`${counts.join(' + ')} connections held on ${cluster.instances.length} instances; ${sizes.revocationsPerVisit} revoked per visit`)

      let visits = 0
      const plan = (id: string, label: string, on: readonly ServerHandle[], batch: number, baseline?: string): VariantPlan => ({
        id,
        label,
        target: 'plugin-redis',
        baseline,
        // Count-bound, not time-bound: each visit revokes its own fresh connections.
        async visit () {
          const visit = ++visits
          const perInstance = Math.ceil(sizes.revocationsPerVisit / on.length)
          const pools: string[] = []
          try {
            for (const [j, server] of on.entries()) {
              const name = `revoke-${visit}-${j}`
              await openPool(context, name, clientSpec(server, 'hold'), perInstance, { sessionPrefix: `v${visit}-${j}-` })
              pools.push(name)
            }
            return await context.generator.run<Measurement>({
              kind: 'revoke', pools, viaControlPort: a.controlPort, batch, cpuControlPorts: cluster.controlPorts, timeoutMs: 5000
            } satisfies RevokeJob, jobTimeout(perInstance * on.length * 100))
          } finally {
            for (const name of pools) await closePool(context, name)
          }
        }
      })
      const plans = [
        plan('local', 'revoked on A, connections on A: closed before Redis is written (baseline)', [a], 1),
        plan('remote', `revoked on A, connections on ${others.map((_, i) => String.fromCharCode(66 + i)).join(' and ')}: through Redis pub/sub`, others, 1, 'local'),
        plan('local-batch', `as local, ${sizes.batch} sessions per call`, [a], sizes.batch),
        plan('remote-batch', `as remote, ${sizes.batch} sessions per call`, others, sizes.batch, 'local-batch')
      ]
      const samples = await runRounds(plans, { ...context.mode, progress: context.progress, unit: this.unit })
      const result = resultFromRounds(this, plans, samples, context.mode.rounds, started, context.progress, {
        metrics: {
          instances: cluster.instances.length,
          heldConnections: counts.reduce((x, y) => x + y, 0),
          revocationsPerVisit: sizes.revocationsPerVisit,
          batch: sizes.batch,
          remoteVsLocalP50: latencyRatio(samples, 'remote', 'local', 'p50'),
          remoteVsLocalP99: latencyRatio(samples, 'remote', 'local', 'p99'),
          remoteBatchVsLocalBatchP50: latencyRatio(samples, 'remote-batch', 'local-batch', 'p50'),
          controlRoundTripP50Ms: await controlRoundTrip(a.controlPort, 50) ?? null
        },
        notes: [`redis-server ${cluster.version}; instances and Redis pinned to the server core; server CPU per operation sums every instance and Redis.`]
      })
      for (const variant of result.variants) {
        const s = variant.latencyMs
        variant.metrics = { revocations: s?.count ?? 0, p50Ms: s?.p50 ?? null, p99Ms: s?.p99 ?? null, maxMs: s?.max ?? null }
        context.progress.line(`${variant.id.padEnd(13)} ${s?.count ?? 0} revocations: p50 ${s?.p50 ?? '—'} ms, p99 ${s?.p99 ?? '—'} ms, max ${s?.max ?? '—'} ms`)
      }
      context.progress.line(`remote ÷ local latency: p50 ${result.metrics.remoteVsLocalP50}, p99 ${result.metrics.remoteVsLocalP99}; control call p50 ${result.metrics.controlRoundTripP50Ms} ms`)
      return [result]
    } finally {
      for (const name of held) await closePool(context, name)
      await releaseCluster(context, this.id)
    }
  }
}

export const feedFanoutRedisScenario: Scenario = {
  id: 'feed-fanout-redis',
  title: 'feed fan-out through Redis pub/sub',
  unit: 'deliveries/s',
  description: 'The same plugin instances sharing one redis-server, each with subscribers on its feed route. `redis`: a publisher on A sends each 64-byte publication, A publishes it on Redis, and every instance forwards what its subscription receives to its own subscribers. `in-process` (baseline, same instances and subscribers, no Redis): the publication is sent to every instance, which sends it straight to its own subscribers. Capacity: a few publications in flight, each sent as soon as the oldest is delivered everywhere; its latency (sending a publication to each delivery) is mostly queueing. Latency at a fixed rate: feed-fanout-redis-latency.',
  async run (context) {
    const skipped = withoutRedis(this, context, ['feed-fanout-redis-latency'])
    if (skipped !== undefined) return skipped
    const started = context.progress.elapsedS
    const sizes = context.mode.cluster
    const pools: string[] = []
    const open = async (name: string, server: ServerHandle, route: 'feed' | 'feedLocal' | 'feedRedis', count: number): Promise<string> => {
      await openPool(context, name, clientSpec(server, route), count, { sessionPrefix: `${name}-` })
      pools.push(name)
      return name
    }
    try {
      const cluster = await acquireCluster(context)
      const subscribers: string[] = []
      const local: string[] = []
      for (const [i, server] of cluster.instances.entries()) {
        subscribers.push(await open(`feed-sub-${i}`, server, 'feed', sizes.subscribersPerInstance))
        local.push(await open(`feed-local-${i}`, server, 'feedLocal', 1))
      }
      const redis = await open('feed-redis', cluster.instances[0] as ServerHandle, 'feedRedis', 1)
      const total = sizes.subscribersPerInstance * cluster.instances.length
      context.progress.line(`${total} subscribers on ${cluster.instances.length} instances`)
      const plan = (id: string, label: string, publishers: string[], rate: () => number, baseline?: string): VariantPlan => ({
        id,
        label,
        target: 'plugin-redis',
        baseline,
        visit: (durationMs) => context.generator.run<Measurement>({
          kind: 'feed', publishers, subscribers, window: sizes.window, rate: rate(), payloadBytes: sizes.payloadBytes, durationMs, cpuControlPorts: cluster.controlPorts
        } satisfies FeedJob, jobTimeout(durationMs))
      })
      const variants = (rate: () => number): VariantPlan[] => [
        plan('in-process', `published on each of the ${cluster.instances.length} instances, sent to its own subscribers (no Redis; baseline)`, local, rate),
        plan('redis', 'published once on A, through Redis pub/sub to every instance\'s subscribers', [redis], rate, 'in-process')
      ]
      const notes = [`redis-server ${cluster.version}; instances and Redis pinned to the server core; server CPU per delivery sums every instance and Redis.`]
      const withLatency = (result: ScenarioResult, samples: Samples): ScenarioResult => {
        result.metrics.redisVsInProcessP50 = latencyRatio(samples, 'redis', 'in-process', 'p50')
        result.metrics.redisVsInProcessP99 = latencyRatio(samples, 'redis', 'in-process', 'p99')
        for (const variant of result.variants) {
          const s = variant.latencyMs
          variant.metrics = { p50Ms: s?.p50 ?? null, p99Ms: s?.p99 ?? null, maxMs: s?.max ?? null }
        }
        return result
      }

      const capacityPlans = variants(() => 0)
      const capacity = await runRounds(capacityPlans, { ...context.mode, progress: context.progress, unit: this.unit })
      const capacityResult = withLatency(resultFromRounds(this, capacityPlans, capacity, context.mode.rounds, started, context.progress, {
        metrics: { instances: cluster.instances.length, subscribers: total, publicationsInFlight: sizes.window, payloadBytes: sizes.payloadBytes },
        notes
      }), capacity)

      // Latency at the same fixed publication rate for both, well below the in-process
      // capacity, so that it reflects the path of a publication rather than a queue.
      const inProcessRate = capacityResult.variants.find((v) => v.id === 'in-process')?.rate?.median ?? 1000
      const publications = Math.max(10, Math.round(inProcessRate * sizes.pacedFraction / total))
      const pacedStarted = context.progress.elapsedS
      context.progress.line(`latency at a fixed ${publications} publications/s (${publications * total} deliveries/s, ${sizes.pacedFraction} of the in-process capacity)`)
      const pacedPlans = variants(() => publications)
      const paced = await runRounds(pacedPlans, { ...context.mode, warmupMs: 0, progress: context.progress, unit: this.unit })
      const latencyResult = withLatency(resultFromRounds({
        id: 'feed-fanout-redis-latency',
        title: 'feed delivery latency through Redis at a fixed rate',
        unit: this.unit,
        description: `Open loop: ${publications} publications/s of ${sizes.payloadBytes} bytes to ${total} subscribers on ${cluster.instances.length} instances; latency from when each publication was due to each delivery. \`redis\` against \`in-process\`, as in feed-fanout-redis.`
      }, pacedPlans, paced, context.mode.rounds, pacedStarted, context.progress, { metrics: { publicationsPerSecond: publications, deliveriesPerSecond: publications * total }, notes }), paced)
      for (const result of [capacityResult, latencyResult]) {
        context.progress.line(`${result.id}: redis ÷ in-process latency p50 ${result.metrics.redisVsInProcessP50}, p99 ${result.metrics.redisVsInProcessP99}`)
      }
      return [capacityResult, latencyResult]
    } finally {
      for (const name of pools) await closePool(context, name)
      await releaseCluster(context, this.id)
    }
  }
}
