import type { RunResults } from './types.ts'

const ROW = 22
const LABEL = 300
const BAR = 420
const WIDTH = LABEL + BAR + 170
const COLORS: Record<string, string> = { bare: '#8a8f98', socketio: '#d08c2f', health: '#8a8f98', 'hook-hs256': '#b5a27a', 'floor-hs256': '#d9cfae' }
const PLUGIN = '#2f6fd0'

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * Rates per scenario as horizontal bars, one panel per scenario on its own scale (units
 * differ), the ratio to the baseline printed beside each bar. Written by hand: no chart library.
 */
export function ratesChart (results: RunResults): string {
  const panels = results.scenarios.filter((s) => s.status === 'ok' && s.variants.some((v) => v.rate !== undefined))
  const parts: string[] = []
  let y = 40
  for (const scenario of panels) {
    const variants = scenario.variants.filter((v) => v.rate !== undefined)
    const max = Math.max(...variants.map((v) => v.rate?.max ?? 0), 1)
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(`${scenario.id} — ${scenario.unit}`)}</text>`)
    y += 8
    for (const v of variants) {
      const rate = v.rate?.median ?? 0
      const width = Math.max(1, rate / max * BAR)
      const color = COLORS[v.id] ?? (v.id.startsWith('bare') ? COLORS.bare : v.id.startsWith('floor-') ? COLORS['floor-hs256'] : PLUGIN)
      const lo = (v.rate?.min ?? rate) / max * BAR
      const hi = (v.rate?.max ?? rate) / max * BAR
      const ratio = v.ratio?.rate === undefined ? '' : ` (${v.ratio.rate.median.toFixed(3)} × ${v.ratio.vs})`
      parts.push(
        `<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end">${escape(v.id)}</text>`,
        `<rect x="${LABEL}" y="${y + 4}" width="${width.toFixed(1)}" height="${ROW - 8}" fill="${color}"/>`,
        // The spread over rounds, as a whisker.
        `<line x1="${(LABEL + lo).toFixed(1)}" x2="${(LABEL + hi).toFixed(1)}" y1="${y + ROW / 2}" y2="${y + ROW / 2}" stroke="#222" stroke-width="1.5"/>`,
        `<text x="${(LABEL + Math.max(width, hi) + 6).toFixed(1)}" y="${y + 15}">${escape(`${Math.round(rate).toLocaleString('en-US')}${ratio}`)}</text>`
      )
      y += ROW
    }
    y += 18
  }
  const title = `fastify-ws-auth benchmark (${results.mode}, ${results.startedAt.slice(0, 10)}): median rate per round, whiskers min–max`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="10" y="20" font-size="14">${escape(title)}</text>`,
    ...parts,
    '</svg>',
    ''
  ].join('\n')
}
