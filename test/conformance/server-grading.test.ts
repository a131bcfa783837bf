import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, connect as connectTcp, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import { SERVER_CASES } from '../../conformance/grader/cases.ts'
import { gradeServer } from '../../conformance/grader/server-run.ts'
import { TokenSource } from '../../conformance/grader/tokens.ts'
import type { CaseResult } from '../../conformance/server/case-run.ts'
import { buildApp } from '../../example-app/app.ts'
import { loadConfig } from '../../example-app/config.ts'
import { SECRET, startServer } from '../helpers.ts'

const APP_SECRET = 'conformance-grading-secret-of-32-bytes!!'

async function startExampleApp (t: Test): Promise<{ http: string, ws: string }> {
  const app = await buildApp(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', TICK_INTERVAL: '50', JWT_SECRET: APP_SECRET }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(() => app.close())
  const { port } = app.server.address() as AddressInfo
  return { http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/feed` }
}

/**
 * A TCP proxy that turns a correct server into one that echoes the credential: it rewrites
 * the 101's Sec-WebSocket-Protocol to the wsauth.bearer. entry the request offered.
 */
async function echoingProxy (t: Test, target: string): Promise<string> {
  const { hostname, port, pathname } = new URL(target)
  const server = createServer((client) => {
    const upstream = connectTcp(Number(port), hostname)
    let bearer: string | undefined
    let head: Buffer | undefined = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      bearer ??= /wsauth\.bearer\.[^\s,]+/.exec(chunk.toString('latin1'))?.[0]
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (head === undefined) {
        client.write(chunk)
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const lines = head.subarray(0, end).toString('latin1')
      client.write(Buffer.concat([Buffer.from(bearer === undefined ? lines : lines.replace(/^sec-websocket-protocol: .*$/im, `Sec-WebSocket-Protocol: ${bearer}`), 'latin1'), head.subarray(end)]))
      head = undefined
    })
    client.on('error', () => {})
    upstream.on('error', () => {})
    client.on('close', () => { upstream.destroy() })
    upstream.on('close', () => { client.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise((resolve) => { server.close(resolve) }))
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}${pathname}`
}

const failed = (results: CaseResult[]): string[] => results.filter((r) => r.status === 'fail').map((r) => r.id)
const keyOnly = (): TokenSource => new TokenSource({ key: SECRET, claims: { sub: 'alice' } })
const expiryCases = ['S5.3.1', 'S5.4.1']

t.test('the example app (the plugin) passes server grading, revocation included', async (t) => {
  const app = await startExampleApp(t)
  const tokens = new TokenSource({ login: `${app.http}/auth/login`, username: 'alice', password: 'alice-password', key: APP_SECRET, logout: `${app.http}/auth/logout` })
  const results = await gradeServer(app.ws, tokens, SERVER_CASES)
  for (const result of results.filter((r) => r.status !== 'pass')) t.comment(result.id, result.status, result.reasons.join('; '))
  t.same(results.filter((r) => r.status !== 'pass').map((r) => r.id), [], 'every case passes')
})

t.test('with a key only, the revocation case is not run and the rest passes', async (t) => {
  const server = await startServer(t)
  const results = await gradeServer(server.url, keyOnly(), SERVER_CASES)
  t.same(failed(results), [])
  t.same(results.filter((r) => r.status === 'not run').map((r) => r.id), ['S12.1'])
})

t.test('broken servers fail exactly the cases they violate', async (t) => {
  // Echoes the credential in the 101.
  const correct = await startServer(t)
  const echoingRun = gradeServer(await echoingProxy(t, correct.url), keyOnly(), SERVER_CASES)

  // Delivers after the deadline: its timers fire 1.5 s late and its handler sends around
  // the plugin's deadline guard (ws's own send), so ticks go out until the late close.
  const late = await startServer(t, {
    plugin: { clock: { now: () => Date.now(), setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms + 1500), clearTimeout: (handle: unknown) => { clearTimeout(handle as NodeJS.Timeout) } } },
    handler: (socket) => {
      const timer = setInterval(() => { WebSocket.prototype.send.call(socket, '{"type":"tick"}', {}, () => {}) }, 50)
      socket.on('close', () => { clearInterval(timer) })
    }
  })
  const [echoing, delivering] = await Promise.all([echoingRun, gradeServer(late.url, keyOnly(), SERVER_CASES)])
  t.same(failed(echoing), ['S2.1.1', 'S2.1.2'], 'echoing the bearer entry fails the two selection cases')
  t.match(echoing.find((r) => r.id === 'S2.1.2')?.reasons.join(' '), /echoed the bearer entry/)
  t.same(failed(delivering), expiryCases, 'delivering after the deadline fails the expiry cases')
  t.match(delivering.find((r) => r.id === 'S5.4.1')?.reasons.join(' '), /application messages delivered after the deadline/)
})

t.test('npm run conformance -- grade-server writes both reports and exits 0 on a conforming server', async (t) => {
  const app = await startExampleApp(t)
  const out = mkdtempSync(join(tmpdir(), 'wsauth-grade-server-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'conformance/cli.ts', 'grade-server', '--url', app.ws, '--login', `${app.http}/auth/login`,
    '--username', 'bob', '--password', 'bob-password', '--key', APP_SECRET, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit') as [number]
  t.equal(code, 0, output)
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { mode: string, summary: { pass: number, fail: number, notRun: number } }
  t.match(report, { mode: 'server', summary: { fail: 0, notRun: 1 } }, 'without --logout only the revocation case is not run')
  t.match(readFileSync(join(out, 'report.html'), 'utf8'), /S5\.4\.1/)
})
