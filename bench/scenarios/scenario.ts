import type { Mode, Options } from '../config.ts'
import type { GeneratorHandle } from '../orchestrator/processes.ts'
import type { Progress } from '../orchestrator/progress.ts'
import { compareRates, otherLoadCores, summarizeVariants, type Samples, type VariantPlan } from '../orchestrator/rounds.ts'
import type { Servers } from '../orchestrator/servers.ts'
import { spreadText } from '../report/markdown.ts'
import type { ScenarioResult } from '../report/types.ts'

export interface ScenarioContext {
  options: Options
  mode: Mode
  servers: Servers
  generator: GeneratorHandle
  progress: Progress
}

export interface Scenario {
  id: string
  title: string
  unit: string
  description: string
  /** Set for what cannot be measured yet: the scenario is listed, not run. */
  todo?: string
  run?: (context: ScenarioContext) => Promise<ScenarioResult[]>
}

/** A generous bound for one generator job of `ms`: it must end, but never race a slow machine. */
export const jobTimeout = (ms: number): number => ms * 3 + 60_000

export function resultFromRounds (scenario: Pick<Scenario, 'id' | 'title' | 'unit' | 'description'>, variants: readonly VariantPlan[], samples: Samples, rounds: number,
  startedS: number, progress: Progress, extra: Partial<Pick<ScenarioResult, 'comparisons' | 'metrics' | 'notes'>> & { compare?: Array<[string, string, string]> } = {}): ScenarioResult {
  const comparisons = [...(extra.comparisons ?? []), ...(extra.compare ?? []).filter(([, a, b]) => samples.has(a) && samples.has(b)).map(([name, a, b]) => compareRates(name, a, b, samples))]
  for (const c of comparisons) {
    progress.line(`${c.name}: rate ${spreadText(c.rate, 3)}${c.serverCpuPerOp === undefined ? '' : `, server CPU per op ${spreadText(c.serverCpuPerOp, 3)}`}`)
  }
  return {
    id: scenario.id,
    title: scenario.title,
    unit: scenario.unit,
    description: scenario.description,
    status: 'ok',
    variants: summarizeVariants(variants, samples),
    comparisons,
    metrics: samples.repeated > 0 ? { ...extra.metrics, repeatedRounds: samples.repeated } : extra.metrics ?? {},
    notes: extra.notes ?? [],
    otherLoadCores: otherLoadCores(samples),
    rounds,
    elapsedS: Math.round(progress.elapsedS - startedS)
  }
}
