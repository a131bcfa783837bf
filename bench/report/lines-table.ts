// node --import tsx bench/report/lines-table.ts [results dir]
// Prints one Markdown table of every target across the Node lines that have a run of record
// (latest.json and each latest-node<major>.json), for bench/README: one run per line cannot
// show the lines side by side, and copying the figures by hand is how they drift.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fmt } from '../orchestrator/progress.ts'
import type { RunResults } from './types.ts'

type Target = RunResults['targets'][number]

const figure = (value: number | null): string => value === null ? '—' : fmt(value, Math.abs(value) < 10 && !Number.isInteger(value) ? 3 : 0)

function cell (t: Target | undefined): string {
  if (t === undefined) return 'not run'
  const interval = t.interval === null ? '' : ` (${figure(t.interval.low)}–${figure(t.interval.high)})`
  return `${figure(t.value)}${interval} ${t.met ? 'met' : '**missed**'}`
}

const threshold = (target: string): string => target.replace('>=', '≥').replace('<=', '≤')

/** The lines' results, oldest Node first, each with its label. */
export function readLines (dir: string): Array<{ label: string, results: RunResults }> {
  const files = readdirSync(dir).filter((name) => /^latest(-node\d+)?\.json$/.test(name))
  const lines = files.map((name) => {
    const results = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RunResults
    return { label: `Node ${results.machine.serverNode.version.replace(/^v/, '')}`, results }
  })
  const major = (label: string): number => Number(/Node (\d+)/.exec(label)?.[1] ?? 0)
  return lines.sort((a, b) => major(a.label) - major(b.label))
}

export function linesTable (lines: Array<{ label: string, results: RunResults }>): string {
  const names: string[] = []
  const thresholds = new Map<string, string>()
  for (const { results } of lines) {
    for (const t of results.targets) {
      if (!thresholds.has(t.name)) {
        names.push(t.name)
        thresholds.set(t.name, threshold(t.target))
      }
    }
  }
  const rows = [
    `| target | threshold | ${lines.map((l) => l.label).join(' | ')} |`,
    `| --- | --- | ${lines.map(() => '---').join(' | ')} |`
  ]
  for (const name of names) {
    rows.push(`| \`${name}\` | ${thresholds.get(name) ?? ''} | ${lines.map((l) => cell(l.results.targets.find((t) => t.name === name))).join(' | ')} |`)
  }
  return rows.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../results', import.meta.url))
  process.stdout.write(linesTable(readLines(dir)) + '\n')
}
