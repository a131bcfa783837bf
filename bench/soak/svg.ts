import type { SoakResult } from './soak.ts'

const SERIES: Array<{ key: 'heapUsedAfterGc' | 'rss' | 'handles' | 'registry' | 'eventLoopDelayP99Ms', label: string, colour: string }> = [
  { key: 'heapUsedAfterGc', label: 'heap after GC', colour: '#1f77b4' },
  { key: 'rss', label: 'RSS', colour: '#d62728' },
  { key: 'registry', label: 'registry size', colour: '#2ca02c' },
  { key: 'handles', label: 'active handles', colour: '#9467bd' },
  { key: 'eventLoopDelayP99Ms', label: 'event-loop delay p99', colour: '#ff7f0e' }
]

/**
 * One panel per series against minutes, each scaled to its own maximum (the series have
 * different units; the label gives the range), so a slope in any of them shows.
 */
export function soakChart (result: SoakResult): string {
  const width = 760
  const panel = 110
  const left = 70
  const plotWidth = width - left - 20
  const samples = result.samples
  const maxT = Math.max(1, ...samples.map((s) => s.atS))
  const parts: string[] = []
  SERIES.forEach((series, i) => {
    const top = 40 + i * (panel + 20)
    const values = samples.map((s) => s[series.key])
    const max = Math.max(1e-9, ...values)
    const min = Math.min(...values)
    const unit = series.key === 'heapUsedAfterGc' || series.key === 'rss' ? (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB` : series.key === 'eventLoopDelayP99Ms' ? (v: number) => `${v.toFixed(1)} ms` : (v: number) => String(v)
    const points = samples.map((s, j) => `${(left + (s.atS / maxT) * plotWidth).toFixed(1)},${(top + panel - (values[j] as number) / max * panel).toFixed(1)}`).join(' ')
    parts.push(
      `<rect x="${left}" y="${top}" width="${plotWidth}" height="${panel}" fill="none" stroke="#ccc"/>`,
      `<text x="${left + 4}" y="${top + 14}" font-size="12">${series.label}: ${unit(min)} – ${unit(max)} (axis from 0)</text>`,
      `<polyline fill="none" stroke="${series.colour}" stroke-width="2" points="${points}"/>`
    )
  })
  const height = 40 + SERIES.length * (panel + 20) + 20
  const title = `soak: ${result.options.connections} connections, ${result.options.minutes} min, tokens ${result.options.ttlS} s; heap ${result.growth.heapPct} %, RSS ${result.growth.rssPct} % from ${Math.round(result.baselineAtS / 60)} min`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<text x="${left}" y="24" font-size="14">${title}</text>\n${parts.join('\n')}\n<text x="${left}" y="${height - 6}" font-size="11">minutes 0 – ${(maxT / 60).toFixed(1)}</text>\n</svg>\n`
}
