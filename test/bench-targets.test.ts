import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bootstrapMedianInterval, isMet, MIN_ROUNDS_FOR_INTERVAL, seededRandom, seedOf } from '../bench/report/bootstrap.ts'
import { evaluateTargets, roundsTarget, singleTarget } from '../bench/report/targets.ts'
import { linesTable, readLines } from '../bench/report/lines-table.ts'
import type { RunResults, ScenarioResult } from '../bench/report/types.ts'
import { spread, type Spread } from '../bench/shared/stats.ts'

const perRound = (values: number[]): Spread => spread(values) as Spread

t.test('seededRandom: the same seed gives the same sequence, in [0, 1)', async (t) => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  const c = seededRandom(43)
  const first = Array.from({ length: 1000 }, () => a())
  t.same(Array.from({ length: 1000 }, () => b()), first)
  t.not(c(), first[0], 'another seed, another sequence')
  t.ok(first.every((x) => x >= 0 && x < 1))
  // Roughly uniform: each tenth of [0, 1) gets 100 ± 40 of 1000 draws.
  const deciles = new Array<number>(10).fill(0)
  for (const x of first) (deciles[Math.floor(x * 10)] as number)++
  t.ok(deciles.every((n) => n > 60 && n < 140), `deciles ${deciles.join(' ')}`)
  t.equal(seedOf('handshake_hs256_vs_floor'), seedOf('handshake_hs256_vs_floor'))
  t.not(seedOf('handshake_hs256_vs_floor'), seedOf('handshake_es256_vs_floor'))
})

t.test('bootstrapMedianInterval', async (t) => {
  t.equal(MIN_ROUNDS_FOR_INTERVAL, 3)
  t.equal(bootstrapMedianInterval([0.9, 1.0], 1), undefined, 'two rounds: no interval')
  t.equal(bootstrapMedianInterval([0.9, Number.NaN, 1.0], 1), undefined, 'NaN rounds do not count')
  t.same(bootstrapMedianInterval([0.98, 0.98, 0.98], 1), { low: 0.98, high: 0.98, level: 0.95, rounds: 3, resamples: 10_000, seed: 1 }, 'no spread, no width')

  // Seven distinct rounds: the resampled median is the k-th smallest with a probability
  // computed exactly from the binomial law (at least 4 of 7 draws at or below it):
  // P(≤ 1st) = 0.010, P(≤ 2nd) = 0.108, P(≤ 5th) = 0.892, P(≤ 6th) = 0.990, so the 2.5 %
  // and 97.5 % points are the 2nd and the 6th smallest rounds, far from any boundary.
  const rounds = [0.95, 1.02, 0.91, 0.99, 1.05, 0.97, 1.0]
  const interval = bootstrapMedianInterval(rounds, seedOf('seven'))
  t.equal(interval?.low, 0.95, '2nd smallest')
  t.equal(interval?.high, 1.02, '6th smallest')
  t.equal(interval?.rounds, 7)
  t.same(bootstrapMedianInterval(rounds, seedOf('seven')), interval, 'deterministic')
  t.same(bootstrapMedianInterval([...rounds].reverse(), seedOf('seven')), interval, 'order of rounds does not matter here')

  const binomial = (n: number, k: number): number => { let r = 1; for (let i = 1; i <= k; i++) r = r * (n - k + i) / i; return r }
  // Five rounds: P(≤ 1st) = 0.058 > 0.025, so the interval is the whole range.
  const five = [1.1, 0.8, 1.0, 0.9, 1.2]
  let p = 0
  for (let j = 3; j <= 5; j++) p += binomial(5, j) * (1 / 5) ** j * (4 / 5) ** (5 - j)
  t.ok(p > 0.05 && p < 0.06, `P(median = min) over five rounds is ${p.toFixed(4)}`)
  t.match(bootstrapMedianInterval(five, 7), { low: 0.8, high: 1.2 })

  // Fifteen rounds from a known spread: narrower than the range, around the median.
  const random = seededRandom(9)
  const fifteen = Array.from({ length: 15 }, () => 1 + (random() - 0.5) * 0.1)
  const wide = bootstrapMedianInterval(fifteen, 3) as NonNullable<ReturnType<typeof bootstrapMedianInterval>>
  const sorted = [...fifteen].sort((a, b) => a - b)
  t.ok(wide.low > (sorted[0] as number) && wide.high < (sorted[14] as number), 'inside the range')
  t.ok(wide.low <= (sorted[7] as number) && wide.high >= (sorted[7] as number), 'holds the median')
  t.ok(wide.low >= (sorted[2] as number) && wide.high <= (sorted[12] as number), 'between the 3rd and the 13th round')
})

t.test('isMet: over rounds, only the interval\'s end decides', async (t) => {
  const interval = { low: 0.95, high: 1.02, level: 0.95, rounds: 7, resamples: 10_000, seed: 1 }
  t.equal(isMet('>=', 0.97, 0.99, interval, true), false, 'median above 0.97, lower end below: missed')
  t.equal(isMet('>=', 0.95, 0.99, interval, true), true, 'lower end at the threshold: met')
  t.equal(isMet('<=', 1.05, 0.99, interval, true), true, 'upper end below 1.05: met')
  t.equal(isMet('<=', 1.01, 0.99, interval, true), false, 'median below 1.01, upper end above: missed')
  t.equal(isMet('<', 1.02, 0.99, interval, true), false, 'strict: the upper end must be below')
  t.equal(isMet('<', 1.03, 0.99, interval, true), true)
  t.equal(isMet('>=', 0.5, 0.99, undefined, true), false, 'over rounds without an interval: never met')
  t.equal(isMet('>=', 19_000, 19_000, undefined, false), true, 'a single figure is judged by its value')
  t.equal(isMet('<', 50, 50, undefined, false), false)
  t.equal(isMet('<=', 100, null, undefined, false), false, 'not measured: not met')
})

t.test('roundsTarget and singleTarget', async (t) => {
  const rounds = perRound([0.95, 1.02, 0.91, 0.99, 1.05, 0.97, 1.0])
  const missed = roundsTarget('x_vs_floor', 'd', rounds, '>=', 0.97, 1)
  t.match(missed, { name: 'x_vs_floor', value: 0.99, interval: { low: 0.95, high: 1.02, rounds: 7 }, target: '>= 0.97', met: false, margin: 0.03, halfWidth: 0.04, narrowerThanMargin: false })
  t.same(roundsTarget('x_vs_floor', 'd', rounds, '>=', 0.97, 1), missed, 'deterministic: the same rounds give the same entry')
  const met = roundsTarget('x_cpu_vs_bare', 'd', rounds, '<=', 1.05, 1)
  t.match(met, { value: 0.99, met: true, margin: 0.05, halfWidth: 0.03, narrowerThanMargin: true })
  const tight = roundsTarget('y', 'd', perRound([0.99, 0.995, 1, 1.005, 1.01, 0.998, 1.002]), '>=', 0.97, 1)
  t.match(tight, { met: true, narrowerThanMargin: true })
  const one = roundsTarget('z', 'd', perRound([1.2]), '>=', 0.97, 1)
  t.match(one, { value: 1.2, interval: null, met: false, note: /1 round\(s\): too few for an interval/ })
  t.match(roundsTarget('w', 'd', undefined, '>=', 0.97), { value: null, interval: null, met: false, note: 'not measured in this run' })
  t.match(singleTarget('held', 'd', 19_000, '>=', 19_000), { value: 19_000, interval: null, met: true })
  t.match(singleTarget('p99', 'd', Number.NaN, '<', 50), { value: null, met: false, note: 'not measured in this run' })
})

t.test('evaluateTargets reads each ratio from the scenario that measures it', async (t) => {
  const comparison = (name: string, values: number[]): ScenarioResult['comparisons'][number] => {
    const [numerator = '', denominator = ''] = name.split(' / ')
    return { name, numerator, denominator, rate: perRound(values) }
  }
  const scenario = (id: string, comparisons: ScenarioResult['comparisons'], variants: ScenarioResult['variants'] = []): ScenarioResult =>
    ({ id, title: id, unit: 'x/s', description: '', status: 'ok', variants, comparisons, metrics: {}, notes: [], rounds: 7, elapsedS: 1 })
  const good = [0.99, 1.0, 1.01, 1.0, 0.995, 1.005, 1.0]
  const targets = evaluateTargets([
    scenario('handshake', [comparison('plugin-hs256 / floor-hs256', good), comparison('plugin-hs256 / hook-hs256', [0.9, 0.92, 0.95, 0.91, 0.93, 0.9, 0.94])]),
    scenario('handshake-algorithms', [comparison('plugin-es256 / floor-es256', good), comparison('jwks-rs256 / floor-rs256', [0.96, 0.99, 1.0, 0.95, 0.98, 0.97, 1.01])]),
    scenario('echo', [], [{ id: 'plugin-hs256', label: '', target: 'plugin-hs256', errors: 0, errorSamples: [], ratio: { vs: 'bare', serverCpuPerOp: perRound([1.04, 1.06, 1.05, 1.03, 1.07, 1.05, 1.04]) } }]),
    scenario('expiry-burst', [], [{ id: 'plugin-hs256', label: '', target: 'plugin-hs256', errors: 0, errorSamples: [], ratio: { vs: 'bare-close-burst', latencyP99: perRound([1.2, 1.6, 1.3, 1.25, 1.35, 1.3, 1.4]) } }])
  ])
  const byName = new Map(targets.map((target) => [target.name, target]))
  t.match(byName.get('handshake_hs256_vs_floor'), { value: 1, met: true })
  t.match(byName.get('handshake_es256_vs_floor'), { value: 1, met: true })
  t.match(byName.get('handshake_jwks_rs256_vs_floor'), { value: 0.98, met: false }, 'median clears 0.97, the interval does not')
  t.match(byName.get('handshake_hs256_vs_hook'), { met: false })
  t.match(byName.get('echo_cpu_per_message_vs_bare'), { value: 1.05, met: false }, 'upper end above 1.05')
  t.match(byName.get('handshake_eddsa_vs_floor'), { value: null, met: false, note: 'not measured in this run' })
  t.match(byName.get('expiry_burst_late_p99_vs_floor'), { value: 1.3, met: true, margin: 0.5 }, 'the burst: per-round p99 ratios, judged by the interval\'s upper end')
  t.ok((byName.get('expiry_burst_late_p99_vs_floor')?.interval?.high ?? Number.POSITIVE_INFINITY) < 1.5)
  t.equal(targets.length, new Set(targets.map((target) => target.name)).size, 'one entry per target')
})

t.test('linesTable: one column per Node line, oldest first; a target a line did not run says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lines-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const target = (name: string, value: number, met: boolean, interval: [number, number] | null): RunResults['targets'][number] => ({
    name,
    description: name,
    value,
    target: '>= 0.97',
    met,
    interval: interval === null ? null : { low: interval[0], high: interval[1], level: 0.95, rounds: 9, resamples: 1000, seed: 1 }
  })
  const results = (version: string, targets: RunResults['targets']): string => JSON.stringify({ machine: { serverNode: { version, path: '' } }, targets })
  writeFileSync(join(dir, 'latest-node24.json'), results('v24.1.0', [target('a', 0.98123, true, [0.971, 0.99])]))
  writeFileSync(join(dir, 'latest.json'), results('v20.2.0', [target('a', 0.9, false, [0.85, 0.95]), target('b', 377, false, null)]))
  writeFileSync(join(dir, 'latest.md'), 'not a result')
  const lines = readLines(dir)
  t.same(lines.map((l) => l.label), ['Node 20.2.0', 'Node 24.1.0'], 'ordered by major, the default line included')
  t.equal(linesTable(lines), [
    '| target | threshold | Node 20.2.0 | Node 24.1.0 |',
    '| --- | --- | --- | --- |',
    '| `a` | ≥ 0.97 | 0.900 (0.850–0.950) **missed** | 0.981 (0.971–0.990) met |',
    '| `b` | ≥ 0.97 | 377 **missed** | not run |'
  ].join('\n'))
})
