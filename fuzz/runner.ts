import { cpus } from 'node:os'
import fc from 'fast-check'
import type { CaseEnv, Family } from './family.ts'
import { allFamilies } from './families/index.ts'
import { Violation } from './invariants.ts'
import { gcAvailable, sample, type ResourceSample } from './resources.ts'
import { caseSeed } from './seeds.ts'
import { startTarget } from './target.ts'

export interface RunOptions {
  /** Cases in all, shared among the families by weight (all to one family with `families`). */
  readonly count: number
  readonly seed: number
  readonly families?: readonly string[]
  /** Run only this case (with one family): a replay. */
  readonly caseIndex?: number
  readonly timeoutMs?: number
  readonly shrink?: boolean
  readonly log?: (line: string) => void
}

export interface Failure {
  readonly seed: number
  readonly family: string
  readonly case: number
  readonly invariant: string
  readonly message: string
  readonly input: string
  readonly shrunk?: string
  readonly replay: string
}

export interface FamilyResult {
  readonly name: string
  readonly kind: Family['kind']
  readonly description: string
  readonly cases: number
  readonly failures: number
  readonly durationMs: number
  readonly casesPerSecond: number
}

export interface Report {
  readonly seed: number
  readonly count: number
  readonly startedAt: string
  readonly durationMs: number
  readonly casesPerSecond: number
  readonly node: string
  readonly cpus: number
  readonly gcAvailable: boolean
  readonly families: FamilyResult[]
  readonly resources: { readonly baseline: ResourceSample, readonly samples: ResourceSample[], readonly final: ResourceSample }
  readonly failures: Failure[]
}

const MAX_FAILURES_PER_FAMILY = 5
/** Heap after GC may grow this much over a run before it counts as a leak (caches, JIT, fast-check's own). */
const HEAP_GROWTH_LIMIT_MIB = 64

export function familyNames (): string[] {
  return allFamilies().map((family) => family.name)
}

/** How many cases each family runs. */
export function shares (families: ReadonlyArray<Family<unknown>>, count: number): number[] {
  const total = families.reduce((sum, family) => sum + family.weight, 0)
  const counts = families.map((family) => Math.floor(count * family.weight / total))
  counts[0] = (counts[0] as number) + count - counts.reduce((a, b) => a + b, 0)
  return counts
}

export const replayCommand = (seed: number, family: string, index: number): string =>
  `npm run fuzz -- --seed ${seed} --family ${family} --case ${index}`

function generate<T> (family: Family<T>, seed: number, index: number, cache: Map<string, fc.Arbitrary<T>>): { value: T, arbitrary: fc.Arbitrary<T> } {
  // In-process families do not name anything after the case: one arbitrary serves all.
  let arbitrary = family.kind === 'in-process' ? cache.get(family.name) : undefined
  if (arbitrary === undefined) {
    arbitrary = family.arbitrary(index)
    if (family.kind === 'in-process') cache.set(family.name, arbitrary)
  }
  return { value: fc.sample(arbitrary, { seed: caseSeed(seed, family.name, index), numRuns: 1 })[0] as T, arbitrary }
}

async function shrink<T> (family: Family<T>, arbitrary: fc.Arbitrary<T>, env: CaseEnv, seed: number, index: number, invariant: string): Promise<string | undefined> {
  const fails = async (value: T): Promise<boolean> => {
    try {
      await family.run(value, env, index)
      return false
    } catch (err) {
      return !(err instanceof Violation) || err.invariant === invariant
    }
  }
  const result = await fc.check(fc.asyncProperty(arbitrary, async (value) => !(await fails(value))), {
    seed: caseSeed(seed, family.name, index), numRuns: 1, interruptAfterTimeLimit: 20_000
  })
  return result.failed && result.counterexample !== null ? fc.stringify(result.counterexample[0]) : undefined
}

/** Runs the fuzz: every family's share of cases, each checked against the invariants, then the leak checks. */
export async function runFuzz (options: RunOptions): Promise<Report> {
  const log = options.log ?? (() => {})
  const selected = allFamilies().filter((family) => options.families === undefined || options.families.includes(family.name))
  if (selected.length === 0) throw new Error(`no family named ${options.families?.join(', ') ?? ''}; families: ${familyNames().join(', ')}`)
  const crashes: string[] = []
  const onCrash = (err: unknown): void => { crashes.push(err instanceof Error ? err.stack ?? err.message : String(err)) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  const target = await startTarget()
  const env: CaseEnv = { target, timeoutMs: options.timeoutMs ?? 5000 }
  const startedAt = new Date()
  const started = performance.now()
  const failures: Failure[] = []
  const results: FamilyResult[] = []
  const samples: ResourceSample[] = []
  const baseline = sample(0, target)
  const cache = new Map<string, fc.Arbitrary<any>>()
  const counts = options.caseIndex === undefined ? shares(selected, options.count) : selected.map(() => 1)
  const sampleEvery = Math.max(1000, Math.floor(options.count / 40))
  let done = 0
  let nextSample = sampleEvery
  let maxRegistry = 0
  const maxConcurrency = Math.max(...selected.map((family) => family.concurrency))
  try {
    for (const [f, family] of selected.entries()) {
      const cases = counts[f] as number
      const familyStart = performance.now()
      let next = 0
      let familyFailures = 0
      const worker = async (): Promise<void> => {
        while (next < cases) {
          const index = options.caseIndex ?? next
          next++
          const { value, arbitrary } = generate(family, options.seed, index, cache)
          try {
            await family.run(value, env, index)
          } catch (err) {
            familyFailures++
            if (familyFailures <= MAX_FAILURES_PER_FAMILY) {
              const invariant = err instanceof Violation ? err.invariant : 'no-crash'
              const message = err instanceof Violation ? err.message : `the case threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`
              const shrunk = options.shrink === false ? undefined : await shrink(family, arbitrary, env, options.seed, index, invariant)
              const failure: Failure = { seed: options.seed, family: family.name, case: index, invariant, message, input: fc.stringify(value), shrunk, replay: replayCommand(options.seed, family.name, index) }
              failures.push(failure)
              log(`FAIL ${family.name} case ${index} (seed ${options.seed}) ${message}\n  input:  ${failure.input.slice(0, 2000)}${shrunk === undefined ? '' : `\n  shrunk: ${shrunk.slice(0, 2000)}`}\n  replay: ${failure.replay}`)
            }
          }
          done++
          maxRegistry = Math.max(maxRegistry, target.app.wsAuth.size)
          if (done >= nextSample) {
            nextSample += sampleEvery
            samples.push(sample(done, target))
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(family.concurrency, cases) }, worker))
      const durationMs = performance.now() - familyStart
      results.push({ name: family.name, kind: family.kind, description: family.description, cases, failures: familyFailures, durationMs: Math.round(durationMs), casesPerSecond: Math.round(cases / (durationMs / 1000)) })
      log(`${family.name.padEnd(16)} ${String(cases).padStart(9)} cases ${(durationMs / 1000).toFixed(1).padStart(7)} s ${String(Math.round(cases / (durationMs / 1000))).padStart(8)}/s  ${familyFailures} failed`)
    }
    // Leaks: every connection gone from the registry, handles back to where they were, heap bounded.
    const settleBy = Date.now() + 10_000
    while (target.app.wsAuth.size > 0 && Date.now() < settleBy) await new Promise((resolve) => setTimeout(resolve, 50))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const final = sample(done, target)
    const leak = (message: string): void => {
      failures.push({ seed: options.seed, family: 'all', case: -1, invariant: 'no-leak', message, input: '', replay: `npm run fuzz -- --seed ${options.seed} --count ${options.count}` })
      log(`FAIL no-leak: ${message}`)
    }
    if (final.registry !== 0) leak(`${final.registry} connection(s) still registered after every socket closed`)
    if (maxRegistry > maxConcurrency) leak(`the registry held ${maxRegistry} connections with at most ${maxConcurrency} cases open at once`)
    if (final.handles > baseline.handles + 2) leak(`${final.handles} live handles at the end, ${baseline.handles} at the start`)
    const reference = samples[0] ?? baseline
    if (gcAvailable && final.heapUsedMiB - reference.heapUsedMiB > HEAP_GROWTH_LIMIT_MIB) leak(`heap after GC grew from ${reference.heapUsedMiB} to ${final.heapUsedMiB} MiB`)
    for (const crash of crashes) {
      failures.push({ seed: options.seed, family: 'all', case: -1, invariant: 'no-crash', message: crash, input: '', replay: `npm run fuzz -- --seed ${options.seed} --count ${options.count}` })
      log(`FAIL no-crash: ${crash}`)
    }
    const durationMs = Math.round(performance.now() - started)
    return {
      seed: options.seed,
      count: counts.reduce((a, b) => a + b, 0),
      startedAt: startedAt.toISOString(),
      durationMs,
      casesPerSecond: Math.round(done / (durationMs / 1000)),
      node: process.version,
      cpus: cpus().length,
      gcAvailable,
      families: results,
      resources: { baseline, samples, final },
      failures
    }
  } finally {
    await target.close()
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
  }
}
