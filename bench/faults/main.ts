// npm run faults [-- --quick] [--rounds N] [--out path]: the fault suite, its figures in
// bench/results/faults.json. Exits 1 when a guarantee did not hold.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { FULL, QUICK, runSuite, type SuiteResult } from './suite.ts'
import { violations } from './verdict.ts'

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, out: { type: 'string' } } })
const profile = { ...(values.quick === true ? QUICK : FULL) }
if (values.rounds !== undefined) {
  const rounds = Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds must be an integer from 1 to 20')
  profile.rounds = rounds
}
const out = resolve(values.out ?? 'bench/results/faults.json')
const result: SuiteResult = await runSuite(profile, (line) => { console.log(line) })
const problems = violations(result)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, ...result, violations: problems }, null, 2) + '\n')
console.log(`wrote ${out} (${(result.wallMs / 1000).toFixed(0)} s)`)
for (const problem of problems) console.log(`VIOLATION: ${problem}`)
process.exitCode = problems.length === 0 ? 0 : 1
