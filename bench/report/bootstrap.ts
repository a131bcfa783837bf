import { median } from '../shared/stats.ts'

/** A confidence interval of the median over rounds. */
export interface Interval {
  low: number
  high: number
  /** 0.95 for a 95 % interval. */
  level: number
  /** Rounds it was resampled from (finite values only). */
  rounds: number
  resamples: number
  seed: number
}

/** Fewer rounds than this give no interval: a bootstrap of one or two values says nothing of the spread. */
export const MIN_ROUNDS_FOR_INTERVAL = 3
export const RESAMPLES = 10_000
export const LEVEL = 0.95

/** mulberry32: a small, fast, seeded generator of uniform [0, 1) numbers; the same seed gives the same sequence. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a of a name: each target resamples with its own seed, the same in every run. */
export function seedOf (name: string): number {
  let hash = 0x811C9DC5
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/**
 * Percentile bootstrap interval of the median: `resamples` times, draw as many rounds as
 * there are, with replacement, and take their median; the interval holds the middle `level`
 * of those medians. Rounds are the unit resampled because a ratio is taken within a round
 * (plugin and baseline share its drift). Deterministic: the draws come from `seed`.
 */
export function bootstrapMedianInterval (values: readonly number[], seed: number, resamples = RESAMPLES, level = LEVEL): Interval | undefined {
  const finite = values.filter(Number.isFinite)
  const n = finite.length
  if (n < MIN_ROUNDS_FOR_INTERVAL) return undefined
  const random = seededRandom(seed)
  const medians = new Float64Array(resamples)
  const sample = new Array<number>(n)
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) sample[i] = finite[Math.floor(random() * n)] as number
    medians[b] = median(sample)
  }
  medians.sort()
  const tail = (1 - level) / 2
  const low = medians[Math.floor(tail * resamples)] as number
  const high = medians[Math.min(resamples - 1, Math.ceil((1 - tail) * resamples) - 1)] as number
  return { low, high, level, rounds: n, resamples, seed }
}

export type Comparator = '>=' | '<=' | '<'

/**
 * Whether a target is met. With an interval, only when the whole interval clears the
 * threshold: its lower end for `>=`, its upper end for `<=` and `<`. A target measured over
 * rounds without an interval (too few rounds) is never met. A single figure (a count, one
 * storm) has no rounds to resample and is judged by its value.
 */
export function isMet (comparator: Comparator, threshold: number, value: number | null, interval: Interval | undefined, overRounds: boolean): boolean {
  if (value === null || !Number.isFinite(value)) return false
  if (overRounds && interval === undefined) return false
  const clears = (x: number): boolean => comparator === '>=' ? x >= threshold : comparator === '<=' ? x <= threshold : x < threshold
  if (interval === undefined) return clears(value)
  return clears(comparator === '>=' ? interval.low : interval.high)
}
