#!/usr/bin/env node
// npm run conformance -- serve --port 9001 [--out DIR] [--agent NAME]
// npm run conformance -- grade-server --url ws://host/feed (--login URL --username U --password P | --key SECRET) [--out DIR]
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CLIENT_CASES } from './cases/index.ts'
import { buildReport, writeReport } from './report/write.ts'
import { KitServer } from './server/kit-server.ts'

const USAGE = `usage (npx fastify-ws-auth-conformance … where the package is installed; npm run conformance -- … in its repository):
  npm run conformance -- serve [--port 9001] [--host 127.0.0.1] [--out DIR] [--agent NAME]
      serves the client-grading cases; a client under test lists them at GET /cases
  npm run conformance -- grade-server --url ws://HOST/PATH (--login URL [--username U --password P] | --key SECRET [--issuer I --audience A])
      [--out DIR] [--revoke URL]   grades the server at --url
report.json and report.html are written to --out (default ./conformance-report)`

async function serve (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '9001' }, host: { type: 'string', default: '127.0.0.1' }, out: { type: 'string', default: 'conformance-report' }, agent: { type: 'string', default: 'client under test' } } })
  const out = resolve(values.out)
  const kit = new KitServer({ cases: CLIENT_CASES, onResult: (results) => { writeReport(out, buildReport('client', values.agent, results)) } })
  const url = await kit.listen(Number(values.port), values.host)
  writeReport(out, buildReport('client', values.agent, kit.results()))
  console.log(`conformance kit: ${CLIENT_CASES.length} client cases at ${url}/cases; reports in ${out} (Ctrl-C to stop)`)
  process.once('SIGINT', () => { kit.close().then(() => process.exit(0), () => process.exit(1)) })
}

async function main (): Promise<void> {
  const [command, ...rest] = process.argv.slice(2)
  if (command === 'serve') return await serve(rest)
  if (command === 'grade-server') {
    const { gradeServerCommand } = await import('./grader/command.ts')
    process.exitCode = await gradeServerCommand(rest)
    return
  }
  console.error(USAGE)
  process.exitCode = 2
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
