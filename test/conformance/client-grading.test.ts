import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { CLIENT_CASES } from '../../conformance/cases/index.ts'
import { runReferenceClient, type DriverOptions } from '../../conformance/clients/node/driver.ts'
import { buildReport, writeReport } from '../../conformance/report/write.ts'
import { KitServer } from '../../conformance/server/kit-server.ts'
import type { CaseResult } from '../../conformance/server/case-run.ts'

/** A seeded generator: the reference client's jitter stays jittery but the run repeats exactly. */
function seeded (seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648
  }
}

async function grade (t: Test, driver: Omit<DriverOptions, 'kit'>): Promise<CaseResult[]> {
  const kit = new KitServer({ cases: CLIENT_CASES })
  t.after(() => kit.close())
  const url = await kit.listen()
  const configure = driver.configure
  await runReferenceClient({
    ...driver,
    kit: url,
    configure: (options, kitCase, client) => {
      const seededOptions = { ...options, random: seeded(7) }
      return configure === undefined ? seededOptions : configure(seededOptions, kitCase, client)
    }
  })
  return kit.results()
}

const byTitle = (fragment: string): string => {
  const found = CLIENT_CASES.find((c) => c.title.includes(fragment))
  if (found === undefined) throw new Error(`no case titled like ${fragment}`)
  return found.id
}
const failed = (results: CaseResult[]): string[] => results.filter((r) => r.status === 'fail').map((r) => r.id)
const needsRetryAfter = CLIENT_CASES.filter((c) => c.requires?.includes('retry-after')).map((c) => c.id)
// Every case in which the client must renew before a deadline (and no other).
const renewing = ['5.2.1', '5.3.1', '5.3.2', '6.3.1', '6.3.2', '9.3.1', '9.3.2', '13.1']

/** ws, as a browser's WebSocket behaves: a refused upgrade's status and headers are never seen. */
class StatusBlindWebSocket extends WebSocket {
  override on (event: string | symbol, listener: (...args: any[]) => void): this {
    return event === 'unexpected-response' ? this : super.on(event, listener)
  }
}

t.test('the reference client on ws passes every client-grading case, Retry-After included', async (t) => {
  // With ws the client reads a refused upgrade's status and Retry-After (client/refusal.ts).
  const results = await grade(t, { features: ['retry-after'] })
  t.same(failed(results), [], 'no case fails')
  for (const result of results.filter((r) => r.status === 'fail')) t.comment(result.id, result.reasons.join('; '))
  t.same(results.filter((r) => r.status === 'not run').map((r) => r.id), [], 'every case runs')
  t.ok(results.filter((r) => r.status === 'pass').length >= 20, 'at least 20 cases pass')

  const directory = mkdtempSync(join(tmpdir(), 'wsauth-conformance-'))
  writeReport(directory, buildReport('client', 'reference client', results))
  const report = JSON.parse(readFileSync(join(directory, 'report.json'), 'utf8')) as { summary: { pass: number, fail: number } }
  t.equal(report.summary.fail, 0, 'report.json counts no failure')
  const html = readFileSync(join(directory, 'report.html'), 'utf8')
  t.match(html, /9\.3\.2/, 'report.html lists the cases')
  t.match(html, /POST \/cases\/9\.3\.2\/token/, 'report.html carries the timelines')
  t.notMatch(html, /<script|<link|src=/i, 'report.html is self-contained')
})

t.test('broken clients fail exactly the cases they violate', async (t) => {
  const revokedId = byTitle('credential_revoked')
  const [reconnects, late, ignoresRetryAfter] = await Promise.all([
    // Reconnects after 4441, which it must never do.
    grade(t, { onClose: (info, restart) => { if (info.code === 4441) restart() } }),
    // Renews only after the deadline: every renewal's token request takes 6 s.
    grade(t, {
      configure: (options, _kitCase, client) => ({
        ...options,
        getToken: async () => {
          if (client()?.state === 'open') await new Promise((resolve) => setTimeout(resolve, 6000))
          return await (options.getToken as () => Promise<string>)()
        }
      })
    }),
    // Claims to honour Retry-After, and does not: its WebSocket hides the refusal, as a browser's does.
    grade(t, { features: ['retry-after'], configure: (options) => ({ ...options, WebSocket: StatusBlindWebSocket as unknown as typeof options.WebSocket }) })
  ])
  t.same(failed(reconnects), [revokedId], `reconnecting after 4441 fails ${revokedId} only`)
  t.same(failed(late), renewing, `renewing late fails the renewal cases only (${renewing.join(', ')})`)
  t.same(failed(ignoresRetryAfter), needsRetryAfter, `ignoring Retry-After fails ${needsRetryAfter.join(', ')} only`)
  t.match(reconnects.find((r) => r.id === revokedId)?.reasons.join(' '), /reconnected after 4441/)
})

t.test('npm run conformance -- serve lists the cases, writes the reports as cases end, and stops on SIGINT', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'wsauth-serve-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'conformance/cli.ts', 'serve', '--port', '0', '--out', out, '--agent', 'smoke'], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => { if (child.exitCode === null) child.kill() })
  let output = ''
  const url = await new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const found = /(http:\/\/127\.0\.0\.1:\d+)\/cases/.exec(output)
      if (found !== null) resolve(found[1] as string)
    })
  })
  const { cases } = await (await fetch(`${url}/cases`)).json() as { cases: Array<{ id: string, url: string, tokenUrl: string, resultUrl: string }> }
  t.equal(cases.length, CLIENT_CASES.length, 'GET /cases lists every case')
  t.match(cases[0], { id: '2.1.1', url: `${url.replace('http', 'ws')}/cases/2.1.1/ws`, tokenUrl: `${url}/cases/2.1.1/token` })
  await runReferenceClient({ kit: url, only: ['2.4.1'] })
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { subject: string, summary: { pass: number, notRun: number } }
  t.match(report, { subject: 'smoke', summary: { pass: 1, notRun: CLIENT_CASES.length - 1 } }, 'report.json is rewritten when a case ends')
  child.kill('SIGINT')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'exits cleanly on SIGINT')
})
