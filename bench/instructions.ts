import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { BEARER_SUBPROTOCOL_PREFIX, SUBPROTOCOL } from '../protocol/version.ts'
import { clientSpec } from './scenarios/clients.ts'
import { localAddress, nowSeconds, userClaims } from './generator/context.ts'
import { buildForServers, removeBuild } from './orchestrator/build.ts'
import { generateKeys } from './shared/keys.ts'
import { BENCH_ORIGIN, ROUTES, type ServerInit, type ServerReady, type TargetName } from './shared/protocol.ts'
import { TokenFactory } from './shared/tokens.ts'

// Instructions the server executes per handshake or per echoed message, counted by valgrind
// (callgrind): unlike CPU time, the count does not move with the load of a shared machine.
// The server runs the same code as in a benchmark (server/main.ts, the compiled plugin), under
// callgrind, once with `low` and once with `high` operations; (I(high) − I(low)) / (high − low)
// leaves out start-up, JIT warm-up and shutdown. Every thread of the process counts (V8's
// compiler and GC threads are the server's work too). Slow: about 100× native speed.
// Usage: node --import tsx bench/instructions.ts TARGET handshake|echo [--node PATH] [--counts LOW,HIGH]

const [target, kind = 'handshake', ...rest] = process.argv.slice(2) as [TargetName | undefined, string | undefined, ...string[]]
if (target === undefined || (kind !== 'handshake' && kind !== 'echo')) {
  process.stderr.write('usage: node --import tsx bench/instructions.ts TARGET handshake|echo [--node PATH] [--counts LOW,HIGH]\n')
  process.exit(2)
}
const flag = (name: string): string | undefined => { const i = rest.indexOf(name); return i === -1 ? undefined : rest[i + 1] }
const nodePath = flag('--node') ?? process.execPath
const [low, high] = (flag('--counts') ?? (kind === 'handshake' ? '200,1200' : '2000,12000')).split(',').map(Number) as [number, number]

const keys = generateKeys()
const buildDir = buildForServers()
const work = mkdtempSync(join(tmpdir(), 'bench-instructions-'))

async function count (operations: number): Promise<number> {
  const out = join(work, `callgrind.${operations}.out`)
  const init: ServerInit = { target: target as TargetName, keys, buildDir }
  const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, nodePath, '--import', 'tsx', fileURLToPath(new URL('./server/main.ts', import.meta.url))], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, BENCH_SERVER: JSON.stringify(init) }
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [ready] = await once(child, 'message') as [ServerReady]
  const spec = clientSpec({ target: target as TargetName, pid: 0, port: ready.port, controlPort: ready.controlPort, stop: async () => {} }, kind === 'handshake' ? 'handshake' : 'echo')
  const tokens = new TokenFactory(keys, spec.algorithm)
  const open = async (route: string): Promise<WebSocket> => {
    const token = tokens.sign(userClaims(1, nowSeconds() + 600))
    const socket = new WebSocket(`ws://127.0.0.1:${ready.port}${route}`, [SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`], { headers: { origin: BENCH_ORIGIN }, localAddress: localAddress() })
    await once(socket, 'open')
    return socket
  }
  if (kind === 'handshake') {
    // Four at a time, each to its close: the server closes first, as in the benchmark.
    let next = 0
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < operations) {
        const socket = await open(ROUTES.handshake)
        await once(socket, 'close')
      }
    }))
  } else {
    const socket = await open(ROUTES.echo)
    const payload = Buffer.alloc(64, 'x')
    const window = 32
    let sent = 0
    let received = 0
    const done = new Promise<void>((resolve) => {
      socket.on('message', (data: Buffer) => {
        // The plugin's `authenticated` frame is not an echo.
        if (data.length !== payload.length) return
        if (++received === operations) resolve()
        else if (sent < operations) { sent++; socket.send(payload) }
      })
    })
    // A window of messages in flight, one sent for each echo received.
    for (; sent < window; sent++) socket.send(payload)
    await done
    socket.close()
  }
  child.send({ type: 'stop' })
  await once(child, 'exit')
  const total = /summary: (\d+)/.exec(readFileSync(out, 'utf8'))
  if (total === null) throw new Error(`no callgrind summary for ${operations} operations\n${stderr.slice(-2000)}`)
  return Number(total[1])
}

try {
  const a = await count(low)
  const b = await count(high)
  process.stdout.write(`${target} ${kind} on ${nodePath}: ${low} → ${a.toLocaleString('en-US')} instructions, ${high} → ${b.toLocaleString('en-US')}; ${Math.round((b - a) / (high - low)).toLocaleString('en-US')} per ${kind === 'handshake' ? 'handshake' : 'echoed message'}\n`)
} finally {
  removeBuild(buildDir)
  rmSync(work, { recursive: true, force: true })
}
