import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseArgs } from 'node:util'
import { familyNames, runFuzz } from './runner.ts'
import { randomSeed } from './seeds.ts'

// npm run fuzz -- --count N [--seed S] [--family F[,G]] [--case K] [--replay S:F:K] [--out FILE]

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    family: { type: 'string' },
    case: { type: 'string' },
    replay: { type: 'string' },
    out: { type: 'string' },
    timeout: { type: 'string', default: '5000' },
    'no-shrink': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false }
  }
})

if (values.list) {
  console.log(familyNames().join('\n'))
  process.exit(0)
}

const integer = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new Error(`--${name} must be an integer, got ${text}`)
  return value
}

let seed = integer('seed', values.seed)
let families = values.family?.split(',')
let caseIndex = integer('case', values.case)
if (values.replay !== undefined) {
  const [s, f, k] = values.replay.split(':')
  seed = integer('replay seed', s)
  families = f === undefined ? undefined : [f]
  caseIndex = integer('replay case', k)
}
if (caseIndex !== undefined && (seed === undefined || families?.length !== 1)) throw new Error('--case needs --seed and one --family')
seed ??= randomSeed()
const count = integer('count', values.count) as number
if (!(count > 0)) throw new Error('--count must be positive')

console.log(`fuzz: seed ${seed}, ${caseIndex === undefined ? `${count} cases` : `case ${caseIndex}`}${families === undefined ? '' : `, family ${families.join(',')}`}`)
const report = await runFuzz({
  count, seed, families, caseIndex, timeoutMs: integer('timeout', values.timeout), shrink: !values['no-shrink'], log: (line) => { console.log(line) }
})
console.log(`total ${report.count} cases in ${(report.durationMs / 1000).toFixed(1)} s (${report.casesPerSecond}/s), ${report.failures.length} failure(s); heap after GC ${report.resources.baseline.heapUsedMiB} -> ${report.resources.final.heapUsedMiB} MiB, handles ${report.resources.baseline.handles} -> ${report.resources.final.handles}, registry ${report.resources.final.registry}`)
if (values.out !== undefined) {
  mkdirSync(dirname(values.out), { recursive: true })
  writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n')
  console.log(`report written to ${values.out}`)
}
process.exitCode = report.failures.length > 0 ? 1 : 0
