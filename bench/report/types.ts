import type { LatencySummary } from '../shared/histogram.ts'
import type { Spread } from '../shared/stats.ts'
import type { Interval } from './bootstrap.ts'

/** One compared variant of a scenario (a target, with the headers it was sent). */
export interface VariantResult {
  id: string
  label: string
  /** The server process measured. */
  target: string
  /** Operations per second, per round (the sum of both visits of the round). */
  rate?: Spread
  /** Latency over every measured operation of every round, ms. */
  latencyMs?: LatencySummary
  /** p99 latency per round, ms. */
  latencyP99Ms?: Spread
  /** Server CPU per operation, µs. */
  serverCpuUsPerOp?: Spread
  /** Share of one core the server used during the windows (1 = saturated). */
  serverCpuShare?: number
  /** Highest share of its core the load generator used in any window: near 1 means the generator may limit. */
  generatorCpuShare?: number
  /** Against the variant this one is compared with, per round. */
  ratio?: { vs: string, rate?: Spread, latencyP99?: Spread, serverCpuPerOp?: Spread }
  errors: number
  errorSamples: string[]
  /** Scenario-specific figures (statuses, counts, bytes). */
  metrics?: Record<string, number | null>
}

export interface ComparisonResult {
  name: string
  numerator: string
  denominator: string
  /** Per-round ratio of `numerator`'s rate to `denominator`'s. */
  rate: Spread | undefined
  /** Per-round ratio of their server CPU per operation (lower is cheaper). */
  serverCpuPerOp?: Spread | undefined
}

export interface ScenarioResult {
  id: string
  title: string
  /** What `rate` counts. */
  unit: string
  description: string
  status: 'ok' | 'failed' | 'todo'
  variants: VariantResult[]
  comparisons: ComparisonResult[]
  /** Figures that are not per variant (e.g. the ws client's handshake rate). */
  metrics: Record<string, number | null>
  notes: string[]
  /** CPU used by processes other than this run's, in cores, averaged over the windows. */
  otherLoadCores?: number
  rounds: number
  elapsedS: number
  error?: string
}

export interface TargetResult {
  name: string
  /** What the target says, in words. */
  description: string
  /** The median over rounds (or the run's one figure, for a target with `interval: null` from the start). */
  value: number | null
  /** Bootstrap 95 % interval of the median over rounds (report/bootstrap.ts); null for a single figure or too few rounds. */
  interval: Interval | null
  /** e.g. ">= 0.97", "< 50". */
  target: string
  /** Over rounds: the interval clears the threshold (lower end for >=, upper end for <=). */
  met: boolean
  /** How far the threshold lies from parity (1 − 0.97 = 0.03), for ratio targets. */
  margin?: number
  /** Median to the interval's end that is judged. */
  halfWidth?: number
  /** halfWidth < margin: a variant exactly at parity would be called met with these rounds. */
  narrowerThanMargin?: boolean
  note?: string
}

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  os: string
  /** The Node of the orchestrator and the load generator. */
  node: string
  /** The Node the server processes ran under: `node` unless `--node` named another binary. */
  serverNode: { version: string, path: string }
  versions: Record<string, string>
  commit: string
  pinning: string
  ulimitNofile: string
  loadAverageAtStart: number[]
  loadAverageAtEnd: number[]
}

export interface RunResults {
  schema: 1
  startedAt: string
  finishedAt: string
  mode: string
  complete: boolean
  machine: MachineInfo
  method: Record<string, unknown>
  notes: string[]
  checks: Record<string, { ok: boolean, steps: string[], error?: string }>
  scenarios: ScenarioResult[]
  targets: TargetResult[]
}
