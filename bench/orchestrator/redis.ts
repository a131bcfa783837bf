import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.ts'
import { SERVER_CPU, track, type Pinning } from './processes.ts'

/** Debian's redis-server (`apt-get install redis-server`), unless REDIS_SERVER_PATH says otherwise. */
export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server'

/** The redis-server's version line, or undefined when it is not installed. */
export function redisServerVersion (): string | undefined {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  return probe.status === 0 ? probe.stdout.trim() : undefined
}

export interface RedisHandle {
  url: string
  port: number
  pid: number
  stop (): Promise<void>
}

/**
 * Resolves once a redis-server started with `--daemonize no` and piped output accepts
 * connections (it says so on stdout); rejects if it exits or errs first, or after 10 s,
 * with the tail of what it printed. Leaves stopping it to the caller.
 */
export async function redisServerReady (child: ChildProcess): Promise<void> {
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`redis-server did not start within 10 s: ${output.slice(-500)}`)) }, 10_000)
    child.once('error', (error) => { clearTimeout(timer); reject(error) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${String(code)}: ${output.slice(-500)}`)) })
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.stdout?.removeAllListeners('data')
        child.stdout?.resume()
        resolve()
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  })
}

/**
 * A redis-server for the scale-out scenarios, on 127.0.0.1 and a free port, pinned with the
 * servers under test (it is part of what is measured), without persistence. It is killed
 * with the run's other children however the run ends.
 */
export async function startRedisServer (pinning: Pinning): Promise<RedisHandle> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice']
  const [command, argv] = pinning.available ? ['taskset', ['-c', String(SERVER_CPU), REDIS_SERVER, ...args]] : [REDIS_SERVER, args]
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  try {
    await redisServerReady(child)
  } catch (err) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid as number,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        const timer = setTimeout(() => { child.kill('SIGKILL') }, 5000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
