import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { buildReport, writeReport } from '../report/write.ts'
import { SERVER_CASES } from './cases.ts'
import { gradeServer } from './server-run.ts'
import { TokenSource } from './tokens.ts'

/** `grade-server`: grades the server at --url, writes the reports, returns the exit code (1 if a case failed). */
export async function gradeServerCommand (args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      login: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      key: { type: 'string' },
      algorithm: { type: 'string', default: 'HS256' },
      claims: { type: 'string' },
      logout: { type: 'string' },
      out: { type: 'string', default: 'conformance-report' }
    }
  })
  if (values.url === undefined) throw new Error('grade-server needs --url ws://host/path')
  const claims = values.claims === undefined ? (values.login === undefined ? { sub: 'conformance-grader' } : {}) : JSON.parse(values.claims) as Record<string, unknown>
  const tokens = new TokenSource({ ...values, claims })
  const results = await gradeServer(values.url, tokens, SERVER_CASES)
  const report = buildReport('server', values.url, results)
  const out = resolve(values.out)
  writeReport(out, report)
  for (const result of results) console.log(`${result.status.padEnd(7)} ${result.id.padEnd(7)} ${result.title}${result.reasons.length === 0 ? '' : `: ${result.reasons.join('; ')}`}`)
  console.log(`${report.summary.pass} passed, ${report.summary.fail} failed, ${report.summary.notRun} not run; reports in ${out}`)
  return report.summary.fail === 0 ? 0 : 1
}
