// npm run soak -- [--minutes N] [--connections N] [--ttl S] [--sample-seconds S] [--churn N] [--compact] [--heap-profile path] [--out path]
// Writes bench/results/soak.json and soak.svg; exits 1 when a target was missed.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SOAK_DEFAULTS, runSoak } from './soak.ts'
import { soakChart } from './svg.ts'
import { soakProblems } from './verdict.ts'

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, connections: { type: 'string' }, ttl: { type: 'string' }, 'sample-seconds': { type: 'string' }, churn: { type: 'string' }, compact: { type: 'boolean' }, 'heap-profile': { type: 'string' }, out: { type: 'string' } }
})
function bounded (name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`)
  return n
}
const options = {
  ...SOAK_DEFAULTS,
  minutes: bounded('minutes', values.minutes, SOAK_DEFAULTS.minutes, 1, 240),
  connections: bounded('connections', values.connections, SOAK_DEFAULTS.connections, 10, 19_000),
  ttlS: bounded('ttl', values.ttl, SOAK_DEFAULTS.ttlS, 30, 3600),
  sampleSeconds: bounded('sample-seconds', values['sample-seconds'], SOAK_DEFAULTS.sampleSeconds, 5, 600),
  churnPerSecond: bounded('churn', values.churn, SOAK_DEFAULTS.churnPerSecond, 0, 500),
  compactEachSample: values.compact === true,
  heapProfile: values['heap-profile'] === undefined ? undefined : resolve(values['heap-profile'])
}
const out = resolve(values.out ?? 'bench/results/soak.json')
const result = await runSoak(options, (line) => { console.log(line) })
const problems = soakProblems(result, { growthPct: 5, latenessMs: 1000 })
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, ...result, problems }, null, 2) + '\n')
writeFileSync(out.replace(/\.json$/, '.svg'), soakChart(result))
console.log(`wrote ${out} and its .svg (${(result.wallMs / 60_000).toFixed(1)} min)`)
for (const problem of problems) console.log(`MISSED: ${problem}`)
process.exitCode = problems.length === 0 ? 0 : 1
