import { mergeHistograms, summarize } from '../shared/histogram.ts'
import type { Measurement } from '../shared/protocol.ts'
import { round, spread, type Spread } from '../shared/stats.ts'
import type { ComparisonResult, VariantResult } from '../report/types.ts'
import type { Progress } from './progress.ts'

/** A variant of a scenario and how to measure it for a given time. */
export interface VariantPlan {
  id: string
  label: string
  target: string
  /** The variant whose rate this one is divided by, within each round. */
  baseline?: string
  visit (durationMs: number): Promise<Measurement>
}

export interface RoundsOptions {
  rounds: number
  warmupMs: number
  visitMs: number
  progress: Progress
  unit: string
  /** A round during which other processes used more CPU than this (in cores) is measured again… */
  maxOtherLoadCores?: number
  /** …at most this many times per scenario. */
  maxRepeats?: number
  /** Only these variants and their baselines (`--variants`); the others are not visited. */
  variants?: readonly string[]
}

/** The variants a `--variants` list selects: those named, and the baselines their ratios need. */
export function selectVariants<T extends { id: string, baseline?: string | undefined }> (variants: readonly T[], only: readonly string[] | undefined): T[] {
  if (only === undefined) return [...variants]
  const wanted = new Set(only)
  for (const variant of variants) if (wanted.has(variant.id) && variant.baseline !== undefined) wanted.add(variant.baseline)
  return variants.filter((variant) => wanted.has(variant.id))
}

/** Per variant, per round: the visits of that round (two: A B … B A). */
export class Samples extends Map<string, Measurement[][]> {
  /** Rounds measured again because other processes took the CPU meanwhile. */
  repeated = 0
}

/** A B C … C B A: each variant is measured twice per round, so a slow drift of the machine weighs on all alike. */
export function visitOrder<T> (variants: readonly T[]): T[] {
  return [...variants, ...[...variants].reverse()]
}

/**
 * Warm-up (one visit per variant, discarded), then `rounds` rounds in A B … B A order.
 * Prints each round's figures as soon as it is done.
 */
export async function runRounds (all: readonly VariantPlan[], options: RoundsOptions): Promise<Samples> {
  const variants = selectVariants(all, options.variants)
  const samples = new Samples(variants.map((variant) => [variant.id, []]))
  if (options.warmupMs > 0) {
    options.progress.line(`warm-up: ${variants.length} × ${options.warmupMs} ms`)
    for (const variant of variants) await variant.visit(options.warmupMs)
  }
  options.progress.header(options.unit)
  for (let r = 0; r < options.rounds; r++) {
    for (const variant of visitOrder(variants)) {
      const perRound = samples.get(variant.id) as Measurement[][]
      const measurement = await variant.visit(options.visitMs)
      ;(perRound[r] ??= []).push(measurement)
    }
    // This machine is shared: a round during which someone else's processes took a real
    // share of the CPU says little, even as a ratio. Measure it again, a bounded number of times.
    const other = roundOtherLoad(variants.map((variant) => samples.get(variant.id)?.[r] ?? []))
    if (other !== undefined && other > (options.maxOtherLoadCores ?? Number.POSITIVE_INFINITY) && samples.repeated < (options.maxRepeats ?? 0)) {
      samples.repeated++
      options.progress.line(`round ${r + 1}: other processes used ${other.toFixed(2)} cores meanwhile; measuring it again`)
      for (const variant of variants) (samples.get(variant.id) as Measurement[][]).splice(r, 1)
      r--
      continue
    }
    for (const variant of variants) {
      const figures = roundFigures(samples.get(variant.id)?.[r] ?? [])
      const base = variant.baseline === undefined ? undefined : roundFigures(samples.get(variant.baseline)?.[r] ?? [])
      options.progress.row(`${r + 1}/${options.rounds}`, variant.id, figures.rate, base === undefined ? undefined : figures.rate / base.rate,
        figures.latency?.p50, figures.latency?.p99, figures.cpuPerOp, figures.generatorShare, figures.errors)
    }
  }
  return samples
}

interface RoundFigures {
  rate: number
  cpuPerOp: number
  serverShare: number
  generatorShare: number
  otherCoreUs: number | undefined
  durationMs: number
  errors: number
  latency: ReturnType<typeof summarize>
}

/** The figures of one round of one variant: sums over its visits, histograms merged. */
export function roundFigures (visits: readonly Measurement[]): RoundFigures {
  let ops = 0
  let durationMs = 0
  let serverCpuUs = 0
  let errors = 0
  let generatorShare = 0
  let otherCoreUs: number | undefined = 0
  for (const visit of visits) {
    ops += visit.ops
    durationMs += visit.durationMs
    serverCpuUs += visit.serverCpuUs
    errors += visit.errors
    generatorShare = visit.extra.busyPoll === 1 ? Number.NaN : Math.max(generatorShare, visit.generatorCpuUs / (visit.durationMs * 1000))
    if (visit.machineBusyUs === undefined || otherCoreUs === undefined) otherCoreUs = undefined
    else otherCoreUs += Math.max(0, visit.machineBusyUs - visit.serverCpuUs - visit.generatorCpuUs)
  }
  return {
    rate: durationMs > 0 ? ops / durationMs * 1000 : Number.NaN,
    cpuPerOp: ops > 0 ? serverCpuUs / ops : Number.NaN,
    serverShare: durationMs > 0 ? serverCpuUs / (durationMs * 1000) : Number.NaN,
    generatorShare,
    otherCoreUs,
    durationMs,
    errors,
    latency: summarize(mergeHistograms(visits.map((visit) => visit.latency))) ?? externalLatency(visits)
  }
}

/** Latency reported by the tool itself (autocannon), when there is no histogram: the worst visit. */
function externalLatency (visits: readonly Measurement[]): RoundFigures['latency'] {
  const p50 = visits.map((v) => v.extra.latencyP50Ms).filter((v): v is number => v !== undefined)
  const p99 = visits.map((v) => v.extra.latencyP99Ms).filter((v): v is number => v !== undefined)
  if (p50.length === 0 || p99.length === 0) return undefined
  return { count: 0, p50: Math.max(...p50), p90: Number.NaN, p99: Math.max(...p99), p999: Number.NaN, max: Number.NaN, mean: Number.NaN }
}

const rounded = (value: Spread | undefined, digits = 4): Spread | undefined => value === undefined
  ? undefined
  : { median: round(value.median, digits), min: round(value.min, digits), max: round(value.max, digits), rounds: value.rounds.map((v) => round(v, digits)) }

/** Medians and spread over rounds, and each variant's ratio to its baseline within every round. */
export function summarizeVariants (variants: readonly VariantPlan[], samples: Samples): VariantResult[] {
  const figures = new Map(variants.map((variant) => [variant.id, (samples.get(variant.id) ?? []).map(roundFigures)]))
  // Variants left out by `--variants` have no samples and no row.
  return variants.filter((variant) => samples.has(variant.id)).map((variant) => {
    const perRound = figures.get(variant.id) ?? []
    const all = (samples.get(variant.id) ?? []).flat()
    const result: VariantResult = {
      id: variant.id,
      label: variant.label,
      target: variant.target,
      rate: rounded(spread(perRound.map((f) => f.rate))),
      latencyMs: summarize(mergeHistograms(all.map((visit) => visit.latency))),
      latencyP99Ms: rounded(spread(perRound.map((f) => f.latency?.p99 ?? Number.NaN))),
      serverCpuUsPerOp: rounded(spread(perRound.map((f) => f.cpuPerOp))),
      serverCpuShare: round(spread(perRound.map((f) => f.serverShare))?.median ?? Number.NaN, 3),
      generatorCpuShare: perRound.some((f) => Number.isNaN(f.generatorShare)) ? undefined : round(Math.max(0, ...perRound.map((f) => f.generatorShare)), 3),
      errors: perRound.reduce((n, f) => n + f.errors, 0),
      errorSamples: [...new Set(all.flatMap((visit) => visit.errorSamples))].slice(0, 5)
    }
    if (variant.baseline !== undefined) {
      const base = figures.get(variant.baseline) ?? []
      const per = (pick: (f: RoundFigures) => number | undefined): Spread | undefined =>
        rounded(spread(perRound.map((f, r) => {
          const b = base[r]
          const numerator = pick(f)
          const denominator = b === undefined ? undefined : pick(b)
          return numerator === undefined || denominator === undefined ? Number.NaN : numerator / denominator
        })))
      result.ratio = {
        vs: variant.baseline,
        rate: per((f) => f.rate),
        latencyP99: per((f) => f.latency?.p99),
        serverCpuPerOp: per((f) => f.cpuPerOp)
      }
    }
    return result
  })
}

/** A ratio of two variants' rates within each round (e.g. plugin over socket.io). */
export function compareRates (name: string, numerator: string, denominator: string, samples: Samples): ComparisonResult {
  const a = (samples.get(numerator) ?? []).map(roundFigures)
  const b = (samples.get(denominator) ?? []).map(roundFigures)
  return {
    name,
    numerator,
    denominator,
    rate: rounded(spread(a.map((f, r) => f.rate / (b[r]?.rate ?? Number.NaN)))),
    serverCpuPerOp: rounded(spread(a.map((f, r) => f.cpuPerOp / (b[r]?.cpuPerOp ?? Number.NaN))))
  }
}

/** CPU used by other processes during one round's visits, in cores. */
function roundOtherLoad (perVariant: ReadonlyArray<readonly Measurement[]>): number | undefined {
  let otherUs = 0
  let durationMs = 0
  for (const visits of perVariant) {
    const f = roundFigures(visits)
    if (f.otherCoreUs === undefined) return undefined
    otherUs += f.otherCoreUs
    durationMs += f.durationMs
  }
  return durationMs > 0 ? otherUs / (durationMs * 1000) : undefined
}

/** CPU that other processes used during the measured windows, in cores. */
export function otherLoadCores (samples: Samples): number | undefined {
  let otherUs = 0
  let durationMs = 0
  for (const perRound of samples.values()) {
    for (const visits of perRound) {
      const f = roundFigures(visits)
      if (f.otherCoreUs === undefined) return undefined
      otherUs += f.otherCoreUs
      durationMs += f.durationMs
    }
  }
  return durationMs > 0 ? round(otherUs / (durationMs * 1000), 3) : undefined
}
