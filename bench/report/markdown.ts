import { fmt } from '../orchestrator/progress.ts'
import type { Spread } from '../shared/stats.ts'
import type { RunResults, ScenarioResult, VariantResult } from './types.ts'

export const spreadText = (s: Spread | undefined, decimals?: number): string =>
  s === undefined ? '—' : s.rounds.length > 1 ? `${fmt(s.median, decimals)} (${fmt(s.min, decimals)}–${fmt(s.max, decimals)})` : fmt(s.median, decimals)

function rateRow (scenario: ScenarioResult, v: VariantResult): string {
  const ratio = v.ratio?.rate === undefined ? '' : `${spreadText(v.ratio.rate, 3)} vs ${v.ratio.vs}`
  return `| ${scenario.id} | ${v.id} | ${spreadText(v.rate)} | ${ratio} | ${fmt(v.latencyMs?.p50, 2)} | ${fmt(v.latencyMs?.p99, 2)} | ${spreadText(v.serverCpuUsPerOp)} | ${v.errors} |`
}

const figure = (value: number | null): string => value === null ? '—' : fmt(value, Math.abs(value) < 10 ? 3 : 0)

function intervalText (t: RunResults['targets'][number]): string {
  if (t.interval === null) return '—'
  const resolution = t.narrowerThanMargin === undefined ? '' : t.narrowerThanMargin ? ' (narrower than the margin)' : ' (**wider than the margin**)'
  return `${figure(t.interval.low)}–${figure(t.interval.high)}, ${t.interval.rounds} rounds${resolution}`
}

function metricsText (metrics: Record<string, number | null> | undefined): string {
  if (metrics === undefined) return ''
  return Object.entries(metrics).map(([key, value]) => `${key} ${value === null ? '—' : fmt(value, Number.isInteger(value) ? 0 : undefined)}`).join(', ')
}

/** The main table (rates, ratios, latency, CPU), the held-connection figures, and the targets. */
export function resultsTable (results: RunResults): string {
  const lines: string[] = []
  lines.push(`Run: \`${results.mode}\` mode, ${results.startedAt}, ${results.machine.cpuModel} × ${results.machine.cores}, servers on Node ${results.machine.serverNode.version} (generator on ${results.machine.node}), commit ${results.machine.commit}.`)
  lines.push('Figures are medians over rounds with (min–max) over rounds; ratios are taken within each round.')
  lines.push('')
  lines.push('| scenario | variant | rate /s | ratio | p50 ms | p99 ms | server CPU µs/op | errors |')
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const scenario of results.scenarios) {
    if (scenario.status !== 'ok') continue
    for (const v of scenario.variants) if (v.rate !== undefined) lines.push(rateRow(scenario, v))
  }
  lines.push('')
  const other = results.scenarios.filter((s) => s.status === 'ok' && s.variants.some((v) => v.rate === undefined))
  if (other.length > 0) {
    lines.push('| scenario | variant | p50 ms | p99 ms | max ms | figures |')
    lines.push('| --- | --- | --- | --- | --- | --- |')
    for (const scenario of other) {
      for (const v of scenario.variants) lines.push(`| ${scenario.id} | ${v.id} | ${fmt(v.latencyMs?.p50, 2)} | ${fmt(v.latencyMs?.p99, 2)} | ${fmt(v.latencyMs?.max, 2)} | ${metricsText(v.metrics)} |`)
    }
    lines.push('')
  }
  const comparisons = results.scenarios.flatMap((s) => s.comparisons.map((c) => `${s.id}: ${c.name} = ${spreadText(c.rate, 3)}${c.serverCpuPerOp === undefined ? '' : ` (server CPU per op ${spreadText(c.serverCpuPerOp, 3)})`}`))
  if (comparisons.length > 0) lines.push(`Other ratios: ${comparisons.join('; ')}.`, '')
  lines.push('Targets over rounds are met only when their bootstrap 95 % interval of the median clears the threshold (lower end for ≥, upper end for ≤).', '')
  lines.push('| target | value | 95 % interval | target | met |')
  lines.push('| --- | --- | --- | --- | --- |')
  for (const t of results.targets) lines.push(`| ${t.name} | ${figure(t.value)} | ${intervalText(t)} | ${t.target} | ${t.met ? 'yes' : 'no'}${t.note === undefined ? '' : ` — ${t.note}`} |`)
  return lines.join('\n')
}

export function markdownReport (results: RunResults, chart = 'latest.svg'): string {
  const m = results.machine
  const lines = ['# fastify-ws-auth benchmark results', '', resultsTable(results), '', `![rates per scenario](${chart})`, '', '## Scenarios', '']
  for (const s of results.scenarios) {
    lines.push(`### ${s.id}: ${s.title}`, '', s.description, '')
    if (s.status === 'todo') lines.push(`**${s.error ?? 'TODO'}**`, '')
    if (s.status === 'failed') lines.push(`**Failed:** ${s.error ?? ''}`, '')
    for (const v of s.variants) {
      lines.push(`- \`${v.id}\` — ${v.label}${v.generatorCpuShare !== undefined && v.generatorCpuShare > 0.9 ? ' (**load generator above 90% of its core: it may be the limit**)' : ''}`)
      if (v.errorSamples.length > 0) lines.push(`  - errors: ${v.errors} (${v.errorSamples.join('; ')})`)
      if (v.metrics !== undefined && Object.keys(v.metrics).length > 0) lines.push(`  - ${metricsText(v.metrics)}`)
    }
    if (Object.keys(s.metrics).length > 0) lines.push(`- scenario figures: ${metricsText(s.metrics)}`)
    if (s.otherLoadCores !== undefined) lines.push(`- CPU used by other processes during the measured windows: ${s.otherLoadCores} cores`)
    for (const note of s.notes) lines.push(`- ${note}`)
    lines.push('')
  }
  lines.push('## Machine', '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; ulimit -n ${m.ulimitNofile}`,
    `- Pinning: ${m.pinning}`,
    `- Versions: node ${m.node} (orchestrator, load generator), servers on node ${m.serverNode.version} (${m.serverNode.path}), ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- Load average at start ${m.loadAverageAtStart.join(' / ')}, at end ${m.loadAverageAtEnd.join(' / ')}`,
    '')
  if (results.notes.length > 0) lines.push('## Notes', '', ...results.notes.map((n) => `- ${n}`), '')
  const checks = Object.entries(results.checks)
  if (checks.length > 0) lines.push('## End-to-end checks (real clients)', '', ...checks.map(([target, c]) => `- ${target}: ${c.ok ? 'ok' : `FAILED (${c.error ?? ''})`} — ${c.steps.join(', ')}`), '')
  return lines.join('\n')
}
