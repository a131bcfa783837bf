// node --import tsx bench/report/series.ts --targets a,b [--p99 scenario:variant,…] --label NAME DIR... [--label NAME DIR...]
// Summarises a series of partial runs (each DIR the --out of one `npm run bench -- --only …`
// run): per label and Node line, every run's value of each named target and their median.
// One run of a once-per-run scenario (expiry-burst, held) is a single sample; a before/after
// claim about it needs several runs of each, alternated, and this prints them side by side.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from '../shared/stats.ts'
import type { RunResults } from './types.ts'

export interface SeriesGroup {
  label: string
  node: string
  runs: number
  /** Per target: each run's value (null where the run did not measure it), and their median. */
  targets: Record<string, Figures>
  /** Per `scenario:variant`: each run's latency p99 (ms), and their median. */
  p99Ms: Record<string, Figures>
}

interface Figures { values: Array<number | null>, median: number | null }

function figures (values: Array<number | null>): Figures {
  const measured = values.filter((v): v is number => v !== null)
  return { values, median: measured.length === 0 ? null : median(measured) }
}

/** The run's results file: its --out directory holds one latest*.json. */
function readRun (dir: string): RunResults {
  const file = readdirSync(dir).find((name) => /^latest(-node\d+)?\.json$/.test(name))
  if (file === undefined) throw new Error(`${dir} holds no latest*.json`)
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as RunResults
}

export function summarizeSeries (labelled: Array<{ label: string, dirs: string[] }>, targets: readonly string[], latencies: readonly string[] = []): SeriesGroup[] {
  const groups: SeriesGroup[] = []
  for (const { label, dirs } of labelled) {
    const byNode = new Map<string, RunResults[]>()
    for (const dir of dirs) {
      const run = readRun(dir)
      const node = run.machine.serverNode.version
      byNode.set(node, [...(byNode.get(node) ?? []), run])
    }
    for (const [node, runs] of [...byNode].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      const entry: SeriesGroup = { label, node, runs: runs.length, targets: {}, p99Ms: {} }
      for (const name of targets) entry.targets[name] = figures(runs.map((run) => run.targets.find((t) => t.name === name)?.value ?? null))
      for (const key of latencies) {
        const [scenario, variant] = key.split(':')
        entry.p99Ms[key] = figures(runs.map((run) => run.scenarios.find((s) => s.id === scenario)?.variants.find((v) => v.id === variant)?.latencyMs?.p99 ?? null))
      }
      groups.push(entry)
    }
  }
  return groups
}

function parseArgs (argv: readonly string[]): { targets: string[], latencies: string[], labelled: Array<{ label: string, dirs: string[] }> } {
  let targets: string[] = []
  let latencies: string[] = []
  const labelled: Array<{ label: string, dirs: string[] }> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--targets') targets = (argv[++i] ?? '').split(',').filter((name) => name !== '')
    else if (arg === '--p99') latencies = (argv[++i] ?? '').split(',').filter((key) => key.includes(':'))
    else if (arg === '--label') labelled.push({ label: argv[++i] ?? '', dirs: [] })
    else if (labelled.length === 0) throw new Error(`${arg}: a run directory needs a --label before it`)
    else labelled[labelled.length - 1]?.dirs.push(arg)
  }
  if (targets.length === 0 || labelled.length === 0) throw new Error('usage: series.ts --targets a,b --label NAME DIR... [--label NAME DIR...]')
  return { targets, latencies, labelled }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { targets, latencies, labelled } = parseArgs(process.argv.slice(2))
  process.stdout.write(`${JSON.stringify(summarizeSeries(labelled, targets, latencies), null, 2)}\n`)
}
