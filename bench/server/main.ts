import type { AddressInfo } from 'node:net'
import type { ServerInit, ServerReady } from '../shared/protocol.ts'
import { startControl } from './control.ts'
import type { RunningTarget } from './target.ts'

// The server under test: one target per process, pinned by the orchestrator to its own core.
const init = JSON.parse(process.env.BENCH_SERVER ?? 'null') as ServerInit | null
if (init === null || process.send === undefined) {
  process.stderr.write('bench/server/main.ts is started by bench/run.ts (it needs BENCH_SERVER and an IPC channel)\n')
  process.exit(2)
}

// Each target loads only its own modules: a server starts in a fraction of the time, and
// its heap holds nothing another target needs.
async function start (init: ServerInit): Promise<RunningTarget> {
  const { target, keys, buildDir } = init
  switch (target) {
    case 'bare': return (await import('./bare.ts')).startBare()
    case 'hook-hs256': return (await import('./bare.ts')).startHook(keys)
    case 'floor-hs256': return (await import('./floor.ts')).startSignatureFloor(keys, 'HS256')
    case 'floor-es256': return (await import('./floor.ts')).startSignatureFloor(keys, 'ES256')
    case 'floor-eddsa': return (await import('./floor.ts')).startSignatureFloor(keys, 'EdDSA')
    case 'floor-rs256': return (await import('./floor.ts')).startSignatureFloor(keys, 'RS256')
    case 'socketio': return (await import('./socketio.ts')).startSocketIo(keys)
    case 'app': return (await import('./example-app.ts')).startExampleApp(keys, buildDir)
    case 'plugin-redis': return (await import('./redis.ts')).startRedisInstance(keys, buildDir, init.redisUrl)
    default: return (await import('./plugin.ts')).startPlugin(target, keys, buildDir)
  }
}

const running = await start(init)
const control = await startControl(running)

let stopping = false
function stop (): void {
  if (stopping) return
  stopping = true
  control.close()
  control.closeAllConnections()
  // Bounded: a server that does not close in time is simply gone with its process.
  setTimeout(() => process.exit(0), 2000).unref()
  running.close().then(() => process.exit(0), () => process.exit(1))
}

// Without its orchestrator the server has no reason to live: never leave one behind.
process.on('disconnect', stop)
process.on('message', (message: { type?: string }) => { if (message.type === 'stop') stop() })
process.on('SIGTERM', stop)

process.send({ type: 'ready', port: running.port, controlPort: (control.address() as AddressInfo).port } satisfies ServerReady)
