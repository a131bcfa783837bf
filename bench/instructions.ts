import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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
// The server runs the same code as in a benchmark (server/main.ts, the compiled plugin) under
// callgrind; after `warm` operations (JIT tiers, caches, the rate limiter's entries) the
// counters are zeroed (`callgrind_control -z`), `count` operations run, and the counters are
// dumped (`callgrind_control -d`): start-up and shutdown stay out. Every thread of the process
// counts (V8's compiler and GC threads are the server's work too), and so does whatever timers
// fire meanwhile. User space only: system calls are not counted. About 100× slower than native.
// `--keep FILE` keeps the window's callgrind dump, for `callgrind_annotate FILE` (native code by
// function: V8 builtins and runtime, OpenSSL, libuv; JIT-compiled JavaScript shows as ???).
// Usage: node --import tsx bench/instructions.ts TARGET handshake|echo [--node PATH] [--counts WARM,COUNT] [--keep FILE]

const [target, kind = 'handshake', ...rest] = process.argv.slice(2) as [TargetName | undefined, string | undefined, ...string[]]
if (target === undefined || (kind !== 'handshake' && kind !== 'echo')) {
  process.stderr.write('usage: node --import tsx bench/instructions.ts TARGET handshake|echo [--node PATH] [--counts WARM,COUNT] [--keep FILE]\n')
  process.exit(2)
}
const flag = (name: string): string | undefined => { const i = rest.indexOf(name); return i === -1 ? undefined : rest[i + 1] }
const nodePath = flag('--node') ?? process.execPath
const [warm, measured] = (flag('--counts') ?? (kind === 'handshake' ? '1000,2000' : '20000,50000')).split(',').map(Number) as [number, number]

const keys = generateKeys()
const buildDir = buildForServers()
const work = mkdtempSync(join(tmpdir(), 'bench-instructions-'))

async function count (): Promise<number> {
  const out = join(work, 'callgrind.out')
  const init: ServerInit = { target: target as TargetName, keys, buildDir }
  const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, nodePath, '--import', 'tsx', fileURLToPath(new URL('./server/main.ts', import.meta.url))], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, BENCH_SERVER: JSON.stringify(init) }
  })
  const control = (option: string): void => { execFileSync('callgrind_control', [option, String(child.pid)], { stdio: 'ignore' }) }
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
  const handshakes = async (operations: number): Promise<void> => {
    // Four at a time, each to its close: the server closes first, as in the benchmark.
    let next = 0
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < operations) {
        const socket = await open(ROUTES.handshake)
        await once(socket, 'close')
      }
    }))
  }
  const echoes = async (socket: WebSocket, operations: number): Promise<void> => {
    const payload = Buffer.alloc(64, 'x')
    const window = 32
    let sent = 0
    let received = 0
    let listener: ((data: Buffer) => void) | undefined
    const done = new Promise<void>((resolve) => {
      listener = (data: Buffer) => {
        // The plugin's `authenticated` frame is not an echo.
        if (data.length !== payload.length) return
        if (++received === operations) resolve()
        else if (sent < operations) { sent++; socket.send(payload) }
      }
      socket.on('message', listener)
    })
    // A window of messages in flight, one sent for each echo received.
    for (; sent < window; sent++) socket.send(payload)
    await done
    socket.off('message', listener as (data: Buffer) => void)
  }
  if (kind === 'handshake') {
    await handshakes(warm)
    control('-z')
    await handshakes(measured)
  } else {
    const socket = await open(ROUTES.echo)
    await echoes(socket, warm)
    control('-z')
    await echoes(socket, measured)
  }
  control('-d')
  child.send({ type: 'stop' })
  await once(child, 'exit')
  // The dump of the measured window is the first numbered file (`callgrind.out.1`); the one
  // written at exit covers only the shutdown.
  const dump = readdirSync(work).filter((name) => name.startsWith('callgrind.out.')).sort()[0]
  const total = dump === undefined ? null : /(?:summary|totals): (\d+)/.exec(readFileSync(join(work, dump), 'utf8'))
  if (total === null || total[1] === undefined || dump === undefined) throw new Error(`no callgrind dump of the measured window\n${stderr.slice(-2000)}`)
  const keep = flag('--keep')
  if (keep !== undefined) copyFileSync(join(work, dump), keep)
  return Number(total[1])
}

try {
  const total = await count()
  process.stdout.write(`${target} ${kind} on ${nodePath}: ${measured} after ${warm} to warm up → ${total.toLocaleString('en-US')} instructions, ${Math.round(total / measured).toLocaleString('en-US')} per ${kind === 'handshake' ? 'handshake' : 'echoed message'}\n`)
} finally {
  removeBuild(buildDir)
  rmSync(work, { recursive: true, force: true })
}
