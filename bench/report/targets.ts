import { round, type Spread } from '../shared/stats.ts'
import { bootstrapMedianInterval, isMet, seedOf, type Comparator } from './bootstrap.ts'
import type { ScenarioResult, TargetResult, VariantResult } from './types.ts'

function variant (scenarios: readonly ScenarioResult[], scenario: string, id: string): VariantResult | undefined {
  return scenarios.find((s) => s.id === scenario && s.status === 'ok')?.variants.find((v) => v.id === id)
}

function comparison (scenarios: readonly ScenarioResult[], scenario: string, name: string): ScenarioResult['comparisons'][number] | undefined {
  return scenarios.find((s) => s.id === scenario && s.status === 'ok')?.comparisons.find((c) => c.name === name)
}

/**
 * A target judged over rounds: its value is the median of the per-round figures, its
 * interval the bootstrap 95 % interval of that median, and it is met only when the interval
 * clears the threshold. `parity` (1 for a ratio) sets the margin: how far the threshold lies
 * from it, which the interval's half-width must stay under for a variant at parity to pass.
 */
export function roundsTarget (name: string, description: string, perRound: Spread | undefined, comparator: Comparator, threshold: number, parity?: number, note?: string): TargetResult {
  const value = perRound === undefined ? null : round(perRound.median)
  const interval = perRound === undefined ? undefined : bootstrapMedianInterval(perRound.rounds, seedOf(name))
  const result: TargetResult = {
    name,
    description,
    value,
    interval: interval === undefined ? null : { ...interval, low: round(interval.low), high: round(interval.high) },
    target: `${comparator} ${threshold}`,
    met: isMet(comparator, threshold, value, interval, true)
  }
  if (parity !== undefined) {
    result.margin = round(Math.abs(parity - threshold))
    if (interval !== undefined && value !== null) {
      result.halfWidth = round(comparator === '>=' ? value - interval.low : interval.high - value)
      result.narrowerThanMargin = result.halfWidth < result.margin
    }
  }
  const why = perRound === undefined
    ? (note ?? 'not measured in this run')
    : interval === undefined ? `${perRound.rounds.filter(Number.isFinite).length} round(s): too few for an interval, so not met${note === undefined ? '' : `; ${note}`}` : note
  if (why !== undefined) result.note = why
  return result
}

/** A target that is one figure of the run (a count, a storm's p99): no rounds to resample, judged by its value. */
export function singleTarget (name: string, description: string, measured: number | null | undefined, comparator: Comparator, threshold: number, note?: string): TargetResult {
  const value = measured === undefined || measured === null || !Number.isFinite(measured) ? null : round(measured)
  const result: TargetResult = { name, description, value, interval: null, target: `${comparator} ${threshold}`, met: isMet(comparator, threshold, value, undefined, false) }
  const why = value === null ? (note ?? 'not measured in this run') : note
  if (why !== undefined) result.note = why
  return result
}

const ALGORITHMS = [['es256', 'ES256'], ['eddsa', 'EdDSA'], ['rs256', 'RS256']] as const

/**
 * The issue's targets, one entry each, from this run's rounds. A target that cannot be
 * measured has `value: null`, `met: false` and a note saying why; nothing is estimated.
 */
export function evaluateTargets (scenarios: readonly ScenarioResult[]): TargetResult[] {
  const storm = variant(scenarios, 'storm', 'plugin-hs256')
  const expiry = variant(scenarios, 'expiry', 'plugin-hs256')
  const floorNote = 'plugin handshakes/s ÷ the floor\'s (the signature check alone, node:crypto, synchronous hook), same rounds'
  return [
    roundsTarget('handshake_hs256_vs_floor', `HS256, static key: ${floorNote}`, comparison(scenarios, 'handshake', 'plugin-hs256 / floor-hs256')?.rate, '>=', 0.97, 1),
    ...ALGORITHMS.map(([id, alg]) => roundsTarget(`handshake_${id}_vs_floor`, `${alg}, static key: ${floorNote}`,
      comparison(scenarios, 'handshake-algorithms', `plugin-${id} / floor-${id}`)?.rate, '>=', 0.97, 1)),
    ...ALGORITHMS.map(([id, alg]) => roundsTarget(`handshake_jwks_${id}_vs_floor`, `${alg}, key from a JWKS by kid: ${floorNote}`,
      comparison(scenarios, 'handshake-algorithms', `jwks-${id} / floor-${id}`)?.rate, '>=', 0.97, 1)),
    roundsTarget('handshake_hs256_vs_hook', 'plugin HS256 handshakes/s, every default protection on, ÷ the hand-written @fastify/jwt onRequest hook, same rounds', comparison(scenarios, 'handshake', 'plugin-hs256 / hook-hs256')?.rate, '>=', 1, 1,
      'the margin is 0: met only if the plugin is measurably faster than the hook'),
    roundsTarget('handshake_hs256_vs_socketio', 'authenticated HS256 handshakes/s ÷ socket.io 4 with an HS256 middleware', comparison(scenarios, 'handshake', 'plugin-hs256 / socketio')?.rate, '>=', 1.5),
    roundsTarget('echo_cpu_per_message_vs_bare', 'server CPU per echoed message on authenticated connections ÷ bare\'s, same rounds', variant(scenarios, 'echo', 'plugin-hs256')?.ratio?.serverCpuPerOp, '<=', 1.05, 1),
    roundsTarget('echo_latency_p99_vs_bare', 'echo delivery latency p99 at a fixed rate ÷ bare (≤ 1.10: within 10%)', variant(scenarios, 'echo-latency', 'plugin-hs256')?.ratio?.latencyP99, '<=', 1.1, 1),
    singleTarget('idle_heap_above_bare_bytes', 'heap per idle authenticated connection minus bare, bytes', variant(scenarios, 'memory', 'plugin-hs256')?.metrics?.heapAboveBareBytes, '<=', 1024),
    singleTarget('connections_held', 'authenticated connections held by one server process', storm?.metrics?.held, '>=', 19_000),
    singleTarget('storm_all_renewed_within_10s', 'share of held connections renewed when each renews within a 10 s window', storm?.metrics?.windowSeconds === 10 ? storm?.metrics?.renewedShare : null, '>=', 1,
      storm !== undefined && storm.metrics?.windowSeconds !== 10 ? `this mode's storm window is ${String(storm.metrics?.windowSeconds)} s, not 10 s` : undefined),
    singleTarget('storm_renewal_p99_ms', 'renewal round trip p99 during the storm, ms', storm?.latencyMs?.p99, '<', 50),
    singleTarget('expiry_late_p99_ms', 'close (4440) received after the deadline, p99, ms', expiry?.latencyMs?.p99, '<=', 100),
    ...loopDelayTargets(scenarios)
  ]
}

/**
 * Issue 18 §2 and §3: no stall of the server's event loop with 19,000 connections held
 * (p99 ≤ 10 ms, max ≤ 50 ms in every held, storm, expiry and revocation stretch), and a
 * token-id revocation whose cost does not grow with the connections held.
 */
function loopDelayTargets (scenarios: readonly ScenarioResult[]): TargetResult[] {
  const HELD = 19_000
  const results: TargetResult[] = []
  const stretches: Array<[string, string, VariantResult | undefined, number | null | undefined]> = [
    ['held', 'idle hold, heartbeat on', variant(scenarios, 'held', 'plugin-hs256'), variant(scenarios, 'held', 'plugin-hs256')?.metrics?.held],
    ['storm', 'renewal storm', variant(scenarios, 'storm', 'plugin-hs256'), variant(scenarios, 'storm', 'plugin-hs256')?.metrics?.held],
    ['expiry', 'expiry of a spread crowd', variant(scenarios, 'expiry', 'plugin-hs256'), variant(scenarios, 'expiry', 'plugin-hs256')?.metrics?.held],
    ['expiry_burst', 'expiry bursts (whole-second exp)', variant(scenarios, 'expiry-burst', 'plugin-hs256'), variant(scenarios, 'expiry-burst', 'plugin-hs256')?.metrics?.held],
    ['revocation', 'token-id revocations', variant(scenarios, 'revocation-tokens', `held-${HELD}`), variant(scenarios, 'revocation-tokens', `held-${HELD}`)?.metrics?.held]
  ]
  for (const [name, what, v, held] of stretches) {
    // The expiry scenarios hold fewer than 19,000 in quick mode: judged all the same, said in the note.
    const note = v === undefined ? undefined : typeof held === 'number' && held < HELD ? `${held} connections, not ${HELD}` : undefined
    const judged = name.startsWith('expiry') || note === undefined
    results.push(singleTarget(`${name}_loop_delay_p99_ms`, `server event-loop delay p99 during the ${what}, ms`, judged ? v?.metrics?.loopDelayP99Ms : null, '<=', 10, note))
    results.push(singleTarget(`${name}_loop_delay_max_ms`, `server event-loop delay max during the ${what}, ms`, judged ? v?.metrics?.loopDelayMaxMs : null, '<=', 50, note))
  }
  // Judged against ws's own floor, not in ms: closing one burst (3,333 sockets) costs ws
  // itself 85–400 ms on these machines (bench/README.md, "Expiry-burst lateness"), so an
  // absolute ≤ 100 ms is out of reach of any server on one core. The plugin may take up to
  // half again the floor's time to keep its loop turning; the floor holds it for the whole
  // burst. Each round measures both on fresh servers, so the ratio is taken per round.
  results.push(roundsTarget('expiry_burst_late_p99_vs_floor', 'close (4440) received after a whole-second deadline shared by thousands, p99 ÷ the same for bare @fastify/websocket closing one such burst in one loop, per round, both on fresh servers',
    variant(scenarios, 'expiry-burst', 'plugin-hs256')?.ratio?.latencyP99, '<=', 1.5, 1))
  const revocation = scenarios.find((s) => s.id === 'revocation-tokens' && s.status === 'ok')
  const many = revocation?.variants.find((v) => v.id === `held-${HELD}`)
  results.push(singleTarget('revocation_visited_per_revocation', `connections examined per token-id revocation with ${HELD} held (a count: 1 per matching connection, 0 otherwise)`, many?.metrics?.visitedPerRevocation, '<=', 1,
    revocation !== undefined && many === undefined ? `the large hold of this mode is not ${HELD}` : undefined))
  results.push(singleTarget('revocation_cost_large_over_small', `median synchronous cost of one token-id revocation with ${HELD} held ÷ with 1,000 held`, many === undefined ? null : revocation?.metrics?.callP50LargeOverSmall, '<=', 1.5,
    revocation !== undefined && many === undefined ? `the large hold of this mode is not ${HELD}` : undefined))
  return results
}
